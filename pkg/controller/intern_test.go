package controller

import (
	"fmt"
	"runtime/debug"
	"testing"
	"unsafe"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// decodedArtifactWorkflow builds the ArtifactWorkflow of artifact i of an
// Order as the decoder does: every string its own allocation.
func decodedArtifactWorkflow(i int) *arcv1.ArtifactWorkflow {
	own := func(s string) string { return string([]byte(s)) }
	return &arcv1.ArtifactWorkflow{
		ObjectMeta: metav1.ObjectMeta{
			Name: own(fmt.Sprintf("o-%d", i)), Namespace: own("team-a"), UID: "uid",
			Labels:          map[string]string{own(arcv1.LabelOrderUID): own("order-uid")},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: own("arc.opendefense.cloud/v1alpha1"), Kind: own("Order"), Name: own("o"), UID: "order-uid"}},
		},
		Spec: arcv1.ArtifactWorkflowSpec{
			Type: own("oci"), DstSecretRef: &corev1.LocalObjectReference{Name: own("creds")},
			Parameters: []arcv1.Parameter{{Name: own("srcType"), Value: own("oci")}, {Name: own("specImage"), Value: own(fmt.Sprintf("img-%d", i))}},
		},
		Status: arcv1.ArtifactWorkflowStatus{Phase: arcv1.WorkflowPhase(own("Succeeded")),
			Conditions: []metav1.Condition{{Type: own("Ready"), Status: metav1.ConditionStatus(own("True")), Reason: own("WorkflowSucceeded")}}},
	}
}

func sameData(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

// noGC keeps the garbage collector from running during a test: interned
// copies are shared only between two collections (see intern).
func noGC(t *testing.T) {
	old := debug.SetGCPercent(-1)
	t.Cleanup(func() { debug.SetGCPercent(old) })
}

func TestSlimARCObjectSharesRecurringStringsAndChangesNothing(t *testing.T) {
	noGC(t)
	a, b := decodedArtifactWorkflow(1), decodedArtifactWorkflow(2)
	wantA, wantB := a.DeepCopy(), b.DeepCopy()
	require.False(t, sameData(a.Spec.Type, b.Spec.Type), "the fixture must start without sharing")
	cached := make([]*CachedArtifactWorkflow, 2)
	for i, aw := range []*arcv1.ArtifactWorkflow{a, b} {
		obj, err := SlimARCObject(aw)
		require.NoError(t, err)
		cached[i] = obj.(*CachedArtifactWorkflow)
	}
	assert.Equal(t, wantA, a, "interning changes no value")
	assert.Equal(t, wantB, b, "interning changes no value")
	assert.Equal(t, wantA.Spec, cached[0].Spec, "interning changes no value")
	assert.Equal(t, wantB.Status, cached[1].Status, "interning changes no value")
	a, b = &cached[0].ArtifactWorkflow, &cached[1].ArtifactWorkflow
	for _, tc := range []struct {
		name string
		x, y string
	}{
		{"namespace", a.Namespace, b.Namespace},
		{"label value", cached[0].OrderUID(), cached[1].OrderUID()},
		{"owner kind", a.OwnerReferences[0].Kind, b.OwnerReferences[0].Kind},
		{"owner name", a.OwnerReferences[0].Name, b.OwnerReferences[0].Name},
		{"type", a.Spec.Type, b.Spec.Type},
		{"secret name", a.Spec.DstSecretRef.Name, b.Spec.DstSecretRef.Name},
		{"parameter name", a.Spec.Parameters[1].Name, b.Spec.Parameters[1].Name},
		{"parameter value", a.Spec.Parameters[0].Value, b.Spec.Parameters[0].Value},
		{"phase", string(a.Status.Phase), string(b.Status.Phase)},
		{"condition reason", a.Status.Conditions[0].Reason, b.Status.Conditions[0].Reason},
	} {
		assert.True(t, sameData(tc.x, tc.y), "%s is not shared", tc.name)
	}
	assert.False(t, sameData(a.Spec.Parameters[1].Value, b.Spec.Parameters[1].Value), "different values stay different")
}

// The Workflow of an ArtifactWorkflow shares its name, which its owner
// reference and label repeat.
func TestCacheWorkflowSharesTheArtifactWorkflowsName(t *testing.T) {
	noGC(t)
	obj, err := SlimARCObject(decodedArtifactWorkflow(7))
	require.NoError(t, err)
	aw := obj.(*CachedArtifactWorkflow)
	wf := CacheWorkflow(&wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{
		Name: string([]byte(aw.Name)), Namespace: "team-a",
		Labels:          map[string]string{arcv1.LabelArtifactWorkflow: string([]byte(aw.Name))},
		OwnerReferences: []metav1.OwnerReference{{Kind: "ArtifactWorkflow", Name: string([]byte(aw.Name))}},
	}})
	assert.Equal(t, aw.Name, wf.Name)
	assert.True(t, sameData(aw.Name, wf.Name))
	assert.True(t, sameData(aw.Name, wf.ArtifactWorkflow))
	assert.True(t, sameData(aw.Name, wf.OwnerReferences[0].Name))
}

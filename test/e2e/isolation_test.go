//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// TestFaultIsolation puts three artifacts in one Order: a valid one, one
// whose source Endpoint does not exist, and one whose destination Endpoint
// type the artifact type does not accept. The valid one must go through
// regardless; the other two must say what is wrong, and go through by
// themselves once it is fixed, without anyone touching the Order.
func TestFaultIsolation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "isolation")
	f.setUpOCIEndpoints()
	f.createEndpoint("charts", "helm", "charts.example", arcv1.EndpointUsageAll, "")
	ociSpec := ociType(templateOCI)
	f.createArtifactType("oci", ociSpec)

	const orderName = "mixed"
	spec := func(n int) string {
		return fmt.Sprintf(`{"image":"library/app%d:1.0","override":"myteam/app%d:1.0"}`, n, n)
	}
	f.createOrder(&arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: orderName},
		Spec: arcv1.OrderSpec{
			Defaults: &arcv1.OrderDefaults{SrcRef: ref("dockerhub"), DstRef: ref("internal")},
			Artifacts: []arcv1.OrderArtifact{
				{Type: "oci", Spec: rawSpec(spec(0))},                         // valid
				{Type: "oci", SrcRef: ref("missing"), Spec: rawSpec(spec(1))}, // no such Endpoint
				{Type: "oci", DstRef: ref("charts"), Spec: rawSpec(spec(2))},  // helm, but oci accepts only oci
			},
		},
	})

	// The valid artifact succeeds although its siblings are broken.
	order := f.waitOrder(orderName, "artifact 0 Succeeded, artifact 1 unresolved, artifact 2 with an ArtifactWorkflow", func(o *arcv1.Order) (bool, string) {
		e0, ok0 := entryFor(o, 0)
		_, ok1 := unresolved(o, 1)
		_, ok2 := entryFor(o, 2)
		return ok0 && e0.Phase == arcv1.WorkflowPhaseSucceeded && ok1 && ok2, ""
	})
	valid := f.mustEntry(order, 0)
	f.waitWorkflowPhase(valid.Name, wfv1.WorkflowSucceeded)

	// The missing Endpoint: unresolved, with a reason, a message and a Warning on the Order.
	u, _ := unresolved(order, 1)
	assert.Equal(t, "EndpointNotFound", u.Reason)
	assert.Contains(t, u.Message, `"missing"`, "the message names the missing Endpoint")
	_, hasEntry := entryFor(order, 1)
	assert.False(t, hasEntry, "an unresolved artifact has no ArtifactWorkflow")
	ev := f.waitEvent("Order", orderName, corev1.EventTypeWarning, "EndpointNotFound")
	assert.Contains(t, ev.Message, "artifact 1")

	// The rule violation: an ArtifactWorkflow without a Workflow, whose
	// message names the violation, repeated in the Order's entry and in a Warning.
	ruleName := f.mustEntry(order, 2).Name
	aw := f.waitArtifactWorkflow(ruleName, "reports the rule violation", func(aw *arcv1.ArtifactWorkflow) (bool, string, error) {
		return aw.Status.Message != "", "", nil
	})
	assert.Contains(t, aw.Status.Message, `destination Endpoint type "helm" is not accepted by type "oci"`)
	assert.Empty(t, aw.Status.Phase, "no Workflow ran, so no phase")
	if ready := conditionOf(aw.Status.Conditions, arcv1.ConditionReady); assert.NotNil(t, ready) {
		assert.Equal(t, metav1.ConditionFalse, ready.Status)
		assert.Equal(t, "RuleViolation", ready.Reason)
	}
	_, err := s.argo.ArgoprojV1alpha1().Workflows(f.ns).Get(t.Context(), ruleName, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "no Workflow for an artifact that breaks its type's rules, got %v", err)
	ev = f.waitEvent("ArtifactWorkflow", ruleName, corev1.EventTypeWarning, "RuleViolation")
	assert.Equal(t, aw.Status.Message, ev.Message)
	order = f.waitOrder(orderName, "artifact 2's entry carries the violation", func(o *arcv1.Order) (bool, string) {
		e, _ := entryFor(o, 2)
		return e.Message == aw.Status.Message, fmt.Sprintf("entry 2 message %q", e.Message)
	})
	assert.NotEqual(t, arcv1.OrderPhaseSucceeded, order.Status.Phase)
	assert.Equal(t, int32(3), order.Status.Total)
	assert.Equal(t, int32(1), order.Status.Succeeded)
	if ready := conditionOf(order.Status.Conditions, arcv1.ConditionReady); assert.NotNil(t, ready) {
		assert.Equal(t, metav1.ConditionFalse, ready.Status)
	}
	generation := order.Generation

	// Fix both problems elsewhere than in the Order.
	f.createEndpoint("missing", "oci", "quay.io", arcv1.EndpointUsagePullOnly, "")
	at, err := s.arc.ArcV1alpha1().ArtifactTypes(f.ns).Get(t.Context(), "oci", metav1.GetOptions{})
	require.NoError(t, err)
	at.Spec.Rules.DstTypes = append(at.Spec.Rules.DstTypes, "helm")
	_, err = s.arc.ArcV1alpha1().ArtifactTypes(f.ns).Update(t.Context(), at, metav1.UpdateOptions{})
	require.NoError(t, err)

	order = f.waitOrderPhase(orderName, arcv1.OrderPhaseSucceeded)
	assert.Equal(t, generation, order.Generation, "the Order was not touched")
	st := order.Status
	assert.Equal(t, [5]int32{3, 3, 0, 0, 0}, [5]int32{st.Total, st.Succeeded, st.Failed, st.Running, st.Pending}, "total, succeeded, failed, running, pending")
	assert.Empty(t, st.UnresolvedArtifacts)
	require.Len(t, st.ArtifactWorkflows, 3)
	for i := int32(0); i < 3; i++ {
		e := f.mustEntry(order, i)
		assert.Equal(t, arcv1.WorkflowPhaseSucceeded, e.Phase, "artifact %d", i)
		wf := f.waitWorkflowPhase(e.Name, wfv1.WorkflowSucceeded)
		params := f.workflowParameters(wf)
		assert.Equal(t, fmt.Sprintf("library/app%d:1.0", i), params["specImage"], "artifact %d", i)
	}
	assert.Equal(t, valid.Name, f.mustEntry(order, 0).Name, "the valid artifact kept its ArtifactWorkflow")
	assert.Equal(t, ruleName, f.mustEntry(order, 2).Name, "the rule-breaking artifact kept its ArtifactWorkflow, now with a Workflow")
	wf, err := s.argo.ArgoprojV1alpha1().Workflows(f.ns).Get(t.Context(), f.mustEntry(order, 1).Name, metav1.GetOptions{})
	require.NoError(t, err)
	params := f.workflowParameters(wf)
	assert.Equal(t, "quay.io", params["srcRemoteURL"], "artifact 1 uses the Endpoint created later")
	wf, err = s.argo.ArgoprojV1alpha1().Workflows(f.ns).Get(t.Context(), ruleName, metav1.GetOptions{})
	require.NoError(t, err)
	params = f.workflowParameters(wf)
	assert.Equal(t, "helm", params["dstType"])
	assert.True(t, strings.HasPrefix(params["dstRemoteURL"], "charts.example"))
}

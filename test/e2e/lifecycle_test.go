//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// TestEditOrder edits an Order and deletes it: ARC must delete what no
// artifact needs any more, replace what changed, and the garbage collector
// must take the Workflows along.
func TestEditOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "edit")
	f.createEndpoint("src", "oci", "src.example", arcv1.EndpointUsagePullOnly, "")
	f.createEndpoint("dst", "oci", "dst.example", arcv1.EndpointUsagePushOnly, "")
	f.createArtifactType("copy", simpleType(templateSingleStep))

	const orderName = "editable"
	artifact := func(image string) arcv1.OrderArtifact {
		return arcv1.OrderArtifact{Type: "copy", Spec: rawSpec(fmt.Sprintf(`{"image":%q}`, image))}
	}
	f.createOrder(&arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: orderName},
		Spec: arcv1.OrderSpec{
			Defaults:  &arcv1.OrderDefaults{SrcRef: ref("src"), DstRef: ref("dst")},
			Artifacts: []arcv1.OrderArtifact{artifact("a:1"), artifact("b:1"), artifact("c:1")},
		},
	})
	order := f.waitOrderPhase(orderName, arcv1.OrderPhaseSucceeded)
	require.Len(t, order.Status.ArtifactWorkflows, 3)
	nameA, nameB, nameC := f.mustEntry(order, 0).Name, f.mustEntry(order, 1).Name, f.mustEntry(order, 2).Name
	for _, n := range []string{nameA, nameB, nameC} {
		f.waitWorkflowPhase(n, wfv1.WorkflowSucceeded)
	}

	// Remove artifact c: its ArtifactWorkflow goes, and its Workflow with it.
	order.Spec.Artifacts = order.Spec.Artifacts[:2]
	order = f.updateOrder(order)
	f.artifactWorkflowGone(nameC)
	f.workflowGone(nameC)
	order = f.waitOrderPhase(orderName, arcv1.OrderPhaseSucceeded)
	assert.Equal(t, int32(2), order.Status.Total)
	assert.Len(t, order.Status.ArtifactWorkflows, 2)
	assert.Equal(t, nameA, f.mustEntry(order, 0).Name, "artifact a keeps its ArtifactWorkflow")
	assert.Equal(t, nameB, f.mustEntry(order, 1).Name, "artifact b keeps its ArtifactWorkflow")

	// Change artifact b's spec: a new ArtifactWorkflow replaces the old one.
	order.Spec.Artifacts[1] = artifact("b:2")
	order = f.updateOrder(order)
	f.artifactWorkflowGone(nameB)
	f.workflowGone(nameB)
	order = f.waitOrder(orderName, "Succeeded with a new ArtifactWorkflow for artifact 1", func(o *arcv1.Order) (bool, string) {
		e, _ := entryFor(o, 1)
		return o.Status.Phase == arcv1.OrderPhaseSucceeded && e.Name != "" && e.Name != nameB, ""
	})
	newB := f.mustEntry(order, 1).Name
	assert.Equal(t, nameA, f.mustEntry(order, 0).Name, "artifact a is untouched")
	wf := f.waitWorkflowPhase(newB, wfv1.WorkflowSucceeded)
	assert.Equal(t, "b:2", f.workflowParameters(wf)["specImage"])
	f.requireCounts(2, 2)

	// Delete the Order: everything it made goes.
	require.NoError(t, s.arc.ArcV1alpha1().Orders(f.ns).Delete(t.Context(), orderName, metav1.DeleteOptions{}))
	f.waitNothingLeft("every ArtifactWorkflow and Workflow to be deleted")
}

// updateOrder writes the Order's spec and returns it.
func (f *fixture) updateOrder(order *arcv1.Order) *arcv1.Order {
	f.t.Helper()
	out, err := s.arc.ArcV1alpha1().Orders(f.ns).Update(f.ctx(), order, metav1.UpdateOptions{})
	require.NoError(f.t, err, "updating Order %s", shortName(order.Name))
	return out
}

// requireCounts checks how many ArtifactWorkflows and Workflows the namespace holds.
func (f *fixture) requireCounts(artifactWorkflows, workflows int) {
	f.t.Helper()
	aws, err := s.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).List(f.ctx(), metav1.ListOptions{})
	require.NoError(f.t, err)
	wfs, err := s.argo.ArgoprojV1alpha1().Workflows(f.ns).List(f.ctx(), metav1.ListOptions{})
	require.NoError(f.t, err)
	require.Len(f.t, aws.Items, artifactWorkflows, "ArtifactWorkflows in %s", f.ns)
	require.Len(f.t, wfs.Items, workflows, "Workflows in %s", f.ns)
}

// longOrderName returns a DNS-1123 subdomain of exactly n characters, made
// of dot-separated labels of at most 63 characters.
func longOrderName(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		label := fmt.Sprintf("part%d-", i) + strings.Repeat("x", 63)
		label = label[:min(63, n-b.Len())]
		label = strings.TrimRight(label, "-.")
		b.WriteString(label)
	}
	return b.String()
}

// TestLongOrderName runs an Order with a 200-character name, which holds
// dots: the ArtifactWorkflow and Workflow names derived from it must still be
// valid labels of at most 63 characters, as Argo copies them into pod labels.
func TestLongOrderName(t *testing.T) {
	t.Parallel()
	orderName := longOrderName(200)
	require.Len(t, orderName, 200)
	require.Empty(t, validation.IsDNS1123Subdomain(orderName), "the test's Order name is a valid object name")
	require.Contains(t, orderName, ".")

	f := newFixture(t, "longname")
	f.setUpOCIEndpoints()
	f.createArtifactType("oci", ociType(templateOCI))
	name := f.createAlpineOrder(orderName)
	t.Logf("ArtifactWorkflow name: %s (%d characters)", name, len(name))
	assert.LessOrEqual(t, len(name), 63)
	assert.Empty(t, validation.IsDNS1123Label(name), "the ArtifactWorkflow name is a DNS-1123 label")

	wf := f.waitWorkflowPhase(name, wfv1.WorkflowSucceeded)
	assert.Equal(t, orderName, wf.Annotations[arcv1.AnnotationOrderName], "the Workflow names its Order in full")
	order := f.waitOrderPhase(orderName, arcv1.OrderPhaseSucceeded)
	assert.Equal(t, int32(1), order.Status.Succeeded)
	aw, err := s.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).Get(t.Context(), name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, arcv1.WorkflowPhaseSucceeded, aw.Status.Phase)
	assert.Equal(t, orderName, aw.Annotations[arcv1.AnnotationOrderName])
}

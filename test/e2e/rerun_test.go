//go:build e2e

package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/naming"
)

// TestRerunAndEndpointEdit: an Endpoint edit after success re-runs
// nothing; force-at re-runs every artifact once, in a new Workflow; a type's
// ttlAfterFinished deletes the Workflows while the results stay.
func TestRerunAndEndpointEdit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "rerun")
	f.createEndpoint("src", "oci", "src.example", arcv1.EndpointUsagePullOnly, "")
	dst := f.createEndpoint("dst", "oci", "dst.example", arcv1.EndpointUsagePushOnly, "")
	typ := simpleType(templateSingleStep)
	typ.TTLAfterFinished = &metav1.Duration{Duration: 2 * time.Second}
	f.createArtifactType("copy", typ)
	const orderName = "rerun"
	f.createOrder(&arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: orderName},
		Spec: arcv1.OrderSpec{
			Defaults:  &arcv1.OrderDefaults{SrcRef: ref("src"), DstRef: ref("dst")},
			Artifacts: []arcv1.OrderArtifact{{Type: "copy", Spec: rawSpec(`{"image":"a:1"}`)}, {Type: "copy", Spec: rawSpec(`{"image":"b:1"}`)}},
		},
	})
	order := f.waitOrderPhase(orderName, arcv1.OrderPhaseSucceeded)
	nameA := f.mustEntry(order, 0).Name
	// The TTL removes the Workflow; the result stays.
	f.workflowGone(nameA)
	order = f.waitOrderPhase(orderName, arcv1.OrderPhaseSucceeded)
	assert.Equal(t, int32(2), order.Status.Succeeded, "counters never drop after cleanup")

	// An Endpoint edit after success: nothing is renamed nor run again.
	dst.Spec.RemoteURL = "dst-moved.example"
	_, err := s.arc.ArcV1alpha1().Endpoints(f.ns).Update(f.ctx(), dst, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.waitArtifactWorkflow(nameA, "spec follows the Endpoint", func(aw *arcv1.ArtifactWorkflow) (bool, string, error) {
		return artifactWorkflowParameters(aw)["dstRemoteURL"] == "dst-moved.example", "", nil
	})
	time.Sleep(3 * time.Second) // room for a wrong re-run to show; no timing is asserted
	aw, err := s.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).Get(f.ctx(), nameA, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(0), aw.Spec.Run)
	assert.Equal(t, arcv1.WorkflowPhaseSucceeded, aw.Status.Phase)
	_, err = s.argo.ArgoprojV1alpha1().Workflows(f.ns).Get(f.ctx(), nameA, metav1.GetOptions{})
	assert.Error(t, err, "no new Workflow for finished work")

	// force-at: every artifact runs again, once, in a Workflow of its own.
	order, err = s.arc.ArcV1alpha1().Orders(f.ns).Get(f.ctx(), orderName, metav1.GetOptions{})
	require.NoError(t, err)
	order.Annotations = map[string]string{arcv1.AnnotationForceAt: fmt.Sprint(time.Now().Unix())}
	f.updateOrder(order)
	order = f.waitOrder(orderName, "force-at handled and done", func(o *arcv1.Order) (bool, string) {
		return o.Status.LastForceAt != nil && o.Status.Phase == arcv1.OrderPhaseSucceeded, orderSummary(o)
	})
	aw = f.waitArtifactWorkflow(nameA, "run 1 recorded", func(aw *arcv1.ArtifactWorkflow) (bool, string, error) {
		return aw.Status.Run == 1 && aw.Status.Phase == arcv1.WorkflowPhaseSucceeded, string(aw.Status.Phase), nil
	})
	assert.Equal(t, naming.Workflow(nameA, 1), aw.Status.WorkflowName)
	// The re-run's Workflow is built from the spec that followed the Endpoint.
	assert.Equal(t, "dst-moved.example", artifactWorkflowParameters(aw)["dstRemoteURL"])
	time.Sleep(3 * time.Second) // a second, wrong re-run would show here
	aws, err := s.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).List(f.ctx(), metav1.ListOptions{})
	require.NoError(t, err)
	for _, aw := range aws.Items {
		assert.Equal(t, int64(1), aw.Spec.Run, "%s ran twice", aw.Name)
	}
}

// TestParallelismAndSuspend: a suspended Order creates no Workflow; resumed,
// it runs its artifacts at most two at a time (sampled throughout), in
// order, through an Endpoint limited to three.
func TestParallelismAndSuspend(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "limits")
	f.createEndpoint("src", "oci", "src.example", arcv1.EndpointUsagePullOnly, "")
	dst := f.createEndpoint("dst", "oci", "dst.example", arcv1.EndpointUsagePushOnly, "")
	dst.Spec.MaxConcurrentWorkflows = ptr.To[int32](3)
	_, err := s.arc.ArcV1alpha1().Endpoints(f.ns).Update(f.ctx(), dst, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.createArtifactType("copy", simpleType(templateSingleStep))
	const orderName = "limited"
	const n = 8
	var artifacts []arcv1.OrderArtifact
	for i := range n {
		artifacts = append(artifacts, arcv1.OrderArtifact{Type: "copy", Spec: rawSpec(fmt.Sprintf(`{"image":"img-%d:1"}`, i))})
	}
	f.createOrder(&arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: orderName},
		Spec: arcv1.OrderSpec{
			Defaults:    &arcv1.OrderDefaults{SrcRef: ref("src"), DstRef: ref("dst")},
			Artifacts:   artifacts,
			Suspend:     true,
			Parallelism: ptr.To[int32](2),
		},
	})
	order := f.waitOrder(orderName, "every ArtifactWorkflow waits, suspended", func(o *arcv1.Order) (bool, string) {
		return len(o.Status.ArtifactWorkflows) == n && o.Status.Pending == n, orderSummary(o)
	})
	wfs, err := s.argo.ArgoprojV1alpha1().Workflows(f.ns).List(f.ctx(), metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, wfs.Items, "a suspended Order creates no Workflow")
	queue := make([]string, n)
	for i := range n {
		queue[i] = f.mustEntry(order, int32(i)).Name
	}

	// Sample the Workflows throughout the run.
	sampler := f.sampleWorkflows(func(running int, created map[string]bool) []string {
		var problems []string
		if running > 2 {
			problems = append(problems, fmt.Sprintf("%d Workflows ran at once", running))
		}
		if p := drainProblem(queue, created, 2); p != "" {
			problems = append(problems, p)
		}
		return problems
	})

	order, err = s.arc.ArcV1alpha1().Orders(f.ns).Get(f.ctx(), orderName, metav1.GetOptions{})
	require.NoError(t, err)
	order.Spec.Suspend = false
	f.updateOrder(order)
	f.waitOrderPhase(orderName, arcv1.OrderPhaseSucceeded)
	maxSeen, samples, problems := sampler.finish()
	t.Logf("%d samples, at most %d Workflows running at once", samples, maxSeen)
	assert.Empty(t, problems)
	assert.Positive(t, maxSeen, "the sampler saw Workflows run at all")
}

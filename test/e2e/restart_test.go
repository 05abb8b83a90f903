//go:build e2e

package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// restartArtifacts is the size of the Order TestRestart interrupts.
const restartArtifacts = 50

// TestRestart kills the controller with SIGKILL in the middle of creating
// the ArtifactWorkflows of a large Order, starts it again, and checks that
// the work is done exactly once: one ArtifactWorkflow and one Workflow per
// artifact, no more.
//
// It replaces the suite's shared controller, so it must not run alongside
// other tests: it does not call t.Parallel, and Go runs it before it
// releases the parallel tests (see the package documentation).
//
// To be sure to hit the window in which some but not all ArtifactWorkflows
// exist, the controller that gets killed runs with a small API rate limit
// (--kube-api-qps 5): it then needs about ten seconds for the 50 creations.
// The restarted controller has the normal flags.
func TestRestart(t *testing.T) {
	f := newFixture(t, "restart")
	f.createEndpoint("src", "oci", "src.example", arcv1.EndpointUsagePullOnly, "")
	f.createEndpoint("dst", "oci", "dst.example", arcv1.EndpointUsagePushOnly, "")
	f.createArtifactType("copy", simpleType(templateSingleStep))

	// Swap the shared controller for a slow one. Whatever happens, the suite
	// gets a normal shared controller back.
	s.suspendSharedController(t)
	slow, err := s.launchController("--kube-api-qps=5", "--kube-api-burst=5")
	require.NoError(t, err, "starting the slow arc-controller")
	killed := false
	defer func() {
		if !killed {
			_ = slow.kill()
		}
	}()

	// Watch the ArtifactWorkflows from before the Order exists, to kill as
	// soon as enough of them are there.
	watcher, err := s.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).Watch(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	defer func() { watcher.Stop() }()

	const orderName = "many"
	artifacts := make([]arcv1.OrderArtifact, restartArtifacts)
	for i := range artifacts {
		artifacts[i] = arcv1.OrderArtifact{Type: "copy", Spec: rawSpec(fmt.Sprintf(`{"image":"library/app-%02d:1.0"}`, i))}
	}
	f.createOrder(&arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: orderName},
		Spec: arcv1.OrderSpec{
			Defaults:  &arcv1.OrderDefaults{SrcRef: ref("src"), DstRef: ref("dst")},
			Artifacts: artifacts,
		},
	})

	seen := map[string]bool{}
	timeout := time.After(defaultTimeout)
	for len(seen) < 5 {
		select {
		case ev, ok := <-watcher.ResultChan():
			if !ok {
				// The API server ends a watch whose reader falls behind a
				// burst of events (the creates now come in parallel
				// batches, and the suite runs tests in parallel): count
				// what exists and watch on from there.
				list, err := s.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).List(t.Context(), metav1.ListOptions{})
				require.NoError(t, err)
				for _, aw := range list.Items {
					seen[aw.Name] = true
				}
				watcher, err = s.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).Watch(t.Context(), metav1.ListOptions{ResourceVersion: list.ResourceVersion})
				require.NoError(t, err)
				continue
			}
			if ev.Type == watch.Added {
				if aw, ok := ev.Object.(*arcv1.ArtifactWorkflow); ok {
					seen[aw.Name] = true
				}
			}
		case <-timeout:
			t.Fatalf("only %d ArtifactWorkflows after %s", len(seen), defaultTimeout)
		}
	}
	require.NoError(t, slow.kill())
	killed = true
	watcher.Stop()
	aws, err := s.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	wfs, err := s.argo.ArgoprojV1alpha1().Workflows(f.ns).List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	t.Logf("killed arc-controller (pid %d) with SIGKILL when %d ArtifactWorkflows and %d Workflows of %d existed",
		slow.pid(), len(aws.Items), len(wfs.Items), restartArtifacts)
	assert.Less(t, len(aws.Items), restartArtifacts, "the kill should land before every ArtifactWorkflow exists")

	require.NoError(t, s.startController(), "restarting the shared arc-controller")
	started := time.Now()

	order := f.waitOrder(orderName, "phase Succeeded", func(o *arcv1.Order) (bool, string) {
		return o.Status.Phase == arcv1.OrderPhaseSucceeded, ""
	})
	t.Logf("the Order succeeded %s after the restart", time.Since(started).Round(100*time.Millisecond))
	st := order.Status
	assert.Equal(t, [3]int32{restartArtifacts, restartArtifacts, 0}, [3]int32{st.Total, st.Succeeded, st.Failed}, "total, succeeded, failed")
	assert.Len(t, st.ArtifactWorkflows, restartArtifacts)

	// Exactly one ArtifactWorkflow and one Workflow per artifact, paired by name.
	aws, err = s.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	wfs, err = s.argo.ArgoprojV1alpha1().Workflows(f.ns).List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, aws.Items, restartArtifacts, "ArtifactWorkflows")
	require.Len(t, wfs.Items, restartArtifacts, "Workflows")
	workflows := map[string]metav1.Object{}
	for i := range wfs.Items {
		workflows[wfs.Items[i].Name] = &wfs.Items[i]
	}
	inStatus := map[string]bool{}
	for _, e := range st.ArtifactWorkflows {
		inStatus[e.Name] = true
	}
	for i := range aws.Items {
		aw := &aws.Items[i]
		assert.Equal(t, arcv1.WorkflowPhaseSucceeded, aw.Status.Phase, "ArtifactWorkflow %s", aw.Name)
		assert.True(t, inStatus[aw.Name], "ArtifactWorkflow %s is in the Order's status", aw.Name)
		wf, ok := workflows[aw.Name]
		if assert.True(t, ok, "ArtifactWorkflow %s has a Workflow of the same name", aw.Name) {
			assert.True(t, metav1.IsControlledBy(wf, aw), "Workflow %s is controlled by its ArtifactWorkflow", aw.Name)
		}
	}

	// Nothing happens afterwards either: no late duplicates.
	time.Sleep(2 * time.Second)
	f.requireCounts(restartArtifacts, restartArtifacts)
}

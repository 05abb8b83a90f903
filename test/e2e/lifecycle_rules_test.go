//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/naming"
)

// The lifecycle rules of the README, each on the real Argo controller:
// re-run requests carried out once across restarts, an Endpoint edit before
// the work starts, an Order re-created under its name, an Order's own TTL,
// and an Endpoint's limit across Orders.

// annotateOrder sets one annotation of an Order with a merge patch (ARC
// writes the Order's status meanwhile).
func (f *fixture) annotateOrder(name, key, value string) {
	f.t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, key, value)
	_, err := s.arc.ArcV1alpha1().Orders(f.ns).Patch(f.ctx(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	require.NoError(f.t, err, "annotating Order %s", name)
}

// runsOf returns each ArtifactWorkflow's spec.run by name.
func (f *fixture) runsOf() map[string]int64 {
	f.t.Helper()
	aws, err := s.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).List(f.ctx(), metav1.ListOptions{})
	require.NoError(f.t, err)
	runs := map[string]int64{}
	for _, aw := range aws.Items {
		runs[aw.Name] = aw.Spec.Run
	}
	return runs
}

// TestRerunRequestsAcrossRestarts: rerun-failed-at re-runs only the failed
// artifact, force-at every artifact, each once, though the requests arrive
// while ARC is down and ARC is killed again after handling them.
//
// It replaces the suite's shared controller, so it does not call t.Parallel.
func TestRerunRequestsAcrossRestarts(t *testing.T) {
	f := newFixture(t, "rerun-restart")
	f.createEndpoint("src", "oci", "src.example", arcv1.EndpointUsagePullOnly, "")
	f.createEndpoint("dst", "oci", "dst.example", arcv1.EndpointUsagePushOnly, "")
	f.createArtifactType("copy", simpleType(templateSingleStep))
	f.createArtifactType("doomed", simpleType(templateFail))
	const orderName = "mixed"
	f.createOrder(&arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: orderName},
		Spec: arcv1.OrderSpec{
			Defaults: &arcv1.OrderDefaults{SrcRef: ref("src"), DstRef: ref("dst")},
			Artifacts: []arcv1.OrderArtifact{
				{Type: "copy", Spec: rawSpec(`{"image":"good:1"}`)},
				{Type: "doomed", Spec: rawSpec(`{"image":"bad:1"}`)},
			},
		},
	})
	order := f.waitOrder(orderName, "one succeeded, one failed", func(o *arcv1.Order) (bool, string) {
		return o.Status.Succeeded == 1 && o.Status.Failed == 1, orderSummary(o)
	})
	good, bad := f.mustEntry(order, 0).Name, f.mustEntry(order, 1).Name

	// The request arrives while no controller runs.
	s.suspendSharedController(t)
	f.annotateOrder(orderName, arcv1.AnnotationRerunFailedAt, fmt.Sprint(time.Now().Unix()))
	ctrl, err := s.launchController()
	require.NoError(t, err)
	order = f.waitOrder(orderName, "rerun-failed-at handled, the failed artifact failed again", func(o *arcv1.Order) (bool, string) {
		e, _ := entryFor(o, 1)
		return o.Status.LastRerunFailedAt != nil && e.Phase == arcv1.WorkflowPhaseFailed && o.Status.Failed == 1, orderSummary(o)
	})
	f.waitWorkflowPhase(naming.Workflow(bad, 1), wfv1.WorkflowFailed)
	assert.Equal(t, map[string]int64{good: 0, bad: 1}, f.runsOf(), "only the failed artifact ran again")

	// Killed after handling it: the restarted controller does not repeat it.
	require.NoError(t, ctrl.kill())
	f.annotateOrder(orderName, arcv1.AnnotationForceAt, fmt.Sprint(time.Now().Unix()))
	ctrl, err = s.launchController()
	require.NoError(t, err)
	order = f.waitOrder(orderName, "force-at handled, every artifact finished again", func(o *arcv1.Order) (bool, string) {
		return o.Status.LastForceAt != nil && o.Status.Succeeded == 1 && o.Status.Failed == 1, orderSummary(o)
	})
	f.waitWorkflowPhase(naming.Workflow(good, 1), wfv1.WorkflowSucceeded)
	f.waitWorkflowPhase(naming.Workflow(bad, 2), wfv1.WorkflowFailed)
	require.NoError(t, ctrl.kill())
	ctrl, err = s.launchController()
	require.NoError(t, err)
	defer func() { _ = ctrl.stop(20 * time.Second) }()
	// The restarted controller syncs the Order (its caches are fresh) and
	// finds both requests handled.
	f.waitOrder(orderName, "synced by the restarted controller", func(o *arcv1.Order) (bool, string) {
		return o.Status.ObservedGeneration == o.Generation && o.Status.Phase == arcv1.OrderPhaseFailed, orderSummary(o)
	})
	time.Sleep(3 * time.Second) // room for a wrong repeat to show; no timing is asserted
	assert.Equal(t, map[string]int64{good: 1, bad: 2}, f.runsOf(), "each request carried out once")
	wfs, err := s.argo.ArgoprojV1alpha1().Workflows(f.ns).List(f.ctx(), metav1.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, wfs.Items, 5, "good: runs 0 and 1; bad: runs 0, 1 and 2")
}

// TestEndpointEditBeforeStart: work that has not started takes an edited
// Endpoint.
func TestEndpointEditBeforeStart(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "edit-before")
	f.createEndpoint("src", "oci", "src.example", arcv1.EndpointUsagePullOnly, "")
	dst := f.createEndpoint("dst", "oci", "dst.example", arcv1.EndpointUsagePushOnly, "")
	f.createArtifactType("copy", simpleType(templateSingleStep))
	const orderName = "waiting"
	f.createOrder(&arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: orderName},
		Spec: arcv1.OrderSpec{
			Defaults:  &arcv1.OrderDefaults{SrcRef: ref("src"), DstRef: ref("dst")},
			Artifacts: []arcv1.OrderArtifact{{Type: "copy", Spec: rawSpec(`{"image":"a:1"}`)}},
			Suspend:   true,
		},
	})
	order := f.waitOrder(orderName, "its ArtifactWorkflow waits", func(o *arcv1.Order) (bool, string) {
		return len(o.Status.ArtifactWorkflows) == 1, orderSummary(o)
	})
	name := f.mustEntry(order, 0).Name

	dst.Spec.RemoteURL = "dst-moved.example"
	_, err := s.arc.ArcV1alpha1().Endpoints(f.ns).Update(f.ctx(), dst, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.waitArtifactWorkflow(name, "its spec follows the Endpoint", func(aw *arcv1.ArtifactWorkflow) (bool, string, error) {
		return artifactWorkflowParameters(aw)["dstRemoteURL"] == "dst-moved.example", "", nil
	})
	_, err = s.arc.ArcV1alpha1().Orders(f.ns).Patch(f.ctx(), orderName, types.MergePatchType, []byte(`{"spec":{"suspend":false}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	wf := f.waitWorkflowPhase(name, wfv1.WorkflowSucceeded)
	assert.Equal(t, "dst-moved.example", f.workflowParameters(wf)["dstRemoteURL"], "the Workflow uses the edited Endpoint")
	order = f.waitOrderPhase(orderName, arcv1.OrderPhaseSucceeded)
	assert.Equal(t, name, f.mustEntry(order, 0).Name, "the same ArtifactWorkflow did the work")
}

// TestOrderRecreatedUnderItsName: an Order deleted and applied again with
// the same name and artifacts gets ArtifactWorkflows of its own, runs them,
// and never takes over the old one's.
func TestOrderRecreatedUnderItsName(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "recreate")
	f.createEndpoint("src", "oci", "src.example", arcv1.EndpointUsagePullOnly, "")
	f.createEndpoint("dst", "oci", "dst.example", arcv1.EndpointUsagePushOnly, "")
	f.createArtifactType("copy", simpleType(templateSingleStep))
	const orderName = "again"
	newOrder := func() *arcv1.Order {
		return &arcv1.Order{
			ObjectMeta: metav1.ObjectMeta{Name: orderName},
			Spec: arcv1.OrderSpec{
				Defaults:  &arcv1.OrderDefaults{SrcRef: ref("src"), DstRef: ref("dst")},
				Artifacts: []arcv1.OrderArtifact{{Type: "copy", Spec: rawSpec(`{"image":"a:1"}`)}},
			},
		}
	}
	f.createOrder(newOrder())
	first := f.waitOrderPhase(orderName, arcv1.OrderPhaseSucceeded)
	oldName := f.mustEntry(first, 0).Name

	// Deleted in the background (the garbage collector takes its time) and
	// created again at once.
	require.NoError(t, s.arc.ArcV1alpha1().Orders(f.ns).Delete(f.ctx(), orderName, metav1.DeleteOptions{}))
	f.waitGone("the first Order", func(ctx context.Context) error {
		_, err := s.arc.ArcV1alpha1().Orders(f.ns).Get(ctx, orderName, metav1.GetOptions{})
		return err
	})
	second := f.createOrder(newOrder())
	require.NotEqual(t, first.UID, second.UID)
	order := f.waitOrderPhase(orderName, arcv1.OrderPhaseSucceeded)
	newName := f.mustEntry(order, 0).Name
	assert.NotEqual(t, oldName, newName, "the new Order's work has a name of its own")
	wf := f.waitWorkflowPhase(newName, wfv1.WorkflowSucceeded)
	assert.True(t, metav1.IsControlledBy(wf, mustGetArtifactWorkflow(t, f, newName)))
	aw := mustGetArtifactWorkflow(t, f, newName)
	assert.True(t, metav1.IsControlledBy(aw, order), "controlled by the new Order")
	f.artifactWorkflowGone(oldName)
	f.workflowGone(oldName)
}

func mustGetArtifactWorkflow(t *testing.T, f *fixture, name string) *arcv1.ArtifactWorkflow {
	t.Helper()
	aw, err := s.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).Get(f.ctx(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return aw
}

// TestOrderDeletesItselfAfterTTL: ttlSecondsAfterFinished deletes a
// finished Order, and the garbage collector what it made.
func TestOrderDeletesItselfAfterTTL(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "order-ttl")
	f.createEndpoint("src", "oci", "src.example", arcv1.EndpointUsagePullOnly, "")
	f.createEndpoint("dst", "oci", "dst.example", arcv1.EndpointUsagePushOnly, "")
	f.createArtifactType("copy", simpleType(templateSingleStep))
	const orderName = "short-lived"
	f.createOrder(&arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: orderName},
		Spec: arcv1.OrderSpec{
			Defaults:                &arcv1.OrderDefaults{SrcRef: ref("src"), DstRef: ref("dst")},
			Artifacts:               []arcv1.OrderArtifact{{Type: "copy", Spec: rawSpec(`{"image":"a:1"}`)}},
			TTLSecondsAfterFinished: ptr.To[int32](3),
		},
	})
	// It may be gone before a poll sees it Succeeded: watch for the last
	// state instead of requiring one.
	var lastPhase arcv1.OrderPhase
	var completion *metav1.Time
	f.waitFor("the Order to delete itself", defaultTimeout, func(ctx context.Context) (bool, string, error) {
		o, err := s.arc.ArcV1alpha1().Orders(f.ns).Get(ctx, orderName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, err.Error(), nil
		}
		lastPhase, completion = o.Status.Phase, o.Status.CompletionTime
		return false, orderSummary(o), nil
	})
	t.Logf("last seen: phase %q, completionTime %v", lastPhase, completion)
	ev := f.waitEvent("Order", orderName, "Normal", "Expired")
	assert.Contains(t, ev.Message, "ttlSecondsAfterFinished")
	f.waitNothingLeft("its ArtifactWorkflows and Workflows to go")
}

// TestEndpointLimitAcrossOrders: two Orders push through one Endpoint that
// allows two Workflows at once. Sampled throughout, never more run, and each
// Order's work drains in its order.
func TestEndpointLimitAcrossOrders(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "endpoint-limit")
	f.createEndpoint("src", "oci", "src.example", arcv1.EndpointUsagePullOnly, "")
	dst := f.createEndpoint("dst", "oci", "dst.example", arcv1.EndpointUsagePushOnly, "")
	dst.Spec.MaxConcurrentWorkflows = ptr.To[int32](2)
	_, err := s.arc.ArcV1alpha1().Endpoints(f.ns).Update(f.ctx(), dst, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.createArtifactType("copy", simpleType(templateSingleStep))
	const perOrder, limit = 4, 2
	queues := map[string][]string{}
	for _, name := range []string{"first", "second"} {
		var artifacts []arcv1.OrderArtifact
		for i := range perOrder {
			artifacts = append(artifacts, arcv1.OrderArtifact{Type: "copy", Spec: rawSpec(fmt.Sprintf(`{"image":"%s-%d:1"}`, name, i))})
		}
		f.createOrder(&arcv1.Order{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: arcv1.OrderSpec{
				Defaults:  &arcv1.OrderDefaults{SrcRef: ref("src"), DstRef: ref("dst")},
				Artifacts: artifacts,
				Suspend:   true,
			},
		})
		order := f.waitOrder(name, "every ArtifactWorkflow waits", func(o *arcv1.Order) (bool, string) {
			return len(o.Status.ArtifactWorkflows) == perOrder, orderSummary(o)
		})
		for i := range perOrder {
			queues[name] = append(queues[name], f.mustEntry(order, int32(i)).Name)
		}
	}

	sampler := f.sampleWorkflows(func(running int, created map[string]bool) []string {
		var problems []string
		if running > limit {
			problems = append(problems, fmt.Sprintf("%d Workflows ran at once", running))
		}
		for name, queue := range queues {
			if p := drainProblem(queue, created, limit); p != "" {
				problems = append(problems, name+": "+p)
			}
		}
		return problems
	})
	for _, name := range []string{"first", "second"} {
		_, err := s.arc.ArcV1alpha1().Orders(f.ns).Patch(f.ctx(), name, types.MergePatchType, []byte(`{"spec":{"suspend":false}}`), metav1.PatchOptions{})
		require.NoError(t, err)
	}
	f.waitOrderPhase("first", arcv1.OrderPhaseSucceeded)
	f.waitOrderPhase("second", arcv1.OrderPhaseSucceeded)
	maxSeen, samples, problems := sampler.finish()
	t.Logf("%d samples, at most %d Workflows running at once", samples, maxSeen)
	assert.Empty(t, problems)
	assert.Positive(t, maxSeen, "the sampler saw Workflows run")
}

// drainProblem checks that the Workflows created of one queue are its
// prefix, but for the creates of work admitted together (at most limit of
// them), which may land in any order.
func drainProblem(queue []string, created map[string]bool, limit int) string {
	last, missing := -1, 0
	for i, name := range queue {
		if created[name] {
			last = i
		}
	}
	for i := 0; i < last; i++ {
		if !created[queue[i]] {
			missing++
		}
	}
	if missing > limit-1 {
		return fmt.Sprintf("artifact %d started while %d before it had not", last, missing)
	}
	return ""
}

// workflowSampler lists the namespace's Workflows every 50 ms until stopped
// and keeps what check finds wrong in each sample.
type workflowSampler struct {
	mu         sync.Mutex
	problems   []string
	maxRunning int
	samples    int
	stop, done chan struct{}
}

// sampleWorkflows starts a sampler; check gets the number of running
// Workflows and the names of those that exist.
func (f *fixture) sampleWorkflows(check func(running int, created map[string]bool) []string) *workflowSampler {
	w := &workflowSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			list, err := s.argo.ArgoprojV1alpha1().Workflows(f.ns).List(f.ctx(), metav1.ListOptions{})
			if err != nil {
				continue
			}
			running, created := 0, map[string]bool{}
			for _, wf := range list.Items {
				created[wf.Name] = true
				if !wf.Status.Phase.Completed() {
					running++
				}
			}
			w.mu.Lock()
			w.samples++
			w.maxRunning = max(w.maxRunning, running)
			w.problems = append(w.problems, check(running, created)...)
			w.mu.Unlock()
		}
	}()
	return w
}

// finish stops the sampler and returns what it saw.
func (w *workflowSampler) finish() (maxRunning, samples int, problems []string) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.maxRunning, w.samples, w.problems
}

// waitNothingLeft waits until the namespace holds no ArtifactWorkflow and no
// Workflow.
func (f *fixture) waitNothingLeft(desc string) {
	f.t.Helper()
	f.waitFor(desc, defaultTimeout, func(ctx context.Context) (bool, string, error) {
		aws, err := s.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		wfs, err := s.argo.ArgoprojV1alpha1().Workflows(f.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		return len(aws.Items) == 0 && len(wfs.Items) == 0, fmt.Sprintf("%d ArtifactWorkflows, %d Workflows", len(aws.Items), len(wfs.Items)), nil
	})
}

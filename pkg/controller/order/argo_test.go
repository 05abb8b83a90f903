package order

import (
	"context"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	clocktesting "k8s.io/utils/clock/testing"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/naming"
)

// orderWithWorkflow returns a fixture whose Order "o" has one artifact, its
// ArtifactWorkflow with an empty status, and the Workflow ARC made for it,
// created createdAgo before testNow and in Argo's phase.
func orderWithWorkflow(t *testing.T, createdAgo time.Duration, phase wfv1.WorkflowPhase) (*fixture, *arcv1.ArtifactWorkflow) {
	t.Helper()
	f := newFixture(t, newOrder("o", alpineArtifact(t)), dockerhub(), internal(), secret("dst-reg-secret"))
	_, _, err := f.sync("o")
	require.NoError(t, err)
	aws := f.artifactWorkflows()
	require.Len(t, aws, 1)
	aw := &aws[0]
	wf := &wfv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{
			Name: naming.Workflow(aw.Name, 0), Namespace: ns, CreationTimestamp: metav1.NewTime(testNow.Add(-createdAgo)),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(aw, arcv1.SchemeGroupVersion.WithKind("ArtifactWorkflow"))},
		},
		Status: wfv1.WorkflowStatus{Phase: phase},
	}
	_, err = f.argo.ArgoprojV1alpha1().Workflows(ns).Create(context.Background(), wf, metav1.CreateOptions{})
	require.NoError(t, err)
	f.refreshCaches()
	return f, aw
}

// argoStarted tells the controller, as the Workflow informer would, that
// Argo started one of ARC's Workflows in namespace at t.
func argoStarted(c *Controller, namespace string, t time.Time) {
	before := controller.CacheWorkflow(&wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: namespace}})
	after := before.DeepCopyObject().(*controller.CachedWorkflow)
	after.Status.Phase = wfv1.WorkflowRunning
	c.clock = clocktesting.NewFakePassiveClock(t)
	c.recordArgoStart(before, after)
	c.clock = clocktesting.NewFakePassiveClock(testNow)
}

// The ArtifactWorkflow writes no status before Argo starts its Workflow;
// the Order says that Argo has not, once argoStartDelay passed and Argo
// started none of ARC's Workflows in the namespace for as long: a busy
// Argo reaches it in its turn.
func TestOrderSaysWhenArgoHasNotStartedAWorkflow(t *testing.T) {
	tests := []struct {
		name       string
		createdAgo time.Duration
		phase      wfv1.WorkflowPhase
		// argoStartedAgo is when Argo started another Workflow, in argoNamespace ("": never).
		argoStartedAgo time.Duration
		argoNamespace  string
		wantLate       bool
		wantRecheck    time.Duration
	}{
		{name: "within the delay: not yet, looked at again when due", createdAgo: 10 * time.Second, wantRecheck: 20 * time.Second},
		{name: "after the delay, Argo idle: said", createdAgo: argoStartDelay, wantLate: true},
		{name: "Argo busy here: said once it started nothing for the delay", createdAgo: 40 * time.Second,
			argoStartedAgo: 10 * time.Second, argoNamespace: ns, wantRecheck: 20 * time.Second},
		{name: "Argo busy elsewhere does not count", createdAgo: 40 * time.Second,
			argoStartedAgo: 10 * time.Second, argoNamespace: "team-b", wantLate: true},
		{name: "a Workflow Argo started is not late", createdAgo: time.Hour, phase: wfv1.WorkflowRunning},
		{name: "a creation time ahead of this clock counts as now", createdAgo: -time.Hour, wantRecheck: argoStartDelay},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, aw := orderWithWorkflow(t, tt.createdAgo, tt.phase)
			if tt.argoNamespace != "" {
				argoStarted(f.ctrl, tt.argoNamespace, testNow.Add(-tt.argoStartedAgo))
			}
			late, recheck := f.ctrl.notStartedByArgo(f.order("o"), reconciled{kept: []keptArtifactWorkflow{{aw: controller.CacheArtifactWorkflow(aw)}}}, testNow)
			assert.Equal(t, tt.wantLate, late[aw.Name] != "", "late: %v", late)
			assert.Equal(t, tt.wantRecheck, recheck)

			writes, _, err := f.sync("o")
			require.NoError(t, err)
			entry := f.order("o").Status.ArtifactWorkflows[aw.Labels[arcv1.LabelArtifactHash]]
			if tt.wantLate {
				assert.Equal(t, []string{"update orders/status " + ns + "/o"}, writes, "one write for the Order")
				assert.Equal(t, arcv1.WorkflowPhasePending, entry.Phase)
				assert.Equal(t, notStartedMessage(naming.Workflow(aw.Name, 0)), entry.Message)
				assert.Contains(t, entry.Message, "Argo Workflows has not started it")
			} else {
				assert.Empty(t, writes)
				assert.Empty(t, entry.Message)
			}
		})
	}
}

// Once the Order says that Argo has not started a Workflow, it keeps saying
// so until Argo starts it, however busy Argo gets meanwhile: the status
// does not come and go.
func TestOrderKeepsSayingArgoHasNotStartedAWorkflowUntilItDoes(t *testing.T) {
	f, aw := orderWithWorkflow(t, time.Minute, "")
	writes, _, err := f.sync("o")
	require.NoError(t, err)
	require.Equal(t, []string{"update orders/status " + ns + "/o"}, writes)

	argoStarted(f.ctrl, ns, testNow)
	writes, _, err = f.sync("o")
	require.NoError(t, err)
	assert.Empty(t, writes, "still said")
	late, _ := f.ctrl.notStartedByArgo(f.order("o"), reconciled{kept: []keptArtifactWorkflow{{aw: controller.CacheArtifactWorkflow(aw)}}}, testNow)
	assert.NotEmpty(t, late[aw.Name])
}

// Nothing else syncs an Order whose Workflows Argo does not start (their
// ArtifactWorkflows write no status): a new Workflow queues its Order for
// when it is due; one Argo already started does not.
func TestNewWorkflowQueuesItsOrderForWhenArgoIsDue(t *testing.T) {
	for _, tc := range []struct {
		name       string
		phase      wfv1.WorkflowPhase
		wantQueued bool
	}{
		{"a Workflow Argo has not started queues its Order after the delay", "", true},
		{"a Workflow Argo started does not", wfv1.WorkflowRunning, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, aw := orderWithWorkflow(t, 0, tc.phase)
			clock := clocktesting.NewFakeClock(testNow)
			f.ctrl.queue = workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](),
				workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Clock: clock})
			defer f.ctrl.queue.ShutDown()
			wf, err := f.ctrl.workflows.Get(ns, naming.Workflow(aw.Name, 0))
			require.NoError(t, err)

			f.ctrl.enqueueOrderOfNewWorkflow(wf)
			assert.Zero(t, f.ctrl.queue.Len(), "not before the delay")
			clock.Step(argoStartDelay)
			if !tc.wantQueued {
				assert.Never(t, func() bool { return f.ctrl.queue.Len() > 0 }, 200*time.Millisecond, 10*time.Millisecond)
				return
			}
			require.Eventually(t, func() bool { return f.ctrl.queue.Len() == 1 }, 5*time.Second, time.Millisecond)
			key, _ := f.ctrl.queue.Get()
			assert.Equal(t, cache.ObjectName{Namespace: ns, Name: "o"}, key)
		})
	}
}

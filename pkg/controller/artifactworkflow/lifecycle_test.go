package artifactworkflow

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// limitedSetup is an Order with n ArtifactWorkflows, all queued in name
// order and listed by the Order, whose Workflows use Endpoint "registry".
func limitedSetup(n int, parallelism *int32, endpointLimit *int32) []runtime.Object {
	order := alpineOrder()
	order.Spec.Parallelism = parallelism
	order.Status.ArtifactWorkflows = map[string]arcv1.OrderArtifactWorkflowStatus{}
	objs := []runtime.Object{ociArtifactType(), &arcv1.Endpoint{
		ObjectMeta: metav1.ObjectMeta{Name: "registry", Namespace: ns},
		Spec:       arcv1.EndpointSpec{Type: "oci", RemoteURL: "registry.example", MaxConcurrentWorkflows: endpointLimit},
	}}
	for i := range n {
		aw := alpineArtifactWorkflow()
		aw.Name = fmt.Sprintf("aw-%02d", i)
		aw.UID = types.UID("uid-" + aw.Name)
		aw.Spec.DstEndpoint = "registry"
		aw.Spec.QueuedAt = &metav1.MicroTime{Time: testNow.Add(time.Duration(i) * time.Microsecond)}
		order.Status.ArtifactWorkflows[aw.Name] = arcv1.OrderArtifactWorkflowStatus{Name: aw.Name}
		objs = append(objs, aw)
	}
	return append(objs, order)
}

func (f *fixture) syncKey(name string) error {
	return f.ctrl.sync(context.Background(), cache.ObjectName{Namespace: ns, Name: name})
}

func (f *fixture) workflowNames() []string {
	f.t.Helper()
	list, err := f.argo.ArgoprojV1alpha1().Workflows(ns).List(context.Background(), metav1.ListOptions{})
	require.NoError(f.t, err)
	var names []string
	for _, wf := range list.Items {
		names = append(names, wf.Name)
	}
	return names
}

// TestLimitsAreNeverExceededUnderParallelWorkers syncs many waiting
// ArtifactWorkflows from 8 goroutines at once, several times each, on
// caches that never see the Workflows created meanwhile: only the
// reservations stand between the workers and an overshoot.
func TestLimitsAreNeverExceededUnderParallelWorkers(t *testing.T) {
	tests := []struct {
		name                 string
		parallelism, epLimit *int32
		want                 int
	}{
		{name: "Order parallelism", parallelism: ptr.To[int32](3), want: 3},
		{name: "Endpoint limit", epLimit: ptr.To[int32](2), want: 2},
		{name: "the lower of both", parallelism: ptr.To[int32](4), epLimit: ptr.To[int32](1), want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, limitedSetup(24, tt.parallelism, tt.epLimit)...)
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 24 * 3 {
						_ = f.syncKey(fmt.Sprintf("aw-%02d", (i+w*5)%24))
					}
				}()
			}
			wg.Wait()
			names := f.workflowNames()
			assert.Len(t, names, tt.want)
			// First come, first served: the earliest queued got the slots.
			for i := range tt.want {
				assert.Contains(t, names, fmt.Sprintf("aw-%02d", i))
			}
		})
	}
}

func TestWaitingWorkSaysWhatItWaitsFor(t *testing.T) {
	f := newFixture(t, limitedSetup(3, nil, ptr.To[int32](1))...)
	// The last in line is synced first: it must not take the slot.
	require.NoError(t, f.syncKey("aw-02"))
	require.NoError(t, f.syncKey("aw-00"))
	f.refreshCaches()
	require.NoError(t, f.syncKey("aw-01"))
	f.refreshCaches()
	assert.Equal(t, []string{"aw-00"}, f.workflowNames())
	aw, err := f.client.ArcV1alpha1().ArtifactWorkflows(ns).Get(t.Context(), "aw-01", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, arcv1.WorkflowPhasePending, aw.Status.Phase)
	assert.Equal(t, `waiting: Endpoint "registry" allows 1 Workflows at once (spec.maxConcurrentWorkflows) and 1 run`, aw.Status.Message)
	assert.Equal(t, ReasonWaiting, meta.FindStatusCondition(aw.Status.Conditions, arcv1.ConditionReady).Reason)

	// aw-00 finishes: aw-01, next in line, starts; aw-02 still waits.
	wf, err := f.argo.ArgoprojV1alpha1().Workflows(ns).Get(t.Context(), "aw-00", metav1.GetOptions{})
	require.NoError(t, err)
	wf.Status.Phase = wfv1.WorkflowSucceeded
	_, err = f.argo.ArgoprojV1alpha1().Workflows(ns).Update(t.Context(), wf, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.refreshCaches()
	require.NoError(t, f.syncKey("aw-02"))
	require.NoError(t, f.syncKey("aw-01"))
	assert.ElementsMatch(t, []string{"aw-00", "aw-01"}, f.workflowNames())
}

func TestSuspendedOrderCreatesNoWorkflow(t *testing.T) {
	order := alpineOrder()
	order.Spec.Suspend = true
	f := newFixture(t, order, alpineArtifactWorkflow(), ociArtifactType())
	_, _, err := f.sync()
	require.NoError(t, err)
	assert.Empty(t, f.workflowNames())
	aw := f.artifactWorkflow()
	assert.Equal(t, arcv1.WorkflowPhasePending, aw.Status.Phase)
	assert.Equal(t, ReasonSuspended, meta.FindStatusCondition(aw.Status.Conditions, arcv1.ConditionReady).Reason)

	order.Spec.Suspend = false
	_, err = f.client.ArcV1alpha1().Orders(ns).Update(t.Context(), order, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.refreshCaches()
	_, _, err = f.sync()
	require.NoError(t, err)
	assert.Equal(t, []string{awName}, f.workflowNames(), "resuming continues where it stopped")
}

func TestRerunGetsANewWorkflowAfterTheRunningOneFinished(t *testing.T) {
	aw := alpineArtifactWorkflow()
	aw.Spec.Run = 1
	aw.Status = arcv1.ArtifactWorkflowStatus{Phase: arcv1.WorkflowPhaseRunning, WorkflowName: awName}
	f := newFixture(t, aw, ociArtifactType(), ownWorkflow(wfv1.WorkflowRunning))

	_, _, err := f.sync()
	require.NoError(t, err)
	assert.Equal(t, []string{awName}, f.workflowNames(), "running work finishes first")

	f.setWorkflowStatus(wfv1.WorkflowStatus{Phase: wfv1.WorkflowSucceeded})
	_, _, err = f.sync()
	require.NoError(t, err)
	assert.Equal(t, arcv1.WorkflowPhaseSucceeded, f.artifactWorkflow().Status.Phase)
	_, _, err = f.sync()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{awName, awName + "-1"}, f.workflowNames())
	got := f.artifactWorkflow().Status
	assert.Equal(t, int64(1), got.Run)
	assert.Equal(t, awName+"-1", got.WorkflowName)
}

func TestFinishedWorkNeverRunsAgainByItself(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fixture)
	}{
		{name: "its Workflow was deleted after it finished", setup: func(f *fixture) {
			require.NoError(t, f.argo.ArgoprojV1alpha1().Workflows(ns).Delete(t.Context(), awName, metav1.DeleteOptions{}))
		}},
		{name: "its spec changed (an Endpoint was edited)", setup: func(f *fixture) {
			aw := f.artifactWorkflow()
			aw.Spec.Parameters[0].Value = "registry.moved.example"
			_, err := f.client.ArcV1alpha1().ArtifactWorkflows(ns).Update(t.Context(), aw, metav1.UpdateOptions{})
			require.NoError(t, err)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, alpineArtifactWorkflow(), ociArtifactType(), ownWorkflow(wfv1.WorkflowSucceeded))
			_, _, err := f.sync()
			require.NoError(t, err)
			tt.setup(f)
			f.refreshCaches()
			writes, _, err := f.sync()
			require.NoError(t, err)
			assert.Empty(t, writes)
			assert.Equal(t, arcv1.WorkflowPhaseSucceeded, f.artifactWorkflow().Status.Phase)
		})
	}
}

func TestDeletedWorkflowKeepsItsFinalPhase(t *testing.T) {
	// Success and deletion arrive in one sync: the finalizer kept the
	// Workflow, with its final status, until ARC recorded it.
	wf := ownWorkflow(wfv1.WorkflowSucceeded)
	wf.Finalizers = []string{arcv1.FinalizerWorkflowResult}
	wf.DeletionTimestamp = &metav1.Time{Time: testNow}
	aw := alpineArtifactWorkflow()
	aw.Status = arcv1.ArtifactWorkflowStatus{Phase: arcv1.WorkflowPhaseRunning, WorkflowName: awName}
	f := newFixture(t, aw, ociArtifactType(), wf)

	writes, _, err := f.sync()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"update artifactworkflows/status " + ns + "/" + awName, "patch workflows " + ns + "/" + awName}, writes)
	assert.Equal(t, arcv1.WorkflowPhaseSucceeded, f.artifactWorkflow().Status.Phase)
	assert.Empty(t, f.workflow().Finalizers)
}

func TestTypeTTLDeletesFinishedWorkflowsKeepingTheResult(t *testing.T) {
	tests := []struct {
		name       string
		phase      wfv1.WorkflowPhase
		finished   time.Duration // ago
		wantDelete bool
	}{
		{name: "succeeded longer ago than ttlAfterFinished", phase: wfv1.WorkflowSucceeded, finished: 2 * time.Hour, wantDelete: true},
		{name: "succeeded more recently", phase: wfv1.WorkflowSucceeded, finished: 30 * time.Minute},
		{name: "failed: ttlAfterFailed applies instead", phase: wfv1.WorkflowFailed, finished: 2 * time.Hour},
		{name: "failed longer ago than ttlAfterFailed", phase: wfv1.WorkflowFailed, finished: 25 * time.Hour, wantDelete: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := ociArtifactType()
			typ.Spec.TTLAfterFinished = &metav1.Duration{Duration: time.Hour}
			typ.Spec.TTLAfterFailed = &metav1.Duration{Duration: 24 * time.Hour}
			wf := ownWorkflow(tt.phase)
			wf.Status.FinishedAt = metav1.NewTime(testNow.Add(-tt.finished))
			f := newFixture(t, alpineArtifactWorkflow(), typ, wf)
			writes, _, err := f.sync()
			require.NoError(t, err)
			if tt.wantDelete {
				assert.Contains(t, writes, "delete workflows "+ns+"/"+awName)
			} else {
				assert.NotContains(t, writes, "delete workflows "+ns+"/"+awName)
			}
			assert.Equal(t, mirroredPhase(tt.phase), f.artifactWorkflow().Status.Phase, "the result stays")
		})
	}
}

// TestDeletedWorkflowsNobodyNeedsLoseTheFinalizer: Workflows being deleted
// whose result no status needs any more are released, found by the label
// that names their ArtifactWorkflow; a Workflow of another ArtifactWorkflow
// is left alone.
func TestDeletedWorkflowsNobodyNeedsLoseTheFinalizer(t *testing.T) {
	workflow := func(name, labelled string, deleting bool) *wfv1.Workflow {
		wf := ownWorkflow(wfv1.WorkflowRunning)
		wf.Name = name
		wf.Labels[arcv1.LabelArtifactWorkflow] = labelled
		wf.Finalizers = []string{arcv1.FinalizerWorkflowResult}
		if deleting {
			wf.DeletionTimestamp = &metav1.Time{Time: testNow}
		}
		return wf
	}
	rerun := alpineArtifactWorkflow()
	rerun.Spec.Run = 1
	rerun.Status = arcv1.ArtifactWorkflowStatus{Run: 1, Phase: arcv1.WorkflowPhaseRunning, WorkflowName: awName + "-1"}
	tests := []struct {
		name        string
		aw          *arcv1.ArtifactWorkflow // nil: deleted
		workflows   []*wfv1.Workflow
		wantPatched []string
	}{
		{
			name:        "every Workflow of a deleted ArtifactWorkflow, none of another",
			workflows:   []*wfv1.Workflow{workflow(awName, awName, true), workflow(awName+"-1", awName, true), workflow("other", "other", true)},
			wantPatched: []string{awName, awName + "-1"},
		},
		{
			name:        "an earlier run's Workflow, not the running one",
			aw:          rerun,
			workflows:   []*wfv1.Workflow{workflow(awName, awName, true), workflow(awName+"-1", awName, false)},
			wantPatched: []string{awName},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := []runtime.Object{ociArtifactType()}
			for _, wf := range tt.workflows {
				objs = append(objs, wf)
			}
			if tt.aw != nil {
				objs = append(objs, tt.aw)
			}
			f := newFixture(t, objs...)
			writes, _, err := f.sync()
			require.NoError(t, err)
			var patched []string
			for _, w := range writes {
				if name, ok := strings.CutPrefix(w, "patch workflows "+ns+"/"); ok {
					patched = append(patched, name)
				}
			}
			assert.ElementsMatch(t, tt.wantPatched, patched, "writes: %v", writes)
		})
	}
}

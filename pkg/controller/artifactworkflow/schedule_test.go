package artifactworkflow

import (
	"context"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/controller/controllertest"
	"github.com/artifact-conduit/arc/pkg/naming"
)

// scheduledArtifactWorkflow is the example's ArtifactWorkflow on a schedule.
func scheduledArtifactWorkflow(policy arcv1.ConcurrencyPolicy) *arcv1.ArtifactWorkflow {
	aw := alpineArtifactWorkflow()
	aw.Spec.Cron = &arcv1.Cron{Schedules: []string{"0 3 * * *"}, ConcurrencyPolicy: policy}
	return aw
}

func (f *fixture) cronWorkflow() *wfv1.CronWorkflow {
	f.t.Helper()
	cwf, err := f.argo.ArgoprojV1alpha1().CronWorkflows(ns).Get(context.Background(), naming.CronWorkflow(awName), metav1.GetOptions{})
	require.NoError(f.t, err)
	return cwf
}

// setCronStatus changes the CronWorkflow's status as Argo would.
func (f *fixture) setCronStatus(status wfv1.CronWorkflowStatus) {
	f.t.Helper()
	cwf := f.cronWorkflow()
	cwf.Status = status
	_, err := f.argo.ArgoprojV1alpha1().CronWorkflows(ns).Update(context.Background(), cwf, metav1.UpdateOptions{})
	require.NoError(f.t, err)
	f.refreshCaches()
}

// startRun creates a run of the CronWorkflow as Argo would: named after its
// scheduled time, labelled from spec.workflowMetadata, controlled by the
// CronWorkflow.
func (f *fixture) startRun(at time.Time, phase wfv1.WorkflowPhase, message string) *wfv1.Workflow {
	f.t.Helper()
	cwf := f.cronWorkflow()
	labels := map[string]string{"workflows.argoproj.io/cron-workflow": cwf.Name}
	for k, v := range cwf.Spec.WorkflowMetadata.Labels {
		labels[k] = v
	}
	wf := &wfv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{
			Name: cwf.Name + "-" + at.Format("150405"), Namespace: ns, Labels: labels,
			Annotations:     map[string]string{"workflows.argoproj.io/scheduled-time": at.Format(time.RFC3339)},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cwf, wfv1.SchemeGroupVersion.WithKind("CronWorkflow"))},
		},
		Spec:   cwf.Spec.WorkflowSpec,
		Status: wfv1.WorkflowStatus{Phase: phase, Message: message},
	}
	created, err := f.argo.ArgoprojV1alpha1().Workflows(ns).Create(context.Background(), wf, metav1.CreateOptions{})
	require.NoError(f.t, err)
	f.refreshCaches()
	return created
}

func (f *fixture) updateOrder(change func(*arcv1.Order)) {
	f.t.Helper()
	o, err := f.client.ArcV1alpha1().Orders(ns).Get(context.Background(), "alpine", metav1.GetOptions{})
	require.NoError(f.t, err)
	change(o)
	_, err = f.client.ArcV1alpha1().Orders(ns).Update(context.Background(), o, metav1.UpdateOptions{})
	require.NoError(f.t, err)
	f.refreshCaches()
}

func (f *fixture) updateArtifactWorkflowSpec(change func(*arcv1.ArtifactWorkflowSpec)) {
	f.t.Helper()
	aw := f.artifactWorkflow()
	change(&aw.Spec)
	aw.Generation++
	_, err := f.client.ArcV1alpha1().ArtifactWorkflows(ns).Update(context.Background(), aw, metav1.UpdateOptions{})
	require.NoError(f.t, err)
	f.refreshCaches()
}

func TestScheduleCreatesCronWorkflowInsteadOfWorkflow(t *testing.T) {
	f := newFixture(t, ociArtifactType(), scheduledArtifactWorkflow(arcv1.ConcurrencyForbid))
	writes, events, err := f.sync()
	require.NoError(t, err)
	cronName := naming.CronWorkflow(awName)
	assert.Equal(t, []string{
		"create cronworkflows " + ns + "/" + cronName,
		"update artifactworkflows/status " + ns + "/" + awName,
	}, writes, "a CronWorkflow and no Workflow")
	assert.Equal(t, []string{"Normal " + ReasonCronWorkflowCreated}, controllertest.EventReasons(events))

	cwf := f.cronWorkflow()
	assert.Equal(t, wfv1.ForbidConcurrent, cwf.Spec.ConcurrencyPolicy)
	assert.False(t, cwf.Spec.Suspend)
	aw := f.artifactWorkflow()
	assert.Equal(t, arcv1.WorkflowPhasePending, aw.Status.Phase)
	assert.Contains(t, aw.Status.Message, `scheduled ("0 3 * * *", concurrencyPolicy Forbid); no run yet`)
	require.NotNil(t, aw.Status.Schedule)
	assert.Equal(t, cronName, aw.Status.Schedule.CronWorkflowName)

	writes, events, err = f.sync()
	require.NoError(t, err)
	assert.Empty(t, writes, "a converged schedule costs no writes")
	assert.Empty(t, events)
}

func TestScheduleReportsLastRunAndArgosCounters(t *testing.T) {
	f := newFixture(t, ociArtifactType(), scheduledArtifactWorkflow(arcv1.ConcurrencyAllow))
	_, _, err := f.sync()
	require.NoError(t, err)
	first := testNow.Add(-2 * time.Hour)
	second := testNow.Add(-time.Hour)
	f.startRun(first, wfv1.WorkflowFailed, "step copy failed: main: Error (exit code 1)")
	latest := f.startRun(second, wfv1.WorkflowRunning, "")
	f.setCronStatus(wfv1.CronWorkflowStatus{
		Active:            []corev1.ObjectReference{{Name: latest.Name, UID: latest.UID}},
		LastScheduledTime: &metav1.Time{Time: second},
		Succeeded:         4,
		Failed:            1,
	})

	_, _, err = f.sync()
	require.NoError(t, err)
	aw := f.artifactWorkflow()
	assert.Equal(t, latest.Name, aw.Status.WorkflowName, "the run scheduled last")
	assert.Equal(t, arcv1.WorkflowPhaseRunning, aw.Status.Phase)
	assert.Equal(t, aw.Spec.Run, aw.Status.Run, "a schedule never waits for a re-run")
	assert.Equal(t, &arcv1.ScheduleStatus{
		CronWorkflowName:  naming.CronWorkflow(awName),
		LastScheduledTime: &metav1.Time{Time: second},
		Active:            1,
		Succeeded:         4,
		Failed:            1,
	}, aw.Status.Schedule)

	// The last run fails: its message is reported, with a Warning.
	wf := latest.DeepCopy()
	wf.Status = wfv1.WorkflowStatus{Phase: wfv1.WorkflowFailed, Message: "step push failed: denied"}
	_, err = f.argo.ArgoprojV1alpha1().Workflows(ns).Update(context.Background(), wf, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.refreshCaches()
	_, events, err := f.sync()
	require.NoError(t, err)
	aw = f.artifactWorkflow()
	assert.Equal(t, arcv1.WorkflowPhaseFailed, aw.Status.Phase)
	assert.Equal(t, "step push failed: denied", aw.Status.Message)
	assert.Equal(t, []string{"Warning " + ReasonFailed}, controllertest.EventReasons(events))

	// Argo's history limit deletes it: what the status says of it stays.
	require.NoError(t, f.argo.ArgoprojV1alpha1().Workflows(ns).Delete(context.Background(), latest.Name, metav1.DeleteOptions{}))
	require.NoError(t, f.argo.ArgoprojV1alpha1().Workflows(ns).Delete(context.Background(), f.runName(first), metav1.DeleteOptions{}))
	f.refreshCaches()
	writes, _, err := f.sync()
	require.NoError(t, err)
	assert.Empty(t, writes)
	assert.Equal(t, latest.Name, f.artifactWorkflow().Status.WorkflowName)
}

func (f *fixture) runName(at time.Time) string {
	return naming.CronWorkflow(awName) + "-" + at.Format("150405")
}

func TestScheduleIgnoresRunsNotOfItsCronWorkflow(t *testing.T) {
	f := newFixture(t, ociArtifactType(), scheduledArtifactWorkflow(arcv1.ConcurrencyAllow))
	_, _, err := f.sync()
	require.NoError(t, err)
	// A Workflow with the right labels, but not controlled by the
	// CronWorkflow: someone copied the labels.
	forged := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{
		Name: "forged", Namespace: ns,
		Labels: map[string]string{
			arcv1.LabelManagedBy: arcv1.ManagedByValue, arcv1.LabelArtifactWorkflow: awName,
			"workflows.argoproj.io/cron-workflow": naming.CronWorkflow(awName),
		},
		Annotations: map[string]string{"workflows.argoproj.io/scheduled-time": testNow.Format(time.RFC3339)},
	}, Status: wfv1.WorkflowStatus{Phase: wfv1.WorkflowFailed, Message: "forged"}}
	_, err = f.argo.ArgoprojV1alpha1().Workflows(ns).Create(context.Background(), forged, metav1.CreateOptions{})
	require.NoError(t, err)
	f.refreshCaches()
	_, _, err = f.sync()
	require.NoError(t, err)
	aw := f.artifactWorkflow()
	assert.Equal(t, arcv1.WorkflowPhasePending, aw.Status.Phase)
	assert.Empty(t, aw.Status.WorkflowName)
}

func TestScheduleChangesInPlace(t *testing.T) {
	tests := []struct {
		name   string
		change func(f *fixture)
		check  func(t *testing.T, cwf *wfv1.CronWorkflow, aw *arcv1.ArtifactWorkflow)
	}{
		{
			name: "a new schedule and policy",
			change: func(f *fixture) {
				f.updateArtifactWorkflowSpec(func(s *arcv1.ArtifactWorkflowSpec) {
					s.Cron = &arcv1.Cron{Schedules: []string{"0 4 * * 1"}, Timezone: "Asia/Tokyo", ConcurrencyPolicy: arcv1.ConcurrencyReplace}
				})
			},
			check: func(t *testing.T, cwf *wfv1.CronWorkflow, _ *arcv1.ArtifactWorkflow) {
				assert.Equal(t, []string{"0 4 * * 1"}, cwf.Spec.Schedules)
				assert.Equal(t, "Asia/Tokyo", cwf.Spec.Timezone)
				assert.Equal(t, wfv1.ReplaceConcurrent, cwf.Spec.ConcurrencyPolicy)
			},
		},
		{
			name: "a starting deadline removed is removed",
			change: func(f *fixture) {
				f.updateArtifactWorkflowSpec(func(s *arcv1.ArtifactWorkflowSpec) { s.Cron.StartingDeadlineSeconds = nil })
			},
			check: func(t *testing.T, cwf *wfv1.CronWorkflow, _ *arcv1.ArtifactWorkflow) {
				assert.Nil(t, cwf.Spec.StartingDeadlineSeconds)
			},
		},
		{
			name:   "the Order suspended suspends the schedule",
			change: func(f *fixture) { f.updateOrder(func(o *arcv1.Order) { o.Spec.Suspend = true }) },
			check: func(t *testing.T, cwf *wfv1.CronWorkflow, aw *arcv1.ArtifactWorkflow) {
				assert.True(t, cwf.Spec.Suspend)
				assert.True(t, aw.Status.Schedule.Suspended)
				assert.Equal(t, ReasonSuspended, meta.FindStatusCondition(aw.Status.Conditions, arcv1.ConditionReady).Reason)
				assert.Contains(t, aw.Status.Message, "suspended")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aw := scheduledArtifactWorkflow(arcv1.ConcurrencyForbid)
			deadline := int64(600)
			aw.Spec.Cron.StartingDeadlineSeconds = &deadline
			f := newFixture(t, ociArtifactType(), aw)
			_, _, err := f.sync()
			require.NoError(t, err)
			before := f.cronWorkflow()
			// Argo's counters must survive the change.
			f.setCronStatus(wfv1.CronWorkflowStatus{Succeeded: 7, Failed: 2})
			tt.change(f)

			writes, events, err := f.sync()
			require.NoError(t, err)
			cronName := naming.CronWorkflow(awName)
			assert.Equal(t, []string{
				"patch cronworkflows " + ns + "/" + cronName,
				"update artifactworkflows/status " + ns + "/" + awName,
			}, writes, "patched in place, never created anew")
			assert.Equal(t, []string{"Normal " + ReasonCronWorkflowUpdated}, controllertest.EventReasons(events))
			after := f.cronWorkflow()
			assert.Equal(t, before.UID, after.UID)
			assert.Equal(t, int64(7), after.Status.Succeeded, "the patch leaves Argo's status alone")
			tt.check(t, after, f.artifactWorkflow())
			assert.Equal(t, int64(7), f.artifactWorkflow().Status.Schedule.Succeeded)
		})
	}
}

func TestScheduleResumesWhenOrderResumes(t *testing.T) {
	order := alpineOrder()
	order.Spec.Suspend = true
	f := newFixture(t, ociArtifactType(), order, scheduledArtifactWorkflow(arcv1.ConcurrencyAllow))
	_, _, err := f.sync()
	require.NoError(t, err)
	assert.True(t, f.cronWorkflow().Spec.Suspend, "created suspended")
	f.updateOrder(func(o *arcv1.Order) { o.Spec.Suspend = false })
	_, _, err = f.sync()
	require.NoError(t, err)
	assert.False(t, f.cronWorkflow().Spec.Suspend)
	assert.False(t, f.artifactWorkflow().Status.Schedule.Suspended)
}

func TestScheduleReportsWhatArgoRefuses(t *testing.T) {
	tests := []struct {
		name string
		cond wfv1.Condition
	}{
		{name: "a spec Argo refuses", cond: wfv1.Condition{Type: wfv1.ConditionTypeSpecError, Status: metav1.ConditionTrue, Message: "cannot validate Workflow: templates.main: not found"}},
		{name: "a run Argo could not start", cond: wfv1.Condition{Type: wfv1.ConditionTypeSubmissionError, Status: metav1.ConditionTrue, Message: "Failed to submit Workflow: forbidden"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, ociArtifactType(), scheduledArtifactWorkflow(arcv1.ConcurrencyAllow))
			_, _, err := f.sync()
			require.NoError(t, err)
			f.setCronStatus(wfv1.CronWorkflowStatus{Conditions: wfv1.Conditions{tt.cond}})
			_, events, err := f.sync()
			require.NoError(t, err)
			aw := f.artifactWorkflow()
			assert.Equal(t, arcv1.WorkflowPhaseError, aw.Status.Phase)
			assert.Equal(t, "Argo cannot run the schedule: "+tt.cond.Message, aw.Status.Message)
			assert.Equal(t, []string{"Warning " + ReasonScheduleRejected}, controllertest.EventReasons(events))
		})
	}
}

func TestScheduleBadInput(t *testing.T) {
	tests := []struct {
		name       string
		objects    func() []runtime.Object
		wantReason string
		wantMsg    string
	}{
		{
			name:       "type gone",
			objects:    func() []runtime.Object { return []runtime.Object{scheduledArtifactWorkflow("")} },
			wantReason: ReasonTypeNotFound,
			wantMsg:    `no ArtifactType "oci"`,
		},
		{
			name: "a CronWorkflow of the name that is not ARC's",
			objects: func() []runtime.Object {
				return []runtime.Object{ociArtifactType(), scheduledArtifactWorkflow(""), &wfv1.CronWorkflow{ObjectMeta: metav1.ObjectMeta{
					Name: naming.CronWorkflow(awName), Namespace: ns, Labels: map[string]string{arcv1.LabelManagedBy: arcv1.ManagedByValue},
				}}}
			},
			wantReason: ReasonWorkflowConflict,
			wantMsg:    "a CronWorkflow named",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.objects()...)
			writes, events, err := f.sync()
			require.NoError(t, err, "bad input is reported, not retried")
			assert.NotContains(t, writes, "create cronworkflows "+ns+"/"+naming.CronWorkflow(awName))
			aw := f.artifactWorkflow()
			assert.Contains(t, aw.Status.Message, tt.wantMsg)
			assert.Equal(t, []string{"Warning " + tt.wantReason}, controllertest.EventReasons(events))
			_, events, err = f.sync()
			require.NoError(t, err)
			assert.Empty(t, events, "reported once")
		})
	}
}

func TestScheduleRemoved(t *testing.T) {
	tests := []struct {
		name      string
		lastPhase wfv1.WorkflowPhase
		// wantOneOff says whether the artifact then runs once.
		wantOneOff bool
		wantPhase  arcv1.WorkflowPhase
	}{
		{name: "after a run succeeded the result stays", lastPhase: wfv1.WorkflowSucceeded, wantPhase: arcv1.WorkflowPhaseSucceeded},
		{name: "after a run failed the result stays", lastPhase: wfv1.WorkflowFailed, wantPhase: arcv1.WorkflowPhaseFailed},
		{name: "before any run finished the artifact runs once", lastPhase: wfv1.WorkflowRunning, wantOneOff: true, wantPhase: arcv1.WorkflowPhasePending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, ociArtifactType(), scheduledArtifactWorkflow(arcv1.ConcurrencyAllow))
			_, _, err := f.sync()
			require.NoError(t, err)
			f.startRun(testNow.Add(-time.Hour), tt.lastPhase, "")
			_, _, err = f.sync()
			require.NoError(t, err)
			f.updateArtifactWorkflowSpec(func(s *arcv1.ArtifactWorkflowSpec) { s.Cron = nil })

			writes, _, err := f.sync()
			require.NoError(t, err)
			assert.Contains(t, writes, "delete cronworkflows "+ns+"/"+naming.CronWorkflow(awName))
			aw := f.artifactWorkflow()
			assert.Nil(t, aw.Status.Schedule)
			assert.Empty(t, aw.Status.WorkflowName)

			writes, _, err = f.sync()
			require.NoError(t, err)
			if tt.wantOneOff {
				assert.Contains(t, writes, "create workflows "+ns+"/"+awName)
			} else {
				assert.NotContains(t, writes, "create workflows "+ns+"/"+awName, "finished work never runs again by itself")
			}
			assert.Equal(t, tt.wantPhase, f.artifactWorkflow().Status.Phase)
		})
	}
}

func TestRunsOfCronWorkflowsQueueTheirArtifactWorkflow(t *testing.T) {
	f := newFixture(t, ociArtifactType(), scheduledArtifactWorkflow(arcv1.ConcurrencyAllow))
	_, _, err := f.sync()
	require.NoError(t, err)
	run := f.startRun(testNow, wfv1.WorkflowRunning, "")
	controllertest.Drain(f.ctrl.queue)
	f.ctrl.enqueueOwner(controller.CacheWorkflow(run))
	f.ctrl.enqueueOwner(f.cronWorkflow())
	require.Equal(t, 1, f.ctrl.queue.Len(), "both lead to the one ArtifactWorkflow")
	key, _ := f.ctrl.queue.Get()
	assert.Equal(t, cache.ObjectName{Namespace: ns, Name: awName}, key)
}

func TestScheduledWorkDoesNotCompeteForLimits(t *testing.T) {
	f := newFixture(t, ociArtifactType(), scheduledArtifactWorkflow(arcv1.ConcurrencyAllow))
	aw := f.artifactWorkflow()
	aw.Status.Conditions = []metav1.Condition{{Type: arcv1.ConditionReady, Status: metav1.ConditionFalse, Reason: ReasonWaiting}}
	assert.False(t, f.ctrl.waitingToStart(controller.CacheArtifactWorkflow(aw)), "Argo starts scheduled runs; they never wait for a slot")
}

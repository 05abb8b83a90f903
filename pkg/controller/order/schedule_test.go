package order

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller/controllertest"
)

func daily() *arcv1.Cron {
	return &arcv1.Cron{Schedules: []string{"0 3 * * *"}, ConcurrencyPolicy: arcv1.ConcurrencyForbid}
}

func scheduledArtifact(t *testing.T, image string, cron *arcv1.Cron) arcv1.OrderArtifact {
	return arcv1.OrderArtifact{Type: "oci", Spec: rawSpec(t, map[string]any{"image": image}), Cron: cron}
}

// setScheduledRun sets the status of a scheduled ArtifactWorkflow as its
// controller would after its last run reached phase.
func (f *fixture) setScheduledRun(name string, phase arcv1.WorkflowPhase) {
	f.t.Helper()
	ctx := context.Background()
	aw, err := f.client.ArcV1alpha1().ArtifactWorkflows(ns).Get(ctx, name, metav1.GetOptions{})
	require.NoError(f.t, err)
	aw.Status.Phase, aw.Status.Run, aw.Status.WorkflowName = phase, aw.Spec.Run, name+"-1793530800"
	aw.Status.Schedule = &arcv1.ScheduleStatus{CronWorkflowName: name, Succeeded: 1}
	_, err = f.client.ArcV1alpha1().ArtifactWorkflows(ns).UpdateStatus(ctx, aw, metav1.UpdateOptions{})
	require.NoError(f.t, err)
	f.refreshCaches()
}

func TestScheduleReachesTheArtifactWorkflow(t *testing.T) {
	tests := []struct {
		name     string
		defaults *arcv1.Cron
		own      *arcv1.Cron
		want     *arcv1.Cron
	}{
		{name: "no schedule runs once", want: nil},
		{name: "the Order's default applies", defaults: daily(), want: daily()},
		{name: "the artifact's own schedule", own: daily(), want: daily()},
		{
			name:     "the artifact's own replaces the default as a whole",
			defaults: &arcv1.Cron{Schedules: []string{"0 1 * * *"}, Timezone: "Asia/Tokyo", StartingDeadlineSeconds: ptr.To[int64](60)},
			own:      daily(),
			want:     daily(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrder("o", scheduledArtifact(t, "alpine:3.18", tt.own))
			o.Spec.Defaults.Cron = tt.defaults
			f := newFixture(t, o, dockerhub(), internal(), secret("dst-reg-secret"))
			_, _, err := f.sync("o")
			require.NoError(t, err)
			aws := f.artifactWorkflows()
			require.Len(t, aws, 1)
			assert.Equal(t, tt.want, aws[0].Spec.Cron)
		})
	}
}

func TestInvalidScheduleBlocksOnlyItsArtifact(t *testing.T) {
	tests := []struct {
		name    string
		cron    *arcv1.Cron
		wantMsg string
	}{
		{name: "not a cron expression", cron: &arcv1.Cron{Schedules: []string{"every day"}}, wantMsg: `cron.schedules[0] "every day": not a cron expression`},
		{name: "unknown time zone", cron: &arcv1.Cron{Schedules: []string{"0 3 * * *"}, Timezone: "Europe/Atlantis"}, wantMsg: `cron.timezone "Europe/Atlantis" is not a time zone`},
		{name: "more often than the minimum", cron: &arcv1.Cron{Schedules: []string{"*/5 * * * *"}}, wantMsg: "run 5m0s apart (at "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrder("o", scheduledArtifact(t, "alpine:3.18", daily()), scheduledArtifact(t, "busybox:1.36", tt.cron))
			f := newFixture(t, o, dockerhub(), internal(), secret("dst-reg-secret"))
			_, events, err := f.sync("o")
			require.NoError(t, err, "bad input is reported, not retried")
			status := f.order("o").Status
			require.Len(t, status.UnresolvedArtifacts, 1)
			u := status.UnresolvedArtifacts[0]
			assert.Equal(t, int32(1), u.ArtifactIndex)
			assert.Equal(t, ReasonInvalidSchedule, u.Reason)
			assert.Contains(t, u.Message, tt.wantMsg)
			assert.Equal(t, []string{"Normal Created", "Warning " + ReasonInvalidSchedule}, controllertest.EventReasons(events))
			assert.Len(t, f.artifactWorkflows(), 1, "the other artifact goes on")
			assert.Equal(t, int32(1), status.Scheduled)

			_, events, err = f.sync("o")
			require.NoError(t, err)
			assert.Empty(t, events, "reported once")
		})
	}
}

func TestMinScheduleIntervalOption(t *testing.T) {
	o := newOrder("o", scheduledArtifact(t, "alpine:3.18", &arcv1.Cron{Schedules: []string{"* * * * *"}}))
	f := newFixtureWithOptions(t, []Option{WithMinScheduleInterval(time.Minute)}, o, dockerhub(), internal(), secret("dst-reg-secret"))
	_, _, err := f.sync("o")
	require.NoError(t, err)
	assert.Empty(t, f.order("o").Status.UnresolvedArtifacts)
	assert.Len(t, f.artifactWorkflows(), 1)
}

func TestScheduleIsNotPartOfTheIdentity(t *testing.T) {
	o := newOrder("o", scheduledArtifact(t, "alpine:3.18", daily()))
	f := newFixture(t, o, dockerhub(), internal(), secret("dst-reg-secret"))
	_, _, err := f.sync("o")
	require.NoError(t, err)
	before := f.artifactWorkflows()
	require.Len(t, before, 1)

	o = f.order("o")
	o.Spec.Artifacts[0].Cron = &arcv1.Cron{Schedules: []string{"0 4 * * 1"}, ConcurrencyPolicy: arcv1.ConcurrencyReplace}
	f.updateOrder(o)
	writes, _, err := f.sync("o")
	require.NoError(t, err)
	assert.Contains(t, writes, "update artifactworkflows "+ns+"/"+before[0].Name, "the schedule changes in place")
	after := f.artifactWorkflows()
	require.Len(t, after, 1)
	assert.Equal(t, before[0].Name, after[0].Name)
	assert.Equal(t, []string{"0 4 * * 1"}, after[0].Spec.Cron.Schedules)

	// Removing it keeps the ArtifactWorkflow too: its last result stays.
	o = f.order("o")
	o.Spec.Artifacts[0].Cron = nil
	f.updateOrder(o)
	_, _, err = f.sync("o")
	require.NoError(t, err)
	after = f.artifactWorkflows()
	require.Len(t, after, 1)
	assert.Equal(t, before[0].Name, after[0].Name)
	assert.Nil(t, after[0].Spec.Cron)
}

func TestScheduledOrderStatus(t *testing.T) {
	tests := []struct {
		name string
		// phases of the one-off and the scheduled artifact's last run;
		// "" for the scheduled one means no run yet.
		oneOff, scheduled arcv1.WorkflowPhase
		suspend           bool
		wantPhase         arcv1.OrderPhase
		wantCounts        [4]int32 // pending, running, succeeded, failed
		wantReady         metav1.ConditionStatus
		wantReason        string
	}{
		{name: "before the first run it is Active and pending", oneOff: arcv1.WorkflowPhaseSucceeded,
			wantPhase: arcv1.OrderPhaseActive, wantCounts: [4]int32{1, 0, 1, 0}, wantReady: metav1.ConditionTrue, wantReason: ReasonScheduled},
		{name: "a run in progress counts as running", oneOff: arcv1.WorkflowPhaseSucceeded, scheduled: arcv1.WorkflowPhaseRunning,
			wantPhase: arcv1.OrderPhaseActive, wantCounts: [4]int32{0, 1, 1, 0}, wantReady: metav1.ConditionTrue, wantReason: ReasonScheduled},
		{name: "every artifact succeeded is still Active, never Succeeded", oneOff: arcv1.WorkflowPhaseSucceeded, scheduled: arcv1.WorkflowPhaseSucceeded,
			wantPhase: arcv1.OrderPhaseActive, wantCounts: [4]int32{0, 0, 2, 0}, wantReady: metav1.ConditionTrue, wantReason: ReasonScheduled},
		{name: "a failed last run fails the Order", oneOff: arcv1.WorkflowPhaseSucceeded, scheduled: arcv1.WorkflowPhaseFailed,
			wantPhase: arcv1.OrderPhaseFailed, wantCounts: [4]int32{0, 0, 1, 1}, wantReady: metav1.ConditionFalse, wantReason: ReasonFailed},
		{name: "suspended it says its schedules are paused", oneOff: arcv1.WorkflowPhaseSucceeded, scheduled: arcv1.WorkflowPhaseSucceeded, suspend: true,
			wantPhase: arcv1.OrderPhaseActive, wantCounts: [4]int32{0, 0, 2, 0}, wantReady: metav1.ConditionFalse, wantReason: ReasonSuspended},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrder("o", alpineArtifact(t), scheduledArtifact(t, "busybox:1.36", daily()))
			o.Spec.Suspend = tt.suspend
			o.Spec.TTLSecondsAfterFinished = ptr.To[int32](0)
			f := newFixture(t, o, dockerhub(), internal(), secret("dst-reg-secret"))
			_, _, err := f.sync("o")
			require.NoError(t, err)
			for _, aw := range f.artifactWorkflows() {
				switch {
				case aw.Spec.Cron == nil:
					f.setRun(aw.Name, tt.oneOff)
				case tt.scheduled != "":
					f.setScheduledRun(aw.Name, tt.scheduled)
				}
			}
			writes, _, err := f.sync("o")
			require.NoError(t, err)
			assert.NotContains(t, writes, "delete orders "+ns+"/o", "a scheduled Order never finishes, so no TTL deletes it")
			st := f.order("o").Status
			assert.Equal(t, tt.wantPhase, st.Phase)
			assert.Equal(t, int32(1), st.Scheduled)
			assert.Equal(t, tt.wantCounts, [4]int32{st.Pending, st.Running, st.Succeeded, st.Failed})
			assert.Nil(t, st.CompletionTime, "a scheduled Order never finishes")
			ready := meta.FindStatusCondition(st.Conditions, arcv1.ConditionReady)
			require.NotNil(t, ready)
			assert.Equal(t, tt.wantReady, ready.Status)
			assert.Equal(t, tt.wantReason, ready.Reason)
		})
	}
}

func TestRerunRequestsLeaveSchedulesAlone(t *testing.T) {
	o := newOrder("o", alpineArtifact(t), scheduledArtifact(t, "busybox:1.36", daily()))
	f := newFixture(t, o, dockerhub(), internal(), secret("dst-reg-secret"))
	_, _, err := f.sync("o")
	require.NoError(t, err)
	for _, aw := range f.artifactWorkflows() {
		if aw.Spec.Cron == nil {
			f.setRun(aw.Name, arcv1.WorkflowPhaseSucceeded)
		} else {
			f.setScheduledRun(aw.Name, arcv1.WorkflowPhaseFailed)
		}
	}
	o = f.order("o")
	o.Annotations = map[string]string{arcv1.AnnotationForceAt: "2026-11-01T11:00:00Z"}
	f.updateOrder(o)
	_, _, err = f.sync("o")
	require.NoError(t, err)
	for _, aw := range f.artifactWorkflows() {
		if aw.Spec.Cron == nil {
			assert.Equal(t, int64(1), aw.Spec.Run, "the one-off artifact runs again")
		} else {
			assert.Equal(t, int64(0), aw.Spec.Run, "a schedule runs its artifact; a request does not")
		}
	}
	assert.NotNil(t, f.order("o").Status.LastForceAt, "the request is handled")
}

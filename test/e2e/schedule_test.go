//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/naming"
)

// scheduleTimeout bounds the waits for scheduled runs: Argo starts them at
// most once a minute, and a run of arc-e2e-hold takes 90 s.
const scheduleTimeout = 5 * time.Minute

// TestSchedules runs two scheduled artifacts on Argo's own CronWorkflow
// controller, every minute, with a step that takes 90 s, so that each run
// is still running when the next one is due:
//
//   - Forbid: the run due while the first runs is skipped, so the second run
//     starts only after the first finished, two minutes or more after it;
//   - Replace: the second run starts a minute after the first, and Argo
//     terminates the first, which ends Failed and is counted so.
//
// Beside them, artifacts with an invalid time zone and a schedule more
// frequent than the controller's minimum do not start and say why, without
// holding the others back. Then the Replace Order is suspended (no run
// while it is) and resumed (runs go on), and the Forbid Order's schedule is
// edited, which changes its CronWorkflow in place.
func TestSchedules(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sched")
	f.waitTimeout = scheduleTimeout
	f.createEndpoint("src", "oci", "src.example", arcv1.EndpointUsagePullOnly, "")
	f.createEndpoint("dst", "oci", "dst.example", arcv1.EndpointUsagePushOnly, "")
	f.createArtifactType("hold", simpleType(templateHold))

	everyMinute := func(policy arcv1.ConcurrencyPolicy) *arcv1.Cron {
		return &arcv1.Cron{Schedules: []string{"* * * * *"}, ConcurrencyPolicy: policy}
	}
	f.createOrder(&arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: "forbid"},
		Spec: arcv1.OrderSpec{
			Defaults: &arcv1.OrderDefaults{SrcRef: ref("src"), DstRef: ref("dst"), Cron: everyMinute(arcv1.ConcurrencyForbid)},
			Artifacts: []arcv1.OrderArtifact{
				{Type: "hold", Spec: rawSpec(`{"image":"a"}`)},
				{Type: "hold", Spec: rawSpec(`{"image":"b"}`), Cron: &arcv1.Cron{Schedules: []string{"0 3 * * *"}, Timezone: "Mars/Olympus_Mons"}},
				{Type: "hold", Spec: rawSpec(`{"image":"c"}`), Cron: &arcv1.Cron{Schedules: []string{"@every 30s"}}},
			},
		},
	})
	f.createOrder(&arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: "replace"},
		Spec: arcv1.OrderSpec{
			Defaults:  &arcv1.OrderDefaults{SrcRef: ref("src"), DstRef: ref("dst")},
			Artifacts: []arcv1.OrderArtifact{{Type: "hold", Spec: rawSpec(`{"image":"d"}`), Cron: everyMinute(arcv1.ConcurrencyReplace)}},
		},
	})

	forbid := f.waitOrder("forbid", "Active with one schedule and two bad ones", func(o *arcv1.Order) (bool, string) {
		return o.Status.Phase == arcv1.OrderPhaseActive && o.Status.Scheduled == 1 && len(o.Status.UnresolvedArtifacts) == 2, ""
	})
	assert.Nil(t, forbid.Status.CompletionTime, "a scheduled Order never finishes")
	badZone, _ := unresolved(forbid, 1)
	assert.Equal(t, "InvalidSchedule", badZone.Reason)
	assert.Contains(t, badZone.Message, `cron.timezone "Mars/Olympus_Mons" is not a time zone`)
	tooOften, _ := unresolved(forbid, 2)
	assert.Equal(t, "InvalidSchedule", tooOften.Reason)
	assert.Contains(t, tooOften.Message, "less than the minimum of 1m0s between two runs")
	f.waitEvent("Order", "forbid", "Warning", "InvalidSchedule")

	forbidAW := f.mustEntry(forbid, 0).Name
	forbidCron := naming.CronWorkflow(forbidAW)
	cwf, err := s.argo.ArgoprojV1alpha1().CronWorkflows(f.ns).Get(f.ctx(), forbidCron, metav1.GetOptions{})
	require.NoError(t, err, "the scheduled artifact's CronWorkflow")
	assert.Equal(t, wfv1.ForbidConcurrent, cwf.Spec.ConcurrencyPolicy)
	assert.Equal(t, []string{"* * * * *"}, cwf.Spec.Schedules)
	assert.NotNil(t, cwf.Spec.WorkflowSpec.WorkflowTemplateRef, "runs use the type's template")
	assert.Empty(t, cwf.Spec.WorkflowSpec.Templates, "runs carry no templates of their own")
	replaceOrder := f.waitOrder("replace", "one ArtifactWorkflow", func(o *arcv1.Order) (bool, string) {
		return len(o.Status.ArtifactWorkflows) == 1, ""
	})
	replaceAW := f.mustEntry(replaceOrder, 0).Name
	replaceCron := naming.CronWorkflow(replaceAW)

	// Forbid: two runs, the second after the first finished, with at least
	// one due time skipped between them.
	forbidRuns := f.waitRuns(forbidCron, 2)
	first, second := forbidRuns[0], forbidRuns[1]
	f.waitWorkflowPhase(first.Name, wfv1.WorkflowSucceeded)
	first = f.getWorkflow(first.Name)
	assert.False(t, scheduledAt(t, second).Before(first.Status.FinishedAt.Time),
		"Forbid: run %s (scheduled %s) started before run %s finished (%s)", second.Name, scheduledAt(t, second), first.Name, first.Status.FinishedAt)
	assert.GreaterOrEqual(t, scheduledAt(t, second).Sub(scheduledAt(t, first)), 2*time.Minute,
		"Forbid: the run due a minute after %s, while it ran, must have been skipped", first.Name)
	f.waitArtifactWorkflow(forbidAW, "reports the first run succeeded and the second as the last", func(aw *arcv1.ArtifactWorkflow) (bool, string, error) {
		sch := aw.Status.Schedule
		if sch == nil {
			return false, "no schedule status", nil
		}
		return sch.Succeeded >= 1 && sch.LastScheduledTime != nil && !sch.LastScheduledTime.Time.Before(scheduledAt(t, second)) &&
				aw.Status.WorkflowName != first.Name && aw.Status.WorkflowName != "",
			fmt.Sprintf("schedule=%+v workflow=%s", *sch, aw.Status.WorkflowName), nil
	})

	// Replace: the second run a minute after the first, which Argo
	// terminated; it ends Failed and counts as a failed run.
	replaceRuns := f.waitRuns(replaceCron, 2)
	assert.Equal(t, time.Minute, scheduledAt(t, replaceRuns[1]).Sub(scheduledAt(t, replaceRuns[0])),
		"Replace: the run due while %s ran must start", replaceRuns[0].Name)
	terminated := f.waitWorkflow(replaceRuns[0].Name, "terminated by Replace and Failed", func(wf *wfv1.Workflow) (bool, error) {
		if wf.Status.Phase == wfv1.WorkflowSucceeded {
			return false, fmt.Errorf("the replaced run succeeded: Argo did not terminate it")
		}
		return wf.Status.Phase == wfv1.WorkflowFailed, nil
	})
	assert.Equal(t, wfv1.ShutdownStrategyTerminate, terminated.Spec.Shutdown, "Replace terminates the running run")
	assert.Contains(t, terminated.Status.Message, "Stopped with strategy 'Terminate'")
	f.waitArtifactWorkflow(replaceAW, "counts the replaced run as failed", func(aw *arcv1.ArtifactWorkflow) (bool, string, error) {
		sch := aw.Status.Schedule
		if sch == nil {
			return false, "no schedule status", nil
		}
		return sch.Failed >= 1 && sch.Active >= 1, fmt.Sprintf("schedule=%+v", *sch), nil
	})
	replaceOrder = f.waitOrder("replace", "counts its scheduled artifact", func(o *arcv1.Order) (bool, string) {
		return o.Status.Scheduled == 1 && o.Status.CompletionTime == nil && o.Status.Phase != arcv1.OrderPhaseSucceeded, ""
	})

	// Suspend: the CronWorkflow is suspended, and no run starts while it is.
	f.setSuspend("replace", true)
	f.waitFor("CronWorkflow "+replaceCron+" suspended", scheduleTimeout, func(ctx context.Context) (bool, string, error) {
		c, err := s.argo.ArgoprojV1alpha1().CronWorkflows(f.ns).Get(ctx, replaceCron, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		return c.Spec.Suspend, fmt.Sprintf("suspend=%v", c.Spec.Suspend), nil
	})
	f.waitArtifactWorkflow(replaceAW, "reports the schedule suspended", func(aw *arcv1.ArtifactWorkflow) (bool, string, error) {
		return aw.Status.Schedule != nil && aw.Status.Schedule.Suspended, "", nil
	})
	f.waitOrder("replace", "Suspended condition", func(o *arcv1.Order) (bool, string) {
		c := conditionOf(o.Status.Conditions, arcv1.ConditionReady)
		return c != nil && c.Reason == "Suspended", fmt.Sprintf("ready=%+v", c)
	})
	// Argo sees the change through its informer within moments; the first
	// time due a few seconds from now must be skipped.
	suspendedAt := time.Now()
	due := suspendedAt.Add(5 * time.Second).Truncate(time.Minute).Add(time.Minute)
	pause := due.Add(20 * time.Second).Sub(suspendedAt)
	t.Logf("suspended at %s; waiting %s for the run due at %s to be skipped", suspendedAt.Format(time.RFC3339), pause.Round(time.Second), due.Format(time.RFC3339))
	select {
	case <-time.After(pause):
	case <-f.ctx().Done():
		t.Fatal("test context ended")
	}
	during := f.runs(replaceCron)
	for _, wf := range during {
		assert.Truef(t, scheduledAt(t, wf).Before(due), "run %s was scheduled at %s, while the Order was suspended", wf.Name, scheduledAt(t, wf))
	}

	// Resume: runs go on.
	f.setSuspend("replace", false)
	f.waitFor("a run of "+replaceCron+" after resuming", scheduleTimeout, func(ctx context.Context) (bool, string, error) {
		wfs := f.runs(replaceCron)
		return len(wfs) > 0 && scheduledAt(t, wfs[len(wfs)-1]).After(due), strings.Join(runNames(wfs), " "), nil
	})

	// Edit the schedule: the same ArtifactWorkflow and CronWorkflow, changed in place.
	forbid = f.getOrder("forbid")
	forbid.Spec.Defaults.Cron = &arcv1.Cron{Schedules: []string{"*/2 * * * *"}, ConcurrencyPolicy: arcv1.ConcurrencyForbid}
	_, err = s.arc.ArcV1alpha1().Orders(f.ns).Update(f.ctx(), forbid, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.waitFor("CronWorkflow "+forbidCron+" with the new schedule", scheduleTimeout, func(ctx context.Context) (bool, string, error) {
		c, err := s.argo.ArgoprojV1alpha1().CronWorkflows(f.ns).Get(ctx, forbidCron, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		if c.UID != cwf.UID {
			return false, "", fmt.Errorf("the CronWorkflow was replaced (uid %s, was %s), not changed in place", c.UID, cwf.UID)
		}
		return slices.Equal(c.Spec.Schedules, []string{"*/2 * * * *"}), fmt.Sprintf("schedules=%q", c.Spec.Schedules), nil
	})
	forbid = f.waitOrder("forbid", "still one ArtifactWorkflow", func(o *arcv1.Order) (bool, string) {
		return len(o.Status.ArtifactWorkflows) == 1, ""
	})
	assert.Equal(t, forbidAW, f.mustEntry(forbid, 0).Name, "a schedule is not part of the artifact's identity")
}

// runs lists the Workflows a CronWorkflow started, by scheduled time.
func (f *fixture) runs(cronName string) []wfv1.Workflow {
	f.t.Helper()
	list, err := s.argo.ArgoprojV1alpha1().Workflows(f.ns).List(f.ctx(), metav1.ListOptions{LabelSelector: "workflows.argoproj.io/cron-workflow=" + cronName})
	require.NoError(f.t, err)
	wfs := list.Items
	slices.SortFunc(wfs, func(a, b wfv1.Workflow) int { return scheduledAt(f.t, a).Compare(scheduledAt(f.t, b)) })
	return wfs
}

// waitRuns waits until a CronWorkflow started at least n runs and returns them.
func (f *fixture) waitRuns(cronName string, n int) []wfv1.Workflow {
	f.t.Helper()
	var wfs []wfv1.Workflow
	f.waitFor(fmt.Sprintf("%d runs of CronWorkflow %s", n, cronName), scheduleTimeout, func(ctx context.Context) (bool, string, error) {
		wfs = f.runs(cronName)
		var states []string
		for _, wf := range wfs {
			if wf.Labels[arcv1.LabelManagedBy] != arcv1.ManagedByValue || wf.Labels[arcv1.LabelArtifactWorkflow] == "" {
				return false, "", fmt.Errorf("run %s lacks ARC's labels: %v", wf.Name, wf.Labels)
			}
			states = append(states, fmt.Sprintf("%s=%s", wf.Name, wf.Status.Phase))
		}
		return len(wfs) >= n, strings.Join(states, " "), nil
	})
	return wfs
}

func runNames(wfs []wfv1.Workflow) []string {
	names := make([]string, len(wfs))
	for i := range wfs {
		names[i] = wfs[i].Name
	}
	return names
}

// scheduledAt is the time Argo started a run for.
func scheduledAt(t *testing.T, wf wfv1.Workflow) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, wf.Annotations["workflows.argoproj.io/scheduled-time"])
	require.NoError(t, err, "run %s has no scheduled time", wf.Name)
	return at
}

func (f *fixture) getWorkflow(name string) wfv1.Workflow {
	f.t.Helper()
	wf, err := s.argo.ArgoprojV1alpha1().Workflows(f.ns).Get(f.ctx(), name, metav1.GetOptions{})
	require.NoError(f.t, err)
	return *wf
}

func (f *fixture) getOrder(name string) *arcv1.Order {
	f.t.Helper()
	o, err := s.arc.ArcV1alpha1().Orders(f.ns).Get(f.ctx(), name, metav1.GetOptions{})
	require.NoError(f.t, err)
	return o
}

func (f *fixture) setSuspend(order string, suspend bool) {
	f.t.Helper()
	patch := fmt.Sprintf(`{"spec":{"suspend":%v}}`, suspend)
	_, err := s.arc.ArcV1alpha1().Orders(f.ns).Patch(f.ctx(), order, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	require.NoError(f.t, err)
}

// TestScheduleExample applies examples/schedules: the API server accepts
// it, and ARC makes a CronWorkflow per artifact with the example's
// schedules, time zones and policies.
func TestScheduleExample(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sched-example")
	f.setUpOCIEndpoints()
	f.createArtifactType("oci", ociType(templateOCI))
	applied := f.applyRepoFile("examples/schedules/order.yaml")
	require.Len(t, applied, 1)
	name := applied[0].GetName()
	order := f.waitOrder(name, "Active with two schedules", func(o *arcv1.Order) (bool, string) {
		return o.Status.Phase == arcv1.OrderPhaseActive && o.Status.Scheduled == 2 && len(o.Status.ArtifactWorkflows) == 2, ""
	})
	want := map[int32]wfv1.CronWorkflowSpec{
		0: {Schedules: []string{"30 2 * * *"}, Timezone: "Europe/Berlin", ConcurrencyPolicy: wfv1.ForbidConcurrent},
		1: {Schedules: []string{"0 */6 * * *", "0 12 * * 0"}, Timezone: "UTC", ConcurrencyPolicy: wfv1.ReplaceConcurrent},
	}
	for index, spec := range want {
		awName := f.mustEntry(order, index).Name
		aw := f.waitArtifactWorkflow(awName, "scheduled, no run yet", func(aw *arcv1.ArtifactWorkflow) (bool, string, error) {
			c := conditionOf(aw.Status.Conditions, arcv1.ConditionReady)
			return aw.Status.Schedule != nil && c != nil && c.Reason == "Scheduled", "", nil
		})
		cwf, err := s.argo.ArgoprojV1alpha1().CronWorkflows(f.ns).Get(f.ctx(), aw.Status.Schedule.CronWorkflowName, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, spec.Schedules, cwf.Spec.Schedules, "artifact %d", index)
		assert.Equal(t, spec.Timezone, cwf.Spec.Timezone, "artifact %d", index)
		assert.Equal(t, spec.ConcurrencyPolicy, cwf.Spec.ConcurrencyPolicy, "artifact %d", index)
	}
}

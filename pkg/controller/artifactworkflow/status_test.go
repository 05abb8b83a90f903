package artifactworkflow

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
)

// TestStatusUnchangedAgreesWithSemantic holds statusUnchanged to what
// writeStatus compared before it: equality.Semantic between the status and
// statusFor's. Each outcome's status is edited field by field; a field added
// to the status fails here until it has edits, and statusUnchanged compares it.
func TestStatusUnchangedAgreesWithSemantic(t *testing.T) {
	c := newFixture(t).ctrl
	started, finished := metav1.NewTime(testNow), metav1.NewTime(testNow.Add(time.Minute))
	later := metav1.NewTime(testNow.Add(time.Hour))
	inBerlin := metav1.NewTime(testNow.In(time.FixedZone("CET", 3600)))
	outcomes := map[string]syncOutcome{
		"running": {run: 2, workflowName: "wf-2", phase: arcv1.WorkflowPhaseRunning, message: "running",
			startedAt: &started, ready: metav1.ConditionFalse, reason: "Running"},
		"succeeded with results": {run: 2, workflowName: "wf-2", phase: arcv1.WorkflowPhaseSucceeded, startedAt: &started,
			finishedAt: &finished, ready: metav1.ConditionTrue, reason: "Succeeded", results: []arcv1.WorkflowResult{{Name: "digest", Value: "sha256:1"}}},
		"no Workflow, times kept": {phase: arcv1.WorkflowPhaseFailed, message: "bad type", ready: metav1.ConditionFalse,
			reason: "InvalidType", warning: true, keepTimes: true},
		"a message cut to the bound": {run: 2, workflowName: "wf-2", phase: arcv1.WorkflowPhaseFailed,
			message: strings.Repeat("x", 5000), ready: metav1.ConditionFalse, reason: "Failed"},
		"scheduled": {phase: arcv1.WorkflowPhaseRunning, ready: metav1.ConditionTrue, reason: "Scheduled",
			schedule: &arcv1.ScheduleStatus{CronWorkflowName: "cw", LastScheduledTime: &started, Active: 1, Succeeded: 2, Failed: 3}},
	}
	type edit = func(*arcv1.ArtifactWorkflow)
	scheduleEdits := map[string][]edit{
		"CronWorkflowName":  {func(a *arcv1.ArtifactWorkflow) { a.Status.Schedule.CronWorkflowName = "other" }},
		"LastScheduledTime": {func(a *arcv1.ArtifactWorkflow) { a.Status.Schedule.LastScheduledTime = &later }, func(a *arcv1.ArtifactWorkflow) { a.Status.Schedule.LastScheduledTime = nil }},
		"Active":            {func(a *arcv1.ArtifactWorkflow) { a.Status.Schedule.Active++ }},
		"Succeeded":         {func(a *arcv1.ArtifactWorkflow) { a.Status.Schedule.Succeeded++ }},
		"Failed":            {func(a *arcv1.ArtifactWorkflow) { a.Status.Schedule.Failed++ }},
		"Suspended":         {func(a *arcv1.ArtifactWorkflow) { a.Status.Schedule.Suspended = true }},
	}
	edits := map[string][]edit{
		"ObservedGeneration": {func(a *arcv1.ArtifactWorkflow) { a.Status.ObservedGeneration++ }, func(a *arcv1.ArtifactWorkflow) { a.Generation++ }},
		"Run":                {func(a *arcv1.ArtifactWorkflow) { a.Status.Run++ }, func(a *arcv1.ArtifactWorkflow) { a.Spec.Run++ }},
		"WorkflowName":       {func(a *arcv1.ArtifactWorkflow) { a.Status.WorkflowName = "other" }},
		"Phase":              {func(a *arcv1.ArtifactWorkflow) { a.Status.Phase = arcv1.WorkflowPhaseError }},
		"Message":            {func(a *arcv1.ArtifactWorkflow) { a.Status.Message += "!" }},
		"StartedAt": {
			func(a *arcv1.ArtifactWorkflow) { a.Status.StartedAt = nil },
			func(a *arcv1.ArtifactWorkflow) { a.Status.StartedAt = &later },
			func(a *arcv1.ArtifactWorkflow) { a.Status.StartedAt = &inBerlin },
		},
		"FinishedAt": {func(a *arcv1.ArtifactWorkflow) { a.Status.FinishedAt = nil }, func(a *arcv1.ArtifactWorkflow) { a.Status.FinishedAt = &later }},
		"Results": {
			func(a *arcv1.ArtifactWorkflow) { a.Status.Results = nil },
			func(a *arcv1.ArtifactWorkflow) { a.Status.Results = []arcv1.WorkflowResult{} },
			func(a *arcv1.ArtifactWorkflow) {
				a.Status.Results = append(a.Status.Results, arcv1.WorkflowResult{Name: "size", Value: "1"})
			},
			func(a *arcv1.ArtifactWorkflow) {
				if len(a.Status.Results) > 0 {
					a.Status.Results[0].Value = "sha256:2"
				}
			},
		},
		"Schedule": {
			func(a *arcv1.ArtifactWorkflow) { a.Status.Schedule = nil },
			func(a *arcv1.ArtifactWorkflow) { a.Status.Schedule = &arcv1.ScheduleStatus{} },
		},
		"Conditions": {
			func(a *arcv1.ArtifactWorkflow) { a.Status.Conditions = nil },
			func(a *arcv1.ArtifactWorkflow) { a.Status.Conditions[0].Status = metav1.ConditionUnknown },
			func(a *arcv1.ArtifactWorkflow) { a.Status.Conditions[0].Reason = "Other" },
			func(a *arcv1.ArtifactWorkflow) { a.Status.Conditions[0].Message += "!" },
			func(a *arcv1.ArtifactWorkflow) { a.Status.Conditions[0].ObservedGeneration++ },
			// statusFor keeps these: no change.
			func(a *arcv1.ArtifactWorkflow) { a.Status.Conditions[0].LastTransitionTime = later },
			func(a *arcv1.ArtifactWorkflow) {
				a.Status.Conditions = append(a.Status.Conditions, metav1.Condition{Type: "Other", Status: metav1.ConditionTrue})
			},
		},
	}
	requireEditsForEveryField(t, reflect.TypeFor[arcv1.ArtifactWorkflowStatus](), edits)
	requireEditsForEveryField(t, reflect.TypeFor[arcv1.ScheduleStatus](), scheduleEdits)
	for field, es := range scheduleEdits {
		for _, e := range es {
			edits["Schedule."+field] = append(edits["Schedule."+field], func(a *arcv1.ArtifactWorkflow) {
				if a.Status.Schedule != nil {
					e(a)
				}
			})
		}
	}
	for name, o := range outcomes {
		base := controller.CacheArtifactWorkflow(alpineArtifactWorkflow())
		base.Generation, base.Spec.Run = 3, 2
		base.Status = c.statusFor(base, o)
		require.True(t, c.statusUnchanged(base, o), "%s: statusFor's own status", name)
		changed := 0
		for field, es := range edits {
			for i, e := range es {
				aw := base.DeepCopyObject().(*controller.CachedArtifactWorkflow)
				e(&aw.ArtifactWorkflow)
				want := equality.Semantic.DeepEqual(aw.Status, c.statusFor(aw, o))
				assert.Equal(t, want, c.statusUnchanged(aw, o), "%s: %s, edit %d", name, field, i)
				if !want {
					changed++
				}
			}
		}
		assert.Positive(t, changed, "%s: no edit changed the status", name)
	}
}

func requireEditsForEveryField[E any](t *testing.T, typ reflect.Type, edits map[string]E) {
	t.Helper()
	for i := range typ.NumField() {
		require.Contains(t, edits, typ.Field(i).Name, "%s.%s has no edits: does statusUnchanged compare it?", typ.Name(), typ.Field(i).Name)
	}
}

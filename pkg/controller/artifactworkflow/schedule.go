package artifactworkflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/naming"
	"github.com/artifact-conduit/arc/pkg/schedule"
	"github.com/artifact-conduit/arc/pkg/workflowbuilder"
)

// Reasons of scheduled work.
const (
	// ReasonScheduled: the schedule is in place and has not run yet.
	ReasonScheduled = "Scheduled"
	// ReasonScheduleRejected: Argo's controller refuses the CronWorkflow or
	// could not start a run (its SpecError or SubmissionError condition).
	ReasonScheduleRejected = "ScheduleRejected"
	// ReasonScheduleRemoved: the artifact's schedule was removed.
	ReasonScheduleRemoved = "ScheduleRemoved"
	// ReasonCronWorkflowCreated and ReasonCronWorkflowUpdated are the
	// reasons of the Normal events of a CronWorkflow ARC created or changed.
	ReasonCronWorkflowCreated = "CronWorkflowCreated"
	ReasonCronWorkflowUpdated = "CronWorkflowUpdated"
)

// Argo's label and annotation on the Workflows a CronWorkflow starts.
const (
	labelCronWorkflow       = controller.LabelCronWorkflow
	annotationScheduledTime = controller.AnnotationScheduledTime
)

// cronWorkflowKind is the kind of the controller of scheduled runs.
var cronWorkflowKind = wfv1.SchemeGroupVersion.WithKind("CronWorkflow").GroupKind()

// syncSchedule keeps the CronWorkflow of scheduled work (spec.cron) in
// line with the ArtifactWorkflow and its Order, and reports the schedule
// and its last run. Argo's CronWorkflow controller starts the runs; ARC
// neither starts nor holds them back, so the Order's parallelism and the
// Endpoints' maxConcurrentWorkflows do not apply to them (concurrencyPolicy
// does). A changed schedule or a suspended Order changes the CronWorkflow
// in place: its counters and the runs it started stay.
func (c *Controller) syncSchedule(ctx context.Context, aw *controller.CachedArtifactWorkflow, order *arcv1.Order) error {
	key := cache.MetaObjectToName(aw)
	cwf, outcome, err := c.ensureCronWorkflow(ctx, aw, order)
	if err != nil {
		return err
	}
	if cwf != nil {
		outcome = c.scheduleOutcome(aw, order, cwf)
	}
	if err := c.writeStatus(ctx, aw, outcome); err != nil {
		return err
	}
	if outcome.recheckAfter > 0 {
		c.queue.AddAfter(key, outcome.recheckAfter)
	}
	// Workflows of runs before the artifact had a schedule are not
	// described by the status any more.
	return c.releaseWorkflows(ctx, key, nil)
}

// ensureCronWorkflow creates or corrects the CronWorkflow and returns it.
// When there is none to report on, it returns the outcome that says why
// (bad input, a name taken, the API server refusing); an error means an
// API call failed and the sync is retried.
func (c *Controller) ensureCronWorkflow(ctx context.Context, aw *controller.CachedArtifactWorkflow, order *arcv1.Order) (*wfv1.CronWorkflow, syncOutcome, error) {
	t, err := c.types.Resolve(aw.Namespace, aw.Spec.Type)
	var typeErr *controller.TypeError
	if errors.As(err, &typeErr) {
		return nil, c.unscheduled(aw, invalid(typeErr.Reason, err)), nil
	}
	if err != nil {
		return nil, syncOutcome{}, err
	}
	if violation := checkRules(aw, t.TypeRef); violation != "" {
		return nil, c.unscheduled(aw, invalid(ReasonRuleViolation, errors.New(violation))), nil
	}
	desired, err := workflowbuilder.BuildCron(aw.Restored(), t.TypeRef, order.Spec.Suspend)
	if err != nil {
		return nil, c.unscheduled(aw, invalid(ReasonInvalidWorkflow, fmt.Errorf("cannot build the CronWorkflow: %w", err))), nil
	}
	if size := workflowParameterBytes(&wfv1.Workflow{Spec: desired.Spec.WorkflowSpec}); size > c.maxParameterBytes {
		return nil, c.unscheduled(aw, invalid(ReasonTooLarge, fmt.Errorf("the Workflow's parameters take %d bytes, more than the %d allowed", size, c.maxParameterBytes))), nil
	}
	existing, err := c.cronWorkflows.CronWorkflows(aw.Namespace).Get(desired.Name)
	if apierrors.IsNotFound(err) {
		created, err := c.argo.ArgoprojV1alpha1().CronWorkflows(aw.Namespace).Create(ctx, desired, metav1.CreateOptions{})
		switch {
		case apierrors.IsAlreadyExists(err):
			existing, err = c.argo.ArgoprojV1alpha1().CronWorkflows(aw.Namespace).Get(ctx, desired.Name, metav1.GetOptions{})
			if err != nil {
				return nil, syncOutcome{}, fmt.Errorf("reading existing CronWorkflow %s: %w", desired.Name, err)
			}
		case controller.RefusedByAPIServer(err):
			return nil, c.unscheduled(aw, refused("CronWorkflow "+desired.Name, err)), nil
		case err != nil:
			return nil, syncOutcome{}, fmt.Errorf("creating CronWorkflow %s: %w", desired.Name, err)
		default:
			klog.FromContext(ctx).V(2).Info("Created CronWorkflow", "cronWorkflow", klog.KObj(created))
			c.recorder.Eventf(aw, corev1.EventTypeNormal, ReasonCronWorkflowCreated, "Created CronWorkflow %s: %s", created.Name, schedule.Describe(aw.Spec.Cron))
			return created, syncOutcome{}, nil
		}
	} else if err != nil {
		return nil, syncOutcome{}, err
	}
	if !controller.IsControlledBy(existing, aw) {
		o := c.unscheduled(aw, conflictNamed("CronWorkflow", existing.Name))
		return nil, o, nil
	}
	if sameJSON(existing.Spec, desired.Spec) {
		return existing, syncOutcome{}, nil
	}
	updated, err := c.replaceCronSpec(ctx, existing, desired.Spec)
	if err != nil {
		return nil, syncOutcome{}, err
	}
	klog.FromContext(ctx).V(2).Info("Updated CronWorkflow", "cronWorkflow", klog.KObj(updated), "suspend", desired.Spec.Suspend)
	c.recorder.Eventf(aw, corev1.EventTypeNormal, ReasonCronWorkflowUpdated, "Updated CronWorkflow %s: %s%s", updated.Name, schedule.Describe(aw.Spec.Cron), suspendedNote(desired.Spec.Suspend))
	return updated, syncOutcome{}, nil
}

func suspendedNote(suspended bool) string {
	if suspended {
		return " (suspended)"
	}
	return ""
}

// replaceCronSpec replaces the CronWorkflow's spec with one JSON patch and
// leaves its status alone: Argo's controller keeps the counters and the
// runs in progress there, and CronWorkflows have no status subresource, so
// an update of the whole (cached) object could set them back.
func (c *Controller) replaceCronSpec(ctx context.Context, existing *wfv1.CronWorkflow, spec wfv1.CronWorkflowSpec) (*wfv1.CronWorkflow, error) {
	patch, err := json.Marshal([]map[string]any{
		{"op": "test", "path": "/metadata/uid", "value": existing.UID},
		{"op": "replace", "path": "/spec", "value": spec},
	})
	if err != nil {
		return nil, err
	}
	updated, err := c.argo.ArgoprojV1alpha1().CronWorkflows(existing.Namespace).Patch(ctx, existing.Name, types.JSONPatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return nil, fmt.Errorf("updating CronWorkflow %s: %w", existing.Name, err)
	}
	return updated, nil
}

// sameJSON compares two values as their JSON, which is what the API server
// stores: nil and empty lists and maps are the same there.
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// unscheduled is an outcome without a CronWorkflow to report on: it keeps
// what the status said of the schedule and of the last run, and says why.
func (c *Controller) unscheduled(aw *controller.CachedArtifactWorkflow, o syncOutcome) syncOutcome {
	o.schedule = aw.Status.Schedule.DeepCopy()
	if o.schedule == nil {
		o.schedule = &arcv1.ScheduleStatus{CronWorkflowName: naming.CronWorkflow(aw.Name)}
	}
	o.run = aw.Spec.Run
	return o
}

// scheduleOutcome is the status of scheduled work: the CronWorkflow's
// counters and last scheduled time, and the phase, message, times and
// results of its last run. Before the first run the phase is Pending.
func (c *Controller) scheduleOutcome(aw *controller.CachedArtifactWorkflow, order *arcv1.Order, cwf *wfv1.CronWorkflow) syncOutcome {
	sched := &arcv1.ScheduleStatus{
		CronWorkflowName:  cwf.Name,
		LastScheduledTime: cwf.Status.LastScheduledTime.DeepCopy(),
		Active:            int32(len(cwf.Status.Active)),
		Succeeded:         cwf.Status.Succeeded,
		Failed:            cwf.Status.Failed,
		Suspended:         order.Spec.Suspend,
	}
	var o syncOutcome
	last := c.lastRun(aw, cwf)
	switch {
	case last != nil:
		o = mirror(last, aw.Spec.Run)
	case aw.Status.Schedule != nil && aw.Status.WorkflowName != "":
		// The last run is gone (Argo's history limit, or deleted by
		// someone): what the status says of it stays.
		o = syncOutcome{workflowName: aw.Status.WorkflowName, phase: aw.Status.Phase, message: aw.Status.Message,
			keepTimes: true, ready: metav1.ConditionFalse, reason: ReasonScheduled}
		if cond := readyCondition(aw); cond != nil {
			o.ready, o.reason = cond.Status, cond.Reason
		}
	default:
		o = syncOutcome{phase: arcv1.WorkflowPhasePending, ready: metav1.ConditionFalse, reason: ReasonScheduled,
			message: fmt.Sprintf("scheduled (%s); no run yet", schedule.Describe(aw.Spec.Cron))}
		if order.Spec.Suspend {
			o.reason = ReasonSuspended
			o.message = fmt.Sprintf("Order %q is suspended (spec.suspend): its schedule is paused; no run yet", order.Name)
		}
	}
	o.run = aw.Spec.Run
	o.schedule = sched
	if problem := cronProblem(cwf); problem != "" {
		// Argo keeps the condition until a run starts again; a schedule it
		// refuses never runs. Either way the artifact is not being done.
		o.phase, o.reason, o.ready, o.warning = arcv1.WorkflowPhaseError, ReasonScheduleRejected, metav1.ConditionFalse, true
		o.message = "Argo cannot run the schedule: " + problem
	} else if order.Spec.Suspend && last != nil {
		o.message = joinMessage(o.message, fmt.Sprintf("schedule paused: Order %q is suspended (spec.suspend)", order.Name))
	}
	return o
}

func joinMessage(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func readyCondition(aw *controller.CachedArtifactWorkflow) *metav1.Condition {
	for i := range aw.Status.Conditions {
		if aw.Status.Conditions[i].Type == arcv1.ConditionReady {
			return &aw.Status.Conditions[i]
		}
	}
	return nil
}

// cronProblem is what Argo's CronWorkflow conditions say is wrong: the spec
// is refused (SpecError) or the last run could not be started
// (SubmissionError). "" when neither is true.
func cronProblem(cwf *wfv1.CronWorkflow) string {
	for _, cond := range cwf.Status.Conditions {
		if (cond.Type == wfv1.ConditionTypeSpecError || cond.Type == wfv1.ConditionTypeSubmissionError) && cond.Status == metav1.ConditionTrue {
			return cond.Message
		}
	}
	return ""
}

// lastRun is the run of the CronWorkflow scheduled last, from the cache:
// the Workflows Argo started for it carry ARC's labels (from
// spec.workflowMetadata) and are controlled by the CronWorkflow.
func (c *Controller) lastRun(aw *controller.CachedArtifactWorkflow, cwf *wfv1.CronWorkflow) *controller.CachedWorkflow {
	wfs, err := c.workflowsOf(cache.MetaObjectToName(aw))
	if err != nil {
		return nil
	}
	wfs = slices.DeleteFunc(wfs, func(wf *controller.CachedWorkflow) bool {
		return wf.CronWorkflow != cwf.Name || !controller.IsControlledBy(wf, cwf)
	})
	if len(wfs) == 0 {
		return nil
	}
	return slices.MaxFunc(wfs, func(a, b *controller.CachedWorkflow) int {
		if c := scheduledTime(a).Compare(scheduledTime(b)); c != 0 {
			return c
		}
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
}

// scheduledTime is the time Argo started a run for, from its annotation,
// else its creation time.
func scheduledTime(wf *controller.CachedWorkflow) time.Time {
	if t, err := time.Parse(time.RFC3339, wf.ScheduledTime); err == nil {
		return t
	}
	return wf.CreationTimestamp.Time
}

// syncScheduleRemoved ends the schedule of work whose artifact lost its
// cron: the CronWorkflow goes (the garbage collector takes its runs), and
// the status keeps the result of the last run if it finished. Work whose
// schedule never finished a run becomes one-off work that runs once.
func (c *Controller) syncScheduleRemoved(ctx context.Context, aw *controller.CachedArtifactWorkflow) error {
	name := aw.Status.Schedule.CronWorkflowName
	if name == "" {
		name = naming.CronWorkflow(aw.Name)
	}
	if cwf, err := c.cronWorkflows.CronWorkflows(aw.Namespace).Get(name); err == nil && controller.IsControlledBy(cwf, aw) {
		uid := cwf.UID
		err := c.argo.ArgoprojV1alpha1().CronWorkflows(aw.Namespace).Delete(ctx, name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &uid},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("deleting CronWorkflow %s: %w", name, err)
		}
		klog.FromContext(ctx).V(2).Info("Deleted CronWorkflow of a removed schedule", "cronWorkflow", klog.KObj(cwf))
	} else if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	o := syncOutcome{run: aw.Spec.Run, ready: metav1.ConditionFalse, reason: ReasonScheduleRemoved,
		message: "the schedule was removed before a run finished: the artifact runs once"}
	if aw.Status.Phase.Finished() {
		o.phase, o.keepTimes = aw.Status.Phase, true
		o.message = fmt.Sprintf("the schedule was removed; its last run %s", aw.Status.Phase)
		if aw.Status.Phase == arcv1.WorkflowPhaseSucceeded {
			o.ready = metav1.ConditionTrue
		}
	}
	if err := c.writeStatus(ctx, aw, o); err != nil {
		return err
	}
	// Our own status write does not queue the ArtifactWorkflow again; the
	// one-off path takes over from here.
	c.queue.Add(cache.MetaObjectToName(aw))
	return nil
}

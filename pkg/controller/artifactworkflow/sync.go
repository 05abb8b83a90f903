package artifactworkflow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/metrics"
	"github.com/artifact-conduit/arc/pkg/naming"
	"github.com/artifact-conduit/arc/pkg/workflowbuilder"
)

// Reasons of the Ready condition and of events.
const (
	ReasonTypeNotFound     = controller.ReasonTypeNotFound
	ReasonUntrusted        = "Untrusted"
	ReasonTooLarge         = "ParametersTooLarge"
	ReasonRuleViolation    = "RuleViolation"
	ReasonInvalidWorkflow  = "InvalidWorkflow"
	ReasonWorkflowConflict = "WorkflowConflict"
	ReasonWorkflowRefused  = "WorkflowRefused"
	ReasonWorkflowDeleted  = "WorkflowDeleted"
	ReasonPending          = "WorkflowPending"
	ReasonRunning          = "WorkflowRunning"
	ReasonSucceeded        = "WorkflowSucceeded"
	ReasonFailed           = "WorkflowFailed"
	ReasonError            = "WorkflowError"
	ReasonWaiting          = "WaitingForLimit"
	ReasonSuspended        = "Suspended"
)

// conflictRecheck is how long to wait before looking again at a Workflow of
// the wanted name that ARC does not control. It is not watched (it lacks
// ARC's labels, or belongs to an earlier ArtifactWorkflow the garbage
// collector is about to remove), so a slow poll replaces the event.
const conflictRecheck = 30 * time.Second

// waitingRecheck is how often work waiting for a concurrency limit looks
// again, besides the events of Workflows that finish: a safety net for
// changes no handler maps to it.
const waitingRecheck = 15 * time.Second

// sync makes sure the ArtifactWorkflow's current run has its Workflow and
// mirrors the Workflow's progress into its status.
//
// Finished work never runs again by itself: once the status records a
// finished phase for the current run, nothing but a new run (spec.run, which
// only a re-run request of the Order raises) creates another Workflow,
// whatever happens to the spec or the Workflow. A run asked for while the
// previous one still runs starts once that one finished.
func (c *Controller) sync(ctx context.Context, key cache.ObjectName) error {
	aw, err := c.artifactWorkflows.Get(key.Namespace, key.Name)
	if apierrors.IsNotFound(err) {
		// The garbage collector removes the Workflows of a deleted
		// ArtifactWorkflow; they may wait for ARC's finalizer.
		return c.releaseWorkflows(ctx, key, nil)
	}
	if err != nil {
		return err
	}
	if aw.DeletionTimestamp != nil {
		return c.releaseWorkflows(ctx, key, nil)
	}
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "artifactWorkflow", klog.KObj(aw))
	ctx = klog.NewContext(ctx, logger)
	if c.ownWrites.Stale(key, aw.ResourceVersion) {
		// The cache holds the version our last status write replaced; the
		// update handler queues the ArtifactWorkflow again when it catches up.
		logger.V(4).Info("Cache behind our own status write; waiting for it")
		return nil
	}

	order, why, untrusted := c.ownedByLiveOrder(aw)
	if untrusted != nil {
		return c.writeStatus(ctx, aw, *untrusted)
	}
	if order == nil {
		logger.V(2).Info("Skipping ArtifactWorkflow", "reason", why)
		return nil
	}

	if aw.Spec.Cron != nil {
		return c.syncSchedule(ctx, aw, order)
	}
	if aw.Status.Schedule != nil {
		return c.syncScheduleRemoved(ctx, aw)
	}

	want := naming.Workflow(aw.Name, aw.Spec.Run)
	prev := aw.Status.WorkflowName
	if prev != "" && prev != want && !aw.Status.Phase.Finished() {
		return c.syncPreviousRun(ctx, aw, prev)
	}

	wf, err := c.findWorkflow(ctx, aw, want)
	if err != nil {
		return err
	}
	thisRun := aw.Status.Run == aw.Spec.Run && (prev == want || prev == "")
	var outcome syncOutcome
	// created is the Workflow of the current run the outcome mirrors.
	var created *controller.CachedWorkflow
	switch {
	case wf != nil && !controller.IsControlledBy(wf, aw):
		outcome = conflict(wf)
	case wf != nil:
		outcome = mirror(wf, aw.Spec.Run)
		created = wf
	case thisRun && aw.Status.Phase.Finished():
		// The Workflow is gone (a TTL, or someone deleted it) but the
		// result is known: keep it, and never run the work again.
		return c.releaseWorkflows(ctx, key, aw)
	case thisRun && aw.Status.Phase != arcv1.WorkflowPhaseUnknown && (prev == want || aw.Status.Phase == arcv1.WorkflowPhaseRunning):
		outcome = vanished(aw)
	default:
		if outcome, created, err = c.startRun(ctx, aw, order, want); err != nil {
			return err
		}
	}
	if awaitsArgo(aw, created, outcome) {
		return nil
	}
	if err := c.writeStatus(ctx, aw, outcome); err != nil {
		return err
	}
	if outcome.recheckAfter > 0 {
		c.queue.AddAfter(key, outcome.recheckAfter)
	}
	if wf != nil && controller.IsControlledBy(wf, aw) {
		if err := c.cleanUp(ctx, aw, wf); err != nil {
			return err
		}
	}
	return c.releaseWorkflows(ctx, key, aw)
}

// syncPreviousRun mirrors the Workflow of an earlier run that has not
// finished although a new run is asked for: running work finishes with what
// it started with. Once it finished, the ArtifactWorkflow is synced again to
// start the new run.
func (c *Controller) syncPreviousRun(ctx context.Context, aw *controller.CachedArtifactWorkflow, name string) error {
	wf, err := c.findWorkflow(ctx, aw, name)
	if err != nil {
		return err
	}
	var outcome syncOutcome
	if wf != nil && controller.IsControlledBy(wf, aw) {
		outcome = mirror(wf, aw.Status.Run)
	} else {
		outcome = vanished(aw)
	}
	if err := c.writeStatus(ctx, aw, outcome); err != nil {
		return err
	}
	if outcome.phase.Finished() {
		c.queue.Add(cache.MetaObjectToName(aw))
	}
	if wf != nil && controller.IsControlledBy(wf, aw) {
		return c.cleanUp(ctx, aw, wf)
	}
	return nil
}

// startRun creates the Workflow of the current run, unless the Order is
// suspended or a concurrency limit has no free slot: then the outcome says
// what the run waits for.
func (c *Controller) startRun(ctx context.Context, aw *controller.CachedArtifactWorkflow, order *arcv1.Order, name string) (syncOutcome, *controller.CachedWorkflow, error) {
	if order.Spec.Suspend {
		return waiting(aw, ReasonSuspended, fmt.Sprintf("Order %q is suspended (spec.suspend); the Workflow is created once it is resumed", order.Name), 0), nil, nil
	}
	limits, err := c.limitsOf(aw, order)
	if err != nil {
		return syncOutcome{}, nil, err
	}
	wfKey := cache.ObjectName{Namespace: aw.Namespace, Name: name}
	ok, why, err := c.admit(aw, limits, wfKey)
	if err != nil {
		return syncOutcome{}, nil, err
	}
	if !ok {
		return waiting(aw, ReasonWaiting, why, waitingRecheck), nil, nil
	}
	outcome, created, err := c.createWorkflow(ctx, aw, name)
	if err != nil || outcome.workflowName == "" {
		// No Workflow came of it: the slot is free again.
		c.admission.release(wfKey)
	}
	return outcome, created, err
}

// awaitsArgo tells whether the status write of outcome waits for Argo: the
// first Workflow of an ArtifactWorkflow whose status is still empty, which
// Argo has not started. Argo's controller usually starts a Workflow within
// a second, and the Running phase is then the first status write: a
// Pending status in between would cost a write per artifact that nobody
// sees, and while Argo is down or far behind, a write per artifact when
// the cluster can least afford it. The Workflow's start event syncs the
// ArtifactWorkflow again. Should Argo not start it, the Order says so, in
// one status write for all its artifacts (see the Order controller's
// notStartedByArgo).
func awaitsArgo(aw *controller.CachedArtifactWorkflow, wf *controller.CachedWorkflow, o syncOutcome) bool {
	return wf != nil && wf.Status.Phase == "" && wf.DeletionTimestamp == nil && o.reason == ReasonPending &&
		aw.Status.Phase == arcv1.WorkflowPhaseUnknown && aw.Status.WorkflowName == "" && len(aw.Status.Conditions) == 0
}

// ownedByLiveOrder returns the Order, when one that exists, is not being
// deleted and lists aw in its status controls aw. ARC acts only on such ArtifactWorkflows: the Order
// controller made them from checked Endpoints, Secrets and types, while one
// written by hand could name any Secret of the namespace.
//
// An ArtifactWorkflow without an Order as controller gets the outcome
// untrusted, reported once. One whose Order is gone or going is normal during
// deletion (the garbage collector removes it) and is skipped quietly.
func (c *Controller) ownedByLiveOrder(aw *controller.CachedArtifactWorkflow) (owner *arcv1.Order, why string, untrusted *syncOutcome) {
	ownerName, uid, ok := controller.ControllerOf(aw, orderKind)
	if !ok {
		o := invalid(ReasonUntrusted, errors.New("ARC acts only on ArtifactWorkflows that an Order controls; this one has no Order as its controller, so no Workflow is created for it: create an Order instead"))
		return nil, "", &o
	}
	order, err := c.orders.Orders(ownerName.Namespace).Get(ownerName.Name)
	if err != nil || string(order.UID) != uid || order.DeletionTimestamp != nil {
		return nil, "its Order is gone or going; the garbage collector removes it", nil
	}
	// Its Order's status must list it too. Anyone allowed to create
	// ArtifactWorkflows can copy an Order's UID into an owner reference, but
	// only ARC writes Order status, and it lists exactly the ArtifactWorkflows
	// the Order controller made. One not listed yet is waited for quietly:
	// the Order's status update queues it (enqueueListedBy).
	if !listedBy(order, aw.StatusKey(), aw.Name) {
		return nil, "its Order's status does not list it yet", nil
	}
	return order, "", nil
}

// listedBy tells whether the Order's status lists the ArtifactWorkflow
// name. The Order controller files each entry under the ArtifactWorkflow's
// StatusKey, so the entry under key answers at once; only a name not filed
// there (not listed yet, or its hash label changed since) is looked for
// among all entries. A scan for every sync would cost each resync of a
// 1,000-artifact Order half a million name comparisons.
func listedBy(order *arcv1.Order, key, name string) bool {
	if e, ok := order.Status.ArtifactWorkflows[key]; ok && e.Name == name {
		return true
	}
	for _, e := range order.Status.ArtifactWorkflows {
		if e.Name == name {
			return true
		}
	}
	return false
}

// findWorkflow returns the Workflow of the given name, or nil. When the
// cache has none although the ArtifactWorkflow reported one before, it asks
// the API server: a cache that lags must not turn a running Workflow into a
// lost one.
func (c *Controller) findWorkflow(ctx context.Context, aw *controller.CachedArtifactWorkflow, name string) (*controller.CachedWorkflow, error) {
	wf, err := c.workflows.Get(aw.Namespace, name)
	if err == nil {
		return wf, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, err
	}
	if aw.Status.Phase == arcv1.WorkflowPhaseUnknown || aw.Status.Phase.Finished() ||
		(aw.Status.WorkflowName != name && !(aw.Status.WorkflowName == "" && name == aw.Name)) {
		return nil, nil
	}
	live, err := c.argo.ArgoprojV1alpha1().Workflows(aw.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading Workflow %s: %w", name, err)
	}
	return controller.CacheWorkflow(live), nil
}

// syncOutcome is what one sync found: the status to write, a Warning to
// emit if that status is new, and when to look again.
type syncOutcome struct {
	// run and workflowName say which run and Workflow the status describes;
	// an empty workflowName means the current run has no Workflow.
	run          int64
	workflowName string
	phase        arcv1.WorkflowPhase
	message      string
	startedAt    *metav1.Time
	finishedAt   *metav1.Time
	ready        metav1.ConditionStatus
	reason       string
	// warning, when set, is emitted as a Warning event if the status changes.
	warning bool
	// keepTimes keeps the times and results already in the status (for
	// outcomes without a Workflow).
	keepTimes bool
	// results are the Workflow's global output parameters.
	results []arcv1.WorkflowResult
	// recheckAfter, when set, syncs the ArtifactWorkflow again after that
	// long: for waiting on something no informer reports.
	recheckAfter time.Duration
	// schedule is the state of the schedule of scheduled work; nil for
	// one-off work.
	schedule *arcv1.ScheduleStatus
}

// createWorkflow resolves the type, checks its rules and creates the
// Workflow. Bad input gives an outcome to report; an error means an API
// call failed and the sync is retried.
//
// The Workflow it returns is the one of this run it created or found.
// No event is emitted for a new Workflow: the ArtifactWorkflow's status
// names it once Argo starts it, and an event per artifact would cost an API
// write per artifact (the Order's event names the ArtifactWorkflows it made).
func (c *Controller) createWorkflow(ctx context.Context, aw *controller.CachedArtifactWorkflow, name string) (syncOutcome, *controller.CachedWorkflow, error) {
	t, err := c.types.Resolve(aw.Namespace, aw.Spec.Type)
	var typeErr *controller.TypeError
	if errors.As(err, &typeErr) {
		return invalid(typeErr.Reason, err), nil, nil
	}
	if err != nil {
		return syncOutcome{}, nil, err
	}
	if violation := checkRules(aw, t.TypeRef); violation != "" {
		return invalid(ReasonRuleViolation, errors.New(violation)), nil, nil
	}
	desired, err := workflowbuilder.Build(aw.Restored(), t.TypeRef)
	if err != nil {
		return invalid(ReasonInvalidWorkflow, fmt.Errorf("cannot build the Workflow: %w", err)), nil, nil
	}
	if size := workflowParameterBytes(desired); size > c.maxParameterBytes {
		return invalid(ReasonTooLarge, fmt.Errorf("the Workflow's parameters take %d bytes, more than the %d allowed", size, c.maxParameterBytes)), nil, nil
	}
	created, err := c.argo.ArgoprojV1alpha1().Workflows(aw.Namespace).Create(ctx, desired, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		live, getErr := c.argo.ArgoprojV1alpha1().Workflows(aw.Namespace).Get(ctx, name, metav1.GetOptions{})
		if getErr != nil {
			return syncOutcome{}, nil, fmt.Errorf("reading existing Workflow %s: %w", name, getErr)
		}
		existing := controller.CacheWorkflow(live)
		if !controller.IsControlledBy(existing, aw) {
			return conflict(existing), nil, nil
		}
		return mirror(existing, aw.Spec.Run), existing, nil
	}
	if controller.RefusedByAPIServer(err) {
		return refused("Workflow "+name, err), nil, nil
	}
	if err != nil {
		return syncOutcome{}, nil, fmt.Errorf("creating Workflow %s: %w", name, err)
	}
	klog.FromContext(ctx).V(2).Info("Created Workflow", "workflow", klog.KObj(created), "template", desired.Spec.WorkflowTemplateRef.Name)
	kept := controller.CacheWorkflow(created)
	return mirror(kept, aw.Spec.Run), kept, nil
}

// checkRules returns why the ArtifactWorkflow's endpoint types break the
// type's rules, or "" when they do not. An empty rule list accepts any type.
func checkRules(aw *controller.CachedArtifactWorkflow, t workflowbuilder.TypeRef) string {
	var violations []string
	check := func(direction, param string, accepted []string) {
		if len(accepted) == 0 {
			return
		}
		got := parameterValue(aw.Spec.Parameters, param)
		if !slices.Contains(accepted, got) {
			violations = append(violations, fmt.Sprintf("%s Endpoint type %q is not accepted by type %q (accepts: %s)",
				direction, got, aw.Spec.Type, strings.Join(accepted, ", ")))
		}
	}
	check("source", "srcType", t.Spec.Rules.SrcTypes)
	check("destination", "dstType", t.Spec.Rules.DstTypes)
	return strings.Join(violations, "; ")
}

func parameterValue(params []arcv1.Parameter, name string) string {
	for _, p := range params {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// invalid is the outcome for bad input: reported, not retried; the
// ArtifactWorkflow is synced again when its type appears or changes.
func invalid(reason string, err error) syncOutcome {
	return syncOutcome{
		message: err.Error(),
		ready:   metav1.ConditionFalse,
		reason:  reason,
		warning: true,
	}
}

// conflict is the outcome when a Workflow of the wanted name is not ARC's to touch.
func conflict(wf *controller.CachedWorkflow) syncOutcome {
	return conflictNamed("Workflow", wf.Name)
}

// conflictNamed is the outcome when an object of the wanted kind and name
// is not ARC's to touch.
func conflictNamed(kind, name string) syncOutcome {
	msg := fmt.Sprintf("a %s named %q exists and is not controlled by this ArtifactWorkflow; ARC leaves it alone and creates its own once it is gone", kind, name)
	return syncOutcome{
		message: msg,
		ready:   metav1.ConditionFalse,
		reason:  ReasonWorkflowConflict,
		warning: true,
		// The foreign Workflow is not watched: look again later.
		recheckAfter: conflictRecheck,
	}
}

// refused is the outcome when the API server refused to create what (a
// Workflow or a CronWorkflow, by name): the ArtifactWorkflow says why and
// tries again later, as a quota may free up.
func refused(what string, err error) syncOutcome {
	return syncOutcome{
		message:      fmt.Sprintf("the API server refused to create %s: %v; ARC tries again every %s", what, err, controller.RefusedRecheck),
		ready:        metav1.ConditionFalse,
		reason:       ReasonWorkflowRefused,
		warning:      true,
		recheckAfter: controller.RefusedRecheck,
	}
}

// vanished is the outcome when the Workflow disappeared before it finished.
func vanished(aw *controller.CachedArtifactWorkflow) syncOutcome {
	name := aw.Status.WorkflowName
	if name == "" {
		name = aw.Name
	}
	return syncOutcome{
		run:          aw.Status.Run,
		workflowName: name,
		phase:        arcv1.WorkflowPhaseError,
		message:      fmt.Sprintf("Workflow %s was deleted before it finished (last phase %s)", name, aw.Status.Phase),
		ready:        metav1.ConditionFalse,
		reason:       ReasonWorkflowDeleted,
		warning:      true,
		keepTimes:    true,
	}
}

// workflowParameterBytes is the size of a Workflow's parameters, names and values.
func workflowParameterBytes(wf *wfv1.Workflow) int {
	n := 0
	for _, p := range wf.Spec.Arguments.Parameters {
		n += len(p.Name)
		if p.Value != nil {
			n += len(p.Value.String())
		}
	}
	return n
}

// waiting is the outcome of a run that may not start yet: Pending, saying why.
func waiting(aw *controller.CachedArtifactWorkflow, reason, message string, recheck time.Duration) syncOutcome {
	return syncOutcome{
		run:          aw.Spec.Run,
		phase:        arcv1.WorkflowPhasePending,
		message:      message,
		ready:        metav1.ConditionFalse,
		reason:       reason,
		recheckAfter: recheck,
	}
}

// mirror is the outcome that copies the progress of the Workflow of run.
func mirror(wf *controller.CachedWorkflow, run int64) syncOutcome {
	o := syncOutcome{
		run:          run,
		workflowName: wf.Name,
		phase:        mirroredPhase(wf.Status.Phase),
		message:      wf.Status.Message,
		startedAt:    timeOrNil(wf.Status.StartedAt),
		finishedAt:   timeOrNil(wf.Status.FinishedAt),
		results:      workflowResults(wf),
		ready:        metav1.ConditionFalse,
	}
	switch o.phase {
	case arcv1.WorkflowPhaseSucceeded:
		o.ready, o.reason = metav1.ConditionTrue, ReasonSucceeded
	case arcv1.WorkflowPhaseFailed:
		o.reason, o.warning = ReasonFailed, true
	case arcv1.WorkflowPhaseError:
		o.reason, o.warning = ReasonError, true
	case arcv1.WorkflowPhaseRunning:
		o.reason = ReasonRunning
	default:
		o.reason = ReasonPending
		if o.message == "" {
			o.message = "Workflow created; waiting for Argo Workflows to start it"
		}
	}
	return o
}

// mirroredPhase maps Argo's workflow phase onto ARC's. Argo leaves the phase
// empty until its controller has seen the Workflow: that is Pending to us.
func mirroredPhase(p wfv1.WorkflowPhase) arcv1.WorkflowPhase {
	switch p {
	case wfv1.WorkflowRunning:
		return arcv1.WorkflowPhaseRunning
	case wfv1.WorkflowSucceeded:
		return arcv1.WorkflowPhaseSucceeded
	case wfv1.WorkflowFailed:
		return arcv1.WorkflowPhaseFailed
	case wfv1.WorkflowError:
		return arcv1.WorkflowPhaseError
	default:
		return arcv1.WorkflowPhasePending
	}
}

// Bounds of the results an ArtifactWorkflow copies from its Workflow: a
// template decides what it outputs, and the status must stay small.
const (
	maxResults          = 16
	maxResultValueBytes = 1024
	maxResultNameBytes  = 128
)

// workflowResults are the Workflow's global output parameters, bounded in
// number and size, sorted by name.
func workflowResults(wf *controller.CachedWorkflow) []arcv1.WorkflowResult {
	if wf.Status.Outputs == nil {
		return nil
	}
	var results []arcv1.WorkflowResult
	for _, p := range wf.Status.Outputs.Parameters {
		if p.Value == nil || p.Name == "" || len(p.Name) > maxResultNameBytes {
			continue
		}
		results = append(results, arcv1.WorkflowResult{
			Name:  p.Name,
			Value: controller.TruncateMessage(p.Value.String(), maxResultValueBytes),
		})
	}
	slices.SortStableFunc(results, func(a, b arcv1.WorkflowResult) int { return strings.Compare(a.Name, b.Name) })
	results = slices.CompactFunc(results, func(a, b arcv1.WorkflowResult) bool { return a.Name == b.Name })
	if len(results) > maxResults {
		results = results[:maxResults]
	}
	return results
}

func timeOrNil(t metav1.Time) *metav1.Time {
	if t.IsZero() {
		return nil
	}
	return t.DeepCopy()
}

// writeStatus writes the status the outcome asks for, if it changed, and
// emits its Warning if the status is new. Only a failed write is an error:
// the sync is retried and reports again.
func (c *Controller) writeStatus(ctx context.Context, aw *controller.CachedArtifactWorkflow, o syncOutcome) error {
	// Most syncs change nothing; the wanted status is built only to write it.
	if c.statusUnchanged(aw, o) {
		return nil
	}
	status := c.statusFor(aw, o)
	updated := aw.DeepCopy()
	updated.Status = status
	if _, err := c.client.ArcV1alpha1().ArtifactWorkflows(aw.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("writing status: %w", err)
	}
	c.ownWrites.Wrote(cache.MetaObjectToName(aw), aw.ResourceVersion)
	klog.FromContext(ctx).V(2).Info("Wrote status", "phase", status.Phase, "reason", o.reason)
	if status.Phase.Finished() && !aw.Status.Phase.Finished() {
		// Once per run: only a re-run (a new Workflow) leaves a finished phase.
		metrics.ObserveArtifactCompleted(aw.Namespace, aw.Spec.Type, status.Phase, status.StartedAt, status.FinishedAt)
	}
	if o.warning && (aw.Status.Message != status.Message || aw.Status.Phase != status.Phase) {
		c.recorder.Event(aw, corev1.EventTypeWarning, o.reason, status.Message)
	}
	return nil
}

// statusUnchanged tells whether statusFor(aw, o) equals aw.Status, as
// equality.Semantic sees it, without building it: comparing field by field
// costs no allocation, where building and comparing by reflection cost about
// half of what a sync that changes nothing allocates.
// TestStatusUnchangedAgreesWithSemantic fails when the status gains a field
// this does not compare.
func (c *Controller) statusUnchanged(aw *controller.CachedArtifactWorkflow, o syncOutcome) bool {
	cur := &aw.Status
	run := o.run
	if o.workflowName == "" {
		run = aw.Spec.Run
	}
	startedAt, finishedAt, results := o.startedAt, o.finishedAt, o.results
	if o.keepTimes {
		startedAt, finishedAt, results = cur.StartedAt, cur.FinishedAt, cur.Results
	}
	message := controller.TruncateMessage(o.message, c.maxMessageBytes)
	return cur.ObservedGeneration == aw.Generation &&
		cur.Run == run &&
		cur.WorkflowName == o.workflowName &&
		cur.Phase == o.phase &&
		cur.Message == message &&
		sameTime(cur.StartedAt, startedAt) &&
		sameTime(cur.FinishedAt, finishedAt) &&
		slices.Equal(cur.Results, results) &&
		sameSchedule(cur.Schedule, o.schedule) &&
		readyUnchanged(cur.Conditions, o, message, aw.Generation)
}

// readyUnchanged tells whether setting the Ready condition of an outcome
// leaves conds as they are (see meta.SetStatusCondition).
func readyUnchanged(conds []metav1.Condition, o syncOutcome, message string, generation int64) bool {
	ready := meta.FindStatusCondition(conds, arcv1.ConditionReady)
	return ready != nil && ready.Status == o.ready && ready.Reason == o.reason &&
		ready.Message == message && ready.ObservedGeneration == generation
}

// sameTime compares optional times as equality.Semantic does: by instant,
// nil only equal to nil.
func sameTime(a, b *metav1.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.UTC() == b.UTC()
}

// sameSchedule compares schedule states as equality.Semantic does.
func sameSchedule(a, b *arcv1.ScheduleStatus) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.CronWorkflowName == b.CronWorkflowName && sameTime(a.LastScheduledTime, b.LastScheduledTime) &&
		a.Active == b.Active && a.Succeeded == b.Succeeded && a.Failed == b.Failed && a.Suspended == b.Suspended
}

// statusFor computes the status an outcome leads to, keeping the
// condition's transition time when its status does not change.
func (c *Controller) statusFor(aw *controller.CachedArtifactWorkflow, o syncOutcome) arcv1.ArtifactWorkflowStatus {
	o.message = controller.TruncateMessage(o.message, c.maxMessageBytes)
	if o.workflowName == "" {
		// No Workflow: the status speaks of the current run.
		o.run = aw.Spec.Run
	}
	status := arcv1.ArtifactWorkflowStatus{
		ObservedGeneration: aw.Generation,
		Run:                o.run,
		WorkflowName:       o.workflowName,
		Phase:              o.phase,
		Message:            o.message,
		StartedAt:          o.startedAt,
		FinishedAt:         o.finishedAt,
		Results:            o.results,
		Schedule:           o.schedule,
	}
	if o.keepTimes {
		status.StartedAt, status.FinishedAt = aw.Status.StartedAt, aw.Status.FinishedAt
		status.Results = aw.Status.Results
	}
	for i := range aw.Status.Conditions {
		status.Conditions = append(status.Conditions, *aw.Status.Conditions[i].DeepCopy())
	}
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{
		Type:               arcv1.ConditionReady,
		Status:             o.ready,
		Reason:             o.reason,
		Message:            o.message,
		ObservedGeneration: aw.Generation,
		LastTransitionTime: metav1.NewTime(c.clock.Now()),
	})
	return status
}

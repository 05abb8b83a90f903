package order

import (
	"fmt"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
)

// Reasons of the Order's Ready condition.
const (
	ReasonSucceeded  = "Succeeded"
	ReasonFailed     = "ArtifactsFailed"
	ReasonRunning    = "Running"
	ReasonPending    = "Pending"
	ReasonUnresolved = "ArtifactsUnresolved"
	ReasonSuspended  = "Suspended"
	ReasonScheduled  = "Scheduled"
)

// computeStatus derives the Order's status from what the sync left in
// place, with every message it copies cut to maxMessageBytes. It is a pure
// function of its arguments.
//
// Every artifact is counted once: by the phase of the ArtifactWorkflow that
// does its work, whether wanted or kept for an artifact that cannot be
// resolved right now, and as pending when it has none. So a finished Order
// stays finished when an Endpoint or Secret it used goes away, and the
// counters always add up to the total.
//
// An artifact that runs on a schedule counts by its last run (pending
// before the first, running while one runs) and in status.scheduled too. An
// Order with one is Active unless something failed, and never finishes:
// no completionTime, so spec.ttlSecondsAfterFinished never deletes it.
func computeStatus(order *arcv1.Order, r reconciled, now time.Time, maxMessageBytes int) arcv1.OrderStatus {
	maxMessageBytes = statusMessageBytes(len(order.Spec.Artifacts), maxMessageBytes)
	status := arcv1.OrderStatus{
		ObservedGeneration: order.Generation,
		Total:              int32(len(order.Spec.Artifacts)),
		Conditions:         copyConditions(order.Status.Conditions),
	}
	if len(r.active)+len(r.kept) > 0 {
		status.ArtifactWorkflows = make(map[string]arcv1.OrderArtifactWorkflowStatus, len(r.active)+len(r.kept))
	}
	for _, a := range r.active {
		entry := newEntry(a.want.name, a.want.indices, a.aw, r.notStarted, maxMessageBytes)
		status.ArtifactWorkflows[a.want.hash] = entry
		count(&status, entry.Phase, int32(len(a.want.indices)))
		if a.want.spec.Cron != nil {
			status.Scheduled += int32(len(a.want.indices))
		}
	}
	covered := map[int32]bool{}
	for _, k := range r.kept {
		entry := newEntry(k.aw.Name, k.indices, k.aw, r.notStarted, maxMessageBytes)
		status.ArtifactWorkflows[k.aw.StatusKey()] = entry
		count(&status, entry.Phase, int32(len(k.indices)))
		if k.aw.Spec.Cron != nil {
			// Its schedule goes on while its artifact cannot be resolved.
			status.Scheduled += int32(len(k.indices))
		}
		for _, i := range k.indices {
			covered[i] = true
		}
	}
	for _, u := range r.unresolved {
		entry := u.UnresolvedArtifact
		entry.Message = controller.TruncateMessage(entry.Message, maxMessageBytes)
		status.UnresolvedArtifacts = append(status.UnresolvedArtifacts, entry)
		if !covered[u.ArtifactIndex] {
			// An artifact that cannot start is waiting for a fix: pending.
			status.Pending++
		}
	}
	sort.Slice(status.UnresolvedArtifacts, func(i, j int) bool {
		return status.UnresolvedArtifacts[i].ArtifactIndex < status.UnresolvedArtifacts[j].ArtifactIndex
	})
	status.Phase = summaryPhase(&status)
	if status.Total > 0 && status.Pending == 0 && status.Running == 0 && status.Scheduled == 0 {
		// Finished: keep the first time it was seen so.
		status.CompletionTime = order.Status.CompletionTime.DeepCopy()
		if status.CompletionTime == nil {
			status.CompletionTime = &metav1.Time{Time: now}
		}
	}
	meta.SetStatusCondition(&status.Conditions, readyCondition(order, &status, now))
	return status
}

// statusMessageBudget bounds the messages of one Order's status together,
// so that an Order of arcv1.MaxArtifactsPerOrder artifacts that all failed
// with long messages stays far below etcd's object size limit of 1.5 MiB.
// The ArtifactWorkflows keep each message whole.
const statusMessageBudget = 256 << 10

// statusMessageBytes is the bound of each message in the status of an
// Order of n artifacts: maxMessageBytes while the budget allows, less for
// large Orders, never below controller.MinMaxMessageBytes. It depends on
// the Order's size only, so the same message is cut the same way in every
// sync and a Warning is not repeated.
func statusMessageBytes(n, maxMessageBytes int) int {
	return max(controller.MinMaxMessageBytes, min(maxMessageBytes, statusMessageBudget/max(1, n)))
}

// newEntry is the status entry of an ArtifactWorkflow serving the artifacts
// at indices; aw may be nil while it could not be created. notStarted names
// the Workflows Argo should have started and has not, by ArtifactWorkflow.
func newEntry(name string, indices []int32, aw *controller.CachedArtifactWorkflow, notStarted map[string]string, maxMessageBytes int) arcv1.OrderArtifactWorkflowStatus {
	entry := arcv1.OrderArtifactWorkflowStatus{Name: name, ArtifactIndex: indices[0]}
	if len(indices) > 1 {
		entry.DuplicateIndices = append([]int32(nil), indices[1:]...)
	}
	if aw != nil {
		entry.Phase, entry.Message = aw.Status.Phase, controller.TruncateMessage(aw.Status.Message, maxMessageBytes)
		if wf, late := notStarted[aw.Name]; late && entry.Phase == arcv1.WorkflowPhaseUnknown {
			entry.Phase, entry.Message = arcv1.WorkflowPhasePending, notStartedMessage(wf)
		}
		if aw.Spec.Run != aw.Status.Run && (entry.Phase.Finished() || entry.Phase == arcv1.WorkflowPhaseUnknown) {
			// A re-run is asked for and has not started: the artifact is
			// not finished any more.
			entry.Phase = arcv1.WorkflowPhasePending
			entry.Message = fmt.Sprintf("run %d asked for; waiting to start it", aw.Spec.Run)
		}
	}
	return entry
}

// count adds n artifacts in the given ArtifactWorkflow phase to the counters.
func count(status *arcv1.OrderStatus, phase arcv1.WorkflowPhase, n int32) {
	switch phase {
	case arcv1.WorkflowPhaseRunning:
		status.Running += n
	case arcv1.WorkflowPhaseSucceeded:
		status.Succeeded += n
	case arcv1.WorkflowPhaseFailed, arcv1.WorkflowPhaseError:
		status.Failed += n
	default:
		status.Pending += n
	}
}

// summaryPhase is Failed if any artifact failed, else Active if any runs on
// a schedule, else Succeeded if all succeeded, else Running if any runs,
// else Pending.
func summaryPhase(status *arcv1.OrderStatus) arcv1.OrderPhase {
	switch {
	case status.Failed > 0:
		return arcv1.OrderPhaseFailed
	case status.Scheduled > 0:
		return arcv1.OrderPhaseActive
	case status.Succeeded == status.Total:
		return arcv1.OrderPhaseSucceeded
	case status.Running > 0:
		return arcv1.OrderPhaseRunning
	default:
		return arcv1.OrderPhasePending
	}
}

func readyCondition(order *arcv1.Order, status *arcv1.OrderStatus, now time.Time) metav1.Condition {
	cond := metav1.Condition{
		Type:               arcv1.ConditionReady,
		Status:             metav1.ConditionFalse,
		ObservedGeneration: order.Generation,
		LastTransitionTime: metav1.NewTime(now),
	}
	progress := fmt.Sprintf("%d of %d artifacts succeeded", status.Succeeded, status.Total)
	switch {
	case status.Phase == arcv1.OrderPhaseSucceeded:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, ReasonSucceeded, "every artifact succeeded"
	case status.Failed > 0:
		cond.Reason, cond.Message = ReasonFailed, fmt.Sprintf("%s, %d failed", progress, status.Failed)
	case len(status.UnresolvedArtifacts) > 0:
		cond.Reason = ReasonUnresolved
		cond.Message = fmt.Sprintf("%s; %d cannot start yet, see status.unresolvedArtifacts", progress, len(status.UnresolvedArtifacts))
	case status.Phase == arcv1.OrderPhaseActive && order.Spec.Suspend:
		cond.Reason = ReasonSuspended
		cond.Message = fmt.Sprintf("%s, %d running; suspended: %d schedule(s) paused and %d artifact(s) wait until spec.suspend is false",
			progress, status.Running, status.Scheduled, status.Pending)
	case status.Phase == arcv1.OrderPhaseActive:
		// Schedules in place and nothing failed: what the Order asks for is
		// being done, run after run.
		cond.Status, cond.Reason = metav1.ConditionTrue, ReasonScheduled
		cond.Message = fmt.Sprintf("%d of %d artifacts run on a schedule; %s, %d running", status.Scheduled, status.Total, progress, status.Running)
	case order.Spec.Suspend && status.Pending > 0:
		cond.Reason = ReasonSuspended
		cond.Message = fmt.Sprintf("%s, %d running; suspended: %d wait until spec.suspend is false", progress, status.Running, status.Pending)
	case status.Running > 0:
		cond.Reason, cond.Message = ReasonRunning, fmt.Sprintf("%s, %d running", progress, status.Running)
	default:
		cond.Reason, cond.Message = ReasonPending, fmt.Sprintf("%s, %d pending", progress, status.Pending)
	}
	return cond
}

func copyConditions(in []metav1.Condition) []metav1.Condition {
	if in == nil {
		return nil
	}
	out := make([]metav1.Condition, len(in))
	for i := range in {
		in[i].DeepCopyInto(&out[i])
	}
	return out
}

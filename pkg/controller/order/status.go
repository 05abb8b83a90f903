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
)

// computeStatus derives the Order's status from the plan and the current
// ArtifactWorkflows, with every message it copies cut to maxMessageBytes. It
// is a pure function of its arguments.
func computeStatus(order *arcv1.Order, p *plan, current map[string]*arcv1.ArtifactWorkflow, now time.Time, maxMessageBytes int) arcv1.OrderStatus {
	status := arcv1.OrderStatus{
		ObservedGeneration: order.Generation,
		Total:              int32(len(order.Spec.Artifacts)),
		Conditions:         copyConditions(order.Status.Conditions),
	}
	if len(p.workflows)+len(p.retained) > 0 {
		status.ArtifactWorkflows = make(map[string]arcv1.OrderArtifactWorkflowStatus, len(p.workflows)+len(p.retained))
	}
	for _, w := range p.workflows {
		entry := arcv1.OrderArtifactWorkflowStatus{
			Name:          w.name,
			ArtifactIndex: w.indices[0],
		}
		if len(w.indices) > 1 {
			entry.DuplicateIndices = append([]int32(nil), w.indices[1:]...)
		}
		if aw := current[w.name]; aw != nil {
			entry.Phase, entry.Message = aw.Status.Phase, controller.TruncateMessage(aw.Status.Message, maxMessageBytes)
		}
		status.ArtifactWorkflows[w.hash] = entry
		count(&status, entry.Phase, int32(len(w.indices)))
	}
	for name, prev := range p.retained {
		entry := prev.status
		if aw := current[name]; aw != nil {
			entry.Phase, entry.Message = aw.Status.Phase, controller.TruncateMessage(aw.Status.Message, maxMessageBytes)
		}
		status.ArtifactWorkflows[prev.hash] = entry
	}
	if len(p.unresolved) > 0 {
		status.UnresolvedArtifacts = append([]arcv1.UnresolvedArtifact(nil), p.unresolved...)
		sort.Slice(status.UnresolvedArtifacts, func(i, j int) bool {
			return status.UnresolvedArtifacts[i].ArtifactIndex < status.UnresolvedArtifacts[j].ArtifactIndex
		})
		// An artifact that cannot start is waiting for a fix: pending.
		status.Pending += int32(len(p.unresolved))
	}
	status.Phase = summaryPhase(&status)
	meta.SetStatusCondition(&status.Conditions, readyCondition(&status, order.Generation, now))
	return status
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

// summaryPhase is Failed if any artifact failed, else Succeeded if all
// succeeded, else Running if any runs, else Pending.
func summaryPhase(status *arcv1.OrderStatus) arcv1.OrderPhase {
	switch {
	case status.Failed > 0:
		return arcv1.OrderPhaseFailed
	case status.Succeeded == status.Total:
		return arcv1.OrderPhaseSucceeded
	case status.Running > 0:
		return arcv1.OrderPhaseRunning
	default:
		return arcv1.OrderPhasePending
	}
}

func readyCondition(status *arcv1.OrderStatus, generation int64, now time.Time) metav1.Condition {
	cond := metav1.Condition{
		Type:               arcv1.ConditionReady,
		Status:             metav1.ConditionFalse,
		ObservedGeneration: generation,
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

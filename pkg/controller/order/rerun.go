package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
)

// Condition and reasons of re-run requests and of an Order's expiry.
const (
	// ConditionRerunRequest is False while a re-run annotation cannot be
	// read; it is absent otherwise.
	ConditionRerunRequest = "RerunRequest"
	// ReasonInvalidRerunRequest: a re-run annotation holds no time.
	ReasonInvalidRerunRequest = "InvalidRerunRequest"
	// ReasonRerun: a re-run request was carried out.
	ReasonRerun = "Rerun"
	// ReasonExpired: the Order is deleted after its ttlSecondsAfterFinished.
	ReasonExpired = "Expired"
)

// rerunRequest is one re-run annotation of an Order not carried out yet.
type rerunRequest struct {
	annotation string
	at         time.Time
	// all re-runs every artifact; otherwise only those whose last run failed.
	all bool
}

// parseRequestTime reads the value of a re-run annotation: Unix seconds, as
// `date +%s` prints them, or RFC 3339. Status fields keep seconds, so the
// time is cut to seconds: a request is later than the last one handled only
// if it is so in the status too.
func parseRequestTime(v string) (time.Time, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, err
	}
	return t.Truncate(time.Second).UTC(), nil
}

// pendingRerunRequests returns the Order's re-run requests later than the
// last one of their kind handled, earliest first, and a message for every
// annotation that holds no time.
func pendingRerunRequests(order *arcv1.Order) ([]rerunRequest, []string) {
	var reqs []rerunRequest
	var problems []string
	for _, kind := range []struct {
		annotation string
		last       *metav1.Time
		all        bool
	}{
		{arcv1.AnnotationForceAt, order.Status.LastForceAt, true},
		{arcv1.AnnotationRerunFailedAt, order.Status.LastRerunFailedAt, false},
	} {
		v, ok := order.Annotations[kind.annotation]
		if !ok {
			continue
		}
		at, err := parseRequestTime(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("annotation %s=%q is not a time: write RFC 3339 (2026-11-01T12:00:00Z) or Unix seconds (date +%%s)", kind.annotation, v))
			continue
		}
		if kind.last != nil && !at.After(kind.last.Time) {
			continue
		}
		reqs = append(reqs, rerunRequest{annotation: kind.annotation, at: at, all: kind.all})
	}
	slices.SortStableFunc(reqs, func(a, b rerunRequest) int { return a.at.Compare(b.at) })
	return reqs, problems
}

// handleRerunRequests carries out the earliest pending re-run request of the
// Order on its ArtifactWorkflows and returns it once every ArtifactWorkflow
// took it over. Each ArtifactWorkflow records the request it handled
// (spec.runRequestedAt), and the Order records it in its status only after
// all did, so a request is carried out exactly once even when the
// controller stops halfway: the next sync finishes the rest and skips what
// is done. complete says the sync reached every artifact; only then may the
// request count as handled.
//
// A request concerns the artifacts that resolve now. One that cannot is not
// re-run (status.unresolvedArtifacts says why); neither is work that did not
// start yet, which will run with what is current anyway.
func (c *Controller) handleRerunRequests(ctx context.Context, order *arcv1.Order, r *reconciled, complete bool) (*rerunRequest, error) {
	reqs, _ := pendingRerunRequests(order)
	if len(reqs) == 0 {
		return nil, nil
	}
	req := reqs[0]
	var errs []error
	rerun := 0
	for i := range r.active {
		aw := r.active[i].aw
		if aw == nil || (aw.Spec.RunRequestedAt != nil && !aw.Spec.RunRequestedAt.Time.Before(req.at)) {
			continue
		}
		patch := rerunPatch{RunRequestedAt: &metav1.Time{Time: req.at}}
		if wantsRerun(req, aw) {
			patch.Run, patch.QueuedAt = aw.Spec.Run+1, c.queuedAt()
			rerun++
		}
		result, err := c.patchRerun(ctx, aw, patch)
		if err != nil {
			errs = append(errs, fmt.Errorf("re-running ArtifactWorkflow %s: %w", aw.Name, err))
			continue
		}
		r.active[i].aw = controller.CacheArtifactWorkflow(result)
	}
	if len(errs) > 0 || !complete {
		return nil, errors.Join(errs...)
	}
	klog.FromContext(ctx).V(2).Info("Carried out re-run request", "annotation", req.annotation, "at", req.at, "rerun", rerun)
	c.recorder.Eventf(order, corev1.EventTypeNormal, ReasonRerun, "%s=%s: %d artifact(s) run again", req.annotation, req.at.Format(time.RFC3339), rerun)
	if len(reqs) > 1 {
		// The next request waits for this one to be in the status.
		c.queue.Add(cache.MetaObjectToName(order))
	}
	return &req, nil
}

// rerunPatch is what a re-run request changes in an ArtifactWorkflow's
// spec, as the spec of a merge patch: when it was asked for, and for a run
// again the run and its queue time (zero: unchanged, left out).
type rerunPatch struct {
	RunRequestedAt *metav1.Time      `json:"runRequestedAt"`
	Run            int64             `json:"run,omitempty"`
	QueuedAt       *metav1.MicroTime `json:"queuedAt,omitempty"`
}

// patchRerun writes p into aw's spec as a merge patch that holds aw's
// resourceVersion, so it applies only to the version the decision was made
// on, as an update would: the cache holds aw without the labels and
// annotations ARC does not read, which an update of it would drop.
func (c *Controller) patchRerun(ctx context.Context, aw *controller.CachedArtifactWorkflow, p rerunPatch) (*arcv1.ArtifactWorkflow, error) {
	body, err := json.Marshal(map[string]any{
		"metadata": map[string]string{"resourceVersion": aw.ResourceVersion},
		"spec":     p,
	})
	if err != nil {
		return nil, err
	}
	return c.client.ArcV1alpha1().ArtifactWorkflows(aw.Namespace).Patch(ctx, aw.Name, types.MergePatchType, body, metav1.PatchOptions{})
}

// wantsRerun tells whether the request runs aw again: its status must name
// the Workflow of its current run (the ArtifactWorkflow controller names it
// once Argo started it; a Workflow Argo has not started yet runs after the
// request anyway), and for a request of failed ones, that run must have
// failed. Scheduled work is never re-run by a request: its schedule runs it.
func wantsRerun(req rerunRequest, aw *controller.CachedArtifactWorkflow) bool {
	if aw.Spec.Cron != nil || aw.Status.Run != aw.Spec.Run || !startedByStatus(aw) {
		return false
	}
	if req.all {
		return true
	}
	return aw.Status.Phase == arcv1.WorkflowPhaseFailed || aw.Status.Phase == arcv1.WorkflowPhaseError
}

// applyRerunStatus carries the times of the last handled re-run requests
// over into the new status, with the one handled now.
func applyRerunStatus(order *arcv1.Order, status *arcv1.OrderStatus, handled *rerunRequest) {
	status.LastForceAt = order.Status.LastForceAt.DeepCopy()
	status.LastRerunFailedAt = order.Status.LastRerunFailedAt.DeepCopy()
	if handled == nil {
		return
	}
	at := &metav1.Time{Time: handled.at}
	if handled.all {
		status.LastForceAt = at
	} else {
		status.LastRerunFailedAt = at
	}
}

// setRerunProblem sets the RerunRequest condition while an annotation holds
// no time, and removes it once fixed. It returns the message to warn of when
// it is new (the caller warns once the status is stored), else "".
func (c *Controller) setRerunProblem(order *arcv1.Order, status *arcv1.OrderStatus) (warning string) {
	_, problems := pendingRerunRequests(order)
	if len(problems) == 0 {
		meta.RemoveStatusCondition(&status.Conditions, ConditionRerunRequest)
		return ""
	}
	msg := problems[0]
	if len(problems) > 1 {
		msg += "; " + problems[1]
	}
	if old := meta.FindStatusCondition(order.Status.Conditions, ConditionRerunRequest); old == nil || old.Message != msg {
		warning = msg
	}
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{
		Type:               ConditionRerunRequest,
		Status:             metav1.ConditionFalse,
		Reason:             ReasonInvalidRerunRequest,
		Message:            msg,
		ObservedGeneration: order.Generation,
		LastTransitionTime: metav1.NewTime(c.clock.Now()),
	})
	return warning
}

// expireFinished deletes the Order once ttlSecondsAfterFinished passed since
// it finished, or syncs it again when that time comes. Its status was
// written first, so nothing is lost that a person could still read.
func (c *Controller) expireFinished(ctx context.Context, order *arcv1.Order, status *arcv1.OrderStatus) error {
	if order.Spec.TTLSecondsAfterFinished == nil || status.CompletionTime == nil {
		return nil
	}
	ttl := time.Duration(*order.Spec.TTLSecondsAfterFinished) * time.Second
	if wait := status.CompletionTime.Add(ttl).Sub(c.clock.Now()); wait > 0 {
		c.queue.AddAfter(cache.MetaObjectToName(order), wait)
		return nil
	}
	uid := order.UID
	err := c.client.ArcV1alpha1().Orders(order.Namespace).Delete(ctx, order.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !isGone(err) {
		return fmt.Errorf("deleting the Order after its ttlSecondsAfterFinished: %w", err)
	}
	klog.FromContext(ctx).V(2).Info("Deleted Order after ttlSecondsAfterFinished", "ttl", ttl)
	c.recorder.Eventf(order, corev1.EventTypeNormal, ReasonExpired, "deleted %s after it finished (ttlSecondsAfterFinished)", ttl)
	return nil
}

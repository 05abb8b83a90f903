package order

import (
	"fmt"
	"time"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/naming"
)

// argoStartDelay is how long a new Workflow may wait for Argo to start it
// before the Order says that Argo has not. Argo's controller usually starts
// a Workflow within a second; the ArtifactWorkflow's status stays empty
// until then (its first status is Running), so without this an Order whose
// Workflows Argo never starts would only count them as pending.
const argoStartDelay = 30 * time.Second

// notStartedMessage is the status message of an artifact whose Workflow
// Argo has not started within argoStartDelay. It names no time, so that the
// status does not change from one sync to the next.
func notStartedMessage(workflow string) string {
	return fmt.Sprintf("Workflow %s created; Argo Workflows has not started it within %s", workflow, argoStartDelay)
}

// notStartedByArgo returns, by ArtifactWorkflow name, the Workflows of the
// Order's artifacts that Argo should have started and has not, and how
// long until the next one is due (0: none is waiting).
//
// A Workflow is due argoStartDelay after its creation, and while Argo
// started another of ARC's Workflows in the namespace within the last
// argoStartDelay, that long after that start: Argo is then busy, not down,
// and reaches this one in its turn. Saying so once per Order costs one
// status write for all its artifacts; the ArtifactWorkflows write nothing
// until Argo starts their Workflows. Once said, it stays said until Argo
// starts the Workflow, so that a busy Argo does not make it come and go.
func (c *Controller) notStartedByArgo(order *arcv1.Order, r reconciled, now time.Time) (map[string]string, time.Duration) {
	var late map[string]string
	var next time.Duration
	lastStart, busy := c.argoProgress.Last(order.Namespace)
	for _, aw := range r.artifactWorkflows() {
		wf := c.unstartedWorkflow(aw)
		if wf == nil {
			continue
		}
		// A creation time ahead of this clock counts as now.
		due := minTime(wf.CreationTimestamp.Time, now).Add(argoStartDelay)
		if busy {
			due = maxTime(due, minTime(lastStart, now).Add(argoStartDelay))
		}
		if now.Before(due) && !reportedNotStarted(order, aw, wf.Name) {
			if wait := due.Sub(now); next == 0 || wait < next {
				next = wait
			}
			continue
		}
		if late == nil {
			late = map[string]string{}
		}
		late[aw.Name] = wf.Name
	}
	return late, next
}

// unstartedWorkflow returns the cached Workflow of aw's current run when
// aw's status is still empty and Argo has not started the Workflow, else nil.
func (c *Controller) unstartedWorkflow(aw *controller.CachedArtifactWorkflow) *controller.CachedWorkflow {
	if aw.Status.Phase != arcv1.WorkflowPhaseUnknown || aw.Status.WorkflowName != "" || aw.DeletionTimestamp != nil {
		return nil
	}
	wf, err := c.workflows.Get(aw.Namespace, naming.Workflow(aw.Name, aw.Spec.Run))
	if err != nil || !controller.IsControlledBy(wf, aw) || wf.Status.Phase != "" || wf.DeletionTimestamp != nil {
		return nil
	}
	return wf
}

// reportedNotStarted tells whether the Order's status already says that
// Argo has not started aw's Workflow.
func reportedNotStarted(order *arcv1.Order, aw *controller.CachedArtifactWorkflow, workflow string) bool {
	entry, ok := order.Status.ArtifactWorkflows[aw.StatusKey()]
	return ok && entry.Name == aw.Name && entry.Message == notStartedMessage(workflow)
}

// enqueueOrderOfNewWorkflow looks at the Order of a Workflow Argo has not
// started when argoStartDelay has passed: nothing else would, since the
// ArtifactWorkflow's status stays empty until Argo starts it. The queue
// keeps one wait per Order, however many of its Workflows arrive.
func (c *Controller) enqueueOrderOfNewWorkflow(obj interface{}) {
	wf, ok := obj.(*controller.CachedWorkflow)
	if !ok || wf.Status.Phase != "" {
		return
	}
	awKey, _, ok := controller.ControllerOf(wf, artifactWorkflowKind)
	if !ok {
		return
	}
	aw, err := c.artifactWorkflows.Get(awKey.Namespace, awKey.Name)
	if err != nil {
		return
	}
	if order, _, ok := controller.ControllerOf(aw, orderKind.GroupKind()); ok {
		c.queue.AddAfter(order, argoStartDelay)
	}
}

var artifactWorkflowKind = arcv1.SchemeGroupVersion.WithKind("ArtifactWorkflow").GroupKind()

// recordArgoStart notes, for a Workflow that just got its first phase,
// that Argo is working in its namespace.
func (c *Controller) recordArgoStart(oldObj, newObj interface{}) {
	oldWF, okOld := oldObj.(*controller.CachedWorkflow)
	newWF, okNew := newObj.(*controller.CachedWorkflow)
	if okOld && okNew && oldWF.Status.Phase == "" && newWF.Status.Phase != "" {
		c.argoProgress.Record(newWF.Namespace, c.clock.Now())
	}
}

// forgetNamespace drops what is known of a deleted namespace.
func (c *Controller) forgetNamespace(obj interface{}) {
	if m := controller.ObjectMeta(obj); m != nil {
		c.argoProgress.Forget(m.GetName())
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

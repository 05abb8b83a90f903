package controller

import (
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// The informer transforms: what ARC keeps of each object it caches. ARC
// caches every object of five kinds and every Workflow it made, so each
// transform drops what no sync reads.

// StripManagedFields is an informer transform that drops managedFields and
// kubectl's last-applied-configuration annotation, which ARC never reads and
// which can be the bulk of an object's size: an Order applied with kubectl
// apply would otherwise be cached with its whole spec twice. ARC writes the
// cached objects back only as status updates, which ignore metadata; it
// reads an ArtifactWorkflow from the API server before it updates one.
func StripManagedFields(obj interface{}) (interface{}, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
		// The object is the informer's own, fresh from the decoder.
		delete(m.GetAnnotations(), lastAppliedAnnotation)
	}
	return obj, nil
}

// SlimARCObject is the transform of ARC's own informers: StripManagedFields,
// and for the kinds ARC caches one of per artifact (ArtifactWorkflows, and
// Orders with a status entry per artifact) their recurring strings shared
// (see intern). ArtifactWorkflows are cached as CachedArtifactWorkflows.
func SlimARCObject(obj interface{}) (interface{}, error) {
	obj, err := StripManagedFields(obj)
	switch o := obj.(type) {
	case *arcv1.ArtifactWorkflow:
		return CacheArtifactWorkflow(o), err
	case *arcv1.Order:
		internOrder(o)
	}
	return obj, err
}

// lastAppliedAnnotation is where kubectl apply keeps the object it applied.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// SecretPresenceOnly is the transform of the metadata-only Secret informer.
// ARC needs to know that a Secret exists, nothing more. Annotations go too:
// kubectl apply stores the whole applied object, data included, in the
// last-applied-configuration annotation, and ARC must never hold credentials.
func SecretPresenceOnly(obj interface{}) (interface{}, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
		m.SetAnnotations(nil)
		m.SetLabels(nil)
	}
	return obj, nil
}

// SlimWorkflow is the transform for the Workflow informer: it keeps a
// CachedWorkflow of each Workflow (see there), because a Workflow's spec
// and node tree can be large and ARC caches every Workflow it made. The
// node tree goes, but not before the message of a failed step is taken
// from it.
func SlimWorkflow(obj interface{}) (interface{}, error) {
	if wf, ok := obj.(*wfv1.Workflow); ok {
		return CacheWorkflow(wf), nil
	}
	return obj, nil
}

// Argo's label and annotation on the Workflows a CronWorkflow starts: which
// CronWorkflow, and for which scheduled time.
const (
	LabelCronWorkflow       = "workflows.argoproj.io/cron-workflow"
	AnnotationScheduledTime = "workflows.argoproj.io/scheduled-time"
)

// WorkflowMessage is what a Workflow says about its state, for users: Argo's
// message, and for a failed Workflow the step that failed first with what it
// said. Argo's own message for a failed Workflow is mostly "child 'NAME'
// failed", which names a node but not the cause; the cause (the step's exit
// code, and its termination message or last log lines) is on the step's node.
func WorkflowMessage(wf *wfv1.Workflow) string {
	step := firstFailedStep(wf)
	if step == nil {
		return wf.Status.Message
	}
	return fmt.Sprintf("step %s failed: %s", stepName(wf, step), step.Message)
}

// stepName is how users know a step: its name in the template's steps or
// DAG, or, for a Workflow that is a single pod (whose node is named after
// the Workflow), the template's name.
func stepName(wf *wfv1.Workflow, n *wfv1.NodeStatus) string {
	if (n.DisplayName == "" || n.DisplayName == wf.Name) && n.TemplateName != "" {
		return n.TemplateName
	}
	return n.DisplayName
}

// firstFailedStep is the Pod node of the Workflow that failed or errored
// first, with a message; nil if none has.
func firstFailedStep(wf *wfv1.Workflow) *wfv1.NodeStatus {
	var first *wfv1.NodeStatus
	for id := range wf.Status.Nodes {
		n := wf.Status.Nodes[id]
		if n.Type != wfv1.NodeTypePod || n.Message == "" ||
			(n.Phase != wfv1.NodeFailed && n.Phase != wfv1.NodeError) {
			continue
		}
		if first == nil || failedBefore(&n, first) {
			first = &n
		}
	}
	return first
}

// failedBefore orders failed nodes by finish time, then by ID so that the
// choice does not depend on map order.
func failedBefore(a, b *wfv1.NodeStatus) bool {
	if !a.FinishedAt.Equal(&b.FinishedAt) {
		return a.FinishedAt.Before(&b.FinishedAt)
	}
	return a.ID < b.ID
}

// outputParametersOnly keeps the global output parameters of a Workflow's
// outputs (artifacts and exit codes are not reported).
func outputParametersOnly(out *wfv1.Outputs) *wfv1.Outputs {
	if out == nil || len(out.Parameters) == 0 {
		return nil
	}
	params := make([]wfv1.Parameter, 0, len(out.Parameters))
	for _, p := range out.Parameters {
		params = append(params, wfv1.Parameter{Name: p.Name, Value: p.Value})
	}
	return &wfv1.Outputs{Parameters: params}
}

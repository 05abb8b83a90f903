package artifactworkflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/naming"
)

// ReasonWorkflowCleanedUp is the reason of the event of a Workflow deleted
// after its type's ttlAfterFinished or ttlAfterFailed.
const ReasonWorkflowCleanedUp = "WorkflowCleanedUp"

// cleanUp acts on a Workflow whose state the status now records: a Workflow
// being deleted loses ARC's finalizer (its result is safe), and a finished
// one is deleted once its type's TTL passed.
func (c *Controller) cleanUp(ctx context.Context, aw *controller.CachedArtifactWorkflow, wf *controller.CachedWorkflow) error {
	if wf.DeletionTimestamp != nil {
		return c.removeFinalizer(ctx, wf)
	}
	if !workflowFinished(wf) || wf.Status.FinishedAt.IsZero() {
		return nil
	}
	ttl := c.ttlFor(aw, mirroredPhase(wf.Status.Phase))
	if ttl == nil {
		return nil
	}
	if wait := wf.Status.FinishedAt.Add(ttl.Duration).Sub(c.clock.Now()); wait > 0 {
		c.queue.AddAfter(cache.MetaObjectToName(aw), wait)
		return nil
	}
	uid := wf.UID
	err := c.argo.ArgoprojV1alpha1().Workflows(wf.Namespace).Delete(ctx, wf.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting finished Workflow %s: %w", wf.Name, err)
	}
	klog.FromContext(ctx).V(2).Info("Deleted finished Workflow after its TTL", "workflow", klog.KObj(wf), "ttl", ttl.Duration)
	c.recorder.Eventf(aw, corev1.EventTypeNormal, ReasonWorkflowCleanedUp, "Deleted Workflow %s %s after it finished (%s); its result stays in the status", wf.Name, ttl.Duration, wf.Status.Phase)
	return nil
}

// ttlFor is how long a Workflow of aw's type stays after it finished in
// phase, or nil to keep it. A type that cannot be resolved now keeps it.
func (c *Controller) ttlFor(aw *controller.CachedArtifactWorkflow, phase arcv1.WorkflowPhase) *metav1.Duration {
	t, err := c.types.Resolve(aw.Namespace, aw.Spec.Type)
	if err != nil {
		return nil
	}
	if phase != arcv1.WorkflowPhaseSucceeded && t.Spec.TTLAfterFailed != nil {
		return t.Spec.TTLAfterFailed
	}
	return t.Spec.TTLAfterFinished
}

// releaseWorkflows removes ARC's finalizer from the Workflows of the
// ArtifactWorkflow key that are being deleted and whose result the status
// no longer needs: every one when the ArtifactWorkflow is gone (nil) or
// going, else those of earlier runs. The Workflow the status describes
// loses it in cleanUp, once its final state is recorded.
func (c *Controller) releaseWorkflows(ctx context.Context, key cache.ObjectName, aw *controller.CachedArtifactWorkflow) error {
	wfs, err := c.workflowsOf(key)
	if err != nil {
		return err
	}
	var keep []string
	if aw != nil && aw.DeletionTimestamp == nil {
		keep = []string{naming.Workflow(aw.Name, aw.Spec.Run)}
		if !aw.Status.Phase.Finished() {
			keep = append(keep, aw.Status.WorkflowName)
		}
	}
	var errs []error
	for _, wf := range wfs {
		if wf.DeletionTimestamp == nil || slices.Contains(keep, wf.Name) {
			continue
		}
		errs = append(errs, c.removeFinalizer(ctx, wf))
	}
	return errors.Join(errs...)
}

// indexByArtifactWorkflow maps "namespace/name" of an ArtifactWorkflow to
// the cached Workflows whose label names it, but for the one of its first
// run: the Workflows of its re-runs and the runs of its CronWorkflow. A
// sync reads them without scanning every Workflow of the namespace, which
// made each sync cost O(Workflows).
//
// The first run's Workflow is named after its ArtifactWorkflow, so
// workflowsOf finds it by name. Most ArtifactWorkflows only ever have that
// one, and the index would hold a set of one key for each of them: about
// 300 bytes per artifact for as long as its Workflow exists.
const indexByArtifactWorkflow = "artifactWorkflow"

func artifactWorkflowOfWorkflow(obj interface{}) ([]string, error) {
	wf, ok := obj.(*controller.CachedWorkflow)
	if !ok || wf.ArtifactWorkflow == "" || wf.Name == naming.Workflow(wf.ArtifactWorkflow, 0) {
		return nil, nil
	}
	return []string{wf.Namespace + "/" + wf.ArtifactWorkflow}, nil
}

// artifactWorkflowLabel is the ArtifactWorkflow a cached Workflow or a
// CronWorkflow names in its label.
func artifactWorkflowLabel(obj interface{}) string {
	if wf, ok := obj.(*controller.CachedWorkflow); ok {
		return wf.ArtifactWorkflow
	}
	if m := controller.ObjectMeta(obj); m != nil {
		return m.GetLabels()[arcv1.LabelArtifactWorkflow]
	}
	return ""
}

// workflowsOf returns the cached Workflows labelled with the ArtifactWorkflow
// key: those of the index, and the first run's, found by its name.
func (c *Controller) workflowsOf(key cache.ObjectName) ([]*controller.CachedWorkflow, error) {
	wfs, err := c.workflows.ByIndex(indexByArtifactWorkflow, key.String())
	if err != nil {
		return nil, err
	}
	first, err := c.workflows.Get(key.Namespace, naming.Workflow(key.Name, 0))
	switch {
	case apierrors.IsNotFound(err):
		return wfs, nil
	case err != nil:
		return nil, err
	case first.ArtifactWorkflow == key.Name:
		wfs = append(wfs, first)
	}
	return wfs, nil
}

// removeFinalizer takes ARC's finalizer off a Workflow with a JSON patch that
// first tests the list it replaces, so a finalizer someone else adds at the
// same moment is not lost (the patch then fails and is retried). The cached
// Workflow is slim, so it must never be written back whole.
func (c *Controller) removeFinalizer(ctx context.Context, wf *controller.CachedWorkflow) error {
	if !slices.Contains(wf.Finalizers, arcv1.FinalizerWorkflowResult) {
		return nil
	}
	rest := slices.DeleteFunc(slices.Clone(wf.Finalizers), func(f string) bool { return f == arcv1.FinalizerWorkflowResult })
	if rest == nil {
		rest = []string{}
	}
	patch, err := json.Marshal([]map[string]any{
		{"op": "test", "path": "/metadata/finalizers", "value": wf.Finalizers},
		{"op": "replace", "path": "/metadata/finalizers", "value": rest},
	})
	if err != nil {
		return err
	}
	_, err = c.argo.ArgoprojV1alpha1().Workflows(wf.Namespace).Patch(ctx, wf.Name, types.JSONPatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("removing the finalizer of Workflow %s: %w", wf.Name, err)
	}
	klog.FromContext(ctx).V(2).Info("Released deleted Workflow", "workflow", klog.KObj(wf))
	return nil
}

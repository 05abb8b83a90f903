package controller

import (
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// CachedWorkflow is what ARC keeps of an Argo Workflow in its cache: the
// informer's transform (SlimWorkflow) turns every Workflow into one. ARC
// caches every Workflow it made, one per artifact and run, and reads a
// handful of their fields; Argo's own type is over a kilobyte before any
// of its fields is set, and its labels and annotations (Argo adds its own)
// cost a map each. This type holds the metadata ARC reads (names, owner,
// finalizers, deletion), the two labels and the annotation it reads as
// fields, and the status it mirrors, under the same field names as Argo's.
//
// A CachedWorkflow is never written back: writes to Workflows are patches
// (finalizers) and deletes.
type CachedWorkflow struct {
	// ObjectMeta without labels, annotations and managedFields.
	metav1.ObjectMeta
	// ArtifactWorkflow is the value of the label arc.opendefense.cloud/artifactworkflow:
	// the ArtifactWorkflow whose work the Workflow does.
	ArtifactWorkflow string
	// CronWorkflow is the value of Argo's label naming the CronWorkflow
	// that started the Workflow; empty for a one-off run.
	CronWorkflow string
	// ScheduledTime is the value of Argo's annotation with the time a
	// CronWorkflow started the Workflow for.
	ScheduledTime string
	// Status is what ARC mirrors of the Workflow's status.
	Status CachedWorkflowStatus
}

// CachedWorkflowStatus is what ARC mirrors of a Workflow's status.
type CachedWorkflowStatus struct {
	Phase wfv1.WorkflowPhase
	// Message is WorkflowMessage of the Workflow: Argo's message, or the
	// failed step's own.
	Message    string
	StartedAt  metav1.Time
	FinishedAt metav1.Time
	// Outputs holds the global output parameters only.
	Outputs *wfv1.Outputs
}

// CacheWorkflow returns what ARC keeps of wf (see CachedWorkflow). The
// sync uses it too for Workflows it created or read from the API server,
// so that it handles one type whatever the source.
func CacheWorkflow(wf *wfv1.Workflow) *CachedWorkflow {
	meta := wf.ObjectMeta
	meta.Labels, meta.Annotations, meta.ManagedFields = nil, nil, nil
	internMeta(&meta)
	return &CachedWorkflow{
		ObjectMeta:       meta,
		ArtifactWorkflow: intern(wf.Labels[arcv1.LabelArtifactWorkflow]),
		CronWorkflow:     intern(wf.Labels[LabelCronWorkflow]),
		ScheduledTime:    wf.Annotations[AnnotationScheduledTime],
		Status: CachedWorkflowStatus{
			Phase:      wfv1.WorkflowPhase(intern(string(wf.Status.Phase))),
			Message:    WorkflowMessage(wf),
			StartedAt:  wf.Status.StartedAt,
			FinishedAt: wf.Status.FinishedAt,
			Outputs:    outputParametersOnly(wf.Status.Outputs),
		},
	}
}

// GetObjectKind is part of runtime.Object; a CachedWorkflow has no type
// metadata of its own.
func (w *CachedWorkflow) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject is part of runtime.Object (client-go's cache mutation
// detector copies what the cache holds).
func (w *CachedWorkflow) DeepCopyObject() runtime.Object {
	out := *w
	w.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	w.Status.StartedAt.DeepCopyInto(&out.Status.StartedAt)
	w.Status.FinishedAt.DeepCopyInto(&out.Status.FinishedAt)
	out.Status.Outputs = w.Status.Outputs.DeepCopy()
	return &out
}

var workflowResource = wfv1.SchemeGroupVersion.WithResource("workflows").GroupResource()

// WorkflowCache reads the Workflow informer's cache, which holds
// CachedWorkflows.
type WorkflowCache struct {
	Indexer cache.Indexer
}

// Get returns the cached Workflow namespace/name, or a NotFound error.
func (c WorkflowCache) Get(namespace, name string) (*CachedWorkflow, error) {
	return cachedObject[*CachedWorkflow](c.Indexer, workflowResource, namespace, name)
}

// ByIndex returns the cached Workflows the named index holds under value.
func (c WorkflowCache) ByIndex(index, value string) ([]*CachedWorkflow, error) {
	objs, err := c.Indexer.ByIndex(index, value)
	if err != nil {
		return nil, err
	}
	return cachedObjects[*CachedWorkflow](objs), nil
}

// cachedObject returns the object of type T an informer's indexer holds
// under namespace/name, or a NotFound error for resource.
func cachedObject[T any](indexer cache.Indexer, resource schema.GroupResource, namespace, name string) (T, error) {
	var zero T
	obj, exists, err := indexer.GetByKey(namespace + "/" + name)
	if err != nil {
		return zero, err
	}
	t, ok := obj.(T)
	if !exists || !ok {
		return zero, apierrors.NewNotFound(resource, name)
	}
	return t, nil
}

// cachedObjects returns the objects of type T among objs.
func cachedObjects[T any](objs []interface{}) []T {
	out := make([]T, 0, len(objs))
	for _, obj := range objs {
		if t, ok := obj.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

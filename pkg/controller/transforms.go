package controller

import (
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The informer transforms: what ARC keeps of each object it caches. ARC
// caches every object of five kinds and every Workflow it made, so each
// transform drops what no sync reads.

// StripManagedFields is an informer transform that drops managedFields,
// which ARC never reads and which can be the bulk of an object's metadata.
func StripManagedFields(obj interface{}) (interface{}, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

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

// SlimWorkflow is the transform for the Workflow informer. It keeps only
// what ARC reads (metadata without managedFields, and the status phase,
// message and times), because a Workflow's spec and node tree can be large
// and ARC caches every Workflow it made.
func SlimWorkflow(obj interface{}) (interface{}, error) {
	wf, ok := obj.(*wfv1.Workflow)
	if !ok {
		return obj, nil
	}
	slim := &wfv1.Workflow{
		TypeMeta:   wf.TypeMeta,
		ObjectMeta: wf.ObjectMeta,
		Status: wfv1.WorkflowStatus{
			Phase:      wf.Status.Phase,
			Message:    wf.Status.Message,
			StartedAt:  wf.Status.StartedAt,
			FinishedAt: wf.Status.FinishedAt,
		},
	}
	slim.ManagedFields = nil
	return slim, nil
}

package controller

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
)

// ObjectMeta returns the metadata of an object an informer handed to an
// event handler, unwrapping the tombstone a delete event may carry when the
// watch missed the deletion. It returns nil for anything else.
func ObjectMeta(obj interface{}) metav1.Object {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil
	}
	return m
}

// ControllerOf returns the name of the object's controlling owner when that
// owner is of the given group and kind, and ok=false otherwise. The owner
// lives in the object's namespace: ARC never owns across namespaces.
func ControllerOf(obj metav1.Object, gk schema.GroupKind) (owner cache.ObjectName, uid string, ok bool) {
	ref := metav1.GetControllerOfNoCopy(obj)
	if ref == nil || ref.Kind != gk.Kind {
		return cache.ObjectName{}, "", false
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil || gv.Group != gk.Group {
		return cache.ObjectName{}, "", false
	}
	return cache.ObjectName{Namespace: obj.GetNamespace(), Name: ref.Name}, string(ref.UID), true
}

// IsControlledBy tells whether owner is the controlling owner of obj, by UID.
func IsControlledBy(obj, owner metav1.Object) bool {
	ref := metav1.GetControllerOfNoCopy(obj)
	return ref != nil && ref.UID == owner.GetUID()
}

// IndexByControllerUID is the name of the index that maps controller UIDs to the objects they control.
const IndexByControllerUID = "controllerUID"

// ControllerUIDIndexer indexes objects by the UID of their controlling owner,
// so a parent finds its children without listing a whole namespace.
func ControllerUIDIndexer(obj interface{}) ([]string, error) {
	m := ObjectMeta(obj)
	if m == nil {
		return nil, nil
	}
	ref := metav1.GetControllerOfNoCopy(m)
	if ref == nil {
		return nil, nil
	}
	return []string{string(ref.UID)}, nil
}

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

package controller

import (
	"fmt"

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

// InformerHandler is an event handler a controller registers on an informer.
type InformerHandler struct {
	Informer cache.SharedIndexInformer
	Handler  cache.ResourceEventHandler
}

// AddEventHandlers registers a controller's handlers, one table per
// controller, so what each informer event leads to reads in one place.
//
// Every handler is registered without a resync period, so no informer
// resyncs: a controller's ResyncSpreader resyncs its objects from the cache
// on its own timer. An informer resync walks the whole cache through the
// informer's queue and indexes and hands each object to each handler, in
// front of the events that came in meanwhile. An informer hands an update
// whose old and new object are the same version, be it a resync or an
// object listed again unchanged after a watch failed, only to handlers
// registered with a resync period: none of ARC's gets one.
func AddEventHandlers(handlers ...InformerHandler) error {
	for _, h := range handlers {
		if _, err := h.Informer.AddEventHandlerWithResyncPeriod(h.Handler, 0); err != nil {
			return fmt.Errorf("adding event handler: %w", err)
		}
	}
	return nil
}

// Enqueuer returns an event handler function that queues the object's name,
// tombstones unwrapped.
func Enqueuer(queue Queue) func(obj interface{}) {
	return func(obj interface{}) {
		if m := ObjectMeta(obj); m != nil {
			queue.Add(cache.MetaObjectToName(m))
		}
	}
}

// SpecHandlers calls f when an object appears, goes, or its spec changes
// (its generation moves). Status writes of the object are skipped: a
// controller that reads another kind's spec has nothing to do then.
func SpecHandlers(f func(obj interface{})) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: f,
		UpdateFunc: func(oldObj, newObj interface{}) {
			oldM, newM := ObjectMeta(oldObj), ObjectMeta(newObj)
			if oldM != nil && newM != nil && oldM.GetGeneration() != newM.GetGeneration() {
				f(newObj)
			}
		},
		DeleteFunc: f,
	}
}

// DependentsOfType returns the objects indexer holds under index for the
// name of an ArtifactType or ClusterArtifactType (obj, tombstones
// unwrapped): in the type's namespace for an ArtifactType, in every
// namespace for a ClusterArtifactType. index must map objects to the type
// names they use.
func DependentsOfType(indexer cache.Indexer, index string, obj interface{}) []metav1.Object {
	t := ObjectMeta(obj)
	if t == nil {
		return nil
	}
	objs, err := indexer.ByIndex(index, t.GetName())
	if err != nil {
		return nil
	}
	var out []metav1.Object
	for _, o := range objs {
		if m := ObjectMeta(o); m != nil && (t.GetNamespace() == "" || m.GetNamespace() == t.GetNamespace()) {
			out = append(out, m)
		}
	}
	return out
}

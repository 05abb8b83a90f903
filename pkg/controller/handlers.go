package controller

import (
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
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
	// Resyncs says the handler acts on the informer's periodic resyncs (an
	// update whose old and new object are the same). Only such a handler
	// gets them; see AddEventHandlers.
	Resyncs bool
}

// AddEventHandlers registers a controller's handlers, one table per
// controller, so what each informer event leads to reads in one place.
//
// A handler that does not act on resyncs is registered without a resync
// period. A shared informer resyncs only for the handlers that have one,
// and not at all when none has: every resync walks the whole cache through
// the informer's queue and indexes and hands each object to each handler,
// which at 10,000 Workflows was work done every period for handlers that
// only threw it away.
func AddEventHandlers(handlers ...InformerHandler) error {
	for _, h := range handlers {
		var err error
		if h.Resyncs {
			_, err = h.Informer.AddEventHandler(h.Handler)
		} else {
			_, err = h.Informer.AddEventHandlerWithResyncPeriod(h.Handler, 0)
		}
		if err != nil {
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
// (its generation moves). Status writes and resyncs of the object are
// skipped: a controller that reads another kind's spec has nothing to do
// then.
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

// ResyncSpreader queues the periodic resync of an object after a delay
// taken from a hash of its name, so that the resyncs of a cache spread
// evenly over Window instead of arriving at once. A resync finds nothing to
// do almost always; queued all at once, the resyncs of 10,000 objects stand
// in front of a new Order's work for as long as the workers take to get
// through them (p99 Order -> Workflow 337 ms at 10,000 artifacts with a
// 20 s resync, 34 ms at 1,000). A real event for an object whose resync is
// waiting queues it at once, as always.
//
// The waiting resyncs are kept by batch, one timer per batch, not one
// delayed queue entry per object: right after a resync every object of the
// cache is waiting, and a workqueue delayed entry costs about 151 bytes
// (its waitFor, its map entry, its heap slot), held for up to half of every
// resync period. A key in a batch costs about 64 (its 32 bytes and the
// slice's room to grow; BenchmarkResyncSpreaderWaiting). A batch whose
// time has come is fed to the queue in slices over the following second
// (see resyncSlice), so that new work waits behind a slice, not a batch.
// Use a ResyncSpreader by pointer; the zero value, with Queue set, queues
// resyncs at once.
type ResyncSpreader struct {
	Queue Queue
	// Window is the longest a resync waits; 0 queues resyncs at once.
	// It should be shorter than the resync period.
	Window time.Duration
	// Clock schedules the batches; nil is the real clock.
	Clock clock.WithDelayedExecution

	mu sync.Mutex
	// waiting holds the keys of each batch whose timer has not fired yet,
	// by the batch's delay.
	waiting map[time.Duration][]cache.ObjectName
	// due holds the keys of released batches not yet queued, in order,
	// perSlice how many of them each slice queues, and feeding whether a
	// goroutine is queuing them.
	due      []cache.ObjectName
	perSlice int
	feeding  bool
}

// Enqueue queues the resync of key.
func (s *ResyncSpreader) Enqueue(key cache.ObjectName) {
	delay := resyncDelay(key, s.Window)
	if delay == 0 {
		s.Queue.Add(key)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keys, scheduled := s.waiting[delay]
	if s.waiting == nil {
		s.waiting = map[time.Duration][]cache.ObjectName{}
	}
	s.waiting[delay] = append(keys, key)
	if !scheduled {
		// A resync reaches every object within moments, so the keys that
		// join a batch after its timer was set are late by no more than that.
		s.clock().AfterFunc(delay, func() { s.release(delay) })
	}
}

// release moves the keys of the batch with the given delay to the keys
// due, and starts feeding them to the queue unless a feed is under way.
func (s *ResyncSpreader) release(delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := s.waiting[delay]
	delete(s.waiting, delay)
	s.due = append(s.due, keys...)
	// Everything due is queued within one batch interval of its release,
	// even when batches overlap: paced, resyncs never fall behind.
	s.perSlice = max(s.perSlice, minPerSlice, (len(s.due)+slicesPerBatch-1)/slicesPerBatch)
	if !s.feeding {
		s.feeding = true
		go s.feedDue()
	}
}

// feedDue queues the keys due a slice at a time until none is left.
func (s *ResyncSpreader) feedDue() {
	for s.feedSlice() {
		<-s.clock().After(resyncSlice)
	}
}

// feedSlice queues one slice of the keys due and tells whether keys
// remain. A queue shut down in the meantime drops them.
func (s *ResyncSpreader) feedSlice() bool {
	s.mu.Lock()
	if s.Queue.ShuttingDown() {
		s.due = nil
	}
	n := min(s.perSlice, len(s.due))
	slice := s.due[:n:n]
	s.due = s.due[n:]
	s.mu.Unlock()
	for _, key := range slice {
		s.Queue.Add(key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.due) > 0 {
		return true
	}
	// Let go of the released batches' backing array.
	s.due, s.perSlice, s.feeding = nil, 0, false
	return false
}

// waitingKeys is how many resyncs wait for their batch or their slice.
func (s *ResyncSpreader) waitingKeys() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.due)
	for _, keys := range s.waiting {
		n += len(keys)
	}
	return n
}

// isFeeding tells whether released keys are still being queued.
func (s *ResyncSpreader) isFeeding() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.feeding
}

func (s *ResyncSpreader) clock() clock.WithDelayedExecution {
	if s.Clock == nil {
		return clock.RealClock{}
	}
	return s.Clock
}

// resyncBatch is the granularity of the spread: the resyncs of a window
// wait in batches a second apart, one timer per batch. Spreading costs CPU
// all the same (make bench, 1,000 artifacts, resync every 20 s: 2.4 CPU-s
// per idle minute one by one, 2.0 in batches, 0.7 without a spread); at
// the default resync of 10 minutes that is 30 times less.
const resyncBatch = time.Second

// resyncSlice is how often a released batch feeds the queue, and
// slicesPerBatch how many slices a batch is queued in at most. Queued
// whole, the batches of 10,000 objects over a 10 s window put 1,000 keys in
// front of a new Order's work every second; in slices, about ten (make
// bench at 10,000 artifacts: p99 Order -> Workflow 113.7 ms whole, 81.9 ms
// in slices). A slice holds at least minPerSlice keys: a small batch is
// queued at once, as a few keys delay nobody, and a feed that wakes every
// 10 ms for one key each time costs CPU for nothing (make bench at 1,000
// artifacts, resync every 20 s: 1.28 CPU-s per idle minute with slices of
// one key, 0.30-0.58 with whole batches).
const (
	resyncSlice    = 10 * time.Millisecond
	slicesPerBatch = int(resyncBatch / resyncSlice)
	minPerSlice    = 10
)

// resyncDelay is key's place in the window, in whole batches: the same for
// the same key, so each object is resynced once per period, at the same
// offset.
func resyncDelay(key cache.ObjectName, window time.Duration) time.Duration {
	batches := uint64(window / resyncBatch)
	if batches < 2 {
		return 0
	}
	return time.Duration(fnv64a(key.Namespace, "/", key.Name)%batches) * resyncBatch
}

// fnv64a is the 64-bit FNV-1a hash of the concatenated parts, as hash/fnv
// computes it, without converting the strings to byte slices.
func fnv64a(parts ...string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			h ^= uint64(p[i])
			h *= prime
		}
	}
	return h
}

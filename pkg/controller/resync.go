package controller

import (
	"context"
	"sync"
	"time"

	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// ResyncSpreader resyncs every object of a controller's cache once per
// Period, to repair whatever an event missed. Run lists the cache's keys on
// a timer of its own and queues each after a delay taken from a hash of its
// name, so that the resyncs spread evenly over Window instead of arriving
// at once. A resync finds nothing to do almost always; queued all at once,
// the resyncs of 10,000 objects stand in front of a new Order's work for as
// long as the workers take to get through them (p99 Order -> Workflow
// 337 ms at 10,000 artifacts with a 20 s resync, 34 ms at 1,000). A real
// event for an object whose resync is waiting queues it at once, as always.
//
// The keys come from the cache, not from the informers' own resyncs, which
// no handler asks for (see AddEventHandlers). An informer's resync puts a
// delta for every cached object into the informer's queue at once, and the
// one goroutine that handles the informer's events works through all of
// them, updating the indexes and calling every handler, before it gets to
// the event of an object that changed meanwhile. In one run at 10,000
// ArtifactWorkflows resynced every 20 s, a new ArtifactWorkflow's Workflow
// came 274 ms late in the second after a resync tick; the runs since did
// not show such a stall either way, so that is the reason, not a measure.
//
// The waiting resyncs are kept by batch, one timer per batch, not one
// delayed queue entry per object: right after a resync every object of the
// cache is waiting, and a workqueue delayed entry costs about 151 bytes
// (its waitFor, its map entry, its heap slot), held for up to half of every
// resync period. A key in a batch costs about 64 (its 32 bytes and the
// slice's room to grow; BenchmarkResyncSpreaderWaiting). A batch whose
// time has come is fed to the queue in slices over the following second
// (see resyncSlice), so that new work waits behind a slice, not a batch.
// Use a ResyncSpreader by pointer; the zero value, with Queue set, resyncs
// nothing.
type ResyncSpreader struct {
	Queue Queue
	// Period is how often Run resyncs every object; 0 resyncs nothing.
	Period time.Duration
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

// Every sets the resync period, and spreads each resync over half of it:
// every resync of one period is queued well before the next period
// begins.
func (s *ResyncSpreader) Every(period time.Duration) {
	s.Period, s.Window = period, period/2
}

// Run resyncs the objects whose keys keys returns, once every Period until
// ctx ends; the first resync comes a Period after Run starts, as an
// informer's would. keys is a cache's ListKeys: namespace/name keys, or
// names alone for cluster-scoped objects.
func (s *ResyncSpreader) Run(ctx context.Context, keys func() []string) {
	if s.Period <= 0 {
		return
	}
	timer := s.clock().NewTimer(s.Period)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C():
		}
		s.enqueueKeys(keys())
		// The next period counts from the end of this one's listing, which
		// takes milliseconds at 10,000 objects.
		timer.Reset(s.Period)
	}
}

// enqueueKeys queues the resync of every cache key in keys.
func (s *ResyncSpreader) enqueueKeys(keys []string) {
	for _, k := range keys {
		name, err := cache.ParseObjectName(k)
		if err != nil {
			// A cache keyed by MetaNamespaceKeyFunc holds no other keys.
			continue
		}
		s.enqueue(name)
	}
}

// enqueue queues the resync of key after its delay in the window.
func (s *ResyncSpreader) enqueue(key cache.ObjectName) {
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

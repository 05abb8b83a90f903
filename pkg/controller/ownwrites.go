package controller

import (
	"sync"

	"k8s.io/client-go/tools/cache"
)

// OwnWrites remembers the status writes a controller made whose watch events
// have not reached its informer cache yet.
//
// Right after a controller writes an object, its cache still holds the
// version before the write for a moment. A sync that runs in that moment (an
// event of a related object asked for it) computes the same status again,
// finds it missing from the stale copy and writes it again with the old
// resourceVersion: a conflict, a wasted request, and a retry. With
// OwnWrites the sync sees that its copy is the one its own write replaced,
// skips, and the update handler queues the object again once the cache
// holds the written version.
//
// It is safe for concurrent use. Entries live only until the cache catches
// up, or until the object is deleted.
type OwnWrites struct {
	mu      sync.Mutex
	pending map[cache.ObjectName]*ownWrite
}

type ownWrite struct {
	// replaced is the resourceVersion the write replaced.
	replaced string
	// deferred is set when a sync skipped because of this write: the cache
	// update must then queue the object again.
	deferred bool
}

// NewOwnWrites returns an empty OwnWrites.
func NewOwnWrites() *OwnWrites {
	return &OwnWrites{pending: map[cache.ObjectName]*ownWrite{}}
}

// Wrote records a successful write of key that replaced resourceVersion replaced.
func (w *OwnWrites) Wrote(key cache.ObjectName, replaced string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending[key] = &ownWrite{replaced: replaced}
}

// Stale reports whether cachedVersion is the version an own write of key
// replaced: the cache has not caught up and the sync should skip. Any other
// version means it has, and the record is dropped.
func (w *OwnWrites) Stale(key cache.ObjectName, cachedVersion string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, ok := w.pending[key]
	if !ok {
		return false
	}
	if p.replaced == cachedVersion {
		p.deferred = true
		return true
	}
	delete(w.pending, key)
	return false
}

// Observed is called by the update handler with the version the cache now
// holds. It reports whether a sync skipped for key and must run now.
func (w *OwnWrites) Observed(key cache.ObjectName, version string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, ok := w.pending[key]
	if !ok || p.replaced == version {
		return false
	}
	delete(w.pending, key)
	return p.deferred
}

// Forget drops what is known about key, for a deleted object.
func (w *OwnWrites) Forget(key cache.ObjectName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.pending, key)
}

// Len is the number of writes whose events are still outstanding.
func (w *OwnWrites) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}

package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"k8s.io/klog/v2"
)

// The garbage collector's target (GOGC), unless the environment sets one,
// follows the live heap. Most of the controller's heap is its caches, which
// live as long as the process: Go's default of 100 lets the heap grow to
// twice what is live before it collects, so that half of a large
// controller's memory would be garbage waiting for the next collection. A
// lower target costs CPU: a collection marks what is live, and comes more
// often. Both matter only at one end each: with a small cache the headroom
// Go's default gives is a few MiB and the collections it saves are most of
// the controller's CPU (make bench, 1,000 artifacts: 8.0 CPU-s per 1,000 at
// 100 against 10.1 at 50); with a large one the headroom is tens of MiB
// (10,000 artifacts: peak RSS 159 MiB at 100 against 126 at 50, and 102.8
// with the headroom held at 16 MiB, about 36 there, against 111.9 at 50,
// for no more CPU per artifact: 13.54 CPU-s per 1,000 against 13.63-14.08;
// at 12 MiB 97.1-97.5 MiB against 104.1 at 16, for 17.6 CPU-s per 1,000
// against 17.1).
//
// So the target is Go's default while that gives at most gcHeadroomBytes
// above the live heap, then whatever keeps the headroom there, but never
// below minGCPercent, where collections would cost more than the memory is
// worth. Prometheus lowered its fixed default to 50 for the same reason.
const (
	maxGCPercent    = 100
	minGCPercent    = 25
	gcHeadroomBytes = 12 << 20
	// gcPercentStep is the least rise of the target worth making, so that
	// the live heap's small changes leave it alone. A fall is made at once:
	// while the caches grow the target falls a point at a time, and
	// holding it up to five points high let the heap carry up to 5% of the
	// live heap above the headroom, at the moment the peak is reached.
	gcPercentStep = 5
	// gcTuneInterval is how often the target is brought in line with the
	// live heap the last collection found. Caches grow over minutes.
	gcTuneInterval = time.Second
)

// gcPercentFor is the collector's target for a live heap of live bytes.
func gcPercentFor(live uint64) int {
	if live == 0 {
		return maxGCPercent
	}
	return max(int(min(gcHeadroomBytes*100/live, maxGCPercent)), minGCPercent)
}

// worthChanging tells whether the target should go from current to p:
// down by any amount, up by gcPercentStep or more or to the upper bound.
func worthChanging(current, p int) bool {
	return p < current || p-current >= gcPercentStep || (p > current && p == maxGCPercent)
}

// adaptiveGC tells whether the controller sets the collector's target
// itself: unless GOGC is set in the environment (the runtime has applied it
// already). An empty GOGC counts as unset, as a Deployment's empty value
// means. It returns the target as the start-up log shows it.
func adaptiveGC(lookupEnv func(string) (string, bool)) (gogc string, adaptive bool) {
	if v, ok := lookupEnv("GOGC"); ok && v != "" {
		return v, false
	}
	return "adaptive, 100 down to 25", true
}

// tuneGC keeps the collector's target at gcPercentFor the live heap, as
// liveHeap reports it, every tick until ctx ends. setPercent is called
// only when the target is worth changing.
func tuneGC(ctx context.Context, liveHeap func() uint64, setPercent func(int) int, tick <-chan time.Time) {
	logger := klog.FromContext(ctx)
	current := 0
	for {
		live := liveHeap()
		if p := gcPercentFor(live); worthChanging(current, p) {
			setPercent(p)
			logger.V(2).Info("Garbage collector target", "GOGC", p, "liveHeapBytes", live)
			current = p
		}
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
	}
}

// startGCTuning runs tuneGC on the runtime's own figures until ctx ends.
func startGCTuning(ctx context.Context) {
	ticker := time.NewTicker(gcTuneInterval)
	go func() {
		defer ticker.Stop()
		tuneGC(ctx, lastLiveHeap, debug.SetGCPercent, ticker.C)
	}()
}

// lastLiveHeap is the heap the last collection found live (0 before the
// first).
func lastLiveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

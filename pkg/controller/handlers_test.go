package controller

import (
	"fmt"
	"hash/fnv"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	clocktesting "k8s.io/utils/clock/testing"
)

func newTestQueue(clock *clocktesting.FakeClock) Queue {
	return workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](),
		workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Clock: clock})
}

func TestResyncSpreader(t *testing.T) {
	key := cache.ObjectName{Namespace: "team-a", Name: "order-1"}
	for _, tc := range []struct {
		name       string
		window     time.Duration
		wantAtOnce bool
	}{
		{"without a window a resync is queued at once", 0, true},
		{"a window shorter than two batches is no window", 1500 * time.Millisecond, true},
		{"with a window a resync waits for its place in it", 20 * time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := clocktesting.NewFakeClock(time.Unix(1700000000, 0))
			q := newTestQueue(clock)
			defer q.ShutDown()
			s := &ResyncSpreader{Queue: q, Window: tc.window, Clock: clock}
			s.Enqueue(key)
			if tc.wantAtOnce {
				assert.Equal(t, 1, q.Len())
				return
			}
			delay := resyncDelay(key, tc.window)
			require.Less(t, delay, tc.window)
			require.NotZero(t, delay, "this key's place is not at the start of the window")
			assert.Equal(t, 0, q.Len(), "queued before its place in the window")
			clock.Step(delay)
			require.Eventually(t, func() bool { return q.Len() == 1 }, 5*time.Second, time.Millisecond,
				"not queued at its place in the window")
		})
	}
}

// TestResyncSpreaderKeepsABatchUnderOneTimer checks that the resyncs of a
// whole cache wait in their batches, one timer each, not one delayed queue
// entry per object, and that each batch is queued at its place in the window.
func TestResyncSpreaderKeepsABatchUnderOneTimer(t *testing.T) {
	const n = 1000
	window := 10 * time.Second
	// The spreader's clock is its own, so that its waiters are its timers.
	clock := clocktesting.NewFakeClock(time.Unix(1700000000, 0))
	q := newTestQueue(clocktesting.NewFakeClock(time.Unix(1700000000, 0)))
	defer q.ShutDown()
	s := &ResyncSpreader{Queue: q, Window: window, Clock: clock}
	byDelay := map[time.Duration]int{}
	for i := range n {
		key := cache.ObjectName{Namespace: "bench", Name: fmt.Sprintf("order-%05d-%016x", i/10, i)}
		s.Enqueue(key)
		byDelay[resyncDelay(key, window)]++
	}
	atOnce := byDelay[0]
	assert.Equal(t, atOnce, q.Len(), "only the first batch is queued at once")
	assert.Equal(t, n-atOnce, s.waitingKeys(), "the others wait for their batch")
	assert.Equal(t, len(byDelay)-1, clock.Waiters(), "one timer per waiting batch")
	queued := atOnce
	for d := resyncBatch; d < window; d += resyncBatch {
		clock.Step(resyncBatch)
		queued += byDelay[d]
		require.Equal(t, queued, q.Len(), "after %v", d)
	}
	assert.Zero(t, s.waitingKeys(), "every batch was released")
	assert.Zero(t, clock.Waiters(), "no timer is left")
}

// TestResyncSpreaderAfterShutdown checks that a batch released after its
// queue shut down is dropped, not a panic.
func TestResyncSpreaderAfterShutdown(t *testing.T) {
	clock := clocktesting.NewFakeClock(time.Unix(1700000000, 0))
	q := newTestQueue(clock)
	s := &ResyncSpreader{Queue: q, Window: time.Minute, Clock: clock}
	for i := range 100 {
		s.Enqueue(cache.ObjectName{Namespace: "bench", Name: fmt.Sprint(i)})
	}
	atOnce := q.Len()
	q.ShutDown()
	clock.Step(time.Minute)
	assert.Zero(t, s.waitingKeys())
	assert.Equal(t, atOnce, q.Len(), "nothing was added after the shutdown")
}

func TestFNV64aIsHashFNV(t *testing.T) {
	for _, parts := range [][]string{{}, {""}, {"bench", "/", "order-00001"}, {"a", "", "bc"}, {"\xff\x00"}} {
		h := fnv.New64a()
		for _, p := range parts {
			_, _ = h.Write([]byte(p))
		}
		assert.Equal(t, h.Sum64(), fnv64a(parts...), "%q", parts)
	}
}

// BenchmarkResyncSpreaderWaiting reports what a waiting resync holds: the
// heap a resync of 10,000 objects keeps until their batches are released.
func BenchmarkResyncSpreaderWaiting(b *testing.B) {
	const n = 10000
	keys := make([]cache.ObjectName, n)
	for i := range keys {
		keys[i] = cache.ObjectName{Namespace: "bench", Name: fmt.Sprintf("order-%05d-%016x", i/10, i)}
	}
	var perKey float64
	for b.Loop() {
		q := NewQueue("bench-resync")
		s := &ResyncSpreader{Queue: q, Window: 10 * time.Minute}
		before := liveHeapBytes()
		for _, key := range keys {
			s.Enqueue(key)
		}
		perKey = float64(liveHeapBytes()-before) / n
		q.ShutDown()
		runtime.KeepAlive(s)
	}
	b.ReportMetric(perKey, "B/waiting-resync")
}

// liveHeapBytes is the heap in use after a full collection.
func liveHeapBytes() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestResyncDelaysSpreadOverTheWindow checks that 10,000 objects (one
// namespace, names as the Order controller makes them) resync in every
// tenth of the window, none with more than twice its share, in batches a
// second apart.
func TestResyncDelaysSpreadOverTheWindow(t *testing.T) {
	const n, buckets = 10000, 10
	window := 20 * time.Second
	var count [buckets]int
	seen := map[time.Duration]bool{}
	for i := range n {
		d := resyncDelay(cache.ObjectName{Namespace: "bench", Name: fmt.Sprintf("order-%05d-%016x", i/10, i)}, window)
		require.GreaterOrEqual(t, d, time.Duration(0))
		require.Less(t, d, window)
		count[int(d*buckets/window)]++
		seen[d] = true
		assert.Equal(t, d, resyncDelay(cache.ObjectName{Namespace: "bench", Name: fmt.Sprintf("order-%05d-%016x", i/10, i)}, window),
			"the same object must keep its place")
	}
	for b, c := range count {
		assert.Less(t, c, 2*n/buckets, "tenth %d of the window holds %d of %d resyncs", b, c, n)
		assert.Greater(t, c, n/buckets/2, "tenth %d of the window holds %d of %d resyncs", b, c, n)
	}
	assert.Len(t, seen, int(window/resyncBatch), "every batch of the window is used, and only whole batches")
}

package controller

import (
	"context"
	"fmt"
	"hash/fnv"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/artifact-conduit/arc/pkg/controller/controllertest"
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
			s.enqueue(key)
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

// TestResyncSpreaderRunResyncsTheCacheEveryPeriod checks that Run queues
// every key the cache holds at that moment once per period, keys of
// cluster-scoped objects included, and nothing in between.
func TestResyncSpreaderRunResyncsTheCacheEveryPeriod(t *testing.T) {
	const period = 20 * time.Second
	s, q, clock := newTestSpreader(t, 0)
	s.Period = period
	store := cache.NewStore(cache.MetaNamespaceKeyFunc)
	for _, m := range []metav1.ObjectMeta{{Namespace: "team-a", Name: "a"}, {Namespace: "team-b", Name: "b"}, {Name: "cluster-wide"}} {
		require.NoError(t, store.Add(&metav1.PartialObjectMetadata{ObjectMeta: m}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		s.Run(ctx, store.ListKeys)
	}()

	waitForTimer := func() {
		require.Eventually(t, clock.HasWaiters, 5*time.Second, time.Millisecond, "Run set no timer")
	}
	waitForTimer()
	clock.Step(period - time.Millisecond)
	assert.Zero(t, q.Len(), "a resync before its period")
	clock.Step(time.Millisecond)
	require.Eventually(t, func() bool { return q.Len() == 3 }, 5*time.Second, time.Millisecond, "the first period resynced %d of 3 objects", q.Len())
	assert.ElementsMatch(t, []cache.ObjectName{{Namespace: "team-a", Name: "a"}, {Namespace: "team-b", Name: "b"}, {Name: "cluster-wide"}}, drainKeys(q))

	// The next period resyncs what the cache holds then.
	require.NoError(t, store.Add(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "new"}}))
	require.NoError(t, store.Delete(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: "b"}}))
	waitForTimer()
	clock.Step(period)
	require.Eventually(t, func() bool { return q.Len() == 3 }, 5*time.Second, time.Millisecond, "the second period resynced %d of 3 objects", q.Len())
	assert.ElementsMatch(t, []cache.ObjectName{{Namespace: "team-a", Name: "a"}, {Namespace: "team-a", Name: "new"}, {Name: "cluster-wide"}}, drainKeys(q))

	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return when its context ended")
	}
}

func TestResyncSpreaderWithoutAPeriodResyncsNothing(t *testing.T) {
	s, _, clock := newTestSpreader(t, 0)
	listed := false
	s.Run(context.Background(), func() []string { listed = true; return []string{"team-a/a"} })
	assert.False(t, listed, "Run returned at once, without listing the cache")
	assert.False(t, clock.HasWaiters(), "and without a timer")
}

func TestResyncSpreaderEverySpreadsOverHalfThePeriod(t *testing.T) {
	var s ResyncSpreader
	s.Every(10 * time.Minute)
	assert.Equal(t, 10*time.Minute, s.Period)
	assert.Equal(t, 5*time.Minute, s.Window)
}

// drainKeys empties q and returns what it held.
func drainKeys(q Queue) []cache.ObjectName {
	var keys []cache.ObjectName
	for q.Len() > 0 {
		key, _ := q.Get()
		q.Done(key)
		keys = append(keys, key)
	}
	return keys
}

// TestResyncSpreaderKeepsABatchUnderOneTimer checks that the resyncs of a
// whole cache wait in their batches, one timer each, not one delayed queue
// entry per object, and that each batch is queued at its place in the
// window.
func TestResyncSpreaderKeepsABatchUnderOneTimer(t *testing.T) {
	const n = 1000
	window := 10 * time.Second
	s, q, clock := newTestSpreader(t, window)
	byDelay := map[time.Duration]int{}
	for i := range n {
		key := cache.ObjectName{Namespace: "bench", Name: fmt.Sprintf("order-%05d-%016x", i/10, i)}
		s.enqueue(key)
		byDelay[resyncDelay(key, window)]++
	}
	atOnce := byDelay[0]
	assert.Equal(t, atOnce, q.Len(), "only the first batch is queued at once")
	assert.Equal(t, n-atOnce, s.waitingKeys(), "the others wait for their batch")
	assert.Equal(t, len(byDelay)-1, clock.Waiters(), "one timer per waiting batch")
	start := clock.Now()
	queued := atOnce
	for d := resyncBatch; d < window; d += resyncBatch {
		clock.SetTime(start.Add(d)) // the batch's time
		queued += byDelay[d]
		for {
			// Each slice of the batch, until all of it is queued.
			settleResyncFeed(t, s, clock, int((window-d-1)/resyncBatch))
			if !s.isFeeding() {
				break
			}
			clock.Step(resyncSlice)
		}
		require.Equal(t, queued, q.Len(), "after %v", d)
	}
	settleResyncFeed(t, s, clock, 0)
	assert.Zero(t, s.waitingKeys(), "every batch was released")
	assert.Zero(t, clock.Waiters(), "no timer is left")
}

// TestResyncSpreaderFeedsABatchInSlices checks that a released batch is
// queued a slice at a time over one batch interval, so that a key queued
// after the release waits behind one slice, not the whole batch.
func TestResyncSpreaderFeedsABatchInSlices(t *testing.T) {
	const n = 1000
	window := 2 * resyncBatch // two batches: at once, and one interval later
	s, q, clock := newTestSpreader(t, window)
	for _, key := range keysWithResyncDelay(n, window, resyncBatch) {
		s.enqueue(key)
	}
	require.Zero(t, q.Len())
	clock.Step(resyncBatch)
	// A second in slices of 10 ms: a hundredth of the batch each.
	const perSlice = n / 100
	for i := 1; i <= slicesPerBatch; i++ {
		settleResyncFeed(t, s, clock, 0)
		require.Equal(t, i*perSlice, q.Len(), "after %d slices", i)
		if i == 1 {
			newWork := cache.ObjectName{Namespace: "bench", Name: "new-order"}
			q.Add(newWork)
			first, _ := q.Get()
			q.Done(first)
			assert.NotEqual(t, newWork, first, "the first slice was queued before the new work")
			for range perSlice - 1 {
				key, _ := q.Get()
				q.Done(key)
			}
			key, _ := q.Get()
			q.Done(key)
			assert.Equal(t, newWork, key, "new work waits behind one slice of the batch")
			// Back to counting the batch's keys alone.
			for j := 0; j < perSlice; j++ {
				q.Add(cache.ObjectName{Namespace: "bench", Name: fmt.Sprint("stand-in-", j)})
			}
		}
		clock.Step(resyncSlice)
	}
	settleResyncFeed(t, s, clock, 0)
	assert.False(t, s.isFeeding())
	assert.Zero(t, s.waitingKeys())
	assert.Equal(t, n, q.Len())
}

// TestResyncSpreaderQueuesASmallBatchAtOnce checks that a batch of fewer
// keys than a slice holds is queued whole on its release: slicing it would
// only wake the feed for nothing.
func TestResyncSpreaderQueuesASmallBatchAtOnce(t *testing.T) {
	window := 2 * resyncBatch
	s, q, clock := newTestSpreader(t, window)
	for _, key := range keysWithResyncDelay(5, window, resyncBatch) {
		s.enqueue(key)
	}
	clock.Step(resyncBatch)
	settleResyncFeed(t, s, clock, 0)
	assert.False(t, s.isFeeding(), "a small batch needs no second slice")
	assert.Equal(t, 5, q.Len(), "the whole batch is queued on its release")
}

// TestResyncSpreaderCatchesUpWithALaterBatch checks that a batch released
// while an earlier one is still being fed speeds the feed up: everything due
// is queued within one batch interval of the last release.
func TestResyncSpreaderCatchesUpWithALaterBatch(t *testing.T) {
	window := 3 * resyncBatch
	s, q, clock := newTestSpreader(t, window)
	for _, key := range keysWithResyncDelay(300, window, resyncBatch) {
		s.enqueue(key)
	}
	for _, key := range keysWithResyncDelay(700, window, 2*resyncBatch) {
		s.enqueue(key)
	}
	// Both batches released one after the other, as a late timer would;
	// their own timers release nothing when their time comes.
	start := clock.Now()
	timersLeft := func() int {
		return int((window - 1 - clock.Since(start)) / resyncBatch)
	}
	s.release(resyncBatch)
	s.release(2 * resyncBatch)
	slices := 0
	for {
		settleResyncFeed(t, s, clock, timersLeft())
		if !s.isFeeding() {
			break
		}
		clock.Step(resyncSlice)
		slices++
	}
	assert.Equal(t, 1000, q.Len())
	assert.LessOrEqual(t, slices, slicesPerBatch, "queued within one batch interval")
}

// TestResyncSpreaderAfterShutdown checks that a batch released after its
// queue shut down is dropped, not a panic.
func TestResyncSpreaderAfterShutdown(t *testing.T) {
	clock := clocktesting.NewFakeClock(time.Unix(1700000000, 0))
	q := newTestQueue(clocktesting.NewFakeClock(time.Unix(1700000000, 0)))
	s := &ResyncSpreader{Queue: q, Window: time.Minute, Clock: clock}
	for i := range 100 {
		s.enqueue(cache.ObjectName{Namespace: "bench", Name: fmt.Sprint(i)})
	}
	atOnce := q.Len()
	q.ShutDown()
	clock.Step(time.Minute)
	settleResyncFeed(t, s, clock, 0)
	assert.Zero(t, s.waitingKeys())
	assert.Equal(t, atOnce, q.Len(), "nothing was added after the shutdown")
}

// newTestSpreader returns a spreader over window with a fake clock of its
// own, so that the clock's waiters are the spreader's timers, and its queue,
// shut down when the test ends.
func newTestSpreader(t *testing.T, window time.Duration) (*ResyncSpreader, Queue, *clocktesting.FakeClock) {
	clock := clocktesting.NewFakeClock(time.Unix(1700000000, 0))
	q := newTestQueue(clocktesting.NewFakeClock(time.Unix(1700000000, 0)))
	t.Cleanup(q.ShutDown)
	return &ResyncSpreader{Queue: q, Window: window, Clock: clock}, q, clock
}

// keysWithResyncDelay returns n keys whose resync waits delay in window.
func keysWithResyncDelay(n int, window, delay time.Duration) []cache.ObjectName {
	var keys []cache.ObjectName
	for i := 0; len(keys) < n; i++ {
		key := cache.ObjectName{Namespace: "bench", Name: fmt.Sprintf("order-%05d-%016x", i/10, i)}
		if resyncDelay(key, window) == delay {
			keys = append(keys, key)
		}
	}
	return keys
}

// settleResyncFeed waits until the spreader's feed has queued its slice and
// waits for the next one, or has nothing left to feed; timers is how many
// batch timers are still waiting on clock.
func settleResyncFeed(t *testing.T, s *ResyncSpreader, clock *clocktesting.FakeClock, timers int) {
	t.Helper()
	require.Eventually(t, func() bool {
		want := timers
		if s.isFeeding() {
			want++
		}
		return clock.Waiters() == want
	}, 5*time.Second, time.Millisecond, "the feed did not settle")
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
		before := controllertest.LiveHeapBytes()
		for _, key := range keys {
			s.enqueue(key)
		}
		perKey = float64(controllertest.LiveHeapBytes()-before) / n
		q.ShutDown()
		runtime.KeepAlive(s)
	}
	b.ReportMetric(perKey, "B/waiting-resync")
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

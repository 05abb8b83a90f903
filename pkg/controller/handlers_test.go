package controller

import (
	"fmt"
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
			ResyncSpreader{Queue: q, Window: tc.window}.Enqueue(key)
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

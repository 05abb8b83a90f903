package controller

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/artifact-conduit/arc/pkg/metrics"
)

func TestHandleResult(t *testing.T) {
	key := cache.ObjectName{Namespace: "team-a", Name: "o"}
	cases := []struct {
		name         string
		err          error
		wantResult   string
		wantRequeues int
	}{
		{name: "success forgets the key", err: nil, wantResult: metrics.ResultSuccess, wantRequeues: 0},
		{name: "a conflict is retried quietly with backoff", err: apierrors.NewConflict(schema.GroupResource{Resource: "orders"}, "o", errors.New("stale")), wantResult: metrics.ResultRequeue, wantRequeues: 1},
		{name: "any other error is retried with backoff", err: errors.New("connection refused"), wantResult: metrics.ResultError, wantRequeues: 1},
		{name: "a joined error is retried, whatever it wraps", err: errors.Join(errors.New("writing status: timeout"), errors.New("bad input")), wantResult: metrics.ResultError, wantRequeues: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := NewQueue("test")
			defer q.ShutDown()
			q.AddRateLimited(key) // an earlier failure, to see Forget
			q.Done(key)
			got := HandleResult(klog.Background(), q, key, tc.err)
			assert.Equal(t, tc.wantResult, got)
			want := tc.wantRequeues
			if tc.err != nil {
				want++ // the earlier failure still counts
			}
			assert.Equal(t, want, q.NumRequeues(key))
		})
	}
}

func TestRetryBackoffIsCappedAtFiveMinutes(t *testing.T) {
	limiter := NewRateLimiter()
	key := cache.ObjectName{Name: "failing"}
	var last time.Duration
	for range 40 {
		last = limiter.When(key)
	}
	assert.Equal(t, retryMaxDelay, last)
	assert.Equal(t, 5*time.Minute, retryMaxDelay)
}

// blockingWorker is a Worker whose syncs wait until released, and record
// what they saw.
type blockingWorker struct {
	mu       sync.Mutex
	started  []string
	finished []string
	ctxErrs  []error
	release  chan struct{}
	running  chan struct{}
}

func (b *blockingWorker) sync(ctx context.Context, key cache.ObjectName) error {
	b.mu.Lock()
	b.started = append(b.started, key.Name)
	b.mu.Unlock()
	b.running <- struct{}{}
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	b.mu.Lock()
	b.finished = append(b.finished, key.Name)
	b.ctxErrs = append(b.ctxErrs, ctx.Err())
	b.mu.Unlock()
	return nil
}

func newBlockingWorker() (*blockingWorker, Worker) {
	b := &blockingWorker{release: make(chan struct{}), running: make(chan struct{}, 10)}
	synced := func() bool { return true }
	return b, Worker{Name: "test", Queue: NewQueue("test"), Sync: b.sync, CacheSynced: []cache.InformerSynced{synced}}
}

// TestRunFinishesSyncsInFlightAndStartsNoQueuedOne: on shutdown the sync in
// flight completes with a live context, keys still queued are not started
// (they would run with a cancelled context and log errors), and Run returns
// as soon as the sync in flight is done.
func TestRunFinishesSyncsInFlightAndStartsNoQueuedOne(t *testing.T) {
	b, w := newBlockingWorker()
	ctx, cancel := context.WithCancel(context.Background())
	w.Queue.Add(cache.ObjectName{Name: "in-flight"})
	done := make(chan error)
	go func() { done <- Run(ctx, w, 1, time.Minute) }()
	<-b.running
	w.Queue.Add(cache.ObjectName{Name: "queued"})

	cancel()
	select {
	case <-done:
		t.Fatal("Run returned while a sync was in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(b.release)
	require.NoError(t, <-done)
	assert.Equal(t, []string{"in-flight"}, b.started, "the queued key is not started after shutdown")
	assert.Equal(t, []string{"in-flight"}, b.finished)
	assert.Equal(t, []error{nil}, b.ctxErrs, "the sync in flight finished with a live context")
}

// TestRunCancelsSyncsThatOutlastTheGracePeriod: a sync that does not finish
// within the grace period is cancelled, and Run returns.
func TestRunCancelsSyncsThatOutlastTheGracePeriod(t *testing.T) {
	b, w := newBlockingWorker()
	ctx, cancel := context.WithCancel(context.Background())
	w.Queue.Add(cache.ObjectName{Name: "slow"})
	done := make(chan error)
	go func() { done <- Run(ctx, w, 1, 50*time.Millisecond) }()
	<-b.running
	cancel()
	require.NoError(t, <-done)
	assert.Equal(t, []error{context.Canceled}, b.ctxErrs, "the sync saw its context cancelled once the grace period was over")
}

// TestRunRunsTheResyncOnceCachesSyncedUntilShutdown: the Worker's Resync
// starts only once the caches synced, and Run returns only after it did.
func TestRunRunsTheResyncOnceCachesSyncedUntilShutdown(t *testing.T) {
	var cachesSynced atomic.Bool
	resyncing, resyncDone := make(chan bool, 1), make(chan struct{})
	w := Worker{Name: "test", Queue: NewQueue("test"), Sync: func(context.Context, cache.ObjectName) error { return nil },
		CacheSynced: []cache.InformerSynced{cachesSynced.Load},
		Resync: func(ctx context.Context) {
			resyncing <- cachesSynced.Load()
			<-ctx.Done()
			close(resyncDone)
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- Run(ctx, w, 1, time.Minute) }()
	select {
	case <-resyncing:
		t.Fatal("the resync started before the caches synced")
	case <-time.After(200 * time.Millisecond):
	}
	cachesSynced.Store(true)
	assert.True(t, <-resyncing, "the resync started once the caches synced")
	cancel()
	require.NoError(t, <-done)
	select {
	case <-resyncDone:
	default:
		t.Fatal("Run returned before the resync ended")
	}
}

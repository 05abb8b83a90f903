package controller

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/artifact-conduit/arc/pkg/metrics"
)

// Queue is the work queue of a controller: object names, rate limited.
type Queue = workqueue.TypedRateLimitingInterface[cache.ObjectName]

// Retry backoff of a failing key: doubling from the first delay up to the
// maximum. client-go's default goes up to 1,000 s; a key failing on a
// transient API error should not wait a quarter of an hour once it heals.
const (
	retryBaseDelay = 5 * time.Millisecond
	retryMaxDelay  = 5 * time.Minute
)

// NewQueue returns a named rate-limited queue. The name labels the queue's
// metrics. Retries back off per key from retryBaseDelay to retryMaxDelay; an
// overall token bucket (10 per second, bursts of 100, as client-go's default)
// keeps a burst of failures from flooding the API server.
func NewQueue(name string) Queue {
	return workqueue.NewTypedRateLimitingQueueWithConfig(NewRateLimiter(),
		workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: name},
	)
}

// NewRateLimiter is the retry rate limiter of NewQueue.
func NewRateLimiter() workqueue.TypedRateLimiter[cache.ObjectName] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[cache.ObjectName](retryBaseDelay, retryMaxDelay),
		&workqueue.TypedBucketRateLimiter[cache.ObjectName]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
	)
}

// SyncFunc brings the object named by key to its desired state.
type SyncFunc func(ctx context.Context, key cache.ObjectName) error

// Worker is what Run needs to drive one controller.
type Worker struct {
	// Name of the controller, for logs and metrics.
	Name string
	// Queue holds the keys to sync.
	Queue Queue
	// Sync handles one key.
	Sync SyncFunc
	// CacheSynced are the HasSynced functions of the informers the controller reads.
	CacheSynced []cache.InformerSynced
	// Resync, if set, runs beside the workers until its context ends and
	// queues the periodic resyncs (ResyncSpreader.Run).
	Resync func(ctx context.Context)
}

// Run waits for the caches, then runs workers goroutines, and the Worker's
// Resync, until ctx ends. On shutdown it starts no new sync, and lets the
// syncs in flight finish with a context that outlives ctx by at most grace,
// so a SIGTERM does not cut API calls off halfway. Keys still queued are
// dropped: ARC keeps no state outside the API server, and the next leader's
// informers queue every object again.
func Run(ctx context.Context, w Worker, workers int, grace time.Duration) error {
	logger := klog.FromContext(ctx).WithValues("controller", w.Name)
	ctx = klog.NewContext(ctx, logger)
	defer utilruntime.HandleCrashWithContext(ctx)

	logger.Info("Waiting for informer caches to sync")
	if !cache.WaitForNamedCacheSyncWithContext(ctx, w.CacheSynced...) {
		w.Queue.ShutDown()
		return fmt.Errorf("%s: caches did not sync before shutdown", w.Name)
	}

	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	workCtx = WithStopping(workCtx, ctx.Done())
	logger.Info("Starting workers", "count", workers)
	var wg sync.WaitGroup
	if w.Resync != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Resync(ctx)
		}()
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			processAll(workCtx, w)
		}()
	}

	<-ctx.Done()
	logger.Info("Shutting down: finishing the syncs in flight", "grace", grace)
	w.Queue.ShutDown()
	stopped := make(chan struct{})
	go func() {
		wg.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(grace):
		logger.Info("Grace period over: cancelling the syncs still running")
		cancelWork()
		<-stopped
	}
	logger.Info("Workers stopped")
	return nil
}

// processAll handles keys until the queue shuts down.
func processAll(ctx context.Context, w Worker) {
	for processNext(ctx, w) {
	}
}

// processNext syncs one key and applies the error policy. It returns false
// once the queue is shut down. A queue that is shutting down still hands out
// the keys it holds; they are dropped unsynced rather than started late.
func processNext(ctx context.Context, w Worker) bool {
	key, shutdown := w.Queue.Get()
	if shutdown {
		return false
	}
	defer w.Queue.Done(key)
	if w.Queue.ShuttingDown() {
		return true
	}

	logger := klog.FromContext(ctx).WithValues("key", key.String())
	start := time.Now()
	err := w.Sync(klog.NewContext(ctx, logger), key)
	result := HandleResult(logger, w.Queue, key, err)
	took := time.Since(start)
	metrics.ObserveSync(w.Name, result, took)
	if err != nil {
		metrics.ObserveSyncError(w.Name, err)
	}
	// One line per sync, keyed like every line the sync logged: with the
	// writes of -v=2 it tells how often an object was looked at and why.
	logger.V(4).Info("Synced", "result", result, "duration", took)
	return true
}

// HandleResult applies ARC's error policy to the outcome of a sync and
// returns the result label for metrics. A sync returns an error only when
// the key must be retried: bad user input is reported in a status and an
// event and ends the sync without error, and a sync that must look again
// later queues its key with AddAfter itself.
//   - success forgets the key's backoff;
//   - a conflict means our cache was stale: retry with backoff, quietly;
//   - anything else is logged and retried with backoff.
func HandleResult(logger klog.Logger, queue Queue, key cache.ObjectName, err error) string {
	if err == nil {
		queue.Forget(key)
		return metrics.ResultSuccess
	}
	if apierrors.IsConflict(err) {
		logger.V(4).Info("Conflict, retrying with a fresh cache", "err", err)
		queue.AddRateLimited(key)
		return metrics.ResultRequeue
	}
	logger.Error(err, "Sync failed, retrying", "retries", queue.NumRequeues(key))
	queue.AddRateLimited(key)
	return metrics.ResultError
}

// stoppingKey is the context key under which Run hands its syncs the
// channel that closes when shutdown begins.
type stoppingKey struct{}

// WithStopping returns ctx for syncs that learn through ShuttingDown when
// stopping closes.
func WithStopping(ctx context.Context, stopping <-chan struct{}) context.Context {
	return context.WithValue(ctx, stoppingKey{}, stopping)
}

// ShuttingDown tells a sync whether its controller is shutting down. The
// sync's context stays live for the grace period so that API calls in
// flight complete; a sync that makes many calls in a row (an Order's
// creates) should stop between two of them instead, and leave the rest to
// the next leader, so the Lease changes hands quickly.
func ShuttingDown(ctx context.Context) bool {
	stopping, _ := ctx.Value(stoppingKey{}).(<-chan struct{})
	if stopping == nil {
		return false
	}
	select {
	case <-stopping:
		return true
	default:
		return false
	}
}

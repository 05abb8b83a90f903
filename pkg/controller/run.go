package controller

import (
	"context"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/artifact-conduit/arc/pkg/metrics"
)

// Queue is the work queue of a controller: object names, rate limited.
type Queue = workqueue.TypedRateLimitingInterface[cache.ObjectName]

// NewQueue returns a named rate-limited queue. The name labels the queue's
// metrics. Retries back off per key from 5ms to 5 minutes; an overall token
// bucket keeps a burst of failures from flooding the API server.
func NewQueue(name string) Queue {
	return workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](),
		workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: name},
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
}

// Run waits for the caches, then runs workers goroutines until ctx ends. On
// shutdown it stops taking new keys and drains the queue: syncs in flight and
// keys already queued are finished with a context that outlives ctx by at
// most grace, so a SIGTERM does not cut API calls off halfway.
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
	logger.Info("Starting workers", "count", workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait.UntilWithContext(workCtx, func(ctx context.Context) { processAll(ctx, w) }, time.Second)
		}()
	}

	<-ctx.Done()
	logger.Info("Shutting down: draining the queue", "grace", grace)
	drained := make(chan struct{})
	go func() {
		select {
		case <-drained:
		case <-time.After(grace):
			logger.Info("Grace period over: cancelling the syncs still running")
			cancelWork()
		}
	}()
	w.Queue.ShutDownWithDrain()
	close(drained)
	cancelWork()
	wg.Wait()
	logger.Info("Workers stopped")
	return nil
}

// processAll handles keys until the queue shuts down.
func processAll(ctx context.Context, w Worker) {
	for processNext(ctx, w) {
	}
}

// processNext syncs one key and applies the error policy. It returns false
// once the queue is shut down.
func processNext(ctx context.Context, w Worker) bool {
	key, shutdown := w.Queue.Get()
	if shutdown {
		return false
	}
	defer w.Queue.Done(key)

	logger := klog.FromContext(ctx).WithValues("key", key.String())
	start := time.Now()
	err := w.Sync(klog.NewContext(ctx, logger), key)
	result := HandleResult(logger, w.Queue, key, err)
	took := time.Since(start)
	metrics.ObserveSync(w.Name, result, took)
	// One line per sync, keyed like every line the sync logged: with the
	// writes of -v=2 it tells how often an object was looked at and why.
	logger.V(4).Info("Synced", "result", result, "duration", took)
	return true
}

// HandleResult applies ARC's error policy to the outcome of a sync and
// returns the result label for metrics:
//   - success forgets the key's backoff;
//   - invalid user input was reported by the sync; the key is forgotten, not
//     retried in a loop, and comes back when something relevant changes;
//   - RequeueAfter schedules the key again after its delay;
//   - a conflict means our cache was stale: retry with backoff, quietly;
//   - anything else is logged and retried with backoff.
func HandleResult(logger klog.Logger, queue Queue, key cache.ObjectName, err error) string {
	if err == nil {
		queue.Forget(key)
		return metrics.ResultSuccess
	}
	if IsInvalidInput(err) {
		logger.V(2).Info("Invalid input reported; not retrying", "reason", err.Error())
		queue.Forget(key)
		return metrics.ResultInvalid
	}
	if d, ok := requeueDelay(err); ok {
		logger.V(2).Info("Requeueing", "after", d, "reason", err.Error())
		queue.Forget(key)
		queue.AddAfter(key, d)
		return metrics.ResultRequeue
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

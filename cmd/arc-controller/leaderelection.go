package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
)

// electionTimings are the leader election's durations (see the
// --leader-elect-* flags).
type electionTimings struct {
	leaseDuration, renewDeadline, retryPeriod time.Duration
}

// errLostLease ends a leader whose Lease was taken or could not be renewed.
var errLostLease = errors.New("lost the leader election Lease")

// runWhileLeading runs run while this replica holds the Lease of lock, and
// returns what run returned.
//
// client-go's LeaderElector starts OnStartedLeading in a goroutine of its own
// and, with ReleaseOnCancel, releases the Lease as soon as its context ends,
// without waiting for that goroutine. Tied to the signal context, that would
// hand the Lease to the next replica while this one still drains, and end the
// process before the drain is over. So the election gets a context of its
// own, which is cancelled only once run has returned: on SIGTERM the
// controllers drain first, then the Lease is released, then the process
// exits. When run fails to start, the Lease is released at once and the
// error ends the process instead of a replica that renews the Lease and does
// no work.
//
// A replica that loses the Lease returns errLostLease without waiting: the
// next leader may already work, and ending the process is the surest way to
// stop every write of this one.
func runWhileLeading(ctx context.Context, lock resourcelock.Interface, t electionTimings, ready *readiness, run func(context.Context) error) error {
	logger := klog.FromContext(ctx)
	electionCtx, stopElection := context.WithCancel(context.WithoutCancel(ctx))
	defer stopElection()

	var (
		leading atomic.Bool
		mu      sync.Mutex
		runErr  error
		ran     = make(chan struct{})
	)
	ready.standby.Store(true)
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   t.leaseDuration,
		RenewDeadline:   t.renewDeadline,
		RetryPeriod:     t.retryPeriod,
		ReleaseOnCancel: true,
		Name:            lock.Describe(),
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leaderCtx context.Context) {
				leading.Store(true)
				ready.standby.Store(false)
				// The controllers stop on SIGTERM or when the Lease is lost.
				runCtx, cancel := context.WithCancel(leaderCtx)
				stop := context.AfterFunc(ctx, cancel)
				err := run(runCtx)
				stop()
				cancel()
				mu.Lock()
				runErr = err
				mu.Unlock()
				close(ran)
				// Only now may the next replica take over.
				stopElection()
			},
			OnStoppedLeading: func() {},
			OnNewLeader: func(id string) {
				if id != lock.Identity() {
					logger.Info("Standing by; another replica leads", "leader", id)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	// A standby has nothing to drain: SIGTERM ends its election at once.
	stopStandby := context.AfterFunc(ctx, func() {
		if !leading.Load() {
			stopElection()
		}
	})
	defer stopStandby()

	elector.Run(electionCtx)

	switch {
	case !leading.Load():
		return nil // SIGTERM while standing by
	case ctx.Err() == nil:
		select {
		case <-ran: // run ended by itself, for example failing to start
		default:
			return errLostLease
		}
	default:
		<-ran // SIGTERM: run drains within its grace period
	}
	mu.Lock()
	defer mu.Unlock()
	return runErr
}

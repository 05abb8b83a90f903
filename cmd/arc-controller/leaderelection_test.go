package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/ptr"
)

const testLease = "arc-controller"

var fastElection = electionTimings{leaseDuration: 2 * time.Second, renewDeadline: 1500 * time.Millisecond, retryPeriod: 100 * time.Millisecond}

// leaseWatcher records when the Lease was released (its holder emptied).
type leaseWatcher struct {
	mu         sync.Mutex
	releasedAt time.Time
}

func (w *leaseWatcher) released() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.releasedAt
}

func newLeaseClient(t *testing.T, objects ...runtime.Object) (*fake.Clientset, *leaseWatcher) {
	t.Helper()
	client := fake.NewSimpleClientset(objects...)
	w := &leaseWatcher{}
	client.PrependReactor("update", "leases", func(action k8stesting.Action) (bool, runtime.Object, error) {
		lease := action.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease)
		if ptr.Deref(lease.Spec.HolderIdentity, "") == "" {
			w.mu.Lock()
			w.releasedAt = time.Now()
			w.mu.Unlock()
		}
		return false, nil, nil
	})
	return client, w
}

func leaseLock(client *fake.Clientset, identity string) resourcelock.Interface {
	return &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: "arc-system", Name: testLease},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
	}
}

// TestLeaseIsReleasedOnlyAfterTheDrain: on SIGTERM the controllers drain
// while this replica still holds the Lease; the Lease goes only afterwards,
// and runWhileLeading returns only then.
func TestLeaseIsReleasedOnlyAfterTheDrain(t *testing.T) {
	client, watcher := newLeaseClient(t)
	ctx, sigterm := context.WithCancel(context.Background())
	started := make(chan struct{})
	var drainedAt time.Time
	run := func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		time.Sleep(300 * time.Millisecond) // the drain
		drainedAt = time.Now()
		return nil
	}
	done := make(chan error)
	go func() { done <- runWhileLeading(ctx, leaseLock(client, "me"), fastElection, &readiness{}, run) }()
	<-started
	sigterm()
	require.NoError(t, <-done)
	require.False(t, drainedAt.IsZero(), "the controllers drained")
	released := watcher.released()
	require.False(t, released.IsZero(), "the Lease was released")
	assert.True(t, released.After(drainedAt), "the Lease was released %v before the drain ended", drainedAt.Sub(released))
}

// TestFailedStartReleasesTheLeaseAndFails: controllers that cannot start end
// the process with their error instead of holding the Lease idle.
func TestFailedStartReleasesTheLeaseAndFails(t *testing.T) {
	client, watcher := newLeaseClient(t)
	boom := errors.New("caches did not sync")
	err := runWhileLeading(context.Background(), leaseLock(client, "me"), fastElection, &readiness{},
		func(context.Context) error { return boom })
	require.ErrorIs(t, err, boom)
	assert.False(t, watcher.released().IsZero(), "the Lease was released for another replica")
}

// TestStandbyStopsAtOnceOnSIGTERM: a replica that never led has nothing to
// drain and returns without error.
func TestStandbyStopsAtOnceOnSIGTERM(t *testing.T) {
	now := metav1.NewMicroTime(time.Now())
	held := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "arc-system", Name: testLease},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity: ptr.To("other"), LeaseDurationSeconds: ptr.To[int32](3600),
			AcquireTime: &now, RenewTime: &now,
		},
	}
	client, _ := newLeaseClient(t, held)
	ctx, sigterm := context.WithCancel(context.Background())
	ran := false
	done := make(chan error)
	ready := &readiness{}
	go func() {
		done <- runWhileLeading(ctx, leaseLock(client, "me"), fastElection, ready, func(context.Context) error { ran = true; return nil })
	}()
	time.Sleep(300 * time.Millisecond)
	assert.True(t, ready.ready(), "a standby is ready, so rolling updates proceed")
	sigterm()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("a standby did not stop on SIGTERM")
	}
	assert.False(t, ran, "a standby never runs the controllers")
}

// TestLostLeaseEndsTheLeader: when another replica takes the Lease, the
// former leader returns errLostLease at once.
func TestLostLeaseEndsTheLeader(t *testing.T) {
	client, _ := newLeaseClient(t)
	// Renewals fail once unreachable is set, as when the API server is gone.
	var unreachable atomic.Bool
	client.PrependReactor("update", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		if unreachable.Load() {
			return true, nil, errors.New("connection refused")
		}
		return false, nil, nil
	})
	started := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- runWhileLeading(context.Background(), leaseLock(client, "me"), fastElection, &readiness{},
			func(ctx context.Context) error { close(started); <-ctx.Done(); time.Sleep(time.Hour); return nil })
	}()
	<-started
	unreachable.Store(true)
	select {
	case err := <-done:
		require.ErrorIs(t, err, errLostLease)
	case <-time.After(10 * time.Second):
		t.Fatal("the leader kept going after losing its Lease")
	}
}

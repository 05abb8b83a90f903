package main

import (
	"context"
	"fmt"
	"os"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"

	"github.com/artifact-conduit/arc/pkg/metrics"
)

func run(ctx context.Context, o options) error {
	logger := klog.FromContext(ctx)
	cl, err := newClients(o)
	if err != nil {
		return err
	}
	if err := cl.preflight(ctx); err != nil {
		return err
	}
	metrics.Register()

	ready := &readiness{}
	if err := serveMetrics(ctx, o, cl.metricsAuth); err != nil {
		return fmt.Errorf("--metrics-bind-address: %w", err)
	}
	if err := serve(ctx, "probes", o.healthProbeAddress, probeHandler(ready), nil); err != nil {
		return fmt.Errorf("--health-probe-bind-address: %w", err)
	}

	runAll := func(ctx context.Context) error {
		metrics.SetLeading(true)
		defer metrics.SetLeading(false)
		return runControllers(ctx, cl, o, ready)
	}
	if !o.leaderElect {
		return runAll(ctx)
	}
	hostname, _ := os.Hostname()
	identity := hostname + "_" + string(uuid.NewUUID())
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: o.leaseNamespace, Name: o.leaseName},
		Client:     cl.leaderElection.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
	}
	logger.Info("Waiting for the leader election Lease", "lease", klog.KRef(o.leaseNamespace, o.leaseName), "identity", identity)
	return runWhileLeading(ctx, lock, electionTimings{o.leaseDuration, o.renewDeadline, o.retryPeriod}, ready, runAll)
}

// Package metrics declares ARC's Prometheus metrics in one place: the
// workqueue metrics of both controllers, the duration and result of every
// sync, the number of objects per phase, and the domain metrics of
// domain.go (Orders and artifacts by phase, completed artifacts, their
// durations, the last success per type, sync errors, leadership).
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/util/workqueue"
)

const namespace = "arc"

// Registry is the registry /metrics serves. It holds ARC's metrics and the Go
// and process collectors, and nothing registered by libraries behind our back.
var Registry = prometheus.NewRegistry()

var (
	syncDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace,
		Name:      "sync_duration_seconds",
		Help:      "Time one sync of one object took, by controller and result.",
		Buckets:   prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"controller", "result"})

	registerOnce sync.Once
)

// Sync results, the values of the "result" label of arc_sync_duration_seconds.
const (
	ResultSuccess = "success"
	ResultRequeue = "requeue" // conflict or work not done yet, retried quietly
	ResultError   = "error"   // API or other errors, retried with backoff
)

// Register adds ARC's metrics to Registry and installs the workqueue metrics
// provider. Call it once, before any workqueue is created: client-go binds a
// queue's metrics when the queue is made.
func Register() {
	registerOnce.Do(func() {
		Registry.MustRegister(
			prometheus.NewGoCollector(),
			prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}),
			syncDuration,
			artifactsCompleted, artifactDuration, syncErrors, leader,
		)
		workqueue.SetProvider(newQueueMetricsProvider(Registry))
	})
}

// ObserveSync records how long a sync took and how it ended.
func ObserveSync(controller, result string, took time.Duration) {
	syncDuration.WithLabelValues(controller, result).Observe(took.Seconds())
}

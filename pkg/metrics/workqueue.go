package metrics

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/component-base/metrics/legacyregistry"
)

// queueMetricsProvider exposes client-go's workqueue metrics under the
// names Kubernetes components use (workqueue_depth, workqueue_adds_total, ...),
// labelled by queue name, so existing dashboards work for ARC too.
type queueMetricsProvider struct {
	adds, retries                          *prometheus.CounterVec
	depthGauge, unfinished, longestRunning *prometheus.GaugeVec
	latency, workDuration                  *prometheus.HistogramVec
}

func newQueueMetricsProvider(reg prometheus.Registerer) *queueMetricsProvider {
	p := &queueMetricsProvider{
		depthGauge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Subsystem: "workqueue", Name: "depth",
			Help: "Current depth of the workqueue.",
		}, []string{"name"}),
		adds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: "workqueue", Name: "adds_total",
			Help: "Total number of adds handled by the workqueue.",
		}, []string{"name"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Subsystem: "workqueue", Name: "queue_duration_seconds",
			Help:    "How long an item stays in the workqueue before being processed.",
			Buckets: prometheus.ExponentialBuckets(10e-9, 10, 12),
		}, []string{"name"}),
		workDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Subsystem: "workqueue", Name: "work_duration_seconds",
			Help:    "How long processing an item from the workqueue takes.",
			Buckets: prometheus.ExponentialBuckets(10e-9, 10, 12),
		}, []string{"name"}),
		unfinished: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Subsystem: "workqueue", Name: "unfinished_work_seconds",
			Help: "Seconds of work in progress that has not been observed by work_duration yet.",
		}, []string{"name"}),
		longestRunning: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Subsystem: "workqueue", Name: "longest_running_processor_seconds",
			Help: "Seconds the longest running processor of the workqueue has been running.",
		}, []string{"name"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: "workqueue", Name: "retries_total",
			Help: "Total number of retries handled by the workqueue.",
		}, []string{"name"}),
	}
	reg.MustRegister(p.depthGauge, p.adds, p.latency, p.workDuration, p.unfinished, p.longestRunning, p.retries)
	return p
}

func (p *queueMetricsProvider) NewDepthMetric(name string) workqueue.GaugeMetric {
	return p.depthGauge.WithLabelValues(name)
}

func (p *queueMetricsProvider) NewAddsMetric(name string) workqueue.CounterMetric {
	return p.adds.WithLabelValues(name)
}

func (p *queueMetricsProvider) NewLatencyMetric(name string) workqueue.HistogramMetric {
	return p.latency.WithLabelValues(name)
}

func (p *queueMetricsProvider) NewWorkDurationMetric(name string) workqueue.HistogramMetric {
	return p.workDuration.WithLabelValues(name)
}

func (p *queueMetricsProvider) NewUnfinishedWorkSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return p.unfinished.WithLabelValues(name)
}

func (p *queueMetricsProvider) NewLongestRunningProcessorSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return p.longestRunning.WithLabelValues(name)
}

func (p *queueMetricsProvider) NewRetriesMetric(name string) workqueue.CounterMetric {
	return p.retries.WithLabelValues(name)
}

// Gatherer is what /metrics serves: Registry, and the work queue metrics of
// k8s.io/component-base's registry. client-go takes only the first
// workqueue.SetProvider call, and component-base's workqueue package, which
// k8s.io/apiserver's authentication filters of the /metrics endpoint link
// in, makes that call in its init, before Register can: the queues' metrics
// then land in component-base's legacy registry, under the same names.
// Only the workqueue_ families are taken from it, so nothing else that
// registry holds (or its own Go collector) doubles ARC's.
var Gatherer prometheus.Gatherer = prometheus.Gatherers{Registry, prefixGatherer{legacyregistry.DefaultGatherer, "workqueue_"}}

// prefixGatherer serves the metric families of g whose names start with prefix.
type prefixGatherer struct {
	g      prometheus.Gatherer
	prefix string
}

func (p prefixGatherer) Gather() ([]*dto.MetricFamily, error) {
	families, err := p.g.Gather()
	var out []*dto.MetricFamily
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), p.prefix) {
			out = append(out, f)
		}
	}
	return out, err
}

package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

var objectsDesc = prometheus.NewDesc(
	prometheus.BuildFQName(namespace, "", "objects"),
	"Number of ARC objects in the informer cache, by kind and phase. An empty phase means not started yet.",
	[]string{"kind", "phase"}, nil,
)

// PhaseCounter counts the objects of one kind per phase, from an informer cache.
type PhaseCounter func() map[string]int

// phaseCollector computes arc_objects at scrape time from the informer caches,
// so there is no gauge to keep in step with every status change.
type phaseCollector struct {
	counters map[string]PhaseCounter
}

// RegisterPhaseCounters exposes arc_objects{kind,phase} for the given kinds.
func RegisterPhaseCounters(counters map[string]PhaseCounter) {
	Registry.MustRegister(&phaseCollector{counters: counters})
}

func (c *phaseCollector) Describe(ch chan<- *prometheus.Desc) { ch <- objectsDesc }

func (c *phaseCollector) Collect(ch chan<- prometheus.Metric) {
	for kind, count := range c.counters {
		for phase, n := range count() {
			ch <- prometheus.MustNewConstMetric(objectsDesc, prometheus.GaugeValue, float64(n), kind, phase)
		}
	}
}

package metrics

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	arclisters "github.com/artifact-conduit/arc/pkg/generated/listers/arc/v1alpha1"
)

// Domain metrics: what ARC's objects say, not how its queues work.
//
// Label sets are bounded: namespaces, artifact type names (admins and
// namespace owners create types; an artifact without a resolved type has no
// ArtifactWorkflow, so it never adds a type), phases and API status reasons.
// Object names never become labels.
//
// The gauges are computed at scrape time from the informer caches
// (domainCollector), so a deleted Order or ArtifactWorkflow leaves no stale
// series and the gauges never drift from the cache. The counters and the
// duration histogram count what this process saw finish: they start at zero
// with every leader, as Prometheus counters may.

// Values of the "result" label of the artifact metrics.
const (
	ArtifactSucceeded = "succeeded"
	ArtifactFailed    = "failed"
	ArtifactError     = "error"
)

var (
	artifactsCompleted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace,
		Name:      "artifacts_completed_total",
		Help:      "Runs of artifacts (one Workflow each; a re-run is another) that finished, by artifact type and result (succeeded, failed, error).",
	}, []string{"type", "result"})

	artifactDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace,
		Name:      "artifact_duration_seconds",
		Help:      "Time from the start to the end of an artifact's Workflow, by artifact type and result.",
		// 1 s to about 9 h: a small file copy up to a large mirror.
		Buckets: prometheus.ExponentialBuckets(1, 2, 16),
	}, []string{"type", "result"})

	syncErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace,
		Name:      "sync_errors_total",
		Help:      "Syncs that ended in an error and were retried, by controller and reason (the API status reason, e.g. Conflict, Forbidden, Timeout; Unknown for errors without one).",
	}, []string{"controller", "reason"})

	leader = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace,
		Name:      "leader",
		Help:      "1 while this replica's controllers work (it holds the leader election Lease, or runs without leader election), else 0.",
	})
)

var (
	ordersDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "", "orders"),
		"Orders in the informer cache, by namespace and phase (Unknown: no status yet).",
		[]string{"namespace", "phase"}, nil)
	artifactWorkflowsDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "", "artifactworkflows"),
		"ArtifactWorkflows in the informer cache, by namespace, artifact type and phase (Unknown: no Workflow reported yet).",
		[]string{"namespace", "type", "phase"}, nil)
	unresolvedDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "", "unresolved_artifacts"),
		"Artifacts of cached Orders that cannot start (status.unresolvedArtifacts), by namespace.",
		[]string{"namespace"}, nil)
	lastSuccessDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "", "artifact_last_success_timestamp_seconds"),
		"Unix time at which the last artifact of this type in this namespace succeeded (its Workflow's finishedAt), as far as this process has seen.",
		[]string{"namespace", "type"}, nil)
)

// ObserveArtifactCompleted records that a run of an ArtifactWorkflow of
// artifact type typ reached the finished phase phase. The controller calls
// it once per run, when it writes the finished phase. The duration is
// recorded when both times are known.
func ObserveArtifactCompleted(namespace, typ string, phase arcv1.WorkflowPhase, startedAt, finishedAt *metav1.Time) {
	result := resultOf(phase)
	if result == "" {
		return
	}
	artifactsCompleted.WithLabelValues(typ, result).Inc()
	if startedAt != nil && finishedAt != nil && !finishedAt.Before(startedAt) {
		artifactDuration.WithLabelValues(typ, result).Observe(finishedAt.Sub(startedAt.Time).Seconds())
	}
	if result == ArtifactSucceeded {
		at := time.Now()
		if finishedAt != nil {
			at = finishedAt.Time
		}
		successes.note(namespace, typ, at)
	}
}

func resultOf(phase arcv1.WorkflowPhase) string {
	switch phase {
	case arcv1.WorkflowPhaseSucceeded:
		return ArtifactSucceeded
	case arcv1.WorkflowPhaseFailed:
		return ArtifactFailed
	case arcv1.WorkflowPhaseError:
		return ArtifactError
	}
	return ""
}

// ObserveSyncError counts a sync of controller that returned err.
func ObserveSyncError(controller string, err error) {
	syncErrors.WithLabelValues(controller, ErrorReason(err)).Inc()
}

// ErrorReason is the bounded reason label of a sync error: the reason of the
// API status it carries, Unknown without one.
func ErrorReason(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		if r := status.Status().Reason; r != "" {
			return string(r)
		}
	}
	return "Unknown"
}

// SetLeading sets arc_leader.
func SetLeading(leading bool) {
	if leading {
		leader.Set(1)
	} else {
		leader.Set(0)
	}
}

// Listers are the informer caches the domain gauges are computed from.
type Listers struct {
	Orders arclisters.OrderLister
	// ArtifactWorkflows lists the cached ArtifactWorkflows (the cache holds
	// them in a type of its own, which this package does not know).
	ArtifactWorkflows func() []*arcv1.ArtifactWorkflow
}

// RegisterDomainCollector exposes the gauges computed from l at every scrape:
// arc_orders, arc_artifactworkflows, arc_unresolved_artifacts and
// arc_artifact_last_success_timestamp_seconds.
func RegisterDomainCollector(l Listers) {
	Registry.MustRegister(&domainCollector{listers: l, successes: &successes})
}

// lastSuccesses remembers the latest success per namespace and type. A
// scrape merges in what the cache shows, so the value survives the deletion
// of the Orders it came from: "not succeeded for a day" must not turn into
// "no data" when someone cleans up. It is bounded by namespaces x types, and
// starts afresh (from the cache) with every leader.
type lastSuccesses struct {
	mu sync.Mutex
	at map[nsType]time.Time
}

type nsType struct{ namespace, typ string }

var successes lastSuccesses

func (s *lastSuccesses) note(namespace, typ string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.at == nil {
		s.at = map[nsType]time.Time{}
	}
	k := nsType{namespace, typ}
	if at.After(s.at[k]) {
		s.at[k] = at
	}
}

func (s *lastSuccesses) snapshot() map[nsType]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[nsType]time.Time, len(s.at))
	for k, v := range s.at {
		out[k] = v
	}
	return out
}

// domainCollector reads the informer caches at scrape time. It makes no API
// call: listing a lister copies pointers out of the cache.
type domainCollector struct {
	listers   Listers
	successes *lastSuccesses
}

func (c *domainCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- ordersDesc
	ch <- artifactWorkflowsDesc
	ch <- unresolvedDesc
	ch <- lastSuccessDesc
}

func (c *domainCollector) Collect(ch chan<- prometheus.Metric) {
	type nsPhase struct{ namespace, phase string }
	type nsTypePhase struct{ namespace, typ, phase string }

	orders := map[nsPhase]int{}
	unresolved := map[string]int{}
	if list, err := c.listers.Orders.List(labels.Everything()); err == nil {
		for _, o := range list {
			orders[nsPhase{o.Namespace, phaseLabel(string(o.Status.Phase))}]++
			unresolved[o.Namespace] += len(o.Status.UnresolvedArtifacts)
		}
	}
	aws := map[nsTypePhase]int{}
	for _, aw := range c.listers.ArtifactWorkflows() {
		aws[nsTypePhase{aw.Namespace, aw.Spec.Type, phaseLabel(string(aw.Status.Phase))}]++
		if aw.Status.Phase == arcv1.WorkflowPhaseSucceeded && aw.Status.FinishedAt != nil {
			c.successes.note(aw.Namespace, aw.Spec.Type, aw.Status.FinishedAt.Time)
		}
	}
	for k, n := range orders {
		ch <- prometheus.MustNewConstMetric(ordersDesc, prometheus.GaugeValue, float64(n), k.namespace, k.phase)
	}
	for ns, n := range unresolved {
		ch <- prometheus.MustNewConstMetric(unresolvedDesc, prometheus.GaugeValue, float64(n), ns)
	}
	for k, n := range aws {
		ch <- prometheus.MustNewConstMetric(artifactWorkflowsDesc, prometheus.GaugeValue, float64(n), k.namespace, k.typ, k.phase)
	}
	for k, at := range c.successes.snapshot() {
		ch <- prometheus.MustNewConstMetric(lastSuccessDesc, prometheus.GaugeValue, float64(at.UnixNano())/1e9, k.namespace, k.typ)
	}
}

// phaseLabel names the empty phase of an object without status.
func phaseLabel(phase string) string {
	if strings.TrimSpace(phase) == "" {
		return "Unknown"
	}
	return phase
}

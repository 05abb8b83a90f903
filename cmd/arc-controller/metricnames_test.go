package main

import (
	"errors"
	"flag"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	arclisters "github.com/artifact-conduit/arc/pkg/generated/listers/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/metrics"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// metricNamesFile is what ARC's /metrics serves, as the test of the alerts
// and the dashboard (hack/monitoring) reads it.
var metricNamesFile = filepath.Join("..", "..", "hack", "monitoring", "testdata", "arc-metrics.txt")

// TestMetricNames scrapes /metrics of the real handler after every ARC
// metric has a value, and compares its "# TYPE" lines (ARC's own and the
// work queues'; the Go runtime's vary with Go) with
// hack/monitoring/testdata/arc-metrics.txt. Renaming or removing a metric
// fails here; after `-update` the alerts and dashboard test fails if they
// still use the old name.
func TestMetricNames(t *testing.T) {
	metrics.Register()
	finished := metav1.NewTime(time.Now())
	started := metav1.NewTime(finished.Add(-time.Minute))
	orders := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	aws := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	require.NoError(t, orders.Add(&arcv1.Order{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "o"}}))
	require.NoError(t, aws.Add(controller.CacheArtifactWorkflow(&arcv1.ArtifactWorkflow{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a"},
		Spec:       arcv1.ArtifactWorkflowSpec{Type: "oci"},
		Status:     arcv1.ArtifactWorkflowStatus{Phase: arcv1.WorkflowPhaseSucceeded, StartedAt: &started, FinishedAt: &finished},
	})))
	metrics.RegisterDomainCollector(metrics.Listers{
		Orders:            arclisters.NewOrderLister(orders),
		ArtifactWorkflows: controller.ArtifactWorkflowCache{Indexer: aws}.ListArtifactWorkflows,
	})
	metrics.RegisterPhaseCounters(map[string]metrics.PhaseCounter{"Order": func() map[string]int { return map[string]int{"": 1} }})
	metrics.ObserveSync("test", metrics.ResultError, time.Millisecond)
	metrics.ObserveSyncError("test", errors.New("boom"))
	metrics.ObserveArtifactCompleted("ns", "oci", arcv1.WorkflowPhaseSucceeded, &started, &finished)
	metrics.SetLeading(true)
	q := controller.NewQueue("test")
	q.Add(cache.ObjectName{Namespace: "ns", Name: "o"})
	key, _ := q.Get()
	q.Done(key)
	q.ShutDown()

	rec := httptest.NewRecorder()
	metricsHandler(false).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, 200, rec.Code)
	body, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	var lines []string
	for _, line := range strings.Split(string(body), "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok && (strings.HasPrefix(name, "arc_") || strings.HasPrefix(name, "workqueue_")) {
			lines = append(lines, line)
		}
	}
	sort.Strings(lines)
	got := "# What ARC's /metrics serves besides the Go runtime's metrics: written by\n" +
		"# go test ./cmd/arc-controller -run TestMetricNames -update\n" +
		strings.Join(lines, "\n") + "\n"
	if *update {
		require.NoError(t, os.WriteFile(metricNamesFile, []byte(got), 0o644))
	}
	want, err := os.ReadFile(metricNamesFile)
	require.NoError(t, err)
	assert.Equal(t, string(want), got, "ARC's metrics changed: run go test ./cmd/arc-controller -run TestMetricNames -update, then fix the alerts and the dashboard (cd hack/monitoring && go test ./...)")
}

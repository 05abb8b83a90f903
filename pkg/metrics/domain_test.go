package metrics

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	arclisters "github.com/artifact-conduit/arc/pkg/generated/listers/arc/v1alpha1"
)

func order(ns, name string, phase arcv1.OrderPhase, unresolved int) *arcv1.Order {
	o := &arcv1.Order{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	o.Status.Phase = phase
	for i := range unresolved {
		o.Status.UnresolvedArtifacts = append(o.Status.UnresolvedArtifacts, arcv1.UnresolvedArtifact{ArtifactIndex: int32(i)})
	}
	return o
}

func artifactWorkflow(ns, name, typ string, phase arcv1.WorkflowPhase, finished *time.Time) *arcv1.ArtifactWorkflow {
	aw := &arcv1.ArtifactWorkflow{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: arcv1.ArtifactWorkflowSpec{Type: typ}}
	aw.Status.Phase = phase
	if finished != nil {
		aw.Status.FinishedAt = &metav1.Time{Time: *finished}
	}
	return aw
}

func indexerWith(t *testing.T, objs ...interface{}) cache.Indexer {
	t.Helper()
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, o := range objs {
		require.NoError(t, idx.Add(o))
	}
	return idx
}

// TestDomainCollector checks the gauges against the objects of the cache,
// and that deleting objects removes their series while the last success
// stays.
func TestDomainCollector(t *testing.T) {
	t1 := time.Unix(1_800_000_000, 0)
	t2 := t1.Add(time.Hour)
	orders := indexerWith(t,
		order("team-a", "one", arcv1.OrderPhaseSucceeded, 0),
		order("team-a", "two", arcv1.OrderPhaseFailed, 2),
		order("team-a", "three", arcv1.OrderPhaseFailed, 1),
		order("team-b", "new", "", 0),
	)
	aws := indexerWith(t,
		artifactWorkflow("team-a", "a1", "oci", arcv1.WorkflowPhaseSucceeded, &t1),
		artifactWorkflow("team-a", "a2", "oci", arcv1.WorkflowPhaseSucceeded, &t2),
		artifactWorkflow("team-a", "a3", "oci", arcv1.WorkflowPhaseFailed, &t2),
		artifactWorkflow("team-a", "a4", "helm", arcv1.WorkflowPhaseRunning, nil),
		artifactWorkflow("team-b", "b1", "oci", "", nil),
	)
	c := &domainCollector{
		listers:   Listers{Orders: arclisters.NewOrderLister(orders), ArtifactWorkflows: listAll(arclisters.NewArtifactWorkflowLister(aws))},
		successes: &lastSuccesses{},
	}
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))

	want := fmt.Sprintf(`
# HELP arc_orders Orders in the informer cache, by namespace and phase (Unknown: no status yet).
# TYPE arc_orders gauge
arc_orders{namespace="team-a",phase="Failed"} 2
arc_orders{namespace="team-a",phase="Succeeded"} 1
arc_orders{namespace="team-b",phase="Unknown"} 1
# HELP arc_artifactworkflows ArtifactWorkflows in the informer cache, by namespace, artifact type and phase (Unknown: no Workflow reported yet).
# TYPE arc_artifactworkflows gauge
arc_artifactworkflows{namespace="team-a",phase="Failed",type="oci"} 1
arc_artifactworkflows{namespace="team-a",phase="Running",type="helm"} 1
arc_artifactworkflows{namespace="team-a",phase="Succeeded",type="oci"} 2
arc_artifactworkflows{namespace="team-b",phase="Unknown",type="oci"} 1
# HELP arc_unresolved_artifacts Artifacts of cached Orders that cannot start (status.unresolvedArtifacts), by namespace.
# TYPE arc_unresolved_artifacts gauge
arc_unresolved_artifacts{namespace="team-a"} 3
arc_unresolved_artifacts{namespace="team-b"} 0
# HELP arc_artifact_last_success_timestamp_seconds Unix time at which the last artifact of this type in this namespace succeeded (its Workflow's finishedAt), as far as this process has seen.
# TYPE arc_artifact_last_success_timestamp_seconds gauge
arc_artifact_last_success_timestamp_seconds{namespace="team-a",type="oci"} %d
`, t2.Unix())
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want)))

	// Everything of team-a is deleted: its gauges go, its last success stays.
	for _, key := range []string{"team-a/one", "team-a/two", "team-a/three"} {
		obj, _, _ := orders.GetByKey(key)
		require.NoError(t, orders.Delete(obj))
	}
	for _, key := range []string{"team-a/a1", "team-a/a2", "team-a/a3", "team-a/a4"} {
		obj, _, _ := aws.GetByKey(key)
		require.NoError(t, aws.Delete(obj))
	}
	want = fmt.Sprintf(`
# HELP arc_orders Orders in the informer cache, by namespace and phase (Unknown: no status yet).
# TYPE arc_orders gauge
arc_orders{namespace="team-b",phase="Unknown"} 1
# HELP arc_artifactworkflows ArtifactWorkflows in the informer cache, by namespace, artifact type and phase (Unknown: no Workflow reported yet).
# TYPE arc_artifactworkflows gauge
arc_artifactworkflows{namespace="team-b",phase="Unknown",type="oci"} 1
# HELP arc_artifact_last_success_timestamp_seconds Unix time at which the last artifact of this type in this namespace succeeded (its Workflow's finishedAt), as far as this process has seen.
# TYPE arc_artifact_last_success_timestamp_seconds gauge
arc_artifact_last_success_timestamp_seconds{namespace="team-a",type="oci"} %d
`, t2.Unix())
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want),
		"arc_orders", "arc_artifactworkflows", "arc_artifact_last_success_timestamp_seconds"))
}

func TestObserveArtifactCompleted(t *testing.T) {
	started := metav1.NewTime(time.Unix(1_800_000_000, 0))
	finished := metav1.NewTime(started.Add(90 * time.Second))
	before := testutil.ToFloat64(artifactsCompleted.WithLabelValues("test-type", ArtifactFailed))
	durationsBefore := testutil.CollectAndCount(artifactDuration)

	ObserveArtifactCompleted("team-t", "test-type", arcv1.WorkflowPhaseFailed, &started, &finished)
	ObserveArtifactCompleted("team-t", "test-type", arcv1.WorkflowPhaseRunning, &started, nil) // not finished: ignored

	assert.Equal(t, before+1, testutil.ToFloat64(artifactsCompleted.WithLabelValues("test-type", ArtifactFailed)))
	assert.Equal(t, durationsBefore+1, testutil.CollectAndCount(artifactDuration), "one duration series for test-type/failed")
	assert.Zero(t, testutil.ToFloat64(artifactsCompleted.WithLabelValues("test-type", ArtifactSucceeded)))

	ObserveArtifactCompleted("team-t", "test-type", arcv1.WorkflowPhaseSucceeded, &started, &finished)
	assert.Equal(t, finished.Time, successes.snapshot()[nsType{"team-t", "test-type"}])
}

func TestErrorReason(t *testing.T) {
	gr := schema.GroupResource{Group: "arc.opendefense.cloud", Resource: "orders"}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{apierrors.NewConflict(gr, "x", errors.New("changed")), "Conflict"},
		{fmt.Errorf("writing status: %w", apierrors.NewForbidden(gr, "x", errors.New("no"))), "Forbidden"},
		{apierrors.NewTooManyRequests("slow down", 1), "TooManyRequests"},
		{errors.New("connection refused"), "Unknown"},
	} {
		assert.Equal(t, tc.want, ErrorReason(tc.err), "%v", tc.err)
	}
}

// listAll lists what the lister holds, as the controller's cache lists it.
func listAll(l arclisters.ArtifactWorkflowLister) func() []*arcv1.ArtifactWorkflow {
	return func() []*arcv1.ArtifactWorkflow {
		aws, _ := l.List(labels.Everything())
		return aws
	}
}

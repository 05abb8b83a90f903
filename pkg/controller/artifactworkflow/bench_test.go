package artifactworkflow

import (
	"context"
	"fmt"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	argofake "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	argoinformers "github.com/argoproj/argo-workflows/v3/pkg/client/informers/externalversions"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubeinformers "k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/controller/controllertest"
	arcfake "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned/fake"
	arcinformers "github.com/artifact-conduit/arc/pkg/generated/informers/externalversions"
)

// BenchmarkSyncCreateWorkflow measures the sync of a new ArtifactWorkflow:
// it resolves the type, checks the rules, builds and creates the Argo
// Workflow. This is the cost of every artifact an Order adds. The fake
// Argo API server accepts the Workflow without storing it, so every
// iteration finds the same new ArtifactWorkflow with no per-iteration
// setup; the figures include the fake's handling of the write (it
// deep-copies every action it records), which stands in for the API round
// trip. writes/op is 1 (the Workflow: the status waits for Argo to start
// it) and events/op is 0.
func BenchmarkSyncCreateWorkflow(b *testing.B) {
	f := newBenchFixture(b)
	ctx := context.Background()
	arc, argo := f.useNewClients(true)

	// Check once that the sync does what is measured.
	require.NoError(b, f.ctrl.sync(ctx, f.key))
	require.Equal(b, 1, f.writes, "the Workflow's create, no status write")
	require.Zero(b, f.recorder.Events, "no event per Workflow")

	f.writes, f.recorder.Events = 0, 0
	iterations := 0
	for b.Loop() {
		if err := f.ctrl.sync(ctx, f.key); err != nil {
			b.Fatal(err)
		}
		arc.ClearActions()
		argo.ClearActions()
		iterations++
	}
	require.Equal(b, iterations, f.writes, "every iteration must create the Workflow")
	f.report(b)
}

// BenchmarkSyncSteadyState measures the sync of an ArtifactWorkflow whose
// running Workflow has not changed since its status was last mirrored.
// This is what every resync of every ArtifactWorkflow costs. Such a sync
// must not write: writes/op and events/op must be 0, and a regression that
// writes on every resync shows there as a non-zero figure.
func BenchmarkSyncSteadyState(b *testing.B) {
	benchmarkSteadyState(b, alpineOrder())
}

// BenchmarkSyncSteadyStateInTheLargestOrder is BenchmarkSyncSteadyState
// with the ArtifactWorkflow one of the most an Order lists
// (arcv1.MaxArtifactsPerOrder). A resync syncs every one of them, so a sync
// whose cost grows with its Order's size makes that Order's resync grow
// with the square of it; the figure should be that of one in a small Order.
func BenchmarkSyncSteadyStateInTheLargestOrder(b *testing.B) {
	benchmarkSteadyState(b, orderListing(arcv1.MaxArtifactsPerOrder))
}

// benchmarkSteadyState measures steady-state syncs of the example's
// ArtifactWorkflow, controlled by order.
func benchmarkSteadyState(b *testing.B, order *arcv1.Order) {
	f := newBenchFixture(b)
	ctx := context.Background()
	arc, argo := f.converge(b)
	require.NoError(b, f.orders.Update(order))

	for b.Loop() {
		if err := f.ctrl.sync(ctx, f.key); err != nil {
			b.Fatal(err)
		}
		// Nothing is recorded while the sync writes nothing; if it does
		// write, the recorded actions must not pile up.
		arc.ClearActions()
		argo.ClearActions()
	}
	require.Zero(b, f.writes, "a steady-state sync must not write")
	require.Zero(b, f.recorder.Events, "a steady-state sync must not record events")
	f.report(b)
}

// BenchmarkOrderPhaseChangeInTheLargestOrder measures what the
// ArtifactWorkflow controller does with a status update of the largest
// Order that changes one artifact's phase: it looks for ArtifactWorkflows
// the update lists for the first time (none) among all the Order lists.
// Phases flow back through such updates many times in an Order's life.
func BenchmarkOrderPhaseChangeInTheLargestOrder(b *testing.B) {
	f := newBenchFixture(b)
	before := orderListing(arcv1.MaxArtifactsPerOrder)
	after := before.DeepCopy()
	entry := after.Status.ArtifactWorkflows[artifactHash]
	entry.Phase = arcv1.WorkflowPhaseRunning
	after.Status.ArtifactWorkflows[artifactHash] = entry

	for b.Loop() {
		f.ctrl.enqueueListedBy(before, after)
	}
	require.Zero(b, f.ctrl.queue.Len(), "a phase change lists nothing new")
}

// orderListing is the example's Order listing n ArtifactWorkflows: the
// example's own and n-1 others named after it, as the Order controller
// names them.
func orderListing(n int) *arcv1.Order {
	order := alpineOrder()
	for i := len(order.Status.ArtifactWorkflows); i < n; i++ {
		order.Status.ArtifactWorkflows[fmt.Sprintf("%016x", i)] = arcv1.OrderArtifactWorkflowStatus{
			Name: fmt.Sprintf("%s-%016x", order.Name, i), Phase: arcv1.WorkflowPhaseRunning,
		}
	}
	return order
}

// benchFixture is an ArtifactWorkflow controller whose informer caches the
// benchmark fills directly. The informers never run, so the benchmarks
// measure the sync and not the informer machinery.
type benchFixture struct {
	ctrl              *Controller
	recorder          *controllertest.CountingRecorder
	artifactWorkflows cache.Indexer
	workflows         cache.Indexer
	orders            cache.Indexer
	key               cache.ObjectName
	// writes counts the write actions the fake API servers received.
	writes int
}

func newBenchFixture(b *testing.B) *benchFixture {
	b.Helper()
	client := arcfake.NewSimpleClientset()
	argo := argofake.NewSimpleClientset()
	arcFactory := arcinformers.NewSharedInformerFactory(client, 0)
	argoFactory := argoinformers.NewSharedInformerFactory(argo, 0)
	inf := arcFactory.Arc().V1alpha1()
	workflows := argoFactory.Argoproj().V1alpha1().Workflows()
	f := &benchFixture{
		recorder:          &controllertest.CountingRecorder{},
		artifactWorkflows: inf.ArtifactWorkflows().Informer().GetIndexer(),
		workflows:         workflows.Informer().GetIndexer(),
		orders:            inf.Orders().Informer().GetIndexer(),
	}
	core := kubeinformers.NewSharedInformerFactory(kubefake.NewSimpleClientset(), 0)
	ctrl, err := New(client, argo, Informers{
		ArtifactWorkflows:    inf.ArtifactWorkflows(),
		ArtifactTypes:        inf.ArtifactTypes(),
		ClusterArtifactTypes: inf.ClusterArtifactTypes(),
		Orders:               inf.Orders(),
		Namespaces:           core.Core().V1().Namespaces(),
		Endpoints:            inf.Endpoints(),
		Workflows:            workflows,
		CronWorkflows:        argoFactory.Argoproj().V1alpha1().CronWorkflows(),
	}, f.recorder, clocktesting.NewFakePassiveClock(testNow))
	require.NoError(b, err)
	require.NoError(b, f.orders.Add(alpineOrder()))
	f.ctrl = ctrl
	aw := alpineArtifactWorkflow()
	f.key = cache.MetaObjectToName(aw)
	require.NoError(b, f.artifactWorkflows.Add(controller.CacheArtifactWorkflow(aw.DeepCopy())))
	require.NoError(b, inf.ArtifactTypes().Informer().GetIndexer().Add(ociArtifactType()))
	return f
}

// useNewClients gives the controller new fake API servers: the ARC one
// holds the ArtifactWorkflow as the cache holds it, the Argo one is empty.
// With discard, they answer every create as if they stored the object,
// without storing it.
func (f *benchFixture) useNewClients(discard bool) (*arcfake.Clientset, *argofake.Clientset) {
	cached, exists, err := f.artifactWorkflows.GetByKey(f.key.String())
	if err != nil || !exists {
		panic(fmt.Sprintf("the ArtifactWorkflow is not in the cache: %v", err))
	}
	client := arcfake.NewSimpleClientset(cached.(*controller.CachedArtifactWorkflow).Restored())
	argo := argofake.NewSimpleClientset()
	for _, fake := range []*k8stesting.Fake{&client.Fake, &argo.Fake} {
		if discard {
			discardCreates(fake)
		}
		// New resourceVersions on every write, as the API server gives:
		// the controller tells its own writes from the cache by them.
		controllertest.BumpResourceVersions(fake)
		// Prepended last, so it sees every action first.
		f.countWrites(fake)
	}
	// A status write keeps the labels, as on the API server.
	controllertest.StatusSubresource(&client.Fake, client.Tracker())
	f.ctrl.client, f.ctrl.argo = client, argo
	return client, argo
}

// discardCreates makes a fake API server answer every create as if it
// stored the object, without storing it.
func discardCreates(fake *k8stesting.Fake) {
	fake.PrependReactor("create", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		return true, action.(k8stesting.CreateAction).GetObject(), nil
	})
}

// countWrites counts the write actions fake receives in f.writes.
func (f *benchFixture) countWrites(fake *k8stesting.Fake) {
	fake.PrependReactor("*", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		switch action.GetVerb() {
		case "get", "list", "watch":
		default:
			f.writes++
		}
		return false, nil, nil
	})
}

// converge brings the ArtifactWorkflow to a steady state and returns the
// fake API servers that hold it: its Workflow runs, and its status mirrors
// that. The caches then hold what the API servers hold, through a JSON
// round trip as an informer would receive it, and the Workflow slimmed as
// the real Workflow informer slims it.
func (f *benchFixture) converge(b *testing.B) (*arcfake.Clientset, *argofake.Clientset) {
	b.Helper()
	ctx := context.Background()
	client, argo := f.useNewClients(false)
	require.NoError(b, f.ctrl.sync(ctx, f.key))

	wf, err := argo.ArgoprojV1alpha1().Workflows(ns).Get(ctx, awName, metav1.GetOptions{})
	require.NoError(b, err)
	wf.Status = wfv1.WorkflowStatus{Phase: wfv1.WorkflowRunning, StartedAt: metav1.NewTime(testNow.Add(-60e9))}
	wf, err = argo.ArgoprojV1alpha1().Workflows(ns).Update(ctx, wf, metav1.UpdateOptions{})
	require.NoError(b, err)
	slim, err := controller.SlimWorkflow(controllertest.RoundTrip(b, wf))
	require.NoError(b, err)
	require.NoError(b, f.workflows.Add(slim))

	f.refreshArtifactWorkflow(b, client)
	require.NoError(b, f.ctrl.sync(ctx, f.key))
	aw := f.refreshArtifactWorkflow(b, client)
	require.Equal(b, arcv1.WorkflowPhaseRunning, aw.Status.Phase)

	client.ClearActions()
	argo.ClearActions()
	f.writes, f.recorder.Events = 0, 0
	return client, argo
}

// refreshArtifactWorkflow puts the ArtifactWorkflow the fake API server holds into the cache.
func (f *benchFixture) refreshArtifactWorkflow(b *testing.B, client *arcfake.Clientset) *arcv1.ArtifactWorkflow {
	b.Helper()
	aw, err := client.ArcV1alpha1().ArtifactWorkflows(ns).Get(context.Background(), awName, metav1.GetOptions{})
	require.NoError(b, err)
	aw = controllertest.RoundTrip(b, aw)
	require.NoError(b, f.artifactWorkflows.Update(controller.CacheArtifactWorkflow(aw.DeepCopy())))
	return aw
}

// report adds the writes and events per sync to the benchmark's figures.
func (f *benchFixture) report(b *testing.B) {
	b.ReportMetric(float64(f.writes)/float64(b.N), "writes/op")
	b.ReportMetric(float64(f.recorder.Events)/float64(b.N), "events/op")
}

package order

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	argofake "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	argoinformers "github.com/argoproj/argo-workflows/v3/pkg/client/informers/externalversions"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubeinformers "k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/metadata/metadatainformer"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/controller/controllertest"
	arcfake "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned/fake"
	arcinformers "github.com/artifact-conduit/arc/pkg/generated/informers/externalversions"
)

// benchSizes are the numbers of artifacts per Order the benchmarks sync.
var benchSizes = []int{10, 100}

// BenchmarkSyncFirstSight measures the sync of an Order the controller sees
// for the first time: it resolves every artifact, creates one
// ArtifactWorkflow per artifact and writes the status once. This is the
// cost of a new Order, and of every Order after a restart with an empty
// cluster. The fake API server accepts the ArtifactWorkflows without
// storing them, so every iteration sees the same new Order with no
// per-iteration setup; the figures include the fake's handling of the
// writes (it deep-copies every action it records), which stands in for the
// API round trips. writes/op is artifacts+1 and events/op is 1 (one Created
// event names the sync's new ArtifactWorkflows). What the controller
// remembers of the Order (see planMemos) is forgotten before every
// iteration: a new Order has nothing remembered.
func BenchmarkSyncFirstSight(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("artifacts=%d", n), func(b *testing.B) {
			f := newBenchFixture(b, n)
			ctx := context.Background()
			client := f.useNewClient(true)

			// Check once that the sync does what is measured: every artifact
			// resolves and gets its ArtifactWorkflow, then the status is written.
			require.NoError(b, f.ctrl.sync(ctx, f.key))
			require.Equal(b, n+1, f.writes, "creates of every ArtifactWorkflow and one status write")
			require.Equal(b, 1, f.recorder.Events, "one Created event for the whole sync")

			f.writes, f.recorder.Events = 0, 0
			for b.Loop() {
				f.ctrl.forgetMemo(f.key, "")
				if err := f.ctrl.sync(ctx, f.key); err != nil {
					b.Fatal(err)
				}
				client.ClearActions()
			}
			f.report(b)
		})
	}
}

// BenchmarkSyncSteadyState measures the sync of a converged Order: every
// ArtifactWorkflow exists, has succeeded, and the Order's status already
// says so. This is what every resync of every Order costs, and what a
// change to a shared Endpoint or Secret costs per Order it reaches. Such a
// sync must not write: writes/op and events/op must be 0, and a regression
// that writes on every resync shows there as a non-zero figure.
func BenchmarkSyncSteadyState(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("artifacts=%d", n), func(b *testing.B) {
			f := newBenchFixture(b, n)
			ctx := context.Background()
			client := f.converge(b)

			for b.Loop() {
				if err := f.ctrl.sync(ctx, f.key); err != nil {
					b.Fatal(err)
				}
				// Nothing is recorded while the sync writes nothing; if it
				// does write, the recorded actions must not pile up.
				client.ClearActions()
			}
			require.Zero(b, f.writes, "a steady-state sync must not write")
			require.Zero(b, f.recorder.Events, "a steady-state sync must not record events")
			f.report(b)
		})
	}
}

// benchFixture is an Order controller whose informer caches the benchmark
// fills directly. The informers never run, so the benchmarks measure the
// sync and not the informer machinery.
type benchFixture struct {
	ctrl      *Controller
	recorder  *controllertest.CountingRecorder
	orders    cache.Indexer
	workflows cache.Indexer
	order     *arcv1.Order
	key       cache.ObjectName
	// writes counts the write actions the fake API servers received.
	writes int
}

func newBenchFixture(b *testing.B, artifacts int) *benchFixture {
	b.Helper()
	client := arcfake.NewSimpleClientset()
	factory := arcinformers.NewSharedInformerFactory(client, 0)
	metaClient := metadatafake.NewSimpleMetadataClient(metadatafake.NewTestScheme())
	secrets := metadatainformer.NewSharedInformerFactory(metaClient, 0).ForResource(secretsGVR)
	arc := factory.Arc().V1alpha1()
	f := &benchFixture{
		recorder:  &controllertest.CountingRecorder{},
		orders:    arc.Orders().Informer().GetIndexer(),
		workflows: arc.ArtifactWorkflows().Informer().GetIndexer(),
		order:     benchOrder(b, artifacts),
	}
	core := kubeinformers.NewSharedInformerFactory(kubefake.NewSimpleClientset(), 0)
	argo := argofake.NewSimpleClientset()
	ctrl, err := New(client, argo, Informers{
		Orders:               arc.Orders(),
		ArtifactWorkflows:    arc.ArtifactWorkflows(),
		Endpoints:            arc.Endpoints(),
		Secrets:              secrets,
		ArtifactTypes:        arc.ArtifactTypes(),
		ClusterArtifactTypes: arc.ClusterArtifactTypes(),
		Namespaces:           core.Core().V1().Namespaces(),
		Workflows:            argoinformers.NewSharedInformerFactory(argo, 0).Argoproj().V1alpha1().Workflows(),
	}, f.recorder, clocktesting.NewFakePassiveClock(testNow))
	require.NoError(b, err)
	require.NoError(b, arc.ClusterArtifactTypes().Informer().GetIndexer().Add(ociClusterType()))
	f.ctrl = ctrl
	f.key = cache.MetaObjectToName(f.order)
	endpoints := arc.Endpoints().Informer().GetIndexer()
	require.NoError(b, endpoints.Add(dockerhub()))
	require.NoError(b, endpoints.Add(internal()))
	require.NoError(b, secrets.Informer().GetIndexer().Add(secretMetadata(secret("dst-reg-secret"))))
	require.NoError(b, f.orders.Add(f.order))
	return f
}

// benchOrder returns an Order of the design example's shape with n
// different images, so every artifact needs an ArtifactWorkflow of its own.
func benchOrder(b *testing.B, n int) *arcv1.Order {
	b.Helper()
	artifacts := make([]arcv1.OrderArtifact, n)
	for i := range artifacts {
		raw, err := json.Marshal(map[string]any{
			"image":    fmt.Sprintf("library/app-%03d:1.%d", i, i%7),
			"override": fmt.Sprintf("myteam/app-%03d:1.%d-dev", i, i%7),
		})
		require.NoError(b, err)
		artifacts[i] = arcv1.OrderArtifact{Type: "oci", Spec: &runtime.RawExtension{Raw: raw}}
	}
	return newOrder("bench", artifacts...)
}

// useNewClient gives the controller a new fake API server that holds the
// Order as the cache holds it, and returns it. With discard, it answers
// every create as if it stored the object, without storing it.
func (f *benchFixture) useNewClient(discard bool) *arcfake.Clientset {
	cached, exists, err := f.orders.Get(f.order)
	if err != nil || !exists {
		panic(fmt.Sprintf("the Order is not in the cache: %v", err))
	}
	client := arcfake.NewSimpleClientset(cached.(*arcv1.Order))
	if discard {
		client.PrependReactor("create", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
			return true, action.(k8stesting.CreateAction).GetObject(), nil
		})
	}
	// New resourceVersions on every write, as the API server gives: the
	// controller tells its own status writes from the cache by them.
	controllertest.BumpResourceVersions(&client.Fake)
	// Prepended last, so it sees every action first.
	client.PrependReactor("*", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		switch action.GetVerb() {
		case "get", "list", "watch":
		default:
			f.writes++
		}
		return false, nil, nil
	})
	f.ctrl.client = client
	return client
}

// converge brings the Order to its steady state and returns the fake API
// server that holds it: the ArtifactWorkflows exist and succeeded, and the
// Order's status reports that. The caches then hold what the API server
// holds, through a JSON round trip as an informer would receive it.
func (f *benchFixture) converge(b *testing.B) *arcfake.Clientset {
	b.Helper()
	ctx := context.Background()
	client := f.useNewClient(false)
	require.NoError(b, f.ctrl.sync(ctx, f.key))
	aws, err := client.ArcV1alpha1().ArtifactWorkflows(ns).List(ctx, metav1.ListOptions{})
	require.NoError(b, err)
	require.Len(b, aws.Items, len(f.order.Spec.Artifacts))
	for i := range aws.Items {
		aw := &aws.Items[i]
		aw.Status.Phase = arcv1.WorkflowPhaseSucceeded
		updated, err := client.ArcV1alpha1().ArtifactWorkflows(ns).UpdateStatus(ctx, aw, metav1.UpdateOptions{})
		require.NoError(b, err)
		require.NoError(b, f.workflows.Add(controller.CacheArtifactWorkflow(controllertest.RoundTrip(b, updated))))
	}
	f.refreshOrder(b, client)
	require.NoError(b, f.ctrl.sync(ctx, f.key))
	order := f.refreshOrder(b, client)
	require.Equal(b, arcv1.OrderPhaseSucceeded, order.Status.Phase)
	require.Len(b, order.Status.ArtifactWorkflows, len(f.order.Spec.Artifacts))
	client.ClearActions()
	f.writes, f.recorder.Events = 0, 0
	return client
}

// refreshOrder puts the Order the fake API server holds into the cache.
func (f *benchFixture) refreshOrder(b *testing.B, client *arcfake.Clientset) *arcv1.Order {
	b.Helper()
	order, err := client.ArcV1alpha1().Orders(ns).Get(context.Background(), f.order.Name, metav1.GetOptions{})
	require.NoError(b, err)
	order = controllertest.RoundTrip(b, order)
	require.NoError(b, f.orders.Update(order))
	return order
}

// report adds the writes and events per sync to the benchmark's figures.
func (f *benchFixture) report(b *testing.B) {
	b.ReportMetric(float64(f.writes)/float64(b.N), "writes/op")
	b.ReportMetric(float64(f.recorder.Events)/float64(b.N), "events/op")
}

package order

import (
	"context"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/controller/controllertest"
)

// TestDeleteHandlersUnwrapTombstones: when a watch misses a deletion, the
// informer hands the delete handler a DeletedFinalStateUnknown tombstone
// instead of the object. The Orders concerned must be queued all the same.
func TestDeleteHandlersUnwrapTombstones(t *testing.T) {
	order := newOrder("o", alpineArtifact(t))
	ownedAW := &arcv1.ArtifactWorkflow{ObjectMeta: metav1.ObjectMeta{
		Name: "o-0123456789abcdef", Namespace: ns,
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(order, orderKind)},
	}}
	tombstone := func(obj interface{}) cache.DeletedFinalStateUnknown { return controllertest.Tombstone(t, obj) }
	cases := []struct {
		name   string
		handle func(c *Controller)
	}{
		{"an ArtifactWorkflow gone unseen queues its Order", func(c *Controller) { c.enqueueOwnerOrder(tombstone(ownedAW)) }},
		{"an Endpoint gone unseen queues the Orders that use it", func(c *Controller) { c.enqueueOrdersOfEndpoint(tombstone(dockerhub())) }},
		{"a Secret gone unseen queues the Orders whose Endpoints use it", func(c *Controller) {
			c.enqueueOrdersOfSecret(tombstone(secretMetadata(secret("dst-reg-secret"))))
		}},
		{"a ClusterArtifactType gone unseen queues the Orders of its type", func(c *Controller) { c.enqueueOrdersOfType(tombstone(ociClusterType())) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, order.DeepCopy(), dockerhub(), internal(), secret("dst-reg-secret"))
			tc.handle(f.ctrl)
			require.Equal(t, 1, f.ctrl.queue.Len())
			key, _ := f.ctrl.queue.Get()
			assert.Equal(t, cache.ObjectName{Namespace: ns, Name: "o"}, key)
			f.ctrl.queue.Done(key)
		})
	}
}

// TestTypeAndNamespaceEventsReachTheOrdersThatNeedThem: a type's change
// reaches the Orders with an artifact of its name (in its namespace for an
// ArtifactType), and a namespace's label change the Orders in it.
func TestTypeAndNamespaceEventsReachTheOrdersThatNeedThem(t *testing.T) {
	other := newOrder("other", arcv1.OrderArtifact{Type: "helm"})
	elsewhere := newOrder("elsewhere", alpineArtifact(t))
	elsewhere.Namespace = "team-b"
	f := newFixture(t, newOrder("o", alpineArtifact(t)), other, elsewhere)
	queued := func() []string {
		var keys []string
		for f.ctrl.queue.Len() > 0 {
			key, _ := f.ctrl.queue.Get()
			keys = append(keys, key.String())
			f.ctrl.queue.Done(key)
		}
		return keys
	}

	f.ctrl.enqueueOrdersOfType(ociClusterType())
	assert.ElementsMatch(t, []string{ns + "/o", "team-b/elsewhere"}, queued(), "a ClusterArtifactType serves every namespace")

	f.ctrl.enqueueOrdersOfType(&arcv1.ArtifactType{ObjectMeta: metav1.ObjectMeta{Name: "oci", Namespace: ns}})
	assert.Equal(t, []string{ns + "/o"}, queued(), "an ArtifactType serves its namespace")

	unchanged := &arcv1.ArtifactType{ObjectMeta: metav1.ObjectMeta{Name: "oci", Namespace: ns, Generation: 3, ResourceVersion: "1"}}
	resynced := unchanged.DeepCopy()
	resynced.ResourceVersion = "2"
	controller.SpecHandlers(f.ctrl.enqueueOrdersOfType).OnUpdate(unchanged, resynced)
	assert.Empty(t, queued(), "a status-only update of a type changes nothing")
	changed := resynced.DeepCopy()
	changed.Generation++
	controller.SpecHandlers(f.ctrl.enqueueOrdersOfType).OnUpdate(resynced, changed)
	assert.Equal(t, []string{ns + "/o"}, queued(), "a spec change of a type reaches its Orders")

	before := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"tier": "dev"}}}
	after := before.DeepCopy()
	after.Labels["tier"] = "prod"
	f.ctrl.updateNamespace(before, after)
	assert.ElementsMatch(t, []string{ns + "/o", ns + "/other"}, queued(), "new labels may offer or withdraw types")
	f.ctrl.updateNamespace(after, after.DeepCopy())
	assert.Empty(t, queued(), "a namespace update without label change changes nothing")
}

func TestOrderEventsQueueWhatNeedsASync(t *testing.T) {
	for _, tc := range []struct {
		name       string
		spread     time.Duration
		change     func(*arcv1.Order)
		wantQueued bool
	}{
		{"a spec change is synced at once", time.Minute, func(o *arcv1.Order) { o.Generation++; o.ResourceVersion += "1" }, true},
		{"a re-run request is synced at once", time.Minute, func(o *arcv1.Order) {
			o.Annotations = map[string]string{arcv1.AnnotationForceAt: "2026-01-01T00:00:00Z"}
			o.ResourceVersion += "1"
		}, true},
		{"a status write is not synced", time.Minute, func(o *arcv1.Order) { o.ResourceVersion += "1" }, false},
		{"a resync waits for its place in the spread window", time.Minute, func(*arcv1.Order) {}, false},
		{"a resync without a spread window is synced at once", 0, func(*arcv1.Order) {}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := &arcv1.Order{ObjectMeta: metav1.ObjectMeta{Name: "o", Namespace: "team-a", Generation: 1, ResourceVersion: "5"}}
			after := before.DeepCopy()
			tc.change(after)
			f := newFixtureWithOptions(t, []Option{WithResyncSpread(tc.spread)}, before)
			f.ctrl.updateOrder(before, after)
			assert.Equal(t, tc.wantQueued, f.ctrl.queue.Len() == 1)
		})
	}
}

// TestOnlyTheHandlerMarkedForResyncsActsOnThem: a resync hands every cached
// object to a handler as an update from itself to itself. Handlers not
// marked Resyncs are registered without a resync period and never get one
// (controller.AddEventHandlers), so each of them must drop a resync, and the
// marked one must act on it.
func TestOnlyTheHandlerMarkedForResyncsActsOnThem(t *testing.T) {
	namespaced := &arcv1.ArtifactType{ObjectMeta: metav1.ObjectMeta{Name: "oci-local", Namespace: ns, Generation: 1},
		Spec: ociClusterType().Spec.ArtifactTypeSpec}
	f := newFixture(t, newOrder("mirror", alpineArtifact(t)), dockerhub(), internal(), secret("dst-reg-secret"), namespaced)
	_, _, err := f.sync("mirror")
	require.NoError(t, err)
	aws := f.artifactWorkflows()
	require.Len(t, aws, 1)
	_, err = f.argo.ArgoprojV1alpha1().Workflows(ns).Create(context.Background(), &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{
		Name: aws[0].Name, Namespace: ns, OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(&aws[0], arcv1.SchemeGroupVersion.WithKind("ArtifactWorkflow"))},
	}}, metav1.CreateOptions{})
	require.NoError(t, err)
	f.refreshCaches()
	var handlers []controllertest.ResyncingHandler
	for _, h := range f.ctrl.eventHandlers(f.informers()) {
		handlers = append(handlers, controllertest.ResyncingHandler{Store: h.Informer.GetStore(), Handler: h.Handler, Resyncs: h.Resyncs})
	}
	controllertest.AssertOneHandlerActsOnResyncs(t, f.ctrl.queue, handlers)
}

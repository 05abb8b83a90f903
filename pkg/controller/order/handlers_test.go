package order

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"

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
		change     func(*arcv1.Order)
		wantQueued bool
	}{
		{"a spec change is synced at once", func(o *arcv1.Order) { o.Generation++; o.ResourceVersion += "1" }, true},
		{"a re-run request is synced at once", func(o *arcv1.Order) {
			o.Annotations = map[string]string{arcv1.AnnotationForceAt: "2026-01-01T00:00:00Z"}
			o.ResourceVersion += "1"
		}, true},
		{"a status write is not synced", func(o *arcv1.Order) { o.ResourceVersion += "1" }, false},
		{"an update of the same version is not synced: resyncs come from the controller's own timer", func(*arcv1.Order) {}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := &arcv1.Order{ObjectMeta: metav1.ObjectMeta{Name: "o", Namespace: "team-a", Generation: 1, ResourceVersion: "5"}}
			after := before.DeepCopy()
			tc.change(after)
			f := newFixtureWithOptions(t, []Option{WithResyncPeriod(time.Second)}, before)
			f.ctrl.updateOrder(before, after)
			assert.Equal(t, tc.wantQueued, f.ctrl.queue.Len() == 1)
		})
	}
}

// TestEveryCachedOrderIsResyncedOncePerPeriod: the controller's Worker
// resyncs every Order in its cache, on its own timer (no informer resyncs:
// controller.AddEventHandlers), and nothing else.
func TestEveryCachedOrderIsResyncedOncePerPeriod(t *testing.T) {
	other := newOrder("other", alpineArtifact(t))
	other.Namespace = "team-b"
	f := newFixtureWithOptions(t, []Option{WithResyncPeriod(time.Second)},
		newOrder("mirror", alpineArtifact(t)), other, dockerhub(), internal(), secret("dst-reg-secret"))
	_, _, err := f.sync("mirror")
	require.NoError(t, err)
	require.Len(t, f.artifactWorkflows(), 1, "an ArtifactWorkflow in the cache, which the Order controller does not resync")
	f.refreshCaches()
	clock := clocktesting.NewFakeClock(testNow)
	f.ctrl.resyncs.Clock = clock
	controllertest.AssertResyncQueues(t, f.ctrl.Worker().Resync, f.ctrl.queue, clock, time.Second,
		[]cache.ObjectName{{Namespace: ns, Name: "mirror"}, {Namespace: "team-b", Name: "other"}})
}

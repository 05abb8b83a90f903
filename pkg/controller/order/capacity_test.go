package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	arcclient "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned"
	arctyped "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned/typed/arc/v1alpha1"
)

// etcdObjectLimit is etcd's default limit on one request (and so on one
// object): --max-request-bytes, 1.5 MiB.
const etcdObjectLimit = 3 << 19

// largestOrder is an Order of the most artifacts the CRD allows, each with
// a typical spec (an image, a tag, a destination repository).
func largestOrder(t *testing.T) *arcv1.Order {
	artifacts := make([]arcv1.OrderArtifact, arcv1.MaxArtifactsPerOrder)
	for i := range artifacts {
		artifacts[i] = arcv1.OrderArtifact{Type: "oci", Spec: rawSpec(t, map[string]any{
			"image":    fmt.Sprintf("registry.example.com/product/component-%04d:2026.11.%d", i, i%30),
			"override": fmt.Sprintf("mirror/product/component-%04d:2026.11.%d", i, i%30),
		})}
	}
	return newOrder("release-2026-11", artifacts...)
}

// An Order of MaxArtifactsPerOrder artifacts with a full status, every
// artifact failed with a message as long as --max-message-bytes allows,
// stays far below etcd's limit; the size is printed with -v.
func TestLargestOrderWithFullStatusStaysFarBelowEtcdLimit(t *testing.T) {
	f := newFixture(t, largestOrder(t), dockerhub(), internal(), secret("dst-reg-secret"))
	_, _, err := f.sync("release-2026-11")
	require.NoError(t, err)
	typical := objectBytes(t, f.order("release-2026-11"))

	// Every ArtifactWorkflow failed, saying as much as a status may.
	ctx := context.Background()
	long := strings.Repeat("step copy failed: main: Error (exit code 1): unauthorized ", 40)
	for _, aw := range f.artifactWorkflows() {
		aw.Status.Phase = arcv1.WorkflowPhaseFailed
		aw.Status.Message = controller.TruncateMessage(long, controller.DefaultMaxMessageBytes)
		_, err := f.client.ArcV1alpha1().ArtifactWorkflows(ns).UpdateStatus(ctx, &aw, metav1.UpdateOptions{})
		require.NoError(t, err)
	}
	f.refreshCaches()
	_, _, err = f.sync("release-2026-11")
	require.NoError(t, err)

	order := f.order("release-2026-11")
	require.Len(t, order.Status.ArtifactWorkflows, arcv1.MaxArtifactsPerOrder)
	require.EqualValues(t, arcv1.MaxArtifactsPerOrder, order.Status.Failed)
	for _, e := range order.Status.ArtifactWorkflows {
		require.NotEmpty(t, e.Message, "every entry says why it failed")
	}
	full := objectBytes(t, order)
	t.Logf("Order of %d artifacts: %d bytes with a status of pending entries, %d bytes with every artifact failed (etcd's limit: %d)",
		arcv1.MaxArtifactsPerOrder, typical, full, etcdObjectLimit)
	assert.Less(t, full, etcdObjectLimit*2/3, "an Order of the most artifacts with a full status must stay well under etcd's limit")
}

func objectBytes(t *testing.T, obj any) int {
	t.Helper()
	data, err := json.Marshal(obj)
	require.NoError(t, err)
	return len(data)
}

// A large Order's ArtifactWorkflows are created in parallel batches, and a
// refusal of the API server (a quota) stops them after the first: the
// refused artifact says why, the others wait for the retry, which starts
// small again.
func TestSyncStopsCreatingAfterARefusal(t *testing.T) {
	f := newFixture(t, largestOrder(t), dockerhub(), internal(), secret("dst-reg-secret"))
	quota := apierrors.NewForbidden(schema.GroupResource{Group: arcv1.GroupName, Resource: "artifactworkflows"}, "",
		errors.New("exceeded quota: arc, requested: count/artifactworkflows.arc.opendefense.cloud=1"))
	refuse := true
	f.client.PrependReactor("create", "artifactworkflows", func(clienttesting.Action) (bool, runtime.Object, error) {
		if refuse {
			return true, nil, quota
		}
		return false, nil, nil
	})

	writes, _, err := f.sync("release-2026-11")
	require.ErrorIs(t, err, errNotTried, "the creates left out are retried with backoff")
	assert.Equal(t, controller.SlowStartInitialBatchSize, countCreates(writes), "the first refused create stops the others")
	status := f.order("release-2026-11").Status
	require.Len(t, status.UnresolvedArtifacts, 1)
	assert.Equal(t, ReasonCreateRefused, status.UnresolvedArtifacts[0].Reason)
	assert.Contains(t, status.UnresolvedArtifacts[0].Message, "exceeded quota")
	assert.EqualValues(t, arcv1.MaxArtifactsPerOrder, status.Pending)

	// The quota relents: the retry creates every one.
	refuse = false
	writes, _, err = f.sync("release-2026-11")
	require.NoError(t, err)
	assert.Equal(t, arcv1.MaxArtifactsPerOrder, countCreates(writes))
	assert.Empty(t, f.order("release-2026-11").Status.UnresolvedArtifacts)
}

func countCreates(writes []string) int {
	n := 0
	for _, w := range writes {
		if strings.HasPrefix(w, "create artifactworkflows ") {
			n++
		}
	}
	return n
}

// The ArtifactWorkflow creates of several syncs together stay within the
// controller's bound, while each sync still creates in parallel batches.
func TestCreatesInFlightStayWithinTheBoundOverAllSyncs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bound int
	}{
		{name: "one create at a time", bound: 1},
		{name: "fewer than one sync's batch", bound: 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			second := largestOrder(t)
			second.Name = "release-2026-12"
			f := newFixtureWithOptions(t, []Option{WithCreatesInFlight(tc.bound)},
				largestOrder(t), second, dockerhub(), internal(), secret("dst-reg-secret"))
			counting := &concurrentCreates{Interface: f.client}
			f.ctrl.client = counting

			var wg sync.WaitGroup
			for _, name := range []string{"release-2026-11", "release-2026-12"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					assert.NoError(t, f.ctrl.sync(context.Background(), cache.ObjectName{Namespace: ns, Name: name}))
				}()
			}
			wg.Wait()
			assert.Equal(t, int32(tc.bound), counting.most.Load(), "the most creates in flight at once")
			assert.Len(t, f.artifactWorkflows(), 2*arcv1.MaxArtifactsPerOrder, "every one created")
		})
	}
}

// concurrentCreates is a clientset whose ArtifactWorkflow creates take a
// moment outside the fake (which handles one request at a time), and which
// records how many were in flight at once.
type concurrentCreates struct {
	arcclient.Interface
	inFlight, most atomic.Int32
}

func (c *concurrentCreates) ArcV1alpha1() arctyped.ArcV1alpha1Interface {
	return concurrentArc{c.Interface.ArcV1alpha1(), c}
}

type concurrentArc struct {
	arctyped.ArcV1alpha1Interface
	counts *concurrentCreates
}

func (a concurrentArc) ArtifactWorkflows(namespace string) arctyped.ArtifactWorkflowInterface {
	return concurrentArtifactWorkflows{a.ArcV1alpha1Interface.ArtifactWorkflows(namespace), a.counts}
}

type concurrentArtifactWorkflows struct {
	arctyped.ArtifactWorkflowInterface
	counts *concurrentCreates
}

func (w concurrentArtifactWorkflows) Create(ctx context.Context, aw *arcv1.ArtifactWorkflow, opts metav1.CreateOptions) (*arcv1.ArtifactWorkflow, error) {
	n := w.counts.inFlight.Add(1)
	defer w.counts.inFlight.Add(-1)
	for most := w.counts.most.Load(); n > most && !w.counts.most.CompareAndSwap(most, n); most = w.counts.most.Load() {
	}
	time.Sleep(100 * time.Microsecond) // long enough for the others of a batch to start
	return w.ArtifactWorkflowInterface.Create(ctx, aw, opts)
}

package order

import (
	"context"
	"errors"
	"slices"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/naming"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/controller/controllertest"
)

// succeededOrder returns a fixture whose Order "o" has one artifact whose
// ArtifactWorkflow succeeded, and that ArtifactWorkflow's name and hash.
func succeededOrder(t *testing.T) (f *fixture, name, hash string) {
	t.Helper()
	f = newFixture(t, newOrder("o", alpineArtifact(t)), dockerhub(), internal(), secret("dst-reg-secret"))
	_, _, err := f.sync("o")
	require.NoError(t, err)
	name, hash = expectedName("o", alpineArtifact(t))
	f.setPhase(name, arcv1.WorkflowPhaseSucceeded, "")
	_, _, err = f.sync("o")
	require.NoError(t, err)
	require.Equal(t, arcv1.OrderPhaseSucceeded, f.order("o").Status.Phase)
	return f, name, hash
}

func counters(s arcv1.OrderStatus) [5]int32 {
	return [5]int32{s.Total, s.Succeeded, s.Failed, s.Running, s.Pending}
}

// TestFinishedOrderStaysFinishedWhenASecretGoes: the kept work counts by its
// phase, not as pending, so a Succeeded Order does not fall back to Pending.
func TestFinishedOrderStaysFinishedWhenASecretGoes(t *testing.T) {
	f, _, hash := succeededOrder(t)
	f.secrets.Informer().GetIndexer().Delete(secretMetadata(secret("dst-reg-secret")))

	_, events, err := f.sync("o")
	require.NoError(t, err)
	status := f.order("o").Status
	assert.Equal(t, arcv1.OrderPhaseSucceeded, status.Phase)
	assert.Equal(t, [5]int32{1, 1, 0, 0, 0}, counters(status), "total, succeeded, failed, running, pending")
	assert.Equal(t, arcv1.WorkflowPhaseSucceeded, status.ArtifactWorkflows[hash].Phase)
	assert.Empty(t, status.UnresolvedArtifacts, "finished work needs the Secret no more: nothing to report")
	assert.Empty(t, events)
}

// TestRunningWorkIsKeptAndTheMissingSecretReported: work still running when
// its Secret goes is kept and counted as running, and the missing Secret is
// reported, since the work may still need it.
func TestRunningWorkIsKeptAndTheMissingSecretReported(t *testing.T) {
	f, name, hash := succeededOrder(t)
	f.setPhase(name, arcv1.WorkflowPhaseRunning, "")
	_, _, err := f.sync("o")
	require.NoError(t, err)
	f.secrets.Informer().GetIndexer().Delete(secretMetadata(secret("dst-reg-secret")))

	writes, events, err := f.sync("o")
	require.NoError(t, err)
	assert.NotContains(t, writes, "delete artifactworkflows "+ns+"/"+name)
	status := f.order("o").Status
	assert.Equal(t, arcv1.OrderPhaseRunning, status.Phase)
	assert.Equal(t, [5]int32{1, 0, 0, 1, 0}, counters(status))
	assert.Equal(t, arcv1.WorkflowPhaseRunning, status.ArtifactWorkflows[hash].Phase)
	require.Len(t, status.UnresolvedArtifacts, 1)
	assert.Equal(t, ReasonSecretNotFound, status.UnresolvedArtifacts[0].Reason)
	assert.Equal(t, []string{"Warning " + ReasonSecretNotFound}, controllertest.EventReasons(events))
}

// TestKeptWorkIsFoundByIdentityNotPosition: an artifact edited into an
// unresolvable one is another artifact; the former one's ArtifactWorkflow
// goes, and is not reported under the new artifact's index.
func TestKeptWorkIsFoundByIdentityNotPosition(t *testing.T) {
	f, name, hash := succeededOrder(t)
	order := f.order("o")
	edited := alpineArtifact(t)
	edited.Spec = rawSpec(t, map[string]any{"image": "library/busybox:1.36"})
	edited.SrcRef = ref("nowhere")
	order.Spec.Artifacts[0] = edited
	order.Generation++
	_, err := f.client.ArcV1alpha1().Orders(ns).Update(t.Context(), order, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.refreshCaches()

	writes, _, err := f.sync("o")
	require.NoError(t, err)
	assert.Contains(t, writes, "delete artifactworkflows "+ns+"/"+name, "the edited-away artifact's work is not kept")
	status := f.order("o").Status
	assert.NotContains(t, status.ArtifactWorkflows, hash)
	require.Len(t, status.UnresolvedArtifacts, 1)
	assert.Equal(t, ReasonEndpointNotFound, status.UnresolvedArtifacts[0].Reason)
	assert.Equal(t, [5]int32{1, 0, 0, 0, 1}, counters(status))
}

// TestKeptWorkSurvivesAStaleCachedStatus: whether work is kept depends on the
// ArtifactWorkflow itself, never on a cached Order status that may lag.
func TestKeptWorkSurvivesAStaleCachedStatus(t *testing.T) {
	f, name, _ := succeededOrder(t)
	f.setPhase(name, arcv1.WorkflowPhaseRunning, "")
	// The cache still holds the Order as it was before any status was written.
	stale := f.order("o")
	stale.Status = arcv1.OrderStatus{}
	require.NoError(t, f.factory.Arc().V1alpha1().Orders().Informer().GetIndexer().Update(stale))
	require.NoError(t, f.client.ArcV1alpha1().Endpoints(ns).Delete(t.Context(), "dockerhub", metav1.DeleteOptions{}))
	require.NoError(t, f.factory.Arc().V1alpha1().Endpoints().Informer().GetIndexer().Delete(dockerhub()))

	writes, _, err := f.sync("o") // on the caches as set above
	require.NoError(t, err)
	assert.NotContains(t, writes, "delete artifactworkflows "+ns+"/"+name)
	for _, aw := range f.artifactWorkflows() {
		assert.Equal(t, name, aw.Name, "the running ArtifactWorkflow is kept")
	}
	require.Len(t, f.artifactWorkflows(), 1)
}

// TestNameConflictCountsEveryArtifactItConcerns: identical artifacts share
// one ArtifactWorkflow; when its name is taken, each of them is unresolved,
// so the counters still add up to the total.
func TestNameConflictCountsEveryArtifactItConcerns(t *testing.T) {
	name, _ := expectedName("o", alpineArtifact(t))
	foreign := &arcv1.ArtifactWorkflow{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       arcv1.ArtifactWorkflowSpec{Type: "something-else"},
	}
	f := newFixture(t, newOrder("o", alpineArtifact(t), alpineArtifact(t)), foreign, dockerhub(), internal(), secret("dst-reg-secret"))

	_, _, err := f.sync("o")
	require.NoError(t, err)
	status := f.order("o").Status
	require.Len(t, status.UnresolvedArtifacts, 2)
	for i, u := range status.UnresolvedArtifacts {
		assert.Equal(t, int32(i), u.ArtifactIndex)
		assert.Equal(t, ReasonNameConflict, u.Reason)
	}
	assert.Equal(t, [5]int32{2, 0, 0, 0, 2}, counters(status))
}

// TestSyncStopsBetweenCreatesOnShutdown: an Order of many artifacts is not
// finished by a leader that is shutting down; it stops between two creates
// and writes no status that would miscount the half-done work.
func TestSyncStopsBetweenCreatesOnShutdown(t *testing.T) {
	f := newFixture(t, newOrder("o", alpineArtifact(t)), dockerhub(), internal(), secret("dst-reg-secret"))
	stopping := make(chan struct{})
	close(stopping)
	err := f.ctrl.sync(controller.WithStopping(t.Context(), stopping), cache.ObjectName{Namespace: ns, Name: "o"})
	require.ErrorIs(t, err, errShuttingDown)
	assert.Empty(t, controllertest.Writes(f.client.Actions()), "no create, no status write")
}

// TestSyncReportsAnArtifactWorkflowTheAPIServerRefuses: a quota refuses the
// ArtifactWorkflow; the artifact says why in the Order, warns once, and the
// Order is tried again later.
func TestSyncReportsAnArtifactWorkflowTheAPIServerRefuses(t *testing.T) {
	f := newFixture(t, newOrder("o", alpineArtifact(t)), dockerhub(), internal(), secret("dst-reg-secret"))
	f.client.PrependReactor("create", "artifactworkflows", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(arcv1.SchemeGroupVersion.WithResource("artifactworkflows").GroupResource(), "x",
			errors.New("exceeded quota: aw-quota"))
	})
	_, events, err := f.sync("o")
	require.NoError(t, err, "reported, not retried with backoff")
	status := f.order("o").Status
	require.Len(t, status.UnresolvedArtifacts, 1)
	assert.Equal(t, ReasonCreateRefused, status.UnresolvedArtifacts[0].Reason)
	assert.Contains(t, status.UnresolvedArtifacts[0].Message, "exceeded quota: aw-quota")
	assert.Equal(t, [5]int32{1, 0, 0, 0, 1}, counters(status))
	assert.Equal(t, []string{"Warning " + ReasonCreateRefused}, controllertest.EventReasons(events))
}

// TestSyncWarnsOnceWhenItsStatusWriteIsLost: the status write that records
// a new problem loses to a conflict (the cache was behind); the sync is
// retried. The Warning goes out with the write that succeeds, once.
func TestSyncWarnsOnceWhenItsStatusWriteIsLost(t *testing.T) {
	order := newOrder("o", alpineArtifact(t), arcv1.OrderArtifact{Type: "oci", SrcRef: ref("missing"), Spec: alpineArtifact(t).Spec})
	f := newFixture(t, order, dockerhub(), internal(), secret("dst-reg-secret"))
	conflicts := 1
	f.client.PrependReactor("update", "orders", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.GetSubresource() != "status" || conflicts == 0 {
			return false, nil, nil
		}
		conflicts--
		return true, nil, apierrors.NewConflict(arcv1.SchemeGroupVersion.WithResource("orders").GroupResource(), "o",
			errors.New("the object has been modified"))
	})

	_, events, err := f.sync("o")
	require.Error(t, err, "the lost write is retried")
	assert.NotContains(t, controllertest.EventReasons(events), "Warning "+ReasonEndpointNotFound,
		"no Warning before its status is stored")

	_, events, err = f.sync("o")
	require.NoError(t, err)
	assert.Contains(t, controllertest.EventReasons(events), "Warning "+ReasonEndpointNotFound)
	require.Len(t, f.order("o").Status.UnresolvedArtifacts, 1)

	_, events, err = f.sync("o")
	require.NoError(t, err)
	assert.NotContains(t, controllertest.EventReasons(events), "Warning "+ReasonEndpointNotFound, "and not again")
}

// TestUnresolvedArtifactKeepsWorkWhoseWorkflowExists: the ArtifactWorkflow
// controller names a new Workflow in the status only once Argo starts it,
// so an artifact that stops resolving right after its Workflow was created
// has an ArtifactWorkflow with an empty status. Deleting it would kill the
// work: the Order controller looks for the Workflow, in its cache and then
// on the API server, and deletes only work that never began.
func TestUnresolvedArtifactKeepsWorkWhoseWorkflowExists(t *testing.T) {
	tests := []struct {
		name string
		// workflow is where the Workflow of the current run exists.
		workflow    string // "cache", "server", "foreign" (not controlled by it), "" (nowhere)
		readErr     error
		wantDeleted bool
		wantErr     bool
	}{
		{name: "a Workflow in the cache keeps it", workflow: "cache"},
		{name: "a Workflow the cache has not seen yet keeps it", workflow: "server"},
		{name: "no Workflow anywhere: it never began and goes", wantDeleted: true},
		{name: "a Workflow of its name it does not control does not count", workflow: "foreign", wantDeleted: true},
		{name: "an unanswered read deletes nothing and is retried", readErr: apierrors.NewServiceUnavailable("etcd is slow"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, newOrder("o", alpineArtifact(t)), dockerhub(), internal(), secret("dst-reg-secret"))
			_, _, err := f.sync("o")
			require.NoError(t, err)
			name, _ := expectedName("o", alpineArtifact(t))
			aws := f.artifactWorkflows()
			require.Len(t, aws, 1)
			require.Empty(t, aws[0].Status.WorkflowName, "the status is still empty")
			if tt.workflow != "" {
				wf := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: naming.Workflow(name, 0), Namespace: ns}}
				if tt.workflow != "foreign" {
					wf.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(&aws[0], arcv1.SchemeGroupVersion.WithKind("ArtifactWorkflow"))}
				}
				_, err := f.argo.ArgoprojV1alpha1().Workflows(ns).Create(context.Background(), wf, metav1.CreateOptions{})
				require.NoError(t, err)
				if tt.workflow != "server" {
					f.refreshCaches()
				}
			}
			if tt.readErr != nil {
				f.argo.PrependReactor("get", "workflows", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, tt.readErr
				})
			}
			f.secrets.Informer().GetIndexer().Delete(secretMetadata(secret("dst-reg-secret")))

			writes, _, err := f.sync("o")
			if tt.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.wantDeleted, slices.Contains(writes, "delete artifactworkflows "+ns+"/"+name), "writes: %v", writes)
			assert.Len(t, f.artifactWorkflows(), map[bool]int{true: 0, false: 1}[tt.wantDeleted])
		})
	}
}

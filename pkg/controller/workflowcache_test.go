package controller

import (
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

func TestWorkflowCacheHoldsOnlyCachedWorkflows(t *testing.T) {
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	kept := CacheWorkflow(&wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "kept", Namespace: "team-a"}})
	require.NoError(t, indexer.Add(kept))
	// An object the transform did not turn into a CachedWorkflow.
	require.NoError(t, indexer.Add(&wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "raw", Namespace: "team-a"}}))
	c := WorkflowCache{Indexer: indexer}

	for _, tc := range []struct {
		name, namespace, workflow string
		wantFound                 bool
	}{
		{"a cached Workflow is found", "team-a", "kept", true},
		{"another namespace's is not", "team-b", "kept", false},
		{"a missing one is NotFound", "team-a", "missing", false},
		{"an object of another type is NotFound, not a panic", "team-a", "raw", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wf, err := c.Get(tc.namespace, tc.workflow)
			if tc.wantFound {
				require.NoError(t, err)
				assert.Same(t, kept, wf)
				return
			}
			assert.True(t, apierrors.IsNotFound(err), "err: %v", err)
		})
	}
}

// The cache mutation detector compares a deep copy with the cached object:
// the copy must share nothing that a sync could change.
func TestCachedWorkflowDeepCopySharesNothing(t *testing.T) {
	orig := CacheWorkflow(&wfv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{Name: "wf", Namespace: "team-a", Finalizers: []string{arcv1.FinalizerWorkflowResult},
			Labels: map[string]string{arcv1.LabelArtifactWorkflow: "aw"}},
		Status: wfv1.WorkflowStatus{Phase: wfv1.WorkflowSucceeded, StartedAt: metav1.Unix(1700000000, 0),
			Outputs: &wfv1.Outputs{Parameters: []wfv1.Parameter{{Name: "digest", Value: wfv1.AnyStringPtr("sha256:a")}}}},
	})
	cp := orig.DeepCopyObject().(*CachedWorkflow)
	require.Equal(t, orig, cp)
	cp.Finalizers[0] = "changed"
	cp.Status.Outputs.Parameters[0].Name = "changed"
	assert.Equal(t, arcv1.FinalizerWorkflowResult, orig.Finalizers[0])
	assert.Equal(t, "digest", orig.Status.Outputs.Parameters[0].Name)
	assert.Equal(t, "aw", cp.ArtifactWorkflow)
}

package artifactworkflow

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/artifact-conduit/arc/pkg/controller"
)

func TestWorkflowsOf(t *testing.T) {
	wf := func(namespace, name, artifactWorkflow string) *controller.CachedWorkflow {
		return &controller.CachedWorkflow{
			ObjectMeta:       metav1.ObjectMeta{Namespace: namespace, Name: name},
			ArtifactWorkflow: artifactWorkflow,
		}
	}
	cached := []*controller.CachedWorkflow{
		wf("team-a", "mirror-1a2b", "mirror-1a2b"),            // the first run
		wf("team-a", "mirror-1a2b-1", "mirror-1a2b"),          // a re-run
		wf("team-a", "mirror-1a2b-1700000000", "mirror-1a2b"), // a run of its CronWorkflow
		wf("team-b", "mirror-1a2b", "mirror-1a2b"),            // the namesake in another namespace
		wf("team-a", "other-3c4d", "other-3c4d"),
		wf("team-a", "taken-5e6f", "other-3c4d"), // named like an ArtifactWorkflow, labelled for another
		wf("team-a", "unlabelled", ""),
	}
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{indexByArtifactWorkflow: artifactWorkflowOfWorkflow})
	for _, w := range cached {
		require.NoError(t, indexer.Add(w))
	}
	c := &Controller{workflows: controller.WorkflowCache{Indexer: indexer}}

	tests := []struct {
		name string
		key  cache.ObjectName
		want []string
	}{
		{name: "the first run by name, re-runs and scheduled runs from the index",
			key: cache.ObjectName{Namespace: "team-a", Name: "mirror-1a2b"}, want: []string{"mirror-1a2b", "mirror-1a2b-1", "mirror-1a2b-1700000000"}},
		{name: "only the namespace's own",
			key: cache.ObjectName{Namespace: "team-b", Name: "mirror-1a2b"}, want: []string{"mirror-1a2b"}},
		{name: "a Workflow labelled for another one's name is another's",
			key: cache.ObjectName{Namespace: "team-a", Name: "other-3c4d"}, want: []string{"other-3c4d", "taken-5e6f"}},
		{name: "a namesake Workflow labelled for another is not this one's",
			key: cache.ObjectName{Namespace: "team-a", Name: "taken-5e6f"}, want: nil},
		{name: "none",
			key: cache.ObjectName{Namespace: "team-c", Name: "mirror-1a2b"}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wfs, err := c.workflowsOf(tt.key)
			require.NoError(t, err)
			var names []string
			for _, w := range wfs {
				names = append(names, w.Name)
			}
			assert.ElementsMatch(t, tt.want, names)
		})
	}
	assert.Len(t, indexer.ListIndexFuncValues(indexByArtifactWorkflow), 2,
		"first runs are found by name, not indexed: one set for mirror-1a2b's other runs, one for other-3c4d's")
}

package main

import (
	"context"
	"testing"
	"time"

	argoinformers "github.com/argoproj/argo-workflows/v3/pkg/client/informers/externalversions"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"

	"github.com/artifact-conduit/arc/pkg/controller/artifactworkflow"
	arcinformers "github.com/artifact-conduit/arc/pkg/generated/informers/externalversions"
	"github.com/artifact-conduit/arc/pkg/metrics"
)

// TestPerArtifactInformers checks the informers of the kinds ARC caches one
// of per artifact as buildControllers leaves them: the ones the factories
// hand out are those registered without the namespace index, they carry
// every index the controllers added, and the Workflow informer still lists
// only ARC's Workflows.
func TestPerArtifactInformers(t *testing.T) {
	srv := newWatchServer(cacheObjects{})
	defer srv.close()
	cc := controllersAgainst(t, srv.URL)

	informers := map[string]cache.SharedIndexInformer{}
	for _, f := range cc.factories {
		switch f := f.(type) {
		case arcinformers.SharedInformerFactory:
			informers["artifactworkflows"] = f.Arc().V1alpha1().ArtifactWorkflows().Informer()
		case argoinformers.SharedInformerFactory:
			informers["workflows"] = f.Argoproj().V1alpha1().Workflows().Informer()
		}
	}
	require.Len(t, informers, 2)
	names := map[string][]string{}
	for kind, inf := range informers {
		for name := range inf.GetIndexer().GetIndexers() {
			names[kind] = append(names[kind], name)
		}
		assert.NotContains(t, names[kind], cache.NamespaceIndex, "%s: the namespace index is back", kind)
		assert.NotEmpty(t, names[kind], "%s: the controllers' indexes are missing: the factory handed out another informer", kind)
	}
	assert.NotSubset(t, names["workflows"], names["artifactworkflows"], "the two informers share their indexers")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, f := range cc.factories {
		f.Start(ctx.Done())
	}
	const workflows = "/apis/argoproj.io/v1alpha1/workflows"
	var selector string
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, time.Minute, true,
		func(context.Context) (bool, error) {
			var listed bool
			selector, listed = srv.listSelector(workflows)
			return listed, nil
		}), "the Workflow informer never listed")
	assert.Equal(t, artifactworkflow.WorkflowSelector.String(), selector, "the Workflow informer lists other Workflows than ARC's")
}

// controllersAgainst builds the controllers as arc-controller does, with
// clients of the API server at url. Nothing runs yet. Their collectors go to
// a registry of their own, which the process's is again after the test:
// every build registers them anew.
func controllersAgainst(tb testing.TB, url string) *controllerContext {
	tb.Helper()
	prev := metrics.Registry
	metrics.Registry = prometheus.NewRegistry()
	tb.Cleanup(func() { metrics.Registry = prev })
	o, err := parse(tb, "--kubeconfig="+kubeconfigFor(tb, url), "--leader-elect=false")
	require.NoError(tb, err)
	cl, err := newClients(o)
	require.NoError(tb, err)
	cc, err := buildControllers(cl, o)
	require.NoError(tb, err)
	return cc
}

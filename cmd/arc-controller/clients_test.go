package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// userAgentRecorder is an API server that answers 404 to everything and
// remembers the user agent of every request.
type userAgentRecorder struct {
	mu     sync.Mutex
	agents []string
}

func (r *userAgentRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.agents = append(r.agents, req.UserAgent())
	r.mu.Unlock()
	http.NotFound(w, req)
}

func (r *userAgentRecorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.agents) == 0 {
		return ""
	}
	return r.agents[len(r.agents)-1]
}

func kubeconfigFor(t testing.TB, server string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	content := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: %q}
contexts:
- name: test
  context: {cluster: test, user: test}
current-context: test
users:
- name: test
  user: {}
`, server)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func TestEveryPartTalksToTheAPIServerUnderItsOwnNameAndRateLimit(t *testing.T) {
	recorder := &userAgentRecorder{}
	server := httptest.NewServer(recorder)
	defer server.Close()
	o, err := parse(t, "--kubeconfig="+kubeconfigFor(t, server.URL), "--kube-api-qps=7", "--kube-api-burst=9")
	require.NoError(t, err)
	cl, err := newClients(o)
	require.NoError(t, err)

	// Every clientset a part holds, by the REST client of one of its groups.
	parts := []struct {
		name    string
		clients []rest.Interface
	}{
		{componentInformers, []rest.Interface{cl.informers.kube.CoreV1().RESTClient(), cl.informers.arc.ArcV1alpha1().RESTClient(), cl.informers.argo.ArgoprojV1alpha1().RESTClient()}},
		{componentLeaderElection, []rest.Interface{cl.leaderElection.CoordinationV1().RESTClient()}},
		{componentEvents, []rest.Interface{cl.events.CoreV1().RESTClient()}},
		{componentOrder, []rest.Interface{cl.order.arc.ArcV1alpha1().RESTClient(), cl.order.argo.ArgoprojV1alpha1().RESTClient()}},
		{componentArtifactWorkflow, []rest.Interface{cl.artifactWorkflow.arc.ArcV1alpha1().RESTClient(), cl.artifactWorkflow.argo.ArgoprojV1alpha1().RESTClient()}},
		{componentMetricsAuth, []rest.Interface{cl.metricsAuth.AuthenticationV1().RESTClient()}},
	}
	seen := map[any]string{}
	for _, part := range parts {
		t.Run(part.name, func(t *testing.T) {
			for _, client := range part.clients {
				// The user agent names the part, after client-go's default (binary, version, platform).
				err := client.Get().AbsPath("/probe").Do(t.Context()).Error()
				require.Error(t, err, "the recording server answers 404")
				agent := recorder.last()
				assert.True(t, strings.HasSuffix(agent, "/"+part.name), "user agent %q does not end with /%s", agent, part.name)

				// Its own token bucket, built from the flags.
				limiter := client.GetRateLimiter()
				require.NotNil(t, limiter)
				assert.InDelta(t, 7, limiter.QPS(), 1e-9)
				if other, shared := seen[limiter]; shared {
					t.Errorf("%s shares its rate limiter with %s", part.name, other)
				}
				seen[limiter] = part.name
			}
		})
	}
}

func TestCheckServedResources(t *testing.T) {
	arc := arcv1.SchemeGroupVersion.String()
	all := func() []*metav1.APIResourceList {
		return []*metav1.APIResourceList{
			{GroupVersion: arc, APIResources: []metav1.APIResource{
				{Name: "endpoints"}, {Name: "artifacttypes"}, {Name: "clusterartifacttypes"}, {Name: "orders"}, {Name: "artifactworkflows"},
			}},
			{GroupVersion: "argoproj.io/v1alpha1", APIResources: []metav1.APIResource{{Name: "workflows"}, {Name: "cronworkflows"}}},
		}
	}
	without := func(resource string) []*metav1.APIResourceList {
		lists := all()
		for _, l := range lists {
			l.APIResources = slices.DeleteFunc(l.APIResources, func(r metav1.APIResource) bool { return r.Name == resource })
		}
		return lists
	}
	cases := []struct {
		name      string
		resources []*metav1.APIResourceList
		wantErrs  []string
	}{
		{name: "every resource served", resources: all()},
		{name: "no Endpoint CRD", resources: without("endpoints"), wantErrs: []string{"does not serve endpoints in arc.opendefense.cloud/v1alpha1"}},
		{name: "no ArtifactType CRD", resources: without("artifacttypes"), wantErrs: []string{"does not serve artifacttypes"}},
		{name: "no ClusterArtifactType CRD", resources: without("clusterartifacttypes"), wantErrs: []string{"does not serve clusterartifacttypes"}},
		{name: "no CronWorkflow CRD", resources: without("cronworkflows"), wantErrs: []string{"does not serve cronworkflows in argoproj.io/v1alpha1: install Argo Workflows"}},
		{name: "no Argo", resources: all()[:1], wantErrs: []string{"does not serve workflows in argoproj.io/v1alpha1: install Argo Workflows"}},
		{name: "no ARC CRD at all names each", resources: all()[1:], wantErrs: []string{"endpoints", "artifacttypes", "clusterartifacttypes", "orders", "artifactworkflows"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := kubefake.NewSimpleClientset()
			client.Resources = tc.resources
			err := checkServedResources(client.Discovery())
			if len(tc.wantErrs) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tc.wantErrs {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

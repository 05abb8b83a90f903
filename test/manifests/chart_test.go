// Package manifests checks that the Helm chart (manifests/charts/arc) and
// the kustomizations of manifests/ install the same objects. Both read the
// same files (the chart's files/ and crds/ link to them), but the chart
// changes what its values ask for, so this renders both and compares.
//
// The tests run bin/helm and bin/kustomize (hack/build-tool.sh helm
// kustomize). Without them they skip and say so, unless ARC_REQUIRE_TOOLS=1,
// as hack/verify-chart.sh (make verify) sets it.
package manifests

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	chartDir = "manifests/charts/arc"
	// kubeVersion is what `helm template` is told the cluster runs: the
	// chart requires the admission policy's API (Kubernetes 1.30).
	kubeVersion = "v1.34.2"
)

// helmOnlyLabels are the labels Helm's conventions add and kustomize does not.
var helmOnlyLabels = []string{
	"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/instance", "app.kubernetes.io/version",
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	return root
}

// tool returns the path of bin/NAME, or skips the test with the reason.
func tool(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("ARC_BIN_DIR")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), "bin")
	}
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("ARC_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s is missing (%v): run hack/build-tool.sh %s", path, err, name)
		}
		t.Skipf("SKIP: %s is missing, so the chart cannot be rendered: run hack/build-tool.sh %s (make verify does)", path, name)
	}
	return path
}

func run(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = repoRoot(t)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "%s %s:\n%s", filepath.Base(bin), strings.Join(args, " "), stderr.String())
	return stdout.Bytes()
}

// helmTemplate renders the chart into namespace arc-system, CRDs included.
func helmTemplate(t *testing.T, set ...string) []*unstructured.Unstructured {
	args := []string{"template", "arc", chartDir, "--namespace", "arc-system", "--include-crds", "--kube-version", kubeVersion}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	return decode(t, run(t, tool(t, "helm"), args...))
}

func kustomizeBuild(t *testing.T, dir string) []*unstructured.Unstructured {
	return decode(t, run(t, tool(t, "kustomize"), "build", dir))
}

func decode(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var m map[string]interface{}
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	return objs
}

func keyOf(o *unstructured.Unstructured) string {
	return fmt.Sprintf("%s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
}

// normalize drops what legitimately differs between the two installs: the
// labels of Helm's conventions, and the labels of CRDs (Helm installs crds/
// as they are; kustomize labels them).
func normalize(o *unstructured.Unstructured) *unstructured.Unstructured {
	o = o.DeepCopy()
	labels := o.GetLabels()
	for _, l := range helmOnlyLabels {
		delete(labels, l)
	}
	if o.GetKind() == "CustomResourceDefinition" {
		labels = nil
	}
	o.SetLabels(labels)
	if len(o.GetLabels()) == 0 {
		unstructured.RemoveNestedField(o.Object, "metadata", "labels")
	}
	// Round-trip through JSON so numbers compare alike (Helm's toYaml and
	// kustomize print them differently).
	raw, _ := o.MarshalJSON()
	out := &unstructured.Unstructured{}
	_ = out.UnmarshalJSON(raw)
	return out
}

// drift lists every object that only one side has or that differs, with a diff.
func drift(chart, kustomize []*unstructured.Unstructured) []string {
	byKey := func(objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
		m := map[string]*unstructured.Unstructured{}
		for _, o := range objs {
			m[keyOf(o)] = normalize(o)
		}
		return m
	}
	c, k := byKey(chart), byKey(kustomize)
	var problems []string
	for key, ko := range k {
		co, ok := c[key]
		if !ok {
			problems = append(problems, "only kustomize renders "+key)
			continue
		}
		if !equality.Semantic.DeepEqual(co.Object, ko.Object) {
			cy, _ := yaml.Marshal(co.Object)
			ky, _ := yaml.Marshal(ko.Object)
			problems = append(problems, fmt.Sprintf("%s differs:\n--- chart\n%s--- kustomize\n%s", key, cy, ky))
		}
	}
	for key := range c {
		if _, ok := k[key]; !ok {
			problems = append(problems, "only the chart renders "+key)
		}
	}
	sort.Strings(problems)
	return problems
}

func without(objs []*unstructured.Unstructured, kinds ...string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if !slices.Contains(kinds, o.GetKind()) {
			out = append(out, o)
		}
	}
	return out
}

func only(objs []*unstructured.Unstructured, kinds ...string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if slices.Contains(kinds, o.GetKind()) {
			out = append(out, o)
		}
	}
	return out
}

// TestChartMatchesKustomize: with its default values the chart renders
// exactly the objects of manifests/default, but the Namespace (Helm installs
// into a namespace that exists; the README says how to create it).
func TestChartMatchesKustomize(t *testing.T) {
	chart := helmTemplate(t)
	kust := kustomizeBuild(t, "manifests/default")
	require.Len(t, only(kust, "Namespace"), 1, "manifests/default creates its namespace")
	problems := drift(chart, without(kust, "Namespace"))
	assert.Empty(t, problems, "the chart and manifests/default drifted apart:\n%s", strings.Join(problems, "\n"))
	assert.Len(t, chart, len(kust)-1, "objects the chart renders")
}

// TestMonitoringChartMatchesKustomize: the chart's ServiceMonitor,
// PrometheusRule and dashboard are those of manifests/monitoring.
func TestMonitoringChartMatchesKustomize(t *testing.T) {
	chart := helmTemplate(t, "metrics.serviceMonitor.enabled=true", "metrics.prometheusRule.enabled=true", "metrics.dashboard.enabled=true")
	kinds := []string{"ServiceMonitor", "PrometheusRule", "ConfigMap"}
	kust := kustomizeBuild(t, "manifests/monitoring")
	require.Len(t, kust, 3)
	problems := drift(only(chart, kinds...), kust)
	assert.Empty(t, problems, "the chart and manifests/monitoring drifted apart:\n%s", strings.Join(problems, "\n"))
	assert.Empty(t, only(helmTemplate(t), kinds...), "monitoring objects are off by default")
}

// TestDriftIsDetected: the comparison above notices a change in one
// install only, so it can fail.
func TestDriftIsDetected(t *testing.T) {
	chart := helmTemplate(t, "image.tag=v0.0.0-drift", "userRoles.enabled=false")
	kust := without(kustomizeBuild(t, "manifests/default"), "Namespace")
	problems := drift(chart, kust)
	joined := strings.Join(problems, "\n")
	assert.Contains(t, joined, "Deployment arc-system/arc-controller differs")
	assert.Contains(t, joined, "v0.0.0-drift")
	assert.Contains(t, joined, "only kustomize renders ClusterRole /arc-order-author")
	assert.Contains(t, joined, "only kustomize renders ClusterRole /arc-viewer")
	assert.Len(t, problems, 3, "%s", joined)
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind, ns, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetNamespace() == ns && o.GetName() == name {
			return o
		}
	}
	return nil
}

func containerArgs(t *testing.T, objs []*unstructured.Unstructured) []string {
	t.Helper()
	d := find(t, objs, "Deployment", "arc-system", "arc-controller")
	require.NotNil(t, d)
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	require.Len(t, containers, 1)
	var args []string
	for _, a := range containers[0].(map[string]interface{})["args"].([]interface{}) {
		args = append(args, a.(string))
	}
	return args
}

// TestChartValues: what each value changes.
func TestChartValues(t *testing.T) {
	t.Run("watchNamespace binds the controller's role in that namespace only", func(t *testing.T) {
		objs := helmTemplate(t, "watchNamespace=team-a")
		assert.Nil(t, find(t, objs, "ClusterRoleBinding", "", "arc-controller"), "no cluster-wide binding of arc-controller")
		rb := find(t, objs, "RoleBinding", "team-a", "arc-controller")
		if assert.NotNil(t, rb, "RoleBinding team-a/arc-controller") {
			name, _, _ := unstructured.NestedString(rb.Object, "roleRef", "name")
			kind, _, _ := unstructured.NestedString(rb.Object, "roleRef", "kind")
			assert.Equal(t, "ClusterRole/arc-controller", kind+"/"+name)
		}
		cr := find(t, objs, "ClusterRole", "", "arc-controller-cluster-scope")
		require.NotNil(t, cr)
		rules, _, _ := unstructured.NestedSlice(cr.Object, "rules")
		got := map[string][]interface{}{}
		for _, r := range rules {
			for _, res := range r.(map[string]interface{})["resources"].([]interface{}) {
				got[res.(string)] = r.(map[string]interface{})["verbs"].([]interface{})
			}
		}
		assert.Equal(t, map[string][]interface{}{
			"namespaces":           {"get", "list", "watch"},
			"clusterartifacttypes": {"get", "list", "watch"},
			"tokenreviews":         {"create"},
			"subjectaccessreviews": {"create"},
		}, got, "what the controller needs outside its namespace, from the generated ClusterRole")
		assert.NotNil(t, find(t, objs, "ClusterRoleBinding", "", "arc-controller-cluster-scope"))
		assert.Contains(t, containerArgs(t, objs), "--namespace=team-a")
	})
	t.Run("workers, API budget, leader election and extra flags", func(t *testing.T) {
		objs := helmTemplate(t, "controller.orderWorkers=2", "controller.artifactWorkflowWorkers=3",
			"controller.kubeAPIQPS=20", "controller.kubeAPIBurst=40", "leaderElection.enabled=false",
			"controller.extraArgs={--resync-period=30m}")
		args := containerArgs(t, objs)
		for _, want := range []string{"--order-workers=2", "--artifactworkflow-workers=3", "--kube-api-qps=20",
			"--kube-api-burst=40", "--leader-elect=false", "--resync-period=30m"} {
			assert.Contains(t, args, want)
		}
		assert.NotContains(t, args, "--leader-elect=true")
	})
	t.Run("metrics, admission policy and user roles off", func(t *testing.T) {
		objs := helmTemplate(t, "metrics.enabled=false", "admissionPolicy.enabled=false", "userRoles.enabled=false")
		assert.Contains(t, containerArgs(t, objs), "--metrics-bind-address=0")
		for _, kind := range []string{"Service", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} {
			assert.Empty(t, only(objs, kind), kind)
		}
		for _, role := range []string{"arc-metrics-reader", "arc-order-author", "arc-viewer"} {
			assert.Nil(t, find(t, objs, "ClusterRole", "", role), role)
		}
	})
	t.Run("image digest and resources", func(t *testing.T) {
		objs := helmTemplate(t, "image.digest=sha256:0123", "resources.limits.memory=1Gi")
		d := find(t, objs, "Deployment", "arc-system", "arc-controller")
		c := d.Object["spec"].(map[string]interface{})["template"].(map[string]interface{})["spec"].(map[string]interface{})["containers"].([]interface{})[0].(map[string]interface{})
		assert.Equal(t, "ghcr.io/artifact-conduit/arc-controller@sha256:0123", c["image"])
		assert.Equal(t, map[string]interface{}{"limits": map[string]interface{}{"memory": "1Gi"}}, c["resources"])
	})
	t.Run("another release namespace moves every reference", func(t *testing.T) {
		out := run(t, tool(t, "helm"), "template", "arc", chartDir, "--namespace", "arc", "--kube-version", kubeVersion)
		assert.NotContains(t, string(out), "arc-system", "nothing refers to the default namespace")
		objs := decode(t, out)
		binding := find(t, objs, "ValidatingAdmissionPolicyBinding", "", "arc-artifactworkflow-writers")
		require.NotNil(t, binding)
		ns, _, _ := unstructured.NestedString(binding.Object, "spec", "paramRef", "namespace")
		assert.Equal(t, "arc", ns, "the admission binding names the release's ServiceAccount")
	})
}

//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// The real-node tests copy real artifacts between the two registries of the
// local cluster (hack/lib/registries.sh) with the artifact types of examples/
// as examples/run-local/real-node runs them, and check what arrives.

// realNodeNamespaceLabel marks the namespaces the real-node types are offered
// to: the other tests create namespaced types named "oci", which a
// ClusterArtifactType of that name offered to their namespace would make
// ambiguous.
const realNodeNamespaceLabel = "arc.opendefense.cloud/e2e-real-node"

// realNodeOverlay is the kustomization the real-node types come from.
const realNodeOverlay = "examples/run-local/real-node"

// realNode is what the local cluster recorded about its registries and the
// content it seeded.
type realNode struct {
	srcRegistry, srcUser, srcPassword string
	dstRegistry, dstUser, dstPassword string
	fileServer                        string
	seed                              seedResult
}

// seedResult is the part of .local/cluster/seed.json (bin/imagetool seed)
// the tests read.
type seedResult struct {
	Image struct {
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
		Digest     string `json:"digest"`
		Manifests  []struct {
			Platform string `json:"platform"`
			Digest   string `json:"digest"`
		} `json:"manifests"`
		Referrers []struct {
			Digest       string `json:"digest"`
			ArtifactType string `json:"artifactType"`
		} `json:"referrers"`
	} `json:"image"`
	Chart struct {
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
		Digest     string `json:"digest"`
	} `json:"chart"`
	File struct {
		Path   string `json:"path"`
		SHA256 string `json:"sha256"`
		Size   int64  `json:"size"`
	} `json:"file"`
}

// inspected is the output of bin/imagetool inspect.
type inspected struct {
	Digest string `json:"digest"`
	Layers []struct {
		Digest string `json:"digest"`
		Size   int64  `json:"size"`
	} `json:"layers"`
	Manifests []struct {
		Digest   string `json:"digest"`
		Platform string `json:"platform"`
	} `json:"manifests"`
	Referrers *[]struct {
		Digest       string `json:"digest"`
		ArtifactType string `json:"artifactType"`
	} `json:"referrers"`
	Verified *int `json:"verifiedBlobs"`
}

var (
	realNodeOnce      sync.Once
	realNodeEnv       *realNode
	realNodeSkip      string
	realNodeInstalled []*unstructured.Unstructured
)

// requireRealNode returns the real node's environment, with the artifact
// types installed, or skips the test saying why the machine has none.
func requireRealNode(t *testing.T) *realNode {
	t.Helper()
	realNodeOnce.Do(func() { realNodeEnv, realNodeSkip = loadRealNode() })
	if realNodeEnv == nil {
		t.Skipf("no real node: %s", realNodeSkip)
	}
	return realNodeEnv
}

// loadRealNode reads what hack/cluster.sh recorded and installs the types;
// on failure it returns why, for the skip message or, where the real node
// runs, as a failure of every real-node test.
func loadRealNode() (*realNode, string) {
	stateDir := filepath.Join(s.root, ".local", "cluster")
	if reason, err := os.ReadFile(filepath.Join(stateDir, "real-node.skip")); err == nil {
		return nil, strings.TrimSpace(string(reason))
	}
	env, err := readEnvFile(filepath.Join(stateDir, "registries.env"))
	if err != nil {
		return nil, fmt.Sprintf("the local cluster has no registries (%v); hack/cluster.sh up starts them with the real node", err)
	}
	n := &realNode{
		srcRegistry: env["SRC_REGISTRY"], srcUser: env["SRC_USER"], srcPassword: env["SRC_PASSWORD"],
		dstRegistry: env["DST_REGISTRY"], dstUser: env["DST_USER"], dstPassword: env["DST_PASSWORD"],
		fileServer: env["FILE_SERVER"],
	}
	raw, err := os.ReadFile(filepath.Join(stateDir, "seed.json"))
	if err != nil {
		return nil, fmt.Sprintf("no seeded content: %v", err)
	}
	if err := json.Unmarshal(raw, &n.seed); err != nil {
		return nil, fmt.Sprintf("reading seed.json: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := installRealNodeTypes(ctx); err != nil {
		return nil, fmt.Sprintf("installing the real-node artifact types: %v", err)
	}
	return n, ""
}

// installRealNodeTypes applies the real-node overlay, its ClusterArtifactTypes
// offered only to namespaces labelled realNodeNamespaceLabel, and the
// executor's ClusterRole.
func installRealNodeTypes(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, filepath.Join(s.root, "bin", "kustomize"), "build", filepath.Join(s.root, realNodeOverlay)).Output()
	if err != nil {
		return fmt.Errorf("kustomize build %s: %w", realNodeOverlay, err)
	}
	objs, err := decodeObjects(out)
	if err != nil {
		return err
	}
	role, err := readObjects(filepath.Join(s.root, "examples", "workflow-identity", "cluster-role.yaml"))
	if err != nil {
		return err
	}
	for _, obj := range append(objs, role...) {
		if obj.GetKind() == "ClusterArtifactType" {
			selector := map[string]interface{}{"matchLabels": map[string]interface{}{realNodeNamespaceLabel: "true"}}
			if err := unstructured.SetNestedField(obj.Object, selector, "spec", "namespaceSelector"); err != nil {
				return err
			}
		}
		applied, err := s.apply(ctx, obj, "")
		if err != nil {
			return err
		}
		realNodeInstalled = append(realNodeInstalled, applied)
	}
	return nil
}

// removeRealNodeTypes deletes what installRealNodeTypes applied, so that
// make run-local finds the cluster as it left it.
func removeRealNodeTypes(ctx context.Context) {
	for _, obj := range realNodeInstalled {
		if obj.GetKind() != "ClusterArtifactType" {
			continue
		}
		err := s.arc.ArcV1alpha1().ClusterArtifactTypes().Delete(ctx, obj.GetName(), metav1.DeleteOptions{})
		if ignoreNotFound(err) != nil {
			fmt.Fprintf(os.Stderr, "e2e: removing ClusterArtifactType %s: %v\n", obj.GetName(), err)
		}
	}
}

func decodeObjects(data []byte) ([]*unstructured.Unstructured, error) {
	dec := k8syaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]interface{}
		if err := dec.Decode(&m); err != nil {
			if err.Error() == "EOF" {
				return objs, nil
			}
			return nil, err
		}
		if len(m) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
}

// readEnvFile reads KEY=VALUE lines.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	return env, sc.Err()
}

// newRealNodeFixture is a namespace offered the real-node types, with the
// executor's ServiceAccount, the registries' Secrets and Endpoints:
// src (registry-src, credentials of user puller), dst (registry-dst, user
// pusher) and files (the file server).
func newRealNodeFixture(t *testing.T, prefix string, n *realNode) *fixture {
	t.Helper()
	f := newFixture(t, prefix)
	ns, err := s.kube.CoreV1().Namespaces().Get(f.ctx(), f.ns, metav1.GetOptions{})
	require.NoError(t, err)
	ns.Labels[realNodeNamespaceLabel] = "true"
	_, err = s.kube.CoreV1().Namespaces().Update(f.ctx(), ns, metav1.UpdateOptions{})
	require.NoError(t, err)

	objs, err := readObjects(filepath.Join(s.root, "examples", "workflow-identity", "service-account.yaml"))
	require.NoError(t, err)
	for _, obj := range objs {
		if obj.GetKind() == "RoleBinding" {
			subjects, _, _ := unstructured.NestedSlice(obj.Object, "subjects")
			for _, sub := range subjects {
				sub.(map[string]interface{})["namespace"] = f.ns
			}
			require.NoError(t, unstructured.SetNestedSlice(obj.Object, subjects, "subjects"))
		}
		_, err := s.apply(f.ctx(), obj, f.ns)
		require.NoError(t, err)
	}
	f.createRegistrySecret("src-creds", n.srcRegistry, n.srcUser, n.srcPassword)
	f.createRegistrySecret("dst-creds", n.dstRegistry, n.dstUser, n.dstPassword)
	f.createEndpoint("src", "oci", "http://"+n.srcRegistry, arcv1.EndpointUsagePullOnly, "src-creds")
	f.createEndpoint("dst", "oci", "http://"+n.dstRegistry, arcv1.EndpointUsagePushOnly, "dst-creds")
	f.createEndpoint("files", "http", n.fileServer, arcv1.EndpointUsagePullOnly, "")
	return f
}

// createRegistrySecret creates a kubernetes.io/dockerconfigjson Secret for
// one registry.
func (f *fixture) createRegistrySecret(name, registry, user, password string) {
	f.t.Helper()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	config, err := json.Marshal(map[string]interface{}{
		"auths": map[string]interface{}{registry: map[string]string{"auth": auth}},
	})
	require.NoError(f.t, err)
	_, err = s.kube.CoreV1().Secrets(f.ns).Create(f.ctx(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: config},
	}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		err = nil
	}
	require.NoError(f.t, err, "creating Secret %s", name)
}

// inspect runs bin/imagetool inspect against a registry of the real node.
func (n *realNode) inspect(t *testing.T, registry, ref string, referrers bool) inspected {
	t.Helper()
	user, password := n.srcUser, n.srcPassword
	if registry == n.dstRegistry {
		user, password = n.dstUser, n.dstPassword
	}
	args := []string{"inspect", "--registry", registry, "--username", user, "--password", password,
		"--plain-http", "--verify", "--ref", ref}
	if referrers {
		args = append(args, "--referrers")
	}
	cmd := exec.CommandContext(t.Context(), filepath.Join(s.root, "bin", "imagetool"), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "imagetool inspect %s on %s: %s", ref, registry, stderr.String())
	var got inspected
	require.NoError(t, json.Unmarshal(out, &got), "imagetool inspect output: %s", out)
	return got
}

// waitArtifacts waits until every artifact of the Order has finished and
// returns the Order and its ArtifactWorkflows by artifact index.
func (f *fixture) waitArtifacts(name string, n int) (*arcv1.Order, map[int32]*arcv1.ArtifactWorkflow) {
	f.t.Helper()
	order := f.waitOrder(name, "every artifact finished", func(o *arcv1.Order) (bool, string) {
		return int(o.Status.Succeeded+o.Status.Failed) == n, orderSummary(o)
	})
	aws := map[int32]*arcv1.ArtifactWorkflow{}
	for i := range int32(n) {
		entry := f.mustEntry(order, i)
		aw, err := s.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).Get(f.ctx(), entry.Name, metav1.GetOptions{})
		require.NoError(f.t, err)
		aws[i] = aw
	}
	return order, aws
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

func result(aw *arcv1.ArtifactWorkflow, name string) string {
	for _, r := range aw.Status.Results {
		if r.Name == name {
			return r.Value
		}
	}
	return ""
}

// TestRealNodeCopiesEveryType: one Order with an artifact of each shipped
// type (the image by tag and by digest), all to one destination at once.
// Every artifact arrives byte-identical: the same digests, every platform and
// the SBOM referrer of the image, and the file's bytes as the layer.
func TestRealNodeCopiesEveryType(t *testing.T) {
	t.Parallel()
	n := requireRealNode(t)
	f := newRealNodeFixture(t, "copy", n)
	f.waitTimeout = 4 * time.Minute
	img, chart, file := n.seed.Image, n.seed.Chart, n.seed.File
	require.NotEmpty(t, img.Referrers, "the seeded image has a referrer to copy")

	f.createOrder(&arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: "every-type"},
		Spec: arcv1.OrderSpec{
			Defaults: &arcv1.OrderDefaults{SrcRef: ref("src"), DstRef: ref("dst")},
			Artifacts: []arcv1.OrderArtifact{
				{Type: "oci", Spec: rawSpec(fmt.Sprintf(`{"image":%q}`, img.Repository+":"+img.Tag))},
				{Type: "oci", Spec: rawSpec(fmt.Sprintf(`{"image":%q,"override":%q}`,
					img.Repository+"@"+img.Digest, "by-digest/app@"+img.Digest))},
				{Type: "oci", Spec: rawSpec(fmt.Sprintf(`{"image":%q,"override":%q}`,
					img.Repository+":"+img.Tag, "team-a/app:"+img.Tag))},
				{Type: "helm", Spec: rawSpec(fmt.Sprintf(`{"chart":%q,"version":%q}`, chart.Repository, chart.Tag))},
				{Type: "file", SrcRef: ref("files"), Spec: rawSpec(fmt.Sprintf(`{"path":%q,"sha256":%q,"repository":"files/payload","tag":"v1"}`,
					filepath.Base(file.Path), file.SHA256))},
			},
		},
	})
	order, aws := f.waitArtifacts("every-type", 5)
	for i, aw := range aws {
		require.Equal(t, arcv1.WorkflowPhaseSucceeded, aw.Status.Phase, "artifact %d: %s", i, aw.Status.Message)
	}
	assert.Equal(t, arcv1.OrderPhaseSucceeded, order.Status.Phase)

	for i, dst := range map[int32]string{0: img.Repository + ":" + img.Tag, 1: "by-digest/app@" + img.Digest, 2: "team-a/app:" + img.Tag} {
		got := n.inspect(t, n.dstRegistry, dst, true)
		assert.Equal(t, img.Digest, got.Digest, "%s: the index arrives with the source's digest", dst)
		assert.Equal(t, img.Digest, result(aws[i], "digest"), "%s: the Workflow reports the destination digest", dst)
		var platforms []string
		for _, m := range got.Manifests {
			platforms = append(platforms, m.Platform+"="+m.Digest)
		}
		var want []string
		for _, m := range img.Manifests {
			want = append(want, m.Platform+"="+m.Digest)
		}
		assert.ElementsMatch(t, want, platforms, "%s: every platform, unchanged", dst)
		require.NotNil(t, got.Referrers, dst)
		var referrers []string
		for _, r := range *got.Referrers {
			referrers = append(referrers, r.Digest)
		}
		for _, r := range img.Referrers {
			assert.Contains(t, referrers, r.Digest, "%s: the %s referrer came along", dst, r.ArtifactType)
		}
		require.NotNil(t, got.Verified, dst)
		assert.Positive(t, *got.Verified, "%s: every blob read back and matched its digest", dst)
	}

	gotChart := n.inspect(t, n.dstRegistry, chart.Repository+":"+chart.Tag, false)
	assert.Equal(t, chart.Digest, gotChart.Digest, "the chart arrives with the source's digest")
	assert.Equal(t, chart.Digest, result(aws[3], "digest"))

	gotFile := n.inspect(t, n.dstRegistry, "files/payload:v1", false)
	require.Len(t, gotFile.Layers, 1, "the file is one layer")
	assert.Equal(t, "sha256:"+file.SHA256, gotFile.Layers[0].Digest, "the layer is the file's bytes")
	assert.Equal(t, file.Size, gotFile.Layers[0].Size)
	assert.Equal(t, gotFile.Digest, result(aws[4], "digest"))
	assert.Equal(t, file.SHA256, result(aws[4], "sha256"))
}

// TestRealNodeFailuresReachTheOrder: a wrong destination password, a missing
// source image and a file whose checksum does not match each end Failed, and
// the step's own error reaches the ArtifactWorkflow and the Order's entry.
// The artifact next to them still arrives.
func TestRealNodeFailuresReachTheOrder(t *testing.T) {
	t.Parallel()
	n := requireRealNode(t)
	f := newRealNodeFixture(t, "fail", n)
	f.waitTimeout = 4 * time.Minute
	f.createRegistrySecret("wrong-dst-creds", n.dstRegistry, n.dstUser, "not-"+n.dstPassword)
	f.createEndpoint("dst-wrong-password", "oci", "http://"+n.dstRegistry, arcv1.EndpointUsagePushOnly, "wrong-dst-creds")
	img := n.seed.Image

	f.createOrder(&arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: "failures"},
		Spec: arcv1.OrderSpec{
			Defaults: &arcv1.OrderDefaults{SrcRef: ref("src"), DstRef: ref("dst")},
			Artifacts: []arcv1.OrderArtifact{
				{Type: "oci", DstRef: ref("dst-wrong-password"), Spec: rawSpec(fmt.Sprintf(`{"image":%q,"override":"wrong-password/app:v1"}`, img.Repository+":"+img.Tag))},
				{Type: "oci", Spec: rawSpec(`{"image":"demo/does-not-exist:v1"}`)},
				{Type: "file", SrcRef: ref("files"), Spec: rawSpec(fmt.Sprintf(`{"path":%q,"sha256":%q,"repository":"files/bad-sum","tag":"v1"}`,
					filepath.Base(n.seed.File.Path), strings.Repeat("0", 64)))},
				{Type: "oci", Spec: rawSpec(fmt.Sprintf(`{"image":%q,"override":"next-to-failures/app:v1"}`, img.Repository+":"+img.Tag))},
			},
		},
	})
	order, aws := f.waitArtifacts("failures", 4)
	// Each row: the step that fails, and words of the tool's own error (any
	// one of them).
	want := map[int32]struct {
		step  string
		words []string
	}{
		0: {"copy", []string{"401", "nauthorized"}},
		1: {"resolve", []string{"not found", "404"}},
		2: {"fetch-and-push", []string{"checksum mismatch"}},
	}
	for i, w := range want {
		aw, entry := aws[i], f.mustEntry(order, i)
		t.Logf("artifact %d: %s", i, aw.Status.Message)
		assert.Equal(t, arcv1.WorkflowPhaseFailed, aw.Status.Phase, "artifact %d", i)
		for what, message := range map[string]string{"ArtifactWorkflow": aw.Status.Message, "Order entry": entry.Message} {
			assert.Contains(t, message, "step "+w.step+" failed", "artifact %d: the %s names the failed step", i, what)
			assert.True(t, containsAny(message, w.words), "artifact %d: the %s carries the step's own error (one of %q): %s", i, what, w.words, message)
		}
	}
	assert.Equal(t, arcv1.WorkflowPhaseSucceeded, aws[3].Status.Phase, "one bad artifact never blocks the others: %s", aws[3].Status.Message)
	assert.Equal(t, img.Digest, n.inspect(t, n.dstRegistry, "next-to-failures/app:v1", false).Digest)
	assert.Equal(t, arcv1.OrderPhaseFailed, order.Status.Phase)
	assert.EqualValues(t, 3, order.Status.Failed)
}

// TestRealNodeNeverExecutesSpecValues: spec values full of shell
// metacharacters reach the copy tool as literal strings. The type here has
// no specSchema (the shipped ones refuse such values before any Workflow
// exists), so only the template's quoting stands between the value and a
// shell. Each value would, if executed, call a listener of this test on the
// host's loopback (steps use the host network); it must hear nothing, and
// the tool's error must quote the value. A canary proves the listener
// would hear: a template that splices the value into its script (as the
// OCI example once did) runs the call.
func TestRealNodeNeverExecutesSpecValues(t *testing.T) {
	t.Parallel()
	n := requireRealNode(t)
	f := newRealNodeFixture(t, "inject", n)
	f.waitTimeout = 4 * time.Minute

	var mu sync.Mutex
	var heard []string
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	server := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		heard = append(heard, r.URL.Path)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = server.Serve(listener) }()
	t.Cleanup(func() { _ = server.Close() })
	call := func(path string) string { return fmt.Sprintf("wget -q -O- http://%s/%s", listener.Addr(), path) }

	// The same template as the shipped oci type, without its schema.
	suffix := f.ns[len(f.ns)-5:]
	typeName := "e2e-unchecked-oci-" + suffix
	f.createClusterTypeForNamespace(typeName, "oci-image-pipeline")
	canaryType := "e2e-splicing-" + suffix
	f.createSplicingTemplate(canaryType)
	f.createClusterTypeForNamespace(canaryType, canaryType)

	img := n.seed.Image.Repository + ":" + n.seed.Image.Tag
	values := map[string]string{
		"dollar":    img + "$(" + call("dollar") + ")",
		"backticks": img + "`" + call("backticks") + "`",
		"semicolon": img + "; " + call("semicolon"),
		"newline":   img + "\n" + call("newline"),
		"ampersand": img + " && " + call("ampersand") + " || " + call("or"),
	}
	var artifacts []arcv1.OrderArtifact
	var names []string
	for name, value := range values {
		spec, err := json.Marshal(map[string]string{"image": img, "override": value})
		require.NoError(t, err)
		if name == "dollar" || name == "newline" {
			// In the source path too: resolve runs first, with the source.
			spec, err = json.Marshal(map[string]string{"image": value})
			require.NoError(t, err)
		}
		artifacts = append(artifacts, arcv1.OrderArtifact{Type: typeName, Spec: rawSpec(string(spec))})
		names = append(names, name)
	}
	f.createOrder(&arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: "metacharacters"},
		Spec: arcv1.OrderSpec{
			Defaults:  &arcv1.OrderDefaults{SrcRef: ref("src"), DstRef: ref("dst")},
			Artifacts: artifacts,
		},
	})
	f.createOrder(&arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: "canary"},
		Spec: arcv1.OrderSpec{
			Defaults:  &arcv1.OrderDefaults{SrcRef: ref("src"), DstRef: ref("dst")},
			Artifacts: []arcv1.OrderArtifact{{Type: canaryType, Spec: rawSpec(fmt.Sprintf(`{"image":%q}`, "x$("+call("canary")+")"))}},
		},
	})
	_, aws := f.waitArtifacts("metacharacters", len(artifacts))
	_, canary := f.waitArtifacts("canary", 1)
	t.Logf("canary: %s %s", canary[0].Status.Phase, canary[0].Status.Message)
	for i, name := range names {
		aw := aws[int32(i)]
		t.Logf("%s: %s", name, aw.Status.Message)
		assert.Equal(t, arcv1.WorkflowPhaseFailed, aw.Status.Phase, "%s: the tool refuses the reference: %s", name, aw.Status.Message)
		// What follows the image name, up to a line end: as the tool saw it.
		literal, _, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(values[name], img)), "\n")
		assert.Contains(t, aw.Status.Message, literal, "%s: the tool saw the value as a literal", name)
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"/canary"}, heard,
		"only the splicing canary template runs the call; the shipped template executes no spec value")
}

// createClusterTypeForNamespace offers a ClusterArtifactType without a spec
// schema, using the ClusterWorkflowTemplate template, to this test's
// namespace only.
func (f *fixture) createClusterTypeForNamespace(name, template string) {
	f.t.Helper()
	_, err := s.arc.ArcV1alpha1().ClusterArtifactTypes().Create(f.ctx(), &arcv1.ClusterArtifactType{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: arcv1.ClusterArtifactTypeSpec{
			ArtifactTypeSpec: arcv1.ArtifactTypeSpec{
				Rules:               arcv1.ArtifactTypeRules{SrcTypes: []string{"oci"}, DstTypes: []string{"oci"}},
				Parameters:          []arcv1.Parameter{{Name: "scan", Value: "false"}, {Name: "scanSeverity", Value: "HIGH"}},
				WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: template, ClusterScope: true},
			},
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": f.ns}},
		},
	}, metav1.CreateOptions{})
	require.NoError(f.t, err)
	f.t.Cleanup(func() {
		_ = s.arc.ArcV1alpha1().ClusterArtifactTypes().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

// createSplicingTemplate creates a deliberately unsafe ClusterWorkflowTemplate
// that splices the image parameter into its script, on the real node with the
// tools image of the installed oci template.
func (f *fixture) createSplicingTemplate(name string) {
	f.t.Helper()
	oci, err := s.argo.ArgoprojV1alpha1().ClusterWorkflowTemplates().Get(f.ctx(), "oci-image-pipeline", metav1.GetOptions{})
	require.NoError(f.t, err)
	spec := oci.Spec.DeepCopy()
	spec.Entrypoint = "splice"
	spec.Volumes = nil
	spec.Templates = []wfv1.Template{{
		Name: "splice",
		Script: &wfv1.ScriptTemplate{
			Container: corev1.Container{Image: oci.Spec.Templates[1].Script.Image, Command: []string{"sh"}},
			// The mistake under test: a parameter spliced into script source.
			Source: "echo {{workflow.parameters.specImage}}",
		},
	}}
	_, err = s.argo.ArgoprojV1alpha1().ClusterWorkflowTemplates().Create(f.ctx(), &wfv1.ClusterWorkflowTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       *spec,
	}, metav1.CreateOptions{})
	require.NoError(f.t, err)
	f.t.Cleanup(func() {
		_ = s.argo.ArgoprojV1alpha1().ClusterWorkflowTemplates().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

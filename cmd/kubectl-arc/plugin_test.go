package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	argofake "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	arcfake "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned/fake"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const ns = "team-a"

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) *metav1.Time { t := metav1.NewTime(t0.Add(d)); return &t }

func raw(s string) *runtime.RawExtension { return &runtime.RawExtension{Raw: []byte(s)} }

func ref(name string) *corev1.LocalObjectReference { return &corev1.LocalObjectReference{Name: name} }

// mixedOrder is an Order of four artifacts: one succeeded, one failed in
// its push step, one unresolved (its source Endpoint is missing), and one
// identical to the first, which ARC runs once.
func mixedOrder() []runtime.Object {
	order := &arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mixed", UID: types.UID("order-uid"), Generation: 1},
		Spec: arcv1.OrderSpec{
			Defaults: &arcv1.OrderDefaults{SrcRef: ref("dockerhub"), DstRef: ref("internal")},
			Artifacts: []arcv1.OrderArtifact{
				{Type: "oci", Spec: raw(`{"image":"library/alpine:3.18"}`)},
				{Type: "oci-scan", Spec: raw(`{"image":"library/busybox:1.36","override":"myteam/busybox:1.36-with-a-long-name"}`)},
				{Type: "oci", SrcRef: ref("quay"), Spec: raw(`{"image":"coreos/etcd:v3.5"}`)},
				{Type: "oci", Spec: raw(`{"image":"library/alpine:3.18"}`)},
			},
		},
		Status: arcv1.OrderStatus{
			ObservedGeneration: 1,
			Phase:              arcv1.OrderPhaseFailed,
			ArtifactWorkflows: map[string]arcv1.OrderArtifactWorkflowStatus{
				"h0": {Name: "mixed-alpine-0a1b", ArtifactIndex: 0, DuplicateIndices: []int32{3}, Phase: arcv1.WorkflowPhaseSucceeded},
				"h1": {Name: "mixed-busybox-2c3d", ArtifactIndex: 1, Phase: arcv1.WorkflowPhaseFailed},
			},
			UnresolvedArtifacts: []arcv1.UnresolvedArtifact{{
				ArtifactIndex: 2, Reason: "EndpointNotFound",
				Message: `source Endpoint "quay" not found in namespace team-a`,
			}},
		},
	}
	labels := map[string]string{arcv1.LabelOrderUID: "order-uid"}
	aw := func(name, typ string, phase arcv1.WorkflowPhase, msg string) *arcv1.ArtifactWorkflow {
		return &arcv1.ArtifactWorkflow{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
			Spec:       arcv1.ArtifactWorkflowSpec{Type: typ},
			Status:     arcv1.ArtifactWorkflowStatus{Phase: phase, Message: msg, StartedAt: at(0), FinishedAt: at(42 * time.Second)},
		}
	}
	wfLabels := map[string]string{arcv1.LabelManagedBy: arcv1.ManagedByValue}
	wf := func(name string, phase wfv1.WorkflowPhase, msg string, nodes wfv1.Nodes) *wfv1.Workflow {
		return &wfv1.Workflow{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: wfLabels},
			Status:     wfv1.WorkflowStatus{Phase: phase, Message: msg, Nodes: nodes},
		}
	}
	failed := "child 'mixed-busybox-2c3d-push-1234' failed"
	return []runtime.Object{
		order,
		aw("mixed-alpine-0a1b", "oci", arcv1.WorkflowPhaseSucceeded, ""),
		rerun(aw("mixed-busybox-2c3d", "oci-scan", arcv1.WorkflowPhaseFailed, failed), 1, "mixed-busybox-2c3d-1"),
		wf("mixed-alpine-0a1b", wfv1.WorkflowSucceeded, "", nil),
		// The first run's Workflow; the status names the re-run's.
		wf("mixed-busybox-2c3d", wfv1.WorkflowSucceeded, "", nil),
		wf("mixed-busybox-2c3d-1", wfv1.WorkflowFailed, failed, wfv1.Nodes{
			"mixed-busybox-2c3d":           {ID: "mixed-busybox-2c3d", Name: "mixed-busybox-2c3d", DisplayName: "mixed-busybox-2c3d", Type: wfv1.NodeTypeSteps, Phase: wfv1.NodeFailed, Message: failed},
			"mixed-busybox-2c3d-pull-1":    {ID: "p1", Name: "mixed-busybox-2c3d[0].pull", DisplayName: "pull", TemplateName: "pull", Type: wfv1.NodeTypePod, Phase: wfv1.NodeSucceeded, FinishedAt: *at(10 * time.Second)},
			"mixed-busybox-2c3d-scan-1":    {ID: "p2", Name: "mixed-busybox-2c3d[1].scan", DisplayName: "scan", TemplateName: "trivy-scan", Type: wfv1.NodeTypePod, Phase: wfv1.NodeSucceeded, FinishedAt: *at(20 * time.Second)},
			"mixed-busybox-2c3d-push-1234": {ID: "p3", Name: "mixed-busybox-2c3d[2].push", DisplayName: "push", TemplateName: "push", Type: wfv1.NodeTypePod, Phase: wfv1.NodeFailed, Message: "Error (exit code 1): unauthorized: authentication required", FinishedAt: *at(40 * time.Second)},
		}),
	}
}

// rerun makes aw's status describe its run-th re-run, in Workflow wfName.
func rerun(aw *arcv1.ArtifactWorkflow, run int64, wfName string) *arcv1.ArtifactWorkflow {
	aw.Spec.Run, aw.Status.Run, aw.Status.WorkflowName = run, run, wfName
	return aw
}

func typeObjects() []runtime.Object {
	schema := raw(`{"type":"object","required":["image"],"properties":{"image":{"type":"string"},"override":{"type":"string"}}}`)
	return []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"tier": "prod"}}},
		&arcv1.ArtifactType{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "oci-scan"}, Spec: arcv1.ArtifactTypeSpec{
			Rules:               arcv1.ArtifactTypeRules{SrcTypes: []string{"oci"}, DstTypes: []string{"oci"}},
			Parameters:          []arcv1.Parameter{{Name: "scanSeverity", Value: "HIGH,CRITICAL"}},
			SpecSchema:          schema,
			WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: "oci-scan-pipeline"},
		}},
		&arcv1.ArtifactType{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "helm"}, Spec: arcv1.ArtifactTypeSpec{
			WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: "helm-copy"},
		}},
		&arcv1.ClusterArtifactType{ObjectMeta: metav1.ObjectMeta{Name: "oci"}, Spec: arcv1.ClusterArtifactTypeSpec{
			ArtifactTypeSpec: arcv1.ArtifactTypeSpec{
				Rules:               arcv1.ArtifactTypeRules{SrcTypes: []string{"oci"}, DstTypes: []string{"oci"}},
				SpecSchema:          schema,
				WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: "oci-copy"},
			},
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "prod"}},
		}},
		&arcv1.ClusterArtifactType{ObjectMeta: metav1.ObjectMeta{Name: "file"}, Spec: arcv1.ClusterArtifactTypeSpec{
			ArtifactTypeSpec:  arcv1.ArtifactTypeSpec{WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: "file-copy"}},
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "dev"}},
		}},
		// Shadows the ClusterArtifactType helm offered to every namespace: ambiguous.
		&arcv1.ClusterArtifactType{ObjectMeta: metav1.ObjectMeta{Name: "helm"}, Spec: arcv1.ClusterArtifactTypeSpec{
			ArtifactTypeSpec: arcv1.ArtifactTypeSpec{WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: "helm-copy"}},
		}},
	}
}

// fakeClients splits objects among the fake clientsets; forbid makes the
// named resources answer Forbidden.
func fakeClients(objects []runtime.Object, forbid ...string) *clients {
	var arcObjs, argoObjs, kubeObjs []runtime.Object
	for _, o := range objects {
		switch o.(type) {
		case *wfv1.Workflow:
			argoObjs = append(argoObjs, o)
		case *corev1.Namespace:
			kubeObjs = append(kubeObjs, o)
		default:
			arcObjs = append(arcObjs, o)
		}
	}
	arc, argo, kube := arcfake.NewSimpleClientset(arcObjs...), argofake.NewSimpleClientset(argoObjs...), kubefake.NewSimpleClientset(kubeObjs...)
	for _, resource := range forbid {
		deny := func(action k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: action.GetResource().Resource}, "", nil)
		}
		argo.PrependReactor("*", resource, deny)
		kube.PrependReactor("*", resource, deny)
	}
	return &clients{arc: arc, argo: argo, kube: kube}
}

// runPlugin runs the plugin's command line against the fake clients.
func runPlugin(t *testing.T, c *clients, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCommandWith(genericiooptions.IOStreams{Out: &out, ErrOut: &errOut}, testOptions(c))
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

// testOptions makes the plugin use c and a clock stopped at t0.
func testOptions(c *clients) func(*options) {
	return func(o *options) {
		o.newClients = func() (*clients, error) { return c, nil }
		o.now = func() time.Time { return t0 }
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "go test ./cmd/kubectl-arc -update writes the golden files")
	assert.Equal(t, string(want), got, "output differs from %s (go test ./cmd/kubectl-arc -update rewrites it)", path)
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		name, golden string
		args         []string
		forbid       []string
	}{
		{name: "a mixed Order as a tree", golden: "status-mixed.txt", args: []string{"status", "order/mixed", "-n", ns}},
		{name: "as YAML", golden: "status-mixed.yaml", args: []string{"status", "orders/mixed", "-n", ns, "-o", "yaml"}},
		{name: "as JSON", golden: "status-mixed.json", args: []string{"status", "mixed", "-n", ns, "-o", "json"}},
		{name: "without the right to read Workflows", golden: "status-mixed-no-workflows.txt", args: []string{"status", "order/mixed", "-n", ns}, forbid: []string{"workflows"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := runPlugin(t, fakeClients(mixedOrder(), tc.forbid...), tc.args...)
			require.NoError(t, err, errOut)
			golden(t, tc.golden, out)
		})
	}
}

func TestStatusErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "order/absent", "-n", ns}, `orders.arc.opendefense.cloud "absent" not found`},
		{[]string{"status", "pod/mixed", "-n", ns}, `status shows Orders (order/NAME), not pod`},
		{[]string{"status", "order/mixed", "-n", ns, "-o", "wide"}, `--output must be json or yaml, not "wide"`},
		{[]string{"status", "-n", ns}, `accepts 1 arg(s), received 0`},
	} {
		_, _, err := runPlugin(t, fakeClients(mixedOrder()), tc.args...)
		if assert.Error(t, err, "%v", tc.args) {
			assert.Contains(t, err.Error(), tc.want)
		}
	}
}

func TestTypes(t *testing.T) {
	for _, tc := range []struct {
		name, golden string
		args         []string
		forbid       []string
		wantWarning  string
	}{
		{name: "a table", golden: "types.txt", args: []string{"types", "-n", ns}},
		{name: "as JSON", golden: "types.json", args: []string{"types", "-n", ns, "-o", "json"}},
		{name: "without the right to read the namespace", golden: "types-no-namespace.txt", args: []string{"types", "-n", ns}, forbid: []string{"namespaces"},
			wantWarning: "warning: cannot read namespace team-a (Forbidden): ClusterArtifactTypes with a namespaceSelector are shown as not offered, which may be wrong\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := runPlugin(t, fakeClients(typeObjects(), tc.forbid...), tc.args...)
			require.NoError(t, err, errOut)
			assert.Equal(t, tc.wantWarning, errOut)
			golden(t, tc.golden, out)
		})
	}
}

func TestRerun(t *testing.T) {
	// 2026-11-01T12:00:00Z in Unix seconds, as date +%s prints it.
	require.Equal(t, int64(1793534400), t0.Unix())
	for _, tc := range []struct {
		args           []string
		wantAnnotation string
		wantOut        string
	}{
		{[]string{"rerun", "order/mixed", "-n", ns}, arcv1.AnnotationForceAt,
			"order team-a/mixed: re-run of every artifact requested (arc.opendefense.cloud/force-at=1793534400)\n"},
		{[]string{"rerun", "order/mixed", "-n", ns, "--failed"}, arcv1.AnnotationRerunFailedAt,
			"order team-a/mixed: re-run of the artifacts whose last run failed requested (arc.opendefense.cloud/rerun-failed-at=1793534400)\n"},
	} {
		c := fakeClients(mixedOrder())
		var out, errOut bytes.Buffer
		cmd := newRootCommandWith(genericiooptions.IOStreams{Out: &out, ErrOut: &errOut}, testOptions(c))
		cmd.SetArgs(tc.args)
		require.NoError(t, cmd.Execute(), errOut.String())
		assert.Equal(t, tc.wantOut, out.String())
		order, err := c.arc.ArcV1alpha1().Orders(ns).Get(t.Context(), "mixed", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, map[string]string{tc.wantAnnotation: "1793534400"}, order.Annotations, "%v", tc.args)
	}
	_, _, err := runPlugin(t, fakeClients(mixedOrder()), "rerun", "order/absent", "-n", ns)
	assert.ErrorContains(t, err, `"absent" not found`)
}

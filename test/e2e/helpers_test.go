//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// Timeouts of the waits. KWOK completes pods at once, so everything a test
// waits for normally takes a few seconds; these are generous for a loaded CI
// machine.
const (
	defaultTimeout = 2 * time.Minute
	pollInterval   = 250 * time.Millisecond
)

// Names of the e2e ClusterWorkflowTemplates in testdata/.
const (
	templateOCI        = "arc-e2e-oci-pipeline"
	templateFail       = "arc-e2e-fail"
	templateSingleStep = "arc-e2e-single-step"
	templateHold       = "arc-e2e-hold"
)

// Labels Argo puts on the pods of a Workflow.
const argoWorkflowLabel = "workflows.argoproj.io/workflow"

// fixture is one test's namespace and the helpers that work in it.
type fixture struct {
	t  *testing.T
	ns string
	// controllerLog is the log of the arc-controller working in the
	// namespace, for the dump; empty means the shared controller's.
	controllerLog string
	// waitTimeout bounds the waits for ARC's objects; zero means defaultTimeout.
	waitTimeout time.Duration
}

// timeout is how long the waits for ARC's objects wait.
func (f *fixture) timeout() time.Duration {
	if f.waitTimeout > 0 {
		return f.waitTimeout
	}
	return defaultTimeout
}

// newFixture creates a namespace for the test, waits until pods can be
// created in it, and deletes it when the test ends, after logging the state
// of everything in it if the test failed.
func newFixture(t *testing.T, prefix string) *fixture {
	t.Helper()
	return createNamespace(t, prefix, func(f *fixture) { t.Cleanup(f.cleanup) })
}

// createNamespace does the work of newFixture but leaves the clean-up to
// registerCleanup, which it calls as soon as the namespace exists.
func createNamespace(t *testing.T, prefix string, registerCleanup func(*fixture)) *fixture {
	t.Helper()
	f := &fixture{t: t, ns: "e2e-" + prefix + "-" + rand.String(5)}
	ctx := t.Context()
	_, err := s.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: f.ns, Labels: map[string]string{"arc.opendefense.cloud/e2e": "true"}},
	}, metav1.CreateOptions{})
	require.NoError(t, err, "creating namespace %s", f.ns)
	registerCleanup(f)
	t.Logf("namespace %s", f.ns)
	// Pods (Argo's) are refused until the namespace has its default ServiceAccount.
	f.waitFor("ServiceAccount default", 30*time.Second, func(ctx context.Context) (bool, string, error) {
		_, err := s.kube.CoreV1().ServiceAccounts(f.ns).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, "not created yet", nil
		}
		return err == nil, errString(err), nil
	})
	return f
}

func (f *fixture) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if f.t.Failed() {
		f.dump(ctx)
	}
	if os.Getenv(envKeep) != "" {
		f.t.Logf("%s set: keeping namespace %s", envKeep, f.ns)
		return
	}
	if err := deleteNamespace(ctx, f.ns); err != nil {
		f.t.Log(err)
	}
}

// deleteNamespace deletes a test namespace, unless envKeep is set. The
// namespace controller deletes what is in it; no need to wait.
func deleteNamespace(ctx context.Context, ns string) error {
	if os.Getenv(envKeep) != "" {
		return nil
	}
	if err := s.kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); ignoreNotFound(err) != nil {
		return fmt.Errorf("deleting namespace %s: %w", ns, err)
	}
	return nil
}

func (f *fixture) ctx() context.Context { return f.t.Context() }

// ---------------------------------------------------------------- waiting

// condition reports whether what a wait waits for holds, and a short
// description of what it saw. An error ends the wait at once: the state can
// no longer become the wanted one (a Workflow failed where it should succeed).
type condition func(ctx context.Context) (done bool, state string, err error)

// waitFor polls cond until it holds, and fails the test when it returns an
// error or timeout passes, with the last state it saw.
func (f *fixture) waitFor(desc string, timeout time.Duration, cond condition) {
	f.t.Helper()
	var last string
	var condErr error
	start := time.Now()
	err := wait.PollUntilContextTimeout(f.ctx(), pollInterval, timeout, true, func(ctx context.Context) (bool, error) {
		done, state, err := cond(ctx)
		last = state
		if err != nil {
			condErr = err
			return false, err
		}
		return done, nil
	})
	switch {
	case condErr != nil:
		f.t.Fatalf("waiting for %s: %v (after %s; last state: %s)", desc, condErr, time.Since(start).Round(time.Millisecond), last)
	case err != nil:
		f.t.Fatalf("timed out after %s waiting for %s; last state: %s", timeout, desc, last)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// waitOrder waits until pred holds for the Order, in a status computed
// from its current spec, and returns it.
func (f *fixture) waitOrder(name, desc string, pred func(*arcv1.Order) (bool, string)) *arcv1.Order {
	f.t.Helper()
	var order *arcv1.Order
	f.waitFor(fmt.Sprintf("Order %s: %s", shortName(name), desc), f.timeout(), func(ctx context.Context) (bool, string, error) {
		o, err := s.arc.ArcV1alpha1().Orders(f.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		order = o
		state := orderSummary(o)
		if o.Status.ObservedGeneration != o.Generation {
			return false, state + fmt.Sprintf(" (status of generation %d, spec at %d)", o.Status.ObservedGeneration, o.Generation), nil
		}
		ok, why := pred(o)
		if why != "" {
			state += "; " + why
		}
		return ok, state, nil
	})
	return order
}

// waitOrderPhase waits for the Order's phase.
func (f *fixture) waitOrderPhase(name string, phase arcv1.OrderPhase) *arcv1.Order {
	f.t.Helper()
	return f.waitOrder(name, "phase "+string(phase), func(o *arcv1.Order) (bool, string) {
		return o.Status.Phase == phase, ""
	})
}

func orderSummary(o *arcv1.Order) string {
	st := o.Status
	return fmt.Sprintf("phase=%q total=%d succeeded=%d failed=%d running=%d pending=%d entries=%d unresolved=%d",
		st.Phase, st.Total, st.Succeeded, st.Failed, st.Running, st.Pending, len(st.ArtifactWorkflows), len(st.UnresolvedArtifacts))
}

// waitArtifactWorkflow waits until pred holds for the ArtifactWorkflow.
func (f *fixture) waitArtifactWorkflow(name, desc string, pred func(*arcv1.ArtifactWorkflow) (bool, string, error)) *arcv1.ArtifactWorkflow {
	f.t.Helper()
	var aw *arcv1.ArtifactWorkflow
	f.waitFor(fmt.Sprintf("ArtifactWorkflow %s: %s", name, desc), f.timeout(), func(ctx context.Context) (bool, string, error) {
		got, err := s.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		aw = got
		ok, why, err := pred(got)
		return ok, fmt.Sprintf("phase=%q message=%q %s", got.Status.Phase, got.Status.Message, why), err
	})
	return aw
}

// waitWorkflow waits until pred holds for the Argo Workflow.
func (f *fixture) waitWorkflow(name, desc string, pred func(*wfv1.Workflow) (bool, error)) *wfv1.Workflow {
	f.t.Helper()
	var wf *wfv1.Workflow
	f.waitFor(fmt.Sprintf("Workflow %s: %s", name, desc), f.timeout(), func(ctx context.Context) (bool, string, error) {
		got, err := s.argo.ArgoprojV1alpha1().Workflows(f.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		wf = got
		ok, err := pred(got)
		return ok, fmt.Sprintf("phase=%q message=%q", got.Status.Phase, got.Status.Message), err
	})
	return wf
}

// waitWorkflowPhase waits for a finished Workflow and requires the given
// phase; a Workflow that finishes otherwise fails the wait at once.
func (f *fixture) waitWorkflowPhase(name string, phase wfv1.WorkflowPhase) *wfv1.Workflow {
	f.t.Helper()
	return f.waitWorkflow(name, "phase "+string(phase), func(wf *wfv1.Workflow) (bool, error) {
		if wf.Status.Phase == phase {
			return true, nil
		}
		if wf.Status.Phase.Completed() {
			return false, fmt.Errorf("the Workflow finished %s (%q), not %s", wf.Status.Phase, wf.Status.Message, phase)
		}
		return false, nil
	})
}

// waitGone waits until get reports NotFound.
func (f *fixture) waitGone(desc string, get func(ctx context.Context) error) {
	f.t.Helper()
	f.waitFor(desc+" to be deleted", f.timeout(), func(ctx context.Context) (bool, string, error) {
		err := get(ctx)
		if apierrors.IsNotFound(err) {
			return true, "gone", nil
		}
		if err != nil {
			return false, err.Error(), nil
		}
		return false, "still there", nil
	})
}

func (f *fixture) artifactWorkflowGone(name string) {
	f.t.Helper()
	f.waitGone("ArtifactWorkflow "+name, func(ctx context.Context) error {
		_, err := s.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).Get(ctx, name, metav1.GetOptions{})
		return err
	})
}

func (f *fixture) workflowGone(name string) {
	f.t.Helper()
	f.waitGone("Workflow "+name, func(ctx context.Context) error {
		_, err := s.argo.ArgoprojV1alpha1().Workflows(f.ns).Get(ctx, name, metav1.GetOptions{})
		return err
	})
}

// waitEvent waits for an event of the given type and reason about an object,
// and returns it.
func (f *fixture) waitEvent(kind, name, eventType, reason string) *corev1.Event {
	f.t.Helper()
	var found *corev1.Event
	selector := fields.Set{"involvedObject.kind": kind, "involvedObject.name": name, "type": eventType}.AsSelector().String()
	f.waitFor(fmt.Sprintf("%s event %s on %s %s", eventType, reason, kind, shortName(name)), f.timeout(), func(ctx context.Context) (bool, string, error) {
		list, err := s.kube.CoreV1().Events(f.ns).List(ctx, metav1.ListOptions{FieldSelector: selector})
		if err != nil {
			return false, err.Error(), nil
		}
		var seen []string
		for i := range list.Items {
			if list.Items[i].Reason == reason {
				found = &list.Items[i]
				return true, "", nil
			}
			seen = append(seen, list.Items[i].Reason)
		}
		return false, fmt.Sprintf("events with reasons %v", seen), nil
	})
	return found
}

// shortName cuts long names (TestLongOrderName) for messages.
func shortName(name string) string {
	if len(name) > 40 {
		return name[:37] + "..."
	}
	return name
}

// ---------------------------------------------------------------- objects

// entryFor returns the status entry of the ArtifactWorkflow doing the work
// of artifact index.
func entryFor(o *arcv1.Order, index int32) (arcv1.OrderArtifactWorkflowStatus, bool) {
	for _, e := range o.Status.ArtifactWorkflows {
		if e.ArtifactIndex == index {
			return e, true
		}
		for _, d := range e.DuplicateIndices {
			if d == index {
				return e, true
			}
		}
	}
	return arcv1.OrderArtifactWorkflowStatus{}, false
}

// mustEntry is entryFor for an entry that must exist.
func (f *fixture) mustEntry(o *arcv1.Order, index int32) arcv1.OrderArtifactWorkflowStatus {
	f.t.Helper()
	e, ok := entryFor(o, index)
	require.True(f.t, ok, "Order %s has no status entry for artifact %d: %+v", shortName(o.Name), index, o.Status.ArtifactWorkflows)
	return e
}

// unresolved returns the unresolved entry of artifact index.
func unresolved(o *arcv1.Order, index int32) (arcv1.UnresolvedArtifact, bool) {
	for _, u := range o.Status.UnresolvedArtifacts {
		if u.ArtifactIndex == index {
			return u, true
		}
	}
	return arcv1.UnresolvedArtifact{}, false
}

// workflowParameters returns a Workflow's arguments by name, failing on a
// name given twice or a parameter without value.
func (f *fixture) workflowParameters(wf *wfv1.Workflow) map[string]string {
	f.t.Helper()
	out := map[string]string{}
	for _, p := range wf.Spec.Arguments.Parameters {
		_, dup := out[p.Name]
		require.False(f.t, dup, "Workflow %s has parameter %s twice", wf.Name, p.Name)
		require.NotNil(f.t, p.Value, "Workflow %s: parameter %s has no value", wf.Name, p.Name)
		out[p.Name] = p.Value.String()
	}
	return out
}

func artifactWorkflowParameters(aw *arcv1.ArtifactWorkflow) map[string]string {
	out := map[string]string{}
	for _, p := range aw.Spec.Parameters {
		out[p.Name] = p.Value
	}
	return out
}

func conditionOf(conds []metav1.Condition, condType string) *metav1.Condition {
	return meta.FindStatusCondition(conds, condType)
}

// rawSpec wraps JSON as an artifact spec.
func rawSpec(json string) *runtime.RawExtension {
	return &runtime.RawExtension{Raw: []byte(json)}
}

func ref(name string) *corev1.LocalObjectReference {
	return &corev1.LocalObjectReference{Name: name}
}

func (f *fixture) createEndpoint(name, typ, url string, usage arcv1.EndpointUsage, secret string) *arcv1.Endpoint {
	f.t.Helper()
	ep := &arcv1.Endpoint{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       arcv1.EndpointSpec{Type: typ, RemoteURL: url, Usage: usage},
	}
	if secret != "" {
		ep.Spec.SecretRef = ref(secret)
	}
	out, err := s.arc.ArcV1alpha1().Endpoints(f.ns).Create(f.ctx(), ep, metav1.CreateOptions{})
	require.NoError(f.t, err, "creating Endpoint %s", name)
	return out
}

// createArtifactType creates a namespaced ArtifactType. A namespaced type
// may only use WorkflowTemplates of its namespace, so a spec naming one of
// the suite's ClusterWorkflowTemplates gets a namespaced copy of it instead.
func (f *fixture) createArtifactType(name string, spec arcv1.ArtifactTypeSpec) *arcv1.ArtifactType {
	f.t.Helper()
	if spec.WorkflowTemplateRef.ClusterScope {
		f.copyClusterWorkflowTemplate(spec.WorkflowTemplateRef.Name)
		spec.WorkflowTemplateRef.ClusterScope = false
	}
	out, err := s.arc.ArcV1alpha1().ArtifactTypes(f.ns).Create(f.ctx(), &arcv1.ArtifactType{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       spec,
	}, metav1.CreateOptions{})
	require.NoError(f.t, err, "creating ArtifactType %s", name)
	return out
}

// copyClusterWorkflowTemplate creates a WorkflowTemplate in the test's
// namespace with the name and spec of a ClusterWorkflowTemplate, once.
func (f *fixture) copyClusterWorkflowTemplate(name string) {
	f.t.Helper()
	cwt, err := s.argo.ArgoprojV1alpha1().ClusterWorkflowTemplates().Get(f.ctx(), name, metav1.GetOptions{})
	require.NoError(f.t, err, "reading ClusterWorkflowTemplate %s", name)
	_, err = s.argo.ArgoprojV1alpha1().WorkflowTemplates(f.ns).Create(f.ctx(), &wfv1.WorkflowTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       cwt.Spec,
	}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(f.t, err, "copying ClusterWorkflowTemplate %s into namespace %s", name, f.ns)
	}
}

// simpleType is an ArtifactType of the given template with no rules and no parameters.
func simpleType(template string) arcv1.ArtifactTypeSpec {
	return arcv1.ArtifactTypeSpec{WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: template, ClusterScope: true}}
}

func (f *fixture) createOrder(order *arcv1.Order) *arcv1.Order {
	f.t.Helper()
	out, err := s.arc.ArcV1alpha1().Orders(f.ns).Create(f.ctx(), order, metav1.CreateOptions{})
	require.NoError(f.t, err, "creating Order %s", shortName(order.Name))
	return out
}

// createAlpineOrder creates an Order named name with the design documents'
// one OCI artifact (alpine 3.18 from dockerhub to internal, the Endpoints of
// setUpOCIEndpoints), and waits until it has its ArtifactWorkflow, whose
// name it returns.
func (f *fixture) createAlpineOrder(name string) string {
	f.t.Helper()
	f.createOrder(&arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: arcv1.OrderSpec{
			Defaults: &arcv1.OrderDefaults{SrcRef: ref("dockerhub"), DstRef: ref("internal")},
			Artifacts: []arcv1.OrderArtifact{{
				Type: "oci",
				Spec: rawSpec(`{"image":"library/alpine:3.18","override":"myteam/alpine:3.18-dev"}`),
			}},
		},
	})
	order := f.waitOrder(name, "one ArtifactWorkflow", func(o *arcv1.Order) (bool, string) {
		return len(o.Status.ArtifactWorkflows) == 1, ""
	})
	return f.mustEntry(order, 0).Name
}

// applyRepoFile applies a YAML file of the repository into the namespace.
func (f *fixture) applyRepoFile(path string) []*unstructured.Unstructured {
	f.t.Helper()
	objs, err := s.applyFiles(f.ctx(), filepath.Join(s.root, filepath.FromSlash(path)), f.ns)
	require.NoError(f.t, err, "applying %s", path)
	return objs
}

// setUpOCIEndpoints applies the Endpoints of the OCI example (dockerhub,
// PullOnly; internal, PushOnly with Secret dst-reg-secret) and that Secret.
func (f *fixture) setUpOCIEndpoints() {
	f.t.Helper()
	f.applyRepoFile("examples/run-local/dst-reg-secret.yaml")
	f.applyRepoFile("examples/oci/endpoints.yaml")
}

// readObjects decodes every object of a YAML (or JSON) file.
func readObjects(path string) ([]*unstructured.Unstructured, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	dec := k8syaml.NewYAMLOrJSONDecoder(bufio.NewReader(file), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]interface{}
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// ---------------------------------------------------------------- diagnosis

// maxFullObjects bounds how many objects of one kind the dump shows in full;
// the others are summarised in one line each.
const maxFullObjects = 8

// dump logs the state of everything in the namespace, for a failed test.
func (f *fixture) dump(ctx context.Context) {
	t := f.t
	t.Logf("==================== state of namespace %s (test failed) ====================", f.ns)
	if orders, err := s.arc.ArcV1alpha1().Orders(f.ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Logf("listing Orders: %v", err)
	} else {
		for i := range orders.Items {
			logYAML(t, "Order "+orders.Items[i].Name, &orders.Items[i])
		}
	}
	if aws, err := s.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Logf("listing ArtifactWorkflows: %v", err)
	} else {
		t.Logf("%d ArtifactWorkflows:", len(aws.Items))
		for i := range aws.Items {
			aw := &aws.Items[i]
			if i < maxFullObjects {
				logYAML(t, "ArtifactWorkflow "+aw.Name, aw)
			} else {
				t.Logf("  ArtifactWorkflow %s phase=%q message=%q", aw.Name, aw.Status.Phase, aw.Status.Message)
			}
		}
	}
	if wfs, err := s.argo.ArgoprojV1alpha1().Workflows(f.ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Logf("listing Workflows: %v", err)
	} else {
		t.Logf("%d Workflows:", len(wfs.Items))
		noPhase := 0
		for i := range wfs.Items {
			wf := &wfs.Items[i]
			if wf.Status.Phase == "" {
				noPhase++
			}
			if i < maxFullObjects {
				logYAML(t, "Workflow "+wf.Name, wf)
			} else {
				t.Logf("  Workflow %s phase=%q message=%q", wf.Name, wf.Status.Phase, wf.Status.Message)
			}
		}
		if noPhase > 0 {
			t.Logf("HINT: %d Workflows have no phase: is Argo's workflow-controller running? (hack/cluster.sh status, .local/logs/workflow-controller.log)", noPhase)
		}
	}
	if pods, err := s.kube.CoreV1().Pods(f.ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Logf("listing Pods: %v", err)
	} else {
		t.Logf("%d Pods:", len(pods.Items))
		for i := range pods.Items {
			p := &pods.Items[i]
			if i < maxFullObjects/2 {
				logYAML(t, "Pod "+p.Name, p)
			} else {
				t.Logf("  Pod %s node=%q phase=%q", p.Name, p.Spec.NodeName, p.Status.Phase)
			}
		}
	}
	if types, err := s.arc.ArcV1alpha1().ArtifactTypes(f.ns).List(ctx, metav1.ListOptions{}); err == nil {
		for i := range types.Items {
			logYAML(t, "ArtifactType "+types.Items[i].Name, &types.Items[i])
		}
	}
	if eps, err := s.arc.ArcV1alpha1().Endpoints(f.ns).List(ctx, metav1.ListOptions{}); err == nil {
		for i := range eps.Items {
			logYAML(t, "Endpoint "+eps.Items[i].Name, &eps.Items[i])
		}
	}
	if events, err := s.kube.CoreV1().Events(f.ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Logf("listing Events: %v", err)
	} else {
		sort.SliceStable(events.Items, func(i, j int) bool {
			return events.Items[i].LastTimestamp.Before(&events.Items[j].LastTimestamp)
		})
		var b strings.Builder
		for _, e := range events.Items {
			fmt.Fprintf(&b, "  %s %-7s %-22s %s/%s (x%d): %s\n", e.LastTimestamp.Format(time.TimeOnly), e.Type, e.Reason,
				e.InvolvedObject.Kind, shortName(e.InvolvedObject.Name), e.Count, e.Message)
		}
		t.Logf("%d Events:\n%s", len(events.Items), b.String())
	}
	controllerLog := f.controllerLog
	if controllerLog == "" {
		controllerLog = s.controllerLog
	}
	t.Logf("arc-controller log lines about %s (%s):\n%s", f.ns, s.relative(controllerLog), grepTail(controllerLog, f.ns, 60))
	t.Logf("==================== end of state of namespace %s ====================", f.ns)
}

// logYAML logs an object as YAML, without managedFields.
func logYAML(t *testing.T, title string, obj metav1.Object) {
	t.Helper()
	obj.SetManagedFields(nil)
	data, err := yaml.Marshal(obj)
	if err != nil {
		t.Logf("--- %s: %v", title, err)
		return
	}
	t.Logf("--- %s:\n%s", title, data)
}

// grepTail returns the last n lines of a file that contain needle.
func grepTail(path, needle string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, needle) {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 0 {
		return "(none)"
	}
	return strings.Join(lines, "\n")
}

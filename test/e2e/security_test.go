//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// strictImageSchema holds image references to a pattern, as the OCI
// example's type does, so no step ever sees a shell metacharacter there.
const strictImageSchema = `{
	"type": "object",
	"required": ["image"],
	"properties": {
		"image": {"type": "string", "maxLength": 255, "pattern": "^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?$"},
		"override": {"type": "string", "maxLength": 255, "pattern": "^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?$"}
	}
}`

// TestArgoRefusalReachesTheOrder: under Argo's Secure mode (the local
// cluster's default) a type that asks for the WorkflowVolumes delivery gets
// Workflows Argo refuses; Argo's own message must reach the ArtifactWorkflow
// and the Order, never a Workflow stuck without explanation.
func TestArgoRefusalReachesTheOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "refused")
	f.setUpOCIEndpoints()
	spec := ociType(templateOCI)
	spec.SecretDelivery = arcv1.SecretDeliveryWorkflowVolumes
	f.createArtifactType("oci", spec)
	const orderName = "refused"
	name := f.createAlpineOrder(orderName)

	wf := f.waitWorkflowPhase(name, wfv1.WorkflowError)
	require.Contains(t, wf.Status.Message, "not permitted", "Argo refuses the fields under Secure mode")
	assert.Contains(t, wf.Status.Message, "Volumes")

	aw := f.waitArtifactWorkflow(name, "Error with Argo's message", func(aw *arcv1.ArtifactWorkflow) (bool, string, error) {
		return aw.Status.Phase == arcv1.WorkflowPhaseError && aw.Status.Message == wf.Status.Message, "", nil
	})
	f.waitEvent("ArtifactWorkflow", aw.Name, corev1.EventTypeWarning, "WorkflowError")
	f.waitOrder(orderName, "Failed with Argo's message", func(o *arcv1.Order) (bool, string) {
		e, ok := entryFor(o, 0)
		return o.Status.Phase == arcv1.OrderPhaseFailed && ok && e.Message == wf.Status.Message, fmt.Sprintf("entry %+v", e)
	})
}

// TestWorkflowVolumesWhereArgoIsNotLockedDown runs the design documents'
// delivery (both Secrets as volumes in every step) on an Argo without
// template-referencing restrictions, where templates written for it keep
// working. It switches the shared workflow-controller's configuration, so it
// does not run in parallel: Go starts the parallel tests only after it.
func TestWorkflowVolumesWhereArgoIsNotLockedDown(t *testing.T) {
	f := newFixture(t, "volumes")
	f.setUpOCIEndpoints()
	unrestrictArgo(f)

	spec := simpleType(templateSingleStep)
	spec.SecretDelivery = arcv1.SecretDeliveryWorkflowVolumes
	f.createArtifactType("copy", spec)
	f.createOrder(&arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: "volumes"},
		Spec: arcv1.OrderSpec{
			Defaults:  &arcv1.OrderDefaults{SrcRef: ref("dockerhub"), DstRef: ref("internal")},
			Artifacts: []arcv1.OrderArtifact{{Type: "copy", Spec: rawSpec(`{"image":"library/alpine:3.18"}`)}},
		},
	})
	order := f.waitOrderPhase("volumes", arcv1.OrderPhaseSucceeded)
	name := f.mustEntry(order, 0).Name
	wf, err := s.argo.ArgoprojV1alpha1().Workflows(f.ns).Get(t.Context(), name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotEmpty(t, wf.Spec.PodSpecPatch)
	pods, err := s.kube.CoreV1().Pods(f.ns).List(t.Context(), metav1.ListOptions{LabelSelector: argoWorkflowLabel + "=" + name})
	require.NoError(t, err)
	require.NotEmpty(t, pods.Items)
	for i := range pods.Items {
		assert.Equal(t, map[string]string{"/secret/dst": "dst-reg-secret"}, credentialMounts(t, &pods.Items[i]),
			"pod %s: the destination Secret in every step, an empty directory for the source", pods.Items[i].Name)
	}
}

// unrestrictArgo removes the workflow-controller's templateReferencing
// restriction until the test ends, and waits each time until Argo acts on
// the change (it reloads its ConfigMap on its own).
func unrestrictArgo(f *fixture) {
	f.t.Helper()
	cms := s.kube.CoreV1().ConfigMaps("argo")
	cm, err := cms.Get(f.ctx(), "workflow-controller-configmap", metav1.GetOptions{})
	require.NoError(f.t, err)
	restrictions, ok := cm.Data["workflowRestrictions"]
	require.True(f.t, ok, "the local cluster runs Argo with workflowRestrictions (hack/cluster.sh)")
	setRestrictions := func(value string) {
		cm, err := cms.Get(context.Background(), "workflow-controller-configmap", metav1.GetOptions{})
		require.NoError(f.t, err)
		if value == "" {
			delete(cm.Data, "workflowRestrictions")
		} else {
			cm.Data["workflowRestrictions"] = value
		}
		_, err = cms.Update(context.Background(), cm, metav1.UpdateOptions{})
		require.NoError(f.t, err)
	}
	f.copyClusterWorkflowTemplate(templateSingleStep)
	setRestrictions("")
	// Restore before the namespace goes: the cleanups run last in, first out.
	f.t.Cleanup(func() {
		setRestrictions(restrictions)
		require.NoError(f.t, waitArgoRestricted(context.Background(), f.ns, true))
	})
	require.NoError(f.t, waitArgoRestricted(f.ctx(), f.ns, false))
}

// waitArgoRestricted submits probe Workflows that set volumes next to a
// reference to the single-step template of namespace ns until Argo refuses
// them (restricted) or runs them.
func waitArgoRestricted(ctx context.Context, ns string, restricted bool) error {
	probes := s.argo.ArgoprojV1alpha1().Workflows(ns)
	var last string
	err := wait.PollUntilContextTimeout(ctx, pollInterval, defaultTimeout, true, func(ctx context.Context) (bool, error) {
		probe, err := probes.Create(ctx, &wfv1.Workflow{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "argo-config-probe-"},
			Spec: wfv1.WorkflowSpec{
				WorkflowTemplateRef: &wfv1.WorkflowTemplateRef{Name: templateSingleStep},
				Volumes:             []corev1.Volume{{Name: "probe", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		defer func() { _ = probes.Delete(context.Background(), probe.Name, metav1.DeleteOptions{}) }()
		var phase wfv1.WorkflowPhase
		var message string
		_ = waitPoll(ctx, 20*time.Second, func(ctx context.Context) bool {
			got, err := probes.Get(ctx, probe.Name, metav1.GetOptions{})
			if err == nil {
				phase, message = got.Status.Phase, got.Status.Message
			}
			return phase != "" && phase != wfv1.WorkflowPending
		})
		refused := phase == wfv1.WorkflowError && strings.Contains(message, "not permitted")
		last = fmt.Sprintf("probe %s: %s %s", probe.Name, phase, message)
		return refused == restricted && phase != "", nil
	})
	if err != nil {
		return fmt.Errorf("waiting for Argo to apply its ConfigMap (restricted: %t): %w; last: %s", restricted, err, last)
	}
	return nil
}

// waitPoll polls done every pollInterval until it holds or timeout passes.
func waitPoll(ctx context.Context, timeout time.Duration, done func(context.Context) bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for !done(ctx) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval):
		}
	}
	return nil
}

// TestAttacksAreRefusedOrHarmless plays the Order author who tries to get
// more than the cluster admin offered. Each attempt is refused by the API
// server or reported by ARC with a clear message, and never yields a Workflow.
func TestAttacksAreRefusedOrHarmless(t *testing.T) {
	t.Parallel()

	t.Run("a hand-written ArtifactWorkflow naming another Secret", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, "attack-aw")
		f.createArtifactType("oci", ociType(templateOCI))
		_, err := s.kube.CoreV1().Secrets(f.ns).Create(t.Context(), &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "prod-push-credentials"},
			StringData: map[string]string{"token": "not-a-real-token"},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		aw, err := s.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).Create(t.Context(), &arcv1.ArtifactWorkflow{
			ObjectMeta: metav1.ObjectMeta{Name: "forged"},
			Spec: arcv1.ArtifactWorkflowSpec{
				Type:         "oci",
				DstSecretRef: ref("prod-push-credentials"),
				Parameters:   []arcv1.Parameter{{Name: "srcType", Value: "oci"}, {Name: "dstType", Value: "oci"}},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			// The admission policy of manifests/ refuses it when installed.
			assert.True(t, apierrors.IsForbidden(err) || apierrors.IsInvalid(err), "refused by admission: %v", err)
			return
		}
		f.waitArtifactWorkflow(aw.Name, "reported as untrusted", func(aw *arcv1.ArtifactWorkflow) (bool, string, error) {
			ready := conditionOf(aw.Status.Conditions, arcv1.ConditionReady)
			return ready != nil && ready.Reason == "Untrusted", "", nil
		})
		ev := f.waitEvent("ArtifactWorkflow", aw.Name, corev1.EventTypeWarning, "Untrusted")
		assert.Contains(t, ev.Message, "Order")
		assertNoWorkflow(f, aw.Name, 3*time.Second)
	})

	t.Run("a namespaced ArtifactType pointing at a ClusterWorkflowTemplate", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, "attack-cwt")
		_, err := s.arc.ArcV1alpha1().ArtifactTypes(f.ns).Create(t.Context(), &arcv1.ArtifactType{
			ObjectMeta: metav1.ObjectMeta{Name: "oci"},
			Spec:       arcv1.ArtifactTypeSpec{WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: templateOCI, ClusterScope: true}},
		}, metav1.CreateOptions{})
		require.Error(t, err)
		assert.True(t, apierrors.IsInvalid(err), "refused by the CRD's rule: %v", err)
		assert.Contains(t, err.Error(), "may only use a WorkflowTemplate of its own namespace")
	})

	t.Run("a ClusterArtifactType used outside its namespaceSelector", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, "attack-scope")
		f.setUpOCIEndpoints()
		typeName := "offered-to-" + f.ns
		_, err := s.arc.ArcV1alpha1().ClusterArtifactTypes().Create(t.Context(), &arcv1.ClusterArtifactType{
			ObjectMeta: metav1.ObjectMeta{Name: typeName},
			Spec: arcv1.ClusterArtifactTypeSpec{
				ArtifactTypeSpec:  arcv1.ArtifactTypeSpec{WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: templateSingleStep}},
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"arc-e2e/offered": typeName}},
			},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		t.Cleanup(func() {
			_ = s.arc.ArcV1alpha1().ClusterArtifactTypes().Delete(context.Background(), typeName, metav1.DeleteOptions{})
		})
		f.createOrder(&arcv1.Order{
			ObjectMeta: metav1.ObjectMeta{Name: "scoped"},
			Spec: arcv1.OrderSpec{
				Defaults:  &arcv1.OrderDefaults{SrcRef: ref("dockerhub"), DstRef: ref("internal")},
				Artifacts: []arcv1.OrderArtifact{{Type: typeName, Spec: rawSpec(`{"image":"library/alpine:3.18"}`)}},
			},
		})
		order := f.waitOrder("scoped", "artifact 0 not offered", func(o *arcv1.Order) (bool, string) {
			u, ok := unresolved(o, 0)
			return ok && u.Reason == "TypeNotOffered", fmt.Sprintf("%+v", o.Status.UnresolvedArtifacts)
		})
		u, _ := unresolved(order, 0)
		assert.Contains(t, u.Message, "namespaceSelector")
		f.waitEvent("Order", "scoped", corev1.EventTypeWarning, "TypeNotOffered")
		assert.Empty(t, order.Status.ArtifactWorkflows)

		// The admin offers it to the namespace: the Order proceeds by itself.
		ns, err := s.kube.CoreV1().Namespaces().Get(t.Context(), f.ns, metav1.GetOptions{})
		require.NoError(t, err)
		ns.Labels["arc-e2e/offered"] = typeName
		_, err = s.kube.CoreV1().Namespaces().Update(t.Context(), ns, metav1.UpdateOptions{})
		require.NoError(t, err)
		f.waitOrderPhase("scoped", arcv1.OrderPhaseSucceeded)
	})

	t.Run("a spec that breaks its type's schema", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, "attack-schema")
		f.setUpOCIEndpoints()
		spec := ociType(templateOCI)
		spec.SpecSchema = &runtime.RawExtension{Raw: []byte(strictImageSchema)}
		f.createArtifactType("oci", spec)
		f.createOrder(&arcv1.Order{
			ObjectMeta: metav1.ObjectMeta{Name: "schema"},
			Spec: arcv1.OrderSpec{
				Defaults: &arcv1.OrderDefaults{SrcRef: ref("dockerhub"), DstRef: ref("internal")},
				Artifacts: []arcv1.OrderArtifact{
					{Type: "oci", Spec: rawSpec(`{"image":"library/alpine:3.18","override":"myteam/alpine:3.18"}`)},
					{Type: "oci", Spec: rawSpec(`{"image":"alpine:3.18$(touch /tmp/pwned)","override":"x"}`)},
					{Type: "oci", Spec: rawSpec(`{"image":"alpine:3.18","extra":"; rm -rf /"}`)},
				},
			},
		})
		order := f.waitOrder("schema", "artifact 0 Succeeded, 1 and 2 refused", func(o *arcv1.Order) (bool, string) {
			e0, ok0 := entryFor(o, 0)
			_, ok1 := unresolved(o, 1)
			_, ok2 := unresolved(o, 2)
			return ok0 && e0.Phase == arcv1.WorkflowPhaseSucceeded && ok1 && ok2, orderSummary(o)
		})
		u1, _ := unresolved(order, 1)
		assert.Equal(t, "InvalidSpec", u1.Reason)
		assert.Contains(t, u1.Message, `spec.image: Invalid value: "alpine:3.18$(touch /tmp/pwned)"`)
		u2, _ := unresolved(order, 2)
		assert.Contains(t, u2.Message, "spec.extra")
		ev := f.waitEvent("Order", "schema", corev1.EventTypeWarning, "InvalidSpec")
		assert.Contains(t, ev.Message, "spec.")
		assert.Len(t, order.Status.ArtifactWorkflows, 1, "only the valid artifact has an ArtifactWorkflow")
	})

	t.Run("a remoteURL with credentials in it", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, "attack-url")
		for _, url := range []string{
			"https://admin:s3cret@registry.example",
			"admin@registry.example",
			"registry.example/path with space",
			"registry.example\n--insecure",
		} {
			_, err := s.arc.ArcV1alpha1().Endpoints(f.ns).Create(t.Context(), &arcv1.Endpoint{
				ObjectMeta: metav1.ObjectMeta{GenerateName: "bad-"},
				Spec:       arcv1.EndpointSpec{Type: "oci", RemoteURL: url},
			}, metav1.CreateOptions{})
			require.Error(t, err, "remoteURL %q", url)
			assert.True(t, apierrors.IsInvalid(err), "remoteURL %q refused by the CRD: %v", url, err)
			assert.NotContains(t, err.Error(), "s3cret@", "the refusal does not echo the credentials back")
		}
		// A digest reference keeps its '@' after the path.
		_, err := s.arc.ArcV1alpha1().Endpoints(f.ns).Create(t.Context(), &arcv1.Endpoint{
			ObjectMeta: metav1.ObjectMeta{Name: "by-digest"},
			Spec:       arcv1.EndpointSpec{Type: "oci", RemoteURL: "registry.example/team/app@sha256:0123"},
		}, metav1.CreateOptions{})
		assert.NoError(t, err)
	})

	t.Run("an oversized Order", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, "attack-size")
		f.setUpOCIEndpoints()
		f.createArtifactType("oci", ociType(templateOCI))
		artifact := func(spec string) arcv1.OrderArtifact { return arcv1.OrderArtifact{Type: "oci", Spec: rawSpec(spec)} }

		tooMany := make([]arcv1.OrderArtifact, arcv1.MaxArtifactsPerOrder+1)
		for i := range tooMany {
			tooMany[i] = artifact(fmt.Sprintf(`{"image":"library/app%d:1.0"}`, i))
		}
		_, err := s.arc.ArcV1alpha1().Orders(f.ns).Create(t.Context(), &arcv1.Order{
			ObjectMeta: metav1.ObjectMeta{Name: "too-many"},
			Spec:       arcv1.OrderSpec{Defaults: &arcv1.OrderDefaults{SrcRef: ref("dockerhub"), DstRef: ref("internal")}, Artifacts: tooMany},
		}, metav1.CreateOptions{})
		require.Error(t, err)
		assert.True(t, apierrors.IsInvalid(err), "more than %d artifacts refused: %v", arcv1.MaxArtifactsPerOrder, err)

		var wide strings.Builder
		wide.WriteString(`{"image":"library/alpine:3.18"`)
		for i := range 100 {
			fmt.Fprintf(&wide, `,"k%03d":"%s"`, i, strings.Repeat("v", 400))
		}
		wide.WriteString("}")
		deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
		longName := `{"` + strings.Repeat("k", 200) + `":1}`
		f.createOrder(&arcv1.Order{
			ObjectMeta: metav1.ObjectMeta{Name: "hostile"},
			Spec: arcv1.OrderSpec{
				Defaults: &arcv1.OrderDefaults{SrcRef: ref("dockerhub"), DstRef: ref("internal")},
				Artifacts: []arcv1.OrderArtifact{
					artifact(`{"image":"library/alpine:3.18","override":"myteam/alpine:3.18"}`),
					artifact(wide.String()),
					artifact(deep),
					artifact(longName),
				},
			},
		})
		order := f.waitOrder("hostile", "artifact 0 Succeeded, the others refused", func(o *arcv1.Order) (bool, string) {
			e0, ok := entryFor(o, 0)
			return ok && e0.Phase == arcv1.WorkflowPhaseSucceeded && len(o.Status.UnresolvedArtifacts) == 3, orderSummary(o)
		})
		want := map[int32][2]string{
			1: {"ParametersTooLarge", "bytes, more than the"},
			2: {"InvalidSpec", "levels deep"},
			3: {"InvalidSpec", "parameter name of 204 characters"},
		}
		for index, w := range want {
			u, _ := unresolved(order, index)
			assert.Equal(t, w[0], u.Reason, "artifact %d", index)
			assert.Contains(t, u.Message, w[1], "artifact %d", index)
			assert.LessOrEqual(t, len(u.Message), 1024, "artifact %d: the message is bounded", index)
		}
		assert.Len(t, order.Status.ArtifactWorkflows, 1)
	})
}

// assertNoWorkflow checks that no Workflow of the name appears for a while.
func assertNoWorkflow(f *fixture, name string, during time.Duration) {
	f.t.Helper()
	deadline := time.Now().Add(during)
	for time.Now().Before(deadline) {
		_, err := s.argo.ArgoprojV1alpha1().Workflows(f.ns).Get(f.ctx(), name, metav1.GetOptions{})
		require.True(f.t, apierrors.IsNotFound(err), "no Workflow %s may exist, got %v", name, err)
		time.Sleep(pollInterval)
	}
}

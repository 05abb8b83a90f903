//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/workflowbuilder"
)

// ociType is the ArtifactType of the OCI example (examples/oci/artifact-type.yaml)
// with the given template.
func ociType(template string) arcv1.ArtifactTypeSpec {
	return arcv1.ArtifactTypeSpec{
		Rules:               arcv1.ArtifactTypeRules{SrcTypes: []string{"oci"}, DstTypes: []string{"oci"}},
		Parameters:          []arcv1.Parameter{{Name: "scanSeverity", Value: "HIGH,CRITICAL"}},
		WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: template, ClusterScope: true},
	}
}

// TestOCIExample runs the OCI example of examples/oci (its Endpoints and its
// Order, with the Secret of examples/run-local) through ARC and Argo, with
// the ArtifactType pointing at the e2e pipeline.
func TestOCIExample(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "oci")
	f.setUpOCIEndpoints()
	f.createArtifactType("oci", ociType(templateOCI))
	applied := f.applyRepoFile("examples/oci/order.yaml")
	require.Len(t, applied, 1)
	orderName := applied[0].GetName()

	// One ArtifactWorkflow, with the spec the Order asks for.
	order := f.waitOrder(orderName, "one ArtifactWorkflow", func(o *arcv1.Order) (bool, string) {
		return len(o.Status.ArtifactWorkflows) == 1, ""
	})
	name := f.mustEntry(order, 0).Name
	aws, err := s.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, aws.Items, 1, "the Order has one artifact, so one ArtifactWorkflow")
	aw := &aws.Items[0]
	require.Equal(t, name, aw.Name)
	assert.Equal(t, "oci", aw.Spec.Type)
	assert.Nil(t, aw.Spec.SrcSecretRef, "dockerhub has no Secret")
	if assert.NotNil(t, aw.Spec.DstSecretRef) {
		assert.Equal(t, "dst-reg-secret", aw.Spec.DstSecretRef.Name)
	}
	assert.True(t, metav1.IsControlledBy(aw, order), "the Order controls its ArtifactWorkflow")
	assert.Equal(t, string(order.UID), aw.Labels[arcv1.LabelOrderUID])

	// The Workflow carries exactly the documented parameters.
	wf := f.waitWorkflow(name, "created", func(*wfv1.Workflow) (bool, error) { return true, nil })
	assert.Equal(t, map[string]string{
		"srcType":      "oci",
		"srcRemoteURL": "docker.io",
		"srcSecret":    "false",
		"dstType":      "oci",
		"dstRemoteURL": "registry.internal.example",
		"dstSecret":    "true",
		"specImage":    "library/alpine:3.18",
		"specOverride": "myteam/alpine:3.18-dev",
		"scanSeverity": "HIGH,CRITICAL",
		// The template mounts the Secrets by these names (secretDelivery ByName).
		workflowbuilder.SrcSecretNameParameter: workflowbuilder.NoSecret,
		workflowbuilder.DstSecretNameParameter: "dst-reg-secret",
	}, f.workflowParameters(wf))
	require.NotNil(t, wf.Spec.WorkflowTemplateRef)
	assert.Equal(t, wfv1.WorkflowTemplateRef{Name: templateOCI}, *wf.Spec.WorkflowTemplateRef,
		"a namespaced ArtifactType uses the WorkflowTemplate of its namespace")
	assert.Empty(t, wf.Spec.Volumes, "under Secure mode the template owns every volume")
	assert.Empty(t, wf.Spec.PodSpecPatch, "under Secure mode the template owns the pods")
	assert.True(t, metav1.IsControlledBy(wf, aw), "the ArtifactWorkflow controls its Workflow")
	assert.Equal(t, aw.Name, wf.Labels[arcv1.LabelArtifactWorkflow])

	// Argo accepts it: it runs (or, on KWOK, may already be done).
	f.waitWorkflow(name, "accepted by Argo (Running or Succeeded)", func(wf *wfv1.Workflow) (bool, error) {
		switch wf.Status.Phase {
		case wfv1.WorkflowRunning, wfv1.WorkflowSucceeded:
			return true, nil
		case wfv1.WorkflowFailed, wfv1.WorkflowError:
			return false, fmt.Errorf("Argo did not run the Workflow: %s: %s", wf.Status.Phase, wf.Status.Message)
		}
		return false, nil
	})

	f.waitWorkflowPhase(name, wfv1.WorkflowSucceeded)
	// Every step ran as a pod: pull, scan, push. Each holds only the
	// credentials it needs, as Argo rendered them from the template: pull the
	// source's (dockerhub has none: the optional volume of the no-secret
	// name), push the destination's Secret, scan none.
	list, err := s.kube.CoreV1().Pods(f.ns).List(t.Context(), metav1.ListOptions{LabelSelector: argoWorkflowLabel + "=" + name})
	require.NoError(t, err)
	assert.Len(t, list.Items, 3, "one pod per step of %s", templateOCI)
	mounts := map[string]map[string]string{}
	for i := range list.Items {
		pod := &list.Items[i]
		assert.Equal(t, corev1.PodSucceeded, pod.Status.Phase, "pod %s", pod.Name)
		assert.Equal(t, "kwok", pod.Spec.NodeSelector["type"], "pod %s runs on the fake node", pod.Name)
		mounts[stepOf(pod)] = credentialMounts(t, pod)
	}
	assert.Equal(t, map[string]map[string]string{
		"pull": {"/secret/src": workflowbuilder.NoSecret + " (optional)"},
		"scan": {},
		"push": {"/secret/dst": "dst-reg-secret (optional)"},
	}, mounts, "Secret volumes each step's container main mounts, by path")

	aw = f.waitArtifactWorkflow(name, "Succeeded", func(aw *arcv1.ArtifactWorkflow) (bool, string, error) {
		return aw.Status.Phase == arcv1.WorkflowPhaseSucceeded, "", nil
	})
	if ready := conditionOf(aw.Status.Conditions, arcv1.ConditionReady); assert.NotNil(t, ready) {
		assert.Equal(t, metav1.ConditionTrue, ready.Status)
	}
	assert.NotNil(t, aw.Status.StartedAt, "startedAt")
	assert.NotNil(t, aw.Status.FinishedAt, "finishedAt")

	order = f.waitOrderPhase(orderName, arcv1.OrderPhaseSucceeded)
	st := order.Status
	assert.Equal(t, [5]int32{1, 1, 0, 0, 0}, [5]int32{st.Total, st.Succeeded, st.Failed, st.Running, st.Pending}, "total, succeeded, failed, running, pending")
	assert.Empty(t, st.UnresolvedArtifacts)
	assert.Equal(t, arcv1.WorkflowPhaseSucceeded, f.mustEntry(order, 0).Phase)
	if ready := conditionOf(st.Conditions, arcv1.ConditionReady); assert.NotNil(t, ready, "Order condition Ready") {
		assert.Equal(t, metav1.ConditionTrue, ready.Status)
		assert.Equal(t, order.Generation, ready.ObservedGeneration)
	}
}

// stepOf names the step a pod of a steps template runs, from the node name
// Argo gives it ("<workflow>[0].pull").
func stepOf(pod *corev1.Pod) string {
	node := pod.Annotations["workflows.argoproj.io/node-name"]
	return node[strings.LastIndex(node, ".")+1:]
}

// credentialMounts returns the Secret volumes that container main of a pod
// mounts, as path -> Secret name, and checks that they are read-only and that
// no container takes a Secret through its environment.
func credentialMounts(t *testing.T, pod *corev1.Pod) map[string]string {
	t.Helper()
	secrets := map[string]*corev1.SecretVolumeSource{}
	for _, v := range pod.Spec.Volumes {
		if v.Secret != nil {
			secrets[v.Name] = v.Secret
		}
	}
	out := map[string]string{}
	for _, c := range pod.Spec.Containers {
		if c.Name != "main" {
			continue
		}
		for _, m := range c.VolumeMounts {
			secret, ok := secrets[m.Name]
			if !ok || strings.HasPrefix(m.MountPath, "/var/run/secrets/kubernetes.io") {
				continue
			}
			assert.True(t, m.ReadOnly, "pod %s: %s is read-only", pod.Name, m.MountPath)
			desc := secret.SecretName
			if secret.Optional != nil && *secret.Optional {
				desc += " (optional)"
			}
			out[m.MountPath] = desc
		}
	}
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				t.Errorf("pod %s, container %s: env %s comes from Secret %s", pod.Name, c.Name, e.Name, e.ValueFrom.SecretKeyRef.Name)
			}
		}
	}
	return out
}

// TestFailingStep lets a Workflow fail (its pods carry the test-fail label)
// and checks that the failure and Argo's message reach the ArtifactWorkflow
// and the Order.
func TestFailingStep(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "fail")
	f.setUpOCIEndpoints()
	f.createArtifactType("oci", ociType(templateFail))
	const orderName = "doomed"
	name := f.createAlpineOrder(orderName)

	wf := f.waitWorkflowPhase(name, wfv1.WorkflowFailed)
	require.NotEmpty(t, wf.Status.Message, "Argo explains why the Workflow failed")
	t.Logf("Workflow message: %q", wf.Status.Message)

	aw := f.waitArtifactWorkflow(name, "Failed with the Workflow's message", func(aw *arcv1.ArtifactWorkflow) (bool, string, error) {
		if aw.Status.Phase == arcv1.WorkflowPhaseSucceeded {
			return false, "", fmt.Errorf("the ArtifactWorkflow succeeded")
		}
		// Argo may still polish the message once; compare with the current one.
		cur, err := s.argo.ArgoprojV1alpha1().Workflows(f.ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		want := controller.WorkflowMessage(cur)
		return aw.Status.Phase == arcv1.WorkflowPhaseFailed && aw.Status.Message != "" && aw.Status.Message == want,
			fmt.Sprintf("(Workflow message %q, its failed step's %q)", cur.Status.Message, want), nil
	})
	assert.True(t, strings.HasPrefix(aw.Status.Message, "step "), "the failed step is named: %s", aw.Status.Message)
	assert.Contains(t, aw.Status.Message, "exit code 1", "with what Argo saw of it")
	if ready := conditionOf(aw.Status.Conditions, arcv1.ConditionReady); assert.NotNil(t, ready) {
		assert.Equal(t, metav1.ConditionFalse, ready.Status)
		assert.Equal(t, "WorkflowFailed", ready.Reason)
	}
	assert.NotNil(t, aw.Status.FinishedAt, "finishedAt")
	ev := f.waitEvent("ArtifactWorkflow", name, corev1.EventTypeWarning, "WorkflowFailed")
	assert.Equal(t, aw.Status.Message, ev.Message)

	order := f.waitOrder(orderName, "phase Failed with the ArtifactWorkflow's message", func(o *arcv1.Order) (bool, string) {
		e, ok := entryFor(o, 0)
		return o.Status.Phase == arcv1.OrderPhaseFailed && ok && e.Message == aw.Status.Message, fmt.Sprintf("entry %+v", e)
	})
	entry := f.mustEntry(order, 0)
	assert.Equal(t, arcv1.WorkflowPhaseFailed, entry.Phase)
	st := order.Status
	assert.Equal(t, [5]int32{1, 0, 1, 0, 0}, [5]int32{st.Total, st.Succeeded, st.Failed, st.Running, st.Pending}, "total, succeeded, failed, running, pending")
	if ready := conditionOf(st.Conditions, arcv1.ConditionReady); assert.NotNil(t, ready) {
		assert.Equal(t, metav1.ConditionFalse, ready.Status)
		assert.Equal(t, "ArtifactsFailed", ready.Reason)
	}
}

package controller_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	argofake "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	argoinformers "github.com/argoproj/argo-workflows/v3/pkg/client/informers/externalversions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kubeinformers "k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/controller/artifactworkflow"
	"github.com/artifact-conduit/arc/pkg/controller/controllertest"
	"github.com/artifact-conduit/arc/pkg/controller/order"
	arcfake "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned/fake"
	arcinformers "github.com/artifact-conduit/arc/pkg/generated/informers/externalversions"
)

// TestPipelineCarriesTheDesignExampleThroughBothControllers wires both
// controllers as cmd/arc-controller does, on running informers over fake
// clientsets, and follows the design documents' OCI example from Order to
// Workflow and the Workflow's phases back up to the Order. It exercises what
// the per-controller tests bypass: event handlers, indexes and transforms.
func TestPipelineCarriesTheDesignExampleThroughBothControllers(t *testing.T) {
	const ns = "team-a"
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	arcClient := arcfake.NewSimpleClientset(
		&arcv1.Endpoint{
			ObjectMeta: metav1.ObjectMeta{Name: "dockerhub", Namespace: ns},
			Spec:       arcv1.EndpointSpec{Type: "oci", RemoteURL: "docker.io", Usage: arcv1.EndpointUsagePullOnly},
		},
		&arcv1.Endpoint{
			ObjectMeta: metav1.ObjectMeta{Name: "internal", Namespace: ns},
			Spec: arcv1.EndpointSpec{Type: "oci", RemoteURL: "registry.internal.example", Usage: arcv1.EndpointUsagePushOnly,
				SecretRef: &corev1.LocalObjectReference{Name: "dst-reg-secret"}},
		},
		&arcv1.ArtifactType{
			ObjectMeta: metav1.ObjectMeta{Name: "oci", Namespace: ns},
			Spec: arcv1.ArtifactTypeSpec{
				Rules:               arcv1.ArtifactTypeRules{SrcTypes: []string{"oci"}, DstTypes: []string{"oci"}},
				Parameters:          []arcv1.Parameter{{Name: "scanSeverity", Value: "HIGH,CRITICAL"}},
				WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: "oci-image-pipeline"},
			},
		},
	)
	argoClient := argofake.NewSimpleClientset()
	controllertest.BumpResourceVersions(&arcClient.Fake)
	controllertest.BumpResourceVersions(&argoClient.Fake)
	controllertest.StatusSubresource(&arcClient.Fake, arcClient.Tracker())
	controllertest.AssignUIDs(&arcClient.Fake)
	controllertest.AssignUIDs(&argoClient.Fake)
	metaClient := metadatafake.NewSimpleMetadataClient(metadatafake.NewTestScheme())
	secretsGVR := corev1.SchemeGroupVersion.WithResource("secrets")

	arcFactory := arcinformers.NewSharedInformerFactoryWithOptions(arcClient, 0, arcinformers.WithTransform(controller.SlimARCObject))
	argoFactory := argoinformers.NewSharedInformerFactory(argoClient, 0)
	metaFactory := metadatainformer.NewSharedInformerFactory(metaClient, 0)
	kubeFactory := kubeinformers.NewSharedInformerFactory(kubefake.NewSimpleClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}), 0)
	namespaces := kubeFactory.Core().V1().Namespaces()
	inf := arcFactory.Arc().V1alpha1()
	workflows := argoFactory.Argoproj().V1alpha1().Workflows()
	require.NoError(t, workflows.Informer().SetTransform(controller.SlimWorkflow))
	secrets := metaFactory.ForResource(secretsGVR)
	require.NoError(t, secrets.Informer().SetTransform(controller.SecretPresenceOnly))

	recorder := record.NewFakeRecorder(100)
	orders, err := order.New(arcClient, argoClient, order.Informers{
		Orders: inf.Orders(), ArtifactWorkflows: inf.ArtifactWorkflows(), Endpoints: inf.Endpoints(), Secrets: secrets,
		ArtifactTypes: inf.ArtifactTypes(), ClusterArtifactTypes: inf.ClusterArtifactTypes(), Namespaces: namespaces,
		Workflows: workflows,
	}, recorder, clock.RealClock{})
	require.NoError(t, err)
	aws, err := artifactworkflow.New(arcClient, argoClient, artifactworkflow.Informers{
		ArtifactWorkflows: inf.ArtifactWorkflows(), ArtifactTypes: inf.ArtifactTypes(),
		ClusterArtifactTypes: inf.ClusterArtifactTypes(), Orders: inf.Orders(), Namespaces: namespaces, Endpoints: inf.Endpoints(), Workflows: workflows,
		CronWorkflows: argoFactory.Argoproj().V1alpha1().CronWorkflows(),
	}, recorder, clock.RealClock{})
	require.NoError(t, err)
	arcFactory.Start(ctx.Done())
	argoFactory.Start(ctx.Done())
	metaFactory.Start(ctx.Done())
	kubeFactory.Start(ctx.Done())
	done := make(chan struct{}, 2)
	for _, w := range []controller.Worker{orders.Worker(), aws.Worker()} {
		go func() {
			_ = controller.Run(ctx, w, 2, time.Second)
			done <- struct{}{}
		}()
	}

	spec, err := json.Marshal(map[string]string{"image": "library/alpine:3.18", "override": "myteam/alpine:3.18-dev"})
	require.NoError(t, err)
	_, err = arcClient.ArcV1alpha1().Orders(ns).Create(ctx, &arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: "alpine", Namespace: ns, UID: types.UID("uid-alpine")},
		Spec: arcv1.OrderSpec{
			Defaults: &arcv1.OrderDefaults{
				SrcRef: &corev1.LocalObjectReference{Name: "dockerhub"},
				DstRef: &corev1.LocalObjectReference{Name: "internal"},
			},
			Artifacts: []arcv1.OrderArtifact{{Type: "oci", Spec: &runtime.RawExtension{Raw: spec}}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	// Without the Secret the artifact waits.
	orderStatus := func() arcv1.OrderStatus {
		o, err := arcClient.ArcV1alpha1().Orders(ns).Get(ctx, "alpine", metav1.GetOptions{})
		require.NoError(t, err)
		return o.Status
	}
	require.Eventually(t, func() bool {
		s := orderStatus()
		return len(s.UnresolvedArtifacts) == 1 && s.UnresolvedArtifacts[0].Reason == order.ReasonSecretNotFound
	}, 10*time.Second, 10*time.Millisecond, "the missing Secret is reported")

	// The Secret appears: the Secret -> Endpoint -> Order indexes bring the Order back.
	_, err = metaClient.Resource(secretsGVR).Namespace(ns).(metadatafake.MetadataClient).CreateFake(&metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: "dst-reg-secret", Namespace: ns},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	var wf *wfv1.Workflow
	require.Eventually(t, func() bool {
		list, err := argoClient.ArgoprojV1alpha1().Workflows(ns).List(ctx, metav1.ListOptions{})
		if err != nil || len(list.Items) != 1 {
			return false
		}
		wf = &list.Items[0]
		return true
	}, 10*time.Second, 10*time.Millisecond, "one Workflow is created")

	params := map[string]string{}
	for _, p := range wf.Spec.Arguments.Parameters {
		params[p.Name] = p.Value.String()
	}
	assert.Equal(t, map[string]string{
		"srcType": "oci", "srcRemoteURL": "docker.io", "srcSecret": "false",
		"dstType": "oci", "dstRemoteURL": "registry.internal.example", "dstSecret": "true",
		"specImage": "library/alpine:3.18", "specOverride": "myteam/alpine:3.18-dev",
		"scanSeverity":  "HIGH,CRITICAL",
		"srcSecretName": "arc-no-secret", "dstSecretName": "dst-reg-secret",
	}, params)
	// The default secret delivery passes names only: the Workflow sets no
	// field Argo's template-referencing restrictions refuse.
	assert.Empty(t, wf.Spec.Volumes)
	assert.Empty(t, wf.Spec.PodSpecPatch)

	// Argo runs the Workflow; its phases flow back up.
	for _, phase := range []wfv1.WorkflowPhase{wfv1.WorkflowRunning, wfv1.WorkflowSucceeded} {
		current, err := argoClient.ArgoprojV1alpha1().Workflows(ns).Get(ctx, wf.Name, metav1.GetOptions{})
		require.NoError(t, err)
		current.Status.Phase = phase
		current.Status.StartedAt = metav1.NewTime(time.Now().Truncate(time.Second))
		if phase == wfv1.WorkflowSucceeded {
			current.Status.FinishedAt = metav1.NewTime(time.Now().Truncate(time.Second))
		}
		_, err = argoClient.ArgoprojV1alpha1().Workflows(ns).Update(ctx, current, metav1.UpdateOptions{})
		require.NoError(t, err)
		want := arcv1.OrderPhaseRunning
		if phase == wfv1.WorkflowSucceeded {
			want = arcv1.OrderPhaseSucceeded
		}
		require.Eventually(t, func() bool { return orderStatus().Phase == want }, 10*time.Second, 10*time.Millisecond,
			"the Order follows the Workflow to %s", want)
	}
	s := orderStatus()
	assert.Equal(t, [2]int32{1, 1}, [2]int32{s.Total, s.Succeeded})
	aw, err := arcClient.ArcV1alpha1().ArtifactWorkflows(ns).Get(ctx, wf.Name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, arcv1.WorkflowPhaseSucceeded, aw.Status.Phase)
	assert.NotNil(t, aw.Status.FinishedAt)

	cancel()
	<-done
	<-done
}

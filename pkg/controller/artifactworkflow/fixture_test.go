package artifactworkflow

import (
	"context"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	argofake "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	argoinformers "github.com/argoproj/argo-workflows/v3/pkg/client/informers/externalversions"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubeinformers "k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/controller/controllertest"
	arcfake "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned/fake"
	arcinformers "github.com/artifact-conduit/arc/pkg/generated/informers/externalversions"
)

const (
	ns           = "team-a"
	artifactHash = "0123456789abcdef"
	awName       = "alpine-" + artifactHash
)

var testNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// fixture is an ArtifactWorkflow controller on fake clients whose informer
// caches the test fills from the fake API servers, without goroutines.
type fixture struct {
	// clock is the controller's clock, at testNow until a test moves it.
	clock    *clocktesting.FakePassiveClock
	t        *testing.T
	client   *arcfake.Clientset
	argo     *argofake.Clientset
	recorder *record.FakeRecorder
	ctrl     *Controller
	arc      arcinformers.SharedInformerFactory
	wf       argoinformers.SharedInformerFactory
	kube     *kubefake.Clientset
	core     kubeinformers.SharedInformerFactory
}

func newFixture(t *testing.T, objects ...runtime.Object) *fixture {
	return newFixtureWithOptions(t, nil, objects...)
}

// newFixtureWithOptions is newFixture with controller options.
func newFixtureWithOptions(t *testing.T, opts []Option, objects ...runtime.Object) *fixture {
	t.Helper()
	var arcObjects, argoObjects, kubeObjects []runtime.Object
	hasOrder, hasNamespace := false, false
	for _, obj := range objects {
		switch obj.(type) {
		case *wfv1.Workflow, *wfv1.CronWorkflow:
			argoObjects = append(argoObjects, obj)
		case *corev1.Namespace:
			kubeObjects, hasNamespace = append(kubeObjects, obj), true
		case *arcv1.Order:
			arcObjects, hasOrder = append(arcObjects, obj), true
		default:
			arcObjects = append(arcObjects, obj)
		}
	}
	// The example's ArtifactWorkflow is controlled by a live Order in a
	// namespace ARC sees, unless a test brings its own.
	if !hasOrder {
		arcObjects = append(arcObjects, alpineOrder())
	}
	if !hasNamespace {
		kubeObjects = append(kubeObjects, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	f := &fixture{
		t:        t,
		clock:    clocktesting.NewFakePassiveClock(testNow),
		client:   arcfake.NewSimpleClientset(arcObjects...),
		argo:     argofake.NewSimpleClientset(argoObjects...),
		kube:     kubefake.NewSimpleClientset(kubeObjects...),
		recorder: record.NewFakeRecorder(100),
	}
	// The controller tells its own writes from a lagging cache by
	// resourceVersion, which the fakes would leave unchanged.
	controllertest.BumpResourceVersions(&f.client.Fake)
	controllertest.BumpResourceVersions(&f.argo.Fake)
	controllertest.StatusSubresource(&f.client.Fake, f.client.Tracker())
	controllertest.AssignUIDs(&f.client.Fake)
	controllertest.AssignUIDs(&f.argo.Fake)
	controllertest.StampCreation(&f.argo.Fake, testNow)
	f.arc = arcinformers.NewSharedInformerFactory(f.client, 0)
	f.wf = argoinformers.NewSharedInformerFactory(f.argo, 0)
	f.core = kubeinformers.NewSharedInformerFactory(f.kube, 0)
	ctrl, err := New(f.client, f.argo, f.informers(), f.recorder, f.clock, opts...)
	require.NoError(t, err)
	f.ctrl = ctrl
	f.refreshCaches()
	return f
}

// informers are the controller's informers, as New got them (a factory
// returns the same informer every time).
func (f *fixture) informers() Informers {
	inf := f.arc.Arc().V1alpha1()
	return Informers{
		ArtifactWorkflows:    inf.ArtifactWorkflows(),
		ArtifactTypes:        inf.ArtifactTypes(),
		ClusterArtifactTypes: inf.ClusterArtifactTypes(),
		Orders:               inf.Orders(),
		Namespaces:           f.core.Core().V1().Namespaces(),
		Endpoints:            inf.Endpoints(),
		Workflows:            f.wf.Argoproj().V1alpha1().Workflows(),
		CronWorkflows:        f.wf.Argoproj().V1alpha1().CronWorkflows(),
	}
}

// refreshCaches makes the caches hold what the fake API servers hold. Like
// the real informer, the Workflow cache holds only Workflows with ARC's
// labels, slimmed by controller.SlimWorkflow.
func (f *fixture) refreshCaches() {
	f.t.Helper()
	ctx := context.Background()
	inf := f.arc.Arc().V1alpha1()
	aws, err := f.client.ArcV1alpha1().ArtifactWorkflows("").List(ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	replace(f.t, inf.ArtifactWorkflows().Informer().GetIndexer(), aws.Items, controller.SlimARCObject)
	types, err := f.client.ArcV1alpha1().ArtifactTypes("").List(ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	replace(f.t, inf.ArtifactTypes().Informer().GetIndexer(), types.Items, nil)
	ctypes, err := f.client.ArcV1alpha1().ClusterArtifactTypes().List(ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	replace(f.t, inf.ClusterArtifactTypes().Informer().GetIndexer(), ctypes.Items, nil)
	orders, err := f.client.ArcV1alpha1().Orders("").List(ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	replace(f.t, inf.Orders().Informer().GetIndexer(), orders.Items, nil)
	endpoints, err := f.client.ArcV1alpha1().Endpoints("").List(ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	replace(f.t, inf.Endpoints().Informer().GetIndexer(), endpoints.Items, nil)
	namespaces, err := f.kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	replace(f.t, f.core.Core().V1().Namespaces().Informer().GetIndexer(), namespaces.Items, nil)
	wfs, err := f.argo.ArgoprojV1alpha1().Workflows("").List(ctx, metav1.ListOptions{LabelSelector: WorkflowSelector.String()})
	require.NoError(f.t, err)
	replace(f.t, f.wf.Argoproj().V1alpha1().Workflows().Informer().GetIndexer(), wfs.Items, controller.SlimWorkflow)
	cwfs, err := f.argo.ArgoprojV1alpha1().CronWorkflows("").List(ctx, metav1.ListOptions{LabelSelector: WorkflowSelector.String()})
	require.NoError(f.t, err)
	replace(f.t, f.wf.Argoproj().V1alpha1().CronWorkflows().Informer().GetIndexer(), cwfs.Items, controller.StripManagedFields)
	f.client.ClearActions()
	f.argo.ClearActions()
}

func replace[T any](t *testing.T, indexer cache.Indexer, items []T, transform cache.TransformFunc) {
	t.Helper()
	objs := make([]interface{}, len(items))
	for i := range items {
		objs[i] = &items[i]
		if transform != nil {
			var err error
			objs[i], err = transform(objs[i])
			require.NoError(t, err)
		}
	}
	require.NoError(t, indexer.Replace(objs, ""))
}

// sync runs one sync and returns the writes to both API servers, the events and the error.
func (f *fixture) sync() (writes, events []string, err error) {
	f.t.Helper()
	err = f.ctrl.sync(context.Background(), cache.ObjectName{Namespace: ns, Name: awName})
	writes = controllertest.Writes(f.client.Actions(), f.argo.Actions())
	events = controllertest.Events(f.recorder)
	f.refreshCaches()
	return writes, events, err
}

func (f *fixture) artifactWorkflow() *arcv1.ArtifactWorkflow {
	f.t.Helper()
	aw, err := f.client.ArcV1alpha1().ArtifactWorkflows(ns).Get(context.Background(), awName, metav1.GetOptions{})
	require.NoError(f.t, err)
	return aw
}

func (f *fixture) workflow() *wfv1.Workflow {
	f.t.Helper()
	wf, err := f.argo.ArgoprojV1alpha1().Workflows(ns).Get(context.Background(), awName, metav1.GetOptions{})
	require.NoError(f.t, err)
	return wf
}

// setWorkflowStatus changes the Workflow's status as Argo would.
func (f *fixture) setWorkflowStatus(status wfv1.WorkflowStatus) {
	f.t.Helper()
	wf := f.workflow()
	wf.Status = status
	_, err := f.argo.ArgoprojV1alpha1().Workflows(ns).Update(context.Background(), wf, metav1.UpdateOptions{})
	require.NoError(f.t, err)
	f.refreshCaches()
}

// The design documents' OCI example.

// alpineOrder is the Order that controls the example's ArtifactWorkflow and
// lists it in its status, as the Order controller does.
func alpineOrder() *arcv1.Order {
	return &arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: "alpine", Namespace: ns, UID: "uid-order", Generation: 1},
		Status: arcv1.OrderStatus{ArtifactWorkflows: map[string]arcv1.OrderArtifactWorkflowStatus{
			artifactHash: {Name: awName},
		}},
	}
}

func alpineArtifactWorkflow() *arcv1.ArtifactWorkflow {
	return &arcv1.ArtifactWorkflow{
		ObjectMeta: metav1.ObjectMeta{
			Name: awName, Namespace: ns, UID: "uid-aw", Generation: 1,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(alpineOrder(), arcv1.SchemeGroupVersion.WithKind("Order"))},
			Labels: map[string]string{
				arcv1.LabelManagedBy:    arcv1.ManagedByValue,
				arcv1.LabelOrderUID:     "uid-order",
				arcv1.LabelArtifactHash: artifactHash,
			},
		},
		Spec: arcv1.ArtifactWorkflowSpec{
			Type: "oci",
			Parameters: []arcv1.Parameter{
				{Name: "dstRemoteURL", Value: "registry.internal.example"},
				{Name: "dstSecret", Value: "true"},
				{Name: "dstType", Value: "oci"},
				{Name: "specImage", Value: "library/alpine:3.18"},
				{Name: "specOverride", Value: "myteam/alpine:3.18-dev"},
				{Name: "srcRemoteURL", Value: "docker.io"},
				{Name: "srcSecret", Value: "false"},
				{Name: "srcType", Value: "oci"},
			},
			DstSecretRef: &corev1.LocalObjectReference{Name: "dst-reg-secret"},
		},
	}
}

func ociTypeSpec(srcTypes ...string) arcv1.ArtifactTypeSpec {
	return arcv1.ArtifactTypeSpec{
		Rules:               arcv1.ArtifactTypeRules{SrcTypes: srcTypes, DstTypes: []string{"oci"}},
		Parameters:          []arcv1.Parameter{{Name: "scanSeverity", Value: "HIGH,CRITICAL"}},
		WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: "oci-image-pipeline"},
	}
}

func ociArtifactType() *arcv1.ArtifactType {
	return &arcv1.ArtifactType{
		ObjectMeta: metav1.ObjectMeta{Name: "oci", Namespace: ns, Generation: 1},
		Spec:       ociTypeSpec("oci"),
	}
}

func ociClusterArtifactType(template string) *arcv1.ClusterArtifactType {
	spec := ociTypeSpec("oci")
	spec.WorkflowTemplateRef = arcv1.WorkflowTemplateRef{Name: template}
	return &arcv1.ClusterArtifactType{
		ObjectMeta: metav1.ObjectMeta{Name: "oci", Generation: 1},
		Spec:       arcv1.ClusterArtifactTypeSpec{ArtifactTypeSpec: spec},
	}
}

// ownWorkflow is a Workflow as ARC would have created it for the example.
func ownWorkflow(phase wfv1.WorkflowPhase) *wfv1.Workflow {
	aw := alpineArtifactWorkflow()
	return &wfv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{
			Name: awName, Namespace: ns,
			Labels:          map[string]string{arcv1.LabelManagedBy: arcv1.ManagedByValue},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(aw, arcv1.SchemeGroupVersion.WithKind("ArtifactWorkflow"))},
		},
		Status: wfv1.WorkflowStatus{Phase: phase},
	}
}

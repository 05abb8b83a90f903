package order

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	argofake "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	argoinformers "github.com/argoproj/argo-workflows/v3/pkg/client/informers/externalversions"
	wfinformers "github.com/argoproj/argo-workflows/v3/pkg/client/informers/externalversions/workflow/v1alpha1"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/controller/controllertest"
	arcfake "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned/fake"
	arcinformers "github.com/artifact-conduit/arc/pkg/generated/informers/externalversions"
	"github.com/artifact-conduit/arc/pkg/naming"
)

const ns = "team-a"

var (
	secretsGVR = corev1.SchemeGroupVersion.WithResource("secrets")
	testNow    = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
)

// fixture is an Order controller on fake clients whose informer caches the
// test fills directly, as in sample-controller: no goroutines, no timing.
type fixture struct {
	t        *testing.T
	client   *arcfake.Clientset
	recorder *record.FakeRecorder
	ctrl     *Controller
	factory  arcinformers.SharedInformerFactory
	secrets  informers.GenericInformer
	kube     *kubefake.Clientset
	core     informers.SharedInformerFactory
	// argo holds the Workflows the API server has; workflows is the cache,
	// filled by refreshCaches.
	argo      *argofake.Clientset
	workflows wfinformers.WorkflowInformer
}

func newFixture(t *testing.T, objects ...runtime.Object) *fixture {
	return newFixtureWithOptions(t, nil, objects...)
}

// newFixtureWithOptions is newFixture with controller options. Unless the
// test brings its own type "oci", the example's type is a ClusterArtifactType
// offered to every namespace, and the namespace exists without labels.
func newFixtureWithOptions(t *testing.T, opts []Option, objects ...runtime.Object) *fixture {
	t.Helper()
	var arcObjects, secretObjects, kubeObjects []runtime.Object
	hasType, hasNamespace := false, false
	for _, obj := range objects {
		switch o := obj.(type) {
		case *corev1.Secret:
			secretObjects = append(secretObjects, secretMetadata(o))
		case *corev1.Namespace:
			kubeObjects, hasNamespace = append(kubeObjects, obj), true
		case *arcv1.ArtifactType, *arcv1.ClusterArtifactType:
			arcObjects = append(arcObjects, obj)
			hasType = hasType || o.(metav1.Object).GetName() == "oci"
		default:
			arcObjects = append(arcObjects, obj)
		}
	}
	if !hasType {
		arcObjects = append(arcObjects, ociClusterType())
	}
	if !hasNamespace {
		kubeObjects = append(kubeObjects, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	f := &fixture{
		t:        t,
		client:   arcfake.NewSimpleClientset(arcObjects...),
		recorder: record.NewFakeRecorder(100),
		kube:     kubefake.NewSimpleClientset(kubeObjects...),
	}
	// Created objects get UIDs, so ownership checks by UID mean something.
	controllertest.AssignUIDs(&f.client.Fake)
	// Every write gets a new resourceVersion, as the API server gives: the
	// controller tells its own status writes from the cache by them.
	controllertest.BumpResourceVersions(&f.client.Fake)
	f.factory = arcinformers.NewSharedInformerFactory(f.client, 0)
	// The Secret cache is filled directly below; the client itself is never asked.
	metaClient := metadatafake.NewSimpleMetadataClient(metadatafake.NewTestScheme())
	f.secrets = metadatainformer.NewSharedInformerFactory(metaClient, 0).ForResource(secretsGVR)
	f.core = informers.NewSharedInformerFactory(f.kube, 0)
	f.argo = argofake.NewSimpleClientset()
	f.workflows = argoinformers.NewSharedInformerFactory(f.argo, 0).Argoproj().V1alpha1().Workflows()
	ctrl, err := New(f.client, f.argo, f.informers(), f.recorder, clocktesting.NewFakePassiveClock(testNow), opts...)
	require.NoError(t, err)
	f.ctrl = ctrl
	for _, obj := range secretObjects {
		require.NoError(t, f.secrets.Informer().GetIndexer().Add(obj))
	}
	f.refreshCaches()
	return f
}

// informers are the controller's informers, as New got them (a factory
// returns the same informer every time).
func (f *fixture) informers() Informers {
	arc := f.factory.Arc().V1alpha1()
	return Informers{
		Orders:               arc.Orders(),
		ArtifactWorkflows:    arc.ArtifactWorkflows(),
		Endpoints:            arc.Endpoints(),
		Secrets:              f.secrets,
		ArtifactTypes:        arc.ArtifactTypes(),
		ClusterArtifactTypes: arc.ClusterArtifactTypes(),
		Namespaces:           f.core.Core().V1().Namespaces(),
		Workflows:            f.workflows,
	}
}

func secretMetadata(s *corev1.Secret) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: s.ObjectMeta,
	}
}

// refreshCaches makes the informer caches hold what the fake API server
// holds, as the informers would after their watches caught up.
func (f *fixture) refreshCaches() {
	f.t.Helper()
	ctx := context.Background()
	arc := f.factory.Arc().V1alpha1()
	orders, err := f.client.ArcV1alpha1().Orders("").List(ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	replace(f.t, arc.Orders().Informer().GetIndexer(), orders.Items)
	aws, err := f.client.ArcV1alpha1().ArtifactWorkflows("").List(ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	replace(f.t, arc.ArtifactWorkflows().Informer().GetIndexer(), aws.Items)
	eps, err := f.client.ArcV1alpha1().Endpoints("").List(ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	replace(f.t, arc.Endpoints().Informer().GetIndexer(), eps.Items)
	types, err := f.client.ArcV1alpha1().ArtifactTypes("").List(ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	replace(f.t, arc.ArtifactTypes().Informer().GetIndexer(), types.Items)
	ctypes, err := f.client.ArcV1alpha1().ClusterArtifactTypes().List(ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	replace(f.t, arc.ClusterArtifactTypes().Informer().GetIndexer(), ctypes.Items)
	namespaces, err := f.kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	replace(f.t, f.core.Core().V1().Namespaces().Informer().GetIndexer(), namespaces.Items)
	workflows, err := f.argo.ArgoprojV1alpha1().Workflows("").List(ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	// The Workflow informer's cache holds what its transform keeps.
	objs := make([]interface{}, len(workflows.Items))
	for i := range workflows.Items {
		objs[i] = controller.CacheWorkflow(&workflows.Items[i])
	}
	require.NoError(f.t, f.workflows.Informer().GetIndexer().Replace(objs, ""))
	f.client.ClearActions()
}

func replace[T any](t *testing.T, indexer cache.Indexer, items []T) {
	t.Helper()
	objs := make([]interface{}, len(items))
	for i := range items {
		// As the informers cache them (see cmd/arc-controller).
		obj, err := controller.SlimARCObject(&items[i])
		require.NoError(t, err)
		objs[i] = obj
	}
	require.NoError(t, indexer.Replace(objs, ""))
}

// create adds an object to the fake API server and the caches.
func (f *fixture) create(obj runtime.Object) {
	f.t.Helper()
	ctx := context.Background()
	var err error
	switch o := obj.(type) {
	case *arcv1.Endpoint:
		_, err = f.client.ArcV1alpha1().Endpoints(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	case *arcv1.ArtifactWorkflow:
		_, err = f.client.ArcV1alpha1().ArtifactWorkflows(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	case *arcv1.ArtifactType:
		_, err = f.client.ArcV1alpha1().ArtifactTypes(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	case *arcv1.ClusterArtifactType:
		_, err = f.client.ArcV1alpha1().ClusterArtifactTypes().Create(ctx, o, metav1.CreateOptions{})
	case *corev1.Secret:
		err = f.secrets.Informer().GetIndexer().Add(secretMetadata(o))
	default:
		f.t.Fatalf("fixture cannot create %T", obj)
	}
	require.NoError(f.t, err)
	f.refreshCaches()
}

// sync runs one sync of the Order and returns the writes it made and the events it emitted.
func (f *fixture) sync(name string) (writes, events []string, err error) {
	f.t.Helper()
	err = f.ctrl.sync(context.Background(), cache.ObjectName{Namespace: ns, Name: name})
	writes = controllertest.Writes(f.client.Actions())
	events = controllertest.Events(f.recorder)
	f.refreshCaches()
	return writes, events, err
}

func (f *fixture) order(name string) *arcv1.Order {
	f.t.Helper()
	o, err := f.client.ArcV1alpha1().Orders(ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(f.t, err)
	return o
}

func (f *fixture) artifactWorkflows() []arcv1.ArtifactWorkflow {
	f.t.Helper()
	list, err := f.client.ArcV1alpha1().ArtifactWorkflows(ns).List(context.Background(), metav1.ListOptions{})
	require.NoError(f.t, err)
	return list.Items
}

// setPhase sets the status an ArtifactWorkflow reports, as its controller would.
func (f *fixture) setPhase(name string, phase arcv1.WorkflowPhase, message string) {
	f.t.Helper()
	ctx := context.Background()
	aw, err := f.client.ArcV1alpha1().ArtifactWorkflows(ns).Get(ctx, name, metav1.GetOptions{})
	require.NoError(f.t, err)
	aw.Status.Phase, aw.Status.Message = phase, message
	_, err = f.client.ArcV1alpha1().ArtifactWorkflows(ns).UpdateStatus(ctx, aw, metav1.UpdateOptions{})
	require.NoError(f.t, err)
	f.refreshCaches()
}

// Builders of the design documents' OCI example.

func endpoint(name, typ, url string, usage arcv1.EndpointUsage, secret string) *arcv1.Endpoint {
	ep := &arcv1.Endpoint{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       arcv1.EndpointSpec{Type: typ, RemoteURL: url, Usage: usage},
	}
	if secret != "" {
		ep.Spec.SecretRef = &corev1.LocalObjectReference{Name: secret}
	}
	return ep
}

// ociClusterType is the example's type as a cluster admin offers it to
// every namespace.
func ociClusterType() *arcv1.ClusterArtifactType {
	return &arcv1.ClusterArtifactType{
		ObjectMeta: metav1.ObjectMeta{Name: "oci", Generation: 1},
		Spec: arcv1.ClusterArtifactTypeSpec{ArtifactTypeSpec: arcv1.ArtifactTypeSpec{
			Rules:               arcv1.ArtifactTypeRules{SrcTypes: []string{"oci"}, DstTypes: []string{"oci"}},
			WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: "oci-image-pipeline"},
		}},
	}
}

// strictClusterType is a ClusterArtifactType whose schema wants an image
// reference and nothing else (a key the schema does not declare is refused):
// the kind of rule that keeps shell metacharacters out of a template's steps.
func strictClusterType() *arcv1.ClusterArtifactType {
	cat := ociClusterType()
	cat.Name = "strict"
	cat.Spec.SpecSchema = &runtime.RawExtension{Raw: []byte(`{
		"type": "object",
		"required": ["image"],
		"properties": {
			"image": {"type": "string", "maxLength": 255, "pattern": "^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?$"},
			"override": {"type": "string", "maxLength": 255, "pattern": "^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?$"}
		}
	}`)}
	return cat
}

func dockerhub() *arcv1.Endpoint {
	return endpoint("dockerhub", "oci", "docker.io", arcv1.EndpointUsagePullOnly, "")
}

func internal() *arcv1.Endpoint {
	return endpoint("internal", "oci", "registry.internal.example", arcv1.EndpointUsagePushOnly, "dst-reg-secret")
}

func secret(name string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
}

func ref(name string) *corev1.LocalObjectReference {
	return &corev1.LocalObjectReference{Name: name}
}

func rawSpec(t *testing.T, v any) *runtime.RawExtension {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	return &runtime.RawExtension{Raw: raw}
}

func alpineArtifact(t *testing.T) arcv1.OrderArtifact {
	return arcv1.OrderArtifact{
		Type: "oci",
		Spec: rawSpec(t, map[string]any{"image": "library/alpine:3.18", "override": "myteam/alpine:3.18-dev"}),
	}
}

func newOrder(name string, artifacts ...arcv1.OrderArtifact) *arcv1.Order {
	return &arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("uid-" + name), Generation: 1},
		Spec: arcv1.OrderSpec{
			Defaults:  &arcv1.OrderDefaults{SrcRef: ref("dockerhub"), DstRef: ref("internal")},
			Artifacts: artifacts,
		},
	}
}

// alpineParameters are the parameters the design documents list for the OCI example.
func alpineParameters() []arcv1.Parameter {
	return []arcv1.Parameter{
		{Name: "dstRemoteURL", Value: "registry.internal.example"},
		{Name: "dstSecret", Value: "true"},
		{Name: "dstType", Value: "oci"},
		{Name: "specImage", Value: "library/alpine:3.18"},
		{Name: "specOverride", Value: "myteam/alpine:3.18-dev"},
		{Name: "srcRemoteURL", Value: "docker.io"},
		{Name: "srcSecret", Value: "false"},
		{Name: "srcType", Value: "oci"},
	}
}

// artifactIdentity is the identity of an artifact as its author wrote it,
// as makePlan derives it (through the artifact's memo).
func artifactIdentity(order *arcv1.Order, a *arcv1.OrderArtifact) string {
	return naming.ArtifactIdentity(a.Type, refName(a.SrcRef, defaultRef(order, true)), refName(a.DstRef, defaultRef(order, false)), specOf(a))
}

package v1alpha1_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/generated/clientset/versioned/fake"
	clientscheme "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned/scheme"
)

// ---------------------------------------------------------------------------
// Fixtures: one fully populated object per kind. Every field of spec and
// status is set (TestFixturesAreFullyPopulated keeps it so when fields are
// added), times have second precision because that is what JSON keeps.
// ---------------------------------------------------------------------------

const testNamespace = "team-a"

// artifactSpecJSON is the compact form of testdata/artifact-spec.json minus
// the characters encoding/json escapes, so that marshalling keeps it byte for
// byte and plain equality can be used on round-tripped objects.
const artifactSpecJSON = `{"image":"library/alpine:3.18","tags":["3.18","latest"],` +
	`"platforms":[{"os":"linux","architecture":"amd64"},{"os":"linux","architecture":"arm64","variant":"v8"}],` +
	`"matrix":[[1,2],["a",["b",["c"]]],[]],"nested":{"a":{"b":{"c":"d"}}},` +
	`"layers":1000000,"ratio":0.1,"beyondFloat64":9007199254740993,` +
	`"verify":true,"insecure":false,"mirror":null,"empty":{}}`

func ts(hour, minute, second int) metav1.Time {
	return metav1.Date(2024, time.March, 14, hour, minute, second, 0, time.UTC)
}

func tsPtr(hour, minute, second int) *metav1.Time {
	t := ts(hour, minute, second)
	return &t
}

func ref(name string) *corev1.LocalObjectReference {
	return &corev1.LocalObjectReference{Name: name}
}

func typeMeta(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: kind}
}

func objectMeta(name, namespace string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:              name,
		Namespace:         namespace,
		UID:               types.UID("6f1c1d9e-4a57-4c1e-9a53-" + fmt.Sprintf("%012d", len(name))),
		Generation:        3,
		CreationTimestamp: ts(9, 0, 0),
		Labels: map[string]string{
			"app.kubernetes.io/part-of": "arc-tests",
			"tier":                      "unit",
		},
		Annotations: map[string]string{
			"arc.opendefense.cloud/note": "round trip",
		},
		Finalizers: []string{"arc.opendefense.cloud/cleanup"},
	}
}

func conditions(generation int64) []metav1.Condition {
	return []metav1.Condition{
		{
			Type:               v1alpha1.ConditionReady,
			Status:             metav1.ConditionTrue,
			ObservedGeneration: generation,
			LastTransitionTime: ts(9, 30, 15),
			Reason:             "Succeeded",
			Message:            "all work done",
		},
		{
			Type:               "Degraded",
			Status:             metav1.ConditionFalse,
			ObservedGeneration: generation,
			LastTransitionTime: ts(9, 31, 59),
			Reason:             "AsExpected",
			Message:            "nothing degraded",
		},
	}
}

func fullEndpoint() *v1alpha1.Endpoint {
	return &v1alpha1.Endpoint{
		TypeMeta:   typeMeta("Endpoint"),
		ObjectMeta: objectMeta("docker-hub", testNamespace),
		Spec: v1alpha1.EndpointSpec{
			Type:      "oci",
			RemoteURL: "registry-1.docker.io",
			SecretRef: ref("docker-hub-credentials"),
			Usage:     v1alpha1.EndpointUsagePullOnly,

			MaxConcurrentWorkflows: ptr.To[int32](4),
		},
		Status: v1alpha1.EndpointStatus{
			Conditions:         conditions(3),
			ObservedGeneration: 3,
		},
	}
}

func fullArtifactTypeSpec(clusterScope bool) v1alpha1.ArtifactTypeSpec {
	return v1alpha1.ArtifactTypeSpec{
		Rules: v1alpha1.ArtifactTypeRules{
			SrcTypes: []string{"oci", "docker"},
			DstTypes: []string{"oci"},
		},
		Parameters: []v1alpha1.Parameter{
			{Name: "retries", Value: "3"},
			{Name: "insecure_skip-verify", Value: "false"},
		},
		WorkflowTemplateRef: v1alpha1.WorkflowTemplateRef{
			Name:         "oci-copy",
			ClusterScope: clusterScope,
		},
		SpecSchema:       &runtime.RawExtension{Raw: []byte(`{"type":"object","required":["image"],"properties":{"image":{"type":"string","pattern":"^[a-z0-9./:-]+$"}}}`)},
		SecretDelivery:   v1alpha1.SecretDeliveryWorkflowVolumes,
		TTLAfterFinished: &metav1.Duration{Duration: time.Hour},
		TTLAfterFailed:   &metav1.Duration{Duration: 72 * time.Hour},
	}
}

func fullArtifactType() *v1alpha1.ArtifactType {
	return &v1alpha1.ArtifactType{
		TypeMeta:   typeMeta("ArtifactType"),
		ObjectMeta: objectMeta("oci", testNamespace),
		// clusterScope true is refused by the CRD's rule for a namespaced
		// type, but the round trips check serialization and must cover it.
		Spec: fullArtifactTypeSpec(true),
		Status: v1alpha1.ArtifactTypeStatus{
			Conditions:         conditions(3),
			ObservedGeneration: 3,
		},
	}
}

func fullClusterArtifactType() *v1alpha1.ClusterArtifactType {
	return &v1alpha1.ClusterArtifactType{
		TypeMeta:   typeMeta("ClusterArtifactType"),
		ObjectMeta: objectMeta("helm", ""),
		Spec: v1alpha1.ClusterArtifactTypeSpec{
			ArtifactTypeSpec: fullArtifactTypeSpec(true),
			NamespaceSelector: &metav1.LabelSelector{
				MatchLabels:      map[string]string{"arc.opendefense.cloud/helm": "offered"},
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"prod", "staging"}}},
			},
		},
		Status: v1alpha1.ArtifactTypeStatus{
			Conditions:         conditions(3),
			ObservedGeneration: 3,
		},
	}
}

func fullOrder() *v1alpha1.Order {
	return &v1alpha1.Order{
		TypeMeta:   typeMeta("Order"),
		ObjectMeta: objectMeta("mirror-alpine", testNamespace),
		Spec: v1alpha1.OrderSpec{
			Defaults: &v1alpha1.OrderDefaults{
				SrcRef: ref("docker-hub"),
				DstRef: ref("internal-registry"),
				Cron: &v1alpha1.Cron{
					Schedules:               []string{"0 3 * * *"},
					Timezone:                "UTC",
					ConcurrencyPolicy:       v1alpha1.ConcurrencyAllow,
					StartingDeadlineSeconds: ptr.To[int64](120),
				},
			},
			Artifacts: []v1alpha1.OrderArtifact{
				{ // 0: done by ArtifactWorkflow 4f2a9c.
					Type:   "oci",
					SrcRef: ref("quay"),
					DstRef: ref("mirror"),
					Spec:   &runtime.RawExtension{Raw: []byte(artifactSpecJSON)},
				},
				{ // 1: falls back to spec.defaults.
					Type: "helm",
					Spec: &runtime.RawExtension{Raw: []byte(`{"chart":"podinfo","version":"6.5.4"}`)},
				},
				{ // 2: identical to 0, shares its ArtifactWorkflow.
					Type:   "oci",
					SrcRef: ref("quay"),
					DstRef: ref("mirror"),
					Spec:   &runtime.RawExtension{Raw: []byte(artifactSpecJSON)},
				},
				{ // 3: names an Endpoint that does not exist.
					Type:   "oci",
					SrcRef: ref("missing"),
					Spec:   &runtime.RawExtension{Raw: []byte(`{"image":"library/busybox:1.36"}`)},
				},
				{ // 4: still running, on a schedule of its own.
					Type: "oci",
					Spec: &runtime.RawExtension{Raw: []byte(`{"image":"library/nginx:1.25","tags":[]}`)},
					Cron: &v1alpha1.Cron{
						Schedules:               []string{"0 */6 * * *", "30 1 * * 0"},
						Timezone:                "Europe/Berlin",
						ConcurrencyPolicy:       v1alpha1.ConcurrencyForbid,
						StartingDeadlineSeconds: ptr.To[int64](300),
					},
				},
			},
			Suspend:                 true,
			Parallelism:             ptr.To[int32](2),
			TTLSecondsAfterFinished: ptr.To[int32](3600),
		},
		Status: v1alpha1.OrderStatus{
			ObservedGeneration: 3,
			Phase:              v1alpha1.OrderPhaseFailed,
			Total:              5,
			Scheduled:          5,
			Pending:            1,
			Running:            1,
			Succeeded:          2,
			Failed:             1,
			ArtifactWorkflows: map[string]v1alpha1.OrderArtifactWorkflowStatus{
				"4f2a9c": {
					Name:             "mirror-alpine-4f2a9c",
					ArtifactIndex:    0,
					DuplicateIndices: []int32{2},
					Phase:            v1alpha1.WorkflowPhaseSucceeded,
					Message:          "workflow succeeded",
				},
				"9b81de": {
					Name:          "mirror-alpine-9b81de",
					ArtifactIndex: 1,
					Phase:         v1alpha1.WorkflowPhaseFailed,
					Message:       "copy failed: unauthorized",
				},
				"c3d5e7": {
					Name:          "mirror-alpine-c3d5e7",
					ArtifactIndex: 4,
					Phase:         v1alpha1.WorkflowPhaseRunning,
					Message:       "step copy is running",
				},
			},
			UnresolvedArtifacts: []v1alpha1.UnresolvedArtifact{
				{ArtifactIndex: 3, Reason: "EndpointNotFound", Message: `Endpoint "missing" does not exist`},
			},
			Conditions:        conditions(3),
			CompletionTime:    tsPtr(9, 30, 0),
			LastForceAt:       tsPtr(8, 0, 0),
			LastRerunFailedAt: tsPtr(8, 30, 0),
		},
	}
}

func fullArtifactWorkflow() *v1alpha1.ArtifactWorkflow {
	controller := true
	return &v1alpha1.ArtifactWorkflow{
		TypeMeta: typeMeta("ArtifactWorkflow"),
		ObjectMeta: func() metav1.ObjectMeta {
			m := objectMeta("mirror-alpine-4f2a9c", testNamespace)
			m.OwnerReferences = []metav1.OwnerReference{{
				APIVersion:         v1alpha1.SchemeGroupVersion.String(),
				Kind:               "Order",
				Name:               "mirror-alpine",
				UID:                "0d7f6a2e-5b1c-4f0e-8a3d-2c9e1b7a6f54",
				Controller:         &controller,
				BlockOwnerDeletion: &controller,
			}}
			m.Labels[v1alpha1.LabelManagedBy] = v1alpha1.ManagedByValue
			m.Labels[v1alpha1.LabelArtifactHash] = "4f2a9c"
			return m
		}(),
		Spec: v1alpha1.ArtifactWorkflowSpec{
			Type: "oci",
			Parameters: []v1alpha1.Parameter{
				{Name: "dstRemoteURL", Value: "registry.internal"},
				{Name: "specImage", Value: "library/alpine:3.18"},
				{Name: "specTags0", Value: ""},
			},
			SrcSecretRef:   ref("docker-hub-credentials"),
			DstSecretRef:   ref("internal-credentials"),
			SrcEndpoint:    "docker-hub",
			DstEndpoint:    "internal-registry",
			Run:            2,
			RunRequestedAt: tsPtr(8, 0, 0),
			QueuedAt:       &metav1.MicroTime{Time: time.Date(2026, 1, 2, 8, 0, 0, 123456000, time.UTC)},
			Cron: &v1alpha1.Cron{
				Schedules:               []string{"0 */6 * * *"},
				Timezone:                "UTC",
				ConcurrencyPolicy:       v1alpha1.ConcurrencyReplace,
				StartingDeadlineSeconds: ptr.To[int64](60),
			},
		},
		Status: v1alpha1.ArtifactWorkflowStatus{
			ObservedGeneration: 3,
			Run:                2,
			WorkflowName:       "mirror-alpine-4f2a9c-2",
			Phase:              v1alpha1.WorkflowPhaseSucceeded,
			Message:            "workflow succeeded",
			StartedAt:          tsPtr(9, 10, 0),
			FinishedAt:         tsPtr(9, 12, 34),
			Results:            []v1alpha1.WorkflowResult{{Name: "digest", Value: "sha256:0123"}},
			Schedule: &v1alpha1.ScheduleStatus{
				CronWorkflowName:  "mirror-alpine-4f2a9c",
				LastScheduledTime: tsPtr(9, 10, 0),
				Active:            1,
				Succeeded:         7,
				Failed:            2,
				Suspended:         true,
			},
			Conditions: conditions(3),
		},
	}
}

// ---------------------------------------------------------------------------
// The table: one row per kind, typed with generics so that the fake clientset
// is exercised through each kind's own generated interface.
// ---------------------------------------------------------------------------

type apiObject interface {
	runtime.Object
	metav1.Object
}

// typedClient is the part of a generated typed client these tests use.
type typedClient[T apiObject, L runtime.Object] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	UpdateStatus(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

type kindCase[T apiObject, L runtime.Object] struct {
	kind       string
	namespaced bool
	full       func() T
	newList    func() L
	client     func(cs *fake.Clientset, namespace string) typedClient[T, L]
}

// kindTest is what the table rows offer the tests, independent of their type.
type kindTest interface {
	name() string
	fullObject() runtime.Object
	emptyList() runtime.Object
	testJSON(t *testing.T)
	testCodec(t *testing.T)
	testClient(t *testing.T)
}

func (k kindCase[T, L]) name() string               { return k.kind }
func (k kindCase[T, L]) fullObject() runtime.Object { return k.full() }
func (k kindCase[T, L]) emptyList() runtime.Object  { return k.newList() }

func kindTests() []kindTest {
	return []kindTest{
		kindCase[*v1alpha1.Endpoint, *v1alpha1.EndpointList]{
			kind: "Endpoint", namespaced: true, full: fullEndpoint,
			newList: func() *v1alpha1.EndpointList { return &v1alpha1.EndpointList{} },
			client: func(cs *fake.Clientset, ns string) typedClient[*v1alpha1.Endpoint, *v1alpha1.EndpointList] {
				return cs.ArcV1alpha1().Endpoints(ns)
			},
		},
		kindCase[*v1alpha1.ArtifactType, *v1alpha1.ArtifactTypeList]{
			kind: "ArtifactType", namespaced: true, full: fullArtifactType,
			newList: func() *v1alpha1.ArtifactTypeList { return &v1alpha1.ArtifactTypeList{} },
			client: func(cs *fake.Clientset, ns string) typedClient[*v1alpha1.ArtifactType, *v1alpha1.ArtifactTypeList] {
				return cs.ArcV1alpha1().ArtifactTypes(ns)
			},
		},
		kindCase[*v1alpha1.ClusterArtifactType, *v1alpha1.ClusterArtifactTypeList]{
			kind: "ClusterArtifactType", namespaced: false, full: fullClusterArtifactType,
			newList: func() *v1alpha1.ClusterArtifactTypeList { return &v1alpha1.ClusterArtifactTypeList{} },
			client: func(cs *fake.Clientset, _ string) typedClient[*v1alpha1.ClusterArtifactType, *v1alpha1.ClusterArtifactTypeList] {
				return cs.ArcV1alpha1().ClusterArtifactTypes()
			},
		},
		kindCase[*v1alpha1.Order, *v1alpha1.OrderList]{
			kind: "Order", namespaced: true, full: fullOrder,
			newList: func() *v1alpha1.OrderList { return &v1alpha1.OrderList{} },
			client: func(cs *fake.Clientset, ns string) typedClient[*v1alpha1.Order, *v1alpha1.OrderList] {
				return cs.ArcV1alpha1().Orders(ns)
			},
		},
		kindCase[*v1alpha1.ArtifactWorkflow, *v1alpha1.ArtifactWorkflowList]{
			kind: "ArtifactWorkflow", namespaced: true, full: fullArtifactWorkflow,
			newList: func() *v1alpha1.ArtifactWorkflowList { return &v1alpha1.ArtifactWorkflowList{} },
			client: func(cs *fake.Clientset, ns string) typedClient[*v1alpha1.ArtifactWorkflow, *v1alpha1.ArtifactWorkflowList] {
				return cs.ArcV1alpha1().ArtifactWorkflows(ns)
			},
		},
	}
}

// assertSemanticEqual compares with equality.Semantic (metav1.Time compares
// by instant, not by location) and shows a diff when the objects differ.
func assertSemanticEqual(t *testing.T, want, got any, msgAndArgs ...any) bool {
	t.Helper()
	if equality.Semantic.DeepEqual(want, got) {
		return true
	}
	return assert.Equal(t, want, got, msgAndArgs...)
}

// field returns the named field of the struct a pointer points to.
func field(obj any, name string) reflect.Value {
	return reflect.ValueOf(obj).Elem().FieldByName(name)
}

func newEmpty[T any](obj T) T {
	return reflect.New(reflect.TypeOf(obj).Elem()).Interface().(T)
}

func (k kindCase[T, L]) testJSON(t *testing.T) {
	want := k.full()
	data, err := json.Marshal(want)
	require.NoError(t, err)

	got := newEmpty(want)
	require.NoError(t, json.Unmarshal(data, got))
	assertSemanticEqual(t, want, got)

	// Encoding is stable: the decoded object encodes to the same bytes.
	again, err := json.Marshal(got)
	require.NoError(t, err)
	assert.JSONEq(t, string(data), string(again))
	assert.Equal(t, string(data), string(again), "re-encoding must give identical bytes")

	// Spec and status are not dropped by omitempty or a wrong tag.
	var generic map[string]any
	require.NoError(t, json.Unmarshal(data, &generic))
	for _, key := range []string{"apiVersion", "kind", "metadata", "spec", "status"} {
		assert.Contains(t, generic, key)
	}
}

// testCodec round-trips through the codec of the generated clientset's
// scheme, which is what a real client uses on the wire.
func (k kindCase[T, L]) testCodec(t *testing.T) {
	want := k.full()
	codec := clientscheme.Codecs.LegacyCodec(v1alpha1.SchemeGroupVersion)
	data, err := runtime.Encode(codec, want)
	require.NoError(t, err)

	decoded, err := runtime.Decode(clientscheme.Codecs.UniversalDecoder(v1alpha1.SchemeGroupVersion), data)
	require.NoError(t, err)
	got, ok := decoded.(T)
	require.Truef(t, ok, "decoded a %T, want %T", decoded, want)
	// The universal decoder clears TypeMeta of typed objects.
	got.GetObjectKind().SetGroupVersionKind(want.GetObjectKind().GroupVersionKind())
	assertSemanticEqual(t, want, got)

	gvks, _, err := clientscheme.Scheme.ObjectKinds(want)
	require.NoError(t, err)
	require.Len(t, gvks, 1)
	assert.Equal(t, v1alpha1.SchemeGroupVersion.WithKind(k.kind), gvks[0])
}

func (k kindCase[T, L]) testClient(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewSimpleClientset() //nolint:staticcheck // NewClientset needs apply configurations, which are not generated.
	ns := ""
	if k.namespaced {
		ns = testNamespace
	}
	c := k.client(cs, ns)
	full := k.full()
	require.Equal(t, ns, full.GetNamespace(), "fixture namespace must fit the scope")

	// Create without status, as a client would.
	input := full.DeepCopyObject().(T)
	statusField := field(input, "Status")
	statusField.Set(reflect.Zero(statusField.Type()))
	created, err := c.Create(ctx, input, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, input, created)
	assert.Equal(t, field(full, "Spec").Interface(), field(created, "Spec").Interface())

	_, err = c.Create(ctx, input, metav1.CreateOptions{})
	assert.Truef(t, apierrors.IsAlreadyExists(err), "second create: got %v, want AlreadyExists", err)

	got, err := c.Get(ctx, full.GetName(), metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, created, got)

	if k.namespaced {
		_, err = k.client(cs, "elsewhere").Get(ctx, full.GetName(), metav1.GetOptions{})
		assert.Truef(t, apierrors.IsNotFound(err), "get in other namespace: got %v, want NotFound", err)
	}

	// UpdateStatus stores the status.
	withStatus := got.DeepCopyObject().(T)
	field(withStatus, "Status").Set(field(full, "Status"))
	updated, err := c.UpdateStatus(ctx, withStatus, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, withStatus, updated)

	got, err = c.Get(ctx, full.GetName(), metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, full, got)
	assert.Equal(t, field(full, "Status").Interface(), field(got, "Status").Interface())

	// The returned object is a copy: changing it does not change the store.
	field(got, "Status").Set(reflect.Zero(field(got, "Status").Type()))
	again, err := c.Get(ctx, full.GetName(), metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, full, again)

	// List returns it.
	list, err := c.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	items, err := meta.ExtractList(list)
	require.NoError(t, err)
	require.Len(t, items, 1)
	assert.Equal(t, full, items[0])

	// Delete removes it.
	require.NoError(t, c.Delete(ctx, full.GetName(), metav1.DeleteOptions{}))
	_, err = c.Get(ctx, full.GetName(), metav1.GetOptions{})
	assert.Truef(t, apierrors.IsNotFound(err), "get after delete: got %v, want NotFound", err)
	list, err = c.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Zero(t, meta.LenList(list))
	err = c.Delete(ctx, full.GetName(), metav1.DeleteOptions{})
	assert.Truef(t, apierrors.IsNotFound(err), "second delete: got %v, want NotFound", err)
}

func TestJSONRoundTrip(t *testing.T) {
	for _, k := range kindTests() {
		t.Run(k.name(), k.testJSON)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, k := range kindTests() {
		t.Run(k.name(), k.testCodec)
	}
}

func TestFakeClientsetRoundTrip(t *testing.T) {
	for _, k := range kindTests() {
		t.Run(k.name(), k.testClient)
	}
}

// ---------------------------------------------------------------------------
// Free-form artifact spec (runtime.RawExtension).
// ---------------------------------------------------------------------------

// decodeJSON decodes with UseNumber so numbers keep their literal text:
// 1000000 stays "1000000" rather than becoming the float 1e+06.
func decodeJSON(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v), "decoding %s", data)
	require.False(t, dec.More(), "trailing data after JSON value")
	return v
}

// exactNumbers replaces every json.Number by its exact rational value, for
// comparing values whose numbers may be spelled differently (1.5e-7 and
// 1.5e-07) but must not lose precision.
func exactNumbers(t *testing.T, v any) any {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = exactNumbers(t, e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = exactNumbers(t, e)
		}
		return out
	case json.Number:
		r, ok := new(big.Rat).SetString(v.String())
		require.Truef(t, ok, "number %q", v)
		return "number:" + r.RatString()
	default:
		return v
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return data
}

func TestArtifactSpecSurvives(t *testing.T) {
	specFile := readTestdata(t, "artifact-spec.json")
	want := decodeJSON(t, specFile)

	// The value exercises what the brief of the free-form spec promises.
	wantMap := want.(map[string]any)
	require.Equal(t, json.Number("1000000"), wantMap["layers"])
	require.Equal(t, json.Number("0.1"), wantMap["ratio"])
	require.Equal(t, json.Number("9007199254740993"), wantMap["beyondFloat64"])
	require.Nil(t, wantMap["mirror"])
	require.Contains(t, wantMap, "mirror")

	order := func() *v1alpha1.Order {
		o := fullOrder()
		o.Spec.Artifacts[0].Spec = &runtime.RawExtension{Raw: bytes.Clone(specFile)}
		return o
	}

	t.Run("json", func(t *testing.T) {
		data, err := json.Marshal(order())
		require.NoError(t, err)
		var got v1alpha1.Order
		require.NoError(t, json.Unmarshal(data, &got))
		require.NotNil(t, got.Spec.Artifacts[0].Spec)
		assert.Equal(t, want, decodeJSON(t, got.Spec.Artifacts[0].Spec.Raw))
		// The marshalled Order itself carries the numbers verbatim.
		assert.Contains(t, string(data), `"layers":1000000,`)
		assert.Contains(t, string(data), `"ratio":0.1,`)
		assert.Contains(t, string(data), `"beyondFloat64":9007199254740993,`)
		assert.Contains(t, string(data), `"mirror":null`)
	})

	t.Run("json-compact-fixture", func(t *testing.T) {
		data, err := json.Marshal(fullOrder())
		require.NoError(t, err)
		var got v1alpha1.Order
		require.NoError(t, json.Unmarshal(data, &got))
		for i, a := range fullOrder().Spec.Artifacts {
			assert.Equal(t, decodeJSON(t, a.Spec.Raw), decodeJSON(t, got.Spec.Artifacts[i].Spec.Raw), "artifact %d", i)
		}
		assert.Equal(t, artifactSpecJSON, string(got.Spec.Artifacts[0].Spec.Raw), "compact raw JSON is kept byte for byte")
	})

	t.Run("codec", func(t *testing.T) {
		codec := clientscheme.Codecs.LegacyCodec(v1alpha1.SchemeGroupVersion)
		data, err := runtime.Encode(codec, order())
		require.NoError(t, err)
		obj, err := runtime.Decode(clientscheme.Codecs.UniversalDecoder(v1alpha1.SchemeGroupVersion), data)
		require.NoError(t, err)
		got := obj.(*v1alpha1.Order)
		assert.Equal(t, want, decodeJSON(t, got.Spec.Artifacts[0].Spec.Raw))
	})

	t.Run("fake-clientset", func(t *testing.T) {
		ctx := context.Background()
		c := fake.NewSimpleClientset().ArcV1alpha1().Orders(testNamespace) //nolint:staticcheck // see testClient
		_, err := c.Create(ctx, order(), metav1.CreateOptions{})
		require.NoError(t, err)
		got, err := c.Get(ctx, "mirror-alpine", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, want, decodeJSON(t, got.Spec.Artifacts[0].Spec.Raw))
		assert.Equal(t, specFile, got.Spec.Artifacts[0].Spec.Raw, "the fake store keeps the raw bytes")
	})

	t.Run("yaml-manifest", func(t *testing.T) {
		var got v1alpha1.Order
		require.NoError(t, yaml.UnmarshalStrict(readTestdata(t, "order-artifact-spec.yaml"), &got))
		require.Len(t, got.Spec.Artifacts, 1)
		require.NotNil(t, got.Spec.Artifacts[0].Spec)
		// YAML numbers are re-spelled on the way to JSON; the values must stay exact.
		assert.Equal(t, exactNumbers(t, want), exactNumbers(t, decodeJSON(t, got.Spec.Artifacts[0].Spec.Raw)))
		gotMap := decodeJSON(t, got.Spec.Artifacts[0].Spec.Raw).(map[string]any)
		assert.Equal(t, json.Number("1000000"), gotMap["layers"], "YAML integers stay integers")
	})

	t.Run("absent-and-null", func(t *testing.T) {
		var got v1alpha1.OrderArtifact
		require.NoError(t, json.Unmarshal([]byte(`{"type":"oci"}`), &got))
		assert.Nil(t, got.Spec)
		data, err := json.Marshal(got)
		require.NoError(t, err)
		assert.JSONEq(t, `{"type":"oci"}`, string(data), "an absent spec stays absent")
	})
}

// ---------------------------------------------------------------------------
// Fixture completeness: every field of spec and status is non-zero somewhere.
// ---------------------------------------------------------------------------

var (
	timeType   = reflect.TypeFor[time.Time]()
	metaTime   = reflect.TypeFor[metav1.Time]()
	microTime  = reflect.TypeFor[metav1.MicroTime]()
	durationT  = reflect.TypeFor[metav1.Duration]()
	rawExtType = reflect.TypeFor[runtime.RawExtension]()
)

func jsonName(f reflect.StructField) (name string, inline bool) {
	tag := f.Tag.Get("json")
	name, opts, _ := strings.Cut(tag, ",")
	if name == "-" {
		return "", false
	}
	if strings.Contains(","+opts+",", ",inline,") || (f.Anonymous && name == "") {
		return "", true
	}
	if name == "" {
		name = f.Name
	}
	return name, false
}

// typePaths lists every field path a type can hold, with [*] for list items
// and {*} for map values.
func typePaths(t reflect.Type, path string, out map[string]bool) {
	switch {
	case t == timeType || t == metaTime || t == microTime || t == durationT || t == rawExtType:
		out[path] = true
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		typePaths(t.Elem(), path, out)
	case reflect.Slice:
		out[path] = true
		typePaths(t.Elem(), path+"[*]", out)
	case reflect.Map:
		out[path] = true
		typePaths(t.Elem(), path+"{*}", out)
	case reflect.Struct:
		out[path] = true
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, inline := jsonName(f)
			switch {
			case inline:
				typePaths(f.Type, path, out)
			case name != "":
				typePaths(f.Type, path+"."+name, out)
			}
		}
	default:
		out[path] = true
	}
}

// valuePaths records the paths at which v holds a non-zero value.
func valuePaths(v reflect.Value, path string, out map[string]bool) {
	if !v.IsValid() || v.IsZero() {
		return
	}
	t := v.Type()
	switch {
	case t == timeType || t == metaTime || t == microTime || t == durationT:
		out[path] = true
		return
	case t == rawExtType:
		if len(v.FieldByName("Raw").Bytes()) > 0 {
			out[path] = true
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		valuePaths(v.Elem(), path, out)
	case reflect.Slice:
		out[path] = v.Len() > 0
		for i := range v.Len() {
			valuePaths(v.Index(i), path+"[*]", out)
		}
	case reflect.Map:
		out[path] = v.Len() > 0
		iter := v.MapRange()
		for iter.Next() {
			valuePaths(iter.Value(), path+"{*}", out)
		}
	case reflect.Struct:
		out[path] = true
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, inline := jsonName(f)
			switch {
			case inline:
				valuePaths(v.Field(i), path, out)
			case name != "":
				valuePaths(v.Field(i), path+"."+name, out)
			}
		}
	default:
		out[path] = true
	}
}

func TestFixturesAreFullyPopulated(t *testing.T) {
	for _, k := range kindTests() {
		t.Run(k.name(), func(t *testing.T) {
			obj := k.fullObject()
			for _, part := range []string{"Spec", "Status"} {
				v := field(obj, part)
				all := map[string]bool{}
				typePaths(v.Type(), strings.ToLower(part), all)
				set := map[string]bool{}
				valuePaths(v, strings.ToLower(part), set)
				var missing []string
				for p := range all {
					if !set[p] {
						missing = append(missing, p)
					}
				}
				sort.Strings(missing)
				assert.Emptyf(t, missing, "fixture of %s leaves these fields unset; set them so the round trips cover them", k.name())
			}
		})
	}
}

// ---------------------------------------------------------------------------
// DeepCopy independence.
// ---------------------------------------------------------------------------

// mutateAll changes every value reachable from v in place: strings, numbers,
// bools, bytes (the RawExtension's JSON included), times, slice elements and
// map entries (one extra entry is added to every map). If a copy shares any
// memory with its original, mutating the copy shows up in the original.
func mutateAll(v reflect.Value) {
	t := v.Type()
	if t == timeType {
		v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(time.Hour)))
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			mutateAll(v.Elem())
		}
	case reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				mutateAll(v.Field(i))
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			mutateAll(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		for _, key := range v.MapKeys() {
			e := reflect.New(t.Elem()).Elem()
			e.Set(v.MapIndex(key))
			mutateAll(e)
			v.SetMapIndex(key, e)
		}
		if t.Key().Kind() == reflect.String {
			v.SetMapIndex(reflect.ValueOf("added-by-mutation").Convert(t.Key()), reflect.Zero(t.Elem()))
		}
	case reflect.String:
		v.SetString(v.String() + "~")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() ^ 0x5a)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(v.Float() + 1)
	case reflect.Bool:
		v.SetBool(!v.Bool())
	}
}

func TestDeepCopyIsIndependent(t *testing.T) {
	for _, k := range kindTests() {
		t.Run(k.name(), func(t *testing.T) {
			original := k.fullObject()
			cp := original.DeepCopyObject()
			require.Equal(t, original, cp, "a fresh copy equals the original")
			require.NotSame(t, original, cp)

			mutateAll(reflect.ValueOf(cp))
			assert.NotEqual(t, k.fullObject(), cp, "the mutation must change the copy")
			assert.Equal(t, k.fullObject(), original, "mutating the copy changed the original")
		})

		t.Run(k.name()+"/targeted", func(t *testing.T) {
			// The same, spelled out for the parts that most often alias:
			// nested slices, maps and the RawExtension bytes.
			original := k.fullObject()
			cp := original.DeepCopyObject()
			status := field(cp, "Status")
			if conds := status.FieldByName("Conditions"); conds.Len() > 0 {
				conds.Index(0).FieldByName("Message").SetString("changed")
				conds.Index(0).FieldByName("LastTransitionTime").Set(reflect.ValueOf(ts(23, 59, 59)))
			}
			cp.(metav1.Object).GetLabels()["tier"] = "changed"
			cp.(metav1.Object).GetAnnotations()["new"] = "added"
			cp.(metav1.Object).GetFinalizers()[0] = "changed"
			switch o := cp.(type) {
			case *v1alpha1.Order:
				o.Spec.Artifacts[0].Spec.Raw[1] = 'X'
				o.Spec.Artifacts[0].SrcRef.Name = "changed"
				o.Spec.Defaults.DstRef.Name = "changed"
				aw := o.Status.ArtifactWorkflows["4f2a9c"]
				aw.DuplicateIndices[0] = 99
				o.Status.ArtifactWorkflows["extra"] = aw
				o.Status.UnresolvedArtifacts[0].Reason = "changed"
			case *v1alpha1.ArtifactWorkflow:
				o.Spec.Parameters[0].Value = "changed"
				o.Spec.SrcSecretRef.Name = "changed"
				o.Status.StartedAt.Time = o.Status.StartedAt.Add(time.Hour)
				*o.OwnerReferences[0].Controller = false
			case *v1alpha1.ArtifactType:
				o.Spec.Rules.SrcTypes[0] = "changed"
				o.Spec.Parameters[0].Name = "changed"
			case *v1alpha1.ClusterArtifactType:
				o.Spec.Rules.DstTypes[0] = "changed"
				o.Spec.Parameters[1].Value = "changed"
			case *v1alpha1.Endpoint:
				o.Spec.SecretRef.Name = "changed"
			default:
				t.Fatalf("no targeted mutation for %T", cp)
			}
			assert.Equal(t, k.fullObject(), original, "mutating the copy changed the original")
		})

		t.Run(k.name()+"List", func(t *testing.T) {
			list := k.emptyList()
			require.NoError(t, meta.SetList(list, []runtime.Object{k.fullObject(), k.fullObject()}))
			list.(metav1.ListInterface).SetResourceVersion("17")
			pristine := list.DeepCopyObject()
			cp := list.DeepCopyObject()
			mutateAll(reflect.ValueOf(cp))
			assert.NotEqual(t, pristine, cp, "the mutation must change the copy")
			assert.Equal(t, pristine, list, "mutating the copied list changed the original")
		})
	}
}

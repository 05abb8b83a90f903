package order

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
)

// TestMemoizedSyncActsOnEveryChange changes, after syncs that filled the
// memo, one thing an Order's ArtifactWorkflow depends on, without a new
// generation of the Order, and checks the next sync acts on it. A sync
// with the memo emptied must then find nothing left to do: the memoized
// sync did what a fresh one does.
func TestMemoizedSyncActsOnEveryChange(t *testing.T) {
	name, _ := expectedName("o", alpineArtifact(t))
	edited := alpineArtifact(t)
	edited.Spec = rawSpec(t, map[string]any{"image": "library/alpine:3.19", "override": "myteam/alpine:3.19"})
	editedName, _ := expectedName("o", edited)
	mirrored := alpineArtifact(t)
	mirrored.SrcRef = ref("mirror")
	mirroredName, _ := expectedName("o", mirrored)

	tests := []struct {
		name   string
		change func(t *testing.T, f *fixture)
		// want are writes the sync after the change must make.
		want []string
	}{
		{
			name: "source Endpoint moves",
			change: func(t *testing.T, f *fixture) {
				updateEndpoint(t, f, "dockerhub", func(ep *arcv1.Endpoint) { ep.Spec.RemoteURL = "mirror.gcr.io" })
			},
			want: []string{"update artifactworkflows " + ns + "/" + name},
		},
		{
			name: "destination Endpoint drops its Secret",
			change: func(t *testing.T, f *fixture) {
				updateEndpoint(t, f, "internal", func(ep *arcv1.Endpoint) { ep.Spec.SecretRef = nil })
			},
			want: []string{"update artifactworkflows " + ns + "/" + name},
		},
		{
			name: "artifact spec edited in place",
			change: func(t *testing.T, f *fixture) {
				updateOrder(t, f, func(o *arcv1.Order) { o.Spec.Artifacts[0].Spec = edited.Spec })
			},
			want: []string{"create artifactworkflows " + ns + "/" + editedName, "delete artifactworkflows " + ns + "/" + name},
		},
		{
			name: "artifact names another source Endpoint",
			change: func(t *testing.T, f *fixture) {
				updateOrder(t, f, func(o *arcv1.Order) { o.Spec.Artifacts[0].SrcRef = ref("mirror") })
			},
			want: []string{"create artifactworkflows " + ns + "/" + mirroredName, "delete artifactworkflows " + ns + "/" + name},
		},
		{
			name: "Order's default source Endpoint changes",
			change: func(t *testing.T, f *fixture) {
				updateOrder(t, f, func(o *arcv1.Order) { o.Spec.Defaults.SrcRef = ref("mirror") })
			},
			want: []string{"create artifactworkflows " + ns + "/" + mirroredName, "delete artifactworkflows " + ns + "/" + name},
		},
		{
			name: "someone edits the ArtifactWorkflow's parameters",
			change: func(t *testing.T, f *fixture) {
				aw, err := f.client.ArcV1alpha1().ArtifactWorkflows(ns).Get(t.Context(), name, metav1.GetOptions{})
				require.NoError(t, err)
				aw.Spec.Parameters[0].Value = "evil.example"
				_, err = f.client.ArcV1alpha1().ArtifactWorkflows(ns).Update(t.Context(), aw, metav1.UpdateOptions{})
				require.NoError(t, err)
				f.refreshCaches()
			},
			want: []string{"update artifactworkflows " + ns + "/" + name},
		},
		{
			name: "type withdrawn",
			change: func(t *testing.T, f *fixture) {
				require.NoError(t, f.client.ArcV1alpha1().ClusterArtifactTypes().Delete(t.Context(), "oci", metav1.DeleteOptions{}))
				f.refreshCaches()
			},
			want: []string{"delete artifactworkflows " + ns + "/" + name},
		},
		{
			name: "type's schema now refuses the spec",
			change: func(t *testing.T, f *fixture) {
				cat, err := f.client.ArcV1alpha1().ClusterArtifactTypes().Get(t.Context(), "oci", metav1.GetOptions{})
				require.NoError(t, err)
				cat.Spec.SpecSchema = &runtime.RawExtension{Raw: []byte(`{"type": "object", "required": ["digest"]}`)}
				_, err = f.client.ArcV1alpha1().ClusterArtifactTypes().Update(t.Context(), cat, metav1.UpdateOptions{})
				require.NoError(t, err)
				f.refreshCaches()
			},
			want: []string{"delete artifactworkflows " + ns + "/" + name},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mirror := endpoint("mirror", "oci", "mirror.gcr.io", arcv1.EndpointUsagePullOnly, "")
			f := newFixture(t, newOrder("o", alpineArtifact(t)), dockerhub(), internal(), mirror, secret("dst-reg-secret"))
			_, _, err := f.sync("o")
			require.NoError(t, err)
			// The second sync finds everything in place and fills the memo
			// from what the caches hold.
			_, _, err = f.sync("o")
			require.NoError(t, err)
			require.Equal(t, 1, f.ctrl.memoSize())

			tt.change(t, f)
			writes, _, err := f.sync("o")
			require.NoError(t, err)
			assert.Subset(t, writes, tt.want)

			f.ctrl.forgetMemo(cache.ObjectName{Namespace: ns, Name: "o"}, "")
			writes, _, err = f.sync("o")
			require.NoError(t, err)
			assert.Empty(t, writes, "a sync without the memo finds nothing left to do")
		})
	}
}

func updateEndpoint(t *testing.T, f *fixture, name string, edit func(*arcv1.Endpoint)) {
	t.Helper()
	ep, err := f.client.ArcV1alpha1().Endpoints(ns).Get(t.Context(), name, metav1.GetOptions{})
	require.NoError(t, err)
	edit(ep)
	_, err = f.client.ArcV1alpha1().Endpoints(ns).Update(t.Context(), ep, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.refreshCaches()
}

// updateOrder edits the Order and keeps its generation, which the memo must
// not rely on.
func updateOrder(t *testing.T, f *fixture, edit func(*arcv1.Order)) {
	t.Helper()
	o := f.order("o")
	edit(o)
	_, err := f.client.ArcV1alpha1().Orders(ns).Update(t.Context(), o, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.refreshCaches()
}

// TestMemoLivesAsLongAsItsOrder checks that the memos never outnumber the
// cached Orders.
func TestMemoLivesAsLongAsItsOrder(t *testing.T) {
	key := cache.ObjectName{Namespace: ns, Name: "o"}
	tests := []struct {
		name string
		// drop ends the Order's life as the controller sees it.
		drop func(t *testing.T, f *fixture, order *arcv1.Order)
		want int
	}{
		{
			name: "delete event",
			drop: func(t *testing.T, f *fixture, order *arcv1.Order) { f.ctrl.deleteOrder(order) },
		},
		{
			name: "delete event seen only as a tombstone",
			drop: func(t *testing.T, f *fixture, order *arcv1.Order) {
				f.ctrl.deleteOrder(cache.DeletedFinalStateUnknown{Key: ns + "/o", Obj: order})
			},
		},
		{
			name: "a sync finds the Order gone",
			drop: func(t *testing.T, f *fixture, _ *arcv1.Order) {
				require.NoError(t, f.client.ArcV1alpha1().Orders(ns).Delete(t.Context(), "o", metav1.DeleteOptions{}))
				f.refreshCaches()
				_, _, err := f.sync("o")
				require.NoError(t, err)
			},
		},
		{
			name: "a sync finds the Order being deleted",
			drop: func(t *testing.T, f *fixture, _ *arcv1.Order) {
				updateOrder(t, f, func(o *arcv1.Order) { o.DeletionTimestamp = &metav1.Time{Time: testNow} })
				_, _, err := f.sync("o")
				require.NoError(t, err)
			},
		},
		{
			name: "the delete event of an earlier Order of the name",
			drop: func(t *testing.T, f *fixture, order *arcv1.Order) {
				earlier := order.DeepCopy()
				earlier.UID = "uid-of-an-earlier-o"
				f.ctrl.deleteOrder(earlier)
			},
			want: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, newOrder("o", alpineArtifact(t)), dockerhub(), internal(), secret("dst-reg-secret"))
			_, _, err := f.sync("o")
			require.NoError(t, err)
			require.Equal(t, 1, f.ctrl.memoSize())
			tt.drop(t, f, f.order("o"))
			assert.Equal(t, tt.want, f.ctrl.memoSize())
			if tt.want == 0 {
				f.ctrl.memos.mu.Lock()
				defer f.ctrl.memos.mu.Unlock()
				assert.NotContains(t, f.ctrl.memos.byOrder, key)
			}
		})
	}
}

// TestMemoIsNotKeptForAnOrderNotInTheCache covers a sync that read its
// Order just before the Order was deleted and its memo forgotten: it must
// not leave a memo behind that no delete event would ever remove.
func TestMemoIsNotKeptForAnOrderNotInTheCache(t *testing.T) {
	tests := []struct {
		name string
		uid  types.UID
		want int
	}{
		{"Order in the cache", "uid-o", 1},
		{"Order gone, another of the name in the cache", "uid-of-a-deleted-o", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, newOrder("o", alpineArtifact(t)), dockerhub(), internal(), secret("dst-reg-secret"))
			read := f.order("o")
			read.UID = tt.uid
			_, err := f.ctrl.makePlan(read, nil)
			require.NoError(t, err)
			assert.Equal(t, tt.want, f.ctrl.memoSize())
		})
	}
}

// TestMemoOfARecreatedOrder checks that an Order created again under the
// name of a deleted one does not inherit its memo: its ArtifactWorkflows
// are named after its own UID.
func TestMemoOfARecreatedOrder(t *testing.T) {
	f := newFixture(t, newOrder("o", alpineArtifact(t)), dockerhub(), internal(), secret("dst-reg-secret"))
	first, err := f.ctrl.makePlan(f.order("o"), nil)
	require.NoError(t, err)

	require.NoError(t, f.client.ArcV1alpha1().Orders(ns).Delete(t.Context(), "o", metav1.DeleteOptions{}))
	again := newOrder("o", alpineArtifact(t))
	again.UID = "uid-o-again"
	_, err = f.client.ArcV1alpha1().Orders(ns).Create(t.Context(), again, metav1.CreateOptions{})
	require.NoError(t, err)
	f.refreshCaches()

	second, err := f.ctrl.makePlan(f.order("o"), nil)
	require.NoError(t, err)
	require.Len(t, first.artifactWorkflows, 1)
	require.Len(t, second.artifactWorkflows, 1)
	assert.NotEqual(t, first.artifactWorkflows[0].name, second.artifactWorkflows[0].name)
	assert.Equal(t, 1, f.ctrl.memoSize())
}

// TestMemoMatchesAFreshPlan plans Orders of changing shapes with one
// controller and compares every plan with one made without a memo.
func TestMemoMatchesAFreshPlan(t *testing.T) {
	other := alpineArtifact(t)
	other.Spec = rawSpec(t, map[string]any{"image": "library/busybox:1", "override": "myteam/busybox:1"})
	noSpec := alpineArtifact(t)
	noSpec.Spec = nil
	bad := alpineArtifact(t)
	bad.Spec = rawSpec(t, map[string]any{"a": map[string]any{"b": 1}, "aB": 2})
	steps := []struct {
		name      string
		artifacts []arcv1.OrderArtifact
	}{
		{"one", []arcv1.OrderArtifact{alpineArtifact(t)}},
		{"two", []arcv1.OrderArtifact{alpineArtifact(t), other}},
		{"swapped", []arcv1.OrderArtifact{other, alpineArtifact(t)}},
		{"duplicates", []arcv1.OrderArtifact{other, other, alpineArtifact(t)}},
		{"without a spec", []arcv1.OrderArtifact{noSpec, other}},
		{"an invalid spec", []arcv1.OrderArtifact{bad, noSpec}},
		{"fewer", []arcv1.OrderArtifact{bad}},
		{"back to one", []arcv1.OrderArtifact{alpineArtifact(t)}},
	}
	f := newFixture(t, newOrder("o", alpineArtifact(t)), dockerhub(), internal(), secret("dst-reg-secret"))
	for _, step := range steps {
		updateOrder(t, f, func(o *arcv1.Order) { o.Spec.Artifacts = step.artifacts })
		order := f.order("o")
		memoized, err := f.ctrl.makePlan(order, nil)
		require.NoError(t, err)
		f.ctrl.forgetMemo(cache.ObjectName{Namespace: ns, Name: "o"}, "")
		fresh, err := f.ctrl.makePlan(order, nil)
		require.NoError(t, err)
		assert.Equal(t, fresh, memoized, step.name)
	}
}

// TestMemoUnderConcurrentWorkers plans many Orders from several goroutines
// while their delete events arrive; run with -race.
func TestMemoUnderConcurrentWorkers(t *testing.T) {
	const orders = 8
	objs := []runtime.Object{dockerhub(), internal(), secret("dst-reg-secret")}
	for i := range orders {
		objs = append(objs, newOrder(fmt.Sprintf("o%d", i), alpineArtifact(t)))
	}
	f := newFixture(t, objs...)
	cached := make([]*arcv1.Order, orders)
	for i := range cached {
		cached[i] = f.order(fmt.Sprintf("o%d", i))
	}
	var wg sync.WaitGroup
	for _, order := range cached {
		wg.Go(func() {
			for range 50 {
				if _, err := f.ctrl.makePlan(order, nil); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			f.ctrl.deleteOrder(cached[0])
		}
	})
	wg.Wait()
	assert.LessOrEqual(t, f.ctrl.memoSize(), orders)
}

// TestSameResolvedSpecCoversTheSpec holds sameResolvedSpec to
// equality.Semantic on every field of the spec but the run fields; a field
// added to the spec fails here until the comparison knows it.
func TestSameResolvedSpecCoversTheSpec(t *testing.T) {
	now := metav1.NewTime(testNow)
	micro := metav1.NewMicroTime(testNow)
	base := arcv1.ArtifactWorkflowSpec{
		Type:         "oci",
		Parameters:   alpineParameters(),
		SrcSecretRef: ref("src"),
		DstSecretRef: ref("dst"),
		SrcEndpoint:  "dockerhub",
		DstEndpoint:  "internal",
		Cron:         &arcv1.Cron{Schedules: []string{"@daily"}},
	}
	edits := map[string][]func(*arcv1.ArtifactWorkflowSpec){
		"Type":       {func(s *arcv1.ArtifactWorkflowSpec) { s.Type = "helm" }},
		"Parameters": {func(s *arcv1.ArtifactWorkflowSpec) { s.Parameters[0].Value = "x" }, func(s *arcv1.ArtifactWorkflowSpec) { s.Parameters = s.Parameters[1:] }, func(s *arcv1.ArtifactWorkflowSpec) { s.Parameters = nil }},
		"SrcSecretRef": {
			func(s *arcv1.ArtifactWorkflowSpec) { s.SrcSecretRef = nil },
			func(s *arcv1.ArtifactWorkflowSpec) { s.SrcSecretRef = ref("other") },
			func(s *arcv1.ArtifactWorkflowSpec) { s.SrcSecretRef = &corev1.LocalObjectReference{} },
		},
		"DstSecretRef": {func(s *arcv1.ArtifactWorkflowSpec) { s.DstSecretRef = nil }, func(s *arcv1.ArtifactWorkflowSpec) { s.DstSecretRef = ref("other") }},
		"SrcEndpoint":  {func(s *arcv1.ArtifactWorkflowSpec) { s.SrcEndpoint = "quay" }},
		"DstEndpoint":  {func(s *arcv1.ArtifactWorkflowSpec) { s.DstEndpoint = "quay" }},
		"Cron": {
			func(s *arcv1.ArtifactWorkflowSpec) { s.Cron = nil },
			func(s *arcv1.ArtifactWorkflowSpec) { s.Cron.Timezone = "Europe/Berlin" },
			func(s *arcv1.ArtifactWorkflowSpec) { s.Cron.Schedules = []string{"@hourly"} },
		},
		"Run":            {func(s *arcv1.ArtifactWorkflowSpec) { s.Run = 3 }},
		"RunRequestedAt": {func(s *arcv1.ArtifactWorkflowSpec) { s.RunRequestedAt = &now }},
		"QueuedAt":       {func(s *arcv1.ArtifactWorkflowSpec) { s.QueuedAt = &micro }},
	}
	withoutRun := func(s arcv1.ArtifactWorkflowSpec) arcv1.ArtifactWorkflowSpec {
		s.Run, s.RunRequestedAt, s.QueuedAt = 0, nil, nil
		return s
	}
	specType := reflect.TypeFor[arcv1.ArtifactWorkflowSpec]()
	for i := range specType.NumField() {
		field := specType.Field(i).Name
		require.Contains(t, edits, field, "sameResolvedSpec does not know the spec field %s", field)
		for j, edit := range edits[field] {
			other := *base.DeepCopy()
			edit(&other)
			want := equality.Semantic.DeepEqual(withoutRun(base), withoutRun(other))
			assert.Equal(t, want, sameResolvedSpec(&base, &other), "%s, edit %d", field, j)
			assert.Equal(t, want, sameResolvedSpec(&other, &base), "%s, edit %d, swapped", field, j)
		}
	}
	assert.True(t, sameResolvedSpec(&base, base.DeepCopy()))
	empty := base.DeepCopy()
	empty.Parameters, base.Parameters = []arcv1.Parameter{}, nil
	assert.True(t, sameResolvedSpec(&base, empty), "nil and empty parameters are alike, as to equality.Semantic")
}

// TestSameStatusAgreesWithSemantic holds sameStatus to equality.Semantic; a
// field added to an entry of status.artifactWorkflows fails here until
// sameEntry knows it.
func TestSameStatusAgreesWithSemantic(t *testing.T) {
	base := arcv1.OrderStatus{
		Phase: arcv1.OrderPhaseSucceeded,
		Total: 3,
		ArtifactWorkflows: map[string]arcv1.OrderArtifactWorkflowStatus{
			"h1": {Name: "o-h1", ArtifactIndex: 0, DuplicateIndices: []int32{2}, Phase: arcv1.WorkflowPhaseSucceeded, Message: "done"},
			"h2": {Name: "o-h2", ArtifactIndex: 1, Phase: arcv1.WorkflowPhaseSucceeded},
		},
		Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, LastTransitionTime: metav1.NewTime(testNow)}},
	}
	entryEdits := map[string]func(*arcv1.OrderArtifactWorkflowStatus){
		"Name":             func(e *arcv1.OrderArtifactWorkflowStatus) { e.Name = "o-h9" },
		"ArtifactIndex":    func(e *arcv1.OrderArtifactWorkflowStatus) { e.ArtifactIndex = 7 },
		"DuplicateIndices": func(e *arcv1.OrderArtifactWorkflowStatus) { e.DuplicateIndices = nil },
		"Phase":            func(e *arcv1.OrderArtifactWorkflowStatus) { e.Phase = arcv1.WorkflowPhaseFailed },
		"Message":          func(e *arcv1.OrderArtifactWorkflowStatus) { e.Message = "" },
	}
	edits := map[string]func(*arcv1.OrderStatus){
		"same":       func(*arcv1.OrderStatus) {},
		"phase":      func(s *arcv1.OrderStatus) { s.Phase = arcv1.OrderPhaseFailed },
		"total":      func(s *arcv1.OrderStatus) { s.Total = 2 },
		"condition":  func(s *arcv1.OrderStatus) { s.Conditions[0].Status = metav1.ConditionFalse },
		"entry gone": func(s *arcv1.OrderStatus) { delete(s.ArtifactWorkflows, "h2") },
		"entry renamed": func(s *arcv1.OrderStatus) {
			s.ArtifactWorkflows["h3"] = s.ArtifactWorkflows["h2"]
			delete(s.ArtifactWorkflows, "h2")
		},
		"empty duplicates are none": func(s *arcv1.OrderStatus) {
			e := s.ArtifactWorkflows["h2"]
			e.DuplicateIndices = []int32{}
			s.ArtifactWorkflows["h2"] = e
		},
		"time in another zone": func(s *arcv1.OrderStatus) {
			s.Conditions[0].LastTransitionTime = metav1.NewTime(testNow.In(time.FixedZone("UTC+2", 2*60*60)))
		},
	}
	entryType := reflect.TypeFor[arcv1.OrderArtifactWorkflowStatus]()
	for i := range entryType.NumField() {
		field := entryType.Field(i).Name
		require.Contains(t, entryEdits, field, "sameEntry does not know the entry field %s", field)
		edits["entry "+field] = func(s *arcv1.OrderStatus) {
			e := s.ArtifactWorkflows["h1"]
			entryEdits[field](&e)
			s.ArtifactWorkflows["h1"] = e
		}
	}
	for name, edit := range edits {
		other := *base.DeepCopy()
		edit(&other)
		want := equality.Semantic.DeepEqual(base, other)
		assert.Equal(t, want, sameStatus(base, other), name)
		assert.Equal(t, want, sameStatus(other, base), name+", swapped")
	}
	var none arcv1.OrderStatus
	empty := arcv1.OrderStatus{ArtifactWorkflows: map[string]arcv1.OrderArtifactWorkflowStatus{}}
	assert.True(t, sameStatus(none, empty), "a nil and an empty map are alike, as to equality.Semantic")
}

// TestOwnedByIdentityPrefersTheLowerName checks that, whatever order the
// map is walked in, the ArtifactWorkflow of the lower name serves an
// identity two of them claim.
func TestOwnedByIdentityPrefersTheLowerName(t *testing.T) {
	aw := func(name, identities string) *controller.CachedArtifactWorkflow {
		return controller.CacheArtifactWorkflow(&arcv1.ArtifactWorkflow{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{controller.AnnotationArtifactIdentities: identities}}})
	}
	owned := map[string]*controller.CachedArtifactWorkflow{}
	for _, a := range []*controller.CachedArtifactWorkflow{aw("c", "x,y"), aw("a", "y"), aw("b", "x,z"), aw("d", ""), aw("e", "w")} {
		owned[a.Name] = a
	}
	owned["e"].DeletionTimestamp = &metav1.Time{Time: testNow}
	for range 20 {
		got := map[string]string{}
		for id, a := range ownedByIdentity(owned) {
			got[id] = a.Name
		}
		require.Equal(t, map[string]string{"x": "b", "y": "a", "z": "b"}, got)
	}
}

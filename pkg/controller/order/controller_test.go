package order

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/controller/controllertest"
	"github.com/artifact-conduit/arc/pkg/naming"
)

// expectedName is the ArtifactWorkflow name the Order newOrder(orderName)
// should use for an artifact, computed from its identity as written.
func expectedName(orderName string, a arcv1.OrderArtifact) (string, string) {
	src, dst := "dockerhub", "internal"
	if a.SrcRef != nil {
		src = a.SrcRef.Name
	}
	if a.DstRef != nil {
		dst = a.DstRef.Name
	}
	var raw []byte
	if a.Spec != nil {
		raw = a.Spec.Raw
	}
	return naming.ArtifactWorkflow(orderName, "uid-"+orderName, naming.ArtifactIdentity(a.Type, src, dst, raw))
}

func alpineSpec() arcv1.ArtifactWorkflowSpec {
	return arcv1.ArtifactWorkflowSpec{
		Type:         "oci",
		Parameters:   alpineParameters(),
		DstSecretRef: ref("dst-reg-secret"),
		SrcEndpoint:  "dockerhub",
		DstEndpoint:  "internal",
	}
}

// specWithoutQueue is an ArtifactWorkflow's spec without the time it was
// queued at, which depends on the clock.
func specWithoutQueue(aw arcv1.ArtifactWorkflow) arcv1.ArtifactWorkflowSpec {
	spec := *aw.Spec.DeepCopy()
	spec.QueuedAt = nil
	return spec
}

func TestSyncCreatesTheArtifactWorkflowOfTheDesignExample(t *testing.T) {
	order := newOrder("alpine", alpineArtifact(t))
	f := newFixture(t, order, dockerhub(), internal(), secret("dst-reg-secret"))
	name, hash := expectedName("alpine", alpineArtifact(t))

	writes, events, err := f.sync("alpine")
	require.NoError(t, err)

	assert.Equal(t, []string{
		"create artifactworkflows " + ns + "/" + name,
		"update orders/status " + ns + "/alpine",
	}, writes)
	assert.Equal(t, []string{"Normal Created"}, controllertest.EventReasons(events))

	aws := f.artifactWorkflows()
	require.Len(t, aws, 1)
	aw := aws[0]
	assert.Equal(t, alpineSpec(), specWithoutQueue(aw))
	assert.Equal(t, hash, aw.Labels[arcv1.LabelArtifactHash])
	assert.Equal(t, string(order.UID), aw.Labels[arcv1.LabelOrderUID])
	assert.Equal(t, arcv1.ManagedByValue, aw.Labels[arcv1.LabelManagedBy])
	owner := metav1.GetControllerOf(&aw)
	require.NotNil(t, owner, "the ArtifactWorkflow must have a controller owner")
	assert.Equal(t, "Order", owner.Kind)
	assert.Equal(t, order.UID, owner.UID)

	status := f.order("alpine").Status
	assert.Equal(t, arcv1.OrderPhasePending, status.Phase)
	assert.Equal(t, int32(1), status.Total)
	assert.Equal(t, int32(1), status.Pending)
	assert.Equal(t, int64(1), status.ObservedGeneration)
	assert.Equal(t, map[string]arcv1.OrderArtifactWorkflowStatus{hash: {Name: name, ArtifactIndex: 0}}, status.ArtifactWorkflows)
	ready := meta.FindStatusCondition(status.Conditions, arcv1.ConditionReady)
	require.NotNil(t, ready)
	assert.Equal(t, metav1.ConditionFalse, ready.Status)
}

func TestSyncPicksEndpoints(t *testing.T) {
	mirror := endpoint("mirror", "oci", "mirror.example", arcv1.EndpointUsageAll, "")
	cases := []struct {
		name        string
		artifact    func(arcv1.OrderArtifact) arcv1.OrderArtifact
		wantSrcURL  string
		wantDstURL  string
		wantDstFlag string
	}{
		{
			name:        "defaults apply when the artifact names no endpoint",
			artifact:    func(a arcv1.OrderArtifact) arcv1.OrderArtifact { return a },
			wantSrcURL:  "docker.io",
			wantDstURL:  "registry.internal.example",
			wantDstFlag: "true",
		},
		{
			name: "the artifact's own srcRef wins over the default",
			artifact: func(a arcv1.OrderArtifact) arcv1.OrderArtifact {
				a.SrcRef = ref("mirror")
				return a
			},
			wantSrcURL:  "mirror.example",
			wantDstURL:  "registry.internal.example",
			wantDstFlag: "true",
		},
		{
			name: "the artifact's own dstRef wins over the default",
			artifact: func(a arcv1.OrderArtifact) arcv1.OrderArtifact {
				a.DstRef = ref("mirror")
				return a
			},
			wantSrcURL:  "docker.io",
			wantDstURL:  "mirror.example",
			wantDstFlag: "false",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, newOrder("o", tc.artifact(alpineArtifact(t))), dockerhub(), internal(), mirror, secret("dst-reg-secret"))
			_, _, err := f.sync("o")
			require.NoError(t, err)
			aws := f.artifactWorkflows()
			require.Len(t, aws, 1)
			params := paramMap(aws[0].Spec.Parameters)
			assert.Equal(t, tc.wantSrcURL, params["srcRemoteURL"])
			assert.Equal(t, tc.wantDstURL, params["dstRemoteURL"])
			assert.Equal(t, tc.wantDstFlag, params["dstSecret"])
		})
	}
}

func paramMap(params []arcv1.Parameter) map[string]string {
	m := map[string]string{}
	for _, p := range params {
		m[p.Name] = p.Value
	}
	return m
}

// TestSyncReportsBadArtifactsAndGoesOnWithTheOthers checks every reason an
// artifact cannot become an ArtifactWorkflow: the bad artifact gets a status
// entry and the Order a Warning event, and the good artifact is created anyway.
func TestSyncReportsBadArtifactsAndGoesOnWithTheOthers(t *testing.T) {
	cases := []struct {
		name       string
		bad        func(t *testing.T) arcv1.OrderArtifact
		objects    []runtime.Object
		opts       []Option
		wantReason string
		wantInMsg  string
	}{
		{
			name: "source Endpoint missing",
			bad: func(t *testing.T) arcv1.OrderArtifact {
				a := alpineArtifact(t)
				a.SrcRef = ref("nowhere")
				return a
			},
			wantReason: ReasonEndpointNotFound,
			wantInMsg:  `source Endpoint "nowhere" not found`,
		},
		{
			name: "destination Endpoint missing",
			bad: func(t *testing.T) arcv1.OrderArtifact {
				a := alpineArtifact(t)
				a.DstRef = ref("nowhere")
				return a
			},
			wantReason: ReasonEndpointNotFound,
			wantInMsg:  `destination Endpoint "nowhere" not found`,
		},
		{
			name: "source Endpoint is PushOnly",
			bad: func(t *testing.T) arcv1.OrderArtifact {
				a := alpineArtifact(t)
				a.SrcRef = ref("internal")
				return a
			},
			wantReason: ReasonEndpointUsage,
			wantInMsg:  `Endpoint "internal" has usage PushOnly and cannot be a source`,
		},
		{
			name: "destination Endpoint is PullOnly",
			bad: func(t *testing.T) arcv1.OrderArtifact {
				a := alpineArtifact(t)
				a.DstRef = ref("dockerhub")
				return a
			},
			wantReason: ReasonEndpointUsage,
			wantInMsg:  `Endpoint "dockerhub" has usage PullOnly and cannot be a destination`,
		},
		{
			name: "Secret of the destination Endpoint missing",
			bad: func(t *testing.T) arcv1.OrderArtifact {
				a := alpineArtifact(t)
				a.DstRef = ref("locked")
				return a
			},
			objects:    []runtime.Object{endpoint("locked", "oci", "locked.example", arcv1.EndpointUsageAll, "missing-secret")},
			wantReason: ReasonSecretNotFound,
			wantInMsg:  `Secret "missing-secret" of destination Endpoint "locked" not found`,
		},
		{
			name: "spec that does not flatten",
			bad: func(t *testing.T) arcv1.OrderArtifact {
				a := alpineArtifact(t)
				a.Spec = rawSpec(t, map[string]any{"a": map[string]any{"b": 1}, "aB": 2})
				return a
			},
			wantReason: ReasonInvalidSpec,
			wantInMsg:  "artifact spec cannot become workflow parameters",
		},
		{
			name: "spec that breaks its type's schema",
			bad: func(t *testing.T) arcv1.OrderArtifact {
				a := alpineArtifact(t)
				a.Type = "strict"
				a.Spec = rawSpec(t, map[string]any{"image": "alpine; touch /tmp/pwned"})
				return a
			},
			objects:    []runtime.Object{strictClusterType()},
			wantReason: ReasonInvalidSpec,
			wantInMsg:  `artifact spec does not match the specSchema of ClusterArtifactType strict: spec.image: Invalid value: "alpine; touch /tmp/pwned": spec.image in body should match`,
		},
		{
			name: "spec missing a field its type's schema requires",
			bad: func(t *testing.T) arcv1.OrderArtifact {
				a := alpineArtifact(t)
				a.Type = "strict"
				a.Spec = nil
				return a
			},
			objects:    []runtime.Object{strictClusterType()},
			wantReason: ReasonInvalidSpec,
			wantInMsg:  "spec.image: Required value",
		},
		{
			name: "type unknown",
			bad: func(t *testing.T) arcv1.OrderArtifact {
				a := alpineArtifact(t)
				a.Type = "nothing-of-that-name"
				return a
			},
			wantReason: controller.ReasonTypeNotFound,
			wantInMsg:  `no ArtifactType "nothing-of-that-name" in namespace "team-a" and no ClusterArtifactType "nothing-of-that-name"`,
		},
		{
			name: "ClusterArtifactType not offered to the namespace",
			bad: func(t *testing.T) arcv1.OrderArtifact {
				a := alpineArtifact(t)
				a.Type = "strict"
				return a
			},
			objects: []runtime.Object{func() *arcv1.ClusterArtifactType {
				cat := strictClusterType()
				cat.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "platform"}}
				return cat
			}()},
			wantReason: controller.ReasonTypeNotOffered,
			wantInMsg:  `ClusterArtifactType "strict" is not offered to namespace "team-a"`,
		},
		{
			name: "ArtifactType that would shadow a ClusterArtifactType",
			bad: func(t *testing.T) arcv1.OrderArtifact {
				a := alpineArtifact(t)
				a.Type = "strict"
				return a
			},
			objects: []runtime.Object{strictClusterType(), &arcv1.ArtifactType{
				ObjectMeta: metav1.ObjectMeta{Name: "strict", Namespace: ns},
				Spec:       arcv1.ArtifactTypeSpec{WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: "my-own-pipeline"}},
			}},
			wantReason: controller.ReasonTypeAmbiguous,
			wantInMsg:  "a namespaced type may not shadow a cluster-wide one",
		},
		{
			name: "parameters over the operator's bound",
			bad: func(t *testing.T) arcv1.OrderArtifact {
				a := alpineArtifact(t)
				a.Spec = rawSpec(t, map[string]any{"image": strings.Repeat("x", 600)})
				return a
			},
			opts:       []Option{WithMaxParameterBytes(512)},
			wantReason: ReasonTooLarge,
			wantInMsg:  "more than the 512 allowed",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objects := append([]runtime.Object{
				newOrder("o", tc.bad(t), alpineArtifact(t)),
				dockerhub(), internal(), secret("dst-reg-secret"),
			}, tc.objects...)
			f := newFixtureWithOptions(t, tc.opts, objects...)
			good, _ := expectedName("o", alpineArtifact(t))

			writes, events, err := f.sync("o")
			require.NoError(t, err, "bad input is reported in status, not returned for a retry")

			assert.Equal(t, []string{
				"create artifactworkflows " + ns + "/" + good,
				"update orders/status " + ns + "/o",
			}, writes, "the good artifact proceeds")
			assert.Equal(t, []string{"Normal Created", "Warning " + tc.wantReason}, controllertest.EventReasons(events))

			status := f.order("o").Status
			require.Len(t, status.UnresolvedArtifacts, 1)
			assert.Equal(t, int32(0), status.UnresolvedArtifacts[0].ArtifactIndex)
			assert.Equal(t, tc.wantReason, status.UnresolvedArtifacts[0].Reason)
			assert.Contains(t, status.UnresolvedArtifacts[0].Message, tc.wantInMsg)
			assert.Equal(t, int32(2), status.Total)
			assert.Equal(t, int32(2), status.Pending)
			ready := meta.FindStatusCondition(status.Conditions, arcv1.ConditionReady)
			require.NotNil(t, ready)
			assert.Equal(t, ReasonUnresolved, ready.Reason)

			// A second sync with nothing changed repeats neither writes nor events.
			writes, events, err = f.sync("o")
			require.NoError(t, err)
			assert.Empty(t, writes)
			assert.Empty(t, events)
		})
	}
}

func TestSyncRecoversWhenTheMissingThingAppears(t *testing.T) {
	cases := []struct {
		name    string
		objects []runtime.Object
		fix     runtime.Object
	}{
		{
			name:    "the source Endpoint is created",
			objects: []runtime.Object{internal(), secret("dst-reg-secret")},
			fix:     dockerhub(),
		},
		{
			name:    "the destination Secret is created",
			objects: []runtime.Object{dockerhub(), internal()},
			fix:     secret("dst-reg-secret"),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, append([]runtime.Object{newOrder("o", alpineArtifact(t))}, tc.objects...)...)
			writes, _, err := f.sync("o")
			require.NoError(t, err)
			assert.Equal(t, []string{"update orders/status " + ns + "/o"}, writes, "nothing to create yet")

			f.create(tc.fix)
			name, _ := expectedName("o", alpineArtifact(t))
			writes, _, err = f.sync("o")
			require.NoError(t, err)
			assert.Equal(t, []string{
				"create artifactworkflows " + ns + "/" + name,
				"update orders/status " + ns + "/o",
			}, writes)
			assert.Empty(t, f.order("o").Status.UnresolvedArtifacts)
		})
	}
}

func TestSyncEnqueuesOrdersThroughIndexes(t *testing.T) {
	f := newFixture(t,
		newOrder("uses-internal", alpineArtifact(t)),
		&arcv1.Order{
			ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: ns, UID: "uid-other"},
			Spec: arcv1.OrderSpec{
				Defaults:  &arcv1.OrderDefaults{SrcRef: ref("a"), DstRef: ref("b")},
				Artifacts: []arcv1.OrderArtifact{{Type: "oci"}},
			},
		},
		internal(),
	)
	f.ctrl.enqueueOrdersOfSecret(secretMetadata(secret("dst-reg-secret")))
	require.Equal(t, 1, f.ctrl.queue.Len(), "only the Order whose Endpoint uses the Secret")
	key, _ := f.ctrl.queue.Get()
	assert.Equal(t, "uses-internal", key.Name)
	f.ctrl.queue.Done(key)

	f.ctrl.enqueueOrdersOfEndpoint(endpoint("b", "oci", "x", arcv1.EndpointUsageAll, ""))
	require.Equal(t, 1, f.ctrl.queue.Len())
	key, _ = f.ctrl.queue.Get()
	assert.Equal(t, "other", key.Name)
}

func TestSyncDeletesArtifactWorkflowsNoLongerWanted(t *testing.T) {
	order := newOrder("o", alpineArtifact(t))
	f := newFixture(t, order, dockerhub(), internal(), secret("dst-reg-secret"))
	_, _, err := f.sync("o")
	require.NoError(t, err)
	oldName, _ := expectedName("o", alpineArtifact(t))

	// The artifact changes: a new ArtifactWorkflow replaces the old one.
	changed := f.order("o")
	changed.Spec.Artifacts[0].Spec = rawSpec(t, map[string]any{"image": "library/alpine:3.19", "override": "myteam/alpine:3.19"})
	changed.Generation++
	_, err = f.client.ArcV1alpha1().Orders(ns).Update(t.Context(), changed, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.refreshCaches()

	newName, _ := expectedName("o", changed.Spec.Artifacts[0])
	writes, events, err := f.sync("o")
	require.NoError(t, err)
	assert.Equal(t, []string{
		"create artifactworkflows " + ns + "/" + newName,
		"delete artifactworkflows " + ns + "/" + oldName,
		"update orders/status " + ns + "/o",
	}, writes)
	assert.Equal(t, []string{"Normal Created", "Normal Deleted"}, controllertest.EventReasons(events))

	// The artifact is removed: its ArtifactWorkflow goes.
	removed := f.order("o")
	removed.Spec.Artifacts = []arcv1.OrderArtifact{alpineArtifact(t)}
	_, err = f.client.ArcV1alpha1().Orders(ns).Update(t.Context(), removed, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.refreshCaches()
	writes, _, err = f.sync("o")
	require.NoError(t, err)
	assert.Contains(t, writes, "delete artifactworkflows "+ns+"/"+newName)
}

func TestSyncSharesOneArtifactWorkflowBetweenIdenticalArtifacts(t *testing.T) {
	f := newFixture(t, newOrder("o", alpineArtifact(t), alpineArtifact(t)), dockerhub(), internal(), secret("dst-reg-secret"))
	name, hash := expectedName("o", alpineArtifact(t))

	writes, _, err := f.sync("o")
	require.NoError(t, err)
	assert.Equal(t, []string{
		"create artifactworkflows " + ns + "/" + name,
		"update orders/status " + ns + "/o",
	}, writes)
	status := f.order("o").Status
	assert.Equal(t, arcv1.OrderArtifactWorkflowStatus{Name: name, ArtifactIndex: 0, DuplicateIndices: []int32{1}}, status.ArtifactWorkflows[hash])
	assert.Equal(t, int32(2), status.Total)
	assert.Equal(t, int32(2), status.Pending, "both artifacts wait for the one ArtifactWorkflow")
}

func TestSyncReportsPhasesOfArtifactWorkflows(t *testing.T) {
	second := alpineArtifact(t)
	second.Spec = rawSpec(t, map[string]any{"image": "library/busybox:1", "override": "myteam/busybox:1"})
	cases := []struct {
		name       string
		phases     [2]arcv1.WorkflowPhase
		wantPhase  arcv1.OrderPhase
		wantReady  metav1.ConditionStatus
		wantReason string
		wantCounts [4]int32 // pending, running, succeeded, failed
	}{
		{"nothing started", [2]arcv1.WorkflowPhase{"", arcv1.WorkflowPhasePending}, arcv1.OrderPhasePending, metav1.ConditionFalse, ReasonPending, [4]int32{2, 0, 0, 0}},
		{"one running", [2]arcv1.WorkflowPhase{arcv1.WorkflowPhaseRunning, arcv1.WorkflowPhaseSucceeded}, arcv1.OrderPhaseRunning, metav1.ConditionFalse, ReasonRunning, [4]int32{0, 1, 1, 0}},
		{"all succeeded", [2]arcv1.WorkflowPhase{arcv1.WorkflowPhaseSucceeded, arcv1.WorkflowPhaseSucceeded}, arcv1.OrderPhaseSucceeded, metav1.ConditionTrue, ReasonSucceeded, [4]int32{0, 0, 2, 0}},
		{"one failed while another runs", [2]arcv1.WorkflowPhase{arcv1.WorkflowPhaseFailed, arcv1.WorkflowPhaseRunning}, arcv1.OrderPhaseFailed, metav1.ConditionFalse, ReasonFailed, [4]int32{0, 1, 0, 1}},
		{"an error counts as failed", [2]arcv1.WorkflowPhase{arcv1.WorkflowPhaseError, arcv1.WorkflowPhaseSucceeded}, arcv1.OrderPhaseFailed, metav1.ConditionFalse, ReasonFailed, [4]int32{0, 0, 1, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, newOrder("o", alpineArtifact(t), second), dockerhub(), internal(), secret("dst-reg-secret"))
			_, _, err := f.sync("o")
			require.NoError(t, err)
			aws := f.artifactWorkflows()
			require.Len(t, aws, 2)
			for _, aw := range aws {
				i := 0
				if paramMap(aw.Spec.Parameters)["specImage"] == "library/busybox:1" {
					i = 1
				}
				f.setPhase(aw.Name, tc.phases[i], fmt.Sprintf("message of %d", i))
			}

			_, _, err = f.sync("o")
			require.NoError(t, err)
			status := f.order("o").Status
			assert.Equal(t, tc.wantPhase, status.Phase)
			assert.Equal(t, tc.wantCounts, [4]int32{status.Pending, status.Running, status.Succeeded, status.Failed})
			ready := meta.FindStatusCondition(status.Conditions, arcv1.ConditionReady)
			require.NotNil(t, ready)
			assert.Equal(t, tc.wantReady, ready.Status)
			assert.Equal(t, tc.wantReason, ready.Reason)
			for _, entry := range status.ArtifactWorkflows {
				assert.Equal(t, tc.phases[entry.ArtifactIndex], entry.Phase)
				assert.Equal(t, fmt.Sprintf("message of %d", entry.ArtifactIndex), entry.Message)
			}
		})
	}
}

func TestArtifactWorkflowEventsReachTheirOrder(t *testing.T) {
	second := alpineArtifact(t)
	second.Spec = rawSpec(t, map[string]any{"image": "library/busybox:1", "override": "myteam/busybox:1"})
	cases := []struct {
		name        string
		batchPeriod time.Duration
		wantAtOnce  int
	}{
		{"without a batch period the Order is queued at once", 0, 1},
		{"with a batch period the phase changes of all its ArtifactWorkflows wait and cost one sync", 50 * time.Millisecond, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, newOrder("o", alpineArtifact(t), second), dockerhub(), internal(), secret("dst-reg-secret"))
			_, _, err := f.sync("o")
			require.NoError(t, err)
			aws := f.artifactWorkflows()
			require.Len(t, aws, 2)
			f.ctrl.statusBatchPeriod = tc.batchPeriod

			for i := range aws {
				running := aws[i].DeepCopy()
				running.ResourceVersion += "1"
				running.Status.Phase = arcv1.WorkflowPhaseRunning
				f.ctrl.updateArtifactWorkflow(controller.CacheArtifactWorkflow(&aws[i]), controller.CacheArtifactWorkflow(running))
			}
			assert.Equal(t, tc.wantAtOnce, f.ctrl.queue.Len(), "Orders queued right after the events")
			require.Eventually(t, func() bool { return f.ctrl.queue.Len() == 1 }, 5*time.Second, 5*time.Millisecond,
				"the Order is queued once")
			key, _ := f.ctrl.queue.Get()
			assert.Equal(t, "o", key.Name)
			f.ctrl.queue.Done(key)
			assert.Never(t, func() bool { return f.ctrl.queue.Len() > 0 }, 3*tc.batchPeriod+20*time.Millisecond, 5*time.Millisecond,
				"no second sync for the same batch")
		})
	}
}

func TestSyncOfAConvergedOrderWritesNothing(t *testing.T) {
	f := newFixture(t, newOrder("o", alpineArtifact(t), alpineArtifact(t)), dockerhub(), internal(), secret("dst-reg-secret"))
	_, _, err := f.sync("o")
	require.NoError(t, err)
	for _, aw := range f.artifactWorkflows() {
		f.setPhase(aw.Name, arcv1.WorkflowPhaseSucceeded, "")
	}
	_, _, err = f.sync("o")
	require.NoError(t, err)
	require.Equal(t, arcv1.OrderPhaseSucceeded, f.order("o").Status.Phase)

	for range 3 {
		writes, events, err := f.sync("o")
		require.NoError(t, err)
		assert.Empty(t, writes, "a resync of a converged Order must not write")
		assert.Empty(t, events)
	}
}

func TestSyncWaitsForTheCacheToCatchUpWithItsOwnStatusWrite(t *testing.T) {
	f := newFixture(t, newOrder("o", alpineArtifact(t)), dockerhub(), internal(), secret("dst-reg-secret"))
	before := f.order("o")
	_, _, err := f.sync("o") // creates the ArtifactWorkflow and lists it
	require.NoError(t, err)
	written := f.order("o")
	require.Len(t, written.Status.ArtifactWorkflows, 1)
	require.NotEqual(t, before.ResourceVersion, written.ResourceVersion)

	// The ArtifactWorkflow's phase changes and its event syncs the Order
	// before the Order's own status write reached the cache.
	f.setPhase(f.artifactWorkflows()[0].Name, arcv1.WorkflowPhaseRunning, "")
	orderIndexer := f.factory.Arc().V1alpha1().Orders().Informer().GetIndexer()
	require.NoError(t, orderIndexer.Update(before))
	writes, _, err := f.sync("o")
	require.NoError(t, err)
	require.NoError(t, orderIndexer.Update(before), "the cache still lags")
	assert.Empty(t, writes, "no status write with an outdated resourceVersion, which could only conflict")
	assert.Equal(t, 0, f.ctrl.queue.Len())

	// The status write's own event reaches the cache: the skipped sync runs.
	require.NoError(t, orderIndexer.Update(written))
	f.ctrl.updateOrder(before, written)
	assert.Equal(t, 1, controllertest.Drain(f.ctrl.queue), "the Order is queued again")
	writes, _, err = f.sync("o")
	require.NoError(t, err)
	assert.Equal(t, []string{"update orders/status " + ns + "/o"}, writes, "the phase change is written once the cache caught up")
	assert.EqualValues(t, 1, f.order("o").Status.Running)

	// The event of a status write no sync waited for queues nothing.
	f.ctrl.updateOrder(written, f.order("o"))
	assert.Zero(t, f.ctrl.queue.Len(), "only the write a sync waited for queues the Order")
}

func TestSyncNeverTouchesAnArtifactWorkflowItDoesNotControl(t *testing.T) {
	name, _ := expectedName("o", alpineArtifact(t))
	foreign := &arcv1.ArtifactWorkflow{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       arcv1.ArtifactWorkflowSpec{Type: "something-else"},
	}
	f := newFixture(t, newOrder("o", alpineArtifact(t)), foreign, dockerhub(), internal(), secret("dst-reg-secret"))

	writes, events, err := f.sync("o")
	require.NoError(t, err)
	assert.Equal(t, []string{"update orders/status " + ns + "/o"}, writes)
	assert.Equal(t, []string{"Warning " + ReasonNameConflict}, controllertest.EventReasons(events))
	status := f.order("o").Status
	require.Len(t, status.UnresolvedArtifacts, 1)
	assert.Equal(t, ReasonNameConflict, status.UnresolvedArtifacts[0].Reason)
}

func TestSyncRestoresAnEditedArtifactWorkflow(t *testing.T) {
	f := newFixture(t, newOrder("o", alpineArtifact(t)), dockerhub(), internal(), secret("dst-reg-secret"))
	_, _, err := f.sync("o")
	require.NoError(t, err)
	aw := f.artifactWorkflows()[0]
	aw.Spec.Parameters[0].Value = "evil.example"
	_, err = f.client.ArcV1alpha1().ArtifactWorkflows(ns).Update(t.Context(), &aw, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.refreshCaches()

	writes, _, err := f.sync("o")
	require.NoError(t, err)
	assert.Equal(t, []string{"update artifactworkflows " + ns + "/" + aw.Name}, writes)
	assert.Equal(t, alpineSpec(), specWithoutQueue(f.artifactWorkflows()[0]))
}

// TestSyncKeepsWorkWhenAnEndpointDisappears: a deleted Endpoint makes the
// artifact unresolved, but its finished ArtifactWorkflow stays, so nothing
// reruns when the Endpoint comes back.
func TestSyncKeepsWorkWhenAnEndpointDisappears(t *testing.T) {
	f := newFixture(t, newOrder("o", alpineArtifact(t)), dockerhub(), internal(), secret("dst-reg-secret"))
	_, _, err := f.sync("o")
	require.NoError(t, err)
	name, hash := expectedName("o", alpineArtifact(t))
	f.setPhase(name, arcv1.WorkflowPhaseSucceeded, "")
	_, _, err = f.sync("o")
	require.NoError(t, err)

	require.NoError(t, f.client.ArcV1alpha1().Endpoints(ns).Delete(t.Context(), "dockerhub", metav1.DeleteOptions{}))
	f.refreshCaches()
	writes, _, err := f.sync("o")
	require.NoError(t, err)
	assert.Empty(t, writes, "no delete, and finished work leaves nothing to report")
	status := f.order("o").Status
	assert.Equal(t, arcv1.WorkflowPhaseSucceeded, status.ArtifactWorkflows[hash].Phase)
	assert.Empty(t, status.UnresolvedArtifacts)

	f.create(dockerhub())
	writes, _, err = f.sync("o")
	require.NoError(t, err)
	assert.Empty(t, writes, "the kept ArtifactWorkflow serves again: no create")
	assert.Equal(t, arcv1.OrderPhaseSucceeded, f.order("o").Status.Phase)
}

func TestSyncIgnoresMissingAndDeletingOrders(t *testing.T) {
	deleting := newOrder("deleting", alpineArtifact(t))
	now := metav1.NewTime(testNow)
	deleting.DeletionTimestamp = &now
	deleting.Finalizers = []string{"example.com/hold"}
	f := newFixture(t, deleting, dockerhub(), internal(), secret("dst-reg-secret"))
	for _, name := range []string{"missing", "deleting"} {
		writes, _, err := f.sync(name)
		require.NoError(t, err)
		assert.Empty(t, writes, name)
	}
}

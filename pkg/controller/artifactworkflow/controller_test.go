package artifactworkflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/controller/controllertest"
	"github.com/artifact-conduit/arc/pkg/workflowbuilder"
)

func workflowParameters(wf *wfv1.Workflow) map[string]string {
	out := map[string]string{}
	for _, p := range wf.Spec.Arguments.Parameters {
		out[p.Name] = p.Value.String()
	}
	return out
}

func TestSyncCreatesTheWorkflowOfTheDesignExample(t *testing.T) {
	f := newFixture(t, alpineArtifactWorkflow(), ociArtifactType())

	writes, events, err := f.sync()
	require.NoError(t, err)
	assert.Equal(t, []string{"create workflows " + ns + "/" + awName}, writes,
		"the status waits for Argo to start the Workflow")
	assert.Empty(t, events, "no event per Workflow: the Order reports what it made")
	assert.Empty(t, f.artifactWorkflow().Status.Phase)

	wf := f.workflow()
	assert.Equal(t, map[string]string{
		"dstRemoteURL": "registry.internal.example",
		"dstSecret":    "true",
		"dstType":      "oci",
		"scanSeverity": "HIGH,CRITICAL",
		"specImage":    "library/alpine:3.18",
		"specOverride": "myteam/alpine:3.18-dev",
		"srcRemoteURL": "docker.io",
		"srcSecret":    "false",
		"srcType":      "oci",
		// The template mounts the Secrets by these names (secretDelivery ByName).
		workflowbuilder.SrcSecretNameParameter: workflowbuilder.NoSecret,
		workflowbuilder.DstSecretNameParameter: "dst-reg-secret",
	}, workflowParameters(wf))
	require.NotNil(t, wf.Spec.WorkflowTemplateRef)
	assert.Equal(t, wfv1.WorkflowTemplateRef{Name: "oci-image-pipeline"}, *wf.Spec.WorkflowTemplateRef)
	assert.Empty(t, wf.Spec.Volumes, "secretDelivery ByName leaves the volumes to the template")
	assert.Empty(t, wf.Spec.PodSpecPatch, "secretDelivery ByName leaves the volumes to the template")
	assert.True(t, controller.IsControlledBy(wf, alpineArtifactWorkflow()))

	// Argo has not started it within pendingStatusDelay: the status says so.
	f.clock.SetTime(testNow.Add(pendingStatusDelay))
	writes, _, err = f.sync()
	require.NoError(t, err)
	assert.Equal(t, []string{"update artifactworkflows/status " + ns + "/" + awName}, writes)
	status := f.artifactWorkflow().Status
	assert.Equal(t, arcv1.WorkflowPhasePending, status.Phase)
	assert.Equal(t, awName, status.WorkflowName)
	assert.Contains(t, status.Message, "waiting for Argo Workflows to start it")
	ready := meta.FindStatusCondition(status.Conditions, arcv1.ConditionReady)
	require.NotNil(t, ready)
	assert.Equal(t, ReasonPending, ready.Reason)
}

// The Pending status of a new Workflow is not written when Argo starts it
// soon: the first status write is Running. Until then the sync looks again
// when the wait is over, and does not write.
func TestSyncWritesNoPendingStatusThatArgoReplacesSoon(t *testing.T) {
	f := newFixture(t, alpineArtifactWorkflow(), ociArtifactType())
	_, _, err := f.sync()
	require.NoError(t, err)

	f.clock.SetTime(testNow.Add(pendingStatusDelay / 2))
	writes, _, err := f.sync() // the Workflow's add event
	require.NoError(t, err)
	assert.Empty(t, writes, "still within pendingStatusDelay")

	f.setWorkflowStatus(wfv1.WorkflowStatus{Phase: wfv1.WorkflowRunning, StartedAt: metav1.NewTime(testNow)})
	writes, _, err = f.sync()
	require.NoError(t, err)
	assert.Equal(t, []string{"update artifactworkflows/status " + ns + "/" + awName}, writes)
	status := f.artifactWorkflow().Status
	assert.Equal(t, arcv1.WorkflowPhaseRunning, status.Phase)
	assert.Equal(t, awName, status.WorkflowName)
}

// A Workflow Argo has not started within pendingStatusDelay gets its
// Pending status, unless Argo started another of ARC's Workflows in the
// namespace within that delay: a busy Argo reaches it in its turn, and a
// status write per waiting artifact would only slow it down.
func TestPendingStatusTellsADownArgoFromABusyOne(t *testing.T) {
	tests := []struct {
		name string
		// startedOther is when Argo started another Workflow, and where.
		startedOther   time.Duration
		otherNamespace string
		// wantWriteAt is the first check (after the Workflow's creation)
		// at which the Pending status is written.
		wantWriteAt time.Duration
	}{
		{name: "Argo starts nothing: said after the delay", wantWriteAt: pendingStatusDelay},
		{name: "Argo busy here: said once it started nothing for the delay", startedOther: 20 * time.Second, otherNamespace: ns, wantWriteAt: 50 * time.Second},
		{name: "Argo busy elsewhere does not count", startedOther: 20 * time.Second, otherNamespace: "team-b", wantWriteAt: pendingStatusDelay},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, alpineArtifactWorkflow(), ociArtifactType())
			_, _, err := f.sync() // creates the Workflow at testNow
			require.NoError(t, err)
			if tt.otherNamespace != "" {
				f.clock.SetTime(testNow.Add(tt.startedOther))
				other := ownWorkflow("")
				other.Name, other.Namespace, other.ResourceVersion = "other", tt.otherNamespace, "1"
				started := other.DeepCopy()
				started.ResourceVersion, started.Status.Phase = "2", wfv1.WorkflowRunning
				f.ctrl.updateWorkflow(controller.CacheWorkflow(other), controller.CacheWorkflow(started))
			}
			for _, at := range []time.Duration{pendingStatusDelay, 40 * time.Second, 50 * time.Second} {
				f.clock.SetTime(testNow.Add(at))
				writes, _, err := f.sync()
				require.NoError(t, err)
				if at < tt.wantWriteAt {
					assert.Empty(t, writes, "at %s", at)
					continue
				}
				assert.Equal(t, []string{"update artifactworkflows/status " + ns + "/" + awName}, writes, "at %s", at)
				assert.Equal(t, arcv1.WorkflowPhasePending, f.artifactWorkflow().Status.Phase)
				break
			}
		})
	}
}

// TestSyncResolvesTheType covers what a cluster admin offers to a namespace:
// which type an ArtifactWorkflow gets, or why it gets none.
func TestSyncResolvesTheType(t *testing.T) {
	labelled := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"arc": "allowed"}}}
	offeredTo := func(cat *arcv1.ClusterArtifactType, labels map[string]string) *arcv1.ClusterArtifactType {
		cat.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: labels}
		return cat
	}
	clusterTemplateType := ociArtifactType()
	clusterTemplateType.Spec.WorkflowTemplateRef.ClusterScope = true
	cases := []struct {
		name         string
		objects      []runtime.Object
		wantTemplate *wfv1.WorkflowTemplateRef
		wantReason   string
	}{
		{
			name:         "a ClusterArtifactType without selector serves every namespace and always uses a ClusterWorkflowTemplate",
			objects:      []runtime.Object{ociClusterArtifactType("cluster-pipeline")},
			wantTemplate: &wfv1.WorkflowTemplateRef{Name: "cluster-pipeline", ClusterScope: true},
		},
		{
			name:         "a ClusterArtifactType serves a namespace its selector matches",
			objects:      []runtime.Object{labelled, offeredTo(ociClusterArtifactType("cluster-pipeline"), map[string]string{"arc": "allowed"})},
			wantTemplate: &wfv1.WorkflowTemplateRef{Name: "cluster-pipeline", ClusterScope: true},
		},
		{
			name:       "a ClusterArtifactType does not serve a namespace its selector does not match",
			objects:    []runtime.Object{labelled, offeredTo(ociClusterArtifactType("cluster-pipeline"), map[string]string{"arc": "other"})},
			wantReason: controller.ReasonTypeNotOffered,
		},
		{
			name:         "an ArtifactType uses a WorkflowTemplate of its namespace",
			objects:      []runtime.Object{ociArtifactType()},
			wantTemplate: &wfv1.WorkflowTemplateRef{Name: "oci-image-pipeline"},
		},
		{
			name:       "an ArtifactType may not shadow a ClusterArtifactType offered to its namespace",
			objects:    []runtime.Object{ociClusterArtifactType("cluster-pipeline"), ociArtifactType()},
			wantReason: controller.ReasonTypeAmbiguous,
		},
		{
			name:         "an ArtifactType may use a name whose ClusterArtifactType is not offered to its namespace",
			objects:      []runtime.Object{labelled, offeredTo(ociClusterArtifactType("cluster-pipeline"), map[string]string{"arc": "other"}), ociArtifactType()},
			wantTemplate: &wfv1.WorkflowTemplateRef{Name: "oci-image-pipeline"},
		},
		{
			name:       "an ArtifactType stored before the CRD rule cannot reach a ClusterWorkflowTemplate",
			objects:    []runtime.Object{clusterTemplateType},
			wantReason: controller.ReasonInvalidType,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, append([]runtime.Object{alpineArtifactWorkflow()}, tc.objects...)...)
			_, events, err := f.sync()
			if tc.wantTemplate != nil {
				require.NoError(t, err)
				assert.Equal(t, *tc.wantTemplate, *f.workflow().Spec.WorkflowTemplateRef)
				return
			}
			require.NoError(t, err, "a type that cannot be used is reported, not retried")
			_, err = f.argo.ArgoprojV1alpha1().Workflows(ns).Get(t.Context(), awName, metav1.GetOptions{})
			assert.True(t, apierrors.IsNotFound(err), "no Workflow may be created, got %v", err)
			ready := meta.FindStatusCondition(f.artifactWorkflow().Status.Conditions, arcv1.ConditionReady)
			require.NotNil(t, ready)
			assert.Equal(t, tc.wantReason, ready.Reason)
			assert.Equal(t, []string{"Warning " + tc.wantReason}, controllertest.EventReasons(events))
		})
	}
}

// TestSyncActsOnlyOnArtifactWorkflowsOfLiveOrders: an ArtifactWorkflow
// written by hand could name any Secret of its namespace and skip every
// check the Order controller makes, so ARC creates Workflows only for those
// a live Order controls.
func TestSyncActsOnlyOnArtifactWorkflowsOfLiveOrders(t *testing.T) {
	withoutOwner := alpineArtifactWorkflow()
	withoutOwner.OwnerReferences = nil
	otherOrder := alpineOrder()
	otherOrder.UID = "uid-of-a-new-order-of-the-same-name"
	notListing := alpineOrder()
	notListing.Status = arcv1.OrderStatus{}
	deleting := alpineOrder()
	deleting.DeletionTimestamp = &metav1.Time{Time: testNow}
	deleting.Finalizers = []string{"foregroundDeletion"}
	cases := []struct {
		name       string
		objects    []runtime.Object
		wantWrites []string
		wantEvents []string
	}{
		{
			name:       "no Order controls it: reported once, no Workflow",
			objects:    []runtime.Object{withoutOwner},
			wantWrites: []string{"update artifactworkflows/status " + ns + "/" + awName},
			wantEvents: []string{"Warning " + ReasonUntrusted},
		},
		{
			name:    "its Order is gone (another Order has the name now): skipped quietly",
			objects: []runtime.Object{alpineArtifactWorkflow(), otherOrder},
		},
		{
			name:    "its Order is being deleted: skipped quietly",
			objects: []runtime.Object{alpineArtifactWorkflow(), deleting},
		},
		{
			// An owner reference can be forged by anyone who may create
			// ArtifactWorkflows; the Order's status only ARC writes.
			name:    "a live Order controls it but its status does not list it: waits quietly",
			objects: []runtime.Object{alpineArtifactWorkflow(), notListing},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, append(tc.objects, ociArtifactType())...)
			writes, events, err := f.sync()
			require.NoError(t, err, "an ArtifactWorkflow ARC does not act on is never retried")
			assert.ElementsMatch(t, tc.wantWrites, writes)
			assert.ElementsMatch(t, tc.wantEvents, controllertest.EventReasons(events))
			_, err = f.argo.ArgoprojV1alpha1().Workflows(ns).Get(t.Context(), awName, metav1.GetOptions{})
			assert.True(t, apierrors.IsNotFound(err), "no Workflow may be created, got %v", err)

			writes, events, _ = f.sync()
			assert.Empty(t, writes, "a second sync writes nothing")
			assert.Empty(t, events, "a second sync reports nothing")
		})
	}
}

// TestSyncReportsInvalidInputAndRecovers covers the reasons no Workflow can
// be made: each is reported once (status and Warning event), not retried in
// a loop, and heals when the type appears or changes.
func TestSyncReportsInvalidInputAndRecovers(t *testing.T) {
	cases := []struct {
		name       string
		objects    []runtime.Object
		wantReason string
		wantMsg    string
		fix        func(f *fixture)
	}{
		{
			name:       "type missing",
			wantReason: ReasonTypeNotFound,
			wantMsg:    `no ArtifactType "oci" in namespace "team-a" and no ClusterArtifactType "oci"`,
			fix: func(f *fixture) {
				_, err := f.client.ArcV1alpha1().ClusterArtifactTypes().Create(t.Context(), ociClusterArtifactType("p"), metav1.CreateOptions{})
				require.NoError(t, err)
			},
		},
		{
			name: "source endpoint type not accepted",
			objects: []runtime.Object{&arcv1.ArtifactType{
				ObjectMeta: metav1.ObjectMeta{Name: "oci", Namespace: ns, Generation: 1},
				Spec:       ociTypeSpec("helm"),
			}},
			wantReason: ReasonRuleViolation,
			wantMsg:    `source Endpoint type "oci" is not accepted by type "oci" (accepts: helm)`,
			fix: func(f *fixture) {
				at, err := f.client.ArcV1alpha1().ArtifactTypes(ns).Get(t.Context(), "oci", metav1.GetOptions{})
				require.NoError(t, err)
				at.Spec.Rules.SrcTypes = append(at.Spec.Rules.SrcTypes, "oci")
				at.Generation++
				_, err = f.client.ArcV1alpha1().ArtifactTypes(ns).Update(t.Context(), at, metav1.UpdateOptions{})
				require.NoError(t, err)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, append([]runtime.Object{alpineArtifactWorkflow()}, tc.objects...)...)

			writes, events, err := f.sync()
			require.NoError(t, err, "invalid input is reported, not retried")
			assert.Equal(t, []string{"update artifactworkflows/status " + ns + "/" + awName}, writes, "no Workflow")
			assert.Equal(t, []string{"Warning " + tc.wantReason}, controllertest.EventReasons(events))
			status := f.artifactWorkflow().Status
			assert.Equal(t, tc.wantMsg, status.Message)
			ready := meta.FindStatusCondition(status.Conditions, arcv1.ConditionReady)
			require.NotNil(t, ready)
			assert.Equal(t, tc.wantReason, ready.Reason)

			writes, events, _ = f.sync()
			assert.Empty(t, writes, "reported once")
			assert.Empty(t, events, "reported once")

			tc.fix(f)
			f.refreshCaches()
			writes, _, err = f.sync()
			require.NoError(t, err)
			assert.Equal(t, []string{
				"create workflows " + ns + "/" + awName,
				"update artifactworkflows/status " + ns + "/" + awName,
			}, writes)
		})
	}
}

func TestTypeChangesEnqueueOnlyWaitingArtifactWorkflowsOfThatType(t *testing.T) {
	waiting := alpineArtifactWorkflow()
	started := alpineArtifactWorkflow()
	started.Name, started.UID = "started", "uid-started"
	started.Status.Phase = arcv1.WorkflowPhaseRunning
	otherType := alpineArtifactWorkflow()
	otherType.Name, otherType.UID, otherType.Spec.Type = "helm-one", "uid-helm", "helm"
	otherNamespace := alpineArtifactWorkflow()
	otherNamespace.Namespace = "team-b"
	f := newFixture(t, waiting, started, otherType, otherNamespace)

	f.ctrl.enqueueWaitingOfType(ociArtifactType())
	require.Equal(t, 1, f.ctrl.queue.Len(), "a namespaced type reaches only its namespace")
	key, _ := f.ctrl.queue.Get()
	assert.Equal(t, ns+"/"+awName, key.String())
	f.ctrl.queue.Done(key)

	f.ctrl.enqueueWaitingOfType(ociClusterArtifactType("p"))
	assert.Equal(t, 2, f.ctrl.queue.Len(), "a cluster type reaches every namespace")
}

func TestSyncMirrorsTheWorkflow(t *testing.T) {
	started := metav1.NewTime(testNow.Add(-2 * 60e9))
	finished := metav1.NewTime(testNow.Add(-60e9))
	cases := []struct {
		name       string
		status     wfv1.WorkflowStatus
		wantPhase  arcv1.WorkflowPhase
		wantReady  metav1.ConditionStatus
		wantReason string
		wantEvents []string
		wantTimes  [2]*metav1.Time
	}{
		{"running", wfv1.WorkflowStatus{Phase: wfv1.WorkflowRunning, StartedAt: started},
			arcv1.WorkflowPhaseRunning, metav1.ConditionFalse, ReasonRunning, nil, [2]*metav1.Time{&started, nil}},
		{"succeeded", wfv1.WorkflowStatus{Phase: wfv1.WorkflowSucceeded, StartedAt: started, FinishedAt: finished},
			arcv1.WorkflowPhaseSucceeded, metav1.ConditionTrue, ReasonSucceeded, nil, [2]*metav1.Time{&started, &finished}},
		{"failed", wfv1.WorkflowStatus{Phase: wfv1.WorkflowFailed, Message: "child 'push' failed", StartedAt: started, FinishedAt: finished},
			arcv1.WorkflowPhaseFailed, metav1.ConditionFalse, ReasonFailed, []string{"Warning " + ReasonFailed}, [2]*metav1.Time{&started, &finished}},
		{"error", wfv1.WorkflowStatus{Phase: wfv1.WorkflowError, Message: "invalid spec", StartedAt: started, FinishedAt: finished},
			arcv1.WorkflowPhaseError, metav1.ConditionFalse, ReasonError, []string{"Warning " + ReasonError}, [2]*metav1.Time{&started, &finished}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, alpineArtifactWorkflow(), ociArtifactType())
			_, _, err := f.sync()
			require.NoError(t, err)
			f.setWorkflowStatus(tc.status)

			writes, events, err := f.sync()
			require.NoError(t, err)
			assert.Equal(t, []string{"update artifactworkflows/status " + ns + "/" + awName}, writes)
			assert.Equal(t, tc.wantEvents, nilIfEmpty(controllertest.EventReasons(events)))
			status := f.artifactWorkflow().Status
			assert.Equal(t, tc.wantPhase, status.Phase)
			assert.Equal(t, tc.status.Message, status.Message)
			assert.Equal(t, tc.wantTimes[0], status.StartedAt)
			assert.Equal(t, tc.wantTimes[1], status.FinishedAt)
			ready := meta.FindStatusCondition(status.Conditions, arcv1.ConditionReady)
			require.NotNil(t, ready)
			assert.Equal(t, tc.wantReady, ready.Status)
			assert.Equal(t, tc.wantReason, ready.Reason)

			writes, events, err = f.sync()
			require.NoError(t, err)
			assert.Empty(t, writes, "a resync writes nothing")
			assert.Empty(t, events)
		})
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestSyncNeverTouchesAWorkflowItDoesNotControl(t *testing.T) {
	cases := []struct {
		name    string
		foreign *wfv1.Workflow
	}{
		{
			name: "a Workflow with ARC's labels owned by someone else (in the cache)",
			foreign: func() *wfv1.Workflow {
				wf := ownWorkflow(wfv1.WorkflowRunning)
				wf.OwnerReferences[0].UID = "uid-of-an-earlier-artifactworkflow"
				return wf
			}(),
		},
		{
			name: "a Workflow without ARC's labels (not in the cache)",
			foreign: &wfv1.Workflow{
				ObjectMeta: metav1.ObjectMeta{Name: awName, Namespace: ns},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, alpineArtifactWorkflow(), ociArtifactType(), tc.foreign)
			queue := &recordingQueue{Queue: f.ctrl.queue}
			f.ctrl.queue = queue
			writes, events, err := f.sync()
			require.NoError(t, err, "a conflict is reported, not an error to retry with backoff")
			assert.Equal(t, []time.Duration{conflictRecheck}, queue.addedAfter, "checked again later: the foreign Workflow is not watched")
			for _, w := range writes {
				for _, verb := range []string{"update", "patch", "delete"} {
					assert.NotContains(t, w, verb+" workflows", "the foreign Workflow must not be written")
				}
			}
			assert.Equal(t, tc.foreign.OwnerReferences, f.workflow().OwnerReferences, "an attempted create that failed changed nothing")
			assert.Contains(t, writes, "update artifactworkflows/status "+ns+"/"+awName)
			assert.Equal(t, []string{"Warning " + ReasonWorkflowConflict}, controllertest.EventReasons(events))
			assert.Contains(t, f.artifactWorkflow().Status.Message, "not controlled by this ArtifactWorkflow")
		})
	}
}

func TestSyncReportsAWorkflowThatVanishedBeforeItFinished(t *testing.T) {
	aw := alpineArtifactWorkflow()
	aw.Status.Phase = arcv1.WorkflowPhaseRunning
	f := newFixture(t, aw, ociArtifactType())

	writes, events, err := f.sync()
	require.NoError(t, err)
	assert.Equal(t, []string{"update artifactworkflows/status " + ns + "/" + awName}, writes, "no new Workflow")
	assert.Equal(t, []string{"Warning " + ReasonWorkflowDeleted}, controllertest.EventReasons(events))
	status := f.artifactWorkflow().Status
	assert.Equal(t, arcv1.WorkflowPhaseError, status.Phase)
	assert.Contains(t, status.Message, "was deleted before it finished")
}

func TestSyncTrustsTheAPIServerWhenTheCacheLags(t *testing.T) {
	aw := alpineArtifactWorkflow()
	aw.Status.Phase = arcv1.WorkflowPhaseRunning
	f := newFixture(t, aw, ociArtifactType(), ownWorkflow(wfv1.WorkflowRunning))
	_, _, err := f.sync() // mirrors the running Workflow
	require.NoError(t, err)
	require.NoError(t, f.wf.Argoproj().V1alpha1().Workflows().Informer().GetIndexer().Replace(nil, ""))

	writes, events, err := f.sync()
	require.NoError(t, err)
	assert.Equal(t, arcv1.WorkflowPhaseRunning, f.artifactWorkflow().Status.Phase, "a lagging cache must not lose a running Workflow")
	assert.Empty(t, writes, "the Workflow read from the API server is the one mirrored already: nothing to write or create")
	assert.Empty(t, events)
}

func TestSyncWaitsForTheCacheToCatchUpWithItsOwnStatusWrite(t *testing.T) {
	f := newFixture(t, alpineArtifactWorkflow(), ociArtifactType())
	_, _, err := f.sync() // creates the Workflow; its status waits for Argo
	require.NoError(t, err)
	f.clock.SetTime(testNow.Add(pendingStatusDelay)) // Argo is late
	before := f.artifactWorkflow()
	_, _, err = f.sync()
	require.NoError(t, err)
	written := f.artifactWorkflow()
	require.Equal(t, arcv1.WorkflowPhasePending, written.Status.Phase)
	require.NotEqual(t, before.ResourceVersion, written.ResourceVersion)

	// The Workflow's event arrives before the ArtifactWorkflow's: the cache
	// still holds the version without the status.
	awIndexer := f.arc.Arc().V1alpha1().ArtifactWorkflows().Informer().GetIndexer()
	require.NoError(t, awIndexer.Update(before))
	f.client.ClearActions()
	require.NoError(t, f.ctrl.sync(context.Background(), cache.MetaObjectToName(before)))
	assert.Empty(t, controllertest.Writes(f.client.Actions(), f.argo.Actions()),
		"no second write of the same status with an outdated resourceVersion")
	assert.Equal(t, 0, f.ctrl.queue.Len())

	// The status write's own event reaches the cache: the skipped sync runs.
	require.NoError(t, awIndexer.Update(written))
	f.ctrl.updateArtifactWorkflow(before, written)
	assert.Equal(t, 1, f.ctrl.queue.Len(), "the ArtifactWorkflow is queued again")
	writes, _, err := f.sync()
	require.NoError(t, err)
	assert.Empty(t, writes, "the status is current")
}

func TestSyncKeepsTheResultOfAFinishedArtifactWorkflow(t *testing.T) {
	for _, phase := range []arcv1.WorkflowPhase{arcv1.WorkflowPhaseSucceeded, arcv1.WorkflowPhaseFailed, arcv1.WorkflowPhaseError} {
		t.Run(string(phase), func(t *testing.T) {
			aw := alpineArtifactWorkflow()
			aw.Status.Phase = phase
			f := newFixture(t, aw, ociArtifactType())
			writes, events, err := f.sync()
			require.NoError(t, err)
			assert.Empty(t, writes, "the Workflow is gone but the result stays, and nothing runs again")
			assert.Empty(t, events)
		})
	}
}

func TestSyncIgnoresMissingArtifactWorkflows(t *testing.T) {
	f := newFixture(t, ociArtifactType())
	writes, _, err := f.sync()
	require.NoError(t, err)
	assert.Empty(t, writes)
}

func TestSlimWorkflowKeepsOnlyWhatARCReads(t *testing.T) {
	wf := ownWorkflow(wfv1.WorkflowRunning)
	wf.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "argo"}}
	wf.Spec.Entrypoint = "main"
	wf.Status.Nodes = wfv1.Nodes{"n": {Name: "n"}}
	wf.Status.Message = "m"
	wf.Labels[arcv1.LabelArtifactWorkflow] = awName
	wf.Labels[controller.LabelCronWorkflow] = "cron"
	wf.Labels["workflows.argoproj.io/phase"] = "Running"
	wf.Annotations = map[string]string{controller.AnnotationScheduledTime: "2026-11-30T10:00:00Z", arcv1.AnnotationOrderName: "o"}
	obj, err := controller.SlimWorkflow(wf)
	require.NoError(t, err)
	slim := obj.(*controller.CachedWorkflow)
	assert.Equal(t, awName, slim.ArtifactWorkflow)
	assert.Equal(t, "cron", slim.CronWorkflow)
	assert.Equal(t, "2026-11-30T10:00:00Z", slim.ScheduledTime)
	assert.Nil(t, slim.Labels, "the labels ARC reads are fields")
	assert.Nil(t, slim.Annotations, "the annotation ARC reads is a field")
	assert.Empty(t, slim.ManagedFields)
	assert.Equal(t, wfv1.WorkflowRunning, slim.Status.Phase)
	assert.Equal(t, "m", slim.Status.Message)
	assert.Equal(t, wf.OwnerReferences, slim.OwnerReferences)
	assert.Equal(t, wf.Name, slim.Name)
	assert.Equal(t, wf.UID, slim.UID)
	assert.Equal(t, wf.Finalizers, slim.Finalizers)
}

func TestSlimWorkflowKeepsTheFailedStepsMessageAndTheOutputs(t *testing.T) {
	at := func(sec int) metav1.Time { return metav1.NewTime(time.Date(2026, 1, 1, 0, 0, sec, 0, time.UTC)) }
	failedPod := func(id, name string, finished int, msg string) wfv1.NodeStatus {
		return wfv1.NodeStatus{ID: id, DisplayName: name, Type: wfv1.NodeTypePod, Phase: wfv1.NodeFailed, Message: msg, FinishedAt: at(finished)}
	}
	tests := []struct {
		name  string
		phase wfv1.WorkflowPhase
		nodes wfv1.Nodes
		want  string
	}{
		{
			name:  "a failed step's own message replaces Argo's child-failed message",
			phase: wfv1.WorkflowFailed,
			nodes: wfv1.Nodes{
				"root": {ID: "root", Type: wfv1.NodeTypeSteps, Phase: wfv1.NodeFailed, Message: "child 'x-1' failed"},
				"x-1":  failedPod("x-1", "copy", 5, "main: Error (exit code 1): unauthorized"),
			},
			want: "step copy failed: main: Error (exit code 1): unauthorized",
		},
		{
			name:  "the step that failed first is named, whatever the map order",
			phase: wfv1.WorkflowFailed,
			nodes: wfv1.Nodes{
				"b": failedPod("b", "push", 9, "late"),
				"a": failedPod("a", "pull", 3, "early"),
				"c": failedPod("c", "scan", 3, "same time, later ID"),
			},
			want: "step pull failed: early",
		},
		{
			name:  "an errored step counts, a succeeded one does not",
			phase: wfv1.WorkflowError,
			nodes: wfv1.Nodes{
				"a": {ID: "a", DisplayName: "resolve", Type: wfv1.NodeTypePod, Phase: wfv1.NodeSucceeded, Message: "ok", FinishedAt: at(1)},
				"b": {ID: "b", DisplayName: "copy", Type: wfv1.NodeTypePod, Phase: wfv1.NodeError, Message: "pod deleted", FinishedAt: at(2)},
			},
			want: "step copy failed: pod deleted",
		},
		{
			name:  "a Workflow that is a single pod names the template, not itself",
			phase: wfv1.WorkflowFailed,
			nodes: wfv1.Nodes{
				awName: {ID: awName, DisplayName: awName, TemplateName: "fetch-and-push", Type: wfv1.NodeTypePod, Phase: wfv1.NodeFailed, Message: "checksum mismatch"},
			},
			want: "step fetch-and-push failed: checksum mismatch",
		},
		{
			name:  "without a failed step Argo's message stays",
			phase: wfv1.WorkflowFailed,
			nodes: wfv1.Nodes{"root": {ID: "root", Type: wfv1.NodeTypeSteps, Phase: wfv1.NodeFailed, Message: "the argo message"}},
			want:  "the argo message",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wf := ownWorkflow(tt.phase)
			wf.Status.Message = "the argo message"
			wf.Status.Nodes = tt.nodes
			obj, err := controller.SlimWorkflow(wf)
			require.NoError(t, err)
			assert.Equal(t, tt.want, obj.(*controller.CachedWorkflow).Status.Message)
		})
	}

	t.Run("global output parameters are kept, nothing else of the outputs", func(t *testing.T) {
		wf := ownWorkflow(wfv1.WorkflowSucceeded)
		wf.Status.Outputs = &wfv1.Outputs{
			Parameters: []wfv1.Parameter{{Name: "digest", Value: wfv1.AnyStringPtr("sha256:abc"), GlobalName: "digest"}},
			Artifacts:  wfv1.Artifacts{{Name: "log"}},
		}
		obj, err := controller.SlimWorkflow(wf)
		require.NoError(t, err)
		out := obj.(*controller.CachedWorkflow).Status.Outputs
		require.NotNil(t, out)
		assert.Equal(t, []wfv1.Parameter{{Name: "digest", Value: wfv1.AnyStringPtr("sha256:abc")}}, out.Parameters)
		assert.Empty(t, out.Artifacts)
	})
}

// TestSyncReportsTheWorkflowsResults: the global output parameters of the
// Workflow (a destination digest, say) reach the status, sorted and bounded.
func TestSyncReportsTheWorkflowsResults(t *testing.T) {
	wf := ownWorkflow(wfv1.WorkflowSucceeded)
	params := []wfv1.Parameter{
		{Name: "digest", Value: wfv1.AnyStringPtr("sha256:abc")},
		{Name: "big", Value: wfv1.AnyStringPtr(strings.Repeat("x", 5000))},
		{Name: "no-value"},
	}
	for i := range 20 {
		params = append(params, wfv1.Parameter{Name: fmt.Sprintf("z%02d", i), Value: wfv1.AnyStringPtr("v")})
	}
	wf.Status.Outputs = &wfv1.Outputs{Parameters: params}
	f := newFixture(t, alpineArtifactWorkflow(), ociArtifactType(), wf)

	_, _, err := f.sync()
	require.NoError(t, err)
	results := f.artifactWorkflow().Status.Results
	require.Len(t, results, maxResults, "at most 16 results")
	assert.Equal(t, "big", results[0].Name)
	assert.LessOrEqual(t, len(results[0].Value), maxResultValueBytes)
	assert.Contains(t, results[0].Value, "bytes cut)")
	assert.Equal(t, arcv1.WorkflowResult{Name: "digest", Value: "sha256:abc"}, results[1])
	assert.Equal(t, "z13", results[maxResults-1].Name, "sorted by name, the rest cut")
}

// TestSyncBoundsTheMessageCopiedFromTheWorkflow: a step can make Argo's
// message as long as it likes; the status keeps a bounded, marked cut.
func TestSyncBoundsTheMessageCopiedFromTheWorkflow(t *testing.T) {
	wf := ownWorkflow(wfv1.WorkflowFailed)
	wf.Status.Message = strings.Repeat("step output ", 100_000)
	f := newFixtureWithOptions(t, []Option{WithMaxMessageBytes(256)}, alpineArtifactWorkflow(), ociArtifactType(), wf)

	_, events, err := f.sync()
	require.NoError(t, err)
	status := f.artifactWorkflow().Status
	assert.Equal(t, arcv1.WorkflowPhaseFailed, status.Phase)
	assert.LessOrEqual(t, len(status.Message), 256)
	assert.Contains(t, status.Message, "bytes cut)")
	ready := meta.FindStatusCondition(status.Conditions, arcv1.ConditionReady)
	require.NotNil(t, ready)
	assert.Equal(t, status.Message, ready.Message, "the condition carries the same bounded message")
	assert.Equal(t, []string{"Warning " + ReasonFailed}, controllertest.EventReasons(events))
	for _, e := range events {
		assert.LessOrEqual(t, len(e), 512, "the event carries the bounded message too")
	}
}

// recordingQueue records the delays of AddAfter, which a delaying queue
// hides until they pass.
type recordingQueue struct {
	controller.Queue
	addedAfter []time.Duration
}

func (q *recordingQueue) AddAfter(key cache.ObjectName, d time.Duration) {
	q.addedAfter = append(q.addedAfter, d)
	q.Queue.AddAfter(key, d)
}

// TestSyncRetriesAReportThatCouldNotBeWritten: bad input is reported in the
// status; when that write fails, the sync fails and is retried, so neither
// the status nor its Warning is lost until the next resync.
func TestSyncRetriesAReportThatCouldNotBeWritten(t *testing.T) {
	f := newFixture(t, alpineArtifactWorkflow()) // no type: TypeNotFound
	f.client.PrependReactor("update", "artifactworkflows", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.GetSubresource() == "status" {
			return true, nil, apierrors.NewServiceUnavailable("etcd is restarting")
		}
		return false, nil, nil
	})
	_, events, err := f.sync()
	require.Error(t, err, "the report was not written: retry")
	assert.Empty(t, events, "no Warning for a status that was not written")
	key := cache.ObjectName{Namespace: ns, Name: awName}
	controller.HandleResult(klog.Background(), f.ctrl.queue, key, err)
	assert.Equal(t, 1, f.ctrl.queue.NumRequeues(key), "the worker retries the key")

	f.client.ReactionChain = f.client.ReactionChain[1:]
	writes, events, err := f.sync()
	require.NoError(t, err)
	assert.Equal(t, []string{"update artifactworkflows/status " + ns + "/" + awName}, writes)
	assert.Equal(t, []string{"Warning " + ReasonTypeNotFound}, controllertest.EventReasons(events))
}

// TestDeleteHandlersUnwrapTombstones: a Workflow whose deletion the watch
// missed arrives as a DeletedFinalStateUnknown tombstone and still queues
// its ArtifactWorkflow, as does a type's.
func TestDeleteHandlersUnwrapTombstones(t *testing.T) {
	tombstone := func(obj interface{}) cache.DeletedFinalStateUnknown { return controllertest.Tombstone(t, obj) }
	cases := []struct {
		name   string
		handle func(c *Controller)
	}{
		{"a Workflow gone unseen queues its ArtifactWorkflow", func(c *Controller) {
			c.enqueueOwner(tombstone(controller.CacheWorkflow(ownWorkflow(wfv1.WorkflowRunning))))
		}},
		{"a type gone unseen queues the ArtifactWorkflows waiting for it", func(c *Controller) { c.enqueueWaitingOfType(tombstone(ociArtifactType())) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, alpineArtifactWorkflow(), ociArtifactType())
			tc.handle(f.ctrl)
			require.Equal(t, 1, f.ctrl.queue.Len())
			key, _ := f.ctrl.queue.Get()
			assert.Equal(t, cache.ObjectName{Namespace: ns, Name: awName}, key)
			f.ctrl.queue.Done(key)
		})
	}
}

// TestSyncReportsAWorkflowTheAPIServerRefuses: a quota or an admission
// policy refuses the Workflow. The ArtifactWorkflow says why, warns once and
// tries again later, not in a loop only the log shows.
func TestSyncReportsAWorkflowTheAPIServerRefuses(t *testing.T) {
	f := newFixture(t, alpineArtifactWorkflow(), ociArtifactType())
	f.argo.PrependReactor("create", "workflows", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(wfv1.SchemeGroupVersion.WithResource("workflows").GroupResource(), awName,
			errors.New("exceeded quota: wf-quota, requested: count/workflows.argoproj.io=1, used: count/workflows.argoproj.io=5, limited: count/workflows.argoproj.io=5"))
	})
	queue := &recordingQueue{Queue: f.ctrl.queue}
	f.ctrl.queue = queue

	_, events, err := f.sync()
	require.NoError(t, err, "reported, not retried with backoff")
	status := f.artifactWorkflow().Status
	assert.Equal(t, arcv1.WorkflowPhaseUnknown, status.Phase, "no Workflow yet: the next try creates it")
	assert.Contains(t, status.Message, "exceeded quota: wf-quota")
	assert.Equal(t, []string{"Warning " + ReasonWorkflowRefused}, controllertest.EventReasons(events))
	assert.Equal(t, []time.Duration{controller.RefusedRecheck}, queue.addedAfter)

	_, events, err = f.sync()
	require.NoError(t, err)
	assert.Empty(t, events, "the same refusal is not reported twice")
}

// TestOrderStatusListingQueuesTheArtifactWorkflow: an ArtifactWorkflow waits
// until its Order lists it; the Order's status update that lists it queues
// it, while updates that only change phases of listed ones queue nothing.
func TestOrderStatusListingQueuesTheArtifactWorkflow(t *testing.T) {
	f := newFixture(t, alpineArtifactWorkflow(), ociArtifactType())
	before := alpineOrder()
	before.Status = arcv1.OrderStatus{}
	listing := alpineOrder()
	f.ctrl.enqueueListedBy(before, listing)
	require.Equal(t, 1, f.ctrl.queue.Len())
	key, _ := f.ctrl.queue.Get()
	assert.Equal(t, cache.ObjectName{Namespace: ns, Name: awName}, key)
	f.ctrl.queue.Done(key)

	phaseChanged := listing.DeepCopy()
	entry := phaseChanged.Status.ArtifactWorkflows["0123456789abcdef"]
	entry.Phase = arcv1.WorkflowPhaseRunning
	phaseChanged.Status.ArtifactWorkflows["0123456789abcdef"] = entry
	f.ctrl.enqueueListedBy(listing, phaseChanged)
	assert.Zero(t, f.ctrl.queue.Len(), "a phase change of a listed ArtifactWorkflow queues nothing")
}

func TestArtifactWorkflowEventsQueueWhatNeedsASync(t *testing.T) {
	for _, tc := range []struct {
		name       string
		spread     time.Duration
		change     func(*arcv1.ArtifactWorkflow)
		wantQueued bool
	}{
		{"a spec change is synced at once", time.Minute, func(aw *arcv1.ArtifactWorkflow) { aw.Generation++; aw.ResourceVersion += "1" }, true},
		{"a status write is not synced", time.Minute, func(aw *arcv1.ArtifactWorkflow) { aw.ResourceVersion += "1" }, false},
		{"a resync waits for its place in the spread window", time.Minute, func(*arcv1.ArtifactWorkflow) {}, false},
		{"a resync without a spread window is synced at once", 0, func(*arcv1.ArtifactWorkflow) {}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureWithOptions(t, []Option{WithResyncSpread(tc.spread)}, alpineArtifactWorkflow())
			before := f.artifactWorkflow()
			after := before.DeepCopy()
			tc.change(after)
			f.ctrl.updateArtifactWorkflow(before, after)
			assert.Equal(t, tc.wantQueued, f.ctrl.queue.Len() == 1)
		})
	}
}

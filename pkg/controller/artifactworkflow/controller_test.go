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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	clocktesting "k8s.io/utils/clock/testing"

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

	// Argo has not started it, however long it takes: the ArtifactWorkflow
	// writes nothing (the Order says that Argo has not started it).
	f.clock.SetTime(testNow.Add(time.Hour))
	writes, _, err = f.sync()
	require.NoError(t, err)
	assert.Empty(t, writes, "no Pending status per artifact while Argo has not started the Workflow")
	assert.Empty(t, f.artifactWorkflow().Status.Phase)
	assert.Zero(t, f.ctrl.queue.Len(), "the Workflow's start event syncs it again, no timer")
}

// The Pending status of a new Workflow is not written when Argo starts it
// soon: the first status write is Running.
func TestSyncWritesNoPendingStatusThatArgoReplacesSoon(t *testing.T) {
	f := newFixture(t, alpineArtifactWorkflow(), ociArtifactType())
	_, _, err := f.sync()
	require.NoError(t, err)

	f.clock.SetTime(testNow.Add(time.Second))
	writes, _, err := f.sync() // the Workflow's add event
	require.NoError(t, err)
	assert.Empty(t, writes, "Argo has not started it yet")

	f.setWorkflowStatus(wfv1.WorkflowStatus{Phase: wfv1.WorkflowRunning, StartedAt: metav1.NewTime(testNow)})
	writes, _, err = f.sync()
	require.NoError(t, err)
	assert.Equal(t, []string{"update artifactworkflows/status " + ns + "/" + awName}, writes)
	status := f.artifactWorkflow().Status
	assert.Equal(t, arcv1.WorkflowPhaseRunning, status.Phase)
	assert.Equal(t, awName, status.WorkflowName)
}

func TestSyncWaitsForTheCacheToCatchUpWithItsOwnStatusWrite(t *testing.T) {
	f := newFixture(t, alpineArtifactWorkflow(), ociArtifactType())
	_, _, err := f.sync() // creates the Workflow; its status waits for Argo
	require.NoError(t, err)
	f.setWorkflowStatus(wfv1.WorkflowStatus{Phase: wfv1.WorkflowRunning, StartedAt: metav1.NewTime(testNow)})
	before := f.artifactWorkflow()
	_, _, err = f.sync()
	require.NoError(t, err)
	written := f.artifactWorkflow()
	require.Equal(t, arcv1.WorkflowPhaseRunning, written.Status.Phase)
	require.NotEqual(t, before.ResourceVersion, written.ResourceVersion)

	// The Workflow's event arrives before the ArtifactWorkflow's: the cache
	// still holds the version without the status.
	awIndexer := f.arc.Arc().V1alpha1().ArtifactWorkflows().Informer().GetIndexer()
	require.NoError(t, awIndexer.Update(controller.CacheArtifactWorkflow(before.DeepCopy())))
	f.client.ClearActions()
	require.NoError(t, f.ctrl.sync(context.Background(), cache.MetaObjectToName(before)))
	assert.Empty(t, controllertest.Writes(f.client.Actions(), f.argo.Actions()),
		"no second write of the same status with an outdated resourceVersion")
	assert.Equal(t, 0, f.ctrl.queue.Len())

	// The status write's own event reaches the cache: the skipped sync runs.
	require.NoError(t, awIndexer.Update(controller.CacheArtifactWorkflow(written.DeepCopy())))
	f.ctrl.updateArtifactWorkflow(controller.CacheArtifactWorkflow(before), controller.CacheArtifactWorkflow(written))
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
	entry := phaseChanged.Status.ArtifactWorkflows[artifactHash]
	entry.Phase = arcv1.WorkflowPhaseRunning
	phaseChanged.Status.ArtifactWorkflows[artifactHash] = entry
	f.ctrl.enqueueListedBy(listing, phaseChanged)
	assert.Zero(t, f.ctrl.queue.Len(), "a phase change of a listed ArtifactWorkflow queues nothing")
}

func TestListedByFindsTheNameUnderAnyKey(t *testing.T) {
	status := map[string]arcv1.OrderArtifactWorkflowStatus{
		"hash-a": {Name: "alpine-a"},
		"hash-b": {Name: "alpine-b"},
	}
	for _, tc := range []struct {
		name, key, awName string
		want              bool
	}{
		{name: "filed under its key", key: "hash-a", awName: "alpine-a", want: true},
		{name: "filed under another key: its hash label changed", key: "hash-z", awName: "alpine-b", want: true},
		{name: "its key holds another name: a copied hash label", key: "hash-a", awName: "intruder", want: false},
		{name: "not listed", key: "hash-c", awName: "alpine-c", want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			order := &arcv1.Order{Status: arcv1.OrderStatus{ArtifactWorkflows: status}}
			assert.Equal(t, tc.want, listedBy(order, tc.key, tc.awName))
		})
	}
	assert.False(t, listedBy(&arcv1.Order{}, "hash-a", "alpine-a"), "an Order without status lists nothing")
}

func TestArtifactWorkflowEventsQueueWhatNeedsASync(t *testing.T) {
	for _, tc := range []struct {
		name       string
		change     func(*arcv1.ArtifactWorkflow)
		wantQueued bool
	}{
		{"a spec change is synced at once", func(aw *arcv1.ArtifactWorkflow) { aw.Generation++; aw.ResourceVersion += "1" }, true},
		{"a status write is not synced", func(aw *arcv1.ArtifactWorkflow) { aw.ResourceVersion += "1" }, false},
		{"an update of the same version is not synced: resyncs come from the controller's own timer", func(*arcv1.ArtifactWorkflow) {}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureWithOptions(t, []Option{WithResyncPeriod(time.Second)}, alpineArtifactWorkflow())
			before := f.artifactWorkflow()
			after := before.DeepCopy()
			tc.change(after)
			f.ctrl.updateArtifactWorkflow(controller.CacheArtifactWorkflow(before), controller.CacheArtifactWorkflow(after))
			assert.Equal(t, tc.wantQueued, f.ctrl.queue.Len() == 1)
		})
	}
}

// TestEveryCachedArtifactWorkflowIsResyncedOncePerPeriod: the controller's
// Worker resyncs every ArtifactWorkflow in its cache, on its own timer (no
// informer resyncs: controller.AddEventHandlers), and nothing else.
func TestEveryCachedArtifactWorkflowIsResyncedOncePerPeriod(t *testing.T) {
	other := alpineArtifactWorkflow()
	other.Name, other.Namespace = "other", "team-b"
	f := newFixtureWithOptions(t, []Option{WithResyncPeriod(time.Second)},
		alpineArtifactWorkflow(), other, ownWorkflow(wfv1.WorkflowRunning), ociArtifactType())
	clock := clocktesting.NewFakeClock(time.Unix(1700000000, 0))
	f.ctrl.resyncs.Clock = clock
	controllertest.AssertResyncQueues(t, f.ctrl.Worker().Resync, f.ctrl.queue, clock, time.Second,
		[]cache.ObjectName{{Namespace: ns, Name: alpineArtifactWorkflow().Name}, {Namespace: "team-b", Name: "other"}})
}

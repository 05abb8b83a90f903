package order

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller/controllertest"
)

// setRun sets the status of an ArtifactWorkflow as its controller would
// after the Workflow of its current run reached phase.
func (f *fixture) setRun(name string, phase arcv1.WorkflowPhase) {
	f.t.Helper()
	ctx := context.Background()
	aw, err := f.client.ArcV1alpha1().ArtifactWorkflows(ns).Get(ctx, name, metav1.GetOptions{})
	require.NoError(f.t, err)
	aw.Status.Phase, aw.Status.Run, aw.Status.WorkflowName = phase, aw.Spec.Run, name
	_, err = f.client.ArcV1alpha1().ArtifactWorkflows(ns).UpdateStatus(ctx, aw, metav1.UpdateOptions{})
	require.NoError(f.t, err)
	f.refreshCaches()
}

func (f *fixture) updateOrder(o *arcv1.Order) {
	f.t.Helper()
	_, err := f.client.ArcV1alpha1().Orders(ns).Update(context.Background(), o, metav1.UpdateOptions{})
	require.NoError(f.t, err)
	f.refreshCaches()
}

func TestEndpointEditNeverRenamesNorRerunsFinishedWork(t *testing.T) {
	f := newFixture(t, newOrder("o", alpineArtifact(t)), dockerhub(), internal(), secret("dst-reg-secret"))
	_, _, err := f.sync("o")
	require.NoError(t, err)
	name, _ := expectedName("o", alpineArtifact(t))
	f.setRun(name, arcv1.WorkflowPhaseSucceeded)
	_, _, err = f.sync("o")
	require.NoError(t, err)

	ep, err := f.client.ArcV1alpha1().Endpoints(ns).Get(t.Context(), "internal", metav1.GetOptions{})
	require.NoError(t, err)
	ep.Spec.RemoteURL = "registry.moved.example"
	_, err = f.client.ArcV1alpha1().Endpoints(ns).Update(t.Context(), ep, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.refreshCaches()

	writes, _, err := f.sync("o")
	require.NoError(t, err)
	// The ArtifactWorkflow keeps its name and run; only its spec follows
	// the Endpoint, for a run asked for later.
	assert.Equal(t, []string{"update artifactworkflows " + ns + "/" + name}, writes)
	aws := f.artifactWorkflows()
	require.Len(t, aws, 1)
	assert.Equal(t, int64(0), aws[0].Spec.Run)
	assert.Equal(t, arcv1.OrderPhaseSucceeded, f.order("o").Status.Phase)
}

func TestOrderRecreatedUnderTheSameNameGetsNewNames(t *testing.T) {
	old := newOrder("o", alpineArtifact(t))
	recreated := newOrder("o", alpineArtifact(t))
	recreated.UID = types.UID("uid-o-again")
	f := newFixture(t, recreated, dockerhub(), internal(), secret("dst-reg-secret"))
	// The old Order's ArtifactWorkflow is still there, owned by the old UID.
	oldName, _ := expectedName("o", alpineArtifact(t))
	leftover := newArtifactWorkflow(old, &desiredArtifactWorkflow{name: oldName, hash: "h", indices: []int32{0}, identities: []string{artifactIdentity(old, &old.Spec.Artifacts[0])}})
	f.create(leftover)

	writes, _, err := f.sync("o")
	require.NoError(t, err)
	require.Len(t, writes, 2)
	assert.NotEqual(t, "create artifactworkflows "+ns+"/"+oldName, writes[0], "the new Order must not collide with the old one's leftovers")
	assert.Empty(t, f.order("o").Status.UnresolvedArtifacts)
	for _, aw := range f.artifactWorkflows() {
		if aw.Name == oldName {
			assert.Equal(t, old.UID, metav1.GetControllerOf(&aw).UID, "the leftover is not adopted")
		}
	}
}

func TestRerunRequests(t *testing.T) {
	failing := alpineArtifact(t)
	failing.Spec = rawSpec(t, map[string]any{"image": "library/busybox:1.36", "override": "myteam/busybox:1.36"})
	notStarted := alpineArtifact(t)
	notStarted.Spec = rawSpec(t, map[string]any{"image": "library/nginx:1.25", "override": "myteam/nginx:1.25"})
	tests := []struct {
		name       string
		annotation string
		value      string
		wantRuns   [3]int64 // succeeded, failed, not started
		wantLast   func(*arcv1.OrderStatus) *metav1.Time
	}{
		{name: "force-at runs every started artifact again", annotation: arcv1.AnnotationForceAt, value: "2026-11-01T11:00:00Z",
			wantRuns: [3]int64{1, 1, 0}, wantLast: func(s *arcv1.OrderStatus) *metav1.Time { return s.LastForceAt }},
		{name: "force-at takes Unix seconds too", annotation: arcv1.AnnotationForceAt, value: "1793530800",
			wantRuns: [3]int64{1, 1, 0}, wantLast: func(s *arcv1.OrderStatus) *metav1.Time { return s.LastForceAt }},
		{name: "rerun-failed-at runs only the failed artifacts again", annotation: arcv1.AnnotationRerunFailedAt, value: "2026-11-01T11:00:00Z",
			wantRuns: [3]int64{0, 1, 0}, wantLast: func(s *arcv1.OrderStatus) *metav1.Time { return s.LastRerunFailedAt }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, newOrder("o", alpineArtifact(t), failing, notStarted), dockerhub(), internal(), secret("dst-reg-secret"))
			_, _, err := f.sync("o")
			require.NoError(t, err)
			names := [3]string{}
			for i, a := range []arcv1.OrderArtifact{alpineArtifact(t), failing, notStarted} {
				names[i], _ = expectedName("o", a)
			}
			f.setRun(names[0], arcv1.WorkflowPhaseSucceeded)
			f.setRun(names[1], arcv1.WorkflowPhaseFailed)

			o := f.order("o")
			o.Annotations = map[string]string{tt.annotation: tt.value}
			f.updateOrder(o)
			_, events, err := f.sync("o")
			require.NoError(t, err)
			assert.Contains(t, controllertest.EventReasons(events), "Normal "+ReasonRerun)

			runs := map[string]int64{}
			for _, aw := range f.artifactWorkflows() {
				runs[aw.Name] = aw.Spec.Run
				require.NotNil(t, aw.Spec.RunRequestedAt, "every ArtifactWorkflow records the request it handled")
			}
			for i := range names {
				assert.Equal(t, tt.wantRuns[i], runs[names[i]], "artifact %d", i)
			}
			status := f.order("o").Status
			require.NotNil(t, tt.wantLast(&status))
			assert.Equal(t, "2026-11-01T11:00:00Z", tt.wantLast(&status).UTC().Format(time.RFC3339))
			if tt.wantRuns[0] == 1 {
				assert.NotEqual(t, arcv1.OrderPhaseSucceeded, status.Phase, "an Order re-running is not finished")
				assert.Nil(t, status.CompletionTime)
			}

			// The request is carried out once: further syncs, and the same
			// request seen again, re-run nothing.
			writes, _, err := f.sync("o")
			require.NoError(t, err)
			assert.NotContains(t, writes, "update artifactworkflows "+ns+"/"+names[0])
			assert.NotContains(t, writes, "update artifactworkflows "+ns+"/"+names[1])
		})
	}
}

func TestRerunRequestHalfDoneIsFinishedNotRepeated(t *testing.T) {
	f := newFixture(t, newOrder("o", alpineArtifact(t)), dockerhub(), internal(), secret("dst-reg-secret"))
	_, _, err := f.sync("o")
	require.NoError(t, err)
	name, _ := expectedName("o", alpineArtifact(t))
	f.setRun(name, arcv1.WorkflowPhaseSucceeded)
	// A controller stopped after the ArtifactWorkflow took the request over
	// and before the Order's status recorded it.
	aw := f.artifactWorkflows()[0]
	aw.Spec.Run = 1
	aw.Spec.RunRequestedAt = &metav1.Time{Time: time.Date(2026, 11, 1, 11, 0, 0, 0, time.UTC)}
	_, err = f.client.ArcV1alpha1().ArtifactWorkflows(ns).Update(t.Context(), &aw, metav1.UpdateOptions{})
	require.NoError(t, err)
	o := f.order("o")
	o.Annotations = map[string]string{arcv1.AnnotationForceAt: "2026-11-01T11:00:00Z"}
	f.updateOrder(o)

	_, _, err = f.sync("o")
	require.NoError(t, err)
	assert.Equal(t, int64(1), f.artifactWorkflows()[0].Spec.Run, "run once, not twice")
	require.NotNil(t, f.order("o").Status.LastForceAt)
}

func TestInvalidRerunRequestIsReportedOnce(t *testing.T) {
	f := newFixture(t, newOrder("o", alpineArtifact(t)), dockerhub(), internal(), secret("dst-reg-secret"))
	o := f.order("o")
	o.Annotations = map[string]string{arcv1.AnnotationForceAt: "yesterday"}
	f.updateOrder(o)
	_, events, err := f.sync("o")
	require.NoError(t, err)
	assert.Contains(t, controllertest.EventReasons(events), "Warning "+ReasonInvalidRerunRequest)
	cond := meta.FindStatusCondition(f.order("o").Status.Conditions, ConditionRerunRequest)
	require.NotNil(t, cond)
	assert.Contains(t, cond.Message, `force-at="yesterday" is not a time`)

	_, events, err = f.sync("o")
	require.NoError(t, err)
	assert.NotContains(t, controllertest.EventReasons(events), "Warning "+ReasonInvalidRerunRequest, "a resync repeats nothing")
}

func TestTTLSecondsAfterFinishedDeletesTheOrder(t *testing.T) {
	tests := []struct {
		name       string
		finishedAt time.Time
		wantDelete bool
	}{
		{name: "an Order finished longer ago than its TTL is deleted", finishedAt: testNow.Add(-2 * time.Hour), wantDelete: true},
		{name: "an Order finished more recently waits", finishedAt: testNow.Add(-30 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrder("o", alpineArtifact(t))
			o.Spec.TTLSecondsAfterFinished = ptr.To[int32](3600)
			f := newFixture(t, o, dockerhub(), internal(), secret("dst-reg-secret"))
			_, _, err := f.sync("o")
			require.NoError(t, err)
			name, _ := expectedName("o", alpineArtifact(t))
			f.setRun(name, arcv1.WorkflowPhaseSucceeded)
			done := f.order("o")
			done.Status.CompletionTime = &metav1.Time{Time: tt.finishedAt}
			_, err = f.client.ArcV1alpha1().Orders(ns).UpdateStatus(t.Context(), done, metav1.UpdateOptions{})
			require.NoError(t, err)
			f.refreshCaches()

			writes, _, err := f.sync("o")
			require.NoError(t, err)
			if tt.wantDelete {
				assert.Contains(t, writes, "delete orders "+ns+"/o")
			} else {
				assert.NotContains(t, writes, "delete orders "+ns+"/o")
			}
		})
	}
}

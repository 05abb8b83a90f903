package order

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/record"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/controller/controllertest"
)

// hostileSpecs are specs an Order author might write to make ARC, the API
// server or Argo carry far more than one artifact needs. Each is within the
// Order schema; none may become an ArtifactWorkflow.
func hostileSpecs() map[string]string {
	deep := strings.Repeat(`{"a":`, 10_000) + "1" + strings.Repeat("}", 10_000)
	longName := `{"` + strings.Repeat("n", 10_000) + `":1}`
	hugeArray := `{"tags":[` + strings.TrimSuffix(strings.Repeat(`"x",`, 20_000), ",") + `]}`
	wide := `{"blob":"` + strings.Repeat("v", 200_000) + `"}`
	return map[string]string{
		"deep nesting":         deep,
		"a maximal name":       longName,
		"a huge array":         hugeArray,
		"a value over the cap": wide,
	}
}

// TestHostileOrderIsRefusedPerArtifactAndLeavesMemoryFlat fills an Order with
// the most artifacts it may have, every one hostile but the first: only the
// first becomes an ArtifactWorkflow, every other gets a bounded message,
// the status stays small, and syncing the Order again and again leaves the
// controller's heap where it was.
func TestHostileOrderIsRefusedPerArtifactAndLeavesMemoryFlat(t *testing.T) {
	kinds := hostileSpecs()
	names := make([]string, 0, len(kinds))
	for name := range kinds {
		names = append(names, name)
	}
	artifacts := []arcv1.OrderArtifact{alpineArtifact(t)}
	for i := 1; i < arcv1.MaxArtifactsPerOrder; i++ {
		kind := names[i%len(names)]
		artifacts = append(artifacts, arcv1.OrderArtifact{Type: "oci", Spec: &runtime.RawExtension{Raw: []byte(kinds[kind])}})
	}
	f := newFixture(t, newOrder("hostile", artifacts...), dockerhub(), internal(), secret("dst-reg-secret"))
	// A Warning per refused artifact: more than the fixture's recorder buffers.
	f.recorder = record.NewFakeRecorder(2 * arcv1.MaxArtifactsPerOrder)
	f.ctrl.recorder = f.recorder

	writes, _, err := f.sync("hostile")
	require.NoError(t, err)
	assert.Len(t, writes, 2, "one ArtifactWorkflow for the good artifact, one status write: %v", writes)
	require.Len(t, f.artifactWorkflows(), 1)

	status := f.order("hostile").Status
	require.Len(t, status.UnresolvedArtifacts, arcv1.MaxArtifactsPerOrder-1)
	for _, u := range status.UnresolvedArtifacts {
		assert.LessOrEqual(t, len(u.Message), controller.DefaultMaxMessageBytes, "artifact %d", u.ArtifactIndex)
		assert.Contains(t, []string{ReasonInvalidSpec, ReasonTooLarge}, u.Reason, "artifact %d: %s", u.ArtifactIndex, u.Message)
	}
	raw, err := json.Marshal(status)
	require.NoError(t, err)
	assert.Less(t, len(raw), etcdObjectLimit/4, "the status of a hostile Order stays far below etcd's object limit")

	before := controllertest.LiveHeapBytes()
	for range 5 {
		writes, events, err := f.sync("hostile")
		require.NoError(t, err)
		require.Empty(t, writes, "a converged hostile Order costs no writes")
		require.Empty(t, events, "a converged hostile Order repeats no events")
	}
	growth := int64(controllertest.LiveHeapBytes()) - int64(before)
	t.Logf("heap after the first sync %d KiB, growth over 5 more syncs %d KiB", before>>10, growth>>10)
	assert.Less(t, growth, int64(4<<20), "repeated syncs of a hostile Order must not grow the heap")
}

// TestArtifactWorkflowSizeFollowsTheParameterBound: an artifact just within
// --max-parameter-bytes becomes an ArtifactWorkflow no larger than the bound
// and its metadata; one just over it does not start.
func TestArtifactWorkflowSizeFollowsTheParameterBound(t *testing.T) {
	const bound = 8 << 10
	spec := func(n int) *runtime.RawExtension {
		return &runtime.RawExtension{Raw: []byte(fmt.Sprintf(`{"image":"library/alpine:3.18","blob":%q}`, strings.Repeat("v", n)))}
	}
	within := arcv1.OrderArtifact{Type: "oci", Spec: spec(bound - 512)}
	over := arcv1.OrderArtifact{Type: "oci", Spec: spec(bound)}
	f := newFixtureWithOptions(t, []Option{WithMaxParameterBytes(bound)},
		newOrder("sized", within, over), dockerhub(), internal(), secret("dst-reg-secret"))

	_, _, err := f.sync("sized")
	require.NoError(t, err)
	aws := f.artifactWorkflows()
	require.Len(t, aws, 1)
	raw, err := json.Marshal(aws[0])
	require.NoError(t, err)
	assert.Less(t, len(raw), bound+2<<10, "the ArtifactWorkflow is the parameters and a little metadata")
	status := f.order("sized").Status
	require.Len(t, status.UnresolvedArtifacts, 1)
	assert.Equal(t, int32(1), status.UnresolvedArtifacts[0].ArtifactIndex)
	assert.Equal(t, ReasonTooLarge, status.UnresolvedArtifacts[0].Reason)
}

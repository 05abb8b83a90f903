package order

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller/controllertest"
)

func TestSummarize(t *testing.T) {
	cases := []struct {
		name  string
		items []string
		want  string
	}{
		{"one item stands alone", []string{"a"}, "a"},
		{"up to the cap every item is named", []string{"a", "b", "c", "d", "e"}, "a, b, c, d, e"},
		{"past the cap the rest is counted", []string{"a", "b", "c", "d", "e", "f", "g"}, "a, b, c, d, e and 2 more"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, summarize(tc.items))
		})
	}
}

// artifacts returns n distinct artifacts of the OCI type.
func artifacts(t *testing.T, n int) []arcv1.OrderArtifact {
	out := make([]arcv1.OrderArtifact, n)
	for i := range out {
		out[i] = alpineArtifact(t)
		out[i].Spec = rawSpec(t, map[string]any{"image": fmt.Sprintf("library/app-%d:1", i), "override": fmt.Sprintf("myteam/app-%d:1", i)})
	}
	return out
}

func TestOneSyncReportsItsCreatesAndDeletesInOneEventEach(t *testing.T) {
	cases := []struct {
		name        string
		before      int
		after       int
		wantEvents  []string
		wantMessage *regexp.Regexp
	}{
		{
			name: "a single create names its ArtifactWorkflow and artifact", before: 0, after: 1,
			wantEvents:  []string{"Normal Created"},
			wantMessage: regexp.MustCompile(`^Normal Created Created ArtifactWorkflow o-[a-z0-9-]+ \(artifact 0\)$`),
		},
		{
			name: "many creates are one event that names five and counts the rest", before: 0, after: 7,
			wantEvents:  []string{"Normal Created"},
			wantMessage: regexp.MustCompile(`^Normal Created Created 7 ArtifactWorkflows: (o-[a-z0-9-]+ \(artifact \d\), ){4}o-[a-z0-9-]+ \(artifact \d\) and 2 more$`),
		},
		{
			name: "many deletes are one event", before: 4, after: 1,
			wantEvents:  []string{"Normal Deleted"},
			wantMessage: regexp.MustCompile(`^Normal Deleted Deleted 3 ArtifactWorkflows no artifact of the Order needs any more: o-[a-z0-9-]+, o-[a-z0-9-]+, o-[a-z0-9-]+$`),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			all := artifacts(t, max(tc.before, tc.after))
			first := tc.after
			if tc.before > 0 {
				first = tc.before
			}
			f := newFixture(t, newOrder("o", all[:first]...), dockerhub(), internal(), secret("dst-reg-secret"))
			if tc.before > 0 {
				// Create the ArtifactWorkflows of the first version, then drop artifacts.
				_, _, err := f.sync("o")
				require.NoError(t, err)
				require.Len(t, f.artifactWorkflows(), tc.before)
				changed := f.order("o")
				changed.Spec.Artifacts = all[:tc.after]
				changed.Generation++
				_, err = f.client.ArcV1alpha1().Orders(ns).Update(t.Context(), changed, metav1.UpdateOptions{})
				require.NoError(t, err)
				f.refreshCaches()
			}

			_, events, err := f.sync("o")
			require.NoError(t, err)
			assert.Len(t, f.artifactWorkflows(), tc.after)
			assert.Equal(t, tc.wantEvents, controllertest.EventReasons(events))
			require.Len(t, events, 1)
			assert.Regexp(t, tc.wantMessage, events[0])
		})
	}
}

//go:build e2e

package e2e

import (
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/workflowbuilder"
)

// TestNestedSpec sends a spec with nested objects, arrays of objects,
// numbers, booleans and null through the API server, and checks the
// parameters the Workflow gets, as README.md documents them: camelCase paths
// prefixed with "spec", array indexes as digits, numbers as written, booleans
// as true/false, null as "", no parameter for an empty object or array.
func TestNestedSpec(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "params")
	f.createEndpoint("src", "oci", "src.example:5000", arcv1.EndpointUsageAll, "")
	f.createEndpoint("dst", "files", "https://dst.example/upload", arcv1.EndpointUsagePushOnly, "")
	typeSpec := simpleType(templateSingleStep)
	// A type parameter replaces the one of the same name from the spec.
	typeSpec.Parameters = []arcv1.Parameter{{Name: "specOverridden", Value: "by-the-type"}, {Name: "extra", Value: "x"}}
	f.createArtifactType("nested", typeSpec)

	const spec = `{
	  "image": "library/alpine:3.18",
	  "items": [
	    {"name": "first", "size": 1},
	    {"name": "second", "tags": ["a", "b"], "meta": {"owner": "team-x"}}
	  ],
	  "count": 1000000,
	  "ratio": 0.5,
	  "negative": -42,
	  "enabled": true,
	  "disabled": false,
	  "nothing": null,
	  "emptyObject": {},
	  "emptyList": [],
	  "deep": {"er": {"est": "bottom"}},
	  "with-dash": "d",
	  "with_underscore": "u",
	  "matrix": [[1, 2], [3]],
	  "overridden": "by-the-order",
	  "text": "a b\tc \"quoted\" ünïcode"
	}`
	const orderName = "nested"
	f.createOrder(&arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: orderName},
		Spec: arcv1.OrderSpec{
			Artifacts: []arcv1.OrderArtifact{{Type: "nested", SrcRef: ref("src"), DstRef: ref("dst"), Spec: rawSpec(spec)}},
		},
	})

	// Worked out by hand from README.md, not with pkg/parameters.
	fromSpec := map[string]string{
		"specImage":           "library/alpine:3.18",
		"specItems0Name":      "first",
		"specItems0Size":      "1",
		"specItems1Name":      "second",
		"specItems1Tags0":     "a",
		"specItems1Tags1":     "b",
		"specItems1MetaOwner": "team-x",
		"specCount":           "1000000",
		"specRatio":           "0.5",
		"specNegative":        "-42",
		"specEnabled":         "true",
		"specDisabled":        "false",
		"specNothing":         "",
		"specDeepErEst":       "bottom",
		"specWith-dash":       "d",
		"specWith_underscore": "u",
		"specMatrix00":        "1",
		"specMatrix01":        "2",
		"specMatrix10":        "3",
		"specOverridden":      "by-the-order",
		"specText":            "a b\tc \"quoted\" ünïcode",
	}
	endpoints := map[string]string{
		"srcType":      "oci",
		"srcRemoteURL": "src.example:5000",
		"srcSecret":    "false",
		"dstType":      "files",
		"dstRemoteURL": "https://dst.example/upload",
		"dstSecret":    "false",
	}
	wantAW := map[string]string{}
	wantWF := map[string]string{
		"specOverridden": "by-the-type", "extra": "x",
		// Neither Endpoint has a Secret.
		workflowbuilder.SrcSecretNameParameter: workflowbuilder.NoSecret,
		workflowbuilder.DstSecretNameParameter: workflowbuilder.NoSecret,
	}
	for _, m := range []map[string]string{endpoints, fromSpec} {
		for k, v := range m {
			wantAW[k] = v
			if _, ok := wantWF[k]; !ok {
				wantWF[k] = v
			}
		}
	}

	order := f.waitOrder(orderName, "one ArtifactWorkflow", func(o *arcv1.Order) (bool, string) {
		return len(o.Status.ArtifactWorkflows) == 1, ""
	})
	assert.Empty(t, order.Status.UnresolvedArtifacts)
	name := f.mustEntry(order, 0).Name
	aw, err := s.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).Get(t.Context(), name, metav1.GetOptions{})
	if assert.NoError(t, err) {
		assert.Equal(t, wantAW, artifactWorkflowParameters(aw), "the ArtifactWorkflow's parameters (without the type's)")
		for i := 1; i < len(aw.Spec.Parameters); i++ {
			assert.Less(t, aw.Spec.Parameters[i-1].Name, aw.Spec.Parameters[i].Name, "parameters are sorted by name")
		}
	}

	wf := f.waitWorkflow(name, "created", func(*wfv1.Workflow) (bool, error) { return true, nil })
	assert.Equal(t, wantWF, f.workflowParameters(wf), "the Workflow's parameters (the type's replace the spec's)")

	// Argo accepts these names and values.
	f.waitWorkflowPhase(name, wfv1.WorkflowSucceeded)
	f.waitOrderPhase(orderName, arcv1.OrderPhaseSucceeded)
}

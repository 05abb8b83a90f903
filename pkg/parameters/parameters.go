// Package parameters turns one resolved artifact of an Order into the flat,
// sorted list of workflow parameters its ArtifactWorkflow carries.
//
// An artifact contributes two kinds of parameters:
//
//   - six endpoint parameters (srcType, srcRemoteURL, srcSecret, dstType,
//     dstRemoteURL, dstSecret) taken from its source and destination
//     Endpoints, and
//   - the spec parameters: its free-form JSON spec flattened into camelCase
//     names prefixed with "spec" (see Flatten).
//
// Every spec parameter name starts with "spec" and no endpoint parameter name
// does, so the two kinds can never collide.
//
// The package is pure: its functions depend only on their arguments, hold no
// state between calls and are safe for concurrent use. Equal inputs always give
// equal outputs, which the controller relies on to compare the ArtifactWorkflow
// it wants with the one that exists.
package parameters

import (
	"slices"
	"strings"

	"github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// Names of the endpoint parameters Build adds for every artifact.
const (
	// ParamSrcType is the type of the source Endpoint, e.g. "oci".
	ParamSrcType = "srcType"
	// ParamSrcRemoteURL is the remote URL of the source Endpoint.
	ParamSrcRemoteURL = "srcRemoteURL"
	// ParamSrcSecret is "true" when the source Endpoint names a Secret, so a
	// workflow step knows whether /secret/src holds credentials.
	ParamSrcSecret = "srcSecret"
	// ParamDstType is the type of the destination Endpoint.
	ParamDstType = "dstType"
	// ParamDstRemoteURL is the remote URL of the destination Endpoint.
	ParamDstRemoteURL = "dstRemoteURL"
	// ParamDstSecret is "true" when the destination Endpoint names a Secret, so
	// a workflow step knows whether /secret/dst holds credentials.
	ParamDstSecret = "dstSecret"

	// EndpointParameterCount is how many endpoint parameters Build adds.
	EndpointParameterCount = 6

	// SpecPrefix starts the name of every parameter derived from a spec. No
	// endpoint parameter name starts with it, which is what keeps the two
	// kinds of parameters apart.
	SpecPrefix = "spec"
)

// Build returns the workflow parameters for one artifact, sorted by name.
// spec is the artifact's free-form JSON (nil or empty or JSON `null` means no
// spec parameters); src and dst are its resolved Endpoints.
//
// The result holds the six endpoint parameters of src and dst and the spec
// parameters Flatten derives, all in one name order; it is never empty. An
// invalid spec yields an *Error and no parameters.
func Build(spec []byte, src, dst v1alpha1.EndpointSpec) ([]v1alpha1.Parameter, error) {
	return BuildFrom(spec, InputsOf(src), InputsOf(dst))
}

// EndpointInputs is all Build reads of one Endpoint. Endpoints with equal
// EndpointInputs give equal parameters, so a caller that remembers what
// Build returned may reuse it while the spec and both EndpointInputs are
// unchanged. Build reads an Endpoint only through InputsOf, which keeps the
// two from drifting apart.
type EndpointInputs struct {
	Type, RemoteURL, Secret string
}

// InputsOf returns what Build reads of e.
func InputsOf(e v1alpha1.EndpointSpec) EndpointInputs {
	return EndpointInputs{Type: e.Type, RemoteURL: e.RemoteURL, Secret: secretFlag(e)}
}

// BuildFrom is Build with the Endpoints already reduced to their inputs.
func BuildFrom(spec []byte, src, dst EndpointInputs) ([]v1alpha1.Parameter, error) {
	var f flattener
	if err := f.run(spec); err != nil {
		return nil, err
	}
	// Byte-wise, "dst..." < "spec..." < "src...", and each group below is
	// already in name order, so appending them in this order keeps the result
	// sorted without sorting it again. TestBuild checks this.
	out := make([]v1alpha1.Parameter, 0, f.leaves+EndpointParameterCount)
	out = append(out,
		v1alpha1.Parameter{Name: ParamDstRemoteURL, Value: dst.RemoteURL},
		v1alpha1.Parameter{Name: ParamDstSecret, Value: dst.Secret},
		v1alpha1.Parameter{Name: ParamDstType, Value: dst.Type},
	)
	out = f.appendLeaves(out)
	out = append(out,
		v1alpha1.Parameter{Name: ParamSrcRemoteURL, Value: src.RemoteURL},
		v1alpha1.Parameter{Name: ParamSrcSecret, Value: src.Secret},
		v1alpha1.Parameter{Name: ParamSrcType, Value: src.Type},
	)
	return out, nil
}

// secretFlag tells a workflow whether the Endpoint brings credentials. A
// reference without a name mounts nothing, so it counts as no Secret.
func secretFlag(e v1alpha1.EndpointSpec) string {
	if e.SecretRef != nil && e.SecretRef.Name != "" {
		return "true"
	}
	return "false"
}

// Merge returns base with overrides applied: a parameter in overrides
// replaces the one of the same name in base; the result is sorted by name and
// never holds a name twice. The inputs are not modified. If overrides itself
// holds a name twice, the last one wins; the same goes for base.
//
// Merge returns nil when both lists are empty. The controller uses it to lay
// an ArtifactType's parameters over those Build derived.
func Merge(base, overrides []v1alpha1.Parameter) []v1alpha1.Parameter {
	if len(base)+len(overrides) == 0 {
		return nil
	}
	b, o := sortedUnique(base), sortedUnique(overrides)
	out := make([]v1alpha1.Parameter, 0, len(b)+len(o))
	// Both lists are sorted and unique: one merge pass, taking the override
	// where a name is in both.
	for len(b) > 0 && len(o) > 0 {
		switch c := strings.Compare(b[0].Name, o[0].Name); {
		case c < 0:
			out, b = append(out, b[0]), b[1:]
		case c > 0:
			out, o = append(out, o[0]), o[1:]
		default:
			out, b, o = append(out, o[0]), b[1:], o[1:]
		}
	}
	out = append(out, b...)
	return append(out, o...)
}

// sortedUnique returns params sorted by name with only the last parameter of
// each name. That is params itself when it already is so, as Build's output
// always is, and otherwise a sorted copy; params is never modified.
func sortedUnique(params []v1alpha1.Parameter) []v1alpha1.Parameter {
	if isSortedAndUnique(params) {
		return params
	}
	sorted := slices.Clone(params)
	// A stable sort keeps parameters of the same name in input order, so the
	// last of each run is the one that came last.
	slices.SortStableFunc(sorted, func(a, b v1alpha1.Parameter) int {
		return strings.Compare(a.Name, b.Name)
	})
	return keepLastOfEachName(sorted)
}

// isSortedAndUnique tells whether every name is greater than the one before.
func isSortedAndUnique(params []v1alpha1.Parameter) bool {
	for i := 1; i < len(params); i++ {
		if params[i-1].Name >= params[i].Name {
			return false
		}
	}
	return true
}

// keepLastOfEachName compacts a list sorted by name in place, keeping only the
// last parameter of every run of equal names.
func keepLastOfEachName(sorted []v1alpha1.Parameter) []v1alpha1.Parameter {
	out := sorted[:0]
	for i, p := range sorted {
		// Writing at len(out) <= i never overwrites sorted[i+1], still to be read.
		if i+1 < len(sorted) && sorted[i+1].Name == p.Name {
			continue
		}
		out = append(out, p)
	}
	return out
}

// Size is the number of bytes the parameters take as names and values: what
// they add to an ArtifactWorkflow and to its Workflow. The controller bounds
// it per artifact.
func Size(params []v1alpha1.Parameter) int {
	n := 0
	for _, p := range params {
		n += len(p.Name) + len(p.Value)
	}
	return n
}

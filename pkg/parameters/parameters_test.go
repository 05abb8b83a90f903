package parameters

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// designSpec is the OCI example of the design.
const designSpec = `{"image": "library/alpine:3.18", "override": "myteam/alpine:3.18-dev", "tags": ["latest", "v1.0"]}`

func TestBuild(t *testing.T) {
	dockerHub := v1alpha1.EndpointSpec{Type: "oci", RemoteURL: "registry-1.docker.io"}
	mirror := v1alpha1.EndpointSpec{Type: "oci", RemoteURL: "mirror.example.com"}
	withSecret := func(e v1alpha1.EndpointSpec, name string) v1alpha1.EndpointSpec {
		e.SecretRef = &corev1.LocalObjectReference{Name: name}
		return e
	}

	tests := []struct {
		name     string
		spec     string
		src, dst v1alpha1.EndpointSpec
		want     []v1alpha1.Parameter
	}{
		{
			name: "design example without secrets",
			spec: designSpec,
			src:  dockerHub,
			dst:  mirror,
			want: []v1alpha1.Parameter{
				p("dstRemoteURL", "mirror.example.com"),
				p("dstSecret", "false"),
				p("dstType", "oci"),
				p("specImage", "library/alpine:3.18"),
				p("specOverride", "myteam/alpine:3.18-dev"),
				p("specTags0", "latest"),
				p("specTags1", "v1.0"),
				p("srcRemoteURL", "registry-1.docker.io"),
				p("srcSecret", "false"),
				p("srcType", "oci"),
			},
		},
		{
			name: "secrets on both endpoints set both flags",
			spec: `{"a": 1}`,
			src:  withSecret(dockerHub, "hub-creds"),
			dst:  withSecret(mirror, "mirror-creds"),
			want: []v1alpha1.Parameter{
				p("dstRemoteURL", "mirror.example.com"),
				p("dstSecret", "true"),
				p("dstType", "oci"),
				p("specA", "1"),
				p("srcRemoteURL", "registry-1.docker.io"),
				p("srcSecret", "true"),
				p("srcType", "oci"),
			},
		},
		{
			name: "a secret on the source only sets only srcSecret",
			src:  withSecret(dockerHub, "hub-creds"),
			dst:  v1alpha1.EndpointSpec{Type: "helm", RemoteURL: "https://charts.example.com"},
			want: []v1alpha1.Parameter{
				p("dstRemoteURL", "https://charts.example.com"),
				p("dstSecret", "false"),
				p("dstType", "helm"),
				p("srcRemoteURL", "registry-1.docker.io"),
				p("srcSecret", "true"),
				p("srcType", "oci"),
			},
		},
		{
			name: "a secret reference without a name counts as no secret",
			spec: "null",
			src:  dockerHub,
			dst:  withSecret(mirror, ""),
			want: []v1alpha1.Parameter{
				p("dstRemoteURL", "mirror.example.com"),
				p("dstSecret", "false"),
				p("dstType", "oci"),
				p("srcRemoteURL", "registry-1.docker.io"),
				p("srcSecret", "false"),
				p("srcType", "oci"),
			},
		},
		{
			name: "spec names sort between the dst and src names whatever they are",
			spec: `{"-": 1, "0": 2, "Z": 3, "_": 4, "zzz": 5}`,
			src:  dockerHub,
			dst:  mirror,
			want: []v1alpha1.Parameter{
				p("dstRemoteURL", "mirror.example.com"),
				p("dstSecret", "false"),
				p("dstType", "oci"),
				p("spec-", "1"),
				p("spec0", "2"),
				p("specZ", "3"),
				p("specZzz", "5"),
				p("spec_", "4"),
				p("srcRemoteURL", "registry-1.docker.io"),
				p("srcSecret", "false"),
				p("srcType", "oci"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Build([]byte(tt.spec), tt.src, tt.dst)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.True(t, slices.IsSortedFunc(got, byName), "Build must return parameters sorted by name")
		})
	}
}

func TestBuildRejectsAnInvalidSpec(t *testing.T) {
	got, err := Build([]byte(`{"a.b": 1}`), v1alpha1.EndpointSpec{}, v1alpha1.EndpointSpec{})
	assert.Nil(t, got)
	var perr *Error
	require.True(t, errors.As(err, &perr))
	assert.Equal(t, "spec", perr.Path)
}

func TestEndpointParameterNamesCannotBeSpecNames(t *testing.T) {
	names := []string{ParamSrcType, ParamSrcRemoteURL, ParamSrcSecret, ParamDstType, ParamDstRemoteURL, ParamDstSecret}
	assert.Len(t, names, EndpointParameterCount)
	for _, n := range names {
		assert.False(t, strings.HasPrefix(n, SpecPrefix), "%s would clash with spec parameters", n)
	}
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name            string
		base, overrides []v1alpha1.Parameter
		want            []v1alpha1.Parameter
	}{
		{
			name: "both empty gives nil",
		},
		{
			name: "no overrides gives base",
			base: []v1alpha1.Parameter{p("a", "1"), p("b", "2")},
			want: []v1alpha1.Parameter{p("a", "1"), p("b", "2")},
		},
		{
			name:      "no base gives the overrides",
			overrides: []v1alpha1.Parameter{p("a", "1")},
			want:      []v1alpha1.Parameter{p("a", "1")},
		},
		{
			name:      "an override replaces the base parameter of the same name",
			base:      []v1alpha1.Parameter{p("a", "1"), p("b", "2"), p("c", "3")},
			overrides: []v1alpha1.Parameter{p("b", "override")},
			want:      []v1alpha1.Parameter{p("a", "1"), p("b", "override"), p("c", "3")},
		},
		{
			name:      "an override may set an empty value",
			base:      []v1alpha1.Parameter{p("a", "1")},
			overrides: []v1alpha1.Parameter{p("a", "")},
			want:      []v1alpha1.Parameter{p("a", "")},
		},
		{
			name:      "new names are added in name order",
			base:      []v1alpha1.Parameter{p("b", "2"), p("d", "4")},
			overrides: []v1alpha1.Parameter{p("e", "5"), p("a", "1"), p("c", "3")},
			want:      []v1alpha1.Parameter{p("a", "1"), p("b", "2"), p("c", "3"), p("d", "4"), p("e", "5")},
		},
		{
			name:      "unsorted inputs give a sorted result",
			base:      []v1alpha1.Parameter{p("z", "1"), p("m", "2"), p("a", "3")},
			overrides: []v1alpha1.Parameter{p("q", "4"), p("b", "5")},
			want:      []v1alpha1.Parameter{p("a", "3"), p("b", "5"), p("m", "2"), p("q", "4"), p("z", "1")},
		},
		{
			name:      "the last of a name repeated in overrides wins",
			base:      []v1alpha1.Parameter{p("a", "base")},
			overrides: []v1alpha1.Parameter{p("a", "first"), p("b", "x"), p("a", "last")},
			want:      []v1alpha1.Parameter{p("a", "last"), p("b", "x")},
		},
		{
			name: "a name repeated in base appears once, the last one",
			base: []v1alpha1.Parameter{p("a", "first"), p("b", "x"), p("a", "last")},
			want: []v1alpha1.Parameter{p("a", "last"), p("b", "x")},
		},
		{
			name:      "names are compared byte-wise, case matters",
			base:      []v1alpha1.Parameter{p("a", "1"), p("B", "2")},
			overrides: []v1alpha1.Parameter{p("A", "3"), p("_", "4")},
			want:      []v1alpha1.Parameter{p("A", "3"), p("B", "2"), p("_", "4"), p("a", "1")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, overrides := slices.Clone(tt.base), slices.Clone(tt.overrides)

			got := Merge(base, overrides)

			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.base, base, "Merge must not modify base")
			assert.Equal(t, tt.overrides, overrides, "Merge must not modify overrides")
		})
	}
}

func TestMergeResultDoesNotShareStorageWithInputs(t *testing.T) {
	base := []v1alpha1.Parameter{p("a", "1")}
	got := Merge(base, nil)
	got[0].Value = "changed"
	assert.Equal(t, "1", base[0].Value)
}

// byName orders parameters by name, byte-wise.
func byName(a, b v1alpha1.Parameter) int {
	return strings.Compare(a.Name, b.Name)
}

// TestInputsOfDecidesBuild holds InputsOf to what Build reads: two Endpoints
// give equal parameters exactly when their inputs are equal, so the
// controller may reuse parameters while the inputs compare equal.
func TestInputsOfDecidesBuild(t *testing.T) {
	base := v1alpha1.EndpointSpec{Type: "oci", RemoteURL: "registry-1.docker.io", Usage: v1alpha1.EndpointUsagePullOnly}
	edit := func(f func(*v1alpha1.EndpointSpec)) v1alpha1.EndpointSpec {
		e := base
		f(&e)
		return e
	}
	tests := []struct {
		name  string
		other v1alpha1.EndpointSpec
		same  bool
	}{
		{"identical", base, true},
		{"usage is not a parameter", edit(func(e *v1alpha1.EndpointSpec) { e.Usage = "" }), true},
		{"a reference without a name is no Secret", edit(func(e *v1alpha1.EndpointSpec) { e.SecretRef = &corev1.LocalObjectReference{} }), true},
		{"remote URL", edit(func(e *v1alpha1.EndpointSpec) { e.RemoteURL = "mirror.example.com" }), false},
		{"type", edit(func(e *v1alpha1.EndpointSpec) { e.Type = "helm" }), false},
		{"a Secret", edit(func(e *v1alpha1.EndpointSpec) { e.SecretRef = &corev1.LocalObjectReference{Name: "creds"} }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, asSrc := range []bool{true, false} {
				a, errA := Build([]byte(designSpec), base, base)
				var b []v1alpha1.Parameter
				var errB error
				if asSrc {
					b, errB = Build([]byte(designSpec), tt.other, base)
				} else {
					b, errB = Build([]byte(designSpec), base, tt.other)
				}
				require.NoError(t, errA)
				require.NoError(t, errB)
				assert.Equal(t, tt.same, InputsOf(base) == InputsOf(tt.other))
				assert.Equal(t, tt.same, slices.Equal(a, b), "parameters with the Endpoint as source=%v", asSrc)
			}
		})
	}
}

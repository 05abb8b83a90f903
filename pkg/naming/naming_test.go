package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// z7 is seven zero bytes: with one more byte it makes an 8-byte big-endian
// length below 256, written out by hand in the pinned encodings.
const z7 = "\x00\x00\x00\x00\x00\x00\x00"

// hexHash matches a work hash.
var hexHash = regexp.MustCompile(`^[0-9a-f]{16}$`)

func param(name, value string) v1alpha1.Parameter {
	return v1alpha1.Parameter{Name: name, Value: value}
}

func secret(name string) *corev1.LocalObjectReference {
	return &corev1.LocalObjectReference{Name: name}
}

// pinnedSpec is the fixed input of TestHashIsPinned. Its parameters are out
// of order on purpose: the encoding sorts them.
func pinnedSpec() *v1alpha1.ArtifactWorkflowSpec {
	return &v1alpha1.ArtifactWorkflowSpec{
		Type: "oci-copy",
		Parameters: []v1alpha1.Parameter{
			param("srcType", "oci"),
			param("dstType", "oci"),
			param("specImage", "library/alpine:3.18"),
		},
		SrcSecretRef: secret("hub-creds"),
	}
}

// TestHashIsPinned fails when the hash of a fixed input changes. The hash keys
// the work in Order status and labels, so a change would make the controller
// lose track of existing ArtifactWorkflows on upgrade. The expected bytes are
// written out by hand, and the expected hashes were computed from them
// outside Go, with printf and sha256sum.
func TestHashIsPinned(t *testing.T) {
	tests := []struct {
		name         string
		orderName    string
		spec         *v1alpha1.ArtifactWorkflowSpec
		wantEncoding string
		wantHash     string
	}{
		{
			name:      "spec with parameters and a source secret",
			orderName: "release-2024.01",
			spec:      pinnedSpec(),
			wantEncoding: z7 + "\x17arc-artifactworkflow-v1" +
				z7 + "\x0frelease-2024.01" +
				z7 + "\x08oci-copy" +
				z7 + "\x03" + // three parameters, in name order:
				z7 + "\x07dstType" + z7 + "\x03oci" +
				z7 + "\x09specImage" + z7 + "\x13library/alpine:3.18" +
				z7 + "\x07srcType" + z7 + "\x03oci" +
				z7 + "\x09hub-creds" +
				z7 + "\x00",
			// printf '<the bytes above>' | sha256sum
			wantHash: "61048049aa413b62",
		},
		{
			name:      "nil spec",
			orderName: "o",
			wantEncoding: z7 + "\x17arc-artifactworkflow-v1" +
				z7 + "\x01o" +
				z7 + "\x00" + // type
				z7 + "\x00" + // no parameters
				z7 + "\x00" + // no source secret
				z7 + "\x00", // no destination secret
			wantHash: "6965db845ea40145",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, []byte(tt.wantEncoding), canonicalEncoding(tt.orderName, tt.spec))

			sum := sha256.Sum256([]byte(tt.wantEncoding))
			require.Equal(t, tt.wantHash, hex.EncodeToString(sum[:])[:HashLength], "the pinned hash must be the SHA-256 of the pinned bytes")

			_, hash := ArtifactWorkflow(tt.orderName, tt.spec)
			assert.Equal(t, tt.wantHash, hash)
		})
	}
}

func TestArtifactWorkflowName(t *testing.T) {
	long253 := strings.Repeat("a", 61) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63)
	require.Len(t, long253, 253)

	tests := []struct {
		name       string
		orderName  string
		wantPrefix string
	}{
		{name: "short order name is kept whole", orderName: "my-order", wantPrefix: "my-order"},
		{name: "dots become dashes", orderName: "release.v1.2", wantPrefix: "release-v1-2"},
		{name: "order name of exactly the prefix length is kept whole", orderName: strings.Repeat("x", 46), wantPrefix: strings.Repeat("x", 46)},
		{name: "order name one longer than the prefix length is cut", orderName: strings.Repeat("x", 46) + "y", wantPrefix: strings.Repeat("x", 46)},
		{name: "253-character order name is cut to the prefix length", orderName: long253, wantPrefix: strings.Repeat("a", 46)},
		{name: "a dot where the cut falls is trimmed", orderName: strings.Repeat("a", 45) + ".b", wantPrefix: strings.Repeat("a", 45)},
		{name: "several separators before the cut are trimmed", orderName: strings.Repeat("a", 43) + "-.-.b", wantPrefix: strings.Repeat("a", 43)},
		{name: "a dot right after the cut leaves the prefix whole", orderName: strings.Repeat("a", 46) + ".b", wantPrefix: strings.Repeat("a", 46)},
		{name: "upper case and characters of no label are made valid", orderName: "My_Order+Ü", wantPrefix: "my-order"},
		{name: "a leading separator is trimmed", orderName: ".hidden", wantPrefix: "hidden"},
		{name: "nothing usable left falls back to aw", orderName: "...", wantPrefix: "aw"},
		{name: "empty order name falls back to aw", orderName: "", wantPrefix: "aw"},
		{name: "digits may start the name", orderName: "2024.release", wantPrefix: "2024-release"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, hash := ArtifactWorkflow(tt.orderName, pinnedSpec())

			assert.Regexp(t, hexHash, hash)
			assert.Equal(t, tt.wantPrefix+"-"+hash, name)
			assert.LessOrEqual(t, len(name), MaxNameLength)
			assert.Empty(t, validation.IsDNS1123Label(name))
		})
	}
}

func TestNameOfLongestPrefixIsExactlyMaxNameLength(t *testing.T) {
	name, _ := ArtifactWorkflow(strings.Repeat("a", 253), pinnedSpec())
	assert.Len(t, name, MaxNameLength)
}

func TestHashIgnoresParameterOrder(t *testing.T) {
	spec := pinnedSpec()
	original := slices.Clone(spec.Parameters)
	_, want := ArtifactWorkflow("order", spec)

	reordered := pinnedSpec()
	slices.Reverse(reordered.Parameters)
	_, got := ArtifactWorkflow("order", reordered)

	assert.Equal(t, want, got)
	assert.Equal(t, original, spec.Parameters, "ArtifactWorkflow must not reorder the input")
}

func TestHashOfNilSpecEqualsHashOfEmptySpec(t *testing.T) {
	nameNil, hashNil := ArtifactWorkflow("order", nil)
	nameEmpty, hashEmpty := ArtifactWorkflow("order", &v1alpha1.ArtifactWorkflowSpec{})
	assert.Equal(t, hashEmpty, hashNil)
	assert.Equal(t, nameEmpty, nameNil)
}

func TestHashTreatsSecretWithoutNameAsNone(t *testing.T) {
	without := pinnedSpec()
	without.SrcSecretRef = nil
	withEmpty := pinnedSpec()
	withEmpty.SrcSecretRef = secret("")
	_, want := ArtifactWorkflow("order", without)
	_, got := ArtifactWorkflow("order", withEmpty)
	assert.Equal(t, want, got)
}

func TestHashChangesWithEveryField(t *testing.T) {
	tests := []struct {
		name      string
		orderName string
		change    func(*v1alpha1.ArtifactWorkflowSpec)
	}{
		{name: "order name", orderName: "other-order"},
		{name: "order name differing only in a dot", orderName: "order.a"},
		{name: "type", change: func(s *v1alpha1.ArtifactWorkflowSpec) { s.Type = "helm-copy" }},
		{name: "a parameter value", change: func(s *v1alpha1.ArtifactWorkflowSpec) { s.Parameters[2].Value = "library/alpine:3.19" }},
		{name: "a parameter name", change: func(s *v1alpha1.ArtifactWorkflowSpec) { s.Parameters[2].Name = "specImages" }},
		{name: "an added parameter", change: func(s *v1alpha1.ArtifactWorkflowSpec) {
			s.Parameters = append(s.Parameters, param("specTag", ""))
		}},
		{name: "a removed parameter", change: func(s *v1alpha1.ArtifactWorkflowSpec) { s.Parameters = s.Parameters[1:] }},
		{name: "no parameters at all", change: func(s *v1alpha1.ArtifactWorkflowSpec) { s.Parameters = nil }},
		{name: "a character moved from a parameter name to its value", change: func(s *v1alpha1.ArtifactWorkflowSpec) {
			s.Parameters[1] = param("dstTyp", "eoci")
		}},
		{name: "the source secret name", change: func(s *v1alpha1.ArtifactWorkflowSpec) { s.SrcSecretRef = secret("other-creds") }},
		{name: "no source secret", change: func(s *v1alpha1.ArtifactWorkflowSpec) { s.SrcSecretRef = nil }},
		{name: "a destination secret", change: func(s *v1alpha1.ArtifactWorkflowSpec) { s.DstSecretRef = secret("mirror-creds") }},
		{name: "the secret moved from source to destination", change: func(s *v1alpha1.ArtifactWorkflowSpec) {
			s.SrcSecretRef, s.DstSecretRef = nil, secret("hub-creds")
		}},
		{name: "the type moved into the order name", orderName: "order" + "oci-copy", change: func(s *v1alpha1.ArtifactWorkflowSpec) { s.Type = "" }},
	}

	_, base := ArtifactWorkflow("order", pinnedSpec())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orderName, spec := "order", pinnedSpec()
			if tt.orderName != "" {
				orderName = tt.orderName
			}
			if tt.change != nil {
				tt.change(spec)
			}
			name, hash := ArtifactWorkflow(orderName, spec)
			assert.NotEqual(t, base, hash)
			assert.True(t, strings.HasSuffix(name, "-"+hash))
		})
	}
}

func TestOrdersSharingThePrefixGetDifferentNames(t *testing.T) {
	shared := strings.Repeat("p", 46)
	nameA, _ := ArtifactWorkflow(shared+"-a", pinnedSpec())
	nameB, _ := ArtifactWorkflow(shared+"-b", pinnedSpec())
	require.Equal(t, nameA[:47], nameB[:47], "both names should start with the same prefix")
	assert.NotEqual(t, nameA, nameB)
}

// TestNamesOfGeneratedOrdersAreValid checks, over many Order names made by a
// seeded generator, that every name is a DNS-1123 label of at most
// MaxNameLength characters, and that distinct Orders get distinct names.
func TestNamesOfGeneratedOrdersAreValid(t *testing.T) {
	rng := rand.New(rand.NewPCG(2024, 1))
	const subdomainChars = "abcdefghijklmnopqrstuvwxyz0123456789-."
	const anyChars = subdomainChars + "ABCXYZ_/ é\x00"

	seen := map[string]string{}
	for i := range 20000 {
		alphabet := subdomainChars
		if i%4 == 0 {
			alphabet = anyChars // what a valid Order never has, to be safe anyway
		}
		orderName := randomString(rng, alphabet, rng.IntN(254))

		name, hash := ArtifactWorkflow(orderName, pinnedSpec())

		require.LessOrEqual(t, len(name), MaxNameLength, "order %q", orderName)
		require.Empty(t, validation.IsDNS1123Label(name), "order %q gave %q", orderName, name)
		require.Regexp(t, hexHash, hash)
		if other, dup := seen[name]; dup {
			require.Equal(t, other, orderName, "two orders got the name %q", name)
		}
		seen[name] = orderName
	}
}

func randomString(rng *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

func BenchmarkArtifactWorkflow(b *testing.B) {
	spec := pinnedSpec()
	for i := range 40 {
		spec.Parameters = append(spec.Parameters, param("specKey"+strings.Repeat("x", i), "some value"))
	}
	b.ReportAllocs()
	for b.Loop() {
		ArtifactWorkflow("release-2024.01.nightly", spec)
	}
}

func TestArtifactIdentity(t *testing.T) {
	base := ArtifactIdentity("oci", "dockerhub", "internal", []byte(`{"image":"library/alpine:3.18","tags":[1,2]}`))
	cases := []struct {
		name string
		id   string
		same bool
	}{
		{"key order and white space do not matter", ArtifactIdentity("oci", "dockerhub", "internal", []byte(`{ "tags": [1, 2], "image": "library/alpine:3.18" }`)), true},
		{"another type is another artifact", ArtifactIdentity("helm", "dockerhub", "internal", []byte(`{"image":"library/alpine:3.18","tags":[1,2]}`)), false},
		{"another source is another artifact", ArtifactIdentity("oci", "quay", "internal", []byte(`{"image":"library/alpine:3.18","tags":[1,2]}`)), false},
		{"another destination is another artifact", ArtifactIdentity("oci", "dockerhub", "mirror", []byte(`{"image":"library/alpine:3.18","tags":[1,2]}`)), false},
		{"another spec is another artifact", ArtifactIdentity("oci", "dockerhub", "internal", []byte(`{"image":"library/alpine:3.19","tags":[1,2]}`)), false},
		{"numbers keep their spelling", ArtifactIdentity("oci", "dockerhub", "internal", []byte(`{"image":"library/alpine:3.18","tags":[1.0,2]}`)), false},
		{"fields cannot be shifted between type, source and destination", ArtifactIdentity("ocidockerhub", "", "internal", []byte(`{"image":"library/alpine:3.18","tags":[1,2]}`)), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Len(t, tc.id, HashLength)
			if tc.same {
				assert.Equal(t, base, tc.id)
			} else {
				assert.NotEqual(t, base, tc.id)
			}
		})
	}
}

package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/validation"
)

// z7 is seven zero bytes: with one more byte it makes an 8-byte big-endian
// length below 256, written out by hand in the pinned encodings.
const z7 = "\x00\x00\x00\x00\x00\x00\x00"

// hexHash matches a work hash.
var hexHash = regexp.MustCompile(`^[0-9a-f]{16}$`)

// TestHashIsPinned fails when the hash of a fixed input changes. The hash keys
// the work in Order status and labels, so a change would make the controller
// lose track of existing ArtifactWorkflows on upgrade. The expected bytes are
// written out by hand, and the expected hashes were computed from them
// outside Go, with printf and sha256sum.
func TestHashIsPinned(t *testing.T) {
	tests := []struct {
		name         string
		orderUID     string
		identity     string
		wantEncoding string
		wantHash     string
	}{
		{
			name:         "an Order's UID and an artifact identity",
			orderUID:     "uid1",
			identity:     "000000000000abcd",
			wantEncoding: z7 + "\x17arc-artifactworkflow-v2" + z7 + "\x04uid1" + z7 + "\x10000000000000abcd",
			wantHash:     "33ace85b662a6edd",
		},
		{
			name:         "empty fields are encoded by their zero length",
			wantEncoding: z7 + "\x17arc-artifactworkflow-v2" + z7 + "\x00" + z7 + "\x00",
			wantHash:     "f7629a5bcb640e90",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := appendField(appendField(appendField(nil, hashDomain), tt.orderUID), tt.identity)
			require.Equal(t, tt.wantEncoding, string(buf))
			sum := sha256.Sum256(buf)
			require.Equal(t, tt.wantHash, hex.EncodeToString(sum[:])[:HashLength])
			_, hash := ArtifactWorkflow("order", tt.orderUID, tt.identity)
			assert.Equal(t, tt.wantHash, hash)
		})
	}
}

const (
	testUID      = "6f1c2d3e-0000-4000-8000-000000000001"
	testIdentity = "0123456789abcdef"
)

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
		{name: "upper case and characters of no label are made valid", orderName: "My_Order+Ü", wantPrefix: "my-order"},
		{name: "a leading separator is trimmed", orderName: ".hidden", wantPrefix: "hidden"},
		{name: "nothing usable left falls back to aw", orderName: "...", wantPrefix: "aw"},
		{name: "empty order name falls back to aw", orderName: "", wantPrefix: "aw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, hash := ArtifactWorkflow(tt.orderName, testUID, testIdentity)

			assert.Regexp(t, hexHash, hash)
			assert.Equal(t, tt.wantPrefix+"-"+hash, name)
			assert.LessOrEqual(t, len(name), MaxNameLength)
			assert.Empty(t, validation.IsDNS1123Label(name))
		})
	}
}

func TestNameDependsOnUIDAndIdentityOnly(t *testing.T) {
	base, baseHash := ArtifactWorkflow("order", testUID, testIdentity)
	tests := []struct {
		name               string
		orderName, uid, id string
		wantSameHash       bool
	}{
		{name: "the same Order and artifact give the same name", orderName: "order", uid: testUID, id: testIdentity, wantSameHash: true},
		{name: "an Order re-created under the same name gets new names", orderName: "order", uid: "6f1c2d3e-0000-4000-8000-000000000002", id: testIdentity},
		{name: "another artifact gets another name", orderName: "order", uid: testUID, id: "fedcba9876543210"},
		{name: "fields cannot be shifted between UID and identity", orderName: "order", uid: testUID + "0", id: testIdentity[1:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, hash := ArtifactWorkflow(tt.orderName, tt.uid, tt.id)
			if tt.wantSameHash {
				assert.Equal(t, base, name)
				assert.Equal(t, baseHash, hash)
				return
			}
			assert.NotEqual(t, baseHash, hash)
			assert.NotEqual(t, base, name)
		})
	}
}

func TestWorkflowName(t *testing.T) {
	longest, _ := ArtifactWorkflow(strings.Repeat("a", 253), testUID, testIdentity)
	require.Len(t, longest, MaxNameLength)
	short, _ := ArtifactWorkflow("order", testUID, testIdentity)
	tests := []struct {
		name   string
		awName string
		run    int64
		want   string
	}{
		{name: "run 0 is the ArtifactWorkflow's own name", awName: short, run: 0, want: short},
		{name: "a re-run appends its number", awName: short, run: 3, want: short + "-3"},
		{name: "a re-run of a longest name cuts the prefix, not the hash", awName: longest, run: 12,
			want: strings.Repeat("a", 43) + longest[46:] + "-12"},
		{name: "a huge run number still fits", awName: longest, run: 1 << 62,
			want: strings.Repeat("a", 26) + longest[46:] + "-4611686018427387904"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Workflow(tt.awName, tt.run)
			assert.Equal(t, tt.want, got)
			assert.LessOrEqual(t, len(got), MaxNameLength)
			assert.Empty(t, validation.IsDNS1123Label(got))
		})
	}
}

func TestCronWorkflowName(t *testing.T) {
	longest, _ := ArtifactWorkflow(strings.Repeat("a", 253), testUID, testIdentity)
	short, _ := ArtifactWorkflow("order", testUID, testIdentity)
	tests := []struct {
		name   string
		awName string
		want   string
	}{
		{name: "a short name is the ArtifactWorkflow's own", awName: short, want: short},
		{name: "a longest name is cut before its hash", awName: longest, want: strings.Repeat("a", 35) + longest[46:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CronWorkflow(tt.awName)
			assert.Equal(t, tt.want, got)
			assert.LessOrEqual(t, len(got), MaxCronWorkflowNameLength)
			// Argo names a run "<name>-<Unix seconds>"; it must be a label.
			assert.Empty(t, validation.IsDNS1123Label(got+"-1767225600"))
		})
	}
}

func TestWorkflowNamesOfRunsAreDistinct(t *testing.T) {
	longest, _ := ArtifactWorkflow(strings.Repeat("a", 253), testUID, testIdentity)
	seen := map[string]int64{}
	for run := range int64(2000) {
		name := Workflow(longest, run)
		if other, dup := seen[name]; dup {
			t.Fatalf("runs %d and %d share the Workflow name %q", other, run, name)
		}
		seen[name] = run
	}
}

// TestNamesOfGeneratedOrdersAreValid checks, over many Order names made by a
// seeded generator, that every name is a DNS-1123 label of at most
// MaxNameLength characters, also for re-runs.
func TestNamesOfGeneratedOrdersAreValid(t *testing.T) {
	rng := rand.New(rand.NewPCG(2024, 1))
	const subdomainChars = "abcdefghijklmnopqrstuvwxyz0123456789-."
	const anyChars = subdomainChars + "ABCXYZ_/ é\x00"
	for i := range 20000 {
		alphabet := subdomainChars
		if i%4 == 0 {
			alphabet = anyChars // what a valid Order never has, to be safe anyway
		}
		orderName := randomString(rng, alphabet, rng.IntN(254))
		name, hash := ArtifactWorkflow(orderName, testUID, testIdentity)
		require.LessOrEqual(t, len(name), MaxNameLength, "order %q", orderName)
		require.Empty(t, validation.IsDNS1123Label(name), "order %q gave %q", orderName, name)
		require.Regexp(t, hexHash, hash)
		wf := Workflow(name, rng.Int64N(1<<40))
		require.Empty(t, validation.IsDNS1123Label(wf), "order %q gave Workflow %q", orderName, wf)
	}
}

func randomString(rng *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

func TestArtifactIdentity(t *testing.T) {
	base := ArtifactIdentity("oci", "dockerhub", "internal", []byte(`{"image":"library/alpine:3.18","tags":[1,2]}`))
	// Identities are kept in the annotations of existing ArtifactWorkflows:
	// one computed differently after an upgrade would orphan them.
	assert.Equal(t, "86ff6933d4cfd8a7", base, "the identity of the same artifact changed")
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

package parameters

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// largeSpecKeys is the size of the large benchmark spec: 300 parameters,
// close to MaxParameters, the most a spec may flatten into.
const largeSpecKeys = 300

// largeSpec returns a spec with keys parameters: 60% top-level strings, the
// rest in objects of one string, one number and a three-element array.
func largeSpec(keys int) string {
	var b strings.Builder
	b.WriteByte('{')
	flat := keys * 6 / 10
	for i := range flat {
		fmt.Fprintf(&b, `"key%04d": "value-%d",`, i, i)
	}
	for i := 0; flat+5*(i+1) <= keys; i++ {
		fmt.Fprintf(&b, `"obj%03d": {"name": "component-%d", "size": %d, "tags": ["a", "b", "c"]},`, i, i, i*1000)
	}
	// Drop the last comma.
	s := strings.TrimSuffix(b.String(), ",")
	return s + "}"
}

func TestLargeSpecHasTheAdvertisedSize(t *testing.T) {
	got, err := Flatten([]byte(largeSpec(largeSpecKeys)))
	require.NoError(t, err)
	require.Len(t, got, largeSpecKeys)
}

func BenchmarkBuildTypical(b *testing.B) {
	spec := []byte(designSpec)
	src := v1alpha1.EndpointSpec{Type: "oci", RemoteURL: "registry-1.docker.io", SecretRef: &corev1.LocalObjectReference{Name: "hub"}}
	dst := v1alpha1.EndpointSpec{Type: "oci", RemoteURL: "mirror.example.com"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(spec, src, dst); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFlattenLarge(b *testing.B) {
	spec := []byte(largeSpec(largeSpecKeys))
	b.SetBytes(int64(len(spec)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Flatten(spec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMerge(b *testing.B) {
	// What the controller merges: Build's output for a spec of some size and
	// an ArtifactType's few parameters, some of which override.
	base, err := Build([]byte(largeSpec(50)), v1alpha1.EndpointSpec{Type: "oci"}, v1alpha1.EndpointSpec{Type: "oci"})
	require.NoError(b, err)
	overrides := []v1alpha1.Parameter{
		{Name: "platform", Value: "linux/amd64"},
		{Name: "dstType", Value: "oci-archive"},
		{Name: "retries", Value: "3"},
		{Name: "specKey0001", Value: "pinned"},
		{Name: "verify", Value: "true"},
	}
	b.ReportAllocs()
	for b.Loop() {
		Merge(base, overrides)
	}
}

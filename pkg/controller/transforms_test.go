package controller

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// The cache keeps what ARC reads of an Order applied with kubectl (its
// re-run annotations among them), not the copy of its spec kubectl keeps.
func TestStripManagedFieldsDropsWhatARCNeverReads(t *testing.T) {
	order := &arcv1.Order{ObjectMeta: metav1.ObjectMeta{
		Name: "mirror",
		Annotations: map[string]string{
			lastAppliedAnnotation:         `{"spec":{"artifacts":[]}}`,
			arcv1.AnnotationForceAt:       "1700000000",
			arcv1.AnnotationRerunFailedAt: "1700000001",
		},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
	}}
	out, err := StripManagedFields(order)
	require.NoError(t, err)
	got := out.(*arcv1.Order)
	assert.Nil(t, got.ManagedFields)
	assert.Equal(t, map[string]string{arcv1.AnnotationForceAt: "1700000000", arcv1.AnnotationRerunFailedAt: "1700000001"}, got.Annotations)

	plain := &arcv1.Order{ObjectMeta: metav1.ObjectMeta{Name: "plain"}}
	out, err = StripManagedFields(plain)
	require.NoError(t, err)
	assert.Nil(t, out.(*arcv1.Order).Annotations, "an object without annotations keeps none")
}

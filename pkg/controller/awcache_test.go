package controller

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/reference"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

var isController = true

// labelledArtifactWorkflow is an ArtifactWorkflow as the Order controller
// makes it, with a label and an annotation of someone else's.
func labelledArtifactWorkflow() *arcv1.ArtifactWorkflow {
	return &arcv1.ArtifactWorkflow{
		ObjectMeta: metav1.ObjectMeta{
			Name: "alpine-0123", Namespace: "team-a", UID: "uid-aw", ResourceVersion: "7",
			Labels: map[string]string{
				arcv1.LabelManagedBy: arcv1.ManagedByValue, arcv1.LabelOrderUID: "uid-order",
				arcv1.LabelArtifactHash: "0123", "team": "platform",
			},
			Annotations: map[string]string{
				arcv1.AnnotationOrderName: "alpine", AnnotationArtifactIndex: "4",
				AnnotationArtifactIdentities: "id-a,id-b", "note": "by hand",
			},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "arc.opendefense.cloud/v1alpha1", Kind: "Order", Name: "alpine", UID: "uid-order", Controller: &isController}},
		},
		Spec:   arcv1.ArtifactWorkflowSpec{Type: "oci", Parameters: []arcv1.Parameter{{Name: "a", Value: "1"}}},
		Status: arcv1.ArtifactWorkflowStatus{Phase: arcv1.WorkflowPhaseRunning},
	}
}

func TestCacheArtifactWorkflowKeepsARCsLabelsAsFields(t *testing.T) {
	aw := labelledArtifactWorkflow()
	want := aw.DeepCopy()
	cached := CacheArtifactWorkflow(aw)

	assert.Equal(t, want, aw, "the input keeps its values")
	assert.Nil(t, cached.Labels, "no label map is cached")
	assert.Nil(t, cached.Annotations, "no annotation map is cached")
	assert.Equal(t, want.Spec, cached.Spec)
	assert.Equal(t, want.Status, cached.Status)
	assert.Equal(t, want.OwnerReferences, cached.OwnerReferences)
	assert.Equal(t, arcv1.ManagedByValue, cached.ManagedBy())
	assert.Equal(t, "uid-order", cached.OrderUID())
	assert.Equal(t, "alpine", cached.OrderName())
	assert.Equal(t, "0123", cached.ArtifactHash())
	assert.Equal(t, "id-a,id-b", cached.ArtifactIdentities())
	assert.Equal(t, "4", cached.ArtifactIndex())
}

func TestStatusKeyIsTheArtifactHashOrElseTheName(t *testing.T) {
	aw := labelledArtifactWorkflow()
	assert.Equal(t, "0123", CacheArtifactWorkflow(aw.DeepCopy()).StatusKey())

	delete(aw.Labels, arcv1.LabelArtifactHash)
	assert.Equal(t, aw.Name, CacheArtifactWorkflow(aw).StatusKey(), "without the label, the name")
}

func TestArtifactIndexOfAMissingOrBrokenAnnotationIsEmpty(t *testing.T) {
	for _, tc := range []struct {
		name, value, want string
	}{
		{"a number", "12", "12"},
		{"zero", "0", "0"},
		{"missing", "", ""},
		{"not a number", "twelve", ""},
		{"negative", "-1", ""},
		{"past int32", "4294967296", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aw := labelledArtifactWorkflow()
			aw.Annotations[AnnotationArtifactIndex] = tc.value
			assert.Equal(t, tc.want, CacheArtifactWorkflow(aw).ArtifactIndex())
		})
	}
}

func TestRestoredGivesBackARCsLabelsAndAnnotationsOnly(t *testing.T) {
	restored := CacheArtifactWorkflow(labelledArtifactWorkflow()).Restored()
	assert.Equal(t, map[string]string{
		arcv1.LabelManagedBy: arcv1.ManagedByValue, arcv1.LabelOrderUID: "uid-order", arcv1.LabelArtifactHash: "0123",
	}, restored.Labels)
	assert.Equal(t, map[string]string{
		arcv1.AnnotationOrderName: "alpine", AnnotationArtifactIndex: "4", AnnotationArtifactIdentities: "id-a,id-b",
	}, restored.Annotations)

	bare := CacheArtifactWorkflow(&arcv1.ArtifactWorkflow{ObjectMeta: metav1.ObjectMeta{Name: "x"}}).Restored()
	assert.Empty(t, bare.Labels, "labels it did not have are not made up")
	assert.Empty(t, bare.Annotations, "annotations it did not have are not made up")
}

func TestSameARCMetadataComparesEveryField(t *testing.T) {
	base := CacheArtifactWorkflow(labelledArtifactWorkflow())
	assert.True(t, base.SameARCMetadata(CacheArtifactWorkflow(labelledArtifactWorkflow())), "equal values decoded apart")
	for _, edit := range []struct {
		name string
		key  string
		in   func(*arcv1.ArtifactWorkflow) map[string]string
	}{
		{"managed-by", arcv1.LabelManagedBy, labelsOf},
		{"order UID", arcv1.LabelOrderUID, labelsOf},
		{"hash", arcv1.LabelArtifactHash, labelsOf},
		{"order name", arcv1.AnnotationOrderName, annotationsOf},
		{"index", AnnotationArtifactIndex, annotationsOf},
		{"identities", AnnotationArtifactIdentities, annotationsOf},
	} {
		t.Run(edit.name, func(t *testing.T) {
			aw := labelledArtifactWorkflow()
			edit.in(aw)[edit.key] = "9"
			assert.False(t, base.SameARCMetadata(CacheArtifactWorkflow(aw)))
		})
	}
	other := labelledArtifactWorkflow()
	other.Labels["team"] = "someone else"
	assert.True(t, base.SameARCMetadata(CacheArtifactWorkflow(other)), "labels ARC does not read do not count")
}

func labelsOf(aw *arcv1.ArtifactWorkflow) map[string]string      { return aw.Labels }
func annotationsOf(aw *arcv1.ArtifactWorkflow) map[string]string { return aw.Annotations }

// An event about a cached ArtifactWorkflow must name it as one about the
// ArtifactWorkflow would: the recorder finds the kind from the object.
func TestCachedArtifactWorkflowIsReferencedAsAnArtifactWorkflow(t *testing.T) {
	s := scheme.Scheme
	require.NoError(t, arcv1.AddToScheme(s))
	cached := CacheArtifactWorkflow(labelledArtifactWorkflow())
	ref, err := reference.GetReference(s, cached)
	require.NoError(t, err)
	assert.Equal(t, "ArtifactWorkflow", ref.Kind)
	assert.Equal(t, "arc.opendefense.cloud/v1alpha1", ref.APIVersion)
	assert.Equal(t, "alpine-0123", ref.Name)
	assert.EqualValues(t, "uid-aw", ref.UID)

	cp := cached.DeepCopyObject()
	require.IsType(t, &CachedArtifactWorkflow{}, cp, "the copy keeps the type")
	assert.Equal(t, cached, cp)
	cp.(*CachedArtifactWorkflow).Spec.Parameters[0].Value = "changed"
	assert.Equal(t, "1", cached.Spec.Parameters[0].Value, "the copy is deep")
}

func TestArtifactWorkflowCacheReadsCachedObjects(t *testing.T) {
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{IndexByControllerUID: ControllerUIDIndexer})
	obj, err := SlimARCObject(labelledArtifactWorkflow())
	require.NoError(t, err)
	require.NoError(t, indexer.Add(obj))
	c := ArtifactWorkflowCache{Indexer: indexer}

	got, err := c.Get("team-a", "alpine-0123")
	require.NoError(t, err)
	assert.Equal(t, "0123", got.ArtifactHash())
	_, err = c.Get("team-a", "other")
	assert.True(t, apierrors.IsNotFound(err), "a missing one is NotFound: %v", err)
	assert.Len(t, c.List(), 1)
	assert.Len(t, c.ListArtifactWorkflows(), 1)
	assert.Equal(t, "alpine-0123", c.ListArtifactWorkflows()[0].Name)
	byOrder, err := c.ByIndex(IndexByControllerUID, "uid-order")
	require.NoError(t, err)
	assert.Len(t, byOrder, 1)
}

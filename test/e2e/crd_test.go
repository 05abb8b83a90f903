//go:build e2e

package e2e

import (
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// TestCRDs checks that the real API server accepts ARC's CRDs as structural
// schemas and enforces their validation: the CEL rule of an Order and the
// pattern of a parameter name. The invalid objects are sent with dry run, so
// nothing is left behind even if a check fails.
func TestCRDs(t *testing.T) {
	t.Parallel()

	t.Run("installed and structural", func(t *testing.T) {
		files, err := filepath.Glob(filepath.Join(s.root, "manifests", "crd", "arc.opendefense.cloud_*.yaml"))
		require.NoError(t, err)
		var want []string
		for _, file := range files {
			objs, err := readObjects(file)
			require.NoError(t, err)
			for _, o := range objs {
				want = append(want, o.GetName())
			}
		}
		require.Len(t, want, 5, "manifests/crd should hold ARC's five CRDs")

		list, err := s.dyn.Resource(crdGVR).List(t.Context(), metav1.ListOptions{})
		require.NoError(t, err)
		var got []string
		for i := range list.Items {
			crd := &list.Items[i]
			if group, _, _ := unstructured.NestedString(crd.Object, "spec", "group"); group != arcv1.GroupName {
				continue
			}
			got = append(got, crd.GetName())
			established, msg := crdCondition(crd, "Established")
			assert.Equal(t, "True", established, "CRD %s: condition Established (%s)", crd.GetName(), msg)
			nonStructural, msg := crdCondition(crd, "NonStructuralSchema")
			assert.Empty(t, nonStructural, "CRD %s has condition NonStructuralSchema: %s", crd.GetName(), msg)
			names, msg := crdCondition(crd, "NamesAccepted")
			assert.Equal(t, "True", names, "CRD %s: condition NamesAccepted (%s)", crd.GetName(), msg)
		}
		sort.Strings(want)
		sort.Strings(got)
		assert.Equal(t, want, got, "the cluster's CRDs of group %s", arcv1.GroupName)
	})

	t.Run("rejects invalid objects", func(t *testing.T) {
		f := newFixture(t, "crd")
		dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}

		// An artifact without srcRef in an Order without defaults.srcRef.
		_, err := s.arc.ArcV1alpha1().Orders(f.ns).Create(t.Context(), &arcv1.Order{
			ObjectMeta: metav1.ObjectMeta{Name: "no-source"},
			Spec: arcv1.OrderSpec{
				Artifacts: []arcv1.OrderArtifact{{Type: "oci", DstRef: ref("internal"), Spec: rawSpec(`{"image":"x"}`)}},
			},
		}, dryRun)
		require.Error(t, err, "an Order whose artifact has no srcRef and no default must be rejected")
		assert.True(t, apierrors.IsInvalid(err), "want an Invalid error, got %v", err)
		assert.Contains(t, err.Error(), "every artifact needs a srcRef, or the Order needs spec.defaults.srcRef")
		assert.NotContains(t, err.Error(), "dstRef", "only the srcRef rule is broken")

		// The same with defaults.srcRef is fine.
		_, err = s.arc.ArcV1alpha1().Orders(f.ns).Create(t.Context(), &arcv1.Order{
			ObjectMeta: metav1.ObjectMeta{Name: "default-source"},
			Spec: arcv1.OrderSpec{
				Defaults:  &arcv1.OrderDefaults{SrcRef: ref("dockerhub")},
				Artifacts: []arcv1.OrderArtifact{{Type: "oci", DstRef: ref("internal"), Spec: rawSpec(`{"image":"x"}`)}},
			},
		}, dryRun)
		assert.NoError(t, err, "an artifact without srcRef is fine when the Order has defaults.srcRef")

		// A parameter name with a '.' in an ArtifactType.
		_, err = s.arc.ArcV1alpha1().ArtifactTypes(f.ns).Create(t.Context(), &arcv1.ArtifactType{
			ObjectMeta: metav1.ObjectMeta{Name: "dotted"},
			Spec: arcv1.ArtifactTypeSpec{
				Parameters:          []arcv1.Parameter{{Name: "scan.severity", Value: "HIGH"}},
				WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: templateOCI, ClusterScope: true},
			},
		}, dryRun)
		require.Error(t, err, "a parameter name with a '.' must be rejected")
		assert.True(t, apierrors.IsInvalid(err), "want an Invalid error, got %v", err)
		assert.Contains(t, err.Error(), "spec.parameters[0].name")
		assert.Contains(t, err.Error(), "^[-a-zA-Z0-9_]+$")

		// A ClusterArtifactType must use a ClusterWorkflowTemplate.
		// (Through unstructured: the typed client omits a false clusterScope.)
		_, err = s.dyn.Resource(clusterArtifactTypeGVR).Create(t.Context(), &unstructured.Unstructured{Object: map[string]interface{}{
			"apiVersion": arcv1.SchemeGroupVersion.String(),
			"kind":       "ClusterArtifactType",
			"metadata":   map[string]interface{}{"name": "e2e-not-cluster-scoped"},
			"spec": map[string]interface{}{
				"workflowTemplateRef": map[string]interface{}{"name": templateOCI, "clusterScope": false},
			},
		}}, dryRun)
		require.Error(t, err, "a ClusterArtifactType with clusterScope false must be rejected")
		assert.True(t, apierrors.IsInvalid(err), "want an Invalid error, got %v", err)
		assert.Contains(t, err.Error(), "a ClusterArtifactType always uses a ClusterWorkflowTemplate")
	})
}

var clusterArtifactTypeGVR = arcv1.SchemeGroupVersion.WithResource("clusterartifacttypes")

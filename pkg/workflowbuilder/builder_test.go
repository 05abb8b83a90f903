package workflowbuilder_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/workflowbuilder"
)

// update rewrites the golden files from the current output instead of
// comparing with them: go test ./pkg/workflowbuilder -update
var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// ociArtifactWorkflow is the OCI example of the design documents: an image
// copied from Docker Hub (no credentials) to an internal registry whose
// credentials are in the Secret dst-reg-secret.
func ociArtifactWorkflow() *v1alpha1.ArtifactWorkflow {
	return &v1alpha1.ArtifactWorkflow{
		TypeMeta: metav1.TypeMeta{
			APIVersion: v1alpha1.SchemeGroupVersion.String(),
			Kind:       "ArtifactWorkflow",
		},
		ObjectMeta: metav1.ObjectMeta{
			Name:      "mirror-alpine-5d41402abc4b",
			Namespace: "team-a",
			UID:       types.UID("0b5f2c8e-6a1d-4f0e-9c3b-7d2e1a4f8b90"),
			Labels: map[string]string{
				v1alpha1.LabelManagedBy:    v1alpha1.ManagedByValue,
				v1alpha1.LabelOrderUID:     "7c9e6679-7425-40de-944b-e07fc1f90ae7",
				v1alpha1.LabelArtifactHash: "5d41402abc4b2a76b9719d911017c592",
				"unrelated":                "not-copied",
			},
			Annotations: map[string]string{
				v1alpha1.AnnotationOrderName: "mirror-alpine",
				"unrelated":                  "not-copied",
			},
		},
		Spec: v1alpha1.ArtifactWorkflowSpec{
			Type: "oci",
			Parameters: []v1alpha1.Parameter{
				{Name: "dstRemoteURL", Value: "registry.internal.example"},
				{Name: "dstSecret", Value: "true"},
				{Name: "dstType", Value: "oci"},
				{Name: "specImage", Value: "library/alpine:3.18"},
				{Name: "specOverride", Value: "myteam/alpine:3.18-dev"},
				{Name: "srcRemoteURL", Value: "docker.io"},
				{Name: "srcSecret", Value: "false"},
				{Name: "srcType", Value: "oci"},
			},
			DstSecretRef: &corev1.LocalObjectReference{Name: "dst-reg-secret"},
		},
	}
}

// ociType is the namespaced ArtifactType oci of the design documents, which
// uses a ClusterWorkflowTemplate.
func ociType() workflowbuilder.TypeRef {
	return workflowbuilder.TypeRef{
		Spec: v1alpha1.ArtifactTypeSpec{
			Rules: v1alpha1.ArtifactTypeRules{SrcTypes: []string{"oci"}, DstTypes: []string{"oci"}},
			Parameters: []v1alpha1.Parameter{
				{Name: "scanSeverity", Value: "HIGH,CRITICAL"},
			},
			WorkflowTemplateRef: v1alpha1.WorkflowTemplateRef{Name: "oci-image-pipeline", ClusterScope: true},
		},
	}
}

// volumesType is the OCI type with the WorkflowVolumes secret delivery of
// the design documents.
func volumesType() workflowbuilder.TypeRef {
	t := ociType()
	t.Spec.SecretDelivery = v1alpha1.SecretDeliveryWorkflowVolumes
	return t
}

// setParameter replaces the value of the parameter name in aw.
func setParameter(aw *v1alpha1.ArtifactWorkflow, name, value string) {
	for i := range aw.Spec.Parameters {
		if aw.Spec.Parameters[i].Name == name {
			aw.Spec.Parameters[i].Value = value
			return
		}
	}
	aw.Spec.Parameters = append(aw.Spec.Parameters, v1alpha1.Parameter{Name: name, Value: value})
}

// goldenCase is one row of the golden tests: inputs and the file under
// testdata holding the expected Workflow.
type goldenCase struct {
	name   string
	aw     func() *v1alpha1.ArtifactWorkflow
	typ    func() workflowbuilder.TypeRef
	golden string
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{
			name:   "OCI example with a destination secret only",
			aw:     ociArtifactWorkflow,
			typ:    ociType,
			golden: "oci-dst-secret-only.yaml",
		},
		{
			name: "OCI example with source and destination secrets",
			aw: func() *v1alpha1.ArtifactWorkflow {
				aw := ociArtifactWorkflow()
				aw.Spec.SrcSecretRef = &corev1.LocalObjectReference{Name: "dockerhub-creds"}
				setParameter(aw, "srcSecret", "true")
				return aw
			},
			typ:    ociType,
			golden: "oci-both-secrets.yaml",
		},
		{
			name: "OCI example without secrets passes the no-secret name",
			aw: func() *v1alpha1.ArtifactWorkflow {
				aw := ociArtifactWorkflow()
				aw.Spec.DstSecretRef = nil
				setParameter(aw, "dstSecret", "false")
				return aw
			},
			typ:    ociType,
			golden: "oci-no-secrets.yaml",
		},
		{
			name:   "WorkflowVolumes delivery mounts the destination Secret and an empty source directory",
			aw:     ociArtifactWorkflow,
			typ:    volumesType,
			golden: "workflow-volumes-dst-secret-only.yaml",
		},
		{
			name: "WorkflowVolumes delivery without secrets mounts empty directories",
			aw: func() *v1alpha1.ArtifactWorkflow {
				aw := ociArtifactWorkflow()
				aw.Spec.DstSecretRef = nil
				setParameter(aw, "dstSecret", "false")
				return aw
			},
			typ:    volumesType,
			golden: "workflow-volumes-no-secrets.yaml",
		},
		{
			name: "namespaced ArtifactType with a namespaced WorkflowTemplate",
			aw:   ociArtifactWorkflow,
			typ: func() workflowbuilder.TypeRef {
				t := ociType()
				t.Spec.WorkflowTemplateRef = v1alpha1.WorkflowTemplateRef{Name: "team-a-oci-pipeline"}
				return t
			},
			golden: "namespaced-workflow-template.yaml",
		},
		{
			name: "ClusterArtifactType without clusterScope uses a ClusterWorkflowTemplate",
			aw:   ociArtifactWorkflow,
			typ: func() workflowbuilder.TypeRef {
				t := ociType()
				t.ClusterScoped = true
				t.Spec.WorkflowTemplateRef = v1alpha1.WorkflowTemplateRef{Name: "oci-image-pipeline"}
				return t
			},
			golden: "cluster-artifact-type-implies-cluster-scope.yaml",
		},
		{
			name: "type parameter overrides artifact parameter of the same name",
			aw: func() *v1alpha1.ArtifactWorkflow {
				aw := ociArtifactWorkflow()
				setParameter(aw, "scanSeverity", "LOW")
				return aw
			},
			typ:    ociType,
			golden: "type-parameter-overrides-artifact-parameter.yaml",
		},
		{
			name: "ArtifactWorkflow and type without parameters",
			aw: func() *v1alpha1.ArtifactWorkflow {
				aw := ociArtifactWorkflow()
				aw.Spec.Parameters = nil
				return aw
			},
			typ: func() workflowbuilder.TypeRef {
				t := ociType()
				t.Spec.Parameters = nil
				return t
			},
			golden: "no-parameters.yaml",
		},
	}
}

func TestBuildGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			wf, err := workflowbuilder.Build(tc.aw(), tc.typ())
			require.NoError(t, err)
			assertGolden(t, filepath.Join("testdata", tc.golden), wf)
		})
	}
}

func TestBuildCronGolden(t *testing.T) {
	scheduled := func() *v1alpha1.ArtifactWorkflow {
		aw := ociArtifactWorkflow()
		deadline := int64(300)
		aw.Spec.Cron = &v1alpha1.Cron{
			Schedules:               []string{"0 3 * * *", "30 12 * * 1-5"},
			Timezone:                "Europe/Berlin",
			ConcurrencyPolicy:       v1alpha1.ConcurrencyForbid,
			StartingDeadlineSeconds: &deadline,
		}
		return aw
	}
	cases := []struct {
		name    string
		aw      func() *v1alpha1.ArtifactWorkflow
		suspend bool
		golden  string
	}{
		{name: "OCI example on two schedules with every field", aw: scheduled, golden: "cron-oci.yaml"},
		{name: "suspended Order suspends the CronWorkflow", aw: scheduled, suspend: true, golden: "cron-oci-suspended.yaml"},
		{
			name: "unset concurrency policy is written as Allow",
			aw: func() *v1alpha1.ArtifactWorkflow {
				aw := ociArtifactWorkflow()
				aw.Spec.Cron = &v1alpha1.Cron{Schedules: []string{"@daily"}}
				return aw
			},
			golden: "cron-defaults.yaml",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cwf, err := workflowbuilder.BuildCron(tc.aw(), ociType(), tc.suspend)
			require.NoError(t, err)
			assertGolden(t, filepath.Join("testdata", tc.golden), cwf)
		})
	}
}

// TestBuildCronRunsLikeOneOffWorkflows pins that a scheduled run sets exactly
// what a one-off Workflow sets (what Argo's Secure template referencing
// allows), and that it leads back to its ArtifactWorkflow by ARC's labels.
func TestBuildCronRunsLikeOneOffWorkflows(t *testing.T) {
	aw := ociArtifactWorkflow()
	aw.Spec.Cron = &v1alpha1.Cron{Schedules: []string{"@daily"}}
	wf, err := workflowbuilder.Build(aw, ociType())
	require.NoError(t, err)
	cwf, err := workflowbuilder.BuildCron(aw, ociType(), false)
	require.NoError(t, err)
	assert.Equal(t, wf.Spec, cwf.Spec.WorkflowSpec)
	assert.Equal(t, wf.Labels, cwf.Spec.WorkflowMetadata.Labels)
	assert.Equal(t, aw.Name, cwf.Spec.WorkflowMetadata.Labels[v1alpha1.LabelArtifactWorkflow])
	assert.Empty(t, cwf.Spec.WorkflowMetadata.Finalizers, "Argo's history limits delete old runs; no finalizer holds them")
	assert.Equal(t, wf.OwnerReferences, cwf.OwnerReferences, "the ArtifactWorkflow controls the CronWorkflow")
}

func TestBuildCronRefusesWorkWithoutSchedule(t *testing.T) {
	_, err := workflowbuilder.BuildCron(ociArtifactWorkflow(), ociType(), false)
	require.ErrorContains(t, err, "no schedule")
}

// assertGolden compares obj, as YAML, with the golden file at path, or
// rewrites the file when -update is set. On mismatch it prints only the lines
// that differ, which is easier to read than two whole documents.
func assertGolden(t *testing.T, path string, obj any) {
	t.Helper()
	got, err := yaml.Marshal(obj)
	require.NoError(t, err)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file missing; run go test ./pkg/workflowbuilder -update")
	if string(want) != string(got) {
		t.Errorf("Workflow differs from %s (- golden, + built); run go test ./pkg/workflowbuilder -update if the change is intended:\n%s",
			path, lineDiff(string(want), string(got)))
	}
}

// lineDiff returns the lines only in want prefixed "- " and those only in got
// prefixed "+ ", aligned on the longest common subsequence of lines, with two
// common lines of context around each change. Golden files are small, so the
// quadratic table is fine.
func lineDiff(want, got string) string {
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	// common[i][j] is the length of the longest common subsequence of a[i:] and b[j:].
	common := make([][]int, len(a)+1)
	for i := range common {
		common[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				common[i][j] = common[i+1][j+1] + 1
			} else {
				common[i][j] = max(common[i+1][j], common[i][j+1])
			}
		}
	}
	var lines []string
	for i, j := 0, 0; i < len(a) || j < len(b); {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			lines = append(lines, "  "+a[i])
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || common[i+1][j] >= common[i][j+1]):
			lines = append(lines, "- "+a[i])
			i++
		default:
			lines = append(lines, "+ "+b[j])
			j++
		}
	}
	return withContext(lines, 2)
}

// withContext keeps the changed lines and n lines around each, marking the
// common lines left out with "...".
func withContext(lines []string, n int) string {
	keep := make([]bool, len(lines))
	for i, l := range lines {
		if !strings.HasPrefix(l, "  ") {
			for k := max(0, i-n); k <= min(len(lines)-1, i+n); k++ {
				keep[k] = true
			}
		}
	}
	var out strings.Builder
	skipped := false
	for i, l := range lines {
		if !keep[i] {
			skipped = true
			continue
		}
		if skipped {
			out.WriteString("  ...\n")
			skipped = false
		}
		out.WriteString(l + "\n")
	}
	return out.String()
}

func TestBuildIsDeterministic(t *testing.T) {
	aw := ociArtifactWorkflow()
	aw.Spec.SrcSecretRef = &corev1.LocalObjectReference{Name: "dockerhub-creds"}
	first, err := workflowbuilder.Build(aw, ociType())
	require.NoError(t, err)
	for range 20 {
		again, err := workflowbuilder.Build(aw, ociType())
		require.NoError(t, err)
		require.Equal(t, first, again)
	}
}

func TestBuildParametersIgnoreInputOrder(t *testing.T) {
	aw := ociArtifactWorkflow()
	reversed := aw.DeepCopy()
	for i, j := 0, len(reversed.Spec.Parameters)-1; i < j; i, j = i+1, j-1 {
		reversed.Spec.Parameters[i], reversed.Spec.Parameters[j] = reversed.Spec.Parameters[j], reversed.Spec.Parameters[i]
	}
	want, err := workflowbuilder.Build(aw, ociType())
	require.NoError(t, err)
	got, err := workflowbuilder.Build(reversed, ociType())
	require.NoError(t, err)
	assert.Equal(t, want.Spec.Arguments, got.Spec.Arguments)
}

func TestBuildDoesNotModifyInputs(t *testing.T) {
	aw := ociArtifactWorkflow()
	setParameter(aw, "scanSeverity", "LOW")
	aw.Spec.Parameters[0], aw.Spec.Parameters[1] = aw.Spec.Parameters[1], aw.Spec.Parameters[0]
	typ := ociType()
	awBefore := aw.DeepCopy()
	typBefore := *typ.Spec.DeepCopy()

	wf, err := workflowbuilder.Build(aw, typ)
	require.NoError(t, err)
	wf.Labels["changed"] = "after build"

	assert.Equal(t, awBefore, aw)
	assert.Equal(t, typBefore, typ.Spec)
}

func TestBuildMetadata(t *testing.T) {
	aw := ociArtifactWorkflow()
	wf, err := workflowbuilder.Build(aw, ociType())
	require.NoError(t, err)

	assert.Equal(t, "argoproj.io/v1alpha1", wf.APIVersion)
	assert.Equal(t, "Workflow", wf.Kind)
	assert.Equal(t, aw.Name, wf.Name)
	assert.Equal(t, aw.Namespace, wf.Namespace)
	assert.Equal(t, map[string]string{
		v1alpha1.LabelManagedBy:        v1alpha1.ManagedByValue,
		v1alpha1.LabelArtifactWorkflow: aw.Name,
		v1alpha1.LabelOrderUID:         "7c9e6679-7425-40de-944b-e07fc1f90ae7",
		v1alpha1.LabelArtifactHash:     "5d41402abc4b2a76b9719d911017c592",
	}, wf.Labels)
	assert.Equal(t, map[string]string{v1alpha1.AnnotationOrderName: "mirror-alpine"}, wf.Annotations)
}

func TestBuildMetadataWithoutOrderLabels(t *testing.T) {
	aw := ociArtifactWorkflow()
	aw.Labels = nil
	aw.Annotations = nil
	wf, err := workflowbuilder.Build(aw, ociType())
	require.NoError(t, err)

	assert.Equal(t, map[string]string{
		v1alpha1.LabelManagedBy:        v1alpha1.ManagedByValue,
		v1alpha1.LabelArtifactWorkflow: aw.Name,
	}, wf.Labels)
	assert.Nil(t, wf.Annotations)
}

func TestBuildOwnerReference(t *testing.T) {
	aw := ociArtifactWorkflow()
	wf, err := workflowbuilder.Build(aw, ociType())
	require.NoError(t, err)

	require.Len(t, wf.OwnerReferences, 1)
	ref := wf.OwnerReferences[0]
	assert.Equal(t, "arc.opendefense.cloud/v1alpha1", ref.APIVersion)
	assert.Equal(t, "ArtifactWorkflow", ref.Kind)
	assert.Equal(t, aw.Name, ref.Name)
	assert.Equal(t, aw.UID, ref.UID)
	require.NotNil(t, ref.Controller)
	assert.True(t, *ref.Controller)
	require.NotNil(t, ref.BlockOwnerDeletion)
	assert.True(t, *ref.BlockOwnerDeletion)
	assert.Same(t, &wf.OwnerReferences[0], metav1.GetControllerOfNoCopy(wf))
}

func TestBuildTemplateRef(t *testing.T) {
	tests := []struct {
		name          string
		clusterScoped bool
		refScope      bool
		wantScope     bool
	}{
		{name: "namespaced type with namespaced template", wantScope: false},
		{name: "namespaced type with cluster template", refScope: true, wantScope: true},
		{name: "cluster type omitting clusterScope", clusterScoped: true, wantScope: true},
		{name: "cluster type with clusterScope", clusterScoped: true, refScope: true, wantScope: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ := ociType()
			typ.ClusterScoped = tc.clusterScoped
			typ.Spec.WorkflowTemplateRef.ClusterScope = tc.refScope
			wf, err := workflowbuilder.Build(ociArtifactWorkflow(), typ)
			require.NoError(t, err)
			assert.Equal(t, &wfv1.WorkflowTemplateRef{Name: "oci-image-pipeline", ClusterScope: tc.wantScope}, wf.Spec.WorkflowTemplateRef)
		})
	}
}

func TestBuildArguments(t *testing.T) {
	aw := ociArtifactWorkflow()
	aw.Spec.Parameters = []v1alpha1.Parameter{
		{Name: "specImage", Value: "library/alpine:3.18"},
		{Name: "scanSeverity", Value: "LOW"},
		{Name: "emptyValue", Value: ""},
	}
	wf, err := workflowbuilder.Build(aw, ociType())
	require.NoError(t, err)

	assert.Equal(t, []wfv1.Parameter{
		{Name: workflowbuilder.DstSecretNameParameter, Value: wfv1.AnyStringPtr("dst-reg-secret")},
		{Name: "emptyValue", Value: wfv1.AnyStringPtr("")},
		{Name: "scanSeverity", Value: wfv1.AnyStringPtr("HIGH,CRITICAL")},
		{Name: "specImage", Value: wfv1.AnyStringPtr("library/alpine:3.18")},
		{Name: workflowbuilder.SrcSecretNameParameter, Value: wfv1.AnyStringPtr(workflowbuilder.NoSecret)},
	}, wf.Spec.Arguments.Parameters)
}

func TestBuildSecretVolumes(t *testing.T) {
	secret := func(name string) corev1.VolumeSource {
		return corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name}}
	}
	emptyDir := corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	tests := []struct {
		name    string
		src     *corev1.LocalObjectReference
		dst     *corev1.LocalObjectReference
		wantSrc corev1.VolumeSource
		wantDst corev1.VolumeSource
	}{
		{name: "no secrets", wantSrc: emptyDir, wantDst: emptyDir},
		{
			name:    "source secret only",
			src:     &corev1.LocalObjectReference{Name: "src-creds"},
			wantSrc: secret("src-creds"), wantDst: emptyDir,
		},
		{
			name:    "destination secret only",
			dst:     &corev1.LocalObjectReference{Name: "dst-creds"},
			wantSrc: emptyDir, wantDst: secret("dst-creds"),
		},
		{
			name:    "both secrets",
			src:     &corev1.LocalObjectReference{Name: "src-creds"},
			dst:     &corev1.LocalObjectReference{Name: "dst-creds"},
			wantSrc: secret("src-creds"), wantDst: secret("dst-creds"),
		},
		{
			name:    "references with empty names count as no secret",
			src:     &corev1.LocalObjectReference{},
			dst:     &corev1.LocalObjectReference{},
			wantSrc: emptyDir, wantDst: emptyDir,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			aw := ociArtifactWorkflow()
			aw.Spec.SrcSecretRef, aw.Spec.DstSecretRef = tc.src, tc.dst
			wf, err := workflowbuilder.Build(aw, volumesType())
			require.NoError(t, err)

			want := []corev1.Volume{
				{Name: workflowbuilder.SrcSecretVolume, VolumeSource: tc.wantSrc},
				{Name: workflowbuilder.DstSecretVolume, VolumeSource: tc.wantDst},
			}
			assert.Equal(t, want, wf.Spec.Volumes)
			assert.Equal(t, want, decodePatch(t, wf.Spec.PodSpecPatch).Volumes,
				"the patch must carry the same volumes as the Workflow")
		})
	}
}

// userOverrideAllowlist are the WorkflowSpec fields Argo v3.7.18 lets a
// Workflow set next to a workflowTemplateRef when templateReferencing is
// Strict or Secure (allowedUserOverrideFields in workflow/util/merge.go), by
// their JSON names. The e2e suite proves the same on Argo's controller in
// Secure mode; this keeps a change of the builder from getting that far.
var userOverrideAllowlist = map[string]bool{
	"arguments": true, "entrypoint": true, "shutdown": true, "suspend": true,
	"activeDeadlineSeconds": true, "priority": true, "ttlStrategy": true, "podGC": true,
	"volumeClaimGC": true, "archiveLogs": true, "workflowMetadata": true,
	"workflowTemplateRef": true, "metrics": true, "artifactGC": true,
}

// specFields returns the JSON names of the fields a Workflow spec sets.
func specFields(t *testing.T, wf *wfv1.Workflow) []string {
	t.Helper()
	raw, err := json.Marshal(wf.Spec)
	require.NoError(t, err)
	var fields map[string]any
	require.NoError(t, json.Unmarshal(raw, &fields))
	return keys(fields)
}

func TestBuildSetsOnlyFieldsArgoAllowsUnderRestrictedTemplateReferencing(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			typ := tc.typ()
			wf, err := workflowbuilder.Build(tc.aw(), typ)
			require.NoError(t, err)
			var refused []string
			for _, f := range specFields(t, wf) {
				if !userOverrideAllowlist[f] {
					refused = append(refused, f)
				}
			}
			if typ.Spec.SecretDelivery == v1alpha1.SecretDeliveryWorkflowVolumes {
				assert.ElementsMatch(t, []string{"volumes", "podSpecPatch"}, refused,
					"WorkflowVolumes needs exactly the two fields Argo refuses when restricted")
				return
			}
			assert.Empty(t, refused, "the default delivery must run where Argo restricts template referencing")
		})
	}
}

func TestBuildRejectsInvalidInput(t *testing.T) {
	tests := []struct {
		name string
		aw   *v1alpha1.ArtifactWorkflow
		typ  workflowbuilder.TypeRef
		want string
	}{
		{name: "nil ArtifactWorkflow", aw: nil, typ: ociType(), want: "ArtifactWorkflow is nil"},
		{
			name: "ArtifactWorkflow without name",
			aw: func() *v1alpha1.ArtifactWorkflow {
				aw := ociArtifactWorkflow()
				aw.Name = ""
				return aw
			}(),
			typ:  ociType(),
			want: "ArtifactWorkflow has no name",
		},
		{
			name: "type without template name",
			aw:   ociArtifactWorkflow(),
			typ: func() workflowbuilder.TypeRef {
				t := ociType()
				t.Spec.WorkflowTemplateRef.Name = ""
				return t
			}(),
			want: "names no workflow template",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wf, err := workflowbuilder.Build(tc.aw, tc.typ)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Nil(t, wf)
		})
	}
}

func BenchmarkBuild(b *testing.B) {
	aw := ociArtifactWorkflow()
	aw.Spec.SrcSecretRef = &corev1.LocalObjectReference{Name: "dockerhub-creds"}
	typ := ociType()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := workflowbuilder.Build(aw, typ); err != nil {
			b.Fatal(err)
		}
	}
}

package workflowbuilder_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/artifact-conduit/arc/pkg/workflowbuilder"
)

// decodePatch parses a workflow podSpecPatch the way Argo reads it: as a pod spec.
func decodePatch(t *testing.T, patch string) corev1.PodSpec {
	t.Helper()
	var spec corev1.PodSpec
	require.NoError(t, json.Unmarshal([]byte(patch), &spec))
	return spec
}

// builtPatch returns the podSpecPatch of the OCI example with both secrets.
func builtPatch(t *testing.T) string {
	t.Helper()
	aw := ociArtifactWorkflow()
	aw.Spec.SrcSecretRef = &corev1.LocalObjectReference{Name: "dockerhub-creds"}
	wf, err := workflowbuilder.Build(aw, volumesType())
	require.NoError(t, err)
	require.NotEmpty(t, wf.Spec.PodSpecPatch)
	return wf.Spec.PodSpecPatch
}

// standardMounts are the mounts every main container must end up with.
var standardMounts = []corev1.VolumeMount{
	{Name: workflowbuilder.SrcSecretVolume, MountPath: workflowbuilder.SrcSecretPath, ReadOnly: true},
	{Name: workflowbuilder.DstSecretVolume, MountPath: workflowbuilder.DstSecretPath, ReadOnly: true},
}

func TestPodSpecPatchContent(t *testing.T) {
	spec := decodePatch(t, builtPatch(t))

	assert.Equal(t, []corev1.Volume{
		{Name: workflowbuilder.SrcSecretVolume, VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: "dockerhub-creds"},
		}},
		{Name: workflowbuilder.DstSecretVolume, VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: "dst-reg-secret"},
		}},
	}, spec.Volumes)
	require.Len(t, spec.Containers, 1, "only the main container is patched")
	assert.Equal(t, "main", spec.Containers[0].Name)
	assert.Equal(t, standardMounts, spec.Containers[0].VolumeMounts)
}

func TestPodSpecPatchCarriesOnlyNames(t *testing.T) {
	// The patch is stored in the Workflow for everyone who can read it to see:
	// it must stay limited to volume and mount definitions.
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(builtPatch(t)), &raw))
	assert.ElementsMatch(t, []string{"volumes", "containers"}, keys(raw))
	for _, c := range raw["containers"].([]any) {
		assert.ElementsMatch(t, []string{"name", "volumeMounts"}, keys(c.(map[string]any)))
	}
}

func TestPodSpecPatchAppliedByArgo(t *testing.T) {
	secretVolume := func(name, secret string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: secret},
		}}
	}
	tests := []struct {
		name string
		// pod is the pod spec Argo renders from the template, before the patch.
		pod corev1.PodSpec
		// wantMainMounts are the main container's mounts after the patch.
		wantMainMounts []corev1.VolumeMount
	}{
		{
			name: "template mounts nothing, so Argo pruned both volumes",
			pod:  argoPod(nil),
			wantMainMounts: []corev1.VolumeMount{
				{Name: "var-run-argo", MountPath: "/var/run/argo"},
				standardMounts[0], standardMounts[1],
			},
		},
		{
			name: "template already mounts the source path",
			pod: argoPod([]corev1.VolumeMount{
				{Name: workflowbuilder.SrcSecretVolume, MountPath: workflowbuilder.SrcSecretPath},
			}, secretVolume(workflowbuilder.SrcSecretVolume, "dockerhub-creds")),
			wantMainMounts: []corev1.VolumeMount{
				{Name: "var-run-argo", MountPath: "/var/run/argo"},
				standardMounts[0], standardMounts[1],
			},
		},
		{
			name: "template mounts the source volume at a path of its own",
			pod: argoPod([]corev1.VolumeMount{
				{Name: workflowbuilder.SrcSecretVolume, MountPath: "/tmp/src-creds", ReadOnly: true},
			}, secretVolume(workflowbuilder.SrcSecretVolume, "dockerhub-creds")),
			wantMainMounts: []corev1.VolumeMount{
				{Name: "var-run-argo", MountPath: "/var/run/argo"},
				{Name: workflowbuilder.SrcSecretVolume, MountPath: "/tmp/src-creds", ReadOnly: true},
				standardMounts[0], standardMounts[1],
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			patched := applyPatch(t, tc.pod, builtPatch(t))

			assertValidPodSpec(t, patched)
			main := container(t, patched, "main")
			assert.ElementsMatch(t, tc.wantMainMounts, main.VolumeMounts)
			assert.Equal(t, 1, countMounts(main, workflowbuilder.SrcSecretPath))
			assert.Equal(t, 1, countMounts(main, workflowbuilder.DstSecretPath))
			wait := container(t, patched, "wait")
			assert.Equal(t, tc.pod.Containers[0].VolumeMounts, wait.VolumeMounts,
				"Argo's own containers get no credentials")
		})
	}
}

// argoPod is a pod spec shaped like the one Argo renders for a container
// template: Argo's wait container, then main with the template's mounts, and
// only the workflow volumes some template container mounts.
func argoPod(mainMounts []corev1.VolumeMount, keptVolumes ...corev1.Volume) corev1.PodSpec {
	argoVolume := corev1.Volume{Name: "var-run-argo", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	argoMount := corev1.VolumeMount{Name: "var-run-argo", MountPath: "/var/run/argo"}
	return corev1.PodSpec{
		Volumes: append([]corev1.Volume{argoVolume}, keptVolumes...),
		Containers: []corev1.Container{
			{Name: "wait", Image: "quay.io/argoproj/argoexec:v3.7.18", VolumeMounts: []corev1.VolumeMount{argoMount}},
			{Name: "main", Image: "quay.io/skopeo/stable", VolumeMounts: append([]corev1.VolumeMount{argoMount}, mainMounts...)},
		},
	}
}

// applyPatch applies patch to pod as Argo does: a strategic merge patch on
// the pod spec.
func applyPatch(t *testing.T, pod corev1.PodSpec, patch string) corev1.PodSpec {
	t.Helper()
	original, err := json.Marshal(pod)
	require.NoError(t, err)
	merged, err := strategicpatch.StrategicMergePatch(original, []byte(patch), corev1.PodSpec{})
	require.NoError(t, err)
	var out corev1.PodSpec
	require.NoError(t, json.Unmarshal(merged, &out))
	return out
}

// assertValidPodSpec checks what the API server would reject in the volumes
// of a pod: duplicate volume names, mounts of volumes the pod lacks, and two
// mounts at one path in a container.
func assertValidPodSpec(t *testing.T, pod corev1.PodSpec) {
	t.Helper()
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		assert.False(t, volumes[v.Name], "volume %q defined twice", v.Name)
		volumes[v.Name] = true
	}
	for _, c := range append(pod.InitContainers, pod.Containers...) {
		paths := map[string]bool{}
		for _, m := range c.VolumeMounts {
			assert.True(t, volumes[m.Name], "container %q mounts missing volume %q", c.Name, m.Name)
			assert.False(t, paths[m.MountPath], "container %q mounts %q twice", c.Name, m.MountPath)
			paths[m.MountPath] = true
		}
	}
}

func container(t *testing.T, pod corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range pod.Containers {
		if c.Name == name {
			return c
		}
	}
	require.Failf(t, "container missing", "no container %q in pod", name)
	return corev1.Container{}
}

func countMounts(c corev1.Container, path string) int {
	n := 0
	for _, m := range c.VolumeMounts {
		if m.MountPath == path {
			n++
		}
	}
	return n
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

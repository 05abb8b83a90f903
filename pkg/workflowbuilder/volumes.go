package workflowbuilder

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// Names of the parameters that carry the Secret names, and the name passed
// when an Endpoint has no Secret. Templates declare volumes from them, so they
// are part of ARC's contract with template authors.
const (
	// SrcSecretNameParameter names the source Endpoint's Secret, or NoSecret.
	SrcSecretNameParameter = "srcSecretName"
	// DstSecretNameParameter names the destination Endpoint's Secret, or NoSecret.
	DstSecretNameParameter = "dstSecretName"
	// NoSecret is the Secret name passed for an Endpoint without a Secret. A
	// Secret volume needs a name, and a template that mounts the volume with
	// optional: true gets an empty directory for a Secret that does not
	// exist. Do not create a Secret of this name: every step of an Endpoint
	// without credentials would mount it.
	NoSecret = "arc-no-secret"
)

// Names and mount paths of the credential volumes of the WorkflowVolumes
// secret delivery. Templates written for it rely on them.
const (
	// SrcSecretVolume is the workflow volume holding the source credentials.
	SrcSecretVolume = "src-secret-vol"
	// DstSecretVolume is the workflow volume holding the destination credentials.
	DstSecretVolume = "dst-secret-vol"
	// SrcSecretPath is where every step's main container finds the source credentials.
	SrcSecretPath = "/secret/src"
	// DstSecretPath is where every step's main container finds the destination credentials.
	DstSecretPath = "/secret/dst"
)

// mainContainer is the name Argo gives the container that runs a step's
// container or script; the standard paths are mounted into it only, not into
// Argo's own init and wait containers.
const mainContainer = "main"

// withSecretNames returns the ArtifactWorkflow's parameters and the two
// Secret name parameters, in no particular order (Merge sorts).
func withSecretNames(aw *v1alpha1.ArtifactWorkflow) []v1alpha1.Parameter {
	params := make([]v1alpha1.Parameter, 0, len(aw.Spec.Parameters)+2)
	params = append(params, aw.Spec.Parameters...)
	return append(params,
		v1alpha1.Parameter{Name: SrcSecretNameParameter, Value: secretName(aw.Spec.SrcSecretRef)},
		v1alpha1.Parameter{Name: DstSecretNameParameter, Value: secretName(aw.Spec.DstSecretRef)},
	)
}

func secretName(ref *corev1.LocalObjectReference) string {
	if ref == nil || ref.Name == "" {
		return NoSecret
	}
	return ref.Name
}

// secretVolumes returns the source and destination credential volumes, in
// that order. A missing Secret becomes an empty directory rather than no
// volume, so that a template mounting these names by itself always finds them,
// and the standard paths exist (empty) in every step.
func secretVolumes(src, dst *corev1.LocalObjectReference) []corev1.Volume {
	return []corev1.Volume{
		credentialVolume(SrcSecretVolume, src),
		credentialVolume(DstSecretVolume, dst),
	}
}

// credentialVolume is a Secret volume for ref, or an emptyDir when ref names
// no Secret. Only the Secret's name is referenced; its data never passes
// through ARC.
func credentialVolume(name string, ref *corev1.LocalObjectReference) corev1.Volume {
	if ref == nil || ref.Name == "" {
		return corev1.Volume{
			Name:         name,
			VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
		}
	}
	return corev1.Volume{
		Name:         name,
		VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: ref.Name}},
	}
}

// podSpecPatch is the part of a pod spec the standard paths patch touches. It
// is a struct of its own rather than a corev1.PodSpec because a PodSpec
// marshals fields such as a container's empty resources, which would make the
// patch say more than it means.
type podSpecPatch struct {
	Volumes    []corev1.Volume  `json:"volumes"`
	Containers []containerPatch `json:"containers"`
}

// containerPatch names the container to patch and the mounts to add to it.
type containerPatch struct {
	Name         string               `json:"name"`
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts"`
}

// standardPathsPatch returns the workflow-level podSpecPatch that mounts the
// credential volumes read-only at SrcSecretPath and DstSecretPath in the main
// container of every step, whatever the template declares.
//
// The patch repeats the volume definitions because Argo removes workflow
// volumes that no template container mounts before it applies the patch; a
// patch with mounts alone would then name volumes the pod lacks and the pod
// would be rejected. Strategic merge joins volumes by name and mounts by
// mountPath, so a template that already has these volumes, or already mounts
// one of these paths, merges with the patch instead of clashing.
//
// Struct fields marshal in declaration order, so the same volumes always give
// the same string and the Workflow stays comparable between builds.
func standardPathsPatch(volumes []corev1.Volume) (string, error) {
	patch := podSpecPatch{
		Volumes: volumes,
		Containers: []containerPatch{{
			Name: mainContainer,
			VolumeMounts: []corev1.VolumeMount{
				readOnlyMount(SrcSecretVolume, SrcSecretPath),
				readOnlyMount(DstSecretVolume, DstSecretPath),
			},
		}},
	}
	raw, err := json.Marshal(patch)
	if err != nil {
		return "", fmt.Errorf("marshal podSpecPatch: %w", err)
	}
	return string(raw), nil
}

// readOnlyMount mounts volume at path without write access: steps read
// credentials, they have no reason to change them.
func readOnlyMount(volume, path string) corev1.VolumeMount {
	return corev1.VolumeMount{Name: volume, MountPath: path, ReadOnly: true}
}

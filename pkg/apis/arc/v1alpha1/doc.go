// Package v1alpha1 holds the v1alpha1 API of ARC, the Artifact Conduit
// controller: Endpoints, ArtifactTypes, ClusterArtifactTypes, Orders and the
// ArtifactWorkflows the controller derives from them.
//
// +k8s:deepcopy-gen=package
// +groupName=arc.opendefense.cloud
package v1alpha1

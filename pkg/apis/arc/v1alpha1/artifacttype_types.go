package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ArtifactTypeRules restrict which endpoints an artifact type works with.
type ArtifactTypeRules struct {
	// SrcTypes lists the Endpoint types accepted as source. Empty accepts any.
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=63
	// +optional
	SrcTypes []string `json:"srcTypes,omitempty"`
	// DstTypes lists the Endpoint types accepted as destination. Empty accepts any.
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=63
	// +optional
	DstTypes []string `json:"dstTypes,omitempty"`
}

// WorkflowTemplateRef names the Argo template that does the work of an artifact type.
type WorkflowTemplateRef struct {
	// Name of the WorkflowTemplate or ClusterWorkflowTemplate.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// ClusterScope selects a ClusterWorkflowTemplate instead of a
	// WorkflowTemplate in the namespace of the Order. A ClusterArtifactType
	// always uses a ClusterWorkflowTemplate.
	// +optional
	ClusterScope bool `json:"clusterScope,omitempty"`
}

// ArtifactTypeSpec describes how artifacts of one type are processed.
type ArtifactTypeSpec struct {
	// Rules restrict the source and destination Endpoint types.
	// +optional
	Rules ArtifactTypeRules `json:"rules,omitempty"`
	// Parameters are extra workflow parameters. A parameter here replaces a
	// parameter of the same name derived from the Order.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=128
	// +optional
	Parameters []Parameter `json:"parameters,omitempty"`
	// WorkflowTemplateRef names the Argo template that processes artifacts of this type.
	WorkflowTemplateRef WorkflowTemplateRef `json:"workflowTemplateRef"`
}

// ArtifactTypeStatus is the observed state of an artifact type.
type ArtifactTypeStatus struct {
	// Conditions are the latest observations of the type's state.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the metadata.generation the status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=at,categories=arc
// +kubebuilder:printcolumn:name="Source types",type=string,JSONPath=`.spec.rules.srcTypes`
// +kubebuilder:printcolumn:name="Destination types",type=string,JSONPath=`.spec.rules.dstTypes`
// +kubebuilder:printcolumn:name="Template",type=string,JSONPath=`.spec.workflowTemplateRef.name`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ArtifactType is a kind of artifact (an OCI image, a Helm chart, a file)
// available in one namespace: which endpoints it works with and which Argo
// template moves it. It takes precedence over a ClusterArtifactType of the
// same name.
type ArtifactType struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec describes the artifact type.
	Spec ArtifactTypeSpec `json:"spec"`
	// Status is the observed state of the artifact type.
	// +optional
	Status ArtifactTypeStatus `json:"status,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true

// ArtifactTypeList is a list of ArtifactTypes.
type ArtifactTypeList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the ArtifactTypes.
	Items []ArtifactType `json:"items"`
}

// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=cat,categories=arc
// +kubebuilder:printcolumn:name="Source types",type=string,JSONPath=`.spec.rules.srcTypes`
// +kubebuilder:printcolumn:name="Destination types",type=string,JSONPath=`.spec.rules.dstTypes`
// +kubebuilder:printcolumn:name="Template",type=string,JSONPath=`.spec.workflowTemplateRef.name`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ClusterArtifactType is an artifact type available in every namespace. Its
// template is always a ClusterWorkflowTemplate.
type ClusterArtifactType struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec describes the artifact type. Its workflowTemplateRef always names a
	// ClusterWorkflowTemplate, so clusterScope may be omitted but not false.
	// +kubebuilder:validation:XValidation:rule="!has(self.workflowTemplateRef.clusterScope) || self.workflowTemplateRef.clusterScope",message="a ClusterArtifactType always uses a ClusterWorkflowTemplate: workflowTemplateRef.clusterScope cannot be false"
	Spec ArtifactTypeSpec `json:"spec"`
	// Status is the observed state of the artifact type.
	// +optional
	Status ArtifactTypeStatus `json:"status,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true

// ClusterArtifactTypeList is a list of ClusterArtifactTypes.
type ClusterArtifactTypeList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the ClusterArtifactTypes.
	Items []ClusterArtifactType `json:"items"`
}

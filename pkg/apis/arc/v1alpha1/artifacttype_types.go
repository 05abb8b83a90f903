package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// MaxTypeParameters bounds the parameters an artifact type adds to each of its Workflows.
const MaxTypeParameters = 128

// SecretDelivery says how the credentials of an artifact's Endpoints reach the
// steps of its Workflow.
// +kubebuilder:validation:Enum=ByName;WorkflowVolumes
type SecretDelivery string

const (
	// SecretDeliveryByName passes only the names of the Secrets, as the
	// parameters srcSecretName and dstSecretName. The workflow template
	// declares the volumes that mount them, in the steps that need them, so a
	// step that scans an image never holds push credentials. The Workflow ARC
	// creates sets nothing but its template reference, arguments and
	// metadata, so it runs where Argo restricts template referencing
	// (templateReferencing: Strict or Secure). This is the default.
	SecretDeliveryByName SecretDelivery = "ByName"
	// SecretDeliveryWorkflowVolumes adds the volumes src-secret-vol and
	// dst-secret-vol (the Secret, or an empty directory when an Endpoint has
	// none) to the Workflow and mounts them read-only at /secret/src and
	// /secret/dst in the main container of every step. Templates written for
	// that contract keep working, but Argo refuses such Workflows when it
	// restricts template referencing, and every step holds both credentials.
	SecretDeliveryWorkflowVolumes SecretDelivery = "WorkflowVolumes"
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
	// SpecSchema is an OpenAPI v3 schema, in the dialect of CustomResourceDefinitions,
	// that the spec of every artifact of this type must satisfy, for example
	// a pattern for image references. An artifact that breaks it does not
	// start; its Order names the field and the rule. Without a schema any
	// spec is accepted. The top level must be of type object.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	// +optional
	SpecSchema *runtime.RawExtension `json:"specSchema,omitempty"`
	// SecretDelivery says how Endpoint credentials reach the workflow steps:
	// ByName (the default) passes the Secret names as parameters for the
	// template to mount; WorkflowVolumes mounts both Secrets into every step
	// and needs an Argo that does not restrict template referencing.
	// +kubebuilder:default=ByName
	// +optional
	SecretDelivery SecretDelivery `json:"secretDelivery,omitempty"`
	// TTLAfterFinished deletes each Workflow of this type that long after it
	// finished (a duration such as 1h or 30m). Its results stay in the
	// ArtifactWorkflow's and the Order's status, and finished work is never
	// run again because its Workflow is gone. Unset, Workflows stay.
	// +optional
	TTLAfterFinished *metav1.Duration `json:"ttlAfterFinished,omitempty"`
	// TTLAfterFailed, when set, applies instead of ttlAfterFinished to
	// Workflows that failed, for example to keep failures longer for a look
	// at their logs.
	// +optional
	TTLAfterFailed *metav1.Duration `json:"ttlAfterFailed,omitempty"`
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
// WorkflowTemplate of the same namespace moves it. It cannot reach a
// ClusterWorkflowTemplate: cluster-wide templates are offered by a cluster
// admin through a ClusterArtifactType. It cannot shadow a ClusterArtifactType
// offered to its namespace either: while both exist under one name, artifacts
// of that type do not start, and the Order says why.
type ArtifactType struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec describes the artifact type. Its workflowTemplateRef names a
	// WorkflowTemplate in the ArtifactType's namespace.
	// +kubebuilder:validation:XValidation:rule="!has(self.workflowTemplateRef.clusterScope) || !self.workflowTemplateRef.clusterScope",message="a namespaced ArtifactType may only use a WorkflowTemplate of its own namespace: workflowTemplateRef.clusterScope cannot be true; ask a cluster admin for a ClusterArtifactType to use a ClusterWorkflowTemplate"
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

// ClusterArtifactTypeSpec describes an artifact type a cluster admin offers
// to the namespaces its selector matches.
type ClusterArtifactTypeSpec struct {
	ArtifactTypeSpec `json:",inline"`
	// NamespaceSelector selects the namespaces whose Orders may use this type,
	// by the namespaces' labels. Unset, the type is offered to every
	// namespace; an empty selector ({}) also matches every namespace.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
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

// ClusterArtifactType is an artifact type a cluster admin offers to every
// namespace, or to those its namespaceSelector matches. Its template is
// always a ClusterWorkflowTemplate.
type ClusterArtifactType struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec describes the artifact type. Its workflowTemplateRef always names a
	// ClusterWorkflowTemplate, so clusterScope may be omitted but not false.
	// +kubebuilder:validation:XValidation:rule="!has(self.workflowTemplateRef.clusterScope) || self.workflowTemplateRef.clusterScope",message="a ClusterArtifactType always uses a ClusterWorkflowTemplate: workflowTemplateRef.clusterScope cannot be false"
	Spec ClusterArtifactTypeSpec `json:"spec"`
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

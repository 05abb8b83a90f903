package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EndpointUsage says in which direction an Endpoint may be used.
// +kubebuilder:validation:Enum=PullOnly;PushOnly;All
type EndpointUsage string

const (
	// EndpointUsagePullOnly allows the Endpoint only as a source.
	EndpointUsagePullOnly EndpointUsage = "PullOnly"
	// EndpointUsagePushOnly allows the Endpoint only as a destination.
	EndpointUsagePushOnly EndpointUsage = "PushOnly"
	// EndpointUsageAll allows the Endpoint as source and destination.
	EndpointUsageAll EndpointUsage = "All"
)

// AllowsPull tells whether the Endpoint may serve as a source.
// An unset usage means All, the schema default.
func (u EndpointUsage) AllowsPull() bool { return u != EndpointUsagePushOnly }

// AllowsPush tells whether the Endpoint may serve as a destination.
// An unset usage means All, the schema default.
func (u EndpointUsage) AllowsPush() bool { return u != EndpointUsagePullOnly }

// EndpointSpec describes where artifacts come from or go to.
type EndpointSpec struct {
	// Type of the endpoint, for example "oci" or "helm". ArtifactTypes accept
	// or refuse endpoints by this type. Workflows receive it as the srcType or
	// dstType parameter.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Type string `json:"type"`
	// RemoteURL is the address of the registry or server, for example
	// "registry-1.docker.io". Workflows receive it as the srcRemoteURL or
	// dstRemoteURL parameter.
	// It holds no credentials (user:password@ is refused: use secretRef), no
	// whitespace and no control characters.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule=`!self.matches('^([a-zA-Z][a-zA-Z0-9+.-]*://)?[^/?#]*@')`,message="remoteURL must not carry user info (user:password@): put credentials in the Secret that secretRef names"
	// +kubebuilder:validation:XValidation:rule=`!self.matches('[\\s\\x00-\\x1f\\x7f]')`,message="remoteURL must not contain whitespace or control characters"
	RemoteURL string `json:"remoteURL"`
	// SecretRef names a Secret in the Endpoint's namespace that holds the
	// credentials for this endpoint. Workflows receive its name as the
	// srcSecretName or dstSecretName parameter and mount it where their
	// artifact type says; the credentials never become parameters.
	// +optional
	SecretRef *corev1.LocalObjectReference `json:"secretRef,omitempty"`
	// Usage restricts the Endpoint to pulling (source only), pushing
	// (destination only) or both.
	// +kubebuilder:default=All
	// +optional
	Usage EndpointUsage `json:"usage,omitempty"`
	// MaxConcurrentWorkflows is the most Workflows using this Endpoint, as
	// source or destination, that run at once across all Orders of its
	// namespace, so that a registry is not hit by a burst it throttles or
	// fails under. Further work waits (Pending, first come first served).
	// Unset, there is no limit.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxConcurrentWorkflows *int32 `json:"maxConcurrentWorkflows,omitempty"`
}

// EndpointStatus is the observed state of an Endpoint.
type EndpointStatus struct {
	// Conditions are the latest observations of the Endpoint's state.
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
// +kubebuilder:resource:scope=Namespaced,shortName=aep,categories=arc
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Remote URL",type=string,JSONPath=`.spec.remoteURL`
// +kubebuilder:printcolumn:name="Usage",type=string,JSONPath=`.spec.usage`
// +kubebuilder:printcolumn:name="Max workflows",type=integer,JSONPath=`.spec.maxConcurrentWorkflows`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Endpoint is a source or destination of artifacts: a registry, a chart
// repository or a file server, with optional credentials.
type Endpoint struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec describes the endpoint.
	Spec EndpointSpec `json:"spec"`
	// Status is the observed state of the endpoint.
	// +optional
	Status EndpointStatus `json:"status,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true

// EndpointList is a list of Endpoints.
type EndpointList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the Endpoints.
	Items []Endpoint `json:"items"`
}

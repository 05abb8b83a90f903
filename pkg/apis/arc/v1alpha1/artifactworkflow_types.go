package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MaxWorkflowParameters bounds the parameters of one ArtifactWorkflow: those
// derived from the artifact plus those its type adds. Templates declare the
// parameters they use, a few dozen at most; the bound keeps one artifact from
// fanning out into an ArtifactWorkflow and a Workflow of megabytes.
const MaxWorkflowParameters = 512

// ArtifactWorkflowSpec is the fully resolved work for one artifact.
type ArtifactWorkflowSpec struct {
	// Type names the ArtifactType, or else ClusterArtifactType, that does the work.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Type string `json:"type"`
	// Parameters are the flat workflow parameters derived from the artifact and
	// its Endpoints, sorted by name. The type's own parameters are added when
	// the Workflow is built.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=512
	// +optional
	Parameters []Parameter `json:"parameters,omitempty"`
	// SrcSecretRef names the Secret with the source credentials. The Workflow
	// receives its name as the srcSecretName parameter (see the type's
	// secretDelivery).
	// +optional
	SrcSecretRef *corev1.LocalObjectReference `json:"srcSecretRef,omitempty"`
	// DstSecretRef names the Secret with the destination credentials. The
	// Workflow receives its name as the dstSecretName parameter (see the
	// type's secretDelivery).
	// +optional
	DstSecretRef *corev1.LocalObjectReference `json:"dstSecretRef,omitempty"`
	// SrcEndpoint and DstEndpoint name the Endpoints the artifact uses, whose
	// maxConcurrentWorkflows limit its Workflows.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	SrcEndpoint string `json:"srcEndpoint,omitempty"`
	// DstEndpoint: see srcEndpoint.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	DstEndpoint string `json:"dstEndpoint,omitempty"`
	// Run numbers the runs of the artifact: 0 is the first, and each re-run
	// request of the Order adds one. Each run has a Workflow of its own.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Run int64 `json:"run,omitempty"`
	// RunRequestedAt is the time of the last re-run request of the Order
	// this ArtifactWorkflow handled, so a request is carried out once.
	// +optional
	RunRequestedAt *metav1.Time `json:"runRequestedAt,omitempty"`
	// QueuedAt is when the current run was asked for. Work waiting for a
	// concurrency limit starts in this order, first come first served.
	// +optional
	QueuedAt *metav1.MicroTime `json:"queuedAt,omitempty"`
	// Cron, when set, runs the work on a schedule: ARC keeps an Argo
	// CronWorkflow for it instead of creating one Workflow per run.
	// +optional
	Cron *Cron `json:"cron,omitempty"`
}

// ArtifactWorkflowStatus is the observed state of an ArtifactWorkflow and its Argo Workflow.
type ArtifactWorkflowStatus struct {
	// ObservedGeneration is the metadata.generation the status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Run is the run of spec.run whose Workflow the status describes.
	// +optional
	Run int64 `json:"run,omitempty"`
	// WorkflowName names the Argo Workflow the status describes: the
	// ArtifactWorkflow's name for run 0, with "-<run>" for later runs.
	// +optional
	WorkflowName string `json:"workflowName,omitempty"`
	// Phase of the Argo Workflow. Empty until the Workflow reports one. For
	// scheduled work, the phase of the last run (Pending before the first).
	// +optional
	Phase WorkflowPhase `json:"phase,omitempty"`
	// Message explains the phase: Argo's message, or why no Workflow could be created.
	// +optional
	Message string `json:"message,omitempty"`
	// StartedAt is when the Workflow started.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// FinishedAt is when the Workflow finished.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// Results are what the Workflow reported through its global output
	// parameters, for example the digest an artifact has at its destination.
	// At most 16, each value at most 1 KiB; templates must never output
	// credentials.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Results []WorkflowResult `json:"results,omitempty"`
	// Schedule is the state of the schedule of scheduled work (spec.cron):
	// the last scheduled time, the runs in progress, and how many succeeded
	// and failed. workflowName, phase, message, times and results describe
	// its last run.
	// +optional
	Schedule *ScheduleStatus `json:"schedule,omitempty"`
	// Conditions are the latest observations of the ArtifactWorkflow's state.
	// Ready is True once the Workflow succeeded.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=aw,categories=arc
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Run",type=integer,JSONPath=`.spec.run`
// +kubebuilder:printcolumn:name="Workflow",type=string,JSONPath=`.status.workflowName`,priority=1
// +kubebuilder:printcolumn:name="Last-Schedule",type=date,JSONPath=`.status.schedule.lastScheduledTime`,priority=1
// +kubebuilder:printcolumn:name="Active",type=integer,JSONPath=`.status.schedule.active`,priority=1
// +kubebuilder:printcolumn:name="Runs-Succeeded",type=integer,JSONPath=`.status.schedule.succeeded`,priority=1
// +kubebuilder:printcolumn:name="Runs-Failed",type=integer,JSONPath=`.status.schedule.failed`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ArtifactWorkflow is the resolved unit of work for one artifact of an Order:
// its type, flat parameters and secret references. ARC creates it from an
// Order and carries it out as an Argo Workflow of the same name.
type ArtifactWorkflow struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the resolved work.
	Spec ArtifactWorkflowSpec `json:"spec"`
	// Status mirrors the Argo Workflow.
	// +optional
	Status ArtifactWorkflowStatus `json:"status,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true

// ArtifactWorkflowList is a list of ArtifactWorkflows.
type ArtifactWorkflowList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the ArtifactWorkflows.
	Items []ArtifactWorkflow `json:"items"`
}

// WorkflowResult is one global output parameter of a finished Workflow.
type WorkflowResult struct {
	// Name of the output parameter.
	// +kubebuilder:validation:MaxLength=128
	Name string `json:"name"`
	// Value of the output parameter, cut to 1 KiB.
	// +kubebuilder:validation:MaxLength=1100
	Value string `json:"value"`
}

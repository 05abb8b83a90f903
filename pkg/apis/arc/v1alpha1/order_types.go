package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// MaxArtifactsPerOrder bounds the artifacts of one Order, enough for a whole
// product release. An Order carries an entry per artifact in its status
// too, and must stay far below etcd's object size limit of 1.5 MiB: the
// status cuts its messages shorter the more artifacts it holds (a test of
// the Order controller measures an Order of this size with a full status).
// Split larger batches into several Orders.
const MaxArtifactsPerOrder = 1000

// OrderDefaults apply to every artifact of an Order that does not say otherwise.
type OrderDefaults struct {
	// SrcRef names the source Endpoint of artifacts without a srcRef.
	// +optional
	SrcRef *corev1.LocalObjectReference `json:"srcRef,omitempty"`
	// DstRef names the destination Endpoint of artifacts without a dstRef.
	// +optional
	DstRef *corev1.LocalObjectReference `json:"dstRef,omitempty"`
	// Cron runs every artifact without a cron of its own on this schedule.
	// +optional
	Cron *Cron `json:"cron,omitempty"`
}

// OrderArtifact is one artifact to move.
type OrderArtifact struct {
	// Type names the ArtifactType in the Order's namespace, or else the
	// ClusterArtifactType offered to that namespace, that processes this
	// artifact. When both exist under the name, the artifact does not start.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Type string `json:"type"`
	// SrcRef names the source Endpoint in the Order's namespace. Without it,
	// spec.defaults.srcRef applies.
	// +optional
	SrcRef *corev1.LocalObjectReference `json:"srcRef,omitempty"`
	// DstRef names the destination Endpoint in the Order's namespace. Without
	// it, spec.defaults.dstRef applies.
	// +optional
	DstRef *corev1.LocalObjectReference `json:"dstRef,omitempty"`
	// Spec is free-form JSON describing the artifact, for example
	// {"image": "library/alpine:3.18"}. It reaches the workflow flattened into
	// parameters: every key path becomes a camelCase name prefixed with
	// "spec" (image -> specImage, tags[0] -> specTags0, foo.bar -> specFooBar).
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	// +optional
	Spec *runtime.RawExtension `json:"spec,omitempty"`
	// Cron runs the artifact on a schedule, as an Argo CronWorkflow, instead
	// of once. Without it, spec.defaults.cron applies; without both, the
	// artifact runs once. The schedule is not part of the artifact's
	// identity: changing it changes the running schedule in place.
	// +optional
	Cron *Cron `json:"cron,omitempty"`
}

// +kubebuilder:validation:XValidation:rule="self.artifacts.all(a, (has(a.srcRef) && has(a.srcRef.name) && a.srcRef.name != '') || (has(self.defaults) && has(self.defaults.srcRef) && has(self.defaults.srcRef.name) && self.defaults.srcRef.name != ''))",message="every artifact needs a srcRef, or the Order needs spec.defaults.srcRef"
// +kubebuilder:validation:XValidation:rule="self.artifacts.all(a, (has(a.dstRef) && has(a.dstRef.name) && a.dstRef.name != '') || (has(self.defaults) && has(self.defaults.dstRef) && has(self.defaults.dstRef.name) && self.defaults.dstRef.name != ''))",message="every artifact needs a dstRef, or the Order needs spec.defaults.dstRef"

// OrderSpec is the list of artifacts an Order asks to move.
type OrderSpec struct {
	// Defaults apply to every artifact that does not set the field itself.
	// +optional
	Defaults *OrderDefaults `json:"defaults,omitempty"`
	// Artifacts to move. Each becomes one ArtifactWorkflow; identical artifacts
	// share one.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1000
	Artifacts []OrderArtifact `json:"artifacts"`
	// Suspend, when true, keeps ARC from creating Workflows for this Order:
	// artifacts whose Workflow does not exist yet wait (Pending) until it is
	// set to false again; running Workflows finish. As spec.suspend of a
	// Kubernetes Job. It pauses the Order's schedules too (their
	// CronWorkflows are suspended); resumed, they go on from the next time
	// they name (or a missed one within startingDeadlineSeconds).
	// +optional
	Suspend bool `json:"suspend,omitempty"`
	// Parallelism is the most Workflows of this Order that run at once.
	// Further artifacts wait (Pending, first come first served) until one
	// finishes. Unset, there is no limit of the Order's own.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Parallelism *int32 `json:"parallelism,omitempty"`
	// TTLSecondsAfterFinished deletes the Order, and with it its
	// ArtifactWorkflows and Workflows, that many seconds after every artifact
	// finished (status.completionTime), as for a Kubernetes Job. Unset, the
	// Order stays. An Order that is edited or re-run before then starts anew.
	// +kubebuilder:validation:Minimum=0
	// +optional
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`
}

// OrderPhase summarises the progress of all artifacts of an Order.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed;Active
type OrderPhase string

const (
	// OrderPhasePending means no artifact is running and at least one has not
	// started, or cannot start yet (see status.unresolvedArtifacts).
	OrderPhasePending OrderPhase = "Pending"
	// OrderPhaseRunning means at least one artifact is being processed and
	// none has failed.
	OrderPhaseRunning OrderPhase = "Running"
	// OrderPhaseSucceeded means every artifact was processed successfully.
	OrderPhaseSucceeded OrderPhase = "Succeeded"
	// OrderPhaseFailed means at least one artifact failed (for a scheduled
	// artifact: its last run). The others go on.
	OrderPhaseFailed OrderPhase = "Failed"
	// OrderPhaseActive means at least one artifact runs on a schedule and
	// none failed. Such an Order never succeeds nor finishes: its schedules
	// go on until they are removed or the Order is deleted.
	OrderPhaseActive OrderPhase = "Active"
)

// OrderArtifactWorkflowStatus is the state of one ArtifactWorkflow of an Order.
type OrderArtifactWorkflowStatus struct {
	// Name of the ArtifactWorkflow (and of its Argo Workflow).
	Name string `json:"name"`
	// ArtifactIndex is the position in spec.artifacts of the artifact this
	// ArtifactWorkflow does the work for.
	ArtifactIndex int32 `json:"artifactIndex"`
	// DuplicateIndices are the positions of further artifacts identical to the
	// one at artifactIndex. They share this ArtifactWorkflow, so the work is done once.
	// +listType=set
	// +optional
	DuplicateIndices []int32 `json:"duplicateIndices,omitempty"`
	// Phase of the ArtifactWorkflow.
	// +optional
	Phase WorkflowPhase `json:"phase,omitempty"`
	// Message explains the phase, in particular why work failed or waits.
	// +optional
	Message string `json:"message,omitempty"`
}

// UnresolvedArtifact is an artifact that cannot become an ArtifactWorkflow yet,
// for example because an Endpoint it names does not exist. It proceeds by
// itself once the cause is fixed.
type UnresolvedArtifact struct {
	// ArtifactIndex is the artifact's position in spec.artifacts.
	ArtifactIndex int32 `json:"artifactIndex"`
	// Reason is a CamelCase word for the cause, for example EndpointNotFound.
	Reason string `json:"reason"`
	// Message says what is wrong and what would fix it.
	Message string `json:"message"`
}

// OrderStatus is the observed state of an Order.
type OrderStatus struct {
	// ObservedGeneration is the metadata.generation the status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Phase summarises the artifacts: Failed if any failed (a scheduled one
	// by its last run), else Active if any runs on a schedule, else
	// Succeeded if all succeeded, else Running if any runs, else Pending.
	// +optional
	Phase OrderPhase `json:"phase,omitempty"`
	// Total is the number of artifacts in the Order.
	// +optional
	Total int32 `json:"total,omitempty"`
	// Scheduled counts the artifacts that run on a schedule. They are
	// counted in the other counters too, by their last run (Pending before
	// the first, Running while one runs).
	// +optional
	Scheduled int32 `json:"scheduled,omitempty"`
	// Pending counts artifacts not started yet, unresolved ones included.
	// +optional
	Pending int32 `json:"pending,omitempty"`
	// Running counts artifacts being processed.
	// +optional
	Running int32 `json:"running,omitempty"`
	// Succeeded counts artifacts processed successfully.
	// +optional
	Succeeded int32 `json:"succeeded,omitempty"`
	// Failed counts artifacts whose processing failed or errored.
	// +optional
	Failed int32 `json:"failed,omitempty"`
	// ArtifactWorkflows maps the hash of each ArtifactWorkflow's work to its state.
	// ---
	// Only the Order controller writes it, always whole, so the API server
	// tracks it as one field: as a granular map, its managed fields listed
	// every entry's every field again, a fifth of an Order of 1,000
	// artifacts (92 of 418 KB), stored, served and recomputed on every
	// status write.
	// +mapType=atomic
	// +optional
	ArtifactWorkflows map[string]OrderArtifactWorkflowStatus `json:"artifactWorkflows,omitempty"`
	// UnresolvedArtifacts lists the artifacts that cannot become an
	// ArtifactWorkflow yet, with the reason.
	// +listType=map
	// +listMapKey=artifactIndex
	// +optional
	UnresolvedArtifacts []UnresolvedArtifact `json:"unresolvedArtifacts,omitempty"`
	// Conditions are the latest observations of the Order's state. Ready is
	// True once every artifact succeeded.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// CompletionTime is when every artifact of the Order had finished
	// (succeeded or failed). It is cleared when work starts again (a re-run,
	// an edit). spec.ttlSecondsAfterFinished counts from it. An Order with a
	// scheduled artifact never finishes.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// LastForceAt is the time of the last re-run request of the annotation
	// arc.opendefense.cloud/force-at that ARC carried out.
	// +optional
	LastForceAt *metav1.Time `json:"lastForceAt,omitempty"`
	// LastRerunFailedAt is the time of the last re-run request of the
	// annotation arc.opendefense.cloud/rerun-failed-at that ARC carried out.
	// +optional
	LastRerunFailedAt *metav1.Time `json:"lastRerunFailedAt,omitempty"`
}

// Annotations on an Order that ask for a re-run. The value is a time, in
// RFC 3339 (2026-11-01T12:00:00Z) or as Unix seconds (date +%s); a request is
// carried out once, when its time is later than the last one handled.
const (
	// AnnotationForceAt re-runs every artifact of the Order once: each gets
	// a new Workflow, after its running one, if any, finished.
	AnnotationForceAt = GroupName + "/force-at"
	// AnnotationRerunFailedAt re-runs once the artifacts whose last run failed.
	AnnotationRerunFailedAt = GroupName + "/rerun-failed-at"
)

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=ord,categories=arc
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Succeeded",type=integer,JSONPath=`.status.succeeded`
// +kubebuilder:printcolumn:name="Failed",type=integer,JSONPath=`.status.failed`
// +kubebuilder:printcolumn:name="Total",type=integer,JSONPath=`.status.total`
// +kubebuilder:printcolumn:name="Scheduled",type=integer,JSONPath=`.status.scheduled`,priority=1
// +kubebuilder:printcolumn:name="Running",type=integer,JSONPath=`.status.running`,priority=1
// +kubebuilder:printcolumn:name="Pending",type=integer,JSONPath=`.status.pending`,priority=1
// +kubebuilder:printcolumn:name="Suspend",type=boolean,JSONPath=`.spec.suspend`,priority=1
// +kubebuilder:printcolumn:name="Parallelism",type=integer,JSONPath=`.spec.parallelism`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Order asks ARC to move a list of artifacts from source to destination
// Endpoints. ARC creates one ArtifactWorkflow per distinct artifact and
// reports their progress here.
type Order struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec lists the artifacts to move.
	Spec OrderSpec `json:"spec"`
	// Status reports the progress of every artifact.
	// +optional
	Status OrderStatus `json:"status,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true

// OrderList is a list of Orders.
type OrderList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the Orders.
	Items []Order `json:"items"`
}

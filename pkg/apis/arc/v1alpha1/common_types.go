package v1alpha1

// MaxParameterNameLength bounds the name of a parameter. Templates name
// their parameters in a few words; a bound keeps a spec from flattening into
// names that multiply the size of its ArtifactWorkflow.
const MaxParameterNameLength = 128

// Parameter is one named string value handed to an Argo Workflow as a
// workflow-level argument.
type Parameter struct {
	// Name of the parameter, as the workflow template refers to it in
	// {{workflow.parameters.<name>}}. Argo accepts letters, digits, '-' and '_'.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[-a-zA-Z0-9_]+$`
	Name string `json:"name"`
	// Value of the parameter. It may be empty.
	Value string `json:"value"`
}

// WorkflowPhase is the phase of the Argo Workflow that carries out an
// ArtifactWorkflow. Its values are Argo's own workflow phases.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed;Error
type WorkflowPhase string

// The phases an ArtifactWorkflow reports, mirrored from its Argo Workflow.
const (
	// WorkflowPhaseUnknown means no Workflow has reported a phase yet.
	WorkflowPhaseUnknown WorkflowPhase = ""
	// WorkflowPhasePending means the Workflow exists but has not started.
	WorkflowPhasePending WorkflowPhase = "Pending"
	// WorkflowPhaseRunning means at least one step of the Workflow runs.
	WorkflowPhaseRunning WorkflowPhase = "Running"
	// WorkflowPhaseSucceeded means the Workflow finished and every step succeeded.
	WorkflowPhaseSucceeded WorkflowPhase = "Succeeded"
	// WorkflowPhaseFailed means a step of the Workflow failed.
	WorkflowPhaseFailed WorkflowPhase = "Failed"
	// WorkflowPhaseError means the Workflow could not run or was lost.
	WorkflowPhaseError WorkflowPhase = "Error"
)

// Finished tells whether the phase is final: the Workflow will not change it again.
func (p WorkflowPhase) Finished() bool {
	switch p {
	case WorkflowPhaseSucceeded, WorkflowPhaseFailed, WorkflowPhaseError:
		return true
	}
	return false
}

// ConditionReady is the condition type every ARC object that does work
// reports: True once that work is done successfully.
const ConditionReady = "Ready"

// Labels and annotations ARC puts on the objects it creates.
const (
	// LabelManagedBy marks objects ARC created; its value is ManagedByValue.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of LabelManagedBy on objects ARC created.
	ManagedByValue = "arc-controller"
	// LabelOrderUID ties an ArtifactWorkflow and its Workflow to their Order.
	// It holds the UID because an Order name may be longer than a label value.
	LabelOrderUID = GroupName + "/order-uid"
	// LabelArtifactWorkflow ties a Workflow to its ArtifactWorkflow by name.
	LabelArtifactWorkflow = GroupName + "/artifactworkflow"
	// LabelArtifactHash carries the hash of the work an ArtifactWorkflow does,
	// the key of that work in its Order's status.
	LabelArtifactHash = GroupName + "/artifact-hash"
	// AnnotationOrderName names the Order an object was made for, for people.
	AnnotationOrderName = GroupName + "/order"
	// FinalizerWorkflowResult holds a Workflow ARC created until ARC has
	// recorded its final phase, however it is deleted (ARC's TTL, Argo's,
	// a person, the garbage collector) and even while ARC is down, so a
	// finished result is never lost nor reported as an error.
	FinalizerWorkflowResult = GroupName + "/workflow-result"
)

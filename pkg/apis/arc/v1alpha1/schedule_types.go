package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Bounds of a schedule: a few cron expressions of a few words each.
const (
	// MaxSchedules bounds the cron expressions of one schedule.
	MaxSchedules = 8
	// MaxScheduleLength bounds one cron expression.
	MaxScheduleLength = 128
)

// ConcurrencyPolicy says what happens when a scheduled run is due while an
// earlier run of the same artifact still runs.
// +kubebuilder:validation:Enum=Allow;Forbid;Replace
type ConcurrencyPolicy string

const (
	// ConcurrencyAllow starts the new run beside the running one.
	ConcurrencyAllow ConcurrencyPolicy = "Allow"
	// ConcurrencyForbid skips the new run while one runs.
	ConcurrencyForbid ConcurrencyPolicy = "Forbid"
	// ConcurrencyReplace stops the running run (Argo terminates it; it ends
	// Failed) and starts the new one.
	ConcurrencyReplace ConcurrencyPolicy = "Replace"
)

// Cron runs an artifact on a schedule instead of once. ARC carries it out as
// an Argo CronWorkflow, which starts a Workflow from the artifact's template
// at every time the schedules name.
type Cron struct {
	// Schedules are standard cron expressions with five fields (minute hour
	// day-of-month month day-of-week, e.g. "0 3 * * *"), or descriptors such
	// as "@daily". The artifact runs at every time any of them names. Two
	// runs must be at least the controller's --min-schedule-interval (10
	// minutes by default) apart.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	// +listType=atomic
	Schedules []string `json:"schedules"`
	// Timezone is the IANA time zone the schedules are read in, for example
	// "Europe/Berlin". Unset, Argo's controller reads them in its own local
	// time zone (UTC in a usual container).
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Timezone string `json:"timezone,omitempty"`
	// ConcurrencyPolicy says what happens when a run is due while the
	// previous one still runs: Allow (default) starts it beside, Forbid
	// skips it, Replace stops the running one and starts the new one.
	// +kubebuilder:default=Allow
	// +optional
	ConcurrencyPolicy ConcurrencyPolicy `json:"concurrencyPolicy,omitempty"`
	// StartingDeadlineSeconds lets a run that was missed (Argo's controller
	// was down, or the Order suspended) start late, if it is no more than
	// that many seconds past its time. Unset, missed runs are skipped.
	// +kubebuilder:validation:Minimum=0
	// +optional
	StartingDeadlineSeconds *int64 `json:"startingDeadlineSeconds,omitempty"`
}

// ScheduleStatus is the state of the schedule of an ArtifactWorkflow, from
// its Argo CronWorkflow.
type ScheduleStatus struct {
	// CronWorkflowName names the Argo CronWorkflow that runs the schedule.
	// +optional
	CronWorkflowName string `json:"cronWorkflowName,omitempty"`
	// LastScheduledTime is when the schedule last started a run.
	// +optional
	LastScheduledTime *metav1.Time `json:"lastScheduledTime,omitempty"`
	// Active counts the runs in progress.
	// +optional
	Active int32 `json:"active,omitempty"`
	// Succeeded counts the runs that succeeded, as Argo counted them.
	// +optional
	Succeeded int64 `json:"succeeded,omitempty"`
	// Failed counts the runs that failed or errored (a replaced run
	// included), and the runs Argo could not start.
	// +optional
	Failed int64 `json:"failed,omitempty"`
	// Suspended is true while the Order's spec.suspend pauses the schedule.
	// +optional
	Suspended bool `json:"suspended,omitempty"`
}

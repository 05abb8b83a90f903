package workflowbuilder

import (
	"errors"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/naming"
)

var errNoCron = errors.New("ArtifactWorkflow has no schedule (spec.cron)")

// BuildCron returns the Argo CronWorkflow that runs aw on its schedule
// (aw.spec.cron) with the template of its type, suspended when suspend is
// set (the Order is suspended).
//
// Its workflowSpec is the spec Build gives a one-off Workflow: a reference
// to the type's template and the arguments, so under Argo's Strict or
// Secure template referencing a scheduled run may set exactly what a
// one-off Workflow may. The CronWorkflow is named naming.CronWorkflow of
// aw, lives in aw's namespace, is controlled by aw and carries its labels.
// Argo puts spec.workflowMetadata on every run it starts, so each run
// carries ARC's labels too (the Workflow informer selects by them, and
// LabelArtifactWorkflow leads from a run back to aw) besides Argo's own
// workflows.argoproj.io/cron-workflow.
//
// Runs carry no FinalizerWorkflowResult: Argo counts their results in the
// CronWorkflow's status and deletes old runs by its history limits (the 3
// last successful runs and the last failed one stay), which a finalizer
// would only hold up.
//
// The concurrency policy is always written out (Allow when unset), so
// the stored CronWorkflow says what applies.
func BuildCron(aw *v1alpha1.ArtifactWorkflow, t TypeRef, suspend bool) (*wfv1.CronWorkflow, error) {
	if aw != nil && aw.Spec.Cron == nil {
		return nil, errNoCron
	}
	wf, err := Build(aw, t)
	if err != nil {
		return nil, err
	}
	c := aw.Spec.Cron
	policy := c.ConcurrencyPolicy
	if policy == "" {
		policy = v1alpha1.ConcurrencyAllow
	}
	var deadline *int64
	if c.StartingDeadlineSeconds != nil {
		d := *c.StartingDeadlineSeconds
		deadline = &d
	}
	meta := workflowMeta(aw)
	runMeta := &metav1.ObjectMeta{Labels: workflowLabels(aw), Annotations: meta.Annotations}
	return &wfv1.CronWorkflow{
		TypeMeta: metav1.TypeMeta{
			APIVersion: wfv1.SchemeGroupVersion.String(),
			Kind:       "CronWorkflow",
		},
		ObjectMeta: metav1.ObjectMeta{
			Name:            naming.CronWorkflow(aw.Name),
			Namespace:       aw.Namespace,
			Labels:          workflowLabels(aw),
			Annotations:     meta.Annotations,
			OwnerReferences: meta.OwnerReferences,
		},
		Spec: wfv1.CronWorkflowSpec{
			WorkflowSpec:            wf.Spec,
			Schedules:               append([]string(nil), c.Schedules...),
			Timezone:                c.Timezone,
			ConcurrencyPolicy:       wfv1.ConcurrencyPolicy(policy),
			StartingDeadlineSeconds: deadline,
			Suspend:                 suspend,
			WorkflowMetadata:        runMeta,
		},
	}, nil
}

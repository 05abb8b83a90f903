package workflowbuilder

import (
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// arguments hands the parameters to the Workflow. Every parameter gets a
// value, even an empty one, because Argo fails a Workflow whose argument has
// neither value nor valueFrom.
func arguments(params []v1alpha1.Parameter) wfv1.Arguments {
	if len(params) == 0 {
		return wfv1.Arguments{}
	}
	out := make([]wfv1.Parameter, len(params))
	for i, p := range params {
		out[i] = wfv1.Parameter{Name: p.Name, Value: wfv1.AnyStringPtr(p.Value)}
	}
	return wfv1.Arguments{Parameters: out}
}

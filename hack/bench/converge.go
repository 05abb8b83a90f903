package main

import (
	"fmt"
	"sort"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// snapshot is the state of the run's objects at one moment.
type snapshot struct {
	orders []*arcv1.Order
	aws    []*arcv1.ArtifactWorkflow
	wfs    []*wfv1.Workflow
}

// orderTruth is what one Order must end up with.
type orderTruth struct {
	// artifacts is the number of its artifacts; all are distinct, so it is
	// also the number of its ArtifactWorkflows and Workflows.
	artifacts int
	// failed is the number of its artifacts simulated Argo fails.
	failed int
}

// phase is the Order's correct final phase.
func (t orderTruth) phase() arcv1.OrderPhase {
	if t.failed > 0 {
		return arcv1.OrderPhaseFailed
	}
	return arcv1.OrderPhaseSucceeded
}

// The kinds of problem a convergence check finds. The first group breaks
// "exactly one Workflow per ArtifactWorkflow, none orphaned, none
// duplicated"; the second the Orders' phases and counters; the last is
// work not finished yet.
const (
	problemOrderMissing  = "order-missing"
	problemAWMissing     = "artifactworkflow-missing"
	problemAWDuplicate   = "artifactworkflow-duplicate"
	problemAWOrphan      = "artifactworkflow-orphan"
	problemWFMissing     = "workflow-missing"
	problemWFDuplicate   = "workflow-duplicate"
	problemWFOrphan      = "workflow-orphan"
	problemOrderPhase    = "order-phase"
	problemOrderCounters = "order-counters"
	problemOrderEntries  = "order-status-entries"
	problemAWPhase       = "artifactworkflow-phase"
	problemWFUnfinished  = "workflow-unfinished"
)

// structuralProblems are the kinds the one-Workflow-per-ArtifactWorkflow
// check reports; the others belong to the phase and counter checks.
var structuralProblems = map[string]bool{
	problemAWMissing: true, problemAWDuplicate: true, problemAWOrphan: true,
	problemWFMissing: true, problemWFDuplicate: true, problemWFOrphan: true,
}

// problem is one way the snapshot differs from the converged state.
type problem struct {
	Kind   string `json:"kind"`
	Object string `json:"object"`
	Detail string `json:"detail"`
}

func (p problem) String() string { return fmt.Sprintf("%s %s: %s", p.Kind, p.Object, p.Detail) }

// counters are an Order's status counters.
type counters struct{ Total, Pending, Running, Succeeded, Failed int32 }

func (c counters) String() string {
	return fmt.Sprintf("total %d, succeeded %d, failed %d, running %d, pending %d", c.Total, c.Succeeded, c.Failed, c.Running, c.Pending)
}

// countPhase adds one artifact in an ArtifactWorkflow phase, the way an
// Order's status counts them.
func (c *counters) countPhase(p arcv1.WorkflowPhase) {
	switch p {
	case arcv1.WorkflowPhaseRunning:
		c.Running++
	case arcv1.WorkflowPhaseSucceeded:
		c.Succeeded++
	case arcv1.WorkflowPhaseFailed, arcv1.WorkflowPhaseError:
		c.Failed++
	default:
		c.Pending++
	}
}

// checkConvergence lists every way the snapshot is not the converged state
// of the Orders truth names (by namespace/name): each Order has exactly one
// ArtifactWorkflow per artifact and each of those exactly one Workflow, all
// controlled by their parent of the right UID; every Workflow finished and
// its ArtifactWorkflow mirrors its phase; every Order is in its final phase
// with counters equal to what its ArtifactWorkflows say and to the truth.
// No problem means converged.
func checkConvergence(s snapshot, truth map[string]orderTruth) []problem {
	var out []problem
	add := func(kind, obj, format string, a ...any) {
		out = append(out, problem{Kind: kind, Object: obj, Detail: fmt.Sprintf(format, a...)})
	}
	orders := byKey(s.orders)
	awsByOrder := groupByController(s.aws, "Order", orders, problemAWOrphan, add)
	wfsByAW := groupByController(s.wfs, "ArtifactWorkflow", byKey(s.aws), problemWFOrphan, add)

	for _, k := range sortedKeys(truth) {
		o := orders[k]
		if o == nil {
			add(problemOrderMissing, k, "the Order does not exist")
			continue
		}
		checkOrder(o, truth[k], awsByOrder[k], wfsByAW, add)
	}
	return out
}

// byKey indexes objects by namespace/name.
func byKey[T metav1.Object](objs []T) map[string]T {
	out := make(map[string]T, len(objs))
	for _, o := range objs {
		out[key(o.GetNamespace(), o.GetName())] = o
	}
	return out
}

// groupByController returns objs by the key of the parent of kind that
// controls them (owner reference with controller set), and reports as
// problem orphan each one whose parent is not among parents under that name
// and UID.
func groupByController[T, P metav1.Object](objs []T, kind string, parents map[string]P, orphan string, add func(kind, obj, format string, a ...any)) map[string][]T {
	out := map[string][]T{}
	for _, o := range objs {
		k := key(o.GetNamespace(), o.GetName())
		ref := metav1.GetControllerOf(o)
		if ref == nil || ref.Kind != kind {
			add(orphan, k, "no %s controls it", kind)
			continue
		}
		pk := key(o.GetNamespace(), ref.Name)
		if p, ok := parents[pk]; !ok || p.GetUID() != ref.UID {
			add(orphan, k, "its %s %s (uid %s) does not exist", kind, pk, ref.UID)
			continue
		}
		out[pk] = append(out[pk], o)
	}
	return out
}

// checkOrder checks one Order against its truth, its ArtifactWorkflows and
// their Workflows.
func checkOrder(o *arcv1.Order, t orderTruth, aws []*arcv1.ArtifactWorkflow, wfsByAW map[string][]*wfv1.Workflow, add func(kind, obj, format string, a ...any)) {
	k := key(o.Namespace, o.Name)
	byHash := map[string][]string{}
	var fromAWs counters
	for _, aw := range aws {
		ak := key(aw.Namespace, aw.Name)
		h := aw.Labels[arcv1.LabelArtifactHash]
		byHash[h] = append(byHash[h], aw.Name)
		fromAWs.countPhase(aw.Status.Phase)
		checkWorkflowsOf(aw, wfsByAW[ak], add)
	}
	for h, names := range byHash {
		if len(names) > 1 {
			sort.Strings(names)
			add(problemAWDuplicate, k, "%d ArtifactWorkflows for the artifact of hash %q: %s", len(names), h, strings.Join(names, ", "))
		}
	}
	if len(byHash) < t.artifacts {
		add(problemAWMissing, k, "%d of %d distinct artifacts have an ArtifactWorkflow", len(byHash), t.artifacts)
	} else if len(byHash) > t.artifacts {
		add(problemAWDuplicate, k, "%d ArtifactWorkflows for %d artifacts", len(byHash), t.artifacts)
	}
	checkOrderStatus(o, t, aws, fromAWs, add)
}

// checkWorkflowsOf checks that exactly one Workflow of the ArtifactWorkflow's
// name exists, that it finished, and that the ArtifactWorkflow mirrors its
// phase.
func checkWorkflowsOf(aw *arcv1.ArtifactWorkflow, wfs []*wfv1.Workflow, add func(kind, obj, format string, a ...any)) {
	ak := key(aw.Namespace, aw.Name)
	switch {
	case len(wfs) == 0:
		add(problemWFMissing, ak, "no Workflow (ArtifactWorkflow phase %q)", aw.Status.Phase)
		return
	case len(wfs) > 1:
		add(problemWFDuplicate, ak, "%d Workflows", len(wfs))
		return
	}
	wf := wfs[0]
	if wf.Name != aw.Name {
		add(problemWFDuplicate, ak, "its Workflow is named %s", wf.Name)
	}
	if !wf.Status.Fulfilled() {
		add(problemWFUnfinished, ak, "Workflow phase %q", wf.Status.Phase)
		return
	}
	if string(aw.Status.Phase) != string(wf.Status.Phase) {
		add(problemAWPhase, ak, "phase %q, its Workflow's %q", aw.Status.Phase, wf.Status.Phase)
	}
}

// checkOrderStatus compares the Order's phase, counters and status entries
// with its ArtifactWorkflows and its truth.
func checkOrderStatus(o *arcv1.Order, t orderTruth, aws []*arcv1.ArtifactWorkflow, fromAWs counters, add func(kind, obj, format string, a ...any)) {
	k := key(o.Namespace, o.Name)
	st := o.Status
	have := counters{Total: st.Total, Pending: st.Pending, Running: st.Running, Succeeded: st.Succeeded, Failed: st.Failed}
	fromAWs.Total = int32(len(o.Spec.Artifacts))
	fromAWs.Pending += int32(len(st.UnresolvedArtifacts))
	want := counters{Total: int32(t.artifacts), Succeeded: int32(t.artifacts - t.failed), Failed: int32(t.failed)}
	if st.Phase != t.phase() {
		add(problemOrderPhase, k, "phase %q, want %q", st.Phase, t.phase())
	}
	if o.Status.ObservedGeneration != o.Generation {
		add(problemOrderPhase, k, "status of generation %d, the Order is at %d", st.ObservedGeneration, o.Generation)
	}
	if have != fromAWs {
		add(problemOrderCounters, k, "counters %s; its ArtifactWorkflows say %s", have, fromAWs)
	} else if have != want {
		add(problemOrderCounters, k, "counters %s; the truth is %s", have, want)
	}
	names := map[string]bool{}
	for _, aw := range aws {
		names[aw.Name] = true
	}
	listed := 0
	for _, e := range st.ArtifactWorkflows {
		if !names[e.Name] {
			add(problemOrderEntries, k, "status names ArtifactWorkflow %s, which it does not control", e.Name)
		}
		listed++
	}
	if listed != len(aws) {
		add(problemOrderEntries, k, "status lists %d ArtifactWorkflows, it controls %d", listed, len(aws))
	}
}

// summarize counts problems by kind, as "kind N" sorted by kind.
func summarize(ps []problem) string {
	n := map[string]int{}
	for _, p := range ps {
		n[p.Kind]++
	}
	var parts []string
	for _, k := range sortedKeys(n) {
		parts = append(parts, fmt.Sprintf("%s %d", k, n[k]))
	}
	return strings.Join(parts, ", ")
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

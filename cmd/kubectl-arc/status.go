package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

func newStatusCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status order/NAME",
		Short: "Show an Order as a tree: each artifact, its ArtifactWorkflow and Workflow, and the step that failed",
		Example: `  kubectl arc status order/mirror-alpine -n team-a
  kubectl arc status order/mirror-alpine -o yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validateOutput(); err != nil {
				return err
			}
			name, err := parseOrderRef(args[0])
			if err != nil {
				return err
			}
			ns, err := o.namespace()
			if err != nil {
				return err
			}
			c, err := o.newClients()
			if err != nil {
				return err
			}
			view, err := orderStatus(cmd.Context(), c, ns, name)
			if err != nil {
				return err
			}
			if o.output != "" {
				return printStructured(o.streams.Out, o.output, view)
			}
			printTree(o.streams.Out, view)
			return nil
		},
	}
	addOutputFlag(cmd, o)
	return cmd
}

// parseOrderRef accepts NAME, order/NAME, orders/NAME and the group-qualified forms.
func parseOrderRef(arg string) (string, error) {
	kind, name, found := strings.Cut(arg, "/")
	if !found {
		return arg, nil
	}
	switch strings.ToLower(kind) {
	case "order", "orders", "order." + arcv1.GroupName, "orders." + arcv1.GroupName:
	default:
		return "", fmt.Errorf("%q: status shows Orders (order/NAME), not %s", arg, kind)
	}
	if name == "" {
		return "", fmt.Errorf("%q names no Order", arg)
	}
	return name, nil
}

// statusView is what status prints, and what -o json|yaml writes.
type statusView struct {
	Order     orderView      `json:"order"`
	Artifacts []artifactView `json:"artifacts"`
}

type orderView struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Phase     string `json:"phase"`
	// Summary counts the artifacts by state, e.g. "Succeeded": 1, "Unresolved": 1.
	Summary map[string]int `json:"summary"`
}

type artifactView struct {
	Index       int32           `json:"index"`
	Type        string          `json:"type"`
	Source      string          `json:"source,omitempty"`
	Destination string          `json:"destination,omitempty"`
	Spec        json.RawMessage `json:"spec,omitempty"`
	// SameAs is the artifact whose ArtifactWorkflow does this one's work
	// too: ARC runs identical artifacts once.
	SameAs           *int32                `json:"sameAs,omitempty"`
	Unresolved       *problemView          `json:"unresolved,omitempty"`
	ArtifactWorkflow *artifactWorkflowView `json:"artifactWorkflow,omitempty"`
	// Waiting says why nothing is known yet.
	Waiting string `json:"waiting,omitempty"`
}

type problemView struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

type artifactWorkflowView struct {
	Name string `json:"name"`
	// Run numbers the run the status describes: 0 is the first, each
	// re-run adds one.
	Run        int64         `json:"run,omitempty"`
	Phase      string        `json:"phase"`
	Message    string        `json:"message,omitempty"`
	StartedAt  *metav1.Time  `json:"startedAt,omitempty"`
	FinishedAt *metav1.Time  `json:"finishedAt,omitempty"`
	Workflow   *workflowView `json:"workflow,omitempty"`
}

type workflowView struct {
	Name    string `json:"name"`
	Phase   string `json:"phase,omitempty"`
	Message string `json:"message,omitempty"`
	// Unavailable says why the Workflow could not be shown.
	Unavailable string     `json:"unavailable,omitempty"`
	FailedSteps []stepView `json:"failedSteps,omitempty"`
}

type stepView struct {
	Name     string `json:"name"`
	Template string `json:"template,omitempty"`
	Phase    string `json:"phase"`
	Message  string `json:"message,omitempty"`
}

// state names an artifact's state for the summary.
func (a artifactView) state() string {
	switch {
	case a.Unresolved != nil:
		return "Unresolved"
	case a.ArtifactWorkflow != nil && a.ArtifactWorkflow.Phase != "":
		return a.ArtifactWorkflow.Phase
	case a.ArtifactWorkflow != nil:
		return "Pending"
	default:
		return "Waiting"
	}
}

// orderStatus reads the Order, its ArtifactWorkflows and their Workflows.
func orderStatus(ctx context.Context, c *clients, ns, name string) (*statusView, error) {
	order, err := c.arc.ArcV1alpha1().Orders(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	selector := labels.SelectorFromSet(labels.Set{arcv1.LabelOrderUID: string(order.UID)}).String()
	awList, err := c.arc.ArcV1alpha1().ArtifactWorkflows(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("listing the Order's ArtifactWorkflows: %w", err)
	}
	aws := map[string]*arcv1.ArtifactWorkflow{}
	for i := range awList.Items {
		aws[awList.Items[i].Name] = &awList.Items[i]
	}
	workflows, wfUnavailable := readWorkflows(ctx, c, ns)

	unresolved := map[int32]arcv1.UnresolvedArtifact{}
	for _, u := range order.Status.UnresolvedArtifacts {
		unresolved[u.ArtifactIndex] = u
	}
	entries := map[int32]arcv1.OrderArtifactWorkflowStatus{}
	sameAs := map[int32]int32{}
	for _, e := range order.Status.ArtifactWorkflows {
		entries[e.ArtifactIndex] = e
		for _, d := range e.DuplicateIndices {
			sameAs[d] = e.ArtifactIndex
		}
	}

	view := &statusView{Order: orderView{Namespace: order.Namespace, Name: order.Name, Phase: phaseOr(string(order.Status.Phase), "Unknown"), Summary: map[string]int{}}}
	for i := range order.Spec.Artifacts {
		idx := int32(i)
		a := order.Spec.Artifacts[i]
		av := artifactView{
			Index:       idx,
			Type:        a.Type,
			Source:      refName(a.SrcRef, order.Spec.Defaults, true),
			Destination: refName(a.DstRef, order.Spec.Defaults, false),
		}
		if a.Spec != nil {
			av.Spec = json.RawMessage(a.Spec.Raw)
		}
		entry, hasEntry := entries[idx]
		first, dup := sameAs[idx]
		if dup {
			av.SameAs = &first
			entry, hasEntry = entries[first]
		}
		switch u, ok := unresolved[idx]; {
		case ok:
			av.Unresolved = &problemView{Reason: u.Reason, Message: u.Message}
		case hasEntry:
			av.ArtifactWorkflow = artifactWorkflowOf(entry, aws[entry.Name], workflows, wfUnavailable)
		case order.Status.ObservedGeneration < order.Generation:
			av.Waiting = "ARC has not synced this version of the Order yet"
		default:
			av.Waiting = "no ArtifactWorkflow yet"
		}
		view.Order.Summary[av.state()]++
		view.Artifacts = append(view.Artifacts, av)
	}
	return view, nil
}

// readWorkflows lists ARC's Workflows in ns by name. Users who may read
// Orders may not be allowed to read Workflows; then the tree says so and
// shows what the ArtifactWorkflows copied from them.
func readWorkflows(ctx context.Context, c *clients, ns string) (map[string]*wfv1.Workflow, string) {
	list, err := c.argo.ArgoprojV1alpha1().Workflows(ns).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(labels.Set{arcv1.LabelManagedBy: arcv1.ManagedByValue}).String(),
	})
	switch {
	case apierrors.IsForbidden(err):
		return nil, "you may not list Workflows in " + ns
	case err != nil:
		return nil, "listing Workflows: " + err.Error()
	}
	out := map[string]*wfv1.Workflow{}
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out, ""
}

func artifactWorkflowOf(entry arcv1.OrderArtifactWorkflowStatus, aw *arcv1.ArtifactWorkflow, workflows map[string]*wfv1.Workflow, unavailable string) *artifactWorkflowView {
	v := &artifactWorkflowView{Name: entry.Name, Phase: string(entry.Phase), Message: entry.Message}
	if aw == nil {
		// Listed by the Order, gone from the API (being replaced).
		return v
	}
	v.Phase, v.Message = string(aw.Status.Phase), aw.Status.Message
	v.StartedAt, v.FinishedAt = aw.Status.StartedAt, aw.Status.FinishedAt
	v.Run = aw.Status.Run
	if v.Phase == "" && aw.Status.Message == "" {
		return v
	}
	// Each run has a Workflow of its own; the status names the current one.
	wv := &workflowView{Name: phaseOr(aw.Status.WorkflowName, aw.Name), Unavailable: unavailable}
	if unavailable == "" {
		wf, ok := workflows[wv.Name]
		if !ok {
			wv.Unavailable = "no Workflow of this name"
		} else {
			wv.Phase, wv.Message = string(wf.Status.Phase), wf.Status.Message
			wv.FailedSteps = failedSteps(wf)
		}
	}
	v.Workflow = wv
	return v
}

// failedSteps are the Workflow's pods that failed or errored, in the order
// they finished: the first is usually the cause.
func failedSteps(wf *wfv1.Workflow) []stepView {
	var nodes []wfv1.NodeStatus
	for _, n := range wf.Status.Nodes {
		if n.Type == wfv1.NodeTypePod && (n.Phase == wfv1.NodeFailed || n.Phase == wfv1.NodeError) {
			nodes = append(nodes, n)
		}
	}
	sort.Slice(nodes, func(i, j int) bool {
		if !nodes[i].FinishedAt.Equal(&nodes[j].FinishedAt) {
			return nodes[i].FinishedAt.Before(&nodes[j].FinishedAt)
		}
		return nodes[i].Name < nodes[j].Name
	})
	var out []stepView
	for _, n := range nodes {
		out = append(out, stepView{Name: phaseOr(n.DisplayName, n.Name), Template: n.TemplateName, Phase: string(n.Phase), Message: n.Message})
	}
	return out
}

func refName(ref *corev1.LocalObjectReference, defaults *arcv1.OrderDefaults, source bool) string {
	if ref != nil {
		return ref.Name
	}
	if defaults != nil {
		if source && defaults.SrcRef != nil {
			return defaults.SrcRef.Name
		}
		if !source && defaults.DstRef != nil {
			return defaults.DstRef.Name
		}
	}
	return ""
}

func phaseOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// summaryOrder lists the states of the summary line, in this order.
var summaryOrder = []string{"Succeeded", "Failed", "Error", "Running", "Pending", "Unresolved", "Waiting"}

func summaryLine(s map[string]int) string {
	total := 0
	var parts []string
	seen := map[string]bool{}
	for _, k := range summaryOrder {
		if s[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", s[k], strings.ToLower(k)))
		}
		seen[k] = true
		total += s[k]
	}
	var rest []string
	for k, n := range s {
		if !seen[k] {
			rest = append(rest, fmt.Sprintf("%d %s", n, strings.ToLower(k)))
			total += n
		}
	}
	sort.Strings(rest)
	parts = append(parts, rest...)
	noun := "artifacts"
	if total == 1 {
		noun = "artifact"
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%d %s", total, noun)
	}
	return fmt.Sprintf("%d %s: %s", total, noun, strings.Join(parts, ", "))
}

// maxSpec bounds the spec shown on an artifact's line.
const maxSpec = 60

// printTree writes the status for people.
func printTree(w io.Writer, v *statusView) {
	fmt.Fprintf(w, "Order %s/%s: %s (%s)\n", v.Order.Namespace, v.Order.Name, v.Order.Phase, summaryLine(v.Order.Summary))
	for i, a := range v.Artifacts {
		t := &tree{w: w}
		last := i == len(v.Artifacts)-1
		line := fmt.Sprintf("[%d] %s", a.Index, a.Type)
		if a.Source != "" || a.Destination != "" {
			line += fmt.Sprintf("  %s -> %s", phaseOr(a.Source, "?"), phaseOr(a.Destination, "?"))
		}
		if len(a.Spec) > 0 {
			spec := string(a.Spec)
			if len(spec) > maxSpec {
				spec = spec[:maxSpec-3] + "..."
			}
			line += "  " + spec
		}
		t.node("", last, line)
		indent := childIndent("", last)
		switch {
		case a.Unresolved != nil:
			t.node(indent, true, fmt.Sprintf("Unresolved (%s): %s", a.Unresolved.Reason, a.Unresolved.Message))
		case a.ArtifactWorkflow != nil:
			aw := a.ArtifactWorkflow
			label := "ArtifactWorkflow " + aw.Name + ": " + phaseOr(aw.Phase, "Pending")
			if a.SameAs != nil {
				label += fmt.Sprintf(" (shared with [%d]: identical artifacts run once)", *a.SameAs)
			}
			if aw.Run > 0 {
				label += fmt.Sprintf(" (re-run %d)", aw.Run)
			}
			if d := took(aw); d != "" {
				label += " in " + d
			}
			t.node(indent, true, label)
			awIndent := childIndent(indent, true)
			if aw.Message != "" && aw.Phase != string(arcv1.WorkflowPhaseSucceeded) {
				t.text(awIndent, aw.Workflow == nil, aw.Message)
			}
			if wf := aw.Workflow; wf != nil {
				if wf.Unavailable != "" {
					t.node(awIndent, true, "Workflow "+wf.Name+": "+wf.Unavailable)
					break
				}
				t.node(awIndent, true, "Workflow "+wf.Name+": "+phaseOr(wf.Phase, "Pending"))
				wfIndent := childIndent(awIndent, true)
				for j, s := range wf.FailedSteps {
					step := fmt.Sprintf("step %s: %s", s.Name, s.Phase)
					if s.Template != "" && s.Template != s.Name {
						step = fmt.Sprintf("step %s (template %s): %s", s.Name, s.Template, s.Phase)
					}
					if s.Message != "" {
						step += ": " + s.Message
					}
					t.node(wfIndent, j == len(wf.FailedSteps)-1, step)
				}
			}
		default:
			t.node(indent, true, a.Waiting)
		}
	}
}

// tree draws one branch of the status tree.
type tree struct{ w io.Writer }

func (t *tree) node(indent string, last bool, text string) {
	branch := "├─ "
	if last {
		branch = "└─ "
	}
	fmt.Fprintf(t.w, "%s%s%s\n", indent, branch, oneLine(text))
}

// text writes a message under a node, before its children.
func (t *tree) text(indent string, last bool, text string) {
	bar := "│  "
	if last {
		bar = "   "
	}
	fmt.Fprintf(t.w, "%s%s%s\n", indent, bar, oneLine(text))
}

func childIndent(indent string, last bool) string {
	if last {
		return indent + "   "
	}
	return indent + "│  "
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func took(aw *artifactWorkflowView) string {
	if aw.StartedAt == nil || aw.FinishedAt == nil {
		return ""
	}
	return aw.FinishedAt.Sub(aw.StartedAt.Time).Round(1e9).String()
}

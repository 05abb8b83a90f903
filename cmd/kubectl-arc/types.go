package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	arclisters "github.com/artifact-conduit/arc/pkg/generated/listers/arc/v1alpha1"
)

func newTypesCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "types",
		Short: "List the artifact types a namespace may use, and what each accepts",
		Long: `List the ArtifactTypes of the namespace and the ClusterArtifactTypes, and
whether an Order of the namespace may use each, decided as ARC's controller
decides it: a ClusterArtifactType serves the namespaces its namespaceSelector
selects, and a namespaced type may not shadow a cluster-wide one of the same
name. For each type: the Endpoint types it accepts as source and destination,
the fields of an artifact's spec its specSchema declares (* required), its
parameters and its workflow template.`,
		Example: `  kubectl arc types -n team-a
  kubectl arc types -n team-a -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validateOutput(); err != nil {
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
			view, err := typesOf(cmd.Context(), c, ns)
			if err != nil {
				return err
			}
			if view.Note != "" {
				fmt.Fprintln(o.streams.ErrOut, "warning:", view.Note)
			}
			if o.output != "" {
				return printStructured(o.streams.Out, o.output, view)
			}
			printTypes(o.streams.Out, view)
			return nil
		},
	}
	addOutputFlag(cmd, o)
	return cmd
}

type typesView struct {
	Namespace string     `json:"namespace"`
	Types     []typeView `json:"types"`
	// Note says what could not be decided, e.g. without the right to read
	// the namespace's labels.
	Note string `json:"note,omitempty"`
}

type typeView struct {
	Name string `json:"name"`
	// Kind is ArtifactType or ClusterArtifactType.
	Kind   string `json:"kind"`
	Usable bool   `json:"usable"`
	// Reason and Message say why the type cannot be used.
	Reason            string                `json:"reason,omitempty"`
	Message           string                `json:"message,omitempty"`
	SrcTypes          []string              `json:"srcTypes,omitempty"`
	DstTypes          []string              `json:"dstTypes,omitempty"`
	SpecFields        []string              `json:"specFields,omitempty"`
	Parameters        []arcv1.Parameter     `json:"parameters,omitempty"`
	Template          string                `json:"template"`
	SpecSchema        json.RawMessage       `json:"specSchema,omitempty"`
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
}

// typesOf lists the types and resolves each for ns with ARC's own
// TypeResolver, over listers filled from one list of each kind.
func typesOf(ctx context.Context, c *clients, ns string) (*typesView, error) {
	local, err := c.arc.ArcV1alpha1().ArtifactTypes(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing ArtifactTypes: %w", err)
	}
	cluster, err := c.arc.ArcV1alpha1().ClusterArtifactTypes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing ClusterArtifactTypes: %w", err)
	}
	view := &typesView{Namespace: ns}
	namespaces := newIndexer()
	nsObj, err := c.kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	switch {
	case err == nil:
		_ = namespaces.Add(nsObj)
	case apierrors.IsForbidden(err) || apierrors.IsNotFound(err):
		if anySelector(cluster.Items) {
			view.Note = fmt.Sprintf("cannot read namespace %s (%v): ClusterArtifactTypes with a namespaceSelector are shown as not offered, which may be wrong", ns, reasonOf(err))
		}
	default:
		return nil, fmt.Errorf("reading namespace %s: %w", ns, err)
	}
	localIdx, clusterIdx := newIndexer(), cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for i := range local.Items {
		_ = localIdx.Add(&local.Items[i])
	}
	for i := range cluster.Items {
		_ = clusterIdx.Add(&cluster.Items[i])
	}
	resolver := controller.NewTypeResolver(arclisters.NewArtifactTypeLister(localIdx), arclisters.NewClusterArtifactTypeLister(clusterIdx), corelisters.NewNamespaceLister(namespaces))

	resolve := func(tv typeView, spec arcv1.ArtifactTypeSpec) typeView {
		tv.SrcTypes, tv.DstTypes, tv.Parameters = spec.Rules.SrcTypes, spec.Rules.DstTypes, spec.Parameters
		tv.Template = spec.WorkflowTemplateRef.Name
		if spec.WorkflowTemplateRef.ClusterScope || tv.Kind == "ClusterArtifactType" {
			tv.Template = "ClusterWorkflowTemplate/" + tv.Template
		} else {
			tv.Template = "WorkflowTemplate/" + tv.Template
		}
		if spec.SpecSchema != nil && len(spec.SpecSchema.Raw) > 0 {
			tv.SpecSchema = json.RawMessage(spec.SpecSchema.Raw)
			tv.SpecFields = schemaFields(spec.SpecSchema.Raw)
		}
		resolved, err := resolver.Resolve(ns, tv.Name)
		var typeErr *controller.TypeError
		switch {
		case errors.As(err, &typeErr):
			tv.Reason, tv.Message = typeErr.Reason, typeErr.Message
		case err != nil:
			tv.Reason, tv.Message = "Error", err.Error()
		default:
			// The name resolves; to this object?
			tv.Usable = resolved.ClusterScoped == (tv.Kind == "ClusterArtifactType")
		}
		return tv
	}
	for _, at := range local.Items {
		view.Types = append(view.Types, resolve(typeView{Name: at.Name, Kind: "ArtifactType"}, at.Spec))
	}
	for _, cat := range cluster.Items {
		view.Types = append(view.Types, resolve(typeView{Name: cat.Name, Kind: "ClusterArtifactType", NamespaceSelector: cat.Spec.NamespaceSelector}, cat.Spec.ArtifactTypeSpec))
	}
	sort.SliceStable(view.Types, func(i, j int) bool {
		if view.Types[i].Name != view.Types[j].Name {
			return view.Types[i].Name < view.Types[j].Name
		}
		return view.Types[i].Kind < view.Types[j].Kind
	})
	return view, nil
}

func newIndexer() cache.Indexer {
	return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
}

func anySelector(types []arcv1.ClusterArtifactType) bool {
	for _, t := range types {
		if t.Spec.NamespaceSelector != nil {
			return true
		}
	}
	return false
}

func reasonOf(err error) string {
	if r := apierrors.ReasonForError(err); r != metav1.StatusReasonUnknown {
		return string(r)
	}
	return err.Error()
}

// schemaFields lists the top-level properties of a spec schema, required
// ones marked with *, or "any" for a schema without properties.
func schemaFields(raw []byte) []string {
	var s struct {
		Properties map[string]struct {
			Type string `json:"type"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	if err := json.Unmarshal(raw, &s); err != nil || len(s.Properties) == 0 {
		return nil
	}
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	var out []string
	for name, p := range s.Properties {
		f := name
		if required[name] {
			f += "*"
		}
		if p.Type != "" {
			f += ":" + p.Type
		}
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

func printTypes(w io.Writer, v *typesView) {
	if len(v.Types) == 0 {
		fmt.Fprintf(w, "No artifact types in namespace %s or cluster-wide.\n", v.Namespace)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tUSABLE\tSOURCE\tDESTINATION\tSPEC\tPARAMETERS\tTEMPLATE")
	for _, t := range v.Types {
		usable := "yes"
		if !t.Usable {
			usable = "no: " + phaseOr(t.Reason, "shadowed")
		}
		var params []string
		for _, p := range t.Parameters {
			params = append(params, p.Name+"="+p.Value)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Kind, usable,
			listOr(t.SrcTypes, "any"), listOr(t.DstTypes, "any"), listOr(t.SpecFields, "any"), listOr(params, "-"), t.Template)
	}
	_ = tw.Flush()
	for _, t := range v.Types {
		if t.Message != "" {
			fmt.Fprintf(w, "\n%s %s: %s", t.Kind, t.Name, t.Message)
		}
	}
	for _, t := range v.Types {
		if t.Message != "" {
			fmt.Fprintln(w)
			break
		}
	}
}

func listOr(items []string, empty string) string {
	if len(items) == 0 {
		return empty
	}
	return strings.Join(items, ",")
}

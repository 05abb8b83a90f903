// Command kubectl-arc is ARC's kubectl plugin. On the PATH, kubectl runs it
// as "kubectl arc":
//
//	kubectl arc status order/NAME [-n NAMESPACE] [-o json|yaml]
//	kubectl arc types [-n NAMESPACE] [-o json|yaml]
//	kubectl arc rerun order/NAME [--failed] [-n NAMESPACE]
//
// It takes kubectl's connection flags (--kubeconfig, --context, -n, --as,
// ...) through k8s.io/cli-runtime. status and types only read: they need
// get and list on ARC's objects and, for the step that failed, on Argo's
// Workflows; rerun patches the Order's re-run annotation.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func main() {
	if err := newRootCommand(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func newRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	return newRootCommandWith(streams, nil)
}

// newRootCommandWith builds the command tree; adjust, when set, changes the
// options first (tests swap in fake clients and a fixed clock).
func newRootCommandWith(streams genericiooptions.IOStreams, adjust func(*options)) *cobra.Command {
	o := newOptions(streams)
	if adjust != nil {
		adjust(o)
	}
	root := &cobra.Command{
		Use:           "kubectl-arc",
		Short:         "Look into ARC (Artifact Conduit): Orders, their artifacts, and the types a namespace may use",
		SilenceUsage:  true,
		SilenceErrors: true,
		// kubectl shows plugins as "kubectl arc".
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl arc"},
	}
	o.config.AddFlags(root.PersistentFlags())
	root.AddCommand(newStatusCommand(o), newTypesCommand(o), newRerunCommand(o))
	return root
}

package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

func newRerunCommand(o *options) *cobra.Command {
	var failed bool
	cmd := &cobra.Command{
		Use:   "rerun order/NAME [--failed]",
		Short: "Ask ARC to run an Order's artifacts again: all of them, or with --failed those whose last run failed",
		Long: `Set the Order's re-run annotation to the current time, as

  kubectl annotate --overwrite order/NAME ` + arcv1.AnnotationForceAt + `="$(date +%s)"

does (` + arcv1.AnnotationRerunFailedAt + ` with --failed). ARC carries a
request out once: each artifact concerned gets a new Workflow, after its
running one, if any, finished. Needs patch on orders (the edit role has it).`,
		Example: `  kubectl arc rerun order/mirror-alpine -n team-a --failed`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
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
			annotation, what := arcv1.AnnotationForceAt, "every artifact"
			if failed {
				annotation, what = arcv1.AnnotationRerunFailedAt, "the artifacts whose last run failed"
			}
			value := strconv.FormatInt(o.now().Unix(), 10)
			patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{annotation: value}}})
			if err != nil {
				return err
			}
			if _, err := c.arc.ArcV1alpha1().Orders(ns).Patch(cmd.Context(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
				return err
			}
			fmt.Fprintf(o.streams.Out, "order %s/%s: re-run of %s requested (%s=%s)\n", ns, name, what, annotation, value)
			return nil
		},
	}
	cmd.Flags().BoolVar(&failed, "failed", false, "Re-run only the artifacts whose last run failed.")
	return cmd
}

// realNow is the clock of rerun; tests replace options.now.
func realNow() time.Time { return time.Now() }

package main

import (
	"bytes"
	"fmt"
	"io"
	"text/tabwriter"
)

// printChaos writes the human-readable summary of a run.
func printChaos(w io.Writer, r *ChaosResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format+"\n", a...) }
	p("ARC fault harness\t%s, seed %d: %d Orders x %d artifacts = %d artifacts in %d namespaces, %d failing on purpose", r.Preset, r.Seed, r.Orders, r.ArtifactsPerOrder, r.Artifacts, r.Namespaces, r.FailingArtifacts)
	p("kube-apiserver\t%s", r.APIServerArgs)
	p("faults\t%s; %d processes, %d exited on their own", faultSummary(r.Faults), len(r.Processes), r.UnexpectedExits)
	p("load average at start\t%s; wall time %.0f s", r.LoadAverage, r.WallSeconds)
	p("")
	p("CHECK\tRESULT\tDETAIL")
	for _, c := range r.Checks {
		verdict := "ok"
		switch {
		case c.Skipped:
			verdict = "skipped"
		case !c.OK:
			verdict = "FAILED"
		}
		p("%s\t%s\t%s", c.Name, verdict, c.Detail)
	}
	p("")
	p("FIGURE\tVALUE\t")
	p("last fault over (from the start of the fault window)\t%.1f s\t", r.LastFaultSeconds)
	if r.Converged {
		p("last fault -> converged\t%.1f s\t", r.ConvergenceSeconds)
		p("last Order applied -> converged\t%.1f s\t", r.LastAppliedToConvergedSeconds)
	} else {
		p("last fault -> converged\tnot converged\t")
	}
	p("ARC requests per artifact (first start -> converged)\t%.2f (%d requests, and %d of the leader election)\t", r.RequestsPerArtifact, r.RequestsTotal, r.LeaderElectionRequests)
	p("ARC writes per artifact\t%.2f\t", r.WritesPerArtifact)
	p("409 / 429 / 410 / 5xx until converged\t%d / %d / %d / %d\t", r.Codes.Conflict409, r.Codes.TooMany429, r.Codes.Gone410, r.Codes.Server5xx)
	p("409 / 429 / 410 / 5xx after converged\t%d / %d / %d / %d\t", r.CodesAfter.Conflict409, r.CodesAfter.TooMany429, r.CodesAfter.Gone410, r.CodesAfter.Server5xx)
	p("relists (informer lists beyond the first)\t%d\t", r.Relists.Total)
	p("most requests about one object in 10 s, during faults\t%d (%s)\t", r.HotDuring.Requests, orNone(r.HotDuring.Object))
	p("most requests about one object in 10 s, after convergence\t%d (%s)\t", r.HotAfter.Requests, orNone(r.HotAfter.Object))
	p("writes in the quiet window\t%d in %.0f s\t", r.QuietWrites, r.QuietSeconds)
	p("simulated Argo: failed patches (retried)\t%d\t", r.PlayerErrors)
	tw.Flush()

	fmt.Fprintf(w, "\nFaults:\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tKIND\tTOOK\tTARGET\tOK\tDETAIL")
	for _, f := range r.Faults {
		kind := string(f.Kind)
		if f.Crash {
			kind += " (SIGKILL)"
		}
		fmt.Fprintf(tw, "+%.1f s\t%s\t%.1f s\t%s\t%v\t%s\n", f.StartedSeconds, kind, f.Seconds, f.Target, f.OK, f.Detail)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nARC's API requests until convergence (audit log, user %s):\n", r.AuditUser)
	printRequests(w, r.Requests)
}

// faultSummary counts the faults carried out by kind.
func faultSummary(fs []FaultRecord) string {
	n := map[string]int{}
	for _, f := range fs {
		if f.Kind != faultTwoReplicas {
			n[string(f.Kind)]++
		}
	}
	var b bytes.Buffer
	for i, k := range sortedKeys(n) {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d %s", n[k], k)
	}
	return b.String()
}

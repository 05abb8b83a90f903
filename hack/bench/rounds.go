package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// The headline ratio compares two runs of a few seconds each at the default
// scale, and on a small machine the API server's speed drifts by more than
// the 20% the goal allows between two such runs (warm-up after a start,
// compaction, what earlier runs left in etcd). One comparison therefore
// says little. Rounds repeat it, and the headline is the median of the
// rounds' ratios.
//
// Round 1 is the full run (ARC first, then both baselines); every further
// round measures only the create phase: ARC from a fresh start on the same
// Orders, and the unthrottled baseline on round 1's objects. Each of the
// two starts on a cluster cleaned of everything before it: a restarted ARC
// would otherwise act on the baseline's ArtifactWorkflows (each finds a
// Workflow it does not own, a conflict it reports), and the API server
// would hold different amounts of objects for the two. Which goes first
// alternates, so that a drift over a round favours neither.

// RoundFigures are one round of the headline comparison.
type RoundFigures struct {
	Round int `json:"round"`
	// First is which went first in the round: "arc" or "unthrottled".
	First string `json:"first"`
	// ARCSeconds is from the last Order applied until every Workflow
	// exists, UnthrottledSeconds from the baseline's first create until
	// every Workflow exists.
	ARCSeconds         float64 `json:"arcWorkflowsExistSeconds"`
	UnthrottledSeconds float64 `json:"unthrottledWorkflowsExistSeconds"`
	Ratio              float64 `json:"ratio"`
	// The kube-apiserver's CPU over each of the two spans (ARC's from
	// its first Order): on a machine the API server saturates, the ratio
	// follows theirs.
	ARCAPIServerCPUSeconds         float64 `json:"arcAPIServerCPUSeconds"`
	UnthrottledAPIServerCPUSeconds float64 `json:"unthrottledAPIServerCPUSeconds"`
}

// roundPrefixes are the namespace prefixes of round r > 1: apart from round
// 1's, so that the tracker (which remembers every object it saw) counts
// each round's objects alone.
func roundPrefixes(r int) (arc, fast string) {
	return fmt.Sprintf("bench-arc%d-", r), fmt.Sprintf("bench-fast%d-", r)
}

// runRound measures round r: ARC and the unthrottled baseline, each on a
// freshly cleaned cluster, in the order r's parity says.
func runRound(ctx context.Context, s *session, c config, flags []string, aws []*arcv1.ArtifactWorkflow, wfs map[string]*wfv1.Workflow, r int) (RoundFigures, error) {
	arcPrefix, fastPrefix := roundPrefixes(r)
	rf := RoundFigures{Round: r, First: "arc"}
	arc := func() (err error) {
		logf("round %d: cleaning the cluster for ARC", r)
		if err := cleanup(s.admin, c.common); err != nil {
			return err
		}
		if err := createNamespaces(ctx, s.admin, c.namespaces, arcPrefix); err != nil {
			return err
		}
		if err := c.resetStorageBefore(ctx, s, fmt.Sprintf("ARC (round %d)", r)); err != nil {
			return err
		}
		rf.ARCSeconds, rf.ARCAPIServerCPUSeconds, err = measureARCCreates(ctx, s, c, flags, arcPrefix, fmt.Sprintf("bench-arc-controller-round%d.log", r))
		return err
	}
	fast := func() error {
		logf("round %d: cleaning the cluster for the unthrottled baseline", r)
		if err := cleanup(s.admin, c.common); err != nil {
			return err
		}
		if err := createNamespaces(ctx, s.admin, c.namespaces, "", fastPrefix); err != nil {
			return err
		}
		if err := c.resetStorageBefore(ctx, s, fmt.Sprintf("the unthrottled baseline (round %d)", r)); err != nil {
			return err
		}
		f, _, err := measureUnthrottled(ctx, s, c, aws, wfs, fastPrefix)
		rf.UnthrottledSeconds, rf.UnthrottledAPIServerCPUSeconds = f.WorkflowsExistSeconds, f.APIServerCPUSeconds
		return err
	}
	steps := []func() error{arc, fast}
	if r%2 == 0 {
		rf.First = "unthrottled"
		steps = []func() error{fast, arc}
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return RoundFigures{}, err
		}
	}
	rf.Ratio = ratio(rf.ARCSeconds, rf.UnthrottledSeconds)
	logf("round %d (%s first): ARC %.2f s, unthrottled baseline %.2f s, ratio %.2f", r, rf.First, rf.ARCSeconds, rf.UnthrottledSeconds, rf.Ratio)
	return rf, nil
}

// measureARCCreates starts arc-controller with flags, applies the load's
// Orders in namespaces of prefix and returns the seconds from the last
// Order applied until every Workflow exists, and the kube-apiserver's CPU
// from the first Order until then; the controller is stopped before it
// returns, so that what follows runs without it.
func measureARCCreates(ctx context.Context, s *session, c config, flags []string, prefix, logName string) (secs, apiCPU float64, err error) {
	ctrl, err := s.paths.startController(ctx, s.kubeconfig, flags, c.controllerEnv, logName)
	if err != nil {
		return 0, 0, err
	}
	defer ctrl.stop()
	orders, exp := newLoad(c, prefix)
	apiCPU0 := procCPU(s.paths.apiserverPid())
	_, lastApplied, err := applyOrders(ctx, s.admin.arc, orders, 16)
	if err != nil {
		return 0, 0, err
	}
	pr, err := waitARCCreated(ctx, c, s.trk, exp)
	if err != nil {
		return 0, 0, err
	}
	return seconds(lastApplied, pr.LastWFSeen), round2(procCPU(s.paths.apiserverPid()) - apiCPU0), nil
}

// newLoad returns the benchmark's Orders in namespaces of prefix, and what
// the tracker is to see of them.
func newLoad(c config, prefix string) ([]*arcv1.Order, expected) {
	orders := make([]*arcv1.Order, c.orders)
	exp := expected{prefix: prefix, total: c.orders * c.artifacts}
	for i := range orders {
		orders[i] = newOrder(orderNamespace(prefix, i, c.namespaces), i, c.artifacts)
		exp.orders = append(exp.orders, key(orders[i].Namespace, orders[i].Name))
	}
	return orders, exp
}

// waitARCCreated waits until ARC made every ArtifactWorkflow and Workflow of
// exp.
func waitARCCreated(ctx context.Context, c config, trk *tracker, exp expected) (progress, error) {
	var pr progress
	err := waitFor(ctx, c.progress, "every ArtifactWorkflow and Workflow of ARC", func() (bool, string) {
		pr = trk.progress(exp)
		return pr.AWs >= exp.total && pr.WFs >= exp.total,
			fmt.Sprintf("ARC: %d of %d ArtifactWorkflows, %d of %d Workflows exist", pr.AWs, exp.total, pr.WFs, exp.total)
	}, func() string {
		pr := trk.progress(exp)
		return fmt.Sprintf("Orders whose status lacks ArtifactWorkflows: %s; ArtifactWorkflows without a Workflow: %s",
			listOrNone(pr.OrdersWithoutAllAWs), listOrNone(pr.AWsWithoutWF))
	})
	return pr, err
}

// measureUnthrottled runs the unthrottled baseline: copies of aws and wfs
// (ARC's objects in namespaces of nsPrefixARC) created in namespaces of
// prefix without a client-side rate limit. It returns the figures and when
// the first create was sent.
func measureUnthrottled(ctx context.Context, s *session, c config, aws []*arcv1.ArtifactWorkflow, wfs map[string]*wfv1.Workflow, prefix string) (BaselineFigures, time.Time, error) {
	logf("unthrottled baseline: the same %d ArtifactWorkflows and Workflows, no client-side rate limit, %d creates in flight", len(aws), c.fastInFlight)
	fastClients, _, err := newClients(s.paths.kubeconfig(), -1, 1)
	if err != nil {
		return BaselineFigures{}, time.Time{}, err
	}
	nsOf := func(arcNS string) string { return prefix + strings.TrimPrefix(arcNS, nsPrefixARC) }
	apiCPU0 := procCPU(s.paths.apiserverPid())
	fs, err := runUnthrottledBaseline(ctx, fastClients.arc, fastClients.argo, aws, wfs, nsOf, c.fastInFlight, c.argo)
	f := BaselineFigures{Errors: fs.errors, InFlight: c.fastInFlight}
	if err != nil {
		return f, fs.start, fmt.Errorf("unthrottled baseline: %w", err)
	}
	exp := expected{prefix: prefix, total: len(aws)}
	var pr progress
	err = waitFor(ctx, c.progress, "the unthrottled baseline's objects", func() (bool, string) {
		pr = s.trk.progress(exp)
		return pr.AWs >= len(aws) && pr.WFs >= len(aws),
			fmt.Sprintf("unthrottled baseline: %d of %d ArtifactWorkflows, %d of %d Workflows seen", pr.AWs, len(aws), pr.WFs, len(aws))
	}, func() string {
		return "the unthrottled baseline's creates returned but the watch did not deliver every object"
	})
	if err != nil {
		return f, fs.start, err
	}
	f.APIServerCPUSeconds = round2(procCPU(s.paths.apiserverPid()) - apiCPU0)
	f.AWsExistSeconds = seconds(fs.start, pr.LastAWSeen)
	f.WorkflowsExistSeconds = seconds(fs.start, pr.LastWFSeen)
	logf("unthrottled baseline: every Workflow after %.2f s", f.WorkflowsExistSeconds)
	return f, fs.start, nil
}

// medianRatio is the median of the rounds' ratios (the mean of the middle
// two for an even count), 0 without rounds.
func medianRatio(rounds []RoundFigures) float64 {
	rs := make([]float64, 0, len(rounds))
	for _, r := range rounds {
		rs = append(rs, r.Ratio)
	}
	if len(rs) == 0 {
		return 0
	}
	slices.Sort(rs)
	mid := len(rs) / 2
	if len(rs)%2 == 1 {
		return rs[mid]
	}
	return round2((rs[mid-1] + rs[mid]) / 2)
}

// roundRatios lists the rounds' ratios in round order, e.g. "1.14, 0.98".
func roundRatios(rounds []RoundFigures) string {
	parts := make([]string, len(rounds))
	for i, r := range rounds {
		parts[i] = fmt.Sprintf("%.2f", r.Ratio)
	}
	return strings.Join(parts, ", ")
}

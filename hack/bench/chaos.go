package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// chaosConfig are the settings of make chaos.
type chaosConfig struct {
	common
	short bool
	seed  int64

	kills, leaderKills, apiserverRestarts, etcdRestarts int
	// failures is how many Orders get one artifact that simulated Argo fails.
	failures                   int
	singleWindow, leaderWindow time.Duration
	gap, leaderGap             time.Duration

	maxInflight, maxMutatingInflight int
	watchCache                       bool
	compaction                       time.Duration

	leaseDuration, renewDeadline, retryPeriod time.Duration
	runAfter, finishAfter                     time.Duration
	convergeTimeout, settle, observe          time.Duration
	// hotLimit is the most requests about one object in any 10 s after
	// convergence that do not count as a hot loop.
	hotLimit  int
	verbosity int
}

// chaosPreset is the size of a run: the full one (make chaos) or the short
// one of make test (make chaos-short).
type chaosPreset struct {
	orders, artifacts                                   int
	kills, leaderKills, apiserverRestarts, etcdRestarts int
	failures                                            int
	singleWindow, leaderWindow, gap, leaderGap          time.Duration
	lease, renew, retry                                 time.Duration
	converge, observe, timeout                          time.Duration
}

var (
	// fullPreset is make chaos: 1,000 artifacts, 20 kills in 2.5 min, 5
	// leader kills with arc-controller's default Lease timing in 3.5 min (a
	// takeover takes up to 17 s, a kube-apiserver restart about 24 s: 25 s
	// apart).
	fullPreset = chaosPreset{orders: 100, artifacts: 10, kills: 20, leaderKills: 5, apiserverRestarts: 2, etcdRestarts: 1, failures: 5,
		singleWindow: 150 * time.Second, leaderWindow: 210 * time.Second, gap: 4 * time.Second, leaderGap: 25 * time.Second,
		lease: 15 * time.Second, renew: 10 * time.Second, retry: 2 * time.Second,
		converge: 10 * time.Minute, observe: time.Minute, timeout: 40 * time.Minute}
	// shortPreset is make chaos-short: 100 artifacts, a few kills, one API
	// server restart, one etcd crash (it breaks the watches without the
	// 403s of a starting API server, so compaction is what expires them)
	// and one leader kill with a shorter Lease, to stay within make test's
	// time budget.
	shortPreset = chaosPreset{orders: 10, artifacts: 10, kills: 3, leaderKills: 1, apiserverRestarts: 1, etcdRestarts: 1, failures: 1,
		singleWindow: 25 * time.Second, leaderWindow: 25 * time.Second, gap: 5 * time.Second, leaderGap: 12 * time.Second,
		lease: 6 * time.Second, renew: 4 * time.Second, retry: time.Second,
		converge: 3 * time.Minute, observe: 25 * time.Second, timeout: 10 * time.Minute}
)

// chaosMain is arc-bench chaos: it returns the exit code.
func chaosMain(args []string) int {
	c, err := parseChaosFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "arc-bench chaos: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := runChaos(ctx, c)
	if err != nil {
		fmt.Fprintf(os.Stderr, "\narc-bench chaos: error: %v\n", err)
		return 1
	}
	if !res.Passed {
		fmt.Fprintf(os.Stderr, "\narc-bench chaos: FAILED: %s\n", strings.Join(res.failedChecks(), ", "))
		return 1
	}
	return 0
}

// parseChaosFlags reads the flags of arc-bench chaos; 0 (or -1 for
// counts) takes the preset's value.
func parseChaosFlags(args []string) (chaosConfig, error) {
	var c chaosConfig
	fs := flag.NewFlagSet("arc-bench chaos", flag.ContinueOnError)
	c.addFlags(fs)
	fs.BoolVar(&c.short, "short", false, "the short run of make test: 10 Orders x 10 artifacts, 3 kills, 1 kube-apiserver restart, 1 etcd crash, 1 leader kill")
	fs.Int64Var(&c.seed, "seed", 0, "seed of the fault schedule and the failing artifacts (0: from the clock; printed, so a run can be repeated)")
	fs.IntVar(&c.kills, "kills", -1, "SIGKILLs of the single replica in the first phase (-1: the preset's)")
	fs.IntVar(&c.leaderKills, "leader-kills", -1, "SIGKILLs of the leading replica in the second phase (-1: the preset's)")
	fs.IntVar(&c.apiserverRestarts, "apiserver-restarts", -1, "kube-apiserver restarts, every second one a crash (-1: the preset's)")
	fs.IntVar(&c.etcdRestarts, "etcd-restarts", -1, "etcd crashes (-1: the preset's)")
	fs.IntVar(&c.failures, "failures", -1, "Orders with one artifact simulated Argo fails (-1: the preset's)")
	fs.DurationVar(&c.singleWindow, "single-window", 0, "length of the first phase: one replica, no leader election (0: the preset's)")
	fs.DurationVar(&c.leaderWindow, "leader-window", 0, "length of the second phase: two replicas with leader election (0: the preset's)")
	fs.DurationVar(&c.gap, "gap", 0, "least time between two faults of the first phase, and between the end of a fault and the next (0: the preset's)")
	fs.DurationVar(&c.leaderGap, "leader-gap", 0, "least time between two faults of the second phase, where a takeover waits for the Lease to expire (0: the preset's)")
	fs.IntVar(&c.maxInflight, "max-requests-inflight", 3, "kube-apiserver --max-requests-inflight (priority and fairness off, so it is a hard limit answered with 429)")
	fs.IntVar(&c.maxMutatingInflight, "max-mutating-requests-inflight", 2, "kube-apiserver --max-mutating-requests-inflight")
	fs.BoolVar(&c.watchCache, "watch-cache", false, "kube-apiserver --watch-cache: off, so that a watch resumes from etcd and compaction expires it")
	fs.DurationVar(&c.compaction, "etcd-compaction-interval", time.Second, "kube-apiserver --etcd-compaction-interval: etcd keeps only about this much history, so a watch that breaks and resumes a few seconds later has expired")
	fs.DurationVar(&c.leaseDuration, "leader-elect-lease-duration", 0, "arc-controller --leader-elect-lease-duration in the second phase (0: the preset's)")
	fs.DurationVar(&c.runAfter, "run-after", 2*time.Second, "simulated Argo: a Workflow starts running this long after it appeared")
	fs.DurationVar(&c.finishAfter, "finish-after", 3*time.Second, "simulated Argo: a Workflow finishes this long after it started")
	fs.DurationVar(&c.convergeTimeout, "converge-timeout", 0, "how long after the last fault ARC may take to converge (0: the preset's)")
	fs.DurationVar(&c.settle, "settle", 5*time.Second, "after convergence, ARC has settled once it made no write for this long (events trail behind)")
	fs.DurationVar(&c.observe, "observe", 0, "the quiet window after convergence in which ARC should write nothing (0: the preset's)")
	fs.IntVar(&c.hotLimit, "hot-limit", 5, "most requests about one object in any 10 s after convergence before it counts as a hot loop")
	fs.IntVar(&c.verbosity, "v", 4, "arc-controller -v: 4 logs client-go's watch expiries (\"Watch closed\" ... too old) and Retry-After waits")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("takes no arguments, got %q", fs.Args())
	}
	if c.short {
		c.applyPreset(shortPreset)
	} else {
		c.applyPreset(fullPreset)
	}
	if c.seed == 0 {
		c.seed = time.Now().UnixNano() % 1_000_000
	}
	if c.maxInflight < 1 || c.maxMutatingInflight < 1 {
		return c, fmt.Errorf("the in-flight limits must be at least 1 (0 would lift them)")
	}
	return c, c.common.complete()
}

// applyPreset fills in what the flags left to the preset.
func (c *chaosConfig) applyPreset(p chaosPreset) {
	setInt := func(v *int, def int, unset int) {
		if *v == unset {
			*v = def
		}
	}
	setDur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setInt(&c.orders, p.orders, 0)
	setInt(&c.artifacts, p.artifacts, 0)
	setInt(&c.kills, p.kills, -1)
	setInt(&c.leaderKills, p.leaderKills, -1)
	setInt(&c.apiserverRestarts, p.apiserverRestarts, -1)
	setInt(&c.etcdRestarts, p.etcdRestarts, -1)
	setInt(&c.failures, p.failures, -1)
	setDur(&c.singleWindow, p.singleWindow)
	setDur(&c.leaderWindow, p.leaderWindow)
	setDur(&c.gap, p.gap)
	setDur(&c.leaderGap, p.leaderGap)
	if c.leaseDuration == 0 {
		c.leaseDuration, c.renewDeadline, c.retryPeriod = p.lease, p.renew, p.retry
	} else {
		// Keep arc-controller's proportions (15 s, 10 s, 2 s).
		c.renewDeadline, c.retryPeriod = c.leaseDuration*2/3, max(time.Second, c.leaseDuration*2/15)
	}
	setDur(&c.convergeTimeout, p.converge)
	setDur(&c.observe, p.observe)
	setDur(&c.timeout, p.timeout)
}

// preset names the size of the run.
func (c *chaosConfig) preset() string {
	if c.short {
		return "short"
	}
	return "full"
}

// profile is the cluster the faults need: the API server turns requests
// away with 429 beyond a tiny number in flight (priority and fairness would
// queue them instead; the limit exempts system:masters, so the harness,
// the scheduler and KWOK are spared, while ARC and kube-controller-manager's
// controllers, which run as their own ServiceAccounts, are not), and keeps
// only a few seconds of etcd history for watches to resume from (without
// the watch cache a watch resumes from etcd itself, so compaction is what
// expires it).
func (c *chaosConfig) profile() clusterProfile {
	return clusterProfile{apiserverArgs: strings.Join([]string{
		"--enable-priority-and-fairness=false",
		fmt.Sprintf("--max-requests-inflight=%d", c.maxInflight),
		fmt.Sprintf("--max-mutating-requests-inflight=%d", c.maxMutatingInflight),
		fmt.Sprintf("--watch-cache=%v", c.watchCache),
		"--etcd-compaction-interval=" + c.compaction.String(),
	}, " ")}
}

// planSpec is the schedule the settings ask for.
func (c *chaosConfig) planSpec() planSpec {
	return planSpec{
		singleWindow: c.singleWindow, leaderWindow: c.leaderWindow,
		kills: c.kills, leaderKills: c.leaderKills,
		apiserverRestarts: c.apiserverRestarts, etcdRestarts: c.etcdRestarts,
		gap: c.gap, leaderGap: c.leaderGap,
	}
}

// leaderElectionFlags are the flags of the two replicas of the second phase.
func (c *chaosConfig) leaderElectionFlags() []string {
	return []string{
		"--leader-elect=true",
		"--leader-elect-namespace=" + leaseNamespace,
		"--leader-elect-lease-duration=" + c.leaseDuration.String(),
		"--leader-elect-renew-deadline=" + c.renewDeadline.String(),
		"--leader-elect-retry-period=" + c.retryPeriod.String(),
	}
}

// chaosLoad is the run's Orders, what each must end up as, and the spec
// images of the artifacts simulated Argo fails.
func chaosLoad(c *chaosConfig) ([]*arcv1.Order, map[string]orderTruth, map[string]bool) {
	fails := pickFailures(c.seed, c.orders, c.artifacts, c.failures)
	orders := make([]*arcv1.Order, c.orders)
	truth := map[string]orderTruth{}
	failing := map[string]bool{}
	for i := range orders {
		orders[i] = newOrder(orderNamespace(nsPrefixARC, i, c.namespaces), i, c.artifacts)
		t := orderTruth{artifacts: c.artifacts}
		if j, ok := fails[i]; ok {
			t.failed = 1
			failing[artifactImage(i, j)] = true
		}
		truth[key(orders[i].Namespace, orders[i].Name)] = t
	}
	return orders, truth, failing
}

// runChaos runs the fault harness and reports; an error means the harness
// itself could not run, failed checks are in the result.
func runChaos(ctx context.Context, c chaosConfig) (res *ChaosResult, err error) {
	plan, err := planFaults(c.seed, c.planSpec())
	if err != nil {
		return nil, fmt.Errorf("the fault schedule: %w", err)
	}
	artifacts := c.orders * c.artifacts
	logf("ARC fault harness (%s): %d Orders x %d artifacts = %d artifacts over %d namespaces, simulated Argo, seed %d (repeat with --seed %d)",
		c.preset(), c.orders, c.artifacts, artifacts, c.namespaces, c.seed, c.seed)
	for _, f := range plan {
		logf("  planned at +%5.1f s: %s", f.At.Seconds(), f.Kind)
	}
	runCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	sess, err := openSession(runCtx, c.common, c.profile(), false)
	var fl *fleet
	defer func() {
		if fl != nil {
			fl.stopAll()
		}
		err = errors.Join(err, sess.close())
	}()
	if err != nil {
		return nil, err
	}
	r := &chaosRun{c: &c, s: sess, plan: plan}
	fl, err = r.startFleet(runCtx)
	if err != nil {
		return nil, err
	}
	if err := r.play(runCtx); err != nil {
		return nil, err
	}
	// Stopped before the report reads the audit log and the processes' logs.
	fl.stopAll()
	res = r.report()
	return res, r.write(res)
}

// chaosRun is one run of the fault harness in progress.
type chaosRun struct {
	c      *chaosConfig
	s      *session
	fleet  *fleet
	plan   []plannedFault
	truth  map[string]orderTruth
	player *argoPlayer

	wallStart, firstStart, t0 time.Time
	lastApplied               time.Time // written before applied is sent on
	faults                    []FaultRecord
	lastFault                 time.Time
	convergedAt, after        time.Time // after: converged, or the convergence deadline
	converged                 bool
	settledOK                 bool
	idleStart, idleEnd        time.Time
	final                     []problem
}

// startFleet declares the replica slots and starts the single replica of
// the first phase, waiting until it is ready so that the faults hit a
// working controller.
func (r *chaosRun) startFleet(ctx context.Context) (*fleet, error) {
	r.wallStart = time.Now()
	args := append(r.c.controllerFlags(), fmt.Sprintf("-v=%d", r.c.verbosity))
	f, err := newFleet(ctx, r.s.paths, r.s.kubeconfig, args, r.c.controllerEnv)
	if err != nil {
		return nil, err
	}
	r.fleet = f
	f.addSlot("single", "--leader-elect=false")
	f.addSlot("a", r.c.leaderElectionFlags()...)
	f.addSlot("b", r.c.leaderElectionFlags()...)
	r.firstStart = time.Now()
	rec, err := f.start("single")
	if err != nil {
		return f, err
	}
	if err := f.current("single").waitReady(ctx, 90*time.Second); err != nil {
		return f, err
	}
	logf("%s ready in %.1f s (log %s)", rec.Name, time.Since(r.firstStart).Seconds(), rec.Log)
	return f, nil
}

// play applies the Orders and plays Argo while the faults happen, then
// waits for convergence and watches the quiet window after it.
func (r *chaosRun) play(ctx context.Context) error {
	orders, truth, failing := chaosLoad(r.c)
	r.truth = truth
	r.t0 = time.Now()
	playCtx, stopPlaying := context.WithCancel(ctx)
	defer stopPlaying()
	r.player = newArgoPlayer(r.s.admin.argo, r.s.trk, failing, r.c.runAfter, r.c.finishAfter, 200)
	go r.player.run(playCtx)

	// The Orders arrive over the whole fault window, so that every fault,
	// the last one too, hits ARC with work in flight.
	span := r.c.singleWindow + r.c.leaderWindow - r.c.gap
	applied := make(chan error, 1)
	go func() {
		last, err := applyOrdersPaced(ctx, r.s.admin.arc, orders, r.t0, span)
		if err == nil {
			r.lastApplied = last
			logf("all %d Orders applied (the last at +%.1f s)", len(orders), seconds(r.t0, last))
		}
		applied <- err
	}()
	runner := &faultRunner{s: r.s, fleet: r.fleet, kube: r.s.admin.kube,
		takeoverTimeout: r.c.leaseDuration + r.c.renewDeadline + 30*time.Second, spacing: r.c.gap,
		relistTimeout: 40 * time.Second}
	faults, err := runner.run(ctx, r.t0, r.plan)
	r.faults = faults
	if err != nil {
		return err
	}
	r.lastFault = r.t0
	if n := len(faults); n > 0 {
		r.lastFault = faults[n-1].ended
	}
	logf("last fault over at +%.1f s", seconds(r.t0, r.lastFault))
	if err := <-applied; err != nil {
		return err
	}
	if err := r.waitConverged(ctx); err != nil {
		return err
	}
	return r.watchQuiet(ctx)
}

// waitConverged polls the tracker's caches until the checks find nothing,
// confirms that with fresh lists from the API server, and records when.
// After the convergence timeout it records the problems left instead.
func (r *chaosRun) waitConverged(ctx context.Context) error {
	deadline := r.lastFault.Add(r.c.convergeTimeout)
	lastPrint := time.Now()
	for {
		now := time.Now()
		ps := checkConvergence(r.s.trk.snapshot(nsPrefixARC), r.truth)
		if len(ps) == 0 {
			fresh, err := r.freshProblems(ctx)
			if err == nil && len(fresh) == 0 {
				r.converged, r.convergedAt, r.after = true, now, now
				logf("converged %.1f s after the last fault", seconds(r.lastFault, now))
				return nil
			}
			ps = fresh
		}
		if now.After(deadline) {
			r.after = now
			logf("not converged %s after the last fault: %s", r.c.convergeTimeout, summarize(ps))
			return nil
		}
		if time.Since(lastPrint) >= r.c.progress {
			logf("waiting for convergence (%.0f s after the last fault): %s; e.g. %s",
				time.Since(r.lastFault).Seconds(), summarize(ps), firstProblems(ps, 2))
			lastPrint = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted waiting for convergence: %w", ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// freshProblems runs the convergence checks on objects listed from the API
// server now, not on the caches.
func (r *chaosRun) freshProblems(ctx context.Context) ([]problem, error) {
	s, err := listSnapshot(ctx, r.s.admin, nsPrefixARC)
	if err != nil {
		return nil, err
	}
	return checkConvergence(s, r.truth), nil
}

// listSnapshot lists the side's Orders, ArtifactWorkflows and Workflows.
func listSnapshot(ctx context.Context, cl *clients, prefix string) (snapshot, error) {
	var s snapshot
	orders, err := cl.arc.ArcV1alpha1().Orders("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return s, err
	}
	aws, err := cl.arc.ArcV1alpha1().ArtifactWorkflows("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return s, err
	}
	wfs, err := cl.argo.ArgoprojV1alpha1().Workflows("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return s, err
	}
	for i := range orders.Items {
		if strings.HasPrefix(orders.Items[i].Namespace, prefix) {
			s.orders = append(s.orders, &orders.Items[i])
		}
	}
	for i := range aws.Items {
		if strings.HasPrefix(aws.Items[i].Namespace, prefix) {
			s.aws = append(s.aws, &aws.Items[i])
		}
	}
	for i := range wfs.Items {
		if strings.HasPrefix(wfs.Items[i].Namespace, prefix) {
			s.wfs = append(s.wfs, &wfs.Items[i])
		}
	}
	return s, nil
}

// watchQuiet waits until ARC stops writing after convergence (at most a
// minute: events trail behind), watches the quiet window, and checks the
// objects once more at its end: the verdict is on that final state.
func (r *chaosRun) watchQuiet(ctx context.Context) error {
	settleCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err := r.s.waitQuiet(settleCtx, r.after, r.c.settle, r.s.paths.local("logs", "chaos"))
	r.settledOK = err == nil
	if ctx.Err() != nil {
		return ctx.Err()
	}
	r.idleStart = time.Now()
	logf("quiet window: %s (resync every %s); ARC should write nothing", r.c.observe, r.c.resync)
	if err := sleepWithProgress(ctx, r.c.observe, r.c.progress, func() string {
		reqs, _ := r.s.refreshAudit()
		return quietProgress(reqs, r.idleStart)
	}); err != nil {
		return err
	}
	r.idleEnd = time.Now()
	final, err := r.freshProblems(ctx)
	if err != nil {
		return fmt.Errorf("the final check: %w", err)
	}
	r.final = final
	return nil
}

// quietProgress says how many writes ARC made since the quiet window
// began, counted as the verdict counts them (without the Lease renewals of
// leader election), with the renewals beside them: a progress line that
// counted them as writes would read as a loop the verdict then denies.
func quietProgress(reqs []request, since time.Time) string {
	quiet := window(reqs, since, time.Now().Add(time.Hour))
	work := workRequests(quiet)
	return fmt.Sprintf("quiet window: %d writes of ARC so far (and %d Lease renewals)", countWrites(work), countWrites(quiet)-countWrites(work))
}

// firstProblems describes up to n problems.
func firstProblems(ps []problem, n int) string {
	var out []string
	for _, p := range ps[:min(n, len(ps))] {
		out = append(out, p.String())
	}
	return strings.Join(out, "; ")
}

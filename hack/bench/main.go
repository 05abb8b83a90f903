// Command arc-bench is ARC's scale benchmark (make bench): it runs
// bin/arc-controller on the worktree's local cluster against N Orders of M
// artifacts, measures how long ARC takes, how many API requests it makes
// (from the API server's audit log) and how much memory and CPU it uses,
// and compares its time with a plain client-go program that creates the
// same objects in the same run. See hack/bench/README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	argoclient "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	arcclient "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned"
)

// resetStorageBefore resets etcd's storage before the timed side named
// side, unless --reset-storage=false.
func (c config) resetStorageBefore(ctx context.Context, s *session, side string) error {
	if !c.resetStorage {
		return nil
	}
	return s.resetStorage(ctx, side)
}

// config are the settings of make bench.
type config struct {
	common
	scale     string
	argo      bool
	idle      time.Duration
	settle    time.Duration
	phaseRate float64
	// fastInFlight is the concurrency of the unthrottled baseline.
	fastInFlight int
	// latencyOrders is how many one-artifact Orders the latency probe applies.
	latencyOrders int
	// rounds is how many times the headline comparison is made (see
	// rounds.go); 0 takes the preset's.
	rounds int
	// apiserverProfile, when set, runs kube-apiserver with --profiling and
	// fetches a CPU profile of it of that length twice: from ARC's first
	// Order, and from the unthrottled baseline's first create (round 1).
	apiserverProfile time.Duration
	// profile, when set, fetches a CPU profile of ARC of that length from
	// the moment the Orders are applied (arc-controller --profiling).
	profile time.Duration
	// resetStorage compacts and defragments etcd before each timed side
	// (see storage.go).
	resetStorage bool
}

// presets are the sizes of --scale; --orders and --artifacts override them.
var presets = map[string]struct {
	orders, artifacts int
	timeout           time.Duration
	// rounds of the headline comparison: five where one takes seconds and
	// drifts with the API server; three at large scale, where a round
	// takes about five minutes (a minute per side, and the clean-up of
	// 10,000 artifacts before each) and one round alone ranged from 0.76
	// to 1.36 across a day's runs.
	rounds int
}{
	"default": {100, 10, 30 * time.Minute, 5},
	"large":   {1000, 10, 90 * time.Minute, 3},
	// With the real Argo controller every Workflow runs a pod: smaller.
	"default-argo": {20, 5, 20 * time.Minute, 1},
	"large-argo":   {100, 10, 60 * time.Minute, 1},
}

var started = time.Now()

func logf(format string, a ...any) {
	fmt.Printf("[bench +%5.1fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, a...))
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "chaos" {
		os.Exit(chaosMain(os.Args[2:]))
	}
	var c config
	fs := flag.NewFlagSet("arc-bench", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: arc-bench [flags]   the scale benchmark (make bench)\n       arc-bench chaos [flags]   the fault harness (make chaos; arc-bench chaos -h)\n")
		fs.PrintDefaults()
	}
	c.addFlags(fs)
	fs.StringVar(&c.scale, "scale", "default", "preset size: default (100 Orders x 10 artifacts) or large (1000 x 10); with --argo 20 x 5 and 100 x 10")
	fs.BoolVar(&c.argo, "argo", false, "run Argo's real workflow-controller (KWOK completes the pods) instead of simulating it")
	fs.DurationVar(&c.idle, "idle", time.Minute, "the idle window after convergence in which ARC should write nothing")
	fs.DurationVar(&c.settle, "settle", 5*time.Second, "ARC has settled once it made no write for this long after every Order succeeded")
	fs.Float64Var(&c.phaseRate, "phase-rate", 200, "simulated Argo: Workflow phase changes per second")
	fs.IntVar(&c.fastInFlight, "unthrottled-in-flight", 8, "creates the unthrottled baseline keeps in flight")
	fs.IntVar(&c.rounds, "rounds", 0, "how many times ARC and the unthrottled baseline are compared, on a cluster cleaned in between; the headline is the median (0: the preset's, 5 at default scale, 3 at large, 1 with --argo)")
	fs.IntVar(&c.latencyOrders, "latency-orders", 100, "one-artifact Orders applied one at a time after the idle window to measure Order -> Workflow latency (0: skip)")
	fs.DurationVar(&c.apiserverProfile, "apiserver-profile", 0, "run kube-apiserver with --profiling (a restart if it runs without) and fetch CPU profiles of it of this length, from ARC's first Order and from the unthrottled baseline's first create, into .local/bench; shorter than both spans (0: none)")
	fs.BoolVar(&c.resetStorage, "reset-storage", true, "compact etcd's history and defragment its database before each timed side, so that each starts from the same storage whatever earlier runs left (false: as the cluster is)")
	fs.DurationVar(&c.profile, "profile", 0, "fetch a CPU profile of ARC of this length once the Orders are applied, and a heap profile once every Order succeeded, into .local/bench (0: none)")
	_ = fs.Parse(os.Args[1:])
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "arc-bench takes no arguments, got %q\n", fs.Args())
		os.Exit(2)
	}
	if err := c.complete(); err != nil {
		fmt.Fprintf(os.Stderr, "arc-bench: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintf(os.Stderr, "\narc-bench: error: %v\n", err)
		os.Exit(1)
	}
}

func (c *config) complete() error {
	name := c.scale
	if c.argo {
		name += "-argo"
	}
	p, ok := presets[name]
	if !ok {
		return fmt.Errorf("--scale must be default or large, got %q", c.scale)
	}
	if c.orders == 0 {
		c.orders = p.orders
	}
	if c.artifacts == 0 {
		c.artifacts = p.artifacts
	}
	if c.timeout == 0 {
		c.timeout = p.timeout
	}
	if c.rounds == 0 {
		c.rounds = p.rounds
	}
	if c.rounds < 0 {
		return fmt.Errorf("--rounds must not be negative")
	}
	if c.rounds > 1 && c.keep {
		return fmt.Errorf("--keep leaves the objects in place, and rounds after the first need a clean cluster: add --rounds=1")
	}
	if c.phaseRate <= 0 {
		return fmt.Errorf("--phase-rate must be positive")
	}
	if c.fastInFlight < 1 || c.latencyOrders < 0 || c.profile < 0 || c.apiserverProfile < 0 {
		return fmt.Errorf("--unthrottled-in-flight must be positive, --latency-orders, --profile and --apiserver-profile not negative")
	}
	return c.common.complete()
}

// clients of the benchmark itself: the admin identity, with a generous rate
// limit so that applying Orders and playing Argo never wait on it.
type clients struct {
	kube kubernetes.Interface
	arc  arcclient.Interface
	argo argoclient.Interface
}

func newClients(kubeconfig string, qps float32, burst int) (*clients, *rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, nil, err
	}
	cfg.QPS, cfg.Burst = qps, burst
	cfg.UserAgent = "arc-bench"
	c := &clients{}
	if c.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, nil, err
	}
	if c.arc, err = arcclient.NewForConfig(cfg); err != nil {
		return nil, nil, err
	}
	if c.argo, err = argoclient.NewForConfig(cfg); err != nil {
		return nil, nil, err
	}
	return c, cfg, nil
}

func run(ctx context.Context, c config) (err error) {
	mode := "simulated-argo"
	if c.argo {
		mode = "argo"
	}
	artifacts := c.orders * c.artifacts
	logf("ARC scale benchmark: %d Orders x %d artifacts = %d artifacts over %d namespaces, %s, timeout %s",
		c.orders, c.artifacts, artifacts, c.namespaces, mode, c.timeout)

	runCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cluster := clusterProfile{argo: c.argo}
	if c.apiserverProfile > 0 {
		// The local cluster runs kube-apiserver with --profiling=false; a
		// later flag wins.
		cluster.apiserverArgs = "--profiling=true"
	}
	sess, err := openSession(runCtx, c.common, cluster, true)
	// Everything after this point is cleaned up, whatever happens.
	var ctrl *controllerProc
	defer func() {
		ctrl.stop()
		err = errors.Join(err, sess.close())
	}()
	if err != nil {
		return err
	}
	p, admin, trk, audit := sess.paths, sess.admin, sess.trk, sess.audit

	res := &Result{
		Scale: c.scale, Mode: mode, StartedAt: time.Now().UTC(),
		Orders: c.orders, ArtifactsPerOrder: c.artifacts, Artifacts: artifacts, Namespaces: c.namespaces,
		LoadAverage: loadAverage(), AuditUser: arcUser,
		Controller: ControllerSettings{QPS: c.qps, Burst: c.burst, OrderWorkers: c.orderWorkers, AWWorkers: c.awWorkers, ResyncPeriod: c.resync.String()},
		Idle:       IdleFigures{Seconds: c.idle.Seconds(), ResyncPeriod: c.resync.String()},
	}
	if !c.argo {
		res.Controller.PhaseMoveRate = c.phaseRate
	}

	// ---- ARC
	if err := c.resetStorageBefore(runCtx, sess, "ARC (round 1)"); err != nil {
		return err
	}
	ctrlStart := time.Now()
	ctrlFlags := c.controllerFlags()
	if c.profile > 0 {
		ctrlFlags = append(ctrlFlags, "--profiling")
	}
	res.Controller.Flags, res.Controller.Env = ctrlFlags, c.controllerEnv
	ctrl, err = p.startController(runCtx, sess.kubeconfig, ctrlFlags, c.controllerEnv, "bench-arc-controller.log")
	if err != nil {
		return err
	}
	startup, err := readProc(ctrl.pid())
	if err != nil {
		return err
	}
	res.ARC.StartupRSSMiB = mib(startup.RSSKiB)
	res.ARC.StartupRSSFileMiB = mib(startup.FileKiB)
	res.ARC.StartupCPUSeconds = round2(startup.CPUSeconds)
	logf("arc-controller ready in %.1f s: RSS %.1f MiB, CPU %.2f s", time.Since(ctrlStart).Seconds(), res.ARC.StartupRSSMiB, startup.CPUSeconds)
	rss := sampleRSS(ctrl.pid())
	defer rss.stop()

	orders, exp := newLoad(c, nsPrefixARC)
	stem := fmt.Sprintf("bench-%s-%s-%s", c.scale, mode, time.Now().Format("20060102-150405"))
	apiProfileARC := sess.fetchAPIServerProfile(runCtx, c.apiserverProfile, filepath.Join(p.outDir(), stem+"-apiserver-arc.pprof"))
	apiCPU0, arcCPU0 := procCPU(p.apiserverPid()), procCPU(ctrl.pid())
	logf("applying %d Orders", len(orders))
	firstApply, lastApplied, err := applyOrders(runCtx, admin.arc, orders, 16)
	if err != nil {
		return err
	}
	res.ARC.ApplySeconds = seconds(firstApply, lastApplied)
	var profileDone <-chan error
	if c.profile > 0 {
		profileDone = fetchProfile(runCtx, ctrl.metricsPort, c.profile, filepath.Join(p.outDir(), stem+"-cpu.pprof"))
	}
	logf("applied %d Orders in %.2f s; waiting for ARC to create %d ArtifactWorkflows and Workflows", len(orders), res.ARC.ApplySeconds, artifacts)

	pr, err := waitARCCreated(runCtx, c, trk, exp)
	if err != nil {
		return err
	}
	wfsExist := pr.LastWFSeen
	res.ARC.AWsExistSeconds = seconds(lastApplied, pr.LastAWSeen)
	res.ARC.WorkflowsExistSeconds = seconds(lastApplied, wfsExist)
	res.ARC.APIServerCPUSeconds = round2(procCPU(p.apiserverPid()) - apiCPU0)
	res.ARC.CreateCPUSeconds = round2(procCPU(ctrl.pid()) - arcCPU0)
	logf("every ArtifactWorkflow exists %.2f s and every Workflow %.2f s after the last Order was applied",
		res.ARC.AWsExistSeconds, res.ARC.WorkflowsExistSeconds)

	var lastFinished, mirrored time.Time
	if c.argo {
		err = waitFor(runCtx, c.progress, "Argo to finish every Workflow", func() (bool, string) {
			pr = trk.progress(exp)
			return pr.WFsFinished >= artifacts, fmt.Sprintf("Argo: %d of %d Workflows finished; ARC: %d of %d Orders Succeeded",
				pr.WFsFinished, artifacts, pr.OrdersDone, c.orders)
		}, func() string { return trk.orderSummary(exp, 5) })
		if err != nil {
			return err
		}
		lastFinished = pr.LastWFFinished
	} else {
		keys := trk.workflowKeys(nsPrefixARC)
		logf("simulated Argo: moving %d Workflows to Running at %g per second", len(keys), c.phaseRate)
		lastRunning, err := moveWorkflows(runCtx, admin.argo, keys, wfv1.WorkflowRunning, c.phaseRate, 8)
		if err != nil {
			return err
		}
		err = waitFor(runCtx, c.progress, "ARC to report every artifact running", func() (bool, string) {
			pr = trk.progress(exp)
			return pr.OrdersRunning >= c.orders, fmt.Sprintf("ARC: %d of %d ArtifactWorkflows Running, %d of %d Orders report all artifacts running",
				pr.AWsRunning, artifacts, pr.OrdersRunning, c.orders)
		}, func() string { return trk.orderSummary(exp, 5) })
		if err != nil {
			return err
		}
		mirrored = time.Now()
		res.ARC.RunningMirroredSeconds = seconds(lastRunning, mirrored)
		logf("ARC reported every artifact running %.2f s after the last Workflow started", res.ARC.RunningMirroredSeconds)
		logf("simulated Argo: moving %d Workflows to Succeeded at %g per second", len(keys), c.phaseRate)
		lastFinished, err = moveWorkflows(runCtx, admin.argo, keys, wfv1.WorkflowSucceeded, c.phaseRate, 8)
		if err != nil {
			return err
		}
	}
	err = waitFor(runCtx, c.progress, "every Order to report Succeeded", func() (bool, string) {
		pr = trk.progress(exp)
		return pr.OrdersDone >= c.orders || pr.OrdersFailed > 0, fmt.Sprintf("ARC: %d of %d ArtifactWorkflows Succeeded, %d of %d Orders Succeeded",
			pr.AWsSucceeded, artifacts, pr.OrdersDone, c.orders)
	}, func() string { return trk.orderSummary(exp, 5) })
	if err != nil {
		return err
	}
	if pr.OrdersFailed > 0 {
		return fmt.Errorf("%d Orders Failed:\n  %s", pr.OrdersFailed, trk.orderSummary(exp, 5))
	}
	ordersDone := time.Now()
	if c.profile > 0 {
		// Every Order, ArtifactWorkflow and Workflow is live now: the most the caches hold.
		heap := filepath.Join(p.outDir(), stem+"-heap.pprof")
		if err := fetchHeapProfile(runCtx, ctrl.metricsPort, heap); err != nil {
			return err
		}
		res.HeapProfilePath = rel(c.root, heap)
	}
	res.ARC.OrdersSucceededSeconds = seconds(lastFinished, ordersDone)
	logf("every Order Succeeded %.2f s after the last Workflow finished", res.ARC.OrdersSucceededSeconds)

	// Settle: events and the last status writes may trail behind.
	settled, err := sess.waitQuiet(runCtx, ordersDone, c.settle, ".local/logs/bench-arc-controller.log")
	if err != nil {
		return err
	}
	res.ARC.SettleSeconds = seconds(ordersDone, settled)
	res.ARC.TotalSeconds = seconds(firstApply, settled)
	atSettle, err := readProc(ctrl.pid())
	if err != nil {
		return err
	}
	res.ARC.CPUSeconds = round2(atSettle.CPUSeconds - startup.CPUSeconds)

	idleStart := time.Now()
	logf("idle window: %s with nothing to do (resync every %s); ARC should write nothing", c.idle, c.resync)
	if err := sleepWithProgress(runCtx, c.idle, c.progress, func() string {
		reqs, _ := sess.refreshAudit()
		return fmt.Sprintf("idle: %d writes of ARC so far", countWrites(window(reqs, idleStart, time.Now().Add(time.Hour))))
	}); err != nil {
		return err
	}
	idleEnd := time.Now()
	final, err := readProc(ctrl.pid())
	if err != nil {
		return err
	}
	res.ARC.IdleCPUSeconds = round2(final.CPUSeconds - atSettle.CPUSeconds)
	res.ARC.PeakRSSMiB = mib(final.HWMKiB)
	rss.stop()
	rss.add(final.procMemory)
	peak := rss.peak()
	res.ARC.PeakRSSAnonMiB, res.ARC.PeakRSSFileMiB = mib(peak.AnonKiB), mib(peak.FileKiB)
	if profileDone != nil {
		if err := <-profileDone; err != nil {
			return err
		}
		res.ProfilePath = rel(c.root, filepath.Join(p.outDir(), stem+"-cpu.pprof"))
	}
	// The baselines copy the load's objects, not the latency probe's.
	aws, wfs := trk.objects(nsPrefixARC)
	if c.latencyOrders > 0 {
		logf("latency: applying %d Orders of one artifact, one at a time, on the otherwise idle cluster", c.latencyOrders)
		lat, err := measureLatency(runCtx, admin.arc, trk, namespaceName(nsPrefixARC, 0), c.latencyOrders)
		if err != nil {
			return fmt.Errorf("latency: %w", err)
		}
		res.Latency = latencyFigures(lat)
		logf("latency: Order -> Workflow p50 %.1f ms, p99 %.1f ms, max %.1f ms", res.Latency.P50Millis, res.Latency.P99Millis, res.Latency.MaxMillis)
	}
	ctrl.stop()
	ctrl = nil

	sess.stopAudit()
	reqs, err := sess.refreshAudit()
	if err != nil {
		return err
	}
	bad := audit.bad
	if len(reqs) == 0 {
		return fmt.Errorf("the audit log %s has no request of %s: is the cluster running with %s?", p.auditLog(), arcUser, p.auditPolicy())
	}
	res.AuditBadLines = bad
	life := window(reqs, ctrlStart, idleStart)
	res.Requests = countRequests(life)
	res.Writes = countWrites(life)
	res.WritesPerArtifact = perArtifact(res.Writes, artifacts)
	phases := map[string][]request{"create": window(reqs, ctrlStart, wfsExist)}
	if c.argo {
		phases["finish"] = window(reqs, wfsExist, idleStart)
	} else {
		phases["running"] = window(reqs, wfsExist, mirrored)
		phases["finish"] = window(reqs, mirrored, idleStart)
	}
	res.WritesPerArtifactByPhase = map[string]float64{}
	res.RequestsByPhase = map[string][]RequestCount{}
	for name, rs := range phases {
		res.WritesPerArtifactByPhase[name] = perArtifact(countWrites(rs), artifacts)
		res.RequestsByPhase[name] = countRequests(rs)
	}
	idle := window(reqs, idleStart, idleEnd)
	res.Idle.Writes = countWrites(idle)
	res.Idle.Requests = countRequests(idle)
	res.ARC.RSSSamples = rss.samples(lastApplied, func(m procMemory) int64 { return m.RSSKiB })
	res.ARC.RSSAnonSamples = rss.samples(lastApplied, func(m procMemory) int64 { return m.AnonKiB })

	// ---- baseline
	logf("baseline: a plain client-go program creates the same %d ArtifactWorkflows and Workflows (arc-controller is stopped)", len(aws))
	nsOf := func(arcNS string) string { return nsPrefixBase + strings.TrimPrefix(arcNS, nsPrefixARC) }
	baseClients, _, err := newClients(p.kubeconfig(), float32(c.qps), c.burst)
	if err != nil {
		return err
	}
	if err := c.resetStorageBefore(runCtx, sess, "the baseline at ARC's QPS (round 1)"); err != nil {
		return err
	}
	apiCPU0 = procCPU(p.apiserverPid())
	bs, err := runBaseline(runCtx, baseClients.arc, baseClients.argo, aws, wfs, nsOf, c.orderWorkers, c.awWorkers, c.argo)
	res.Baseline.Errors = bs.errors
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	baseExp := expected{prefix: nsPrefixBase, total: len(aws)}
	err = waitFor(runCtx, c.progress, "the baseline's objects", func() (bool, string) {
		pr = trk.progress(baseExp)
		return pr.AWs >= len(aws) && pr.WFs >= len(aws),
			fmt.Sprintf("baseline: %d of %d ArtifactWorkflows, %d of %d Workflows seen", pr.AWs, len(aws), pr.WFs, len(aws))
	}, func() string { return "the baseline's creates returned but the watch did not deliver every object" })
	if err != nil {
		return err
	}
	res.Baseline.APIServerCPUSeconds = round2(procCPU(p.apiserverPid()) - apiCPU0)
	res.Baseline.AWsExistSeconds = seconds(bs.start, pr.LastAWSeen)
	res.Baseline.WorkflowsExistSeconds = seconds(bs.start, pr.LastWFSeen)
	res.Ratio = ratio(res.ARC.WorkflowsExistSeconds, res.Baseline.WorkflowsExistSeconds)
	logf("baseline: every ArtifactWorkflow exists after %.2f s, every Workflow after %.2f s",
		res.Baseline.AWsExistSeconds, res.Baseline.WorkflowsExistSeconds)

	if err := apiProfileARC.wait(); err != nil {
		return err
	}
	if err := c.resetStorageBefore(runCtx, sess, "the unthrottled baseline (round 1)"); err != nil {
		return err
	}
	apiProfileFast := sess.fetchAPIServerProfile(runCtx, c.apiserverProfile, filepath.Join(p.outDir(), stem+"-apiserver-unthrottled.pprof"))
	var fastStart time.Time
	res.Unthrottled, fastStart, err = measureUnthrottled(runCtx, sess, c, aws, wfs, nsPrefixFast)
	if err != nil {
		return err
	}
	if err := apiProfileFast.wait(); err != nil {
		return err
	}
	res.APIServerProfilePaths = append(apiProfileARC.paths(c.root), apiProfileFast.paths(c.root)...)
	res.UnthrottledRatio = ratio(res.ARC.WorkflowsExistSeconds, res.Unthrottled.WorkflowsExistSeconds)
	logf("ARC / unthrottled baseline = %.2f", res.UnthrottledRatio)

	// ---- more rounds of the headline comparison
	res.Rounds = []RoundFigures{{Round: 1, First: "arc", ARCSeconds: res.ARC.WorkflowsExistSeconds,
		UnthrottledSeconds: res.Unthrottled.WorkflowsExistSeconds, Ratio: res.UnthrottledRatio,
		ARCAPIServerCPUSeconds: res.ARC.APIServerCPUSeconds, UnthrottledAPIServerCPUSeconds: res.Unthrottled.APIServerCPUSeconds}}
	for r := 2; r <= c.rounds; r++ {
		rf, err := runRound(runCtx, sess, c, ctrlFlags, aws, wfs, r)
		if err != nil {
			return fmt.Errorf("round %d: %w", r, err)
		}
		res.Rounds = append(res.Rounds, rf)
	}
	res.UnthrottledRatioMedian = medianRatio(res.Rounds)
	if len(res.Rounds) > 1 {
		logf("ARC / unthrottled baseline over %d rounds: %s; median %.2f", len(res.Rounds), roundRatios(res.Rounds), res.UnthrottledRatioMedian)
	}

	// ---- report
	res.StorageResets = sess.storageResets
	arcAWs, arcWFs := trk.firstSeen(nsPrefixARC)
	baseAWs, baseWFs := trk.firstSeen(nsPrefixBase)
	fastAWs, fastWFs := trk.firstSeen(nsPrefixFast)
	series := plotSeries{
		arcAWs: cumulative(arcAWs, lastApplied), arcWFs: cumulative(arcWFs, lastApplied),
		baseAWs: cumulative(baseAWs, bs.start), baseWFs: cumulative(baseWFs, bs.start),
		fastAWs: cumulative(fastAWs, fastStart), fastWFs: cumulative(fastWFs, fastStart),
	}
	jsonPath := filepath.Join(p.outDir(), stem+".json")
	pngPath := filepath.Join(p.outDir(), stem+"-objects.png")
	memPath := filepath.Join(p.outDir(), stem+"-rss.png")
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(jsonPath, append(data, '\n'), 0o644); err != nil {
		return err
	}
	title := fmt.Sprintf("%d Orders x %d artifacts, %s (ARC/unthrottled %.2f in round 1)", c.orders, c.artifacts, mode, res.UnthrottledRatio)
	if err := plotObjects(pngPath, title, series); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if err := plotRSS(memPath, title, res.ARC.RSSSamples, res.ARC.RSSAnonSamples); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	fmt.Println()
	printTable(os.Stdout, res)
	fmt.Println()
	logf("results: %s", rel(c.root, jsonPath))
	logf("plots:   %s, %s", rel(c.root, pngPath), rel(c.root, memPath))
	return nil
}

// releaseWorkflows removes ARC's finalizer from every Workflow of namespace ns.
func releaseWorkflows(ctx context.Context, argo argoclient.Interface, ns string) error {
	wfs, err := argo.ArgoprojV1alpha1().Workflows(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing the Workflows of %s: %w", ns, err)
	}
	for _, wf := range wfs.Items {
		if !slices.Contains(wf.Finalizers, arcv1.FinalizerWorkflowResult) {
			continue
		}
		rest := slices.DeleteFunc(slices.Clone(wf.Finalizers), func(f string) bool { return f == arcv1.FinalizerWorkflowResult })
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"finalizers": rest}})
		if err != nil {
			return err
		}
		_, err = argo.ArgoprojV1alpha1().Workflows(ns).Patch(ctx, wf.Name, types.MergePatchType, patch, metav1.PatchOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("releasing Workflow %s/%s: %w", ns, wf.Name, err)
		}
	}
	return nil
}

func rel(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil {
		return r
	}
	return path
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

// waitFor polls check every 100 ms (the resolution of the times it
// measures) until it is done, printing its status
// every progressEvery; when ctx ends first it fails with the last status
// and what missing() says is missing.
func waitFor(ctx context.Context, progressEvery time.Duration, what string, check func() (bool, string), missing func() string) error {
	return waitEvery(ctx, 100*time.Millisecond, progressEvery, what, check, missing)
}

// waitEvery is waitFor with another poll interval.
func waitEvery(ctx context.Context, poll, progressEvery time.Duration, what string, check func() (bool, string), missing func() string) error {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	lastPrint := time.Now()
	start := time.Now()
	for {
		done, status := check()
		if done {
			return nil
		}
		if time.Since(lastPrint) >= progressEvery {
			logf("waiting for %s (%.0f s): %s", what, time.Since(start).Seconds(), status)
			lastPrint = time.Now()
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("timed out (--timeout) waiting for %s: %s\n  missing: %s", what, status, missing())
			}
			return fmt.Errorf("interrupted waiting for %s: %s", what, status)
		case <-tick.C:
		}
	}
}

func sleepWithProgress(ctx context.Context, d, every time.Duration, status func() string) error {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		wait := min(every, time.Until(end))
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted in the idle window: %w", ctx.Err())
		case <-time.After(wait):
		}
		logf("%s, %.0f s left", status(), max(0, time.Until(end).Seconds()))
	}
	return nil
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// procCPU is the CPU seconds of pid so far (0 if unknown).
func procCPU(pid int) float64 {
	if pid == 0 {
		return 0
	}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	cpu, _ := parseProcStat(string(st))
	return cpu
}

// rssSampler records the controller's resident memory every second.
type rssSampler struct {
	mu    sync.Mutex
	at    []time.Time
	mem   []procMemory
	stopF func()
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{}
	s.stopF = every(time.Second, func() {
		st, err := readProc(pid)
		if err != nil {
			return
		}
		s.add(st.procMemory)
	})
	return s
}

func (s *rssSampler) stop() { s.stopF() }

// add records m as sampled now.
func (s *rssSampler) add(m procMemory) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.at, s.mem = append(s.at, time.Now()), append(s.mem, m)
}

// samples are the part of memory that of picks, in MiB, timed from ref.
func (s *rssSampler) samples(ref time.Time, of func(procMemory) int64) []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Sample, len(s.at))
	for i := range s.at {
		out[i] = Sample{T: round2(s.at[i].Sub(ref).Seconds()), V: mib(of(s.mem[i]))}
	}
	return out
}

// peak is the highest of each field over the samples, each on its own.
func (s *rssSampler) peak() procMemory {
	s.mu.Lock()
	defer s.mu.Unlock()
	var p procMemory
	for _, m := range s.mem {
		p.RSSKiB, p.HWMKiB = max(p.RSSKiB, m.RSSKiB), max(p.HWMKiB, m.HWMKiB)
		p.AnonKiB, p.FileKiB = max(p.AnonKiB, m.AnonKiB), max(p.FileKiB, m.FileKiB)
	}
	return p
}

// createFixtures creates the namespaces, Secrets, Endpoints and types ARC
// resolves against, and the ClusterWorkflowTemplate they name.
func createFixtures(ctx context.Context, cl *clients, c common, baseline bool) error {
	logf("creating %d namespaces with Endpoints, a Secret, an ArtifactType and a WorkflowTemplate each (and %d for the baseline: %v), 2 ClusterArtifactTypes and ClusterWorkflowTemplate %s",
		c.namespaces, c.namespaces, baseline, templateName)
	var copies []string
	if baseline {
		copies = []string{nsPrefixBase, nsPrefixFast}
	}
	return createNamespaces(ctx, cl, c.namespaces, nsPrefixARC, copies...)
}

// createNamespaces creates n namespaces named arcPrefix<i> with the
// fixtures ARC resolves Orders against (none for an empty arcPrefix), n
// plain namespaces for each prefix of copies (a baseline's copies of ARC's
// objects need nothing else), and the cluster-scoped types and template.
// What exists already is kept.
func createNamespaces(ctx context.Context, cl *clients, n int, arcPrefix string, copies ...string) error {
	create := func(err error) error {
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	prefixes := copies
	if arcPrefix != "" {
		prefixes = append([]string{arcPrefix}, copies...)
	}
	for i := 0; i < n; i++ {
		for _, prefix := range prefixes {
			ns := namespaceName(prefix, i)
			if _, err := cl.kube.CoreV1().Namespaces().Create(ctx, newNamespace(ns), metav1.CreateOptions{}); create(err) != nil {
				return err
			}
		}
		if arcPrefix == "" {
			continue
		}
		ns := namespaceName(arcPrefix, i)
		secret, eps, at, wt := namespaceFixtures(ns)
		if _, err := cl.kube.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); create(err) != nil {
			return err
		}
		for _, ep := range eps {
			if _, err := cl.arc.ArcV1alpha1().Endpoints(ns).Create(ctx, ep, metav1.CreateOptions{}); create(err) != nil {
				return err
			}
		}
		if _, err := cl.arc.ArcV1alpha1().ArtifactTypes(ns).Create(ctx, at, metav1.CreateOptions{}); create(err) != nil {
			return err
		}
		if _, err := cl.argo.ArgoprojV1alpha1().WorkflowTemplates(ns).Create(ctx, wt, metav1.CreateOptions{}); create(err) != nil {
			return err
		}
	}
	for _, cat := range clusterArtifactTypes() {
		if _, err := cl.arc.ArcV1alpha1().ClusterArtifactTypes().Create(ctx, cat, metav1.CreateOptions{}); create(err) != nil {
			return err
		}
	}
	if _, err := cl.argo.ArgoprojV1alpha1().ClusterWorkflowTemplates().Create(ctx, workflowTemplate(), metav1.CreateOptions{}); create(err) != nil {
		return err
	}
	return nil
}

// cleanup deletes what the benchmark created (namespaces with everything in
// them, the cluster-scoped types and template) and waits until the
// namespaces are gone, so the next run starts from nothing.
func cleanup(cl *clients, c common) error {
	if c.keep {
		logf("--keep: leaving the benchmark's namespaces (label %s) in place", labelBench)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	sel := metav1.ListOptions{LabelSelector: labelBench + "=true"}
	nss, err := cl.kube.CoreV1().Namespaces().List(ctx, sel)
	if err != nil {
		return err
	}
	if len(nss.Items) > 0 {
		logf("cleaning up: deleting %d namespaces of the benchmark", len(nss.Items))
	}
	// ARC's finalizer on its Workflows waits for a controller that is
	// stopped by now: take it off, as the README says for uninstalling,
	// or the namespaces never go.
	for _, ns := range nss.Items {
		if err := releaseWorkflows(ctx, cl.argo, ns.Name); err != nil {
			return err
		}
	}
	bg := metav1.DeletePropagationBackground
	for _, ns := range nss.Items {
		if ns.DeletionTimestamp != nil {
			continue
		}
		if err := cl.kube.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	if err := cl.arc.ArcV1alpha1().ClusterArtifactTypes().DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if err := cl.argo.ArgoprojV1alpha1().ClusterWorkflowTemplates().DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	start := time.Now()
	lastPrint := time.Now()
	for {
		nss, err := cl.kube.CoreV1().Namespaces().List(ctx, sel)
		if err != nil {
			return err
		}
		if len(nss.Items) == 0 {
			if time.Since(start) > time.Second {
				logf("cleaning up: namespaces gone after %.0f s", time.Since(start).Seconds())
			}
			return nil
		}
		if time.Since(lastPrint) >= 5*time.Second {
			// A Workflow that got ARC's finalizer after the first pass (a
			// controller still stopping) would hold its namespace forever.
			for _, ns := range nss.Items {
				if err := releaseWorkflows(ctx, cl.argo, ns.Name); err != nil {
					return err
				}
			}
			left := map[corev1.NamespacePhase]int{}
			for _, ns := range nss.Items {
				left[ns.Status.Phase]++
			}
			logf("cleaning up: waiting for %d namespaces to go (%v)", len(nss.Items), left)
			lastPrint = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("namespaces of the benchmark still there after %s: %d", time.Since(start).Round(time.Second), len(nss.Items))
		case <-time.After(time.Second):
		}
	}
}

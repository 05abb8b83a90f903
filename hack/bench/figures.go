package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is everything one benchmark run measured; it is written as JSON to
// .local/bench/ and printed as a table.
type Result struct {
	Scale             string    `json:"scale"`
	Mode              string    `json:"mode"` // "simulated-argo" or "argo"
	StartedAt         time.Time `json:"startedAt"`
	Orders            int       `json:"orders"`
	ArtifactsPerOrder int       `json:"artifactsPerOrder"`
	Artifacts         int       `json:"artifacts"`
	Namespaces        int       `json:"namespaces"`
	LoadAverage       string    `json:"loadAverageAtStart"`

	Controller ControllerSettings `json:"controller"`
	ARC        ARCFigures         `json:"arc"`
	Baseline   BaselineFigures    `json:"baseline"`

	// Ratio is the headline: ARC's time from the last Order applied until
	// every Workflow exists, divided by the baseline's time to create the same
	// ArtifactWorkflows and Workflows. 1.0 means ARC costs nothing on top of
	// the API calls it has to make.
	Ratio float64 `json:"ratio"`
	// Unthrottled is the plain client without a client-side rate limit, and
	// UnthrottledRatio ARC's time over its time: the headline, since it
	// shows what the API server itself allows.
	Unthrottled      BaselineFigures `json:"unthrottledBaseline"`
	UnthrottledRatio float64         `json:"unthrottledRatio"`
	// Rounds repeat the comparison of ARC with the unthrottled baseline
	// (round 1 is the one above); UnthrottledRatioMedian, the median of
	// their ratios, is the headline.
	Rounds                 []RoundFigures `json:"rounds"`
	UnthrottledRatioMedian float64        `json:"unthrottledRatioMedian"`

	// Latency is from an Order's watch event to its Workflow's, for
	// one-artifact Orders applied one at a time on an idle cluster.
	Latency LatencyFigures `json:"latency"`

	// ProfilePath is the CPU profile fetched with --profile.
	ProfilePath string `json:"profilePath,omitempty"`
	// HeapProfilePath is the heap profile fetched with --profile once every
	// Order succeeded.
	HeapProfilePath string `json:"heapProfilePath,omitempty"`
	// APIServerProfilePaths are the kube-apiserver's CPU profiles fetched
	// with --apiserver-profile: over ARC's span, then the unthrottled
	// baseline's.
	APIServerProfilePaths []string `json:"apiServerProfilePaths,omitempty"`

	// StorageResets are the compactions and defragmentations of etcd made
	// before each timed side (none with --reset-storage=false).
	StorageResets []StorageReset `json:"storageResets,omitempty"`

	// Requests are ARC's API requests from its start until it settled after
	// every Order succeeded (the whole life of every artifact), by verb and
	// resource, from the audit log (stage ResponseComplete, ARC's user only).
	Requests          []RequestCount `json:"requests"`
	Writes            int            `json:"writes"`
	WritesPerArtifact float64        `json:"writesPerArtifact"`
	// WritesPerArtifactByPhase splits WritesPerArtifact: "create" (until
	// every Workflow exists), "running" (until ARC reports every artifact
	// running), "finish" (until ARC settled after every Order succeeded).
	WritesPerArtifactByPhase map[string]float64 `json:"writesPerArtifactByPhase"`
	// RequestsByPhase are the Requests of each of those phases.
	RequestsByPhase map[string][]RequestCount `json:"requestsByPhase"`

	Idle IdleFigures `json:"idle"`

	AuditUser     string `json:"auditUser"`
	AuditBadLines int    `json:"auditBadLines,omitempty"`
}

// ControllerSettings are the flags bin/arc-controller ran with; the baseline
// uses the same QPS, burst and concurrency.
type ControllerSettings struct {
	QPS           float64 `json:"kubeAPIQPS"`
	Burst         int     `json:"kubeAPIBurst"`
	OrderWorkers  int     `json:"orderWorkers"`
	AWWorkers     int     `json:"artifactWorkflowWorkers"`
	ResyncPeriod  string  `json:"resyncPeriod"`
	PhaseMoveRate float64 `json:"simulatedPhaseMovesPerSecond,omitempty"`
	// Flags are the arc-controller flags the harness set.
	Flags []string `json:"flags"`
	// Env is what the harness added to its environment (--controller-env).
	Env []string `json:"env,omitempty"`
}

// ARCFigures are ARC's times and resource use. Times are in seconds.
type ARCFigures struct {
	// ApplySeconds: from the first Order create until the last returned.
	ApplySeconds float64 `json:"applySeconds"`
	// AWsExistSeconds and WorkflowsExistSeconds: from the last Order applied
	// until every ArtifactWorkflow / Workflow exists (seen by a watch).
	AWsExistSeconds       float64 `json:"artifactWorkflowsExistSeconds"`
	WorkflowsExistSeconds float64 `json:"workflowsExistSeconds"`
	// RunningMirroredSeconds: from the last Workflow moved to Running until
	// every Order reports all its artifacts running (simulated Argo only).
	RunningMirroredSeconds float64 `json:"runningMirroredSeconds,omitempty"`
	// OrdersSucceededSeconds: from the last Workflow finishing until every
	// Order reports Succeeded.
	OrdersSucceededSeconds float64 `json:"ordersSucceededSeconds"`
	// SettleSeconds: from every Order Succeeded until ARC made no write for
	// the settle period (event writes trail behind).
	SettleSeconds float64 `json:"settleSeconds"`
	// TotalSeconds: from the first Order create until ARC settled.
	TotalSeconds float64 `json:"totalSeconds"`

	// PeakRSSMiB is VmHWM of the controller process at the end of the run.
	PeakRSSMiB float64 `json:"peakRSSMiB"`
	// StartupRSSMiB is VmRSS once its caches synced, before any Order, and
	// StartupRSSFileMiB the part of it that is mapped files (its binary).
	StartupRSSMiB     float64 `json:"startupRSSMiB"`
	StartupRSSFileMiB float64 `json:"startupRSSFileMiB"`
	// PeakRSSAnonMiB and PeakRSSFileMiB are the highest RssAnon and RssFile
	// sampled (every second, and at the end): the kernel keeps a high-water
	// mark of their sum only, so the peak of each part is at least this.
	PeakRSSAnonMiB float64 `json:"peakRSSAnonMiB"`
	PeakRSSFileMiB float64 `json:"peakRSSFileMiB"`
	// CPUSeconds is utime+stime of the controller from caches synced until
	// it settled; StartupCPUSeconds before that, IdleCPUSeconds during the
	// idle window.
	CPUSeconds        float64 `json:"cpuSeconds"`
	StartupCPUSeconds float64 `json:"startupCPUSeconds"`
	IdleCPUSeconds    float64 `json:"idleCPUSeconds"`
	// APIServerCPUSeconds is the kube-apiserver's CPU from the first Order
	// until every Workflow existed, for comparison with the baseline's.
	APIServerCPUSeconds float64 `json:"apiServerCPUSecondsUntilWorkflowsExist"`
	// CreateCPUSeconds is the controller's own CPU over the same span: on a
	// machine whose cores the API server saturates, what ARC burns there
	// is taken from it.
	CreateCPUSeconds float64 `json:"cpuSecondsUntilWorkflowsExist"`

	// RSSSamples are VmRSS every second from caches synced, and
	// RSSAnonSamples its anonymous part at the same times.
	RSSSamples     []Sample `json:"rssSamplesMiB,omitempty"`
	RSSAnonSamples []Sample `json:"rssAnonSamplesMiB,omitempty"`
}

// BaselineFigures are the times of the plain client-go program.
type BaselineFigures struct {
	AWsExistSeconds       float64 `json:"artifactWorkflowsExistSeconds"`
	WorkflowsExistSeconds float64 `json:"workflowsExistSeconds"`
	APIServerCPUSeconds   float64 `json:"apiServerCPUSeconds"`
	Errors                int     `json:"errors,omitempty"`
	// InFlight is the concurrency of the unthrottled baseline.
	InFlight int `json:"inFlight,omitempty"`
}

// LatencyFigures summarise the latency probe, in milliseconds.
type LatencyFigures struct {
	Orders    int     `json:"orders"`
	P50Millis float64 `json:"p50Millis"`
	P99Millis float64 `json:"p99Millis"`
	MaxMillis float64 `json:"maxMillis"`
}

// latencyFigures computes the percentiles of ds (nearest rank).
func latencyFigures(ds []time.Duration) LatencyFigures {
	if len(ds) == 0 {
		return LatencyFigures{}
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(sorted)))) - 1
		return sorted[max(0, min(i, len(sorted)-1))]
	}
	ms := func(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/100) / 10 }
	return LatencyFigures{Orders: len(ds), P50Millis: ms(rank(0.50)), P99Millis: ms(rank(0.99)), MaxMillis: ms(sorted[len(sorted)-1])}
}

// IdleFigures are ARC's requests while nothing changes.
type IdleFigures struct {
	Seconds      float64        `json:"seconds"`
	ResyncPeriod string         `json:"resyncPeriod"`
	Writes       int            `json:"writes"`
	Requests     []RequestCount `json:"requests"`
}

// Sample is one measurement at a time since the run's reference point.
type Sample struct {
	T float64 `json:"t"`
	V float64 `json:"v"`
}

// seconds between two instants, rounded to milliseconds; 0 when either is unset.
func seconds(from, to time.Time) float64 {
	if from.IsZero() || to.IsZero() {
		return 0
	}
	return math.Round(to.Sub(from).Seconds()*1000) / 1000
}

// ratio is a/b rounded to two decimals, 0 when b is 0.
func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return math.Round(a/b*100) / 100
}

// perArtifact is n/artifacts rounded to two decimals.
func perArtifact(n, artifacts int) float64 {
	if artifacts <= 0 {
		return 0
	}
	return math.Round(float64(n)/float64(artifacts)*100) / 100
}

// latest is the latest of the times (zero if none); ok is false when any is
// zero, i.e. not every object was seen.
func latest(ts []time.Time) (t time.Time, ok bool) {
	ok = len(ts) > 0
	for _, x := range ts {
		if x.IsZero() {
			ok = false
			continue
		}
		if x.After(t) {
			t = x
		}
	}
	return t, ok
}

// cumulative turns event times into a step series of "objects so far" over
// seconds since ref, sorted by time.
func cumulative(ts []time.Time, ref time.Time) []Sample {
	xs := make([]float64, 0, len(ts))
	for _, t := range ts {
		if !t.IsZero() {
			xs = append(xs, t.Sub(ref).Seconds())
		}
	}
	sort.Float64s(xs)
	out := make([]Sample, len(xs))
	for i, x := range xs {
		out[i] = Sample{T: x, V: float64(i + 1)}
	}
	return out
}

// procStat is what /proc/<pid>/status and /proc/<pid>/stat tell about a process.
type procStat struct {
	procMemory
	CPUSeconds float64
}

// procMemory is a process's resident memory from /proc/<pid>/status, in
// KiB: VmRSS and its high-water mark VmHWM, and VmRSS's two parts that
// matter here. RssFile is pages of mapped files, for a Go program almost all
// its own binary: clean, shared with every process running the same file,
// and reclaimable by the kernel. RssAnon is the memory the program made:
// the Go heap, stacks and the runtime's own. The kernel keeps a high-water
// mark of the sum only.
type procMemory struct {
	RSSKiB, HWMKiB   int64
	AnonKiB, FileKiB int64
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat;
// it is 100 on every Linux architecture Go runs on.
const clockTicks = 100

// parseProcStatus reads VmRSS, VmHWM, RssAnon and RssFile (kB) from
// /proc/<pid>/status.
func parseProcStatus(s string) (m procMemory, err error) {
	into := map[string]*int64{"VmRSS": &m.RSSKiB, "VmHWM": &m.HWMKiB, "RssAnon": &m.AnonKiB, "RssFile": &m.FileKiB}
	for _, line := range strings.Split(s, "\n") {
		name, val, ok := strings.Cut(line, ":")
		dst, known := into[name]
		if !ok || !known {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		if *dst, err = strconv.ParseInt(fields[0], 10, 64); err != nil {
			return procMemory{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	if m.HWMKiB == 0 {
		return procMemory{}, fmt.Errorf("no VmHWM in /proc/<pid>/status")
	}
	return m, nil
}

// parseProcStat returns utime+stime in seconds from /proc/<pid>/stat. The
// command name (field 2) is in parentheses and may hold spaces, so fields
// are counted after the last ')': state is field 3, utime 14, stime 15.
func parseProcStat(s string) (float64, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/<pid>/stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed /proc/<pid>/stat: %d fields after the name", len(f))
	}
	utime, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, err
	}
	stime, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, err
	}
	return float64(utime+stime) / clockTicks, nil
}

// readProc samples a running process.
func readProc(pid int) (procStat, error) {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procStat{}, err
	}
	mem, err := parseProcStatus(string(st))
	if err != nil {
		return procStat{}, err
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	cpu, err := parseProcStat(string(stat))
	if err != nil {
		return procStat{}, err
	}
	return procStat{procMemory: mem, CPUSeconds: cpu}, nil
}

func mib(kib int64) float64 { return math.Round(float64(kib)/1024*10) / 10 }

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// printTable writes the human-readable summary of r.
func printTable(w io.Writer, r *Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format+"\n", a...) }
	p("ARC scale benchmark\t%s: %d Orders x %d artifacts = %d artifacts in %d namespaces, %s", r.Scale, r.Orders, r.ArtifactsPerOrder, r.Artifacts, r.Namespaces, r.Mode)
	p("controller flags\t%s", strings.Join(r.Controller.Flags, " "))
	if len(r.Controller.Env) > 0 {
		p("controller environment (added)\t%s", strings.Join(r.Controller.Env, " "))
	}
	p("load average at start\t%s", r.LoadAverage)
	p("")
	p("FIGURE\tVALUE\tGOAL")
	p("ARC / unthrottled baseline (time until every Workflow exists), median of %d rounds\t%.2f\t<= 1.2", len(r.Rounds), r.UnthrottledRatioMedian)
	for _, rf := range r.Rounds {
		p("  round %d (%s first): ARC %.2f s / unthrottled %.2f s (kube-apiserver CPU %.1f s / %.1f s)\t%.2f\t",
			rf.Round, rf.First, rf.ARCSeconds, rf.UnthrottledSeconds, rf.ARCAPIServerCPUSeconds, rf.UnthrottledAPIServerCPUSeconds, rf.Ratio)
	}
	p("  round 1: unthrottled baseline (no rate limit, %d in flight): first create -> every Workflow exists\t%.2f s\t", r.Unthrottled.InFlight, r.Unthrottled.WorkflowsExistSeconds)
	p("  etcd before each side\t%s\t", storageSummary(r.StorageResets))
	p("ARC / baseline at ARC's QPS, burst and workers\t%.2f\t1.0", r.Ratio)
	p("  ARC: last Order applied -> every ArtifactWorkflow exists\t%.2f s\t", r.ARC.AWsExistSeconds)
	p("  ARC: last Order applied -> every Workflow exists\t%.2f s\t", r.ARC.WorkflowsExistSeconds)
	p("  baseline: first create -> every ArtifactWorkflow exists\t%.2f s\t", r.Baseline.AWsExistSeconds)
	p("  baseline: first create -> every Workflow exists\t%.2f s\t", r.Baseline.WorkflowsExistSeconds)
	p("ARC: applying the Orders took\t%.2f s\t", r.ARC.ApplySeconds)
	if r.ARC.RunningMirroredSeconds > 0 {
		p("ARC: last Workflow Running -> every Order reports all running\t%.2f s\t", r.ARC.RunningMirroredSeconds)
	}
	p("ARC: last Workflow finished -> every Order Succeeded\t%.2f s\t", r.ARC.OrdersSucceededSeconds)
	p("ARC: every Order Succeeded -> no more writes (settle)\t%.2f s\t", r.ARC.SettleSeconds)
	p("ARC: writes per artifact (whole life)\t%.2f\t<= 5", r.WritesPerArtifact)
	phases := []string{"create", "running", "finish"}
	for _, ph := range phases {
		if v, ok := r.WritesPerArtifactByPhase[ph]; ok {
			goal := ""
			if ph == "create" {
				goal = "<= 3.2"
			}
			p("  %s\t%.2f\t%s", ph, v, goal)
		}
	}
	p("ARC: writes in the idle window (%.0f s, resync %s)\t%d\t0", r.Idle.Seconds, r.Idle.ResyncPeriod, r.Idle.Writes)
	p("ARC: peak RSS (VmHWM)\t%.1f MiB\t<= 100 MiB at 10,000 artifacts", r.ARC.PeakRSSMiB)
	p("  highest sampled: anonymous (RssAnon) / the binary's mapped pages (RssFile)\t%.1f MiB / %.1f MiB\t", r.ARC.PeakRSSAnonMiB, r.ARC.PeakRSSFileMiB)
	p("  RSS after caches synced, before any Order (of it RssFile)\t%.1f MiB (%.1f MiB)\t", r.ARC.StartupRSSMiB, r.ARC.StartupRSSFileMiB)
	if r.Artifacts > 0 {
		p("  (peak - startup) per 1000 artifacts\t%.1f MiB\t", (r.ARC.PeakRSSMiB-r.ARC.StartupRSSMiB)*1000/float64(r.Artifacts))
	}
	p("ARC: CPU seconds (caches synced -> settled)\t%.2f s\t", r.ARC.CPUSeconds)
	p("  per 1000 artifacts\t%.2f s\t", r.ARC.CPUSeconds*1000/math.Max(1, float64(r.Artifacts)))
	p("  startup / idle window\t%.2f s / %.2f s\t", r.ARC.StartupCPUSeconds, r.ARC.IdleCPUSeconds)
	p("kube-apiserver CPU: ARC until Workflows exist / baseline / unthrottled\t%.1f s / %.1f s / %.1f s\t", r.ARC.APIServerCPUSeconds, r.Baseline.APIServerCPUSeconds, r.Unthrottled.APIServerCPUSeconds)
	p("  arc-controller's own CPU until Workflows exist\t%.1f s\t", r.ARC.CreateCPUSeconds)
	if r.Latency.Orders > 0 {
		p("latency Order -> Workflow, %d one-artifact Orders one at a time: p99\t%.1f ms\t<= 100 ms", r.Latency.Orders, r.Latency.P99Millis)
		p("  p50 / max\t%.1f ms / %.1f ms\t", r.Latency.P50Millis, r.Latency.MaxMillis)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nARC's API requests over the whole run (audit log, user %s, ResponseComplete):\n", r.AuditUser)
	printRequests(w, r.Requests)
	if create := r.RequestsByPhase["create"]; len(create) > 0 {
		fmt.Fprintf(w, "\nARC's writes until every Workflow existed (the time the ratio compares):\n")
		var writes []RequestCount
		for _, c := range create {
			if c.Write {
				writes = append(writes, c)
			}
		}
		printRequests(w, writes)
	}
	if len(r.Idle.Requests) > 0 {
		fmt.Fprintf(w, "\nARC's API requests in the idle window:\n")
		printRequests(w, r.Idle.Requests)
	}
}

func printRequests(w io.Writer, counts []RequestCount) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "VERB\tRESOURCE\tCOUNT\tFAILED\tWRITE\t")
	total := 0
	for _, c := range counts {
		wr := ""
		if c.Write {
			wr = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t\n", c.Verb, c.Resource, c.Count, c.Failed, wr)
		total += c.Count
	}
	fmt.Fprintf(tw, "total\t\t%d\t\t\t\n", total)
	tw.Flush()
}

// storageSummary says in a line what the resets of etcd's storage found and
// left: the database's size before and after, smallest and largest.
func storageSummary(resets []StorageReset) string {
	if len(resets) == 0 {
		return "as the cluster was (--reset-storage=false)"
	}
	before, after := make([]float64, len(resets)), make([]float64, len(resets))
	for i, r := range resets {
		before[i], after[i] = r.DBMiBBefore, r.DBMiBAfter
	}
	return fmt.Sprintf("compacted and defragmented before each of %d sides: database %s MiB before, %s MiB after",
		len(resets), span(before), span(after))
}

// span is "a" when every value is a, "a-b" from the smallest to the largest.
func span(xs []float64) string {
	lo, hi := slices.Min(xs), slices.Max(xs)
	if lo == hi {
		return strconv.FormatFloat(lo, 'f', 1, 64)
	}
	return strconv.FormatFloat(lo, 'f', 1, 64) + "-" + strconv.FormatFloat(hi, 'f', 1, 64)
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ChaosResult is everything one run of the fault harness found; it is
// written as JSON to .local/chaos/ and printed as a table.
type ChaosResult struct {
	Preset            string    `json:"preset"`
	Seed              int64     `json:"seed"`
	StartedAt         time.Time `json:"startedAt"`
	Orders            int       `json:"orders"`
	ArtifactsPerOrder int       `json:"artifactsPerOrder"`
	Artifacts         int       `json:"artifacts"`
	Namespaces        int       `json:"namespaces"`
	FailingArtifacts  int       `json:"failingArtifacts"`
	LoadAverage       string    `json:"loadAverageAtStart"`
	APIServerArgs     string    `json:"apiServerArgs"`
	// ControllerArgs are the flags every replica ran with; LeaderElection
	// those the two replicas of the second phase added.
	ControllerArgs []string `json:"controllerArgs"`
	// ControllerEnv is what every replica had added to its environment.
	ControllerEnv  []string `json:"controllerEnv,omitempty"`
	LeaderElection []string `json:"leaderElection"`

	Plan      []plannedFault  `json:"plan"`
	Faults    []FaultRecord   `json:"faults"`
	Processes []ProcessRecord `json:"processes"`
	// UnexpectedExits counts processes that exited without the harness
	// asking (a lost Lease, an API server down at start-up); they were
	// restarted as a kubelet would.
	UnexpectedExits int `json:"unexpectedExits"`

	// LastFaultSeconds: from the start of the fault window until the last
	// fault was over.
	LastFaultSeconds float64 `json:"lastFaultSeconds"`
	Converged        bool    `json:"converged"`
	// ConvergenceSeconds: from the last fault until the checks first found
	// nothing wrong (simulated Argo's delays included).
	ConvergenceSeconds float64 `json:"convergenceSeconds"`
	// LastAppliedToConvergedSeconds: from the last Order created until
	// convergence (the last Orders may arrive after the last fault).
	LastAppliedToConvergedSeconds float64 `json:"lastAppliedToConvergedSeconds"`
	// DroppedEvents and GraceOver count the lines in which a process
	// stopping with TERM said it dropped an event (its event broadcaster
	// had stopped) or cancelled syncs when the grace period was over: a
	// drain cut short.
	DroppedEvents int `json:"droppedEventLogLines"`
	GraceOver     int `json:"gracePeriodOverLogLines"`
	// Problems are what the final check found (at most 50).
	Problems []problem `json:"problems,omitempty"`

	// Requests are ARC's API requests from its first start until
	// convergence (or the convergence deadline), by verb and resource.
	Requests []RequestCount `json:"requests"`
	// LeaderElectionRequests are those of them the leader election made
	// (Lease reads and renewals); every other figure leaves them out.
	LeaderElectionRequests int     `json:"leaderElectionRequests"`
	RequestsTotal          int     `json:"requestsTotal"`
	RequestsPerArtifact    float64 `json:"requestsPerArtifact"`
	WritesPerArtifact      float64 `json:"writesPerArtifact"`
	// Codes are the failed requests of that span by status code,
	// CodesAfter those from convergence until the end of the quiet window.
	Codes      CodeCounts `json:"codes"`
	CodesAfter CodeCounts `json:"codesAfterConvergence"`
	Relists    Relists    `json:"relists"`
	// WatchExpiries counts the lines in which ARC's client-go said a watch
	// could not resume (too old resource version): compaction at work.
	WatchExpiries int `json:"watchExpiryLogLines"`
	// HotAfter is the object with the most requests in any 10 s from
	// convergence to the end of the quiet window; HotDuring the same for
	// the run before it (for information: retries under faults are normal).
	HotAfter  HotObject `json:"hotObjectAfterConvergence"`
	HotDuring HotObject `json:"hotObjectDuringFaults"`
	Settled   bool      `json:"settled"`
	// QuietWrites are ARC's writes in the quiet window, QuietRequests all
	// its requests there.
	QuietSeconds  float64        `json:"quietSeconds"`
	QuietWrites   int            `json:"quietWrites"`
	QuietRequests []RequestCount `json:"quietRequests,omitempty"`

	PlayerErrors       int      `json:"simulatedArgoErrors"`
	PlayerLastError    string   `json:"simulatedArgoLastError,omitempty"`
	RecreatedWorkflows []string `json:"recreatedWorkflows,omitempty"`

	Checks      []Check `json:"checks"`
	Passed      bool    `json:"passed"`
	WallSeconds float64 `json:"wallSeconds"`
	AuditUser   string  `json:"auditUser"`
	AuditBad    int     `json:"auditBadLines,omitempty"`
}

// Check is one verdict of the run.
type Check struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Skipped bool   `json:"skipped,omitempty"`
	Detail  string `json:"detail"`
}

// failedChecks names the checks that failed.
func (r *ChaosResult) failedChecks() []string {
	var out []string
	for _, c := range r.Checks {
		if !c.OK && !c.Skipped {
			out = append(out, c.Name)
		}
	}
	return out
}

// report gathers the figures of the run and judges it.
func (r *chaosRun) report() *ChaosResult {
	c := r.c
	res := &ChaosResult{
		Preset: c.preset(), Seed: c.seed, StartedAt: r.wallStart.UTC(),
		Orders: c.orders, ArtifactsPerOrder: c.artifacts, Artifacts: c.orders * c.artifacts, Namespaces: c.namespaces,
		LoadAverage: loadAverage(), APIServerArgs: c.profile().apiserverArgs,
		ControllerArgs: append(c.controllerFlags(), fmt.Sprintf("-v=%d", c.verbosity)), ControllerEnv: c.controllerEnv, LeaderElection: c.leaderElectionFlags(),
		Plan: r.plan, Faults: r.faults, Processes: r.fleet.records(),
		LastFaultSeconds: seconds(r.t0, r.lastFault), Converged: r.converged, Settled: r.settledOK,
		AuditUser: arcUser,
	}
	for _, t := range r.truth {
		res.FailingArtifacts += t.failed
	}
	res.UnexpectedExits = countEnds(res.Processes, "exited on its own")
	if r.converged {
		res.ConvergenceSeconds = seconds(r.lastFault, r.convergedAt)
		res.LastAppliedToConvergedSeconds = seconds(r.lastApplied, r.convergedAt)
	}
	res.Problems = r.final[:min(50, len(r.final))]
	r.addAuditFigures(res)
	res.PlayerErrors, res.PlayerLastError, res.RecreatedWorkflows = r.player.report()
	for _, p := range res.Processes {
		// client-go's reflector at -v=4; the message is etcd's ("The
		// resourceVersion for the provided watch is too old") without the
		// watch cache, the cache's ("too old resource version") with it.
		log := filepath.Join(r.s.root, p.Log)
		res.WatchExpiries += countLines(log, `"Watch closed"`, "too old")
		res.DroppedEvents += countLines(log, "Unable to record event", "broadcaster already stopped")
		res.GraceOver += countLines(log, "Grace period over")
	}
	res.Checks = judge(res, r.final, c)
	res.Passed = len(res.failedChecks()) == 0
	res.WallSeconds = seconds(r.wallStart, time.Now())
	return res
}

// addAuditFigures reads ARC's requests from the audit log.
func (r *chaosRun) addAuditFigures(res *ChaosResult) {
	r.s.stopAudit()
	reqs, err := r.s.refreshAudit()
	if err != nil {
		logf("reading the audit log: %v", err)
	}
	res.AuditBad = r.s.audit.bad
	all := window(reqs, r.firstStart, r.after)
	res.Requests = countRequests(all)
	res.LeaderElectionRequests = len(all) - len(workRequests(all))
	// The figures below leave the Lease renewals out: they grow with time,
	// not with work, and would hide a loop on the run's objects.
	reqs = workRequests(reqs)
	run := window(reqs, r.firstStart, r.after)
	after := window(reqs, r.after, r.idleEnd)
	res.RequestsTotal = len(run)
	res.RequestsPerArtifact = perArtifact(len(run), res.Artifacts)
	res.WritesPerArtifact = perArtifact(countWrites(run), res.Artifacts)
	res.Codes, res.CodesAfter = countCodes(run), countCodes(after)
	res.Relists = countRelists(window(reqs, r.firstStart, r.idleEnd))
	res.HotAfter = hottestObject(after, 10*time.Second)
	res.HotDuring = hottestObject(run, 10*time.Second)
	quiet := window(reqs, r.idleStart, r.idleEnd)
	res.QuietSeconds = seconds(r.idleStart, r.idleEnd)
	res.QuietWrites = countWrites(quiet)
	res.QuietRequests = countRequests(quiet)
}

// judge turns the figures into checks; each can fail.
func judge(res *ChaosResult, final []problem, c *chaosConfig) []Check {
	byKind := map[string][]problem{}
	for _, p := range final {
		byKind[p.Kind] = append(byKind[p.Kind], p)
	}
	pick := func(kinds ...string) []problem {
		var out []problem
		for _, k := range kinds {
			out = append(out, byKind[k]...)
		}
		return out
	}
	var checks []Check
	add := func(name string, ok bool, detail string) {
		checks = append(checks, Check{Name: name, OK: ok, Detail: detail})
	}
	addProblems := func(name, good string, ps []problem) {
		if len(ps) == 0 {
			add(name, true, good)
			return
		}
		add(name, false, fmt.Sprintf("%d: %s", len(ps), firstProblems(ps, 3)))
	}

	okFaults, planned := 0, len(res.Plan)
	var bad []string
	for _, f := range res.Faults {
		if f.OK {
			okFaults++
		} else {
			bad = append(bad, fmt.Sprintf("%s at +%.0f s: %s", f.Kind, f.StartedSeconds, f.Detail))
		}
	}
	add("faults carried out", okFaults == planned, fmt.Sprintf("%d of %d %s", okFaults, planned, joinOr(bad, "")))
	checks = append(checks, takeoverCheck(res.Faults))
	add("429s from the in-flight limit", res.Codes.TooMany429 > 0,
		fmt.Sprintf("%d requests of ARC answered 429 (--max-requests-inflight=%d, --max-mutating-requests-inflight=%d)", res.Codes.TooMany429, c.maxInflight, c.maxMutatingInflight))
	// A relist alone could come from any broken watch (a starting API
	// server answers 403 until its authorizer is ready); the expiries and
	// 410s show that compaction expired watches.
	add("watches expired, informers relisted", res.Relists.Total > 0 && res.WatchExpiries+res.Codes.Gone410 > 0,
		fmt.Sprintf("%d lists beyond each process's first per resource %v; %d watch expiries in ARC's logs (-v=%d), %d answers 410",
			res.Relists.Total, res.Relists.ByResource, res.WatchExpiries, c.verbosity, res.Codes.Gone410))
	if res.Converged {
		add("converged", true, fmt.Sprintf("%.1f s after the last fault", res.ConvergenceSeconds))
	} else {
		add("converged", false, fmt.Sprintf("not within %s of the last fault", c.convergeTimeout))
	}
	addProblems("one Workflow per ArtifactWorkflow, none orphaned or duplicated", "every artifact has exactly one of each",
		pick(problemAWMissing, problemAWDuplicate, problemAWOrphan, problemWFMissing, problemWFDuplicate, problemWFOrphan))
	add("no Workflow created twice", len(res.RecreatedWorkflows) == 0, fmt.Sprintf("%d Workflows came back with a new UID %s", len(res.RecreatedWorkflows), joinOr(res.RecreatedWorkflows, "")))
	addProblems("Orders in their final phase", fmt.Sprintf("%d Failed as seeded, the rest Succeeded", res.FailingArtifacts),
		pick(problemOrderMissing, problemOrderPhase))
	addProblems("Order counters equal the truth", "total/succeeded/failed/running/pending match the ArtifactWorkflows",
		pick(problemOrderCounters, problemOrderEntries))
	addProblems("ArtifactWorkflows mirror their Workflows", "every phase mirrored", pick(problemAWPhase, problemWFUnfinished))
	add("drains complete", res.DroppedEvents == 0 && res.GraceOver == 0,
		fmt.Sprintf("%d events dropped by a stopping process, %d grace periods over (%d processes stopped with TERM)",
			res.DroppedEvents, res.GraceOver, countEnds(res.Processes, "stopped")))
	add("quiet after convergence", res.Settled && res.QuietWrites == 0,
		fmt.Sprintf("settled: %v; %d writes in the %.0f s quiet window", res.Settled, res.QuietWrites, res.QuietSeconds))
	add("no hot loop after convergence", res.HotAfter.Requests <= c.hotLimit,
		fmt.Sprintf("at most %d requests about one object in 10 s (%s; limit %d); 409s %d, 429s %d after convergence",
			res.HotAfter.Requests, orNone(res.HotAfter.Object), c.hotLimit, res.CodesAfter.Conflict409, res.CodesAfter.TooMany429))
	return checks
}

// countEnds counts the processes whose end starts with prefix.
func countEnds(ps []ProcessRecord, prefix string) int {
	n := 0
	for _, p := range ps {
		if strings.HasPrefix(p.End, prefix) {
			n++
		}
	}
	return n
}

// takeoverCheck: after every leader kill the other replica took the Lease.
func takeoverCheck(faults []FaultRecord) Check {
	n, ok, worst := 0, 0, 0.0
	var bad []string
	for _, f := range faults {
		if f.Kind != faultLeaderKill {
			continue
		}
		n++
		if f.TookOver {
			ok++
			worst = max(worst, f.TakeoverSeconds)
		} else {
			bad = append(bad, f.Detail)
		}
	}
	if n == 0 {
		return Check{Name: "second replica takes over", OK: true, Skipped: true, Detail: "no leader kill planned"}
	}
	return Check{Name: "second replica takes over", OK: ok == n,
		Detail: fmt.Sprintf("%d of %d leader kills, slowest takeover %.1f s %s", ok, n, worst, joinOr(bad, ""))}
}

func joinOr(xs []string, none string) string {
	if len(xs) == 0 {
		return none
	}
	b, _ := json.Marshal(xs)
	return string(b)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// countLines counts the lines of a file that contain every one of subs.
func countLines(path string, subs ...string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n := 0
	for _, l := range bytes.Split(data, []byte("\n")) {
		all := true
		for _, s := range subs {
			all = all && bytes.Contains(l, []byte(s))
		}
		if all {
			n++
		}
	}
	return n
}

// write prints the table and writes the JSON.
func (r *chaosRun) write(res *ChaosResult) error {
	if err := os.MkdirAll(r.s.chaosDir(), 0o755); err != nil {
		return err
	}
	path := filepath.Join(r.s.chaosDir(), fmt.Sprintf("chaos-%s-seed%d-%s.json", res.Preset, res.Seed, time.Now().Format("20060102-150405")))
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Println()
	printChaos(os.Stdout, res)
	fmt.Println()
	logf("results: %s", rel(r.c.root, path))
	return nil
}

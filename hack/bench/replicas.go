package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The Lease arc-controller holds with --leader-elect (its default name, in
// the namespace manifests/rbac lets it write Leases in).
const (
	leaseNamespace = arcNamespace
	leaseName      = "arc-controller"
)

// fleet runs ARC's replicas for the fault harness the way a kubelet runs a
// Deployment's pods: each slot always has a process, and one that exits on
// its own (a lost Lease, an API server that did not answer at start-up) is
// started again, after a delay that doubles while the slot keeps crashing
// (a kubelet's crash-loop back-off, shorter). The harness kills and
// restarts them on its schedule; a slot it holds is not restarted behind
// its back.
type fleet struct {
	p          paths
	kubeconfig string
	args       []string // flags of every replica
	env        []string // added to every replica's environment
	logDir     string
	ctx        context.Context // ends the supervision

	mu    sync.Mutex
	seq   int
	slots map[string]*slot
	procs []*ProcessRecord
}

// slot is one replica position: "single" in the first phase, "a" and "b"
// in the second.
type slot struct {
	name string
	args []string // the slot's own flags (leader election)
	cur  *controllerProc
	rec  *ProcessRecord
	// held: the harness stopped or killed the process on purpose and
	// starts the next one itself.
	held bool
	// backoff is the delay before the next restart after an exit of its own.
	backoff time.Duration
}

// Crash-loop back-off of a slot: the first restart after minBackoff, each
// following one twice as late up to maxBackoff; a process that ran for
// stableAfter resets it.
const (
	minBackoff  = time.Second
	maxBackoff  = 8 * time.Second
	stableAfter = 30 * time.Second
)

// nextBackoff is the delay before restarting a process that ran for ran,
// given the slot's previous delay.
func nextBackoff(prev, ran time.Duration) time.Duration {
	if prev == 0 || ran >= stableAfter {
		return minBackoff
	}
	return min(2*prev, maxBackoff)
}

// ProcessRecord is the life of one arc-controller process.
type ProcessRecord struct {
	Name    string    `json:"name"`
	Slot    string    `json:"slot"`
	Pid     int       `json:"pid"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended,omitzero"`
	// End says how it ended: killed by the harness, stopped at a phase
	// change or at the end, or exited on its own (with its last log line).
	End      string `json:"end,omitempty"`
	Identity string `json:"leaseIdentity,omitempty"`
	Log      string `json:"log"`
}

func newFleet(ctx context.Context, p paths, kubeconfig string, args, env []string) (*fleet, error) {
	f := &fleet{p: p, kubeconfig: kubeconfig, args: args, env: env, logDir: p.local("logs", "chaos"),
		ctx: ctx, slots: map[string]*slot{}}
	for _, dir := range []string{f.logDir, p.chaosPidDir()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	// The logs of an earlier run would be mistaken for this one's.
	old, _ := filepath.Glob(filepath.Join(f.logDir, "arc-controller.p*.log"))
	for _, o := range old {
		_ = os.Remove(o)
	}
	return f, nil
}

// addSlot declares a slot with its own flags; start starts its process.
func (f *fleet) addSlot(name string, args ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slots[name] = &slot{name: name, args: args, held: true}
}

// start starts a new process in the slot and supervises it.
func (f *fleet) start(name string) (*ProcessRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.slots[name]
	f.seq++
	proc := fmt.Sprintf("arc-controller.p%02d", f.seq)
	c, err := f.p.launchController(f.kubeconfig, controllerSpec{
		name:    proc,
		logPath: filepath.Join(f.logDir, proc+".log"),
		pidFile: filepath.Join(f.p.chaosPidDir(), proc+".pid"),
		args:    append(append([]string{}, f.args...), s.args...),
		env:     f.env,
	})
	if err != nil {
		return nil, fmt.Errorf("starting %s in slot %s: %w", proc, name, err)
	}
	rec := &ProcessRecord{Name: proc, Slot: name, Pid: c.pid(), Started: time.Now(), Log: rel(f.p.root, c.logPath)}
	f.procs = append(f.procs, rec)
	s.cur, s.rec, s.held = c, rec, false
	go f.supervise(s, c, rec)
	return rec, nil
}

// current is the slot's process (nil before its first start).
func (f *fleet) current(name string) *controllerProc {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.slots[name].cur
}

// supervise restarts the slot when its process exits without the harness
// asking for it.
func (f *fleet) supervise(s *slot, c *controllerProc, rec *ProcessRecord) {
	<-c.exited
	f.mu.Lock()
	unexpected := s.cur == c && !s.held
	var delay time.Duration
	if unexpected {
		rec.Ended = time.Now()
		rec.End = fmt.Sprintf("exited on its own (%v): %s", c.exitErr, lastLine(c.logPath))
		s.backoff = nextBackoff(s.backoff, rec.Ended.Sub(rec.Started))
		delay = s.backoff
		logf("%s (slot %s) exited on its own (%v); restarting it in %s", rec.Name, s.name, c.exitErr, delay)
	}
	f.mu.Unlock()
	if !unexpected {
		return
	}
	select {
	case <-f.ctx.Done():
		return
	case <-time.After(delay):
	}
	f.mu.Lock()
	again := s.cur == c && !s.held
	f.mu.Unlock()
	if again {
		if _, err := f.start(s.name); err != nil {
			logf("restarting slot %s: %v", s.name, err)
		}
	}
}

// end stops the slot's process with SIGKILL (crash) or TERM and waits
// until it is gone; the slot stays empty until start. It returns the
// record of the process it ended (nil if there was none).
func (f *fleet) end(name string, crash bool) *ProcessRecord {
	f.mu.Lock()
	s := f.slots[name]
	s.held = true
	c, rec := s.cur, s.rec
	f.mu.Unlock()
	if c == nil {
		return nil
	}
	how := "stopped (TERM)"
	if crash {
		how = "SIGKILL by the harness"
		c.kill()
	} else {
		c.stop()
	}
	f.mu.Lock()
	if rec.End == "" {
		rec.Ended, rec.End = time.Now(), how
	}
	f.mu.Unlock()
	return rec
}

// stopAll stops every process (TERM) at the end of the run.
func (f *fleet) stopAll() {
	f.mu.Lock()
	names := sortedKeys(f.slots)
	f.mu.Unlock()
	for _, n := range names {
		f.end(n, false)
	}
}

// startedBefore names the processes started before t.
func (f *fleet) startedBefore(t time.Time) map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]bool{}
	for _, r := range f.procs {
		if r.Started.Before(t) {
			out[r.Name] = true
		}
	}
	return out
}

// records returns a copy of every process's record, in start order.
func (f *fleet) records() []ProcessRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]ProcessRecord, len(f.procs))
	for i, r := range f.procs {
		out[i] = *r
	}
	return out
}

// identityRE finds the Lease identity arc-controller logs when it starts
// waiting for the Lease.
var identityRE = regexp.MustCompile(`"Waiting for the leader election Lease".*identity="([^"]+)"`)

// identityOf returns the Lease identity of the slot's current process, read
// from its log ("" until it logged it).
func (f *fleet) identityOf(name string) (string, *ProcessRecord) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.slots[name]
	if s.cur == nil || s.held || !s.cur.alive() {
		return "", nil
	}
	if s.rec.Identity == "" {
		data, _ := os.ReadFile(s.cur.logPath)
		if m := identityRE.FindSubmatch(data); m != nil {
			s.rec.Identity = string(m[1])
		}
	}
	return s.rec.Identity, s.rec
}

// leader returns the slot whose live process holds an unexpired Lease, or
// "" if none does.
func (f *fleet) leader(ctx context.Context, kube kubernetes.Interface) (string, error) {
	lease, err := kube.CoordinationV1().Leases(leaseNamespace).Get(ctx, leaseName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	sp := lease.Spec
	if sp.HolderIdentity == nil || sp.RenewTime == nil || sp.LeaseDurationSeconds == nil {
		return "", nil
	}
	if time.Since(sp.RenewTime.Time) > time.Duration(*sp.LeaseDurationSeconds)*time.Second {
		return "", nil
	}
	f.mu.Lock()
	names := sortedKeys(f.slots)
	f.mu.Unlock()
	for _, n := range names {
		if id, _ := f.identityOf(n); id != "" && id == *sp.HolderIdentity {
			return n, nil
		}
	}
	return "", nil
}

// waitLeader polls until one of the slots leads, or timeout passes (then
// it returns "" and no error). want, if not empty, is the only slot that
// counts.
func (f *fleet) waitLeader(ctx context.Context, kube kubernetes.Interface, want string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		// The API server may be down for a moment: an error is one more poll.
		n, err := f.leader(ctx, kube)
		if err == nil && n != "" && (want == "" || n == want) {
			return n, nil
		}
		if time.Now().After(deadline) {
			return "", nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// lastLine is the last non-empty line of a file, cut to 300 bytes.
func lastLine(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	l := lines[len(lines)-1]
	if len(l) > 300 {
		l = l[:300] + "..."
	}
	return l
}

package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
)

// FaultRecord is what happened when the harness carried out one fault.
type FaultRecord struct {
	Kind  faultKind `json:"kind"`
	Crash bool      `json:"crash,omitempty"`
	// PlannedSeconds and StartedSeconds are offsets from the start of the
	// fault window: a fault starts late when the one before it ended less
	// than the spacing before its time (faults run one after the other).
	PlannedSeconds float64 `json:"plannedSeconds"`
	StartedSeconds float64 `json:"startedSeconds"`
	// Seconds is how long it took until the fault was over: the killed
	// replica started again, the component ready again, the other replica
	// leading.
	Seconds float64 `json:"seconds"`
	// Target is the process or component it hit.
	Target string `json:"target,omitempty"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
	// TookOver: for a leader kill, the other replica held the Lease in
	// time; TakeoverSeconds how long after the kill.
	TookOver        bool    `json:"tookOver,omitempty"`
	TakeoverSeconds float64 `json:"takeoverSeconds,omitempty"`

	ended time.Time
}

// faultRunner carries out a fault schedule.
type faultRunner struct {
	s     *session
	fleet *fleet
	kube  kubernetes.Interface
	// takeoverTimeout bounds how long the other replica may take to lead
	// after the leader was killed.
	takeoverTimeout time.Duration
	// spacing is the least time between the end of one fault and the start
	// of the next: a fault that took long (an API server restart) delays
	// the following ones rather than letting them all fire at once.
	spacing time.Duration
	// relistTimeout bounds how long the schedule waits after a restart for
	// an informer to list again; relistSeen ends that waiting once one did.
	relistTimeout time.Duration
	relistSeen    bool
}

// awaitRelist holds the schedule after a restart that began at since until
// the audit log shows an informer of a process that ran before it listing
// again, or relistTimeout passes. A process killed right after the restart
// would take its relist with it, client-go's reflector waits up to 30 s
// (its back-off, grown while the API server was away) before it lists
// again, and a run must show that informers relist. Once one did, later
// restarts do not wait. It returns what it saw, for the fault's record.
func (r *faultRunner) awaitRelist(ctx context.Context, since time.Time) string {
	if r.relistSeen {
		return ""
	}
	old := r.fleet.startedBefore(since)
	deadline := time.Now().Add(r.relistTimeout)
	for {
		reqs, err := r.s.refreshAudit()
		if err == nil && relistedSince(reqs, since, old) {
			r.relistSeen = true
			return fmt.Sprintf("an informer relisted %.1f s after the restart began", time.Since(since).Seconds())
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Sprintf("no informer relisted within %s of the restart", r.relistTimeout)
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// run carries out the schedule from t0 on, one fault after the other, and
// returns what happened.
func (r *faultRunner) run(ctx context.Context, t0 time.Time, plan []plannedFault) ([]FaultRecord, error) {
	var out []FaultRecord
	var prevEnd time.Time
	for i, f := range plan {
		at := t0.Add(f.At)
		if next := prevEnd.Add(r.spacing); f.Kind != faultTwoReplicas && next.After(at) {
			at = next
		}
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-time.After(time.Until(at)):
		}
		start := time.Now()
		rec := FaultRecord{Kind: f.Kind, Crash: f.Crash, PlannedSeconds: f.At.Seconds(), StartedSeconds: seconds(t0, start)}
		how := ""
		if f.Crash {
			how = " (SIGKILL)"
		}
		logf("fault %d of %d at +%.1f s: %s%s", i+1, len(plan), rec.StartedSeconds, f.Kind, how)
		err := r.carryOut(ctx, f, &rec)
		rec.ended = time.Now()
		prevEnd = rec.ended
		rec.Seconds = seconds(start, rec.ended)
		if (f.Kind == faultAPIServer || f.Kind == faultEtcd) && rec.OK {
			if seen := r.awaitRelist(ctx, start); seen != "" {
				rec.Detail = strings.TrimPrefix(rec.Detail+"; "+seen, "; ")
			}
		}
		if !rec.OK {
			logf("fault %d (%s) went wrong: %s", i+1, f.Kind, rec.Detail)
		} else if rec.Detail != "" {
			logf("fault %d (%s): %s", i+1, f.Kind, rec.Detail)
		}
		out = append(out, rec)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// carryOut does one fault and fills in its record; an error means the run
// cannot go on.
func (r *faultRunner) carryOut(ctx context.Context, f plannedFault, rec *FaultRecord) error {
	switch f.Kind {
	case faultKill:
		r.killSingle(rec)
	case faultLeaderKill:
		r.killLeader(ctx, rec)
	case faultAPIServer:
		return r.restart(ctx, "kube-apiserver", f.Crash, rec)
	case faultEtcd:
		return r.restart(ctx, "etcd", f.Crash, rec)
	case faultTwoReplicas:
		r.twoReplicas(ctx, rec)
	default:
		rec.Detail = fmt.Sprintf("unknown fault %q", f.Kind)
	}
	return nil
}

// killSingle kills the single replica and starts the next at once (a
// Deployment's pod without leader election).
func (r *faultRunner) killSingle(rec *FaultRecord) {
	if killed := r.fleet.end("single", true); killed != nil {
		rec.Target = killed.Name
	}
	next, err := r.fleet.start("single")
	if err != nil {
		rec.Detail = err.Error()
		return
	}
	rec.OK, rec.Detail = true, "started "+next.Name
}

// killLeader kills the replica holding the Lease and waits for the other
// replica to take it over; only then does the killed slot start again, so
// that the takeover is the other replica's.
func (r *faultRunner) killLeader(ctx context.Context, rec *FaultRecord) {
	leader, err := r.fleet.waitLeader(ctx, r.kube, "", r.takeoverTimeout)
	if err != nil || leader == "" {
		rec.Detail = fmt.Sprintf("no replica held the Lease within %s to be killed (%v)", r.takeoverTimeout, err)
		return
	}
	other := map[string]string{"a": "b", "b": "a"}[leader]
	if killed := r.fleet.end(leader, true); killed != nil {
		rec.Target = killed.Name
	}
	killedAt := time.Now()
	taker, err := r.fleet.waitLeader(ctx, r.kube, other, r.takeoverTimeout)
	rec.TakeoverSeconds = seconds(killedAt, time.Now())
	takerName := other
	if _, tr := r.fleet.identityOf(other); tr != nil {
		takerName = tr.Name
	}
	next, startErr := r.fleet.start(leader)
	// Carried out once the killed slot runs again; whether the other
	// replica took over is the takeover check's business.
	rec.OK = startErr == nil
	rec.TookOver = err == nil && taker != ""
	switch {
	case startErr != nil:
		rec.Detail = startErr.Error()
	case !rec.TookOver:
		rec.Detail = fmt.Sprintf("replica %s did not take the Lease over within %s after %s was killed (%v); started %s",
			other, r.takeoverTimeout, rec.Target, err, next.Name)
	default:
		rec.Detail = fmt.Sprintf("%s took over after %.1f s; started %s", takerName, rec.TakeoverSeconds, next.Name)
	}
}

// restartAttempts is how often the harness tries to restart a component:
// a cluster left with a dead etcd or API server makes the rest of the run
// meaningless, so a failed restart is tried again (without --kill), and a
// run whose cluster cannot be brought back ends.
const restartAttempts = 3

// errClusterLost ends a run whose cluster could not be restarted.
var errClusterLost = errors.New("the cluster could not be restarted")

// restart restarts a component of the cluster with hack/cluster.sh, which
// returns once the API server is ready again.
func (r *faultRunner) restart(ctx context.Context, component string, crash bool, rec *FaultRecord) error {
	rec.Target = component
	var failures []string
	for attempt := 1; attempt <= restartAttempts; attempt++ {
		args := []string{"restart"}
		if crash && attempt == 1 {
			args = append(args, "--kill")
		}
		err := runStreaming(r.s.clusterScript(ctx, nil, append(args, component)...))
		if err == nil {
			// Done, if not at the first attempt: the detail says why.
			rec.OK = true
			rec.Detail = strings.Join(failures, "; ")
			return nil
		}
		failures = append(failures, fmt.Sprintf("hack/cluster.sh %s %s: %v", strings.Join(args, " "), component, err))
		logf("restarting %s failed (attempt %d of %d): %v", component, attempt, restartAttempts, err)
	}
	rec.Detail = strings.Join(failures, "; ")
	return fmt.Errorf("%w: %s", errClusterLost, rec.Detail)
}

// twoReplicas ends the first phase: the single replica stops (TERM, as in
// a rolling update) and two replicas with leader election start.
func (r *faultRunner) twoReplicas(ctx context.Context, rec *FaultRecord) {
	r.fleet.end("single", false)
	for _, s := range []string{"a", "b"} {
		if _, err := r.fleet.start(s); err != nil {
			rec.Detail = err.Error()
			return
		}
	}
	leader, err := r.fleet.waitLeader(ctx, r.kube, "", r.takeoverTimeout)
	if err != nil || leader == "" {
		rec.Detail = fmt.Sprintf("neither replica took the Lease within %s (%v)", r.takeoverTimeout, err)
		return
	}
	_, lr := r.fleet.identityOf(leader)
	rec.OK, rec.Target, rec.Detail = true, lr.Name, fmt.Sprintf("%s (slot %s) leads", lr.Name, leader)
}

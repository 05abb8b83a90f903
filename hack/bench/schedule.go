package main

import (
	"fmt"
	"math/rand"
	"sort"
	"time"
)

// faultKind is what the fault harness does at one moment of its schedule.
type faultKind string

const (
	// faultKill: SIGKILL the one replica of the first phase, start it again.
	faultKill faultKind = "kill-arc"
	// faultLeaderKill: SIGKILL the replica holding the Lease in the second
	// phase; the other replica must take over before the killed one starts
	// again.
	faultLeaderKill faultKind = "kill-leader"
	// faultAPIServer and faultEtcd restart a component of the cluster
	// (hack/cluster.sh restart).
	faultAPIServer faultKind = "restart-kube-apiserver"
	faultEtcd      faultKind = "restart-etcd"
	// faultTwoReplicas is no fault but the switch between the phases: the
	// single replica stops (TERM), two with leader election start.
	faultTwoReplicas faultKind = "start-two-replicas"
)

// plannedFault is one entry of the schedule.
type plannedFault struct {
	// At is the offset from the start of the fault window.
	At   time.Duration `json:"at"`
	Kind faultKind     `json:"kind"`
	// Crash restarts a component with SIGKILL instead of TERM.
	Crash bool `json:"crash,omitempty"`
}

// planSpec is what the schedule must hold.
type planSpec struct {
	// singleWindow is the first phase (one replica, no leader election),
	// leaderWindow the second (two replicas with leader election).
	singleWindow, leaderWindow time.Duration
	kills, leaderKills         int
	apiserverRestarts          int
	etcdRestarts               int
	// gap is the least time between two faults of the first phase and
	// before its first; leaderGap the same for the second phase, where a
	// takeover needs the Lease to expire first.
	gap, leaderGap time.Duration
}

// planFaults draws the fault schedule from seed: kills at random moments
// of the first phase, leader kills at random moments of the second, and
// every component restart but the first in a phase chosen at random, at a
// random moment of it. Faults of one phase are at least the phase's gap apart. The same
// seed and spec give the same schedule.
func planFaults(seed int64, s planSpec) ([]plannedFault, error) {
	rng := rand.New(rand.NewSource(seed))
	var restarts []plannedFault
	for i := 0; i < s.apiserverRestarts; i++ {
		// Crashes and graceful restarts (an upgrade) alternate, a crash
		// first: it is the quicker (about 4 s against 24 s), which keeps a
		// short run with one restart short.
		restarts = append(restarts, plannedFault{Kind: faultAPIServer, Crash: i%2 == 0})
	}
	for i := 0; i < s.etcdRestarts; i++ {
		restarts = append(restarts, plannedFault{Kind: faultEtcd, Crash: true})
	}
	var single, leader []plannedFault
	for i := 0; i < s.kills; i++ {
		single = append(single, plannedFault{Kind: faultKill})
	}
	for i := 0; i < s.leaderKills; i++ {
		leader = append(leader, plannedFault{Kind: faultLeaderKill})
	}
	for i, r := range restarts {
		// The first API server restart is always in the first phase: there
		// the one replica lives through it (a leader loses its Lease when
		// the API server is down longer than the renew deadline, and a new
		// leader starts with fresh informers), so its informers must resume
		// their watches across the restart, after etcd compacted the
		// history they resume from.
		if i > 0 && s.leaderWindow > 0 && rng.Intn(2) == 1 {
			leader = append(leader, r)
		} else {
			single = append(single, r)
		}
	}
	if len(leader) > 0 && s.leaderWindow <= 0 {
		return nil, fmt.Errorf("%d leader kills need a leader window", s.leaderKills)
	}
	a, err := placeFaults(rng, single, 0, s.singleWindow, s.gap)
	if err != nil {
		return nil, fmt.Errorf("first phase: %w", err)
	}
	out := a
	if s.leaderWindow > 0 {
		out = append(out, plannedFault{At: s.singleWindow, Kind: faultTwoReplicas})
		b, err := placeFaults(rng, leader, s.singleWindow, s.leaderWindow, s.leaderGap)
		if err != nil {
			return nil, fmt.Errorf("second phase: %w", err)
		}
		out = append(out, b...)
	}
	return out, nil
}

// placeFaults shuffles faults and gives them random moments in
// [start+gap, start+window], at least gap apart: n points drawn uniformly
// from the window shrunk by the n gaps, sorted, then spread by one gap each.
func placeFaults(rng *rand.Rand, faults []plannedFault, start, window, gap time.Duration) ([]plannedFault, error) {
	n := len(faults)
	if n == 0 {
		return nil, nil
	}
	slack := window - time.Duration(n)*gap
	if slack < 0 {
		return nil, fmt.Errorf("%d faults at least %s apart need a window of %s, have %s", n, gap, time.Duration(n)*gap, window)
	}
	rng.Shuffle(n, func(i, j int) { faults[i], faults[j] = faults[j], faults[i] })
	offsets := make([]time.Duration, n)
	for i := range offsets {
		offsets[i] = time.Duration(rng.Int63n(int64(slack) + 1))
	}
	sort.Slice(offsets, func(i, j int) bool { return offsets[i] < offsets[j] })
	out := make([]plannedFault, n)
	for i, f := range faults {
		f.At = start + offsets[i] + time.Duration(i+1)*gap
		// Whole milliseconds: the schedule is printed and compared.
		f.At = f.At.Truncate(time.Millisecond)
		out[i] = f
	}
	return out, nil
}

// pickFailures chooses which artifacts simulated Argo fails: n distinct
// Orders (at most all of them), one random artifact each. The result maps
// an Order's index to the index of its failing artifact.
func pickFailures(seed int64, orders, artifacts, n int) map[int]int {
	rng := rand.New(rand.NewSource(seed ^ 0x5eed))
	out := map[int]int{}
	for _, i := range rng.Perm(orders)[:min(n, orders)] {
		out[i] = rng.Intn(artifacts)
	}
	return out
}

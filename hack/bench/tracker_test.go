package main

import (
	"testing"
	"time"
)

// The simulated Argo takes Workflows in the order they appeared, as Argo's
// FIFO queue does, not by name: an Order's Workflows start together.
func TestWorkflowKeysFollowTheOrderTheWorkflowsAppeared(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	trk := &tracker{wfs: map[string]*wfSeen{
		"bench-arc-0/zzz":   {first: t0},
		"bench-arc-1/aaa":   {first: t0.Add(2 * time.Second)},
		"bench-arc-0/mmm":   {first: t0.Add(time.Second)},
		"bench-arc-0/bbb":   {first: t0.Add(time.Second)}, // same moment: by name
		"bench-base-0/aaaa": {first: t0},                  // the other side
	}}
	got := trk.workflowKeys(nsPrefixARC)
	want := []string{"bench-arc-0/zzz", "bench-arc-0/bbb", "bench-arc-0/mmm", "bench-arc-1/aaa"}
	if len(got) != len(want) {
		t.Fatalf("workflowKeys = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("workflowKeys = %v, want %v", got, want)
		}
	}
}

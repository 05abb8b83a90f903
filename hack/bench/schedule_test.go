package main

import (
	"reflect"
	"testing"
	"time"
)

func fullSpec() planSpec {
	return planSpec{
		singleWindow: 150 * time.Second, leaderWindow: 210 * time.Second,
		kills: 20, leaderKills: 5, apiserverRestarts: 2, etcdRestarts: 1,
		gap: 4 * time.Second, leaderGap: 25 * time.Second,
	}
}

func TestPlanFaultsCountsAndPhases(t *testing.T) {
	s := fullSpec()
	for seed := int64(1); seed <= 50; seed++ {
		plan, err := planFaults(seed, s)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		n := map[faultKind]int{}
		crashes := map[faultKind]int{}
		for _, f := range plan {
			n[f.Kind]++
			if f.Crash {
				crashes[f.Kind]++
			}
			switch f.Kind {
			case faultKill:
				if f.At <= 0 || f.At > s.singleWindow {
					t.Errorf("seed %d: a kill at %s is outside the first phase", seed, f.At)
				}
			case faultLeaderKill:
				if f.At <= s.singleWindow || f.At > s.singleWindow+s.leaderWindow {
					t.Errorf("seed %d: a leader kill at %s is outside the second phase", seed, f.At)
				}
			case faultTwoReplicas:
				if f.At != s.singleWindow {
					t.Errorf("seed %d: the phase switch at %s, want %s", seed, f.At, s.singleWindow)
				}
			}
		}
		want := map[faultKind]int{faultKill: 20, faultLeaderKill: 5, faultAPIServer: 2, faultEtcd: 1, faultTwoReplicas: 1}
		if !reflect.DeepEqual(n, want) {
			t.Errorf("seed %d: kinds %v, want %v", seed, n, want)
		}
		// The first API server restart is in the first phase.
		for _, f := range plan {
			if f.Kind == faultAPIServer {
				if f.At > s.singleWindow {
					t.Errorf("seed %d: the first API server restart at %s, in the second phase", seed, f.At)
				}
				break
			}
		}
		// One crashing and one graceful API server restart; etcd crashes.
		if crashes[faultAPIServer] != 1 || crashes[faultEtcd] != 1 {
			t.Errorf("seed %d: crashes %v", seed, crashes)
		}
	}
}

func TestPlanFaultsGapsAndOrder(t *testing.T) {
	s := fullSpec()
	plan, err := planFaults(7, s)
	if err != nil {
		t.Fatal(err)
	}
	var prev plannedFault
	for i, f := range plan {
		if i == 0 {
			if f.At < s.gap {
				t.Errorf("the first fault at %s, before one gap (%s)", f.At, s.gap)
			}
			prev = f
			continue
		}
		if f.At < prev.At {
			t.Fatalf("not sorted: %s after %s", f.At, prev.At)
		}
		gap := s.gap
		if prev.At >= s.singleWindow {
			gap = s.leaderGap
		}
		if f.Kind != faultTwoReplicas && prev.Kind != faultTwoReplicas && f.At-prev.At < gap {
			t.Errorf("faults %d and %d only %s apart (gap %s)", i-1, i, f.At-prev.At, gap)
		}
		prev = f
	}
}

func TestPlanFaultsSeeded(t *testing.T) {
	a, _ := planFaults(42, fullSpec())
	b, _ := planFaults(42, fullSpec())
	c, _ := planFaults(43, fullSpec())
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed gave two schedules")
	}
	if reflect.DeepEqual(a, c) {
		t.Error("two seeds gave the same schedule")
	}
}

func TestPlanFaultsRejectsShortWindows(t *testing.T) {
	s := fullSpec()
	s.singleWindow = 20 * time.Second // 20 kills 4 s apart need 80 s
	if _, err := planFaults(1, s); err == nil {
		t.Error("a window too short for its faults must be refused")
	}
	s = fullSpec()
	s.leaderWindow = 0
	if _, err := planFaults(1, s); err == nil {
		t.Error("leader kills without a leader window must be refused")
	}
	s.leaderKills = 0
	plan, err := planFaults(1, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range plan {
		if f.Kind == faultTwoReplicas || f.At > s.singleWindow {
			t.Errorf("without a second phase: %+v", f)
		}
	}
}

func TestPickFailures(t *testing.T) {
	got := pickFailures(9, 100, 10, 5)
	if len(got) != 5 {
		t.Fatalf("%d failing Orders, want 5", len(got))
	}
	for i, j := range got {
		if i < 0 || i >= 100 || j < 0 || j >= 10 {
			t.Errorf("failure out of range: Order %d artifact %d", i, j)
		}
	}
	if !reflect.DeepEqual(got, pickFailures(9, 100, 10, 5)) {
		t.Error("the same seed chose other failures")
	}
	if n := len(pickFailures(9, 3, 10, 5)); n != 3 {
		t.Errorf("more failures than Orders: %d", n)
	}
	if n := len(pickFailures(9, 3, 10, 0)); n != 0 {
		t.Errorf("no failures asked, got %d", n)
	}
}

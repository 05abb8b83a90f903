package main

import (
	"bytes"
	"testing"
	"time"
)

// passingRun is a result every check passes.
func passingRun() (*ChaosResult, *chaosConfig) {
	c := &chaosConfig{maxInflight: 3, maxMutatingInflight: 2, hotLimit: 5, verbosity: 4, convergeTimeout: time.Minute}
	res := &ChaosResult{
		Preset: "short", Seed: 1, Orders: 1, ArtifactsPerOrder: 2, Artifacts: 2, FailingArtifacts: 1,
		Plan: []plannedFault{{Kind: faultKill}, {Kind: faultLeaderKill}},
		Faults: []FaultRecord{
			{Kind: faultKill, OK: true},
			{Kind: faultLeaderKill, OK: true, TookOver: true, TakeoverSeconds: 7},
		},
		Codes:     CodeCounts{TooMany429: 10},
		Relists:   Relists{Total: 2},
		Converged: true, ConvergenceSeconds: 3,
		WatchExpiries: 1, Settled: true,
	}
	return res, c
}

func failed(checks []Check) []string {
	var out []string
	for _, c := range checks {
		if !c.OK && !c.Skipped {
			out = append(out, c.Name)
		}
	}
	return out
}

func TestJudgePasses(t *testing.T) {
	res, c := passingRun()
	if f := failed(judge(res, nil, c)); len(f) != 0 {
		t.Errorf("a clean run fails %v", f)
	}
}

// Every check can fail, and for its own reason only.
func TestJudgeEveryCheckCanFail(t *testing.T) {
	cases := []struct {
		check string
		spoil func(r *ChaosResult) []problem
	}{
		{"faults carried out", func(r *ChaosResult) []problem {
			r.Faults[0].OK, r.Faults[0].Detail = false, "hack/cluster.sh restart failed"
			return nil
		}},
		{"second replica takes over", func(r *ChaosResult) []problem { r.Faults[1].TookOver = false; return nil }},
		{"429s from the in-flight limit", func(r *ChaosResult) []problem { r.Codes.TooMany429 = 0; return nil }},
		{"watches expired, informers relisted", func(r *ChaosResult) []problem { r.Relists.Total = 0; return nil }},
		{"watches expired, informers relisted", func(r *ChaosResult) []problem { r.WatchExpiries = 0; return nil }},
		{"converged", func(r *ChaosResult) []problem { r.Converged = false; return nil }},
		{"one Workflow per ArtifactWorkflow, none orphaned or duplicated", func(r *ChaosResult) []problem {
			return []problem{{Kind: problemWFOrphan, Object: "ns/w"}}
		}},
		{"no Workflow created twice", func(r *ChaosResult) []problem { r.RecreatedWorkflows = []string{"ns/w"}; return nil }},
		{"Orders in their final phase", func(r *ChaosResult) []problem {
			return []problem{{Kind: problemOrderPhase, Object: "ns/o"}}
		}},
		{"Order counters equal the truth", func(r *ChaosResult) []problem {
			return []problem{{Kind: problemOrderCounters, Object: "ns/o"}}
		}},
		{"ArtifactWorkflows mirror their Workflows", func(r *ChaosResult) []problem {
			return []problem{{Kind: problemAWPhase, Object: "ns/a"}}
		}},
		{"drains complete", func(r *ChaosResult) []problem { r.DroppedEvents = 1; return nil }},
		{"drains complete", func(r *ChaosResult) []problem { r.GraceOver = 1; return nil }},
		{"quiet after convergence", func(r *ChaosResult) []problem { r.QuietWrites = 1; return nil }},
		{"quiet after convergence", func(r *ChaosResult) []problem { r.Settled = false; return nil }},
		{"no hot loop after convergence", func(r *ChaosResult) []problem {
			r.HotAfter = HotObject{Object: "orders ns/o", Requests: 6}
			return nil
		}},
	}
	for _, tc := range cases {
		res, c := passingRun()
		final := tc.spoil(res)
		got := failed(judge(res, final, c))
		if len(got) != 1 || got[0] != tc.check {
			t.Errorf("spoiling %q fails %v", tc.check, got)
		}
	}
}

func TestTakeoverCheckSkippedWithoutLeaderKills(t *testing.T) {
	c := takeoverCheck([]FaultRecord{{Kind: faultKill, OK: true}})
	if !c.Skipped || !c.OK {
		t.Errorf("without leader kills: %+v", c)
	}
}

func TestPrintChaos(t *testing.T) {
	res, c := passingRun()
	res.Checks = judge(res, nil, c)
	res.Checks[0].OK = false
	var buf bytes.Buffer
	printChaos(&buf, res)
	wantInTable(t, buf.String(), "CHECK", "FAILED", "faults carried out", "last fault -> converged", "3.0 s", "kill-leader")
}

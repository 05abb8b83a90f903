package main

import (
	"fmt"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// world builds a converged snapshot: Orders of n artifacts, one
// ArtifactWorkflow and one finished Workflow each, the first artifact of
// the Orders in failing Failed.
func world(orders, n int, failing map[int]bool) (snapshot, map[string]orderTruth) {
	var s snapshot
	truth := map[string]orderTruth{}
	ctrl := true
	for i := 0; i < orders; i++ {
		o := &arcv1.Order{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprintf("o%d", i), UID: types.UID(fmt.Sprintf("uid-o%d", i)), Generation: 1}}
		o.Spec.Artifacts = make([]arcv1.OrderArtifact, n)
		o.Status = arcv1.OrderStatus{ObservedGeneration: 1, Phase: arcv1.OrderPhaseSucceeded, Total: int32(n), Succeeded: int32(n),
			ArtifactWorkflows: map[string]arcv1.OrderArtifactWorkflowStatus{}}
		t := orderTruth{artifacts: n}
		for j := 0; j < n; j++ {
			name := fmt.Sprintf("aw-%d-%d", i, j)
			phase := arcv1.WorkflowPhaseSucceeded
			if failing[i] && j == 0 {
				phase = arcv1.WorkflowPhaseFailed
			}
			aw := &arcv1.ArtifactWorkflow{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name),
				Labels:          map[string]string{arcv1.LabelArtifactHash: fmt.Sprintf("h%d-%d", i, j)},
				OwnerReferences: []metav1.OwnerReference{{Kind: "Order", Name: o.Name, UID: o.UID, Controller: &ctrl}}}}
			aw.Status.Phase = phase
			wf := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-wf-" + name),
				OwnerReferences: []metav1.OwnerReference{{Kind: "ArtifactWorkflow", Name: name, UID: aw.UID, Controller: &ctrl}}}}
			wf.Status.Phase = wfv1.WorkflowPhase(phase)
			o.Status.ArtifactWorkflows[fmt.Sprintf("h%d-%d", i, j)] = arcv1.OrderArtifactWorkflowStatus{Name: name, ArtifactIndex: int32(j), Phase: phase}
			s.aws, s.wfs = append(s.aws, aw), append(s.wfs, wf)
		}
		if failing[i] {
			t.failed = 1
			o.Status.Phase, o.Status.Succeeded, o.Status.Failed = arcv1.OrderPhaseFailed, int32(n-1), 1
		}
		s.orders = append(s.orders, o)
		truth[key("ns", o.Name)] = t
	}
	return s, truth
}

func kinds(ps []problem) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Kind)
	}
	return strings.Join(out, ",")
}

func TestCheckConvergenceConverged(t *testing.T) {
	s, truth := world(3, 4, map[int]bool{1: true})
	if ps := checkConvergence(s, truth); len(ps) != 0 {
		t.Errorf("a converged world has problems: %v", ps)
	}
}

// Every problem the harness must catch, one at a time.
func TestCheckConvergenceFindsProblems(t *testing.T) {
	ctrl := true
	cases := []struct {
		name  string
		spoil func(s *snapshot, truth map[string]orderTruth)
		want  string
	}{
		{"missing Order", func(s *snapshot, _ map[string]orderTruth) {
			s.orders = s.orders[1:]
			// Its children are now orphans too.
		}, problemOrderMissing},
		{"missing ArtifactWorkflow", func(s *snapshot, _ map[string]orderTruth) {
			s.aws = s.aws[1:]
		}, problemAWMissing},
		{"duplicate ArtifactWorkflow of one artifact", func(s *snapshot, _ map[string]orderTruth) {
			dup := s.aws[0].DeepCopy()
			dup.Name, dup.UID = "aw-dup", "uid-aw-dup"
			s.aws = append(s.aws, dup)
		}, problemAWDuplicate},
		{"ArtifactWorkflow of a gone Order", func(s *snapshot, _ map[string]orderTruth) {
			s.aws[0].OwnerReferences[0].UID = "uid-old"
		}, problemAWOrphan},
		{"ArtifactWorkflow without an Order", func(s *snapshot, _ map[string]orderTruth) {
			s.aws[0].OwnerReferences = nil
		}, problemAWOrphan},
		{"ArtifactWorkflow without a Workflow", func(s *snapshot, _ map[string]orderTruth) {
			s.wfs = s.wfs[1:]
		}, problemWFMissing},
		{"two Workflows for one ArtifactWorkflow", func(s *snapshot, _ map[string]orderTruth) {
			dup := s.wfs[0].DeepCopy()
			dup.Name = "wf-dup"
			s.wfs = append(s.wfs, dup)
		}, problemWFDuplicate},
		{"Workflow of a gone ArtifactWorkflow", func(s *snapshot, _ map[string]orderTruth) {
			s.wfs = append(s.wfs, &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "stray",
				OwnerReferences: []metav1.OwnerReference{{Kind: "ArtifactWorkflow", Name: "gone", UID: "uid-gone", Controller: &ctrl}}}})
		}, problemWFOrphan},
		{"Workflow without an owner", func(s *snapshot, _ map[string]orderTruth) {
			s.wfs[0].OwnerReferences = nil
		}, problemWFOrphan},
		{"Workflow still running", func(s *snapshot, _ map[string]orderTruth) {
			s.wfs[0].Status.Phase = wfv1.WorkflowRunning
		}, problemWFUnfinished},
		{"ArtifactWorkflow behind its Workflow", func(s *snapshot, _ map[string]orderTruth) {
			s.aws[0].Status.Phase = arcv1.WorkflowPhaseRunning
		}, problemAWPhase},
		{"Order stuck Running", func(s *snapshot, _ map[string]orderTruth) {
			s.orders[0].Status.Phase = arcv1.OrderPhaseRunning
		}, problemOrderPhase},
		{"Order Succeeded although an artifact failed", func(s *snapshot, truth map[string]orderTruth) {
			truth[key("ns", "o0")] = orderTruth{artifacts: 4, failed: 1}
		}, problemOrderPhase},
		{"Order status of an old generation", func(s *snapshot, _ map[string]orderTruth) {
			s.orders[0].Generation = 2
		}, problemOrderPhase},
		{"counters off the ArtifactWorkflows", func(s *snapshot, _ map[string]orderTruth) {
			s.orders[0].Status.Succeeded--
			s.orders[0].Status.Running++
		}, problemOrderCounters},
		{"counters agree with wrong ArtifactWorkflows but not the truth", func(s *snapshot, truth map[string]orderTruth) {
			// Both sides say 1 failed; the truth says none failed.
			s.aws[0].Status.Phase, s.wfs[0].Status.Phase = arcv1.WorkflowPhaseFailed, wfv1.WorkflowFailed
			s.orders[0].Status.Succeeded, s.orders[0].Status.Failed = 3, 1
			s.orders[0].Status.Phase = arcv1.OrderPhaseFailed
			truth[key("ns", "o0")] = orderTruth{artifacts: 4, failed: 0}
		}, problemOrderCounters},
		{"status names a stranger", func(s *snapshot, _ map[string]orderTruth) {
			s.orders[0].Status.ArtifactWorkflows["hx"] = arcv1.OrderArtifactWorkflowStatus{Name: "stranger"}
		}, problemOrderEntries},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, truth := world(2, 4, nil)
			tc.spoil(&s, truth)
			ps := checkConvergence(s, truth)
			if !strings.Contains(","+kinds(ps)+",", ","+tc.want+",") {
				t.Errorf("want a %s problem, got %v", tc.want, ps)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	ps := []problem{{Kind: "b"}, {Kind: "a"}, {Kind: "b"}}
	if got := summarize(ps); got != "a 1, b 2" {
		t.Errorf("summarize = %q", got)
	}
}

package main

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
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

// The latency probe's lookup follows the Order's ArtifactWorkflows as the
// watch delivered them, not a scan of every object: it finds the Workflow
// of the Order asked for, and of no other.
func TestOrderToWorkflowFollowsTheOrdersArtifactWorkflows(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	trk := &tracker{aws: map[string]*awSeen{}, wfs: map[string]*wfSeen{}, orderFirst: map[string]time.Time{}, awsOfOrder: map[string][]string{}}
	aw := func(ns, name, order string) *arcv1.ArtifactWorkflow {
		return &arcv1.ArtifactWorkflow{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Annotations: map[string]string{arcv1.AnnotationOrderName: order}}}
	}
	trk.orderFirst["bench-arc-0/latency-001"] = t0
	trk.orderFirst["bench-arc-0/latency-002"] = t0.Add(time.Second)
	trk.onAW(aw("bench-arc-0", "latency-001-aaaa", "latency-001"))
	trk.onAW(aw("bench-arc-0", "latency-001-aaaa", "latency-001")) // an update: listed once
	trk.onAW(aw("bench-arc-0", "latency-002-bbbb", "latency-002"))
	trk.onAW(aw("bench-arc-1", "latency-001-cccc", "latency-001")) // same Order name, other namespace
	if got := trk.awsOfOrder["bench-arc-0/latency-001"]; len(got) != 1 || got[0] != "bench-arc-0/latency-001-aaaa" {
		t.Fatalf("ArtifactWorkflows of the Order = %v, want the one of its namespace, once", got)
	}

	if _, ok := trk.orderToWorkflow("bench-arc-0", "latency-001"); ok {
		t.Fatal("a Workflow found before there is one")
	}
	trk.wfs["bench-arc-1/latency-001-cccc"] = &wfSeen{first: t0.Add(10 * time.Millisecond)}
	if _, ok := trk.orderToWorkflow("bench-arc-0", "latency-001"); ok {
		t.Fatal("the Workflow of another namespace's Order counted")
	}
	trk.wfs["bench-arc-0/latency-001-aaaa"] = &wfSeen{first: t0.Add(42 * time.Millisecond)}
	if d, ok := trk.orderToWorkflow("bench-arc-0", "latency-001"); !ok || d != 42*time.Millisecond {
		t.Fatalf("orderToWorkflow = %v, %v; want 42ms, true", d, ok)
	}
	if _, ok := trk.orderToWorkflow("bench-arc-0", "latency-002"); ok {
		t.Fatal("another Order's Workflow counted")
	}
}

package main

import (
	"reflect"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func workflowOf(name, image string) *wfv1.Workflow {
	wf := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: "uid-" + "1"}}
	wf.Spec.Arguments.Parameters = []wfv1.Parameter{{Name: "specTag", Value: wfv1.AnyStringPtr("1.0")}, {Name: "specImage", Value: wfv1.AnyStringPtr(image)}}
	return wf
}

func TestFinalPhase(t *testing.T) {
	failing := map[string]bool{artifactImage(3, 7): true}
	if got := finalPhase(workflowOf("w", artifactImage(3, 7)), failing); got != wfv1.WorkflowFailed {
		t.Errorf("the failing artifact's Workflow ends %s", got)
	}
	if got := finalPhase(workflowOf("w", artifactImage(3, 6)), failing); got != wfv1.WorkflowSucceeded {
		t.Errorf("another artifact's Workflow ends %s", got)
	}
}

func TestArgoPlayerDue(t *testing.T) {
	a := newArgoPlayer(nil, nil, map[string]bool{"bad": true}, 2*time.Second, 3*time.Second, 100)
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	wf := workflowOf("w", "bad")
	if m := a.due(t0, []*wfv1.Workflow{wf}); len(m) != 0 {
		t.Fatalf("moved a Workflow before runAfter: %v", m)
	}
	m := a.due(t0.Add(2*time.Second), []*wfv1.Workflow{wf})
	if len(m) != 1 || m[0].phase != wfv1.WorkflowRunning {
		t.Fatalf("after runAfter: %v", m)
	}
	// The patch succeeded (tick records it).
	a.state["ns/w"].phase, a.state["ns/w"].started = wfv1.WorkflowRunning, t0.Add(2*time.Second)
	if m := a.due(t0.Add(4*time.Second), []*wfv1.Workflow{wf}); len(m) != 0 {
		t.Fatalf("finished before finishAfter: %v", m)
	}
	m = a.due(t0.Add(5*time.Second), []*wfv1.Workflow{wf})
	if len(m) != 1 || m[0].phase != wfv1.WorkflowFailed {
		t.Fatalf("after finishAfter: %v", m)
	}
	a.state["ns/w"].phase = wfv1.WorkflowFailed
	// A stale cache shows the Workflow as it was: nothing moves backwards.
	if m := a.due(t0.Add(9*time.Second), []*wfv1.Workflow{wf}); len(m) != 0 {
		t.Fatalf("a finished Workflow moved again: %v", m)
	}
	// The same name with another UID: deleted and created anew.
	again := wf.DeepCopy()
	again.UID = "uid-2"
	a.due(t0.Add(10*time.Second), []*wfv1.Workflow{again})
	if _, _, rec := a.report(); !reflect.DeepEqual(rec, []string{"ns/w"}) {
		t.Errorf("recreated = %v", rec)
	}
}

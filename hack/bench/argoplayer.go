package main

import (
	"context"
	"sync"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	argoclient "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/types"
)

// argoPlayer plays Argo while the faults happen: it moves each Workflow of
// the run to Running runAfter after it first saw it and finishes it
// finishAfter later, Failed if its artifact is one of failing, else
// Succeeded. It keeps its own record of what it did, so a cache that lags
// or relists never moves a Workflow backwards, and it retries what failed
// (the API server may be restarting) on its next tick.
type argoPlayer struct {
	argo                  argoclient.Interface
	trk                   *tracker
	failing               map[string]bool // spec images of the failing artifacts
	runAfter, finishAfter time.Duration
	lim                   *rate.Limiter

	mu    sync.Mutex
	state map[string]*playState
	// recreated lists Workflows seen again with another UID: deleted and
	// created anew, which would run an artifact's work twice.
	recreated []string
	errors    int
	lastErr   string
}

// playState is where the player is with one Workflow.
type playState struct {
	uid           types.UID
	seen, started time.Time
	phase         wfv1.WorkflowPhase // the last phase the player set
}

func newArgoPlayer(argo argoclient.Interface, trk *tracker, failing map[string]bool, runAfter, finishAfter time.Duration, perSecond float64) *argoPlayer {
	return &argoPlayer{argo: argo, trk: trk, failing: failing, runAfter: runAfter, finishAfter: finishAfter,
		lim: rate.NewLimiter(rate.Limit(perSecond), max(1, int(perSecond/10))), state: map[string]*playState{}}
}

// run plays until ctx ends.
func (a *argoPlayer) run(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.tick(ctx)
		}
	}
}

// move is one phase change the player makes.
type move struct {
	key   string
	phase wfv1.WorkflowPhase
}

// tick moves every Workflow whose time has come.
func (a *argoPlayer) tick(ctx context.Context) {
	moves := a.due(time.Now(), a.trk.snapshot(nsPrefixARC).wfs)
	_ = parallel(ctx, moves, 8, func(ctx context.Context, m move) error {
		if err := a.lim.Wait(ctx); err != nil {
			return nil
		}
		err := setWorkflowPhase(ctx, a.argo, m.key, m.phase)
		a.mu.Lock()
		defer a.mu.Unlock()
		if err != nil {
			// Retried on the next tick.
			a.errors++
			a.lastErr = err.Error()
			return nil
		}
		st := a.state[m.key]
		st.phase = m.phase
		if m.phase == wfv1.WorkflowRunning {
			st.started = time.Now()
		}
		return nil
	})
}

// due records the Workflows it has not seen and returns the moves whose time
// has come at now.
func (a *argoPlayer) due(now time.Time, wfs []*wfv1.Workflow) []move {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []move
	for _, wf := range wfs {
		k := key(wf.Namespace, wf.Name)
		st := a.state[k]
		if st != nil && st.uid != wf.UID {
			a.recreated = append(a.recreated, k)
			st = nil
		}
		if st == nil {
			st = &playState{uid: wf.UID, seen: now}
			a.state[k] = st
		}
		switch {
		case st.phase == "" && now.Sub(st.seen) >= a.runAfter:
			out = append(out, move{k, wfv1.WorkflowRunning})
		case st.phase == wfv1.WorkflowRunning && now.Sub(st.started) >= a.finishAfter:
			out = append(out, move{k, finalPhase(wf, a.failing)})
		}
	}
	return out
}

// finalPhase is how simulated Argo ends a Workflow: Failed if it does one
// of the failing artifacts (by its specImage parameter), else Succeeded.
func finalPhase(wf *wfv1.Workflow, failing map[string]bool) wfv1.WorkflowPhase {
	for _, p := range wf.Spec.Arguments.Parameters {
		if p.Name == "specImage" && p.Value != nil && failing[p.Value.String()] {
			return wfv1.WorkflowFailed
		}
	}
	return wfv1.WorkflowSucceeded
}

// report says what went wrong while playing.
func (a *argoPlayer) report() (errors int, lastErr string, recreated []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.errors, a.lastErr, append([]string(nil), a.recreated...)
}

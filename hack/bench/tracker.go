package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	argoclient "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	argoinformers "github.com/argoproj/argo-workflows/v3/pkg/client/informers/externalversions"
	"k8s.io/client-go/tools/cache"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	arcclient "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned"
	arcinformers "github.com/artifact-conduit/arc/pkg/generated/informers/externalversions"
)

// tracker watches the benchmark's namespaces and records when each
// ArtifactWorkflow and Workflow was first seen, and the phases ARC and Argo
// report. Times are when the watch delivered the event: the same clock and
// the same delay for ARC and for the baseline.
type tracker struct {
	mu     sync.Mutex
	aws    map[string]*awSeen
	wfs    map[string]*wfSeen
	orders map[string]*arcv1.Order
	// orderFirst is when each Order was first seen, and awsOfOrder the keys
	// of the ArtifactWorkflows that name it, for the latency probe: it asks
	// every few milliseconds, and a scan of every tracked object (10,000 in
	// a large run) would take the CPU the path it measures needs.
	orderFirst map[string]time.Time
	awsOfOrder map[string][]string

	awInf, wfInf, orderInf cache.SharedIndexInformer
}

type awSeen struct {
	first time.Time
	phase arcv1.WorkflowPhase
	obj   *arcv1.ArtifactWorkflow
}

type wfSeen struct {
	first    time.Time
	phase    wfv1.WorkflowPhase
	finished time.Time // first seen with a final phase
	obj      *wfv1.Workflow
}

// inBench tells whether ns is one of the benchmark's namespaces (of any
// round).
func inBench(ns string) bool { return strings.HasPrefix(ns, nsPrefixBench) }

func key(ns, name string) string { return ns + "/" + name }

func newTracker(arc arcclient.Interface, argo argoclient.Interface) *tracker {
	t := &tracker{aws: map[string]*awSeen{}, wfs: map[string]*wfSeen{}, orders: map[string]*arcv1.Order{},
		orderFirst: map[string]time.Time{}, awsOfOrder: map[string][]string{}}
	af := arcinformers.NewSharedInformerFactory(arc, 0)
	gf := argoinformers.NewSharedInformerFactory(argo, 0)
	t.awInf = af.Arc().V1alpha1().ArtifactWorkflows().Informer()
	t.orderInf = af.Arc().V1alpha1().Orders().Informer()
	t.wfInf = gf.Argoproj().V1alpha1().Workflows().Informer()
	_, _ = t.awInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { t.onAW(o) },
		UpdateFunc: func(_, o any) { t.onAW(o) },
	})
	_, _ = t.wfInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { t.onWF(o) },
		UpdateFunc: func(_, o any) { t.onWF(o) },
	})
	_, _ = t.orderInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { t.onOrder(o) },
		UpdateFunc: func(_, o any) { t.onOrder(o) },
	})
	return t
}

func (t *tracker) start(ctx context.Context) error {
	for _, inf := range []cache.SharedIndexInformer{t.awInf, t.wfInf, t.orderInf} {
		go inf.Run(ctx.Done())
	}
	if !cache.WaitForCacheSync(ctx.Done(), t.awInf.HasSynced, t.wfInf.HasSynced, t.orderInf.HasSynced) {
		return fmt.Errorf("the benchmark's own informers did not sync")
	}
	return nil
}

func (t *tracker) onAW(o any) {
	aw, ok := o.(*arcv1.ArtifactWorkflow)
	if !ok || !inBench(aw.Namespace) {
		return
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	k := key(aw.Namespace, aw.Name)
	s := t.aws[k]
	if s == nil {
		s = &awSeen{first: now}
		t.aws[k] = s
		if order := aw.Annotations[arcv1.AnnotationOrderName]; order != "" {
			ok := key(aw.Namespace, order)
			t.awsOfOrder[ok] = append(t.awsOfOrder[ok], k)
		}
	}
	s.phase, s.obj = aw.Status.Phase, aw
}

func (t *tracker) onWF(o any) {
	wf, ok := o.(*wfv1.Workflow)
	if !ok || !inBench(wf.Namespace) {
		return
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	k := key(wf.Namespace, wf.Name)
	s := t.wfs[k]
	if s == nil {
		s = &wfSeen{first: now}
		t.wfs[k] = s
	}
	s.phase, s.obj = wf.Status.Phase, wf
	if wf.Status.Fulfilled() && s.finished.IsZero() {
		s.finished = now
	}
}

func (t *tracker) onOrder(o any) {
	ord, ok := o.(*arcv1.Order)
	if !ok || !inBench(ord.Namespace) {
		return
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	k := key(ord.Namespace, ord.Name)
	t.orders[k] = ord
	if _, ok := t.orderFirst[k]; !ok {
		t.orderFirst[k] = now
	}
}

// orderToWorkflow is the time from the first sight of the Order ns/name to
// the first sight of a Workflow of one of its ArtifactWorkflows; ok is false
// while either was not seen. Both times are watch event times of this
// process, so the watch delay cancels out.
func (t *tracker) orderToWorkflow(ns, name string) (d time.Duration, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	first, seen := t.orderFirst[key(ns, name)]
	if !seen {
		return 0, false
	}
	for _, k := range t.awsOfOrder[key(ns, name)] {
		if wf, ok := t.wfs[k]; ok {
			return wf.first.Sub(first), true
		}
	}
	return 0, false
}

// expected names the objects one side of the benchmark must end up with.
type expected struct {
	prefix string   // namespace prefix
	orders []string // ns/name of the Orders (ARC only)
	total  int      // ArtifactWorkflows (= Workflows) expected
}

// progress counts what exists and what ARC reports for one side.
type progress struct {
	AWs, WFs                   int
	AWsRunning, AWsSucceeded   int
	WFsFinished                int
	OrdersRunning, OrdersDone  int // all artifacts running / phase Succeeded
	OrdersFailed               int
	LastAWSeen, LastWFSeen     time.Time
	LastWFFinished             time.Time
	OrdersWithoutAllAWs        []string
	AWsWithoutWF, WFsUnstarted []string
}

func (t *tracker) progress(e expected) progress {
	t.mu.Lock()
	defer t.mu.Unlock()
	var p progress
	for k, s := range t.aws {
		if !strings.HasPrefix(k, e.prefix) {
			continue
		}
		p.AWs++
		if s.first.After(p.LastAWSeen) {
			p.LastAWSeen = s.first
		}
		switch s.phase {
		case arcv1.WorkflowPhaseRunning:
			p.AWsRunning++
		case arcv1.WorkflowPhaseSucceeded:
			p.AWsSucceeded++
		}
		if _, ok := t.wfs[k]; !ok && len(p.AWsWithoutWF) < 5 {
			p.AWsWithoutWF = append(p.AWsWithoutWF, k)
		}
	}
	for k, s := range t.wfs {
		if !strings.HasPrefix(k, e.prefix) {
			continue
		}
		p.WFs++
		if s.first.After(p.LastWFSeen) {
			p.LastWFSeen = s.first
		}
		if !s.finished.IsZero() {
			p.WFsFinished++
			if s.finished.After(p.LastWFFinished) {
				p.LastWFFinished = s.finished
			}
		}
	}
	for _, k := range e.orders {
		o := t.orders[k]
		if o == nil {
			continue
		}
		st := o.Status
		if st.Total > 0 && st.Running+st.Succeeded == st.Total && st.Running > 0 {
			p.OrdersRunning++
		}
		switch st.Phase {
		case arcv1.OrderPhaseSucceeded:
			p.OrdersDone++
			p.OrdersRunning++
		case arcv1.OrderPhaseFailed:
			p.OrdersFailed++
		}
		if len(st.ArtifactWorkflows) < len(o.Spec.Artifacts) && len(p.OrdersWithoutAllAWs) < 5 {
			p.OrdersWithoutAllAWs = append(p.OrdersWithoutAllAWs,
				fmt.Sprintf("%s (%d of %d in status, phase %q)", k, len(st.ArtifactWorkflows), len(o.Spec.Artifacts), st.Phase))
		}
	}
	sort.Strings(p.OrdersWithoutAllAWs)
	return p
}

// orderSummary describes Orders not yet Succeeded, for timeout messages.
func (t *tracker) orderSummary(e expected, limit int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var lines []string
	missing := 0
	for _, k := range e.orders {
		o := t.orders[k]
		if o == nil {
			missing++
			continue
		}
		if o.Status.Phase == arcv1.OrderPhaseSucceeded {
			continue
		}
		if len(lines) < limit {
			st := o.Status
			lines = append(lines, fmt.Sprintf("%s: phase %q, %d/%d succeeded, %d running, %d pending, %d failed, %d unresolved",
				k, st.Phase, st.Succeeded, st.Total, st.Running, st.Pending, st.Failed, len(st.UnresolvedArtifacts)))
		}
	}
	if missing > 0 {
		lines = append(lines, fmt.Sprintf("%d Orders not seen at all", missing))
	}
	return strings.Join(lines, "\n  ")
}

// firstSeen returns when each ArtifactWorkflow and Workflow of a side was
// first seen.
func (t *tracker) firstSeen(prefix string) (aws, wfs []time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, s := range t.aws {
		if strings.HasPrefix(k, prefix) {
			aws = append(aws, s.first)
		}
	}
	for k, s := range t.wfs {
		if strings.HasPrefix(k, prefix) {
			wfs = append(wfs, s.first)
		}
	}
	return aws, wfs
}

// artifactWorkflows returns the cached ArtifactWorkflows and Workflows of a side.
func (t *tracker) objects(prefix string) ([]*arcv1.ArtifactWorkflow, map[string]*wfv1.Workflow) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var aws []*arcv1.ArtifactWorkflow
	wfs := map[string]*wfv1.Workflow{}
	for k, s := range t.aws {
		if strings.HasPrefix(k, prefix) {
			aws = append(aws, s.obj)
		}
	}
	for k, s := range t.wfs {
		if strings.HasPrefix(k, prefix) {
			wfs[k] = s.obj
		}
	}
	sort.Slice(aws, func(i, j int) bool { return key(aws[i].Namespace, aws[i].Name) < key(aws[j].Namespace, aws[j].Name) })
	return aws, wfs
}

// workflowKeys returns ns/name of the Workflows of a side, in the order the
// harness saw them appear.
func (t *tracker) workflowKeys(prefix string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for k := range t.wfs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	// In the order they appeared, as Argo's controller takes them from its
	// FIFO queue: an Order's Workflows, created together, start together.
	// (Sorted by name, the hashes spread each Order's Workflows over the
	// whole run, and each Order's status changed once per artifact.)
	sort.Slice(out, func(i, j int) bool {
		a, b := t.wfs[out[i]].first, t.wfs[out[j]].first
		if !a.Equal(b) {
			return a.Before(b)
		}
		return out[i] < out[j]
	})
	return out
}

// snapshot returns the Orders, ArtifactWorkflows and Workflows in the
// namespaces of a side from the informers' caches: unlike the records of
// first sightings, the caches forget deleted objects.
func (t *tracker) snapshot(prefix string) snapshot {
	var s snapshot
	for _, o := range t.orderInf.GetStore().List() {
		if ord, ok := o.(*arcv1.Order); ok && strings.HasPrefix(ord.Namespace, prefix) {
			s.orders = append(s.orders, ord)
		}
	}
	for _, o := range t.awInf.GetStore().List() {
		if aw, ok := o.(*arcv1.ArtifactWorkflow); ok && strings.HasPrefix(aw.Namespace, prefix) {
			s.aws = append(s.aws, aw)
		}
	}
	for _, o := range t.wfInf.GetStore().List() {
		if wf, ok := o.(*wfv1.Workflow); ok && strings.HasPrefix(wf.Namespace, prefix) {
			s.wfs = append(s.wfs, wf)
		}
	}
	return s
}

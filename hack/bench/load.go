package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	argoclient "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	"golang.org/x/time/rate"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	arcclient "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned"
)

// parallel runs fn for every item with n goroutines and returns the first
// error (after all started calls returned).
func parallel[T any](ctx context.Context, items []T, n int, fn func(context.Context, T) error) error {
	ch := make(chan T)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				if err := fn(ctx, it); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		}()
	}
	for _, it := range items {
		select {
		case ch <- it:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(ch)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}

// applyOrders creates the Orders and returns when the first create started
// and the last one returned.
func applyOrders(ctx context.Context, arc arcclient.Interface, orders []*arcv1.Order, workers int) (first, last time.Time, err error) {
	first = time.Now()
	var done atomic.Int64
	stopProgress := every(5*time.Second, func() {
		logf("applying Orders: %d of %d", done.Load(), len(orders))
	})
	defer stopProgress()
	err = parallel(ctx, orders, workers, func(ctx context.Context, o *arcv1.Order) error {
		_, err := arc.ArcV1alpha1().Orders(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("creating Order %s/%s: %w", o.Namespace, o.Name, err)
		}
		done.Add(1)
		return nil
	})
	return first, time.Now(), err
}

// applyOrdersPaced creates the Orders one by one, spread evenly over span
// from start, and retries each until the API server takes it: during the
// faults it may be restarting. An Order that already exists counts as
// created (a create may succeed although its answer was lost). It returns
// when the last one was created.
func applyOrdersPaced(ctx context.Context, arc arcclient.Interface, orders []*arcv1.Order, start time.Time, span time.Duration) (time.Time, error) {
	for i, o := range orders {
		at := start.Add(span * time.Duration(i) / time.Duration(len(orders)))
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(time.Until(at)):
		}
		for {
			_, err := arc.ArcV1alpha1().Orders(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
			if err == nil || apierrors.IsAlreadyExists(err) {
				break
			}
			select {
			case <-ctx.Done():
				return time.Time{}, fmt.Errorf("creating Order %s/%s: %w", o.Namespace, o.Name, err)
			case <-time.After(time.Second):
			}
		}
	}
	return time.Now(), nil
}

// moveWorkflows plays Argo: it sets the phase of every Workflow (in the
// main resource, where Argo keeps the status) at most ratePerSec per
// second, and returns when the last update returned.
func moveWorkflows(ctx context.Context, argo argoclient.Interface, keys []string, phase wfv1.WorkflowPhase, ratePerSec float64, workers int) (time.Time, error) {
	lim := rate.NewLimiter(rate.Limit(ratePerSec), max(1, int(ratePerSec/10)))
	var done atomic.Int64
	stopProgress := every(5*time.Second, func() {
		logf("simulated Argo: %d of %d Workflows moved to %s", done.Load(), len(keys), phase)
	})
	defer stopProgress()
	err := parallel(ctx, keys, workers, func(ctx context.Context, k string) error {
		if err := lim.Wait(ctx); err != nil {
			return err
		}
		if err := setWorkflowPhase(ctx, argo, k, phase); err != nil {
			return err
		}
		done.Add(1)
		return nil
	})
	return time.Now(), err
}

// setWorkflowPhase plays Argo for one Workflow (ns/name): it sets the phase
// in the main resource, where Argo keeps the status, with the start or
// finish time Argo would set.
func setWorkflowPhase(ctx context.Context, argo argoclient.Interface, k string, phase wfv1.WorkflowPhase) error {
	ns, name, _ := strings.Cut(k, "/")
	now := time.Now().UTC().Format(time.RFC3339)
	var patch string
	switch phase {
	case wfv1.WorkflowRunning:
		patch = fmt.Sprintf(`{"status":{"phase":"Running","startedAt":%q,"progress":"0/1"}}`, now)
	default:
		patch = fmt.Sprintf(`{"status":{"phase":%q,"finishedAt":%q,"progress":"1/1"}}`, phase, now)
	}
	_, err := argo.ArgoprojV1alpha1().Workflows(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("moving Workflow %s to %s: %w", k, phase, err)
	}
	return nil
}

// baselineStats is what the baseline run reports.
type baselineStats struct {
	start  time.Time
	errors int
}

// runBaseline is the plain client-go program ARC is compared with: it
// creates the same ArtifactWorkflows and Workflows ARC created, in the
// baseline's namespaces, with clients of the same QPS and burst (one
// rate limiter per API group client, as in arc-controller) and the same
// concurrency: orderWorkers goroutines create the ArtifactWorkflows Order by
// Order, awWorkers goroutines create a Workflow for each as soon as its
// ArtifactWorkflow exists. No reads, no status writes, no events.
func runBaseline(ctx context.Context, arc arcclient.Interface, argo argoclient.Interface,
	aws []*arcv1.ArtifactWorkflow, wfs map[string]*wfv1.Workflow, nsOf func(arcNS string) string,
	orderWorkers, awWorkers int, argoMode bool) (baselineStats, error) {
	// Group by Order, as ARC's Order workers do.
	byOrder := map[string][]*arcv1.ArtifactWorkflow{}
	var orderKeys []string
	for _, aw := range aws {
		k := aw.Namespace + "/" + aw.Annotations[arcv1.AnnotationOrderName]
		if _, ok := byOrder[k]; !ok {
			orderKeys = append(orderKeys, k)
		}
		byOrder[k] = append(byOrder[k], aw)
	}
	created := make(chan *arcv1.ArtifactWorkflow, len(aws))
	var stats baselineStats
	var errCount atomic.Int64
	var wfErr error
	var wfErrOnce sync.Once
	var wg sync.WaitGroup
	stats.start = time.Now()
	for range awWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for aw := range created {
				src := wfs[key(aw.Annotations[annotationSourceNS], aw.Name)]
				if src == nil {
					wfErrOnce.Do(func() { wfErr = fmt.Errorf("no Workflow of ARC for %s", aw.Name) })
					continue
				}
				if err := retryCreate(ctx, func() error {
					_, err := argo.ArgoprojV1alpha1().Workflows(aw.Namespace).Create(ctx, baselineWorkflow(src, aw.Namespace, argoMode), metav1.CreateOptions{})
					return err
				}); err != nil {
					errCount.Add(1)
					wfErrOnce.Do(func() { wfErr = err })
				}
			}
		}()
	}
	awErr := parallel(ctx, orderKeys, orderWorkers, func(ctx context.Context, k string) error {
		for _, aw := range byOrder[k] {
			copyAW := baselineArtifactWorkflow(aw, nsOf(aw.Namespace))
			var out *arcv1.ArtifactWorkflow
			if err := retryCreate(ctx, func() error {
				var err error
				out, err = arc.ArcV1alpha1().ArtifactWorkflows(copyAW.Namespace).Create(ctx, copyAW, metav1.CreateOptions{})
				return err
			}); err != nil {
				errCount.Add(1)
				return err
			}
			if out.Annotations == nil {
				out.Annotations = map[string]string{}
			}
			out.Annotations[annotationSourceNS] = aw.Namespace
			created <- out
		}
		return nil
	})
	close(created)
	wg.Wait()
	stats.errors = int(errCount.Load())
	if awErr != nil {
		return stats, awErr
	}
	return stats, wfErr
}

// runUnthrottledBaseline is the limit of what the API server accepts: a
// plain client-go program without a client-side rate limit that keeps
// inFlight creates going at once, each worker creating an artifact's
// ArtifactWorkflow and then its Workflow. It makes the same objects as
// runBaseline, in its own namespaces; ARC's time over its time is the
// headline of make bench.
func runUnthrottledBaseline(ctx context.Context, arc arcclient.Interface, argo argoclient.Interface,
	aws []*arcv1.ArtifactWorkflow, wfs map[string]*wfv1.Workflow, nsOf func(arcNS string) string,
	inFlight int, argoMode bool) (baselineStats, error) {
	var stats baselineStats
	var errCount atomic.Int64
	stats.start = time.Now()
	err := parallel(ctx, aws, inFlight, func(ctx context.Context, aw *arcv1.ArtifactWorkflow) error {
		src := wfs[key(aw.Namespace, aw.Name)]
		if src == nil {
			return fmt.Errorf("no Workflow of ARC for %s", aw.Name)
		}
		ns := nsOf(aw.Namespace)
		if err := retryCreate(ctx, func() error {
			_, err := arc.ArcV1alpha1().ArtifactWorkflows(ns).Create(ctx, baselineArtifactWorkflow(aw, ns), metav1.CreateOptions{})
			return err
		}); err != nil {
			errCount.Add(1)
			return err
		}
		if err := retryCreate(ctx, func() error {
			_, err := argo.ArgoprojV1alpha1().Workflows(ns).Create(ctx, baselineWorkflow(src, ns, argoMode), metav1.CreateOptions{})
			return err
		}); err != nil {
			errCount.Add(1)
			return err
		}
		return nil
	})
	stats.errors = int(errCount.Load())
	return stats, err
}

// measureLatency applies n Orders of one artifact each to namespace ns, one
// at a time, each once the previous one's Workflow exists, and returns for
// each the time from the Order's watch event to its Workflow's. The cluster
// is otherwise idle, so this is the delay ARC adds to a single Order.
func measureLatency(ctx context.Context, arc arcclient.Interface, trk *tracker, ns string, n int) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for i := range n {
		o := newOrder(ns, latencyOrderBase+i, 1)
		o.Name = fmt.Sprintf("latency-%03d", i)
		if _, err := arc.ArcV1alpha1().Orders(ns).Create(ctx, o, metav1.CreateOptions{}); err != nil {
			return out, fmt.Errorf("creating Order %s: %w", o.Name, err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			if d, ok := trk.orderToWorkflow(ns, o.Name); ok {
				out = append(out, d)
				break
			}
			if time.Now().After(deadline) {
				return out, fmt.Errorf("Order %s/%s has no Workflow after 30 s", ns, o.Name)
			}
			select {
			case <-ctx.Done():
				return out, ctx.Err()
			case <-time.After(2 * time.Millisecond):
			}
		}
	}
	return out, nil
}

// latencyOrderBase numbers the latency probe's Orders apart from the load's,
// so that their artifacts differ from every artifact of the load.
const latencyOrderBase = 1_000_000

// annotationSourceNS is set only in the baseline's memory (never sent) to
// find ARC's Workflow an ArtifactWorkflow copy was made from.
const annotationSourceNS = "bench/source-namespace"

// retryCreate retries a create on throttling and server timeouts, as
// client-go's callers usually do; AlreadyExists counts as done.
func retryCreate(ctx context.Context, create func() error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = create()
		if err == nil || apierrors.IsAlreadyExists(err) {
			return nil
		}
		if !apierrors.IsTooManyRequests(err) && !apierrors.IsServerTimeout(err) && !apierrors.IsTimeout(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
	return err
}

// every calls fn every d until the returned stop is called.
func every(d time.Duration, fn func()) (stop func()) {
	done := make(chan struct{})
	var once sync.Once
	go func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fn()
			}
		}
	}()
	return func() { once.Do(func() { close(done) }) }
}

// fetchProfile asks arc-controller (--profiling) for a CPU profile of d and
// writes it to path; the channel reports the outcome once it is written.
func fetchProfile(ctx context.Context, metricsPort int, d time.Duration, path string) <-chan error {
	done := make(chan error, 1)
	go func() {
		done <- fetchPprof(ctx, fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", metricsPort, int(d.Seconds())), path)
	}()
	return done
}

// fetchHeapProfile writes arc-controller's heap profile (--profiling) to
// path: what its live objects hold at that moment, after a collection.
func fetchHeapProfile(ctx context.Context, metricsPort int, path string) error {
	return fetchPprof(ctx, fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap?gc=1", metricsPort), path)
}

// fetchPprof GETs one pprof endpoint and writes the answer to path.
func fetchPprof(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: %s from %s", resp.Status, url)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// apiserverProfile is a kube-apiserver CPU profile being fetched; the zero
// value is none.
type apiserverProfile struct {
	path string
	done <-chan error
}

// fetchAPIServerProfile starts fetching a CPU profile of kube-apiserver of
// length d into path, through its /debug/pprof (as the admin user, so that
// the request is not ARC's); d == 0 fetches nothing.
func (s *session) fetchAPIServerProfile(ctx context.Context, d time.Duration, path string) apiserverProfile {
	if d <= 0 {
		return apiserverProfile{}
	}
	done := make(chan error, 1)
	go func() {
		data, err := s.admin.kube.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").
			Param("seconds", strconv.Itoa(int(d.Seconds()))).Timeout(d + time.Minute).DoRaw(ctx)
		if err != nil {
			done <- fmt.Errorf("kube-apiserver profile: %w", err)
			return
		}
		done <- os.WriteFile(path, data, 0o644)
	}()
	return apiserverProfile{path: path, done: done}
}

// wait waits until the profile is written.
func (p apiserverProfile) wait() error {
	if p.done == nil {
		return nil
	}
	return <-p.done
}

// paths is where the profile was written, relative to root; none for the
// zero value.
func (p apiserverProfile) paths(root string) []string {
	if p.done == nil {
		return nil
	}
	logf("kube-apiserver CPU profile: %s", rel(root, p.path))
	return []string{rel(root, p.path)}
}

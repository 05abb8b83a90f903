package artifactworkflow

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/cache"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/naming"
)

// indexByLimit maps a limit key (see limitKeys) to the ArtifactWorkflows
// whose Workflows that limit counts.
const indexByLimit = "limit"

// Limit keys: the Order by UID, an Endpoint by namespace and name.
func orderLimitKey(namespace, uid string) string     { return "order/" + namespace + "/" + uid }
func endpointLimitKey(namespace, name string) string { return "endpoint/" + namespace + "/" + name }

// limitKeysOf indexes an ArtifactWorkflow by every limit that may hold its
// Workflows back: its Order's parallelism and the maxConcurrentWorkflows of
// its Endpoints (one key when source and destination are the same).
func limitKeysOf(obj interface{}) ([]string, error) {
	aw, ok := obj.(*controller.CachedArtifactWorkflow)
	if !ok {
		return nil, nil
	}
	var keys []string
	if _, uid, ok := controller.ControllerOf(aw, orderKind); ok {
		keys = append(keys, orderLimitKey(aw.Namespace, uid))
	}
	for _, ep := range []string{aw.Spec.SrcEndpoint, aw.Spec.DstEndpoint} {
		if k := endpointLimitKey(aw.Namespace, ep); ep != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// limit is one concurrency limit an ArtifactWorkflow is subject to.
type limit struct {
	key  string
	max  int
	what string // for messages: `Order "x" (spec.parallelism)`
}

// admission decides which waiting ArtifactWorkflow may create its Workflow,
// so that no limit is ever exceeded, not even for a moment, however many
// workers sync at once. Decisions are taken one at a time under mu, from the
// caches plus the Workflows admitted but not in the cache yet (reserved),
// so two workers never both take the last free slot, and a Workflow being
// created counts before the informer has seen it.
//
// Waiting work starts first come, first served: an ArtifactWorkflow may
// start only if the running Workflows of a limit plus the work that waits
// for it and was queued earlier (spec.queuedAt, stored, so the order
// survives restarts) leave a slot. Which worker syncs which key first does
// not matter.
type admission struct {
	mu sync.Mutex
	// reserved holds the Workflows admitted and not yet in the cache, with
	// when they were admitted.
	reserved map[cache.ObjectName]time.Time
}

// reservationTimeout ends a reservation whose Workflow the cache never
// showed: one deleted before the informer saw it would otherwise hold its
// slot forever. Informers lag by seconds, not minutes.
const reservationTimeout = 2 * time.Minute

func newAdmission() *admission {
	return &admission{reserved: map[cache.ObjectName]time.Time{}}
}

// observed drops the reservation of a Workflow the informer now holds.
func (a *admission) observed(key cache.ObjectName) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.reserved, key)
}

// release drops the reservation of a Workflow whose create failed.
func (a *admission) release(key cache.ObjectName) { a.observed(key) }

// limitsOf returns the limits that apply to aw now.
func (c *Controller) limitsOf(aw *controller.CachedArtifactWorkflow, order *arcv1.Order) ([]limit, error) {
	var limits []limit
	if order.Spec.Parallelism != nil {
		limits = append(limits, limit{key: orderLimitKey(order.Namespace, string(order.UID)), max: int(*order.Spec.Parallelism),
			what: fmt.Sprintf("Order %q allows %d Workflows at once (spec.parallelism)", order.Name, *order.Spec.Parallelism)})
	}
	seen := map[string]bool{}
	for _, name := range []string{aw.Spec.SrcEndpoint, aw.Spec.DstEndpoint} {
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		ep, err := c.endpoints.Endpoints(aw.Namespace).Get(name)
		if apierrors.IsNotFound(err) {
			continue // the Order controller reports a missing Endpoint
		}
		if err != nil {
			return nil, err
		}
		if ep.Spec.MaxConcurrentWorkflows != nil {
			limits = append(limits, limit{key: endpointLimitKey(aw.Namespace, name), max: int(*ep.Spec.MaxConcurrentWorkflows),
				what: fmt.Sprintf("Endpoint %q allows %d Workflows at once (spec.maxConcurrentWorkflows)", name, *ep.Spec.MaxConcurrentWorkflows)})
		}
	}
	return limits, nil
}

// admit tells whether aw may create its Workflow wf now, and reserves a
// slot for it if so; otherwise it returns what aw waits for. The caller
// must call release if the create fails.
func (c *Controller) admit(aw *controller.CachedArtifactWorkflow, limits []limit, wf cache.ObjectName) (bool, string, error) {
	if len(limits) == 0 {
		return true, "", nil
	}
	c.admission.mu.Lock()
	defer c.admission.mu.Unlock()
	var waits []string
	for _, l := range limits {
		members, err := c.artifactWorkflowIdx.ByIndex(indexByLimit, l.key)
		if err != nil {
			return false, "", err
		}
		running, ahead := 0, 0
		for _, obj := range members {
			m, ok := obj.(*controller.CachedArtifactWorkflow)
			if !ok {
				continue
			}
			running += c.activeWorkflows(m)
			if m.UID != aw.UID && c.waitingToStart(m) && queuedBefore(m, aw) {
				ahead++
			}
		}
		if running+ahead >= l.max {
			msg := fmt.Sprintf("%s and %d run", l.what, running)
			if ahead > 0 {
				msg += fmt.Sprintf(", %d queued earlier wait", ahead)
			}
			waits = append(waits, msg)
		}
	}
	if len(waits) > 0 {
		return false, "waiting: " + strings.Join(waits, "; "), nil
	}
	c.admission.reserved[wf] = c.clock.Now()
	return true, "", nil
}

// activeWorkflows counts the Workflows of m that occupy a slot: admitted and
// not yet seen, or cached and not finished. A Workflow being deleted counts
// until it is gone: its pods may still run.
func (c *Controller) activeWorkflows(m *controller.CachedArtifactWorkflow) int {
	n := 0
	for _, name := range workflowNamesOf(m) {
		key := cache.ObjectName{Namespace: m.Namespace, Name: name}
		if wf, err := c.workflows.Get(m.Namespace, name); err == nil {
			// The cache knows it now; the reservation has done its job.
			delete(c.admission.reserved, key)
			if !workflowFinished(wf) {
				n++
			}
			continue
		}
		if at, ok := c.admission.reserved[key]; ok {
			if c.clock.Since(at) < reservationTimeout {
				n++
			} else {
				delete(c.admission.reserved, key)
			}
		}
	}
	return n
}

// workflowNamesOf are the Workflows m may have running: that of its current
// run and the one its status describes, when an earlier run still finishes.
func workflowNamesOf(m *controller.CachedArtifactWorkflow) []string {
	names := []string{naming.Workflow(m.Name, m.Spec.Run)}
	if w := m.Status.WorkflowName; w != "" && w != names[0] {
		names = append(names, w)
	}
	return names
}

func workflowFinished(wf *controller.CachedWorkflow) bool {
	return mirroredPhase(wf.Status.Phase).Finished()
}

// waitingToStart tells whether m competes for a slot: its current run has
// no Workflow, is not done, and m either waits (for a limit, or for its
// Order to resume) or was never synced (so a new ArtifactWorkflow keeps its place in line before its
// first sync). Work of a suspended Order does not compete, nor does
// scheduled work, whose runs Argo starts.
func (c *Controller) waitingToStart(m *controller.CachedArtifactWorkflow) bool {
	if m.DeletionTimestamp != nil || m.Spec.Cron != nil || c.activeWorkflows(m) > 0 {
		return false
	}
	if _, err := c.workflows.Get(m.Namespace, naming.Workflow(m.Name, m.Spec.Run)); err == nil {
		return false
	}
	cond := meta.FindStatusCondition(m.Status.Conditions, arcv1.ConditionReady)
	switch {
	case cond == nil:
	case cond.Reason == ReasonWaiting, cond.Reason == ReasonSuspended:
		// Waiting already; work of a resumed Order keeps its place too.
	case m.Status.Run != m.Spec.Run && m.Status.Phase.Finished():
		// A re-run is asked for.
	default:
		return false
	}
	if owner, _, ok := controller.ControllerOf(m, orderKind); ok {
		if o, err := c.orders.Orders(owner.Namespace).Get(owner.Name); err == nil && o.Spec.Suspend {
			return false
		}
	}
	return true
}

// queuedBefore orders waiting work: by spec.queuedAt (the creation time for
// ArtifactWorkflows without one), then by name.
func queuedBefore(a, b *controller.CachedArtifactWorkflow) bool {
	ta, tb := queuedTime(a), queuedTime(b)
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	return a.Name < b.Name
}

func queuedTime(aw *controller.CachedArtifactWorkflow) time.Time {
	if aw.Spec.QueuedAt != nil {
		return aw.Spec.QueuedAt.Time
	}
	return aw.CreationTimestamp.Time
}

package order

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/naming"
)

var everything = labels.Everything()

// sync brings the ArtifactWorkflows of one Order in line with its artifacts
// and writes its status: read from the caches, compute the plan, act on the
// children, then write the status once, and only if it changed.
func (c *Controller) sync(ctx context.Context, key cache.ObjectName) error {
	order, err := c.orders.Orders(key.Namespace).Get(key.Name)
	if err != nil && apierrors.IsNotFound(err) {
		// The garbage collector removes the ArtifactWorkflows of a deleted Order.
		c.forgetMemo(key, "")
		return nil
	}
	if err != nil {
		return err
	}
	if order.DeletionTimestamp != nil {
		c.forgetMemo(key, order.UID)
		return nil
	}
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "order", klog.KObj(order))
	ctx = klog.NewContext(ctx, logger)
	if c.ownWrites.Stale(key, order.ResourceVersion) {
		// The cache holds the version our last status write replaced; the
		// update handler queues the Order again when it catches up.
		logger.V(4).Info("Cache behind our own status write; waiting for it")
		return nil
	}

	owned, err := c.ownedArtifactWorkflows(order)
	if err != nil {
		return err
	}
	p, lookupErr := c.makePlan(order, owned)
	r, actErr := c.reconcileArtifactWorkflows(ctx, order, p, owned)
	if errors.Is(actErr, errShuttingDown) {
		// The work is half done: a status now would miscount it.
		return actErr
	}
	if r.refused {
		// A quota or an admission policy may relent; no event says when.
		c.queue.AddAfter(key, controller.RefusedRecheck)
	}
	// A re-run request counts as handled only once every ArtifactWorkflow
	// it concerns took it over; until then the status keeps the previous one.
	handled, rerunErr := c.handleRerunRequests(ctx, order, &r, actErr == nil)

	now := c.clock.Now()
	var argoDue time.Duration
	r.notStarted, argoDue = c.notStartedByArgo(order, r, now)
	if argoDue > 0 {
		c.queue.AddAfter(key, argoDue)
	}
	status := computeStatus(order, r, now, c.maxMessageBytes)
	applyRerunStatus(order, &status, handled)
	rerunWarning := c.setRerunProblem(order, &status)
	statusErr := c.writeStatus(ctx, order, status)
	if statusErr == nil {
		// Warnings only once the status that records them is stored: a
		// write lost to a conflict is retried, and would warn twice.
		c.reportNewProblems(order, status.UnresolvedArtifacts)
		if rerunWarning != "" {
			c.recorder.Event(order, corev1.EventTypeWarning, ReasonInvalidRerunRequest, rerunWarning)
		}
		if err := c.expireFinished(ctx, order, &status); err != nil {
			statusErr = err
		}
	}
	return errors.Join(lookupErr, actErr, rerunErr, statusErr)
}

// ownedArtifactWorkflows returns the ArtifactWorkflows the Order controls, by name.
func (c *Controller) ownedArtifactWorkflows(order *arcv1.Order) (map[string]*controller.CachedArtifactWorkflow, error) {
	objs, err := c.artifactWorkflowIndex.ByIndex(controller.IndexByControllerUID, string(order.UID))
	if err != nil {
		return nil, err
	}
	owned := make(map[string]*controller.CachedArtifactWorkflow, len(objs))
	for _, obj := range objs {
		if aw, ok := obj.(*controller.CachedArtifactWorkflow); ok && aw.Namespace == order.Namespace {
			owned[aw.Name] = aw
		}
	}
	return owned, nil
}

// reconciled is what reconcileArtifactWorkflows left in place, for the status.
type reconciled struct {
	// active are the wanted ArtifactWorkflows, with the object where it exists.
	active []activeArtifactWorkflow
	// kept are ArtifactWorkflows no resolvable artifact wants, kept because
	// they served artifacts that cannot be resolved right now.
	kept []keptArtifactWorkflow
	// unresolved are the artifacts that have no ArtifactWorkflow of their own.
	unresolved []unresolvedArtifact
	// refused is set when the API server refused to create an ArtifactWorkflow.
	refused bool
	// notStarted names, by ArtifactWorkflow, the Workflows Argo should have
	// started and has not (see notStartedByArgo).
	notStarted map[string]string
}

// artifactWorkflows returns the ArtifactWorkflows the Order keeps: the
// wanted ones that exist and the kept ones.
func (r reconciled) artifactWorkflows() []*controller.CachedArtifactWorkflow {
	aws := make([]*controller.CachedArtifactWorkflow, 0, len(r.active)+len(r.kept))
	for _, a := range r.active {
		if a.aw != nil {
			aws = append(aws, a.aw)
		}
	}
	for _, k := range r.kept {
		aws = append(aws, k.aw)
	}
	return aws
}

type activeArtifactWorkflow struct {
	want *desiredArtifactWorkflow
	aw   *controller.CachedArtifactWorkflow // nil while its create failed
}

type keptArtifactWorkflow struct {
	aw      *controller.CachedArtifactWorkflow
	indices []int32 // of the unresolved artifacts it served
}

// reconcileArtifactWorkflows creates the missing ArtifactWorkflows, repairs
// changed ones and deletes the ones no artifact needs any more. One failing
// call does not stop the others; their errors are joined.
//
// An ArtifactWorkflow whose artifact cannot be resolved right now (its
// Endpoint or Secret is gone for a while) is kept, not deleted: running or
// finished work must not be thrown away. It is recognised by the identity of
// the artifact it served, which does not depend on the artifact's position
// in the Order nor on what the Order's status said.
func (c *Controller) reconcileArtifactWorkflows(ctx context.Context, order *arcv1.Order, p plan, owned map[string]*controller.CachedArtifactWorkflow) (reconciled, error) {
	r := reconciled{unresolved: slices.Clone(p.unresolved)}
	var errs []error
	var done changes
	defer c.reportChanges(order, &done)

	// Those that exist are checked one by one (from the cache; a write only
	// for one someone edited); the missing ones are created in parallel
	// below. Their queue times are handed out here, in the Order's order, so
	// concurrency limits start them first come, first served.
	results := make([]ensured, len(p.artifactWorkflows))
	var missing []int
	for i, want := range p.artifactWorkflows {
		if controller.ShuttingDown(ctx) {
			// Leave the rest to the next leader; nothing is deleted below
			// while the wanted set is incomplete.
			return r, errShuttingDown
		}
		existing, err := c.existingArtifactWorkflow(order, want, owned[want.name])
		switch {
		case err != nil:
			results[i].err = err
		case existing == nil:
			desired := newArtifactWorkflow(order, want)
			desired.Spec.QueuedAt = c.queuedAt()
			results[i].create = desired
			missing = append(missing, i)
		default:
			results[i].aw, results[i].err = c.ensureArtifactWorkflow(ctx, order, want, existing)
		}
	}
	if err := c.createMissing(ctx, order, results, missing, &done); errors.Is(err, errShuttingDown) {
		return r, err
	}

	wanted := make(map[string]bool, len(p.artifactWorkflows))
	for i, want := range p.artifactWorkflows {
		aw, err := results[i].aw, results[i].err
		var conflict *nameConflictError
		switch {
		case errors.As(err, &conflict):
			// Every artifact that would share it is unresolved, so the
			// counters still add up to the total.
			for i, index := range want.indices {
				r.unresolved = append(r.unresolved, unresolvedArtifact{
					UnresolvedArtifact: arcv1.UnresolvedArtifact{ArtifactIndex: index, Reason: ReasonNameConflict, Message: conflict.Error()},
					identity:           want.identities[min(i, len(want.identities)-1)],
				})
			}
			continue
		case controller.RefusedByAPIServer(err):
			for i, index := range want.indices {
				r.unresolved = append(r.unresolved, unresolvedArtifact{
					UnresolvedArtifact: arcv1.UnresolvedArtifact{ArtifactIndex: index, Reason: ReasonCreateRefused, Message: controller.TruncateMessage(
						fmt.Sprintf("%v; ARC tries again every %s", err, controller.RefusedRecheck), c.maxMessageBytes)},
					identity: want.identities[min(i, len(want.identities)-1)],
				})
			}
			r.refused = true
			continue
		case err != nil:
			errs = append(errs, err)
		}
		wanted[want.name] = true
		r.active = append(r.active, activeArtifactWorkflow{want: want, aw: aw})
	}

	for _, name := range unwanted(owned, wanted) {
		aw := owned[name]
		served := servedUnresolved(aw, r.unresolved)
		isStarted := false
		if len(served) > 0 {
			var err error
			if isStarted, err = c.workStarted(ctx, aw); err != nil {
				// Unsure whether its work began: deleting it could kill it.
				errs = append(errs, err)
				continue
			}
		}
		if isStarted {
			r.kept = append(r.kept, keptArtifactWorkflow{aw: aw, indices: served})
			if aw.Status.Phase.Finished() {
				// Its work is done: what it used may go away without
				// anything left to report.
				r.unresolved = slices.DeleteFunc(r.unresolved, func(u unresolvedArtifact) bool {
					return slices.Contains(served, u.ArtifactIndex)
				})
			}
			continue
		}
		if err := c.deleteArtifactWorkflow(ctx, order, aw, &done); err != nil {
			errs = append(errs, err)
		}
	}
	return r, errors.Join(errs...)
}

// unwanted returns, sorted, the names of the owned ArtifactWorkflows that
// are not wanted: usually none, so only those are sorted.
func unwanted(owned map[string]*controller.CachedArtifactWorkflow, wanted map[string]bool) []string {
	var names []string
	for name := range owned {
		if !wanted[name] {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// startedByStatus tells whether the ArtifactWorkflow's status says its
// work began: it names a Workflow, or records a phase past Pending
// (ArtifactWorkflows of earlier releases record no Workflow name).
func startedByStatus(aw *controller.CachedArtifactWorkflow) bool {
	return aw.Status.WorkflowName != "" ||
		(aw.Status.Phase != arcv1.WorkflowPhaseUnknown && aw.Status.Phase != arcv1.WorkflowPhasePending)
}

// workStarted tells whether a Workflow was created for the ArtifactWorkflow.
// An ArtifactWorkflow whose artifact cannot be resolved any more is kept
// only then; one that never started is deleted, so that it does not start
// with Endpoints or Secrets that changed or went away since. It is made
// again once its artifact resolves.
//
// The ArtifactWorkflow controller names a new Workflow in the status only
// once Argo started it, so while the status is empty the Workflow of the
// current run is looked for: in the cache, and, since deleting started work
// would kill it, then on the API server (the Workflow may have been created
// a moment ago). That read happens only for an artifact that stopped
// resolving.
func (c *Controller) workStarted(ctx context.Context, aw *controller.CachedArtifactWorkflow) (bool, error) {
	if startedByStatus(aw) {
		return true, nil
	}
	name := naming.Workflow(aw.Name, aw.Spec.Run)
	if wf, err := c.workflows.Get(aw.Namespace, name); err == nil && controller.IsControlledBy(wf, aw) {
		return true, nil
	}
	wf, err := c.argo.ArgoprojV1alpha1().Workflows(aw.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading Workflow %s of ArtifactWorkflow %s: %w", name, aw.Name, err)
	}
	return controller.IsControlledBy(wf, aw), nil
}

// isGone tells whether a delete found the object gone or replaced.
func isGone(err error) bool {
	return apierrors.IsNotFound(err) || apierrors.IsConflict(err)
}

// errShuttingDown ends a sync cut short by the controller's shutdown.
var errShuttingDown = errors.New("shutting down: the next leader carries on")

// servedUnresolved returns the indexes of the unresolved artifacts aw did
// the work for, matched by identity.
func servedUnresolved(aw *controller.CachedArtifactWorkflow, unresolved []unresolvedArtifact) []int32 {
	identities := identitiesOf(aw)
	var served []int32
	for _, u := range unresolved {
		if slices.Contains(identities, u.identity) {
			served = append(served, u.ArtifactIndex)
		}
	}
	slices.Sort(served)
	return served
}

// nameConflictError reports an ArtifactWorkflow of the wanted name that the
// Order does not control. ARC never touches it.
type nameConflictError struct{ name string }

func (e *nameConflictError) Error() string {
	return fmt.Sprintf("an ArtifactWorkflow named %q already exists and is not controlled by this Order; delete or rename it", e.name)
}

// ensured is what became of one wanted ArtifactWorkflow in a sync.
type ensured struct {
	aw  *controller.CachedArtifactWorkflow
	err error
	// create is the ArtifactWorkflow to create, while it does not exist.
	create *arcv1.ArtifactWorkflow
}

// errNotTried stands for the creates a sync left out after one failed; the
// next sync tries them.
var errNotTried = errors.New("not created yet: an earlier create of this sync failed")

// existingArtifactWorkflow returns the ArtifactWorkflow that exists under
// the name want needs (from the owned ones or the cache), nil if none does.
// One of that name the Order does not control is a nameConflictError.
func (c *Controller) existingArtifactWorkflow(order *arcv1.Order, want *desiredArtifactWorkflow, existing *controller.CachedArtifactWorkflow) (*controller.CachedArtifactWorkflow, error) {
	if existing != nil {
		return existing, nil
	}
	other, err := c.artifactWorkflows.Get(order.Namespace, want.name)
	if err != nil {
		// None in the cache: it is created (see createArtifactWorkflow).
		return nil, nil
	}
	if !controller.IsControlledBy(other, order) {
		return nil, &nameConflictError{name: want.name}
	}
	return other, nil
}

// createMissing creates the ArtifactWorkflows results asks for at the
// indexes missing, in slow-start batches: a large Order is not created one
// by one, and a refusal (a quota) stops after the first few. The creates a
// failure left out get errNotTried, so the sync is retried with backoff and
// starts small again: a refusal that passes (an admission policy being
// reloaded) delays them by milliseconds, one that stays (a full quota)
// costs one create per retry.
func (c *Controller) createMissing(ctx context.Context, order *arcv1.Order, results []ensured, missing []int, done *changes) error {
	_, err := controller.SlowStartBatch(len(missing), controller.SlowStartInitialBatchSize, func(j int) error {
		res := &results[missing[j]]
		if !c.takeCreateSlot(ctx) {
			res.err = errShuttingDown
			return res.err
		}
		defer c.releaseCreateSlot()
		res.aw, res.err = c.createArtifactWorkflow(ctx, order, res.create)
		return res.err
	})
	if errors.Is(err, errShuttingDown) {
		return err
	}
	for _, i := range missing {
		res := &results[i]
		switch {
		case res.aw != nil:
			done.created = append(done.created, fmt.Sprintf("%s (artifact %s)", res.aw.Name, indexOf(res.aw)))
		case res.err == nil:
			res.err = fmt.Errorf("ArtifactWorkflow %s: %w", res.create.Name, errNotTried)
		}
	}
	return err
}

// takeCreateSlot waits for a free create slot (see WithCreatesInFlight)
// and tells whether it got one: false once the controller shuts down.
func (c *Controller) takeCreateSlot(ctx context.Context) bool {
	if controller.ShuttingDown(ctx) {
		return false
	}
	select {
	case c.createSlots <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	if controller.ShuttingDown(ctx) {
		// It stopped while this create waited: leave it to the next leader.
		c.releaseCreateSlot()
		return false
	}
	return true
}

func (c *Controller) releaseCreateSlot() { <-c.createSlots }

// ensureArtifactWorkflow makes sure the existing ArtifactWorkflow has the
// wanted spec, labels and identities, and returns it.
func (c *Controller) ensureArtifactWorkflow(ctx context.Context, order *arcv1.Order, want *desiredArtifactWorkflow, existing *controller.CachedArtifactWorkflow) (*controller.CachedArtifactWorkflow, error) {
	// Most syncs find it as wanted; the wanted object is built only to repair it.
	if upToDate(order, want, existing) {
		return existing, nil
	}
	// Someone edited the ArtifactWorkflow, or the artifacts it serves
	// changed: restore what the Order asks for. The cache holds it without
	// the labels and annotations ARC does not read, and an update must not
	// drop them, so the update starts from the object the API server has
	// (a write that is rare: the repair of an edit, or an Order's change).
	current, err := c.client.ArcV1alpha1().ArtifactWorkflows(order.Namespace).Get(ctx, want.name, metav1.GetOptions{})
	if err != nil {
		return existing, fmt.Errorf("reading ArtifactWorkflow %s to restore it: %w", want.name, err)
	}
	if current.UID != existing.UID {
		return existing, fmt.Errorf("restoring ArtifactWorkflow %s: %w", want.name, errReplaced)
	}
	desired := newArtifactWorkflow(order, want)
	// Which run is wanted and since when belongs to the ArtifactWorkflow,
	// not to what its artifact resolves to.
	desired.Spec.Run, desired.Spec.RunRequestedAt, desired.Spec.QueuedAt = current.Spec.Run, current.Spec.RunRequestedAt, current.Spec.QueuedAt
	wantIdentities := desired.Annotations[controller.AnnotationArtifactIdentities]
	updated := current
	updated.Spec = desired.Spec
	if updated.Labels == nil {
		updated.Labels = map[string]string{}
	}
	for k, v := range desired.Labels {
		updated.Labels[k] = v
	}
	if updated.Annotations == nil {
		updated.Annotations = map[string]string{}
	}
	updated.Annotations[controller.AnnotationArtifactIdentities] = wantIdentities
	result, err := c.client.ArcV1alpha1().ArtifactWorkflows(order.Namespace).Update(ctx, updated, metav1.UpdateOptions{})
	if err != nil {
		return existing, fmt.Errorf("restoring ArtifactWorkflow %s: %w", want.name, err)
	}
	klog.FromContext(ctx).V(2).Info("Restored ArtifactWorkflow", "artifactWorkflow", klog.KObj(result))
	return controller.CacheArtifactWorkflow(result), nil
}

// errReplaced ends a sync that found another object of the name on the API
// server than the cached one it decided on; the cache's update queues the
// Order again.
var errReplaced = errors.New("deleted and made again since the cache saw it; trying again once it has")

func (c *Controller) createArtifactWorkflow(ctx context.Context, order *arcv1.Order, desired *arcv1.ArtifactWorkflow) (*controller.CachedArtifactWorkflow, error) {
	created, err := c.client.ArcV1alpha1().ArtifactWorkflows(order.Namespace).Create(ctx, desired, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// The cache has not seen it yet (for example right after a restart):
		// sync again once it has, and decide then.
		return nil, fmt.Errorf("ArtifactWorkflow %s exists but is not in the cache yet: %w", desired.Name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("creating ArtifactWorkflow %s: %w", desired.Name, err)
	}
	klog.FromContext(ctx).V(2).Info("Created ArtifactWorkflow", "artifactWorkflow", klog.KObj(created))
	return controller.CacheArtifactWorkflow(created), nil
}

func (c *Controller) deleteArtifactWorkflow(ctx context.Context, order *arcv1.Order, aw *controller.CachedArtifactWorkflow, done *changes) error {
	uid := aw.UID
	err := c.client.ArcV1alpha1().ArtifactWorkflows(aw.Namespace).Delete(ctx, aw.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting ArtifactWorkflow %s: %w", aw.Name, err)
	}
	klog.FromContext(ctx).V(2).Info("Deleted ArtifactWorkflow no artifact needs", "artifactWorkflow", klog.KObj(aw))
	done.deleted = append(done.deleted, aw.Name)
	return nil
}

// newArtifactWorkflow returns the ArtifactWorkflow the Order wants for one
// distinct artifact, owned by the Order.
func newArtifactWorkflow(order *arcv1.Order, want *desiredArtifactWorkflow) *arcv1.ArtifactWorkflow {
	return &arcv1.ArtifactWorkflow{
		ObjectMeta: metav1.ObjectMeta{
			Name:      want.name,
			Namespace: order.Namespace,
			Labels: map[string]string{
				arcv1.LabelManagedBy:    arcv1.ManagedByValue,
				arcv1.LabelOrderUID:     string(order.UID),
				arcv1.LabelArtifactHash: want.hash,
			},
			Annotations: map[string]string{
				arcv1.AnnotationOrderName:               order.Name,
				controller.AnnotationArtifactIndex:      fmt.Sprint(want.indices[0]),
				controller.AnnotationArtifactIdentities: want.identitiesAnnotation(),
			},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(order, orderKind)},
		},
		Spec: *want.spec.DeepCopy(),
	}
}

// indexOf is the artifact an ArtifactWorkflow was first created for (the
// annotation controller.AnnotationArtifactIndex), for people and events.
func indexOf(aw *controller.CachedArtifactWorkflow) string {
	return aw.ArtifactIndex()
}

// identitiesOf returns the identities of the artifacts an ArtifactWorkflow
// does the work for (see naming.ArtifactIdentity), from the annotation
// controller.AnnotationArtifactIdentities: what tells it is still needed
// when its artifact cannot be resolved for a while.
func identitiesOf(aw *controller.CachedArtifactWorkflow) []string {
	if v := aw.ArtifactIdentities(); v != "" {
		return strings.Split(v, ",")
	}
	return nil
}

// upToDate tells whether existing is what newArtifactWorkflow would make of
// want as far as ensureArtifactWorkflow restores it: its spec, but for the
// run it is at, the labels ARC sets and the identities it serves. It
// compares field by field instead of building the wanted object.
func upToDate(order *arcv1.Order, want *desiredArtifactWorkflow, existing *controller.CachedArtifactWorkflow) bool {
	return existing.ManagedBy() == arcv1.ManagedByValue &&
		existing.OrderUID() == string(order.UID) &&
		existing.ArtifactHash() == want.hash &&
		existing.ArtifactIdentities() == want.identitiesAnnotation() &&
		sameResolvedSpec(&existing.Spec, &want.spec)
}

// sameResolvedSpec tells whether a and b agree, as equality.Semantic sees
// it, on everything but which run is wanted and since when (Run,
// RunRequestedAt, QueuedAt), which belong to the ArtifactWorkflow.
// TestSameResolvedSpecCoversTheSpec fails when the spec gains a field this
// does not compare.
func sameResolvedSpec(a, b *arcv1.ArtifactWorkflowSpec) bool {
	return a.Type == b.Type &&
		a.SrcEndpoint == b.SrcEndpoint &&
		a.DstEndpoint == b.DstEndpoint &&
		sameSecretRef(a.SrcSecretRef, b.SrcSecretRef) &&
		sameSecretRef(a.DstSecretRef, b.DstSecretRef) &&
		sameParameters(a.Parameters, b.Parameters) &&
		sameCron(a.Cron, b.Cron)
}

func sameSecretRef(a, b *corev1.LocalObjectReference) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func sameCron(a, b *arcv1.Cron) bool {
	if a == nil || b == nil {
		return a == b
	}
	return equality.Semantic.DeepEqual(a, b)
}

// identitiesAnnotation is the value of controller.AnnotationArtifactIdentities for the
// artifacts want serves: their identities, sorted, comma-separated.
func (want *desiredArtifactWorkflow) identitiesAnnotation() string {
	if len(want.identities) == 1 {
		return want.identities[0]
	}
	return strings.Join(slices.Sorted(slices.Values(want.identities)), ",")
}

// reportNewProblems emits a Warning event for every unresolved artifact
// whose problem is new since the last status, so a resync repeats nothing.
func (c *Controller) reportNewProblems(order *arcv1.Order, unresolved []arcv1.UnresolvedArtifact) {
	before := make(map[int32]string, len(order.Status.UnresolvedArtifacts))
	for _, u := range order.Status.UnresolvedArtifacts {
		before[u.ArtifactIndex] = u.Message
	}
	for _, u := range unresolved {
		if msg, ok := before[u.ArtifactIndex]; ok && msg == u.Message {
			continue
		}
		c.recorder.Eventf(order, corev1.EventTypeWarning, u.Reason, "artifact %d: %s", u.ArtifactIndex, u.Message)
	}
}

// writeStatus writes the Order's status if it differs from what is stored.
func (c *Controller) writeStatus(ctx context.Context, order *arcv1.Order, status arcv1.OrderStatus) error {
	if sameStatus(order.Status, status) {
		return nil
	}
	updated := order.DeepCopy()
	updated.Status = status
	_, err := c.client.ArcV1alpha1().Orders(order.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("writing status: %w", err)
	}
	c.ownWrites.Wrote(cache.MetaObjectToName(order), order.ResourceVersion)
	klog.FromContext(ctx).V(2).Info("Wrote status", "phase", status.Phase, "succeeded", status.Succeeded, "failed", status.Failed, "total", status.Total)
	return nil
}

// sameStatus is equality.Semantic.DeepEqual of a and b. It compares the
// entries of the ArtifactWorkflows map itself: that map is most of a
// status, and reflection allocates for every key and value it visits.
func sameStatus(a, b arcv1.OrderStatus) bool {
	if len(a.ArtifactWorkflows) != len(b.ArtifactWorkflows) {
		return false
	}
	for k, va := range a.ArtifactWorkflows {
		vb, ok := b.ArtifactWorkflows[k]
		if !ok || !sameEntry(&va, &vb) {
			return false
		}
	}
	// a and b are copies: the rest is compared without the map.
	a.ArtifactWorkflows, b.ArtifactWorkflows = nil, nil
	return equality.Semantic.DeepEqual(a, b)
}

// sameEntry tells whether two entries of status.artifactWorkflows are equal
// as equality.Semantic sees them (nil and empty DuplicateIndices alike).
// TestSameEntryCoversTheEntry fails when the entry gains a field this does
// not compare.
func sameEntry(a, b *arcv1.OrderArtifactWorkflowStatus) bool {
	return a.Name == b.Name &&
		a.ArtifactIndex == b.ArtifactIndex &&
		a.Phase == b.Phase &&
		a.Message == b.Message &&
		slices.Equal(a.DuplicateIndices, b.DuplicateIndices)
}

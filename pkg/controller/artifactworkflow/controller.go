// Package artifactworkflow implements the ArtifactWorkflow controller: it
// resolves the ArtifactWorkflow's type, checks the endpoint types against the
// type's rules, creates the Argo Workflow that does the work, and mirrors the
// Workflow's progress into the ArtifactWorkflow's status.
package artifactworkflow

import (
	"context"
	"fmt"
	"time"

	argoclient "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	argoinformers "github.com/argoproj/argo-workflows/v3/pkg/client/informers/externalversions/workflow/v1alpha1"
	argolisters "github.com/argoproj/argo-workflows/v3/pkg/client/listers/workflow/v1alpha1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	arcclient "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned"
	arcinformers "github.com/artifact-conduit/arc/pkg/generated/informers/externalversions/arc/v1alpha1"
	arclisters "github.com/artifact-conduit/arc/pkg/generated/listers/arc/v1alpha1"
)

// Name is the controller's name: it names its workqueue, its metrics and its events.
const Name = "artifactworkflow"

// indexByType maps a type name to the ArtifactWorkflows of that type, so a
// change of an ArtifactType or ClusterArtifactType reaches exactly them.
const indexByType = "type"

var artifactWorkflowKind = arcv1.SchemeGroupVersion.WithKind("ArtifactWorkflow")

// orderKind is the kind that must control an ArtifactWorkflow for ARC to act on it.
var orderKind = arcv1.SchemeGroupVersion.WithKind("Order").GroupKind()

// WorkflowSelector selects the Argo Workflows ARC created. The Workflow
// informer watches only those.
var WorkflowSelector = labels.SelectorFromSet(labels.Set{arcv1.LabelManagedBy: arcv1.ManagedByValue})

// Controller turns ArtifactWorkflows into Argo Workflows and reports their progress.
type Controller struct {
	client   arcclient.Interface
	argo     argoclient.Interface
	recorder record.EventRecorder
	clock    clock.PassiveClock
	queue    controller.Queue

	artifactWorkflows   controller.ArtifactWorkflowCache
	artifactWorkflowIdx cache.Indexer
	orders              arclisters.OrderLister
	endpoints           arclisters.EndpointLister
	types               *controller.TypeResolver
	workflows           controller.WorkflowCache
	cronWorkflows       argolisters.CronWorkflowLister
	cacheSynced         []cache.InformerSynced

	// enqueue queues an object's name; its event handlers share it.
	enqueue func(obj interface{})

	// ownWrites keeps a sync from writing the same status twice while the
	// cache still holds the version before its own write.
	ownWrites *controller.OwnWrites

	// admission keeps concurrency limits; see admit.
	admission *admission
	// maxParameterBytes and maxMessageBytes: see WithMaxParameterBytes and WithMaxMessageBytes.
	maxParameterBytes int
	maxMessageBytes   int
	// resyncs queues the periodic resyncs of ArtifactWorkflows.
	resyncs controller.ResyncSpreader
}

// Option changes how New builds the controller.
type Option func(*Controller)

// WithResyncPeriod syncs every cached ArtifactWorkflow again once per period,
// spread over half of it (see controller.ResyncSpreader), to repair
// whatever an event missed. Zero, the default, resyncs nothing.
func WithResyncPeriod(period time.Duration) Option {
	return func(c *Controller) { c.resyncs.Every(period) }
}

// WithMaxParameterBytes bounds the parameters of one Workflow, names and
// values together. The Order controller applies the same bound before an
// ArtifactWorkflow exists; this one guards the Workflow itself.
func WithMaxParameterBytes(n int) Option {
	return func(c *Controller) { c.maxParameterBytes = n }
}

// WithMaxMessageBytes bounds the message copied from a Workflow into the status.
func WithMaxMessageBytes(n int) Option {
	return func(c *Controller) { c.maxMessageBytes = n }
}

// Informers are the informers the ArtifactWorkflow controller reads.
type Informers struct {
	// ArtifactWorkflows must be transformed with controller.SlimARCObject:
	// the controllers read CachedArtifactWorkflows from it.
	ArtifactWorkflows    arcinformers.ArtifactWorkflowInformer
	ArtifactTypes        arcinformers.ArtifactTypeInformer
	ClusterArtifactTypes arcinformers.ClusterArtifactTypeInformer
	// Orders tell which ArtifactWorkflows to trust: only those a live Order controls.
	Orders arcinformers.OrderInformer
	// Namespaces carry the labels ClusterArtifactType namespace selectors match.
	Namespaces coreinformers.NamespaceInformer
	// Endpoints carry the concurrency limits of the work that uses them.
	Endpoints arcinformers.EndpointInformer
	// Workflows must be restricted to WorkflowSelector and slimmed with
	// controller.SlimWorkflow; cmd/arc-controller sets that up. The runs of
	// ARC's CronWorkflows carry ARC's labels, so the informer holds them too.
	Workflows argoinformers.WorkflowInformer
	// CronWorkflows run scheduled work; restricted to WorkflowSelector too.
	CronWorkflows argoinformers.CronWorkflowInformer
}

// New builds the controller and registers its index and event handlers. The
// informers are started by the caller, after every controller is built.
func New(client arcclient.Interface, argo argoclient.Interface, inf Informers, recorder record.EventRecorder, clk clock.PassiveClock, opts ...Option) (*Controller, error) {
	c := &Controller{
		client:              client,
		argo:                argo,
		recorder:            recorder,
		clock:               clk,
		queue:               controller.NewQueue(Name),
		ownWrites:           controller.NewOwnWrites(),
		admission:           newAdmission(),
		endpoints:           inf.Endpoints.Lister(),
		artifactWorkflows:   controller.ArtifactWorkflowCache{Indexer: inf.ArtifactWorkflows.Informer().GetIndexer()},
		artifactWorkflowIdx: inf.ArtifactWorkflows.Informer().GetIndexer(),
		orders:              inf.Orders.Lister(),
		types:               controller.NewTypeResolver(inf.ArtifactTypes.Lister(), inf.ClusterArtifactTypes.Lister(), inf.Namespaces.Lister()),
		workflows:           controller.WorkflowCache{Indexer: inf.Workflows.Informer().GetIndexer()},
		cronWorkflows:       inf.CronWorkflows.Lister(),
		cacheSynced: []cache.InformerSynced{
			inf.CronWorkflows.Informer().HasSynced,
			inf.ArtifactWorkflows.Informer().HasSynced,
			inf.ArtifactTypes.Informer().HasSynced,
			inf.ClusterArtifactTypes.Informer().HasSynced,
			inf.Orders.Informer().HasSynced,
			inf.Namespaces.Informer().HasSynced,
			inf.Endpoints.Informer().HasSynced,
			inf.Workflows.Informer().HasSynced,
		},
		maxParameterBytes: controller.DefaultMaxParameterBytes,
		maxMessageBytes:   controller.DefaultMaxMessageBytes,
	}
	c.enqueue = controller.Enqueuer(c.queue)
	c.resyncs.Queue = c.queue
	for _, opt := range opts {
		opt(c)
	}
	indexers := cache.Indexers{indexByType: typeOfArtifactWorkflow, indexByLimit: limitKeysOf}
	// Both controllers share the ArtifactWorkflow informer; the index may already be there.
	if _, exists := inf.ArtifactWorkflows.Informer().GetIndexer().GetIndexers()[controller.IndexByControllerUID]; !exists {
		indexers[controller.IndexByControllerUID] = controller.ControllerUIDIndexer
	}
	if err := inf.ArtifactWorkflows.Informer().AddIndexers(indexers); err != nil {
		return nil, fmt.Errorf("adding ArtifactWorkflow indexer: %w", err)
	}
	if err := inf.Workflows.Informer().AddIndexers(cache.Indexers{indexByArtifactWorkflow: artifactWorkflowOfWorkflow}); err != nil {
		return nil, fmt.Errorf("adding Workflow indexer: %w", err)
	}
	if err := c.addEventHandlers(inf); err != nil {
		return nil, err
	}
	return c, nil
}

// Worker returns what controller.Run needs to drive this controller.
func (c *Controller) Worker() controller.Worker {
	return controller.Worker{Name: Name, Queue: c.queue, Sync: c.sync, CacheSynced: c.cacheSynced,
		Resync: func(ctx context.Context) { c.resyncs.Run(ctx, c.artifactWorkflowIdx.ListKeys) }}
}

// PhaseCounts counts the cached ArtifactWorkflows per phase, for metrics.
func (c *Controller) PhaseCounts() map[string]int {
	counts := map[string]int{}
	for _, aw := range c.artifactWorkflows.List() {
		counts[string(aw.Status.Phase)]++
	}
	return counts
}

func typeOfArtifactWorkflow(obj interface{}) ([]string, error) {
	aw, ok := obj.(*controller.CachedArtifactWorkflow)
	if !ok {
		return nil, nil
	}
	return []string{aw.Spec.Type}, nil
}

func (c *Controller) addEventHandlers(inf Informers) error {
	return controller.AddEventHandlers(c.eventHandlers(inf)...)
}

// eventHandlers is the controller's table of informer events and what
// each leads to. No informer resyncs (controller.AddEventHandlers); the
// controller's ResyncSpreader does.
func (c *Controller) eventHandlers(inf Informers) []controller.InformerHandler {
	return []controller.InformerHandler{
		{Informer: inf.ArtifactWorkflows.Informer(), Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueue,
			UpdateFunc: c.updateArtifactWorkflow,
			DeleteFunc: c.deleteArtifactWorkflow,
		}},
		{Informer: inf.Workflows.Informer(), Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    c.addWorkflow,
			UpdateFunc: c.updateWorkflow,
			DeleteFunc: c.deleteWorkflow,
		}},
		{Informer: inf.CronWorkflows.Informer(), Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueueOwner,
			UpdateFunc: c.updateCronWorkflow,
			DeleteFunc: c.enqueueOwner,
		}},
		{Informer: inf.Orders.Informer(), Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj interface{}) { c.enqueueListedBy(nil, obj) },
			UpdateFunc: c.updateOrder,
		}},
		{Informer: inf.Endpoints.Informer(), Handler: cache.ResourceEventHandlerFuncs{
			UpdateFunc: c.updateEndpoint,
		}},
		{Informer: inf.ArtifactTypes.Informer(), Handler: controller.SpecHandlers(c.enqueueWaitingOfType)},
		{Informer: inf.ClusterArtifactTypes.Informer(), Handler: controller.SpecHandlers(c.enqueueWaitingOfType)},
	}
}

// updateArtifactWorkflow enqueues on spec changes, and skips the update
// events of the controller's own status writes, except the one a sync
// waited for (see OwnWrites).
func (c *Controller) updateArtifactWorkflow(oldObj, newObj interface{}) {
	oldAW, okOld := oldObj.(*controller.CachedArtifactWorkflow)
	newAW, okNew := newObj.(*controller.CachedArtifactWorkflow)
	if !okOld || !okNew {
		return
	}
	if c.ownWrites.Observed(cache.MetaObjectToName(newAW), newAW.ResourceVersion) {
		// A sync skipped while the cache lagged behind a status write.
		c.enqueue(newObj)
		return
	}
	if oldAW.Generation != newAW.Generation {
		c.enqueue(newObj)
	}
}

// deleteArtifactWorkflow drops what ownWrites knows of a deleted
// ArtifactWorkflow, queues it so its Workflows lose ARC's finalizer, and
// wakes the work that waited for its slots.
func (c *Controller) deleteArtifactWorkflow(obj interface{}) {
	m := controller.ObjectMeta(obj)
	if m == nil {
		return
	}
	c.ownWrites.Forget(cache.MetaObjectToName(m))
	c.enqueue(obj)
	if aw, ok := controller.AsCachedArtifactWorkflow(obj); ok {
		c.wakeWaiting(aw)
	}
}

// addWorkflow ends the reservation of a Workflow ARC created and queues its owner.
func (c *Controller) addWorkflow(obj interface{}) {
	if m := controller.ObjectMeta(obj); m != nil {
		c.admission.observed(cache.MetaObjectToName(m))
	}
	c.enqueueOwner(obj)
}

// deleteWorkflow queues the owner, which records a result or a loss, and
// wakes the work that waited for the Workflow's slot.
func (c *Controller) deleteWorkflow(obj interface{}) {
	c.enqueueOwner(obj)
	c.wakeOwnersWaiting(obj)
}

// wakeOwnersWaiting wakes the work waiting for a slot of any limit the
// Workflow's ArtifactWorkflow is subject to.
func (c *Controller) wakeOwnersWaiting(obj interface{}) {
	m := controller.ObjectMeta(obj)
	if m == nil {
		return
	}
	owner, _, ok := controller.ControllerOf(m, artifactWorkflowKind.GroupKind())
	if !ok {
		return
	}
	if aw, err := c.artifactWorkflows.Get(owner.Namespace, owner.Name); err == nil {
		c.wakeWaiting(aw)
	}
}

// wakeWaiting queues every ArtifactWorkflow that waits for a limit aw is
// subject to: a slot may have come free. Only the first in line take it.
func (c *Controller) wakeWaiting(aw *controller.CachedArtifactWorkflow) {
	keys, _ := limitKeysOf(aw)
	for _, key := range keys {
		c.enqueueWaitingOf(key)
	}
}

// enqueueWaitingOf queues the ArtifactWorkflows of a limit key that wait.
func (c *Controller) enqueueWaitingOf(key string) {
	objs, err := c.artifactWorkflowIdx.ByIndex(indexByLimit, key)
	if err != nil {
		return
	}
	for _, obj := range objs {
		if m, ok := obj.(*controller.CachedArtifactWorkflow); ok && m.Status.Phase == arcv1.WorkflowPhasePending && m.Status.WorkflowName == "" {
			c.queue.Add(cache.MetaObjectToName(m))
		}
	}
}

// updateOrder queues what an Order's update concerns: the ArtifactWorkflows
// its status newly lists, and all of its ArtifactWorkflows when it was
// suspended or resumed (which pauses or resumes its schedules too) or its
// parallelism changed.
func (c *Controller) updateOrder(oldObj, newObj interface{}) {
	c.enqueueListedBy(oldObj, newObj)
	oldOrder, okOld := oldObj.(*arcv1.Order)
	newOrder, okNew := newObj.(*arcv1.Order)
	if !okOld || !okNew || (oldOrder.Spec.Suspend == newOrder.Spec.Suspend &&
		equality.Semantic.DeepEqual(oldOrder.Spec.Parallelism, newOrder.Spec.Parallelism)) {
		return
	}
	objs, err := c.artifactWorkflowIdx.ByIndex(controller.IndexByControllerUID, string(newOrder.UID))
	if err != nil {
		return
	}
	for _, obj := range objs {
		c.enqueue(obj)
	}
}

// updateEndpoint wakes the work waiting for an Endpoint whose limit changed.
func (c *Controller) updateEndpoint(oldObj, newObj interface{}) {
	oldEP, okOld := oldObj.(*arcv1.Endpoint)
	newEP, okNew := newObj.(*arcv1.Endpoint)
	if !okOld || !okNew || equality.Semantic.DeepEqual(oldEP.Spec.MaxConcurrentWorkflows, newEP.Spec.MaxConcurrentWorkflows) {
		return
	}
	c.enqueueWaitingOf(endpointLimitKey(newEP.Namespace, newEP.Name))
}

// enqueueOwner enqueues the ArtifactWorkflow that controls a Workflow or
// CronWorkflow, or whose scheduled run a Workflow is: Argo's CronWorkflow
// controls those, and ARC's label names the ArtifactWorkflow. (The sync
// trusts a run only if the CronWorkflow the ArtifactWorkflow controls
// controls it, so a forged label gains nothing but a sync.)
func (c *Controller) enqueueOwner(obj interface{}) {
	m := controller.ObjectMeta(obj)
	if m == nil {
		return
	}
	if owner, _, ok := controller.ControllerOf(m, artifactWorkflowKind.GroupKind()); ok {
		c.queue.Add(owner)
		return
	}
	if _, _, ok := controller.ControllerOf(m, cronWorkflowKind); ok {
		if name := artifactWorkflowLabel(obj); name != "" {
			c.queue.Add(cache.ObjectName{Namespace: m.GetNamespace(), Name: name})
		}
	}
}

// updateCronWorkflow enqueues the owner when the CronWorkflow changed:
// Argo writes its status when a run starts or ends.
func (c *Controller) updateCronWorkflow(oldObj, newObj interface{}) {
	oldM, newM := controller.ObjectMeta(oldObj), controller.ObjectMeta(newObj)
	if oldM == nil || newM == nil || oldM.GetResourceVersion() == newM.GetResourceVersion() {
		return
	}
	c.enqueueOwner(newObj)
}

// updateWorkflow enqueues the owner only when something ARC mirrors changed.
// Argo updates a running Workflow often (node status); those are skipped.
func (c *Controller) updateWorkflow(oldObj, newObj interface{}) {
	oldWF, okOld := oldObj.(*controller.CachedWorkflow)
	newWF, okNew := newObj.(*controller.CachedWorkflow)
	if !okOld || !okNew || oldWF.ResourceVersion == newWF.ResourceVersion {
		return
	}
	if equality.Semantic.DeepEqual(oldWF.Status, newWF.Status) &&
		equality.Semantic.DeepEqual(oldWF.OwnerReferences, newWF.OwnerReferences) &&
		equality.Semantic.DeepEqual(oldWF.DeletionTimestamp, newWF.DeletionTimestamp) {
		return
	}
	c.enqueueOwner(newObj)
	if workflowFinished(newWF) && !workflowFinished(oldWF) {
		c.wakeOwnersWaiting(newObj)
	}
}

// enqueueListedBy queues the ArtifactWorkflows an Order's status lists and
// its former status did not: they may wait for that listing before ARC acts
// on them (see ownedByLiveOrder). Phase changes of listed ones are skipped.
func (c *Controller) enqueueListedBy(oldObj, newObj interface{}) {
	order, ok := newObj.(*arcv1.Order)
	if !ok {
		return
	}
	old, _ := oldObj.(*arcv1.Order)
	for key, e := range order.Status.ArtifactWorkflows {
		if old == nil || !listedBy(old, key, e.Name) {
			c.queue.Add(cache.ObjectName{Namespace: order.Namespace, Name: e.Name})
		}
	}
}

// enqueueWaitingOfType enqueues the ArtifactWorkflows of a type's name that
// have no Workflow yet: only they depend on the type. A namespaced type
// affects its own namespace; a cluster type affects every namespace.
func (c *Controller) enqueueWaitingOfType(obj interface{}) {
	for _, m := range controller.DependentsOfType(c.artifactWorkflowIdx, indexByType, obj) {
		if aw, ok := m.(*controller.CachedArtifactWorkflow); ok && aw.Status.Phase == arcv1.WorkflowPhaseUnknown {
			c.queue.Add(cache.MetaObjectToName(aw))
		}
	}
}

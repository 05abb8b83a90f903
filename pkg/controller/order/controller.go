// Package order implements the Order controller: for every artifact of an
// Order it resolves the Endpoints, derives the workflow parameters and keeps
// exactly one ArtifactWorkflow per distinct artifact, then reports the
// progress of those ArtifactWorkflows in the Order's status.
package order

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	argoclient "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	wfinformers "github.com/argoproj/argo-workflows/v3/pkg/client/informers/externalversions/workflow/v1alpha1"
	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	arcclient "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned"
	arcinformers "github.com/artifact-conduit/arc/pkg/generated/informers/externalversions/arc/v1alpha1"
	arclisters "github.com/artifact-conduit/arc/pkg/generated/listers/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/schedule"
)

// Name is the controller's name: it names its workqueue, its metrics and its events.
const Name = "order"

// Index names.
const (
	// indexByEndpoint maps "namespace/endpoint" to the Orders that refer to it.
	indexByEndpoint = "endpoint"
	// indexBySecret maps "namespace/secret" to the Endpoints that refer to it.
	indexBySecret = "secret"
	// indexByType maps a type name to the Orders with an artifact of that
	// type, in any namespace: a ClusterArtifactType serves every namespace.
	indexByType = "type"
)

var orderKind = arcv1.SchemeGroupVersion.WithKind("Order")

// Controller keeps the ArtifactWorkflows of Orders in step with their artifacts.
type Controller struct {
	client arcclient.Interface
	// argo reads a Workflow the cache does not have yet, before deleting
	// work that may have just started.
	argo     argoclient.Interface
	recorder record.EventRecorder
	clock    clock.PassiveClock
	queue    controller.Queue

	orders                arclisters.OrderLister
	orderIndex            cache.Indexer
	artifactWorkflows     controller.ArtifactWorkflowCache
	artifactWorkflowIndex cache.Indexer
	endpoints             arclisters.EndpointLister
	endpointIndex         cache.Indexer
	secrets               cache.GenericLister
	workflows             controller.WorkflowCache
	types                 *controller.TypeResolver
	// enqueueOrder queues an Order's name; the event handlers share it.
	enqueueOrder func(obj interface{})
	cacheSynced  []cache.InformerSynced

	// maxParameterBytes bounds the parameters of one artifact; see WithMaxParameterBytes.
	maxParameterBytes int
	// maxMessageBytes bounds each message the status copies; see WithMaxMessageBytes.
	maxMessageBytes int

	// statusBatchPeriod delays the sync an ArtifactWorkflow event asks of
	// its Order; see WithStatusBatchPeriod.
	statusBatchPeriod time.Duration
	// createSlots holds a token for every ArtifactWorkflow create in
	// flight, over all workers; see WithCreatesInFlight.
	createSlots chan struct{}
	// resyncs queues the periodic resyncs of Orders.
	resyncs controller.ResyncSpreader
	// ownWrites keeps a sync from working on the Order its own status
	// write replaced while the cache has not caught up with the write. An
	// Order of 1,000 artifacts is a write of a quarter megabyte, and its
	// watch event takes long enough that ArtifactWorkflow events sync it
	// in between: each such sync wrote the status again, and lost to a
	// conflict (115 of 273 status writes in a run of four such Orders).
	ownWrites *controller.OwnWrites
	// argoProgress tells a busy Argo from one that is down; see notStartedByArgo.
	argoProgress *controller.ArgoProgress

	// minScheduleInterval is the least time between two runs of a
	// schedule; see WithMinScheduleInterval.
	minScheduleInterval time.Duration
	// schedules remembers which schedules were checked; see scheduleCache.
	schedules scheduleCache
	// memos remembers what each Order's artifacts derived; see planMemos.
	memos planMemos

	// queuedMu guards lastQueued, the last time queuedAt handed out.
	queuedMu   sync.Mutex
	lastQueued time.Time
}

// queuedAt is the time a new run is asked for, strictly later than any
// handed out before by this process: runs asked for in one sync, or in two
// syncs within a microsecond, keep their order in the queue of a
// concurrency limit.
func (c *Controller) queuedAt() *metav1.MicroTime {
	c.queuedMu.Lock()
	defer c.queuedMu.Unlock()
	now := c.clock.Now().Truncate(time.Microsecond)
	if !now.After(c.lastQueued) {
		now = c.lastQueued.Add(time.Microsecond)
	}
	c.lastQueued = now
	t := metav1.NewMicroTime(now)
	return &t
}

// Option changes how New builds the controller.
type Option func(*Controller)

// WithResyncPeriod syncs every cached Order again once per period,
// spread over half of it (see controller.ResyncSpreader), to repair
// whatever an event missed. Zero, the default, resyncs nothing.
func WithResyncPeriod(period time.Duration) Option {
	return func(c *Controller) { c.resyncs.Every(period) }
}

// WithStatusBatchPeriod makes an event of an ArtifactWorkflow sync its Order
// only after period, so that the phase changes of many ArtifactWorkflows of
// one Order in that window cost one sync and one status write instead of one
// each (the workqueue keeps a key that waits once). The Job controller
// batches its pod events the same way. Events of the Order itself, its
// Endpoints and Secrets are not delayed. Zero, the default, syncs at once.
func WithStatusBatchPeriod(period time.Duration) Option {
	return func(c *Controller) { c.statusBatchPeriod = period }
}

// DefaultCreatesInFlight is how many ArtifactWorkflow creates the Order
// controller has in flight at most, over all its workers.
//
// Each sync creates an Order's missing ArtifactWorkflows in batches of up
// to controller.MaxBatchSize, so without a bound of their own four workers
// on four Orders of 1,000 artifacts kept 128 creates open. On a two-core
// API server the watches of ArtifactWorkflows then fell behind and were
// closed as unresponsive (ARC's reopened 25 times during the creates of one
// run, 4 with this bound), and the cache's lag made creates fail with
// AlreadyExists (25, none with the bound). Sixteen is what four workers
// have open on Orders of ten artifacts, where none of that happens.
const DefaultCreatesInFlight = 16

// WithCreatesInFlight bounds the ArtifactWorkflow creates in flight over
// all workers (DefaultCreatesInFlight by default); n < 1 is taken as 1.
func WithCreatesInFlight(n int) Option {
	return func(c *Controller) { c.createSlots = make(chan struct{}, max(n, 1)) }
}

// WithMaxParameterBytes bounds the parameters of one artifact, names and
// values together, its type's parameters included
// (controller.DefaultMaxParameterBytes by default). An artifact over the bound does not start, and its Order says
// why: it would otherwise multiply into an ArtifactWorkflow and a Workflow of
// that size, and into every pod of the Workflow.
func WithMaxParameterBytes(n int) Option {
	return func(c *Controller) { c.maxParameterBytes = n }
}

// WithMaxMessageBytes bounds each message the Order's status copies from an
// ArtifactWorkflow or writes for an unresolved artifact
// (controller.DefaultMaxMessageBytes by default).
func WithMaxMessageBytes(n int) Option {
	return func(c *Controller) { c.maxMessageBytes = n }
}

// WithMinScheduleInterval sets the least time between two runs of an
// artifact's schedule (schedule.DefaultMinInterval by default). An artifact
// whose schedules fire more often does not start, and its Order says why.
func WithMinScheduleInterval(d time.Duration) Option {
	return func(c *Controller) { c.minScheduleInterval = d }
}

// Informers are the informers the Order controller reads.
type Informers struct {
	Orders arcinformers.OrderInformer
	// ArtifactWorkflows must be transformed with controller.SlimARCObject:
	// the controllers read CachedArtifactWorkflows from it.
	ArtifactWorkflows arcinformers.ArtifactWorkflowInformer
	Endpoints         arcinformers.EndpointInformer
	// Secrets is a metadata-only informer: the controller only needs to know
	// that a Secret exists, and never holds Secret data.
	Secrets informers.GenericInformer
	// The types and the namespaces' labels decide which type an artifact
	// uses, whether it is offered to the Order's namespace and which schema
	// its spec must satisfy.
	ArtifactTypes        arcinformers.ArtifactTypeInformer
	ClusterArtifactTypes arcinformers.ClusterArtifactTypeInformer
	Namespaces           coreinformers.NamespaceInformer
	// Workflows tell whether the work of an ArtifactWorkflow whose status
	// is still empty began (the ArtifactWorkflow controller's informer).
	Workflows wfinformers.WorkflowInformer
}

// New builds the controller and registers its indexes and event handlers.
// The informers are started by the caller, after every controller is built.
func New(client arcclient.Interface, argo argoclient.Interface, inf Informers, recorder record.EventRecorder, clk clock.PassiveClock, opts ...Option) (*Controller, error) {
	c := &Controller{
		client:                client,
		argo:                  argo,
		recorder:              recorder,
		clock:                 clk,
		queue:                 controller.NewQueue(Name),
		orders:                inf.Orders.Lister(),
		orderIndex:            inf.Orders.Informer().GetIndexer(),
		artifactWorkflows:     controller.ArtifactWorkflowCache{Indexer: inf.ArtifactWorkflows.Informer().GetIndexer()},
		artifactWorkflowIndex: inf.ArtifactWorkflows.Informer().GetIndexer(),
		endpoints:             inf.Endpoints.Lister(),
		endpointIndex:         inf.Endpoints.Informer().GetIndexer(),
		secrets:               inf.Secrets.Lister(),
		workflows:             controller.WorkflowCache{Indexer: inf.Workflows.Informer().GetIndexer()},
		types:                 controller.NewTypeResolver(inf.ArtifactTypes.Lister(), inf.ClusterArtifactTypes.Lister(), inf.Namespaces.Lister()),
		cacheSynced: []cache.InformerSynced{
			inf.Orders.Informer().HasSynced,
			inf.ArtifactWorkflows.Informer().HasSynced,
			inf.Endpoints.Informer().HasSynced,
			inf.Secrets.Informer().HasSynced,
			inf.ArtifactTypes.Informer().HasSynced,
			inf.ClusterArtifactTypes.Informer().HasSynced,
			inf.Namespaces.Informer().HasSynced,
			inf.Workflows.Informer().HasSynced,
		},
		maxParameterBytes: controller.DefaultMaxParameterBytes,
		maxMessageBytes:   controller.DefaultMaxMessageBytes,

		minScheduleInterval: schedule.DefaultMinInterval,
		argoProgress:        controller.NewArgoProgress(),
		ownWrites:           controller.NewOwnWrites(),
		createSlots:         make(chan struct{}, DefaultCreatesInFlight),
	}
	c.enqueueOrder = controller.Enqueuer(c.queue)
	c.resyncs.Queue = c.queue
	for _, opt := range opts {
		opt(c)
	}
	if err := addIndexers(inf); err != nil {
		return nil, err
	}
	if err := c.addEventHandlers(inf); err != nil {
		return nil, err
	}
	return c, nil
}

// Worker returns what controller.Run needs to drive this controller.
func (c *Controller) Worker() controller.Worker {
	return controller.Worker{Name: Name, Queue: c.queue, Sync: c.sync, CacheSynced: c.cacheSynced,
		Resync: func(ctx context.Context) { c.resyncs.Run(ctx, c.orderIndex.ListKeys) }}
}

// PhaseCounts counts the cached Orders per phase, for metrics.
func (c *Controller) PhaseCounts() map[string]int {
	counts := map[string]int{}
	orders, _ := c.orders.List(everything)
	for _, o := range orders {
		counts[string(o.Status.Phase)]++
	}
	return counts
}

func addIndexers(inf Informers) error {
	if err := inf.Orders.Informer().AddIndexers(cache.Indexers{indexByEndpoint: endpointKeysOfOrder, indexByType: typesOfOrder}); err != nil {
		return fmt.Errorf("adding Order indexer: %w", err)
	}
	if err := inf.Endpoints.Informer().AddIndexers(cache.Indexers{indexBySecret: secretKeysOfEndpoint}); err != nil {
		return fmt.Errorf("adding Endpoint indexer: %w", err)
	}
	// Both controllers share the ArtifactWorkflow informer; the index may already be there.
	if _, exists := inf.ArtifactWorkflows.Informer().GetIndexer().GetIndexers()[controller.IndexByControllerUID]; !exists {
		if err := inf.ArtifactWorkflows.Informer().AddIndexers(cache.Indexers{controller.IndexByControllerUID: controller.ControllerUIDIndexer}); err != nil {
			return fmt.Errorf("adding ArtifactWorkflow indexer: %w", err)
		}
	}
	return nil
}

// endpointKeysOfOrder indexes an Order by every Endpoint it refers to, so an
// Endpoint event reaches exactly the Orders that use it.
func endpointKeysOfOrder(obj interface{}) ([]string, error) {
	order, ok := obj.(*arcv1.Order)
	if !ok {
		return nil, nil
	}
	seen := map[string]struct{}{}
	add := func(ref *corev1.LocalObjectReference) {
		if ref != nil && ref.Name != "" {
			seen[order.Namespace+"/"+ref.Name] = struct{}{}
		}
	}
	if d := order.Spec.Defaults; d != nil {
		add(d.SrcRef)
		add(d.DstRef)
	}
	for i := range order.Spec.Artifacts {
		add(order.Spec.Artifacts[i].SrcRef)
		add(order.Spec.Artifacts[i].DstRef)
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	return keys, nil
}

// typesOfOrder indexes an Order by the names of its artifacts' types.
func typesOfOrder(obj interface{}) ([]string, error) {
	order, ok := obj.(*arcv1.Order)
	if !ok {
		return nil, nil
	}
	var names []string
	for i := range order.Spec.Artifacts {
		if name := order.Spec.Artifacts[i].Type; !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names, nil
}

// secretKeysOfEndpoint indexes an Endpoint by the Secret it refers to.
func secretKeysOfEndpoint(obj interface{}) ([]string, error) {
	ep, ok := obj.(*arcv1.Endpoint)
	if !ok || ep.Spec.SecretRef == nil || ep.Spec.SecretRef.Name == "" {
		return nil, nil
	}
	return []string{ep.Namespace + "/" + ep.Spec.SecretRef.Name}, nil
}

func (c *Controller) addEventHandlers(inf Informers) error {
	return controller.AddEventHandlers(c.eventHandlers(inf)...)
}

// eventHandlers is the controller's table of informer events and what
// each leads to. No informer resyncs (controller.AddEventHandlers); the
// controller's ResyncSpreader does.
func (c *Controller) eventHandlers(inf Informers) []controller.InformerHandler {
	return []controller.InformerHandler{
		{Informer: inf.Orders.Informer(), Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueueOrder,
			UpdateFunc: c.updateOrder,
			DeleteFunc: c.deleteOrder,
		}},
		{Informer: inf.ArtifactWorkflows.Informer(), Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueueOwnerOrder,
			UpdateFunc: c.updateArtifactWorkflow,
			DeleteFunc: c.enqueueOwnerOrder,
		}},
		{Informer: inf.Endpoints.Informer(), Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueueOrdersOfEndpoint,
			UpdateFunc: c.updateEndpoint,
			DeleteFunc: c.enqueueOrdersOfEndpoint,
		}},
		// Only the existence of a Secret matters, so updates are ignored.
		{Informer: inf.Secrets.Informer(), Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueueOrdersOfSecret,
			DeleteFunc: c.enqueueOrdersOfSecret,
		}},
		{Informer: inf.ArtifactTypes.Informer(), Handler: controller.SpecHandlers(c.enqueueOrdersOfType)},
		{Informer: inf.ClusterArtifactTypes.Informer(), Handler: controller.SpecHandlers(c.enqueueOrdersOfType)},
		// Labels decide which ClusterArtifactTypes a namespace is offered.
		{Informer: inf.Namespaces.Informer(), Handler: cache.ResourceEventHandlerFuncs{
			UpdateFunc: c.updateNamespace,
			DeleteFunc: c.forgetNamespace,
		}},
		// A Workflow's start tells that Argo is working in its namespace;
		// a new one Argo may not start in time.
		{Informer: inf.Workflows.Informer(), Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueueOrderOfNewWorkflow,
			UpdateFunc: c.recordArgoStart,
		}},
	}
}

// updateOrder enqueues on spec changes and deletion, and skips the update
// events of the controller's own status writes, except the one a sync
// waited for (see OwnWrites).
func (c *Controller) updateOrder(oldObj, newObj interface{}) {
	oldOrder, okOld := oldObj.(*arcv1.Order)
	newOrder, okNew := newObj.(*arcv1.Order)
	if !okOld || !okNew {
		return
	}
	// Re-run requests are annotations: they do not move the generation.
	statusOnly := oldOrder.ResourceVersion != newOrder.ResourceVersion &&
		oldOrder.Generation == newOrder.Generation &&
		equality.Semantic.DeepEqual(oldOrder.DeletionTimestamp, newOrder.DeletionTimestamp) &&
		oldOrder.Annotations[arcv1.AnnotationForceAt] == newOrder.Annotations[arcv1.AnnotationForceAt] &&
		oldOrder.Annotations[arcv1.AnnotationRerunFailedAt] == newOrder.Annotations[arcv1.AnnotationRerunFailedAt]
	key := cache.MetaObjectToName(newOrder)
	switch {
	case oldOrder.ResourceVersion == newOrder.ResourceVersion:
		// Nothing changed; the resyncs come from c.resyncs.
	case !statusOnly:
		c.enqueueOrder(newObj)
	case c.ownWrites.Observed(key, newOrder.ResourceVersion):
		// A sync skipped while the cache lagged behind our status write.
		c.queue.Add(key)
	}
}

// enqueueOwnerOrder enqueues the Order that controls an ArtifactWorkflow,
// after the status batch period.
func (c *Controller) enqueueOwnerOrder(obj interface{}) {
	m := controller.ObjectMeta(obj)
	if m == nil {
		return
	}
	owner, _, ok := controller.ControllerOf(m, orderKind.GroupKind())
	switch {
	case !ok:
	case c.statusBatchPeriod > 0:
		c.queue.AddAfter(owner, c.statusBatchPeriod)
	default:
		c.queue.Add(owner)
	}
}

// updateArtifactWorkflow enqueues the owner Order when what the Order
// reports about the ArtifactWorkflow, or the ArtifactWorkflow itself, changed.
func (c *Controller) updateArtifactWorkflow(oldObj, newObj interface{}) {
	oldAW, okOld := oldObj.(*controller.CachedArtifactWorkflow)
	newAW, okNew := newObj.(*controller.CachedArtifactWorkflow)
	if !okOld || !okNew || oldAW.ResourceVersion == newAW.ResourceVersion {
		return
	}
	if oldAW.Status.Phase == newAW.Status.Phase &&
		oldAW.Status.Message == newAW.Status.Message &&
		oldAW.Status.Run == newAW.Status.Run &&
		oldAW.Generation == newAW.Generation &&
		oldAW.SameARCMetadata(newAW) &&
		equality.Semantic.DeepEqual(oldAW.OwnerReferences, newAW.OwnerReferences) &&
		equality.Semantic.DeepEqual(oldAW.DeletionTimestamp, newAW.DeletionTimestamp) {
		return
	}
	c.enqueueOwnerOrder(newObj)
	if !equality.Semantic.DeepEqual(oldAW.OwnerReferences, newAW.OwnerReferences) {
		c.enqueueOwnerOrder(oldObj)
	}
}

func (c *Controller) updateEndpoint(oldObj, newObj interface{}) {
	oldEP, okOld := oldObj.(*arcv1.Endpoint)
	newEP, okNew := newObj.(*arcv1.Endpoint)
	if !okOld || !okNew || equality.Semantic.DeepEqual(oldEP.Spec, newEP.Spec) {
		return
	}
	c.enqueueOrdersOfEndpoint(newObj)
}

func (c *Controller) enqueueOrdersOfEndpoint(obj interface{}) {
	m := controller.ObjectMeta(obj)
	if m == nil {
		return
	}
	c.enqueueByIndex(c.orderIndex, indexByEndpoint, m.GetNamespace()+"/"+m.GetName())
}

// enqueueOrdersOfSecret follows Secret -> Endpoints -> Orders through the
// indexes, so a Secret event never lists all Orders.
func (c *Controller) enqueueOrdersOfSecret(obj interface{}) {
	m := controller.ObjectMeta(obj)
	if m == nil {
		return
	}
	endpoints, err := c.endpointIndex.ByIndex(indexBySecret, m.GetNamespace()+"/"+m.GetName())
	if err != nil {
		return
	}
	for _, ep := range endpoints {
		c.enqueueOrdersOfEndpoint(ep)
	}
}

// enqueueOrdersOfType enqueues the Orders with an artifact of the type's
// name: in the type's namespace for an ArtifactType, everywhere for a
// ClusterArtifactType.
func (c *Controller) enqueueOrdersOfType(obj interface{}) {
	for _, order := range controller.DependentsOfType(c.orderIndex, indexByType, obj) {
		c.enqueueOrder(order)
	}
}

// updateNamespace enqueues a namespace's Orders when its labels change,
// which may offer a ClusterArtifactType to it or take one away.
func (c *Controller) updateNamespace(oldObj, newObj interface{}) {
	oldM, newM := controller.ObjectMeta(oldObj), controller.ObjectMeta(newObj)
	if oldM == nil || newM == nil || equality.Semantic.DeepEqual(oldM.GetLabels(), newM.GetLabels()) {
		return
	}
	c.enqueueByIndex(c.orderIndex, cache.NamespaceIndex, newM.GetName())
}

func (c *Controller) enqueueByIndex(indexer cache.Indexer, index, key string) {
	objs, err := indexer.ByIndex(index, key)
	if err != nil {
		return
	}
	for _, obj := range objs {
		c.enqueueOrder(obj)
	}
}

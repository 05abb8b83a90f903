package main

import (
	"context"
	"errors"
	"sync"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	argoversioned "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	argoinformers "github.com/argoproj/argo-workflows/v3/pkg/client/informers/externalversions"
	argoinformersv1 "github.com/argoproj/argo-workflows/v3/pkg/client/informers/externalversions/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/controller/artifactworkflow"
	"github.com/artifact-conduit/arc/pkg/controller/order"
	arcversioned "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned"
	arcinformers "github.com/artifact-conduit/arc/pkg/generated/informers/externalversions"
	arcinformersv1 "github.com/artifact-conduit/arc/pkg/generated/informers/externalversions/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/metrics"
)

// informerFactory is what the controller context needs of an informer
// factory. Those that can also shut down their informers (Argo's cannot)
// are shut down when the controllers stop.
type informerFactory interface {
	Start(stopCh <-chan struct{})
}

// controllerContext is everything the controllers share, built before any
// of it starts, as kube-controller-manager's controller context is: the
// informer factories, whose informers every controller registers its
// indexes and handlers on before they run, the event recorder, and the
// controllers themselves.
type controllerContext struct {
	events      kubernetes.Interface
	broadcaster record.EventBroadcaster
	factories   []informerFactory
	workers     []workerSet
}

// workerSet is one controller and how many keys it syncs in parallel.
type workerSet struct {
	worker  controller.Worker
	threads int
}

// workflowListOptions restricts the Workflow informer to the Workflows ARC
// made.
func workflowListOptions(lo *metav1.ListOptions) {
	lo.LabelSelector = artifactworkflow.WorkflowSelector.String()
}

// registerWithoutNamespaceIndex registers the informers of the two kinds
// ARC caches one of per artifact, ArtifactWorkflows and Workflows, without
// the namespace index the generated informers give every kind: no sync
// lists them by namespace (a namespaced lister would still work, by a
// scan), and the index holds an entry per object, about 50 bytes each. It
// must run before anything asks the factories for these informers, which
// then return the ones registered here.
func registerWithoutNamespaceIndex(arc arcinformers.SharedInformerFactory, argo argoinformers.SharedInformerFactory, namespace string, tweakWorkflows func(*metav1.ListOptions)) {
	// Each informer gets a map of its own: AddIndexers adds to it.
	arc.InformerFor(&arcv1.ArtifactWorkflow{}, func(c arcversioned.Interface, resync time.Duration) cache.SharedIndexInformer {
		return arcinformersv1.NewFilteredArtifactWorkflowInformer(c, namespace, resync, cache.Indexers{}, nil)
	})
	argo.InformerFor(&wfv1.Workflow{}, func(c argoversioned.Interface, resync time.Duration) cache.SharedIndexInformer {
		return argoinformersv1.NewFilteredWorkflowInformer(c, namespace, resync, cache.Indexers{}, tweakWorkflows)
	})
}

// runControllers builds both controllers, starts the informers they share,
// and runs them until ctx ends.
func runControllers(ctx context.Context, cl *clients, o options, ready *readiness) error {
	cc, err := buildControllers(cl, o)
	if err != nil {
		return err
	}
	return cc.run(ctx, o, ready)
}

// buildControllers builds the informer factories, the event recorder and
// both controllers. Nothing runs yet.
func buildControllers(cl *clients, o options) (*controllerContext, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := arcv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	cc := &controllerContext{events: cl.events, broadcaster: record.NewBroadcaster()}
	recorder := cc.broadcaster.NewRecorder(scheme, corev1.EventSource{Component: "arc-controller"})

	// No informer resyncs: each controller resyncs its own kind from its
	// cache on a timer (controller.ResyncSpreader), so that a resync never
	// stands in front of an informer's events.
	const noInformerResync = 0
	arcFactory := arcinformers.NewSharedInformerFactoryWithOptions(cl.informers.arc, noInformerResync,
		arcinformers.WithNamespace(o.namespace),
		arcinformers.WithTransform(controller.SlimARCObject))
	argoFactory := argoinformers.NewSharedInformerFactoryWithOptions(cl.informers.argo, noInformerResync,
		argoinformers.WithNamespace(o.namespace),
		argoinformers.WithTweakListOptions(workflowListOptions))
	metaFactory := metadatainformer.NewFilteredSharedInformerFactory(cl.informers.metadata, noInformerResync, o.namespace, nil)
	kubeFactory := kubeinformers.NewSharedInformerFactoryWithOptions(cl.informers.kube, noInformerResync,
		kubeinformers.WithTransform(controller.StripManagedFields),
		kubeinformers.WithTweakListOptions(func(lo *metav1.ListOptions) {
			if o.namespace != "" {
				// Only the watched namespace's labels matter.
				lo.FieldSelector = fields.OneTermEqualSelector("metadata.name", o.namespace).String()
			}
		}))
	cc.factories = []informerFactory{arcFactory, argoFactory, metaFactory, kubeFactory}
	registerWithoutNamespaceIndex(arcFactory, argoFactory, o.namespace, workflowListOptions)

	arc := arcFactory.Arc().V1alpha1()
	namespaces := kubeFactory.Core().V1().Namespaces()
	workflows := argoFactory.Argoproj().V1alpha1().Workflows()
	if err := workflows.Informer().SetTransform(controller.SlimWorkflow); err != nil {
		return nil, err
	}
	cronWorkflows := argoFactory.Argoproj().V1alpha1().CronWorkflows()
	if err := cronWorkflows.Informer().SetTransform(controller.StripManagedFields); err != nil {
		return nil, err
	}
	secrets := metaFactory.ForResource(corev1.SchemeGroupVersion.WithResource("secrets"))
	if err := secrets.Informer().SetTransform(controller.SecretPresenceOnly); err != nil {
		return nil, err
	}

	orders, err := order.New(cl.order.arc, cl.order.argo, order.Informers{
		Orders:               arc.Orders(),
		ArtifactWorkflows:    arc.ArtifactWorkflows(),
		Endpoints:            arc.Endpoints(),
		Secrets:              secrets,
		ArtifactTypes:        arc.ArtifactTypes(),
		ClusterArtifactTypes: arc.ClusterArtifactTypes(),
		Namespaces:           namespaces,
		Workflows:            workflows,
	}, recorder, clock.RealClock{},
		order.WithStatusBatchPeriod(o.orderStatusBatchPeriod),
		order.WithCreatesInFlight(o.orderCreatesInFlight),
		order.WithMaxParameterBytes(o.maxParameterBytes),
		order.WithMaxMessageBytes(o.maxMessageBytes),
		order.WithMinScheduleInterval(o.minScheduleInterval),
		order.WithResyncPeriod(o.resyncPeriod))
	if err != nil {
		return nil, err
	}
	artifactWorkflows, err := artifactworkflow.New(cl.artifactWorkflow.arc, cl.artifactWorkflow.argo, artifactworkflow.Informers{
		ArtifactWorkflows:    arc.ArtifactWorkflows(),
		ArtifactTypes:        arc.ArtifactTypes(),
		ClusterArtifactTypes: arc.ClusterArtifactTypes(),
		Orders:               arc.Orders(),
		Namespaces:           namespaces,
		Endpoints:            arc.Endpoints(),
		Workflows:            workflows,
		CronWorkflows:        cronWorkflows,
	}, recorder, clock.RealClock{},
		artifactworkflow.WithMaxParameterBytes(o.maxParameterBytes),
		artifactworkflow.WithMaxMessageBytes(o.maxMessageBytes),
		artifactworkflow.WithResyncPeriod(o.resyncPeriod))
	if err != nil {
		return nil, err
	}
	metrics.RegisterPhaseCounters(map[string]metrics.PhaseCounter{
		"Order":            orders.PhaseCounts,
		"ArtifactWorkflow": artifactWorkflows.PhaseCounts,
	})
	metrics.RegisterDomainCollector(metrics.Listers{
		Orders:            arc.Orders().Lister(),
		ArtifactWorkflows: controller.ArtifactWorkflowCache{Indexer: arc.ArtifactWorkflows().Informer().GetIndexer()}.ListArtifactWorkflows,
	})
	cc.workers = []workerSet{
		{orders.Worker(), o.orderWorkers},
		{artifactWorkflows.Worker(), o.artifactWorkflowWorkers},
	}
	return cc, nil
}

// run starts the event sink and the informers, runs every controller until
// ctx ends, and returns once they all drained.
func (cc *controllerContext) run(ctx context.Context, o options, ready *readiness) error {
	cc.broadcaster.StartStructuredLogging(3)
	cc.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cc.events.CoreV1().Events("")})
	defer cc.broadcaster.Shutdown()
	for _, f := range cc.factories {
		f.Start(ctx.Done())
		if s, ok := f.(interface{ Shutdown() }); ok {
			defer s.Shutdown()
		}
	}

	var wg sync.WaitGroup
	errs := make([]error, len(cc.workers))
	var synced []cache.InformerSynced
	for i, w := range cc.workers {
		synced = append(synced, w.worker.CacheSynced...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = controller.Run(ctx, w.worker, w.threads, o.shutdownGracePeriod)
		}()
	}
	go markReadyWhenSynced(ctx, ready, synced)
	wg.Wait()
	return errors.Join(errs...)
}

// markReadyWhenSynced flips /readyz to ready once every informer cache has synced.
func markReadyWhenSynced(ctx context.Context, ready *readiness, synced []cache.InformerSynced) {
	if cache.WaitForCacheSync(ctx.Done(), synced...) {
		ready.synced.Store(true)
	}
}

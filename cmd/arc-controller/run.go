package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	argoinformers "github.com/argoproj/argo-workflows/v3/pkg/client/informers/externalversions"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/uuid"
	kubeinformers "k8s.io/client-go/informers"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/controller/artifactworkflow"
	"github.com/artifact-conduit/arc/pkg/controller/order"
	arcinformers "github.com/artifact-conduit/arc/pkg/generated/informers/externalversions"
	"github.com/artifact-conduit/arc/pkg/metrics"
)

func run(ctx context.Context, o options) error {
	logger := klog.FromContext(ctx)
	cl, err := newClients(o)
	if err != nil {
		return err
	}
	if err := cl.preflight(ctx); err != nil {
		return err
	}
	metrics.Register()

	ready := &readiness{}
	if err := serveMetrics(ctx, o, cl.metricsAuth.kube); err != nil {
		return fmt.Errorf("--metrics-bind-address: %w", err)
	}
	if err := serve(ctx, "probes", o.healthProbeAddress, probeHandler(ready), nil); err != nil {
		return fmt.Errorf("--health-probe-bind-address: %w", err)
	}

	runAll := func(ctx context.Context) error { return runControllers(ctx, cl, o, ready) }
	if !o.leaderElect {
		return runAll(ctx)
	}
	hostname, _ := os.Hostname()
	identity := hostname + "_" + string(uuid.NewUUID())
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: o.leaseNamespace, Name: o.leaseName},
		Client:     cl.leaderElection.kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
	}
	logger.Info("Waiting for the leader election Lease", "lease", klog.KRef(o.leaseNamespace, o.leaseName), "identity", identity)
	return runWhileLeading(ctx, lock, electionTimings{o.leaseDuration, o.renewDeadline, o.retryPeriod}, ready, runAll)
}

// runControllers builds both controllers, starts the informers they share,
// and runs them until ctx ends.
func runControllers(ctx context.Context, cl *clients, o options, ready *readiness) error {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := arcv1.AddToScheme(scheme); err != nil {
		return err
	}
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartStructuredLogging(3)
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cl.events.kube.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	recorder := broadcaster.NewRecorder(scheme, corev1.EventSource{Component: "arc-controller"})

	arcFactory := arcinformers.NewSharedInformerFactoryWithOptions(cl.informers.arc, o.resyncPeriod,
		arcinformers.WithNamespace(o.namespace),
		arcinformers.WithTransform(controller.StripManagedFields))
	argoFactory := argoinformers.NewSharedInformerFactoryWithOptions(cl.informers.argo, o.resyncPeriod,
		argoinformers.WithNamespace(o.namespace),
		argoinformers.WithTweakListOptions(func(lo *metav1.ListOptions) {
			lo.LabelSelector = artifactworkflow.WorkflowSelector.String()
		}))
	metaFactory := metadatainformer.NewFilteredSharedInformerFactory(cl.informers.metadata, o.resyncPeriod, o.namespace, nil)
	kubeFactory := kubeinformers.NewSharedInformerFactoryWithOptions(cl.informers.kube, o.resyncPeriod,
		kubeinformers.WithTransform(controller.StripManagedFields),
		kubeinformers.WithTweakListOptions(func(lo *metav1.ListOptions) {
			if o.namespace != "" {
				// Only the watched namespace's labels matter.
				lo.FieldSelector = fields.OneTermEqualSelector("metadata.name", o.namespace).String()
			}
		}))
	namespaces := kubeFactory.Core().V1().Namespaces()

	arc := arcFactory.Arc().V1alpha1()
	workflows := argoFactory.Argoproj().V1alpha1().Workflows()
	if err := workflows.Informer().SetTransform(controller.SlimWorkflow); err != nil {
		return err
	}
	secrets := metaFactory.ForResource(corev1.SchemeGroupVersion.WithResource("secrets"))
	if err := secrets.Informer().SetTransform(controller.SecretPresenceOnly); err != nil {
		return err
	}

	orders, err := order.New(cl.order.arc, order.Informers{
		Orders:               arc.Orders(),
		ArtifactWorkflows:    arc.ArtifactWorkflows(),
		Endpoints:            arc.Endpoints(),
		Secrets:              secrets,
		ArtifactTypes:        arc.ArtifactTypes(),
		ClusterArtifactTypes: arc.ClusterArtifactTypes(),
		Namespaces:           namespaces,
	}, recorder, clock.RealClock{},
		order.WithStatusBatchPeriod(o.orderStatusBatchPeriod),
		order.WithMaxParameterBytes(o.maxParameterBytes),
		order.WithMaxMessageBytes(o.maxMessageBytes))
	if err != nil {
		return err
	}
	artifactWorkflows, err := artifactworkflow.New(cl.artifactWorkflow.arc, cl.artifactWorkflow.argo, artifactworkflow.Informers{
		ArtifactWorkflows:    arc.ArtifactWorkflows(),
		ArtifactTypes:        arc.ArtifactTypes(),
		ClusterArtifactTypes: arc.ClusterArtifactTypes(),
		Orders:               arc.Orders(),
		Namespaces:           namespaces,
		Workflows:            workflows,
	}, recorder, clock.RealClock{},
		artifactworkflow.WithMaxParameterBytes(o.maxParameterBytes),
		artifactworkflow.WithMaxMessageBytes(o.maxMessageBytes))
	if err != nil {
		return err
	}
	metrics.RegisterPhaseCounters(map[string]metrics.PhaseCounter{
		"Order":            orders.PhaseCounts,
		"ArtifactWorkflow": artifactWorkflows.PhaseCounts,
	})

	// Start informers only now that every controller registered its indexes and handlers.
	arcFactory.Start(ctx.Done())
	argoFactory.Start(ctx.Done())
	metaFactory.Start(ctx.Done())
	kubeFactory.Start(ctx.Done())
	defer arcFactory.Shutdown()
	defer metaFactory.Shutdown()
	defer kubeFactory.Shutdown()

	workers := []struct {
		worker  controller.Worker
		threads int
	}{
		{orders.Worker(), o.orderWorkers},
		{artifactWorkflows.Worker(), o.artifactWorkflowWorkers},
	}
	var wg sync.WaitGroup
	errs := make([]error, len(workers))
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = controller.Run(ctx, w.worker, w.threads, o.shutdownGracePeriod)
		}()
	}
	go markReadyWhenSynced(ctx, ready, orders.Worker().CacheSynced, artifactWorkflows.Worker().CacheSynced)
	wg.Wait()
	return errors.Join(errs...)
}

// markReadyWhenSynced flips /readyz to ready once every informer cache has synced.
func markReadyWhenSynced(ctx context.Context, ready *readiness, synced ...[]cache.InformerSynced) {
	var all []cache.InformerSynced
	for _, s := range synced {
		all = append(all, s...)
	}
	if cache.WaitForCacheSync(ctx.Done(), all...) {
		ready.synced.Store(true)
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	argoclient "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	argoscheme "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/scheme"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	arcclient "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned"
	arcscheme "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned/scheme"
)

// clients are ARC's API clients, one set for each part of the process that
// talks to the API server. Each set has its own rate limiter (a clientset
// gets one of --kube-api-qps and --kube-api-burst) and its own user agent,
// as kube-controller-manager gives each controller its own client: while the
// Order controller creates the ArtifactWorkflows of a large Order at the
// limit, the ArtifactWorkflow controller still writes the phases of running
// Workflows, the events do not queue behind either, the Lease is renewed
// in time, and the audit log names the part behind every request.
type clients struct {
	config *rest.Config
	// informers lists and watches for the shared informers: ARC's kinds,
	// Argo's Workflows, Secrets' metadata and namespaces.
	informers informerClients
	// leaderElection renews the Lease.
	leaderElection kubernetes.Interface
	// events writes the events.
	events kubernetes.Interface
	// order writes ArtifactWorkflows and Order status, and reads a Workflow
	// before deleting an ArtifactWorkflow whose work may have just begun.
	order controllerClients
	// artifactWorkflow writes ArtifactWorkflow status and creates Workflows.
	artifactWorkflow controllerClients
	// metricsAuth asks the API server who scrapes /metrics and whether they may.
	metricsAuth kubernetes.Interface
}

// informerClients are the clientsets the shared informers list and watch with.
type informerClients struct {
	kube     kubernetes.Interface
	arc      arcclient.Interface
	argo     argoclient.Interface
	metadata metadata.Interface
}

// controllerClients are the clientsets of one controller.
type controllerClients struct {
	arc  arcclient.Interface
	argo argoclient.Interface
}

// The parts, as they end the user agent (arc-controller/<version> (<os>/<arch>) kubernetes/<commit>/<part>).
const (
	componentInformers        = "informers"
	componentLeaderElection   = "leader-election"
	componentEvents           = "events"
	componentOrder            = "order-controller"
	componentArtifactWorkflow = "artifactworkflow-controller"
	componentMetricsAuth      = "metrics-auth"
)

// newClients builds, for each part, only the clientsets it uses. Each
// clientset builds its own token bucket from --kube-api-qps and
// --kube-api-burst; the HTTP connections are shared (client-go caches
// transports by TLS config).
func newClients(o options) (*clients, error) {
	cfg, err := restConfig(o.kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS = float32(o.kubeAPIQPS)
	cfg.Burst = o.kubeAPIBurst
	part := func(name string) *rest.Config { return rest.AddUserAgent(rest.CopyConfig(cfg), name) }

	c := &clients{config: cfg}
	var errs []error
	collect := func(err error) { errs = append(errs, err) }
	informers := part(componentInformers)
	c.informers.kube, err = kubernetes.NewForConfig(informers)
	collect(err)
	c.informers.arc, err = newARCClientset(informers)
	collect(err)
	c.informers.argo, err = newArgoClientset(informers)
	collect(err)
	c.informers.metadata, err = metadata.NewForConfig(informers)
	collect(err)
	c.leaderElection, err = kubernetes.NewForConfig(part(componentLeaderElection))
	collect(err)
	c.events, err = kubernetes.NewForConfig(part(componentEvents))
	collect(err)
	c.order, err = newControllerClients(part(componentOrder))
	collect(err)
	c.artifactWorkflow, err = newControllerClients(part(componentArtifactWorkflow))
	collect(err)
	c.metricsAuth, err = kubernetes.NewForConfig(part(componentMetricsAuth))
	collect(err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("building API clients: %w", err)
	}
	return c, nil
}

// newControllerClients builds one controller's clientsets from its config.
func newControllerClients(cfg *rest.Config) (controllerClients, error) {
	arc, err := newARCClientset(cfg)
	if err != nil {
		return controllerClients{}, err
	}
	argo, err := newArgoClientset(cfg)
	return controllerClients{arc: arc, argo: argo}, err
}

// newARCClientset and newArgoClientset build the clientsets as their
// NewForConfig does (one rate limiter each, the shared transport), with a
// JSON decoder that finds each object's kind without parsing it twice (see
// typeMetaFactory). Their discovery clients are not for use: ARC asks the
// Kubernetes clientset's.
func newARCClientset(cfg *rest.Config) (*arcclient.Clientset, error) {
	rc, err := restClientFor(cfg, arcv1.SchemeGroupVersion,
		rest.CodecFactoryForGeneratedClient(arcscheme.Scheme, arcscheme.Codecs).WithoutConversion(), arcscheme.Scheme)
	if err != nil {
		return nil, err
	}
	return arcclient.New(rc), nil
}

func newArgoClientset(cfg *rest.Config) (*argoclient.Clientset, error) {
	rc, err := restClientFor(cfg, wfv1.SchemeGroupVersion, argoscheme.Codecs.WithoutConversion(), argoscheme.Scheme)
	if err != nil {
		return nil, err
	}
	return argoclient.New(rc), nil
}

// restClientFor is the REST client of the generated typed clients of gv,
// whose config defaults it sets, with base's JSON decoding replaced.
func restClientFor(cfg *rest.Config, gv schema.GroupVersion, base runtime.NegotiatedSerializer, scheme *runtime.Scheme) (*rest.RESTClient, error) {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &gv
	c.APIPath = "/apis"
	c.NegotiatedSerializer = withTypeMetaFactory(base, scheme)
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	return rest.RESTClientFor(c)
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("loading kubeconfig %s: %w", kubeconfig, err)
		}
		return cfg, nil
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("no --kubeconfig given and not running in a cluster: %w", err)
	}
	return cfg, nil
}

// preflight fails early, with a message that says what to do, when the API
// server cannot be reached or the CRDs ARC needs are not installed. Without
// it the informers would retry silently forever.
func (c *clients) preflight(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := c.informers.kube.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Error(); err != nil {
		return fmt.Errorf("cannot reach the Kubernetes API server at %s: %w", c.config.Host, err)
	}
	return checkServedResources(c.informers.kube.Discovery())
}

// installCRDs says how to install ARC's CRDs.
const installCRDs = "install ARC's CRDs (make install, or kubectl apply --server-side -k manifests/crd)"

// requiredResources are every resource the controllers watch or write: a
// missing one would leave its informer waiting for a cache sync forever.
var requiredResources = []struct{ groupVersion, resource, hint string }{
	{arcv1.SchemeGroupVersion.String(), "endpoints", installCRDs},
	{arcv1.SchemeGroupVersion.String(), "artifacttypes", installCRDs},
	{arcv1.SchemeGroupVersion.String(), "clusterartifacttypes", installCRDs},
	{arcv1.SchemeGroupVersion.String(), "orders", installCRDs},
	{arcv1.SchemeGroupVersion.String(), "artifactworkflows", installCRDs},
	{"argoproj.io/v1alpha1", "workflows", "install Argo Workflows"},
	{"argoproj.io/v1alpha1", "cronworkflows", "install Argo Workflows"},
}

// checkServedResources fails, naming every missing resource and what to
// install, when the API server does not serve one of requiredResources.
func checkServedResources(disco discovery.DiscoveryInterface) error {
	served := map[string]map[string]bool{}
	var missing []error
	for _, r := range requiredResources {
		names, ok := served[r.groupVersion]
		if !ok {
			list, err := disco.ServerResourcesForGroupVersion(r.groupVersion)
			if err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("discovering %s: %w", r.groupVersion, err)
			}
			names = map[string]bool{}
			if list != nil {
				for _, res := range list.APIResources {
					names[res.Name] = true
				}
			}
			served[r.groupVersion] = names
		}
		if !names[r.resource] {
			missing = append(missing, fmt.Errorf("the API server does not serve %s in %s: %s", r.resource, r.groupVersion, r.hint))
		}
	}
	return errors.Join(missing...)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	argoclient "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	arcclient "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned"
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
	// informers lists and watches for the shared informers.
	informers componentClients
	// leaderElection renews the Lease; events writes the events.
	leaderElection, events componentClients
	// order and artifactWorkflow are the controllers' clients for their writes.
	order, artifactWorkflow componentClients
	// metricsAuth asks the API server who scrapes /metrics and whether they may.
	metricsAuth componentClients
}

// componentClients are the clientsets of one part, sharing its rate limiter
// budget per clientset and its user agent.
type componentClients struct {
	kube     kubernetes.Interface
	arc      arcclient.Interface
	argo     argoclient.Interface
	metadata metadata.Interface
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

func newClients(o options) (*clients, error) {
	cfg, err := restConfig(o.kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS = float32(o.kubeAPIQPS)
	cfg.Burst = o.kubeAPIBurst

	c := &clients{config: cfg}
	for _, part := range []struct {
		into *componentClients
		name string
	}{
		{&c.informers, componentInformers},
		{&c.leaderElection, componentLeaderElection},
		{&c.events, componentEvents},
		{&c.order, componentOrder},
		{&c.artifactWorkflow, componentArtifactWorkflow},
		{&c.metricsAuth, componentMetricsAuth},
	} {
		if *part.into, err = newComponentClients(cfg, part.name); err != nil {
			return nil, fmt.Errorf("clients of %s: %w", part.name, err)
		}
	}
	return c, nil
}

// newComponentClients builds the clientsets of one part. Every clientset
// builds its own token bucket from the config's QPS and burst; the HTTP
// connections are shared (client-go caches transports by TLS config).
func newComponentClients(base *rest.Config, name string) (componentClients, error) {
	cfg := rest.AddUserAgent(rest.CopyConfig(base), name)
	var (
		cc  componentClients
		err error
	)
	if cc.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return cc, err
	}
	if cc.arc, err = arcclient.NewForConfig(cfg); err != nil {
		return cc, err
	}
	if cc.argo, err = argoclient.NewForConfig(cfg); err != nil {
		return cc, err
	}
	if cc.metadata, err = metadata.NewForConfig(cfg); err != nil {
		return cc, err
	}
	return cc, nil
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

package main

import (
	"context"
	"fmt"
	"time"

	argoclient "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	arcclient "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned"
)

// clients are the API clients the controllers share. They all use one
// rate limiter budget each, configured by --kube-api-qps and --kube-api-burst.
type clients struct {
	config   *rest.Config
	kube     kubernetes.Interface
	arc      arcclient.Interface
	argo     argoclient.Interface
	metadata metadata.Interface
}

func newClients(o options) (*clients, error) {
	cfg, err := restConfig(o.kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS = float32(o.kubeAPIQPS)
	cfg.Burst = o.kubeAPIBurst
	cfg = rest.AddUserAgent(cfg, "arc-controller")

	c := &clients{config: cfg}
	if c.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if c.arc, err = arcclient.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if c.argo, err = argoclient.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if c.metadata, err = metadata.NewForConfig(cfg); err != nil {
		return nil, err
	}
	return c, nil
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
	if err := c.kube.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Error(); err != nil {
		return fmt.Errorf("cannot reach the Kubernetes API server at %s: %w", c.config.Host, err)
	}
	required := []struct{ groupVersion, resource, hint string }{
		{arcv1.SchemeGroupVersion.String(), "orders", "install ARC's CRDs (make install, or kubectl apply -f manifests/crd)"},
		{arcv1.SchemeGroupVersion.String(), "artifactworkflows", "install ARC's CRDs (make install, or kubectl apply -f manifests/crd)"},
		{"argoproj.io/v1alpha1", "workflows", "install Argo Workflows"},
	}
	for _, r := range required {
		list, err := c.kube.Discovery().ServerResourcesForGroupVersion(r.groupVersion)
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("the API server does not serve %s: %s", r.groupVersion, r.hint)
		}
		if err != nil {
			return fmt.Errorf("discovering %s: %w", r.groupVersion, err)
		}
		found := false
		for _, res := range list.APIResources {
			found = found || res.Name == r.resource
		}
		if !found {
			return fmt.Errorf("the API server does not serve %s in %s: %s", r.resource, r.groupVersion, r.hint)
		}
	}
	return nil
}

package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/apis/apiserver"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapifilters "k8s.io/apiserver/pkg/endpoints/filters"
	apirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/klog/v2"
)

// metricsServingOptions say how /metrics is served: by default over HTTPS,
// only to clients the API server authenticates (TokenReview) and authorizes
// (SubjectAccessReview for get on the non-resource URL /metrics), like
// kube-controller-manager's secure port. The metrics tell how many Orders
// and Workflows run in which phase, which is not for everyone in the
// cluster network.
type metricsServingOptions struct {
	secure  bool
	certDir string
}

// Names of the key pair in --metrics-cert-dir, as a kubernetes.io/tls Secret
// mounted as a volume holds them.
const (
	metricsCertFile = "tls.crt"
	metricsKeyFile  = "tls.key"
)

// The caching and timeouts of the delegated checks are kube-controller-manager's
// defaults (k8s.io/apiserver/pkg/server/options): a scraper that polls every
// few seconds costs the API server a TokenReview and a SubjectAccessReview
// only every 10 s.
const (
	metricsAuthCacheTTL = 10 * time.Second
	metricsAuthTimeout  = 10 * time.Second
)

// metricsAuthRetryBackoff is k8s.io/apiserver/pkg/server/options'
// DefaultAuthWebhookRetryBackoff, copied: importing that package would link
// the whole API server (etcd client, KMS, tracing) into the binary.
func metricsAuthRetryBackoff() *wait.Backoff {
	return &wait.Backoff{Duration: 500 * time.Millisecond, Factor: 1.5, Jitter: 0.2, Steps: 5}
}

func (m *metricsServingOptions) addFlags(fs *flag.FlagSet) {
	fs.BoolVar(&m.secure, "metrics-secure", true, "Serve /metrics over HTTPS to clients with a bearer token that the API server authenticates (TokenReview) and allows to get the non-resource URL /metrics (SubjectAccessReview). false serves plain HTTP to anyone, for local runs.")
	fs.StringVar(&m.certDir, "metrics-cert-dir", "", "Directory with the serving certificate of /metrics as "+metricsCertFile+" and "+metricsKeyFile+" (reloaded when they change). Empty: a self-signed certificate made in memory at start-up.")
}

func (m *metricsServingOptions) validate() []error {
	if m.certDir != "" && !m.secure {
		return []error{errors.New("--metrics-cert-dir needs --metrics-secure: plain HTTP uses no certificate")}
	}
	return nil
}

// serveMetrics starts the /metrics server of o.metricsBindAddress, secured
// unless --metrics-secure=false. kube asks the API server about the clients.
func serveMetrics(ctx context.Context, o options, kube kubernetes.Interface) error {
	if o.metricsBindAddress == "0" || o.metricsBindAddress == "" {
		return nil
	}
	if !o.metrics.secure {
		return serve(ctx, "metrics", o.metricsBindAddress, metricsHandler(o.profiling), nil)
	}
	authn, authz, err := delegatedAuth(kube)
	if err != nil {
		return err
	}
	cert, err := newServingCertificate(ctx, o.metrics.certDir)
	if err != nil {
		return err
	}
	return serve(ctx, "metrics", o.metricsBindAddress, protect(metricsHandler(o.profiling), authn, authz), cert.tlsConfig())
}

// delegatedAuth builds k8s.io/apiserver's delegating authenticator and
// ARC's reviewAuthorizer, which ask the API server through kube and cache
// its answers.
// Only bearer tokens are accepted: no anonymous access, no client
// certificates (there is no client CA to trust), no front proxy.
func delegatedAuth(kube kubernetes.Interface) (authenticator.Request, authorizer.Authorizer, error) {
	authn, _, err := authenticatorfactory.DelegatingAuthenticatorConfig{
		Anonymous:                &apiserver.AnonymousAuthConfig{Enabled: false},
		TokenAccessReviewClient:  kube.AuthenticationV1(),
		TokenAccessReviewTimeout: metricsAuthTimeout,
		WebhookRetryBackoff:      metricsAuthRetryBackoff(),
		CacheTTL:                 metricsAuthCacheTTL,
	}.New()
	if err != nil {
		return nil, nil, fmt.Errorf("metrics authentication: %w", err)
	}
	return authn, newReviewAuthorizer(kube, metricsAuthCacheTTL, metricsAuthCacheTTL, metricsAuthTimeout), nil
}

// protect puts authentication and authorization in front of handler, with
// the filters of kube-controller-manager's secure port: a request without
// a valid token gets 401, a user without "get" on the request's path 403,
// both as a Kubernetes Status. The token is removed from the request before
// handler sees it.
func protect(handler http.Handler, authn authenticator.Request, authz authorizer.Authorizer) http.Handler {
	h := genericapifilters.WithAuthorization(handler, authz, scheme.Codecs)
	h = genericapifilters.WithAuthentication(h, authn, genericapifilters.Unauthorized(scheme.Codecs), nil, nil)
	// Without API prefixes every path is a non-resource URL, and the HTTP
	// method becomes the verb: GET /metrics asks for "get" on "/metrics".
	return genericapifilters.WithRequestInfo(h, &apirequest.RequestInfoFactory{})
}

// servingCertificate is the key pair /metrics presents, parsed once per
// change instead of once per TLS handshake.
type servingCertificate struct {
	current  atomic.Pointer[tls.Certificate]
	provider dynamiccertificates.CertKeyContentProvider
}

// newServingCertificate loads tls.crt and tls.key from certDir and reloads
// them when they change until ctx ends, or, without certDir, makes a
// self-signed certificate in memory: scrapers then skip verification (as
// they do for kube-controller-manager's self-signed certificate), and still
// only send their token over an encrypted connection.
func newServingCertificate(ctx context.Context, certDir string) (*servingCertificate, error) {
	c := &servingCertificate{}
	if certDir == "" {
		certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey("arc-controller-metrics", []net.IP{net.IPv4(127, 0, 0, 1)}, []string{"localhost"})
		if err != nil {
			return nil, fmt.Errorf("making a self-signed certificate for /metrics: %w", err)
		}
		return c, c.store(certPEM, keyPEM)
	}
	files, err := dynamiccertificates.NewDynamicServingContentFromFiles("metrics",
		filepath.Join(certDir, metricsCertFile), filepath.Join(certDir, metricsKeyFile))
	if err != nil {
		return nil, fmt.Errorf("--metrics-cert-dir: %w", err)
	}
	c.provider = files
	if err := c.store(files.CurrentCertKeyContent()); err != nil {
		return nil, fmt.Errorf("--metrics-cert-dir: %w", err)
	}
	files.AddListener(c)
	go files.Run(ctx, 1)
	return c, nil
}

// Enqueue takes the provider's new key pair; the provider calls it after
// a change it has already checked.
func (c *servingCertificate) Enqueue() {
	if err := c.store(c.provider.CurrentCertKeyContent()); err != nil {
		klog.ErrorS(err, "Keeping the previous /metrics serving certificate")
	}
}

func (c *servingCertificate) store(certPEM, keyPEM []byte) error {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return err
	}
	c.current.Store(&pair)
	return nil
}

// tlsConfig serves the current certificate. HTTP/2 is off, as in
// controller-runtime's metrics server: nothing needs it here, and it keeps
// the server out of reach of HTTP/2 stream floods (CVE-2023-44487) before
// a client has authenticated.
func (c *servingCertificate) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.current.Load(), nil
		},
	}
}

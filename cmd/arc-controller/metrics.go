package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
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
	authn, authz := delegatedAuth(kube)
	cert, err := newServingCertificate(ctx, o.metrics.certDir, metricsCertReloadInterval)
	if err != nil {
		return err
	}
	return serve(ctx, "metrics", o.metricsBindAddress, protect(metricsHandler(o.profiling), authn, authz), cert.tlsConfig())
}

// delegatedAuth builds the authenticator and authorizer of /metrics, which
// ask the API server through kube and cache its answers. Only bearer tokens
// are accepted: no anonymous access, no client certificates (there is no
// client CA to trust), no front proxy.
func delegatedAuth(kube kubernetes.Interface) (tokenAuthenticator, accessAuthorizer) {
	return newReviewAuthenticator(kube, metricsAuthCacheTTL, metricsAuthTimeout),
		newReviewAuthorizer(kube, metricsAuthCacheTTL, metricsAuthCacheTTL, metricsAuthTimeout)
}

// protect puts authentication and authorization in front of handler, as
// kube-controller-manager's secure port does: a request without a token
// the API server accepts gets 401, one whose user may not use the
// request's HTTP method (lower case, as the verb) on its path gets 403,
// both as a Kubernetes Status, and one the API server could not be asked
// about gets 401 or 500. The token is removed from the request before
// handler sees it.
func protect(handler http.Handler, authn tokenAuthenticator, authz accessAuthorizer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, ok, err := authn.authenticate(r.Context(), bearerToken(r))
		if err != nil {
			klog.FromContext(r.Context()).Error(err, "Refusing a /metrics request: its token could not be reviewed")
		}
		if !ok {
			writeStatus(w, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized")
			return
		}
		r.Header.Del("Authorization")
		req := access{who: who, verb: strings.ToLower(r.Method), path: r.URL.Path}
		allowed, reason, err := authz.authorize(r.Context(), req)
		if err != nil {
			klog.FromContext(r.Context()).Error(err, "Refusing a /metrics request: its access could not be reviewed")
			writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError,
				"Internal error occurred: the API server could not be asked whether the request is allowed")
			return
		}
		if !allowed {
			writeStatus(w, http.StatusForbidden, metav1.StatusReasonForbidden, forbiddenMessage(req, reason))
			return
		}
		handler.ServeHTTP(w, r)
	})
}

// forbiddenMessage says who may not do what, in the API server's words.
func forbiddenMessage(req access, reason string) string {
	msg := fmt.Sprintf("forbidden: User %q cannot %s path %q", req.who.name, req.verb, req.path)
	if reason != "" {
		msg += ": " + reason
	}
	return msg
}

// writeStatus answers with a failure Status, as the API server would.
func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, message string) {
	body, err := json.Marshal(metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: message, Reason: reason, Code: int32(code),
	})
	if err != nil {
		http.Error(w, message, code)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// servingCertificate is the key pair /metrics presents, parsed once per
// change instead of once per TLS handshake.
type servingCertificate struct {
	current atomic.Pointer[tls.Certificate]
	// certPEM and keyPEM are what the files held when last loaded, and
	// lastErr what loading them said last, to tell changes.
	certPEM, keyPEM []byte
	lastErr         string
}

// metricsCertReloadInterval is how often --metrics-cert-dir is read for a
// new key pair. A mounted Secret changes up to a minute or so after its
// update (the kubelet's sync period), so checking every 10 s adds little
// delay, and reads two small files.
const metricsCertReloadInterval = 10 * time.Second

// newServingCertificate loads tls.crt and tls.key from certDir and reloads
// them every reloadEvery until ctx ends when they changed, or, without
// certDir, makes a self-signed certificate in memory: scrapers then skip
// verification (as they do for kube-controller-manager's self-signed
// certificate), and still only send their token over an encrypted
// connection.
func newServingCertificate(ctx context.Context, certDir string, reloadEvery time.Duration) (*servingCertificate, error) {
	c := &servingCertificate{}
	if certDir == "" {
		certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey("arc-controller-metrics", []net.IP{net.IPv4(127, 0, 0, 1)}, []string{"localhost"})
		if err != nil {
			return nil, fmt.Errorf("making a self-signed certificate for /metrics: %w", err)
		}
		return c, c.store(certPEM, keyPEM)
	}
	certFile, keyFile := filepath.Join(certDir, metricsCertFile), filepath.Join(certDir, metricsKeyFile)
	if _, err := c.load(certFile, keyFile); err != nil {
		return nil, fmt.Errorf("--metrics-cert-dir: %w", err)
	}
	go wait.UntilWithContext(ctx, func(ctx context.Context) { c.reload(ctx, certFile, keyFile) }, reloadEvery)
	return c, nil
}

// reload loads the key pair if it changed, and logs what happened once
// per change: a new certificate, or why the previous one stays.
func (c *servingCertificate) reload(ctx context.Context, certFile, keyFile string) {
	changed, err := c.load(certFile, keyFile)
	switch {
	case err != nil && err.Error() != c.lastErr:
		klog.FromContext(ctx).Error(err, "Keeping the previous /metrics serving certificate")
	case err == nil && changed:
		klog.FromContext(ctx).Info("Serving a new /metrics certificate", "file", certFile)
	}
	c.lastErr = ""
	if err != nil {
		c.lastErr = err.Error()
	}
}

// load reads the key pair and serves it if the files changed since the
// last load; a pair that does not parse (a rotation half written) leaves
// the current one in place.
func (c *servingCertificate) load(certFile, keyFile string) (bool, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return false, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return false, err
	}
	if bytes.Equal(certPEM, c.certPEM) && bytes.Equal(keyPEM, c.keyPEM) {
		return false, nil
	}
	if err := c.store(certPEM, keyPEM); err != nil {
		return false, fmt.Errorf("%s and %s: %w", certFile, keyFile, err)
	}
	c.certPEM, c.keyPEM = certPEM, keyPEM
	return true, nil
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

package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/klog/v2"

	"github.com/artifact-conduit/arc/pkg/metrics"
)

func TestMetricsOptions(t *testing.T) {
	cases := []struct {
		name       string
		args       []string
		wantErr    string
		wantSecure bool
	}{
		{name: "metrics are served securely by default", wantSecure: true},
		{name: "plain HTTP can be chosen for local runs", args: []string{"--metrics-secure=false"}, wantSecure: false},
		{name: "a certificate directory goes with secure serving", args: []string{"--metrics-cert-dir=/certs"}, wantSecure: true},
		{
			name:    "a certificate directory without secure serving is refused",
			args:    []string{"--metrics-secure=false", "--metrics-cert-dir=/certs"},
			wantErr: "--metrics-cert-dir needs --metrics-secure",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if o, ok := parseExpecting(t, tc.wantErr, tc.args...); ok {
				assert.Equal(t, tc.wantSecure, o.metrics.secure)
				assert.Equal(t, ":8443", o.metricsBindAddress, "the default address")
			}
		})
	}
}

// recordingAuthorizer allows what allow says, fails on "/broken", and
// remembers what it was asked.
type recordingAuthorizer struct {
	mu    sync.Mutex
	asked []access
	allow func(access) bool
}

func (a *recordingAuthorizer) authorize(_ context.Context, req access) (bool, string, error) {
	a.mu.Lock()
	a.asked = append(a.asked, req)
	a.mu.Unlock()
	if req.path == "/broken" {
		return false, "", errors.New("the access review failed")
	}
	if a.allow(req) {
		return true, "", nil
	}
	return false, "not bound to arc-metrics-reader", nil
}

// staticTokens knows the tokens of users and fails on "broken".
type staticTokens map[string]string

func (s staticTokens) authenticate(_ context.Context, token string) (caller, bool, error) {
	if token == "broken" {
		return caller{}, false, errors.New("the token review failed")
	}
	name, known := s[token]
	return caller{name: name}, known, nil
}

func TestProtectedMetricsEndpoint(t *testing.T) {
	authz := &recordingAuthorizer{allow: func(a access) bool {
		return a.who.name == "prometheus" && a.verb == "get" && a.path == "/metrics"
	}}
	authn := staticTokens{"reader-token": "prometheus", "other-token": "someone"}
	var sawAuthorization []string
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawAuthorization = append(sawAuthorization, r.Header.Get("Authorization"))
		_, _ = io.WriteString(w, "arc_metric 1\n")
	})
	server := httptest.NewServer(protect(inner, authn, authz))
	defer server.Close()

	cases := []struct {
		name       string
		method     string
		path       string
		header     string // the Authorization header
		wantStatus int
		wantReason metav1.StatusReason
		wantAsked  string // the user the authorizer was asked about, "" if not asked
	}{
		{name: "a request without a token is unauthorized", wantStatus: http.StatusUnauthorized, wantReason: metav1.StatusReasonUnauthorized},
		{name: "a token the API server does not know is unauthorized", header: "Bearer stolen",
			wantStatus: http.StatusUnauthorized, wantReason: metav1.StatusReasonUnauthorized},
		{name: "a failed token review is unauthorized, not a server error", header: "Bearer broken",
			wantStatus: http.StatusUnauthorized, wantReason: metav1.StatusReasonUnauthorized},
		{name: "credentials other than a bearer token are not looked at", header: "Basic cmVhZGVyLXRva2Vu",
			wantStatus: http.StatusUnauthorized, wantReason: metav1.StatusReasonUnauthorized},
		{name: "a user without get on /metrics is forbidden", header: "Bearer other-token",
			wantStatus: http.StatusForbidden, wantReason: metav1.StatusReasonForbidden, wantAsked: "someone"},
		{name: "a user allowed get on /metrics reads the metrics", header: "Bearer reader-token", wantStatus: http.StatusOK, wantAsked: "prometheus"},
		{name: "the scheme's case does not matter", header: "bearer reader-token", wantStatus: http.StatusOK, wantAsked: "prometheus"},
		{name: "a POST asks for another verb and is forbidden", method: http.MethodPost, header: "Bearer reader-token",
			wantStatus: http.StatusForbidden, wantReason: metav1.StatusReasonForbidden, wantAsked: "prometheus"},
		{name: "an access review that fails is a server error, not a pass", path: "/broken", header: "Bearer reader-token",
			wantStatus: http.StatusInternalServerError, wantReason: metav1.StatusReasonInternalError, wantAsked: "prometheus"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			authz.asked, sawAuthorization = nil, nil
			method, path := cmp.Or(tc.method, http.MethodGet), cmp.Or(tc.path, "/metrics")
			req, err := http.NewRequestWithContext(t.Context(), method, server.URL+path, nil)
			require.NoError(t, err)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, tc.wantStatus, resp.StatusCode, "body: %s", body)

			if tc.wantAsked == "" {
				assert.Empty(t, authz.asked, "the authorizer must not be asked about an unauthenticated request")
			} else if assert.Len(t, authz.asked, 1) {
				a := authz.asked[0]
				assert.Equal(t, tc.wantAsked, a.who.name)
				assert.Equal(t, path, a.path)
				assert.Equal(t, strings.ToLower(method), a.verb, "the verb is the HTTP method")
			}
			if tc.wantStatus == http.StatusOK {
				assert.Contains(t, string(body), "arc_metric 1")
				assert.Equal(t, []string{""}, sawAuthorization, "the token must not reach the metrics handler")
				return
			}
			assert.Empty(t, sawAuthorization, "a refused request must not reach the metrics handler")
			var status metav1.Status
			require.NoError(t, json.Unmarshal(body, &status), "a refusal is a Status: %s", body)
			assert.Equal(t, "Status", status.Kind)
			assert.Equal(t, metav1.StatusFailure, status.Status)
			assert.Equal(t, tc.wantReason, status.Reason)
			assert.Equal(t, int32(tc.wantStatus), status.Code)
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			if tc.wantStatus == http.StatusForbidden {
				assert.Equal(t, fmt.Sprintf(`forbidden: User %q cannot %s path "/metrics": not bound to arc-metrics-reader`,
					tc.wantAsked, strings.ToLower(method)), status.Message)
			}
		})
	}
}

// fakeAPIServer answers TokenReviews and SubjectAccessReviews like an API
// server where the token "reader-token" belongs to a user allowed to get
// /metrics and "other-token" to one who is not, and counts the reviews.
type fakeAPIServer struct {
	mu             sync.Mutex
	tokenReviews   int
	accessReviews  []authorizationv1.SubjectAccessReviewSpec
	requestsAsUser []string
}

func (f *fakeAPIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requestsAsUser = append(f.requestsAsUser, r.UserAgent())
	switch r.URL.Path {
	case "/apis/authentication.k8s.io/v1/tokenreviews":
		// Typed clients of built-in kinds send protobuf.
		var review authenticationv1.TokenReview
		if err := decodeBody(r, &review); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.tokenReviews++
		users := map[string]string{"reader-token": "system:serviceaccount:monitoring:prometheus", "other-token": "system:serviceaccount:default:someone"}
		name, ok := users[review.Spec.Token]
		review.Status = authenticationv1.TokenReviewStatus{Authenticated: ok, User: authenticationv1.UserInfo{Username: name}}
		writeJSON(w, &review)
	case "/apis/authorization.k8s.io/v1/subjectaccessreviews":
		var review authorizationv1.SubjectAccessReview
		if err := decodeBody(r, &review); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.accessReviews = append(f.accessReviews, review.Spec)
		nr := review.Spec.NonResourceAttributes
		review.Status.Allowed = review.Spec.User == "system:serviceaccount:monitoring:prometheus" &&
			nr != nil && nr.Path == "/metrics" && nr.Verb == "get"
		writeJSON(w, &review)
	default:
		http.NotFound(w, r)
	}
}

// decodeBody decodes a request's object, JSON or protobuf.
func decodeBody(r *http.Request, into k8sruntime.Object) error {
	body, err := io.ReadAll(r.Body)
	if err == nil {
		_, _, err = scheme.Codecs.UniversalDeserializer().Decode(body, nil, into)
	}
	return err
}

func writeJSON(w http.ResponseWriter, obj any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(obj)
}

// newFakeAPIServer starts a fakeAPIServer and returns a client of it.
func newFakeAPIServer(t *testing.T) (*fakeAPIServer, kubernetes.Interface) {
	t.Helper()
	api := &fakeAPIServer{}
	server := httptest.NewServer(api)
	t.Cleanup(server.Close)
	kube, err := kubernetes.NewForConfig(rest.AddUserAgent(&rest.Config{Host: server.URL}, componentMetricsAuth))
	require.NoError(t, err)
	return api, kube
}

func TestDelegatedAuthAsksTheAPIServerAndCaches(t *testing.T) {
	api, kube := newFakeAPIServer(t)
	authn, authz := delegatedAuth(kube)
	server := httptest.NewServer(protect(metricsHandler(false), authn, authz))
	defer server.Close()

	get := func(token string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, server.URL+"/metrics", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusUnauthorized, get("unknown-token"), "a token the TokenReview rejects")
	assert.Equal(t, http.StatusForbidden, get("other-token"), "a user the SubjectAccessReview denies")
	assert.Equal(t, http.StatusOK, get("reader-token"), "a user the SubjectAccessReview allows")
	assert.Equal(t, http.StatusOK, get("reader-token"), "again, answered from the cache")

	api.mu.Lock()
	defer api.mu.Unlock()
	assert.Equal(t, 3, api.tokenReviews, "one TokenReview per token: the repeated one is cached")
	require.Len(t, api.accessReviews, 2, "one SubjectAccessReview per user: the repeated one is cached")
	for _, spec := range api.accessReviews {
		assert.Nil(t, spec.ResourceAttributes)
		if assert.NotNil(t, spec.NonResourceAttributes) {
			assert.Equal(t, authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"}, *spec.NonResourceAttributes)
		}
	}
	for _, agent := range api.requestsAsUser {
		assert.True(t, strings.HasSuffix(agent, "/"+componentMetricsAuth), "user agent %q", agent)
	}
}

// writeKeyPair writes a new self-signed key pair for host into dir as tls.crt
// and tls.key and returns the certificate.
func writeKeyPair(t *testing.T, dir, host string) *x509.Certificate {
	t.Helper()
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey(host, nil, nil)
	require.NoError(t, err)
	// The key first: a reload between the two writes sees a pair that does
	// not match and keeps the previous one.
	require.NoError(t, os.WriteFile(filepath.Join(dir, metricsKeyFile), keyPEM, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, metricsCertFile), certPEM, 0o600))
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	return cert
}

// presentedCertificate makes a TLS handshake with a listener using cfg and
// returns the leaf certificate it presented. (Not httptest's TLS server: it
// would put its own certificate into cfg.)
func presentedCertificate(t *testing.T, cfg *tls.Config) *x509.Certificate {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.(*tls.Conn).Handshake()
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}}) //nolint:gosec // the test inspects the certificate itself
	require.NoError(t, err)
	defer conn.Close()
	state := conn.ConnectionState()
	require.NotEmpty(t, state.PeerCertificates)
	assert.NotEqual(t, "h2", state.NegotiatedProtocol, "HTTP/2 is off")
	return state.PeerCertificates[0]
}

func TestServingCertificate(t *testing.T) {
	t.Run("without a directory a self-signed certificate for localhost is made in memory", func(t *testing.T) {
		cert, err := newServingCertificate(t.Context(), "", time.Hour)
		require.NoError(t, err)
		leaf := presentedCertificate(t, cert.tlsConfig())
		assert.Contains(t, leaf.DNSNames, "localhost")
		assert.Contains(t, leaf.DNSNames, "arc-controller-metrics")
		assert.True(t, leaf.NotAfter.After(time.Now().Add(300*24*time.Hour)), "valid for about a year")
	})

	t.Run("a missing directory is an error that names the flag", func(t *testing.T) {
		_, err := newServingCertificate(t.Context(), filepath.Join(t.TempDir(), "missing"), time.Hour)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "--metrics-cert-dir")
	})

	t.Run("the certificate of the directory is served and reloaded when it changes", func(t *testing.T) {
		dir := t.TempDir()
		first := writeKeyPair(t, dir, "first.example")
		cert, err := newServingCertificate(t.Context(), dir, 50*time.Millisecond)
		require.NoError(t, err)
		cfg := cert.tlsConfig()
		assert.Equal(t, first.SerialNumber, presentedCertificate(t, cfg).SerialNumber)

		waitServed(t, cfg, writeKeyPair(t, dir, "second.example"), "the rotated certificate is served")
	})

	t.Run("a pair that does not parse leaves the current certificate in place until a good one comes", func(t *testing.T) {
		dir := t.TempDir()
		first := writeKeyPair(t, dir, "first.example")
		cert, err := newServingCertificate(t.Context(), dir, 10*time.Millisecond)
		require.NoError(t, err)
		cfg := cert.tlsConfig()

		require.NoError(t, os.WriteFile(filepath.Join(dir, metricsCertFile), []byte("not a certificate"), 0o600))
		// Many reload intervals, so that a reload of the broken pair would
		// have shown.
		time.Sleep(200 * time.Millisecond)
		assert.Equal(t, first.SerialNumber, presentedCertificate(t, cfg).SerialNumber)

		waitServed(t, cfg, writeKeyPair(t, dir, "second.example"), "the repaired pair is served")
	})
}

// waitServed waits until a TLS handshake with cfg presents want.
func waitServed(t *testing.T, cfg *tls.Config, want *x509.Certificate, msg string) {
	t.Helper()
	require.Eventually(t, func() bool {
		return presentedCertificate(t, cfg).SerialNumber.Cmp(want.SerialNumber) == 0
	}, 20*time.Second, 50*time.Millisecond, msg)
}

// freeAddress returns a loopback address with a port nobody listens on.
func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// waitGet GETs url until the server answers, and returns the response.
func waitGet(t *testing.T, client *http.Client, url, token string) (int, string) {
	t.Helper()
	var (
		status int
		body   []byte
	)
	require.Eventually(t, func() bool {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		status = resp.StatusCode
		body, _ = io.ReadAll(resp.Body)
		return true
	}, 10*time.Second, 50*time.Millisecond, "the metrics server at %s does not answer", url)
	return status, string(body)
}

func TestServeMetrics(t *testing.T) {
	metrics.Register()
	ctx, cancel := context.WithCancel(klog.NewContext(t.Context(), klog.Background()))
	defer cancel()
	_, kube := newFakeAPIServer(t)
	insecureClient := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // a self-signed certificate
	}

	t.Run("by default only a user allowed to get /metrics reads them, over HTTPS", func(t *testing.T) {
		o, err := parse(t, "--kubeconfig=k", "--metrics-bind-address="+freeAddress(t))
		require.NoError(t, err)
		require.NoError(t, serveMetrics(ctx, o, kube))
		url := "https://" + o.metricsBindAddress + "/metrics"

		status, _ := waitGet(t, insecureClient, url, "")
		assert.Equal(t, http.StatusUnauthorized, status, "anonymous")
		status, _ = waitGet(t, insecureClient, url, "other-token")
		assert.Equal(t, http.StatusForbidden, status, "a user without the permission")
		status, body := waitGet(t, insecureClient, url, "reader-token")
		assert.Equal(t, http.StatusOK, status, "a user with the permission")
		assert.Contains(t, body, "go_goroutines")

		resp, err := http.Get("http://" + o.metricsBindAddress + "/metrics")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			assert.NotEqual(t, http.StatusOK, resp.StatusCode, "plain HTTP must not reach the metrics")
		}
	})

	t.Run("with --metrics-secure=false anyone reads them over plain HTTP", func(t *testing.T) {
		o, err := parse(t, "--kubeconfig=k", "--metrics-secure=false", "--metrics-bind-address="+freeAddress(t))
		require.NoError(t, err)
		require.NoError(t, serveMetrics(ctx, o, kube))
		status, body := waitGet(t, &http.Client{Timeout: 5 * time.Second}, "http://"+o.metricsBindAddress+"/metrics", "")
		assert.Equal(t, http.StatusOK, status)
		assert.Contains(t, body, "go_goroutines")
	})

	t.Run("address 0 serves nothing", func(t *testing.T) {
		o, err := parse(t, "--kubeconfig=k", "--metrics-bind-address=0")
		require.NoError(t, err)
		require.NoError(t, serveMetrics(ctx, o, kube))
	})

	t.Run("a taken address is an error", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		o, err := parse(t, "--kubeconfig=k", "--metrics-bind-address=127.0.0.1:"+strconv.Itoa(port))
		require.NoError(t, err)
		err = serveMetrics(ctx, o, kube)
		require.Error(t, err)
		assert.Contains(t, err.Error(), fmt.Sprint(port))
	})
}

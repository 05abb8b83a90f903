//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// metricsReaderRole is the ClusterRole of manifests/rbac that may scrape /metrics.
const metricsReaderRole = "arc-metrics-reader"

// TestMetricsEndpoint installs manifests/default and runs bin/arc-controller
// with the token of its ServiceAccount and the Deployment's secure /metrics
// (HTTPS, self-signed certificate). The endpoint asks the API server about
// every client: an anonymous request gets 401, a token of a ServiceAccount
// without a binding 403, and one bound to arc-metrics-reader the metrics.
// The controller's log shows none of the tokens.
//
// It does not run in parallel: manifests/default brings the admission
// policy, which holds in the whole cluster while it is installed.
func TestMetricsEndpoint(t *testing.T) {
	started := time.Now()
	rbacInstall(t)
	f := newFixture(t, "metrics")
	arc := rbacServiceAccountClients(t, t.TempDir())

	reader := metricsScraper(t, f.ns, "prometheus", true)
	stranger := metricsScraper(t, f.ns, "stranger", false)

	port, err := freePort()
	require.NoError(t, err)
	address := fmt.Sprintf("127.0.0.1:%d", port)
	logStart := rbacLogSize()
	p, err := s.launchController("--kubeconfig="+arc.kubeconfig, "--namespace="+f.ns, "--metrics-bind-address="+address)
	require.NoError(t, err, "starting arc-controller as %s with secure metrics", rbacUser)
	t.Cleanup(func() {
		if err := p.stop(30 * time.Second); err != nil {
			t.Errorf("stopping arc-controller: %v", err)
		}
	})

	url := "https://" + address + "/metrics"
	cases := []struct {
		name       string
		token      string
		wantStatus int
	}{
		{name: "an anonymous request is unauthorized", token: "", wantStatus: http.StatusUnauthorized},
		{name: "a token the API server does not know is unauthorized", token: "not-a-token", wantStatus: http.StatusUnauthorized},
		{name: "a ServiceAccount not bound to arc-metrics-reader is forbidden", token: stranger, wantStatus: http.StatusForbidden},
		{name: "a ServiceAccount bound to arc-metrics-reader reads the metrics", token: reader, wantStatus: http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := scrape(t, url, tc.token)
			assert.Equal(t, tc.wantStatus, status, "GET %s: %s", url, shortBody(body))
			// The Go collector's metrics are always there, ARC's own only once
			// it has synced something.
			served := strings.Contains(body, "# TYPE go_goroutines gauge")
			assert.Equal(t, tc.wantStatus == http.StatusOK, served, "metrics in the body: %s", shortBody(body))
		})
	}

	t.Run("plain HTTP does not reach the metrics", func(t *testing.T) {
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + address + "/metrics")
		if err != nil {
			return // the TLS server closed the connection: fine
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		assert.NotEqual(t, http.StatusOK, resp.StatusCode, "plain HTTP: %s", shortBody(string(body)))
	})

	logged := rbacLogSince(logStart)
	for _, token := range []string{reader, stranger} {
		assert.NotContains(t, logged, token, "the controller's log must not show a client's token")
	}
	t.Logf("TestMetricsEndpoint took %s", time.Since(started).Round(100*time.Millisecond))
}

// metricsScraper makes a ServiceAccount in ns, binds it to
// arc-metrics-reader when bound, and returns a token of it.
func metricsScraper(t *testing.T, ns, name string, bound bool) string {
	t.Helper()
	ctx := t.Context()
	_, err := s.kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	require.NoError(t, err, "ServiceAccount %s/%s", ns, name)
	if bound {
		// Non-resource URLs are cluster-wide: only a ClusterRoleBinding grants them.
		binding := "e2e-" + ns + "-" + name
		_, err := s.kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: binding},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: metricsReaderRole},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}},
		}, metav1.CreateOptions{})
		require.NoError(t, err, "ClusterRoleBinding %s", binding)
		t.Cleanup(func() {
			err := s.kube.RbacV1().ClusterRoleBindings().Delete(context.Background(), binding, metav1.DeleteOptions{})
			assert.NoError(t, ignoreNotFound(err), "deleting ClusterRoleBinding %s", binding)
		})
	}
	return serviceAccountToken(t, ns, name)
}

// scrape GETs url with token (none if empty), trusting any certificate: the
// controller's is self-signed, as a scraper would be told to accept.
func scrape(t *testing.T, url, token string) (int, string) {
	t.Helper()
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // self-signed
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	require.NoError(t, err, "GET %s", url)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// shortBody cuts a response body for messages.
func shortBody(body string) string {
	body = strings.TrimSpace(body)
	if len(body) > 300 {
		return body[:300] + "..."
	}
	return body
}

//go:build e2e

package e2e

import (
	"path/filepath"
	"testing"
	"time"

	argoclient "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	arcclient "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned"
)

// Helpers for tests that act as someone other than the suite's administrator:
// a ServiceAccount through a TokenRequest token, or any user through
// impersonation.

// rbacClients are clients that authenticate as one identity.
type rbacClients struct {
	kubeconfig string
	kube       kubernetes.Interface
	arc        arcclient.Interface
	argo       argoclient.Interface
}

// newClients builds the clientsets of cfg.
func newClients(t *testing.T, cfg *rest.Config) *rbacClients {
	t.Helper()
	cfg.Timeout = 30 * time.Second
	c := &rbacClients{}
	var err error
	c.kube, err = kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	c.arc, err = arcclient.NewForConfig(cfg)
	require.NoError(t, err)
	c.argo, err = argoclient.NewForConfig(cfg)
	require.NoError(t, err)
	return c
}

// serviceAccountToken gets a token of ServiceAccount ns/name through the
// TokenRequest API, valid for an hour.
func serviceAccountToken(t *testing.T, ns, name string) string {
	t.Helper()
	tr, err := s.kube.CoreV1().ServiceAccounts(ns).CreateToken(t.Context(), name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	require.NoError(t, err, "TokenRequest for ServiceAccount %s/%s", ns, name)
	require.NotEmpty(t, tr.Status.Token)
	return tr.Status.Token
}

// serviceAccountClients gets a token of ServiceAccount ns/name and writes a
// kubeconfig into dir with it, the admin kubeconfig's server and CA, and no
// other credentials; the clients use that kubeconfig.
func serviceAccountClients(t *testing.T, ns, name, dir string) *rbacClients {
	t.Helper()
	token := serviceAccountToken(t, ns, name)

	admin, err := clientcmd.LoadFromFile(s.kubeconfig)
	require.NoError(t, err)
	adminCtx := admin.Contexts[admin.CurrentContext]
	require.NotNil(t, adminCtx, "context %q of %s", admin.CurrentContext, s.kubeconfig)
	cluster := admin.Clusters[adminCtx.Cluster]
	require.NotNil(t, cluster, "cluster %q of %s", adminCtx.Cluster, s.kubeconfig)
	cluster = cluster.DeepCopy()
	if cluster.CertificateAuthority != "" && !filepath.IsAbs(cluster.CertificateAuthority) {
		cluster.CertificateAuthority = filepath.Join(filepath.Dir(s.kubeconfig), cluster.CertificateAuthority)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["arc"] = cluster
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["arc"] = &clientcmdapi.Context{Cluster: "arc", AuthInfo: name}
	cfg.CurrentContext = "arc"
	path := filepath.Join(dir, name+".kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, path))

	rc, err := clientcmd.BuildConfigFromFlags("", path)
	require.NoError(t, err)
	c := newClients(t, rc)
	c.kubeconfig = path

	// The token is the ServiceAccount's, nothing else.
	review, err := c.kube.AuthenticationV1().SelfSubjectReviews().Create(t.Context(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	require.NoError(t, err, "SelfSubjectReview with the token of %s/%s", ns, name)
	assert.Equal(t, "system:serviceaccount:"+ns+":"+name, review.Status.UserInfo.Username)
	return c
}

// impersonatedClients act as user with groups (plus system:authenticated),
// through the administrator's right to impersonate. The API server then
// authorizes and admits every request as that user.
func impersonatedClients(t *testing.T, user string, groups ...string) *rbacClients {
	t.Helper()
	cfg := rest.CopyConfig(s.config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: append([]string{"system:authenticated"}, groups...)}
	return newClients(t, cfg)
}

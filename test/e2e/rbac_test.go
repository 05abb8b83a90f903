//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// What manifests/default installs the controller as.
const (
	rbacNamespace      = "arc-system"
	rbacServiceAccount = "arc-controller"
	rbacDeployment     = "arc-controller"
	rbacLease          = "arc-controller" // --leader-elect-lease-name default
	rbacUser           = "system:serviceaccount:" + rbacNamespace + ":" + rbacServiceAccount
	// rbacControllerSelector selects everything manifests/default installs
	// except the CRDs: what "uninstall the controller, keep the data" removes.
	rbacControllerSelector = "app.kubernetes.io/name=arc-controller"
)

// TestRBAC installs ARC the way its README says (kubectl apply -k
// manifests/default), then proves that the identity it installs,
// ServiceAccount arc-system/arc-controller, is enough to run ARC and no more:
//
//   - AccessReview asks the API server (SubjectAccessReview) about every verb
//     the ClusterRole and the Role grant, and about many they must not.
//   - DeployedIdentity runs bin/arc-controller outside the cluster with a
//     token of that ServiceAccount, with the Deployment's flags, leader
//     election in arc-system (the Role) and --namespace set to the test's
//     namespace, takes the OCI example to Succeeded, makes the controller
//     restore an edited ArtifactWorkflow and delete one no artifact needs,
//     checks that its log has no "forbidden", and makes forbidden requests
//     with the same token.
//
// It does not run in parallel: it stops the suite's shared controller (admin
// credentials, all namespaces) while its own controller works, as
// TestRestart does, so every write in its namespace is the ServiceAccount's.
// The pod of the Deployment never runs (the cluster has no Deployment
// controller, and the test scales it to 0 replicas).
func TestRBAC(t *testing.T) {
	started := time.Now()
	deploy := rbacInstall(t)
	t.Run("AccessReview", rbacAccessReview)
	t.Run("DeployedIdentity", func(t *testing.T) { rbacDeployedIdentity(t, deploy) })
	t.Logf("TestRBAC took %s", time.Since(started).Round(100*time.Millisecond))
}

// rbacKubectl runs bin/kubectl with the suite's admin kubeconfig and returns
// stdout and stderr.
func rbacKubectl(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	kubectl := filepath.Join(s.root, "bin", "kubectl")
	// Not t.Context(): that is canceled before cleanups run, and the
	// uninstall in a cleanup uses kubectl too.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig=" + s.kubeconfig}, args...)...)
	cmd.Dir = s.root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// rbacInstall applies manifests/default, checks that the API server holds
// every object of it, and returns the Deployment as built by kustomize. The
// cleanup removes everything but the CRDs, the documented way.
func rbacInstall(t *testing.T) *appsv1.Deployment {
	t.Helper()
	ctx := t.Context()

	// A Deployment left by an interrupted earlier run has its replicas owned
	// by this suite's field manager (it scales the Deployment to 0), which
	// would make the apply below conflict; the README's apply is what is
	// tested, on a clean slate.
	err := s.kube.AppsV1().Deployments(rbacNamespace).Delete(ctx, rbacDeployment, metav1.DeleteOptions{})
	require.NoError(t, ignoreNotFound(err), "removing a Deployment left by an earlier run")

	// A namespace left Terminating by an earlier run would refuse the objects.
	var lastPhase string
	err = rbacPoll(ctx, 2*time.Minute, func(ctx context.Context) (bool, error) {
		ns, err := s.kube.CoreV1().Namespaces().Get(ctx, rbacNamespace, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		lastPhase = string(ns.Status.Phase)
		return ns.Status.Phase != corev1.NamespaceTerminating, nil
	})
	require.NoError(t, err, "namespace %s still %s", rbacNamespace, lastPhase)

	built, stderr, err := rbacKubectl(t, "kustomize", "manifests/default")
	require.NoError(t, err, "kubectl kustomize manifests/default: %s", stderr)
	builtFile := filepath.Join(t.TempDir(), "default.yaml")
	require.NoError(t, os.WriteFile(builtFile, []byte(built), 0o644))
	objs, err := readObjects(builtFile)
	require.NoError(t, err)

	out, stderr, err := rbacKubectl(t, "apply", "--server-side", "-k", "manifests/default")
	require.NoError(t, err, "kubectl apply --server-side -k manifests/default:\n%s%s", out, stderr)
	t.Logf("kubectl apply --server-side -k manifests/default:\n%s", out)
	// Pod Security (the namespace warns and enforces "restricted") and field
	// validation report problems as warnings.
	for _, line := range strings.Split(stderr, "\n") {
		if strings.TrimSpace(line) != "" {
			t.Errorf("kubectl apply wrote to stderr: %s", line)
		}
	}
	t.Cleanup(func() { rbacUninstall(t) })

	// Every object of the build is on the server, as applied.
	kinds := map[string]int{}
	var deploy *appsv1.Deployment
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		kinds[gvk.Kind]++
		mapping, err := s.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		require.NoError(t, err, "%s %s", gvk.Kind, obj.GetName())
		ri := s.dyn.Resource(mapping.Resource)
		var live *unstructured.Unstructured
		if obj.GetNamespace() != "" {
			live, err = ri.Namespace(obj.GetNamespace()).Get(ctx, obj.GetName(), metav1.GetOptions{})
		} else {
			live, err = ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
		}
		if assert.NoError(t, err, "the API server has no %s %s/%s after the apply", gvk.Kind, obj.GetNamespace(), obj.GetName()) {
			assert.NotEmpty(t, live.GetUID())
		}
		if gvk.Kind == "Deployment" && obj.GetName() == rbacDeployment {
			deploy = &appsv1.Deployment{}
			require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, deploy))
		}
	}
	crdFiles, err := filepath.Glob(filepath.Join(s.root, "manifests", "crd", arcv1.GroupName+"_*.yaml"))
	require.NoError(t, err)
	assert.Equal(t, map[string]int{
		"Namespace": 1, "CustomResourceDefinition": len(crdFiles), "ServiceAccount": 1,
		// arc-controller, the user roles arc-order-author and arc-viewer, arc-metrics-reader
		"ClusterRole": 4, "ClusterRoleBinding": 1,
		"Role": 1, "RoleBinding": 1, "Deployment": 1, "Service": 1,
		"ValidatingAdmissionPolicy": 1, "ValidatingAdmissionPolicyBinding": 1,
	}, kinds, "what manifests/default installs")
	require.NotNil(t, deploy, "manifests/default has no Deployment %s", rbacDeployment)

	// The Deployment as the API server stored it.
	live, err := s.kube.AppsV1().Deployments(rbacNamespace).Get(ctx, rbacDeployment, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), ptr.Deref(live.Spec.Replicas, 0))
	pod := live.Spec.Template.Spec
	assert.Equal(t, rbacServiceAccount, pod.ServiceAccountName)
	assert.True(t, ptr.Deref(pod.AutomountServiceAccountToken, false), "automountServiceAccountToken")
	require.NotNil(t, pod.SecurityContext)
	assert.True(t, ptr.Deref(pod.SecurityContext.RunAsNonRoot, false), "runAsNonRoot")
	assert.Equal(t, int64(65532), ptr.Deref(pod.SecurityContext.RunAsUser, 0), "runAsUser")
	if assert.NotNil(t, pod.SecurityContext.SeccompProfile) {
		assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, pod.SecurityContext.SeccompProfile.Type)
	}
	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	require.NotNil(t, c.SecurityContext)
	assert.False(t, ptr.Deref(c.SecurityContext.AllowPrivilegeEscalation, true), "allowPrivilegeEscalation")
	assert.True(t, ptr.Deref(c.SecurityContext.ReadOnlyRootFilesystem, false), "readOnlyRootFilesystem")
	if assert.NotNil(t, c.SecurityContext.Capabilities) {
		assert.Equal(t, []corev1.Capability{"ALL"}, c.SecurityContext.Capabilities.Drop)
	}
	assert.Contains(t, c.Args, "--leader-elect=true")
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	assert.Equal(t, map[string]int32{"metrics": 8443, "health": 8081}, ports)
	assert.NotContains(t, c.Args, "--metrics-secure=false", "the Deployment serves /metrics securely")
	if assert.NotNil(t, c.LivenessProbe) && assert.NotNil(t, c.LivenessProbe.HTTPGet) {
		assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	}
	if assert.NotNil(t, c.ReadinessProbe) && assert.NotNil(t, c.ReadinessProbe.HTTPGet) {
		assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
	}
	grace := 30 * time.Second // the binary's default
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--shutdown-grace-period="); ok {
			grace, err = time.ParseDuration(v)
			require.NoError(t, err, "%s", a)
		}
	}
	assert.Greater(t, time.Duration(ptr.Deref(pod.TerminationGracePeriodSeconds, 30))*time.Second, grace,
		"terminationGracePeriodSeconds must exceed --shutdown-grace-period")

	// The pod the Deployment would create passes Pod Security "restricted",
	// which the namespace enforces (a dry run: the pod cannot run here).
	_, err = s.kube.CoreV1().Pods(rbacNamespace).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "arc-controller-dry-run-", Labels: live.Spec.Template.Labels},
		Spec:       pod,
	}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	assert.NoError(t, err, "the Deployment's pod is not admitted in %s", rbacNamespace)

	// The image cannot run here; on a real cluster it would pull the
	// placeholder image. The test runs the binary itself instead.
	_, err = s.kube.AppsV1().Deployments(rbacNamespace).Patch(ctx, rbacDeployment, types.MergePatchType,
		[]byte(`{"spec":{"replicas":0}}`), metav1.PatchOptions{FieldManager: fieldManager})
	require.NoError(t, err, "scaling the Deployment to 0")
	return deploy
}

// rbacUninstall removes what manifests/default installed except the CRDs
// (the README's "remove the controller, keep the data"), and checks the
// CRDs are still there.
func rbacUninstall(t *testing.T) {
	if os.Getenv(envKeep) != "" {
		t.Logf("%s set: keeping what manifests/default installed", envKeep)
		return
	}
	out, stderr, err := rbacKubectl(t, "delete", "-k", "manifests/default", "-l", rbacControllerSelector, "--wait=false", "--ignore-not-found")
	if err != nil {
		t.Errorf("kubectl delete -k manifests/default -l %s: %v\n%s%s", rbacControllerSelector, err, out, stderr)
		return
	}
	t.Logf("kubectl delete -k manifests/default -l %s:\n%s", rbacControllerSelector, out)
	// The policy went with the controller; the suite's shared controller
	// writes ArtifactWorkflows as the administrator again.
	waitAdmissionPolicy(t, false)
	for _, name := range []string{"orders", "artifactworkflows", "endpoints", "artifacttypes", "clusterartifacttypes"} {
		crd, err := s.dyn.Resource(crdGVR).Get(context.Background(), name+"."+arcv1.GroupName, metav1.GetOptions{})
		if assert.NoError(t, err, "uninstalling the controller must keep CRD %s", name) {
			assert.Nil(t, crd.GetDeletionTimestamp(), "uninstalling the controller must keep CRD %s", name)
		}
	}
}

// rbacPoll polls cond every pollInterval until it holds, fails or timeout passes.
func rbacPoll(ctx context.Context, timeout time.Duration, cond func(ctx context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, err := cond(ctx)
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}

// rbacCheck is one question to the authorizer about the controller's identity.
type rbacCheck struct {
	allowed                                       bool
	verb, group, resource, subresource, namespace string
	// name is the object asked about, "" for any (as in list or create).
	name string
}

func (c rbacCheck) String() string {
	res := c.resource
	if c.group != "" {
		res += "." + c.group
	}
	if c.subresource != "" {
		res += "/" + c.subresource
	}
	if c.name != "" {
		res += " " + c.name
	}
	where := "cluster-wide"
	if c.namespace != "" {
		where = "in " + c.namespace
	}
	return fmt.Sprintf("%s %s %s", c.verb, res, where)
}

// rbacChecks builds checks of every verb on a resource, in one namespace.
func rbacChecks(allowed bool, group, resource, subresource, namespace string, verbs ...string) []rbacCheck {
	out := make([]rbacCheck, len(verbs))
	for i, v := range verbs {
		out[i] = rbacCheck{allowed: allowed, verb: v, group: group, resource: resource, subresource: subresource, namespace: namespace}
	}
	return out
}

var rbacAllVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

// rbacNamed asks the checks about one object.
func rbacNamed(name string, checks []rbacCheck) []rbacCheck {
	for i := range checks {
		checks[i].name = name
	}
	return checks
}

// rbacSplit returns the verbs of rbacAllVerbs that are in allowed, and the others.
func rbacSplit(allowed ...string) (yes, no []string) {
	for _, v := range rbacAllVerbs {
		if rbacContains(allowed, v) {
			yes = append(yes, v)
		} else {
			no = append(no, v)
		}
	}
	return yes, no
}

func rbacContains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// rbacAccessReview asks the API server what the controller's identity may
// do: every verb on every resource ARC touches, yes or no, and a sample of
// what it must never do.
func rbacAccessReview(t *testing.T) {
	const ns = "rbac-review" // any namespace: the ClusterRole applies everywhere
	arc, argo, coord := arcv1.GroupName, "argoproj.io", "coordination.k8s.io"

	var checks []rbacCheck
	perResource := []struct {
		group, resource, subresource string
		namespaced                   bool
		verbs                        []string
	}{
		{arc, "endpoints", "", true, []string{"get", "list", "watch"}},
		{arc, "artifacttypes", "", true, []string{"get", "list", "watch"}},
		{arc, "clusterartifacttypes", "", false, []string{"get", "list", "watch"}},
		// delete: an Order with ttlSecondsAfterFinished deletes itself.
		{arc, "orders", "", true, []string{"get", "list", "watch", "delete"}},
		{arc, "orders", "status", true, []string{"update"}},
		{arc, "orders", "finalizers", true, []string{"update"}},
		// patch: a re-run request changes the spec of the cached object,
		// which holds no labels an update would keep.
		{arc, "artifactworkflows", "", true, []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
		{arc, "artifactworkflows", "status", true, []string{"update"}},
		{arc, "artifactworkflows", "finalizers", true, []string{"update"}},
		// patch: ARC's finalizer on its Workflows; delete: TTL cleanup.
		{argo, "workflows", "", true, []string{"get", "list", "watch", "create", "patch", "delete"}},
		{argo, "workflows", "status", true, nil},
		{argo, "workflowtemplates", "", true, nil},
		{argo, "clusterworkflowtemplates", "", false, nil},
		// Scheduled artifacts: patch replaces the spec (never update: Argo
		// keeps counters in the status); delete when a schedule is removed.
		{argo, "cronworkflows", "", true, []string{"get", "list", "watch", "create", "patch", "delete"}},
		{argo, "cronworkflows", "status", true, nil},
		{argo, "workflowtaskresults", "", true, nil},
		// get is granted although only list and watch are used: RBAC cannot
		// grant Secret metadata without data, and list returns the data anyway.
		{"", "secrets", "", true, []string{"get", "list", "watch"}},
		{"", "events", "", true, []string{"create", "patch"}},
		// The metrics endpoint's delegated authentication and authorization.
		{"authentication.k8s.io", "tokenreviews", "", false, []string{"create"}},
		{"authorization.k8s.io", "subjectaccessreviews", "", false, []string{"create"}},
		{"", "pods", "", true, nil},
		{"", "configmaps", "", true, nil},
		{"", "serviceaccounts", "", true, nil},
		{"", "serviceaccounts", "token", true, []string{}},
		// Labels of namespaces decide which ClusterArtifactTypes they are offered.
		{"", "namespaces", "", false, []string{"get", "list", "watch"}},
		{"events.k8s.io", "events", "", true, nil},
		{coord, "leases", "", true, nil},
		{"rbac.authorization.k8s.io", "clusterroles", "", false, nil},
		{"rbac.authorization.k8s.io", "rolebindings", "", true, nil},
		{"apiextensions.k8s.io", "customresourcedefinitions", "", false, nil},
	}
	for _, r := range perResource {
		namespace := ""
		if r.namespaced {
			namespace = ns
		}
		yes, no := rbacSplit(r.verbs...)
		if r.subresource != "" {
			// Subresources are only ever read, updated or patched.
			yes, no = r.verbs, nil
			for _, v := range []string{"get", "update", "patch", "create"} {
				if !rbacContains(r.verbs, v) {
					no = append(no, v)
				}
			}
		}
		checks = append(checks, rbacChecks(true, r.group, r.resource, r.subresource, namespace, yes...)...)
		checks = append(checks, rbacChecks(false, r.group, r.resource, r.subresource, namespace, no...)...)
	}
	// Its own Lease only, in the controller's namespace: get and update of
	// that one Lease; create of any (RBAC cannot limit create by name).
	checks = append(checks, rbacNamed(rbacLease, rbacChecks(true, coord, "leases", "", rbacNamespace, "get", "update"))...)
	checks = append(checks, rbacChecks(true, coord, "leases", "", rbacNamespace, "create")...)
	checks = append(checks, rbacNamed(rbacLease, rbacChecks(false, coord, "leases", "", rbacNamespace, "patch", "delete"))...)
	checks = append(checks, rbacNamed("another-component", rbacChecks(false, coord, "leases", "", rbacNamespace, "get", "update", "patch", "delete"))...)
	checks = append(checks, rbacChecks(false, coord, "leases", "", rbacNamespace, "get", "list", "watch", "update", "deletecollection")...)
	checks = append(checks, rbacNamed(rbacLease, rbacChecks(false, coord, "leases", "", "kube-system", "get", "update"))...)
	checks = append(checks, rbacChecks(false, coord, "leases", "", "kube-system", "create")...)
	// Nothing that widens its own rights.
	checks = append(checks,
		rbacCheck{verb: "impersonate", resource: "serviceaccounts", namespace: ns},
		rbacCheck{verb: "impersonate", resource: "users"},
		rbacCheck{verb: "escalate", group: "rbac.authorization.k8s.io", resource: "clusterroles"},
		rbacCheck{verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles"},
		rbacCheck{verb: "*", group: arc, resource: "*", namespace: ns},
	)

	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + rbacNamespace, "system:authenticated"}
	var granted []string
	for _, c := range checks {
		sar, err := s.kube.AuthorizationV1().SubjectAccessReviews().Create(t.Context(), &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{
				User:   rbacUser,
				Groups: groups,
				ResourceAttributes: &authorizationv1.ResourceAttributes{
					Namespace: c.namespace, Verb: c.verb, Group: c.group, Resource: c.resource, Subresource: c.subresource, Name: c.name,
				},
			},
		}, metav1.CreateOptions{})
		require.NoError(t, err, "SubjectAccessReview %s", c)
		if sar.Status.Allowed != c.allowed {
			t.Errorf("%s may %s: allowed=%v, want %v (%s)", rbacUser, c, sar.Status.Allowed, c.allowed, sar.Status.Reason)
		}
		if sar.Status.Allowed {
			granted = append(granted, c.String())
		}
	}
	t.Logf("%d access reviews; %s may: %s", len(checks), rbacUser, strings.Join(granted, "; "))

	// The same through kubectl, as an administrator would check it.
	out, stderr, err := rbacKubectl(t, "auth", "can-i", "--list", "--as="+rbacUser, "--namespace="+rbacNamespace)
	require.NoError(t, err, "kubectl auth can-i --list: %s", stderr)
	t.Logf("kubectl auth can-i --list --as=%s --namespace=%s:\n%s", rbacUser, rbacNamespace, out)
	for _, q := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "orders." + arc}, "no"},
		{[]string{"update", "orders." + arc}, "no"},
		{[]string{"update", "orders." + arc, "--subresource=status"}, "yes"},
		{[]string{"delete", "endpoints." + arc}, "no"},
		{[]string{"delete", "workflows." + argo}, "yes"},
		{[]string{"update", "workflows." + argo}, "no"},
		{[]string{"create", "workflows." + argo}, "yes"},
		{[]string{"patch", "cronworkflows." + argo}, "yes"},
		{[]string{"update", "cronworkflows." + argo}, "no"},
		{[]string{"get", "secrets"}, "yes"},
		{[]string{"create", "secrets"}, "no"},
		{[]string{"update", "leases." + coord + "/" + rbacLease, "--namespace=" + rbacNamespace}, "yes"},
		{[]string{"update", "leases." + coord + "/kube-scheduler", "--namespace=" + rbacNamespace}, "no"},
		{[]string{"create", "tokenreviews.authentication.k8s.io"}, "yes"},
	} {
		// A later --namespace wins over the first.
		out, _, _ := rbacKubectl(t, append([]string{"auth", "can-i", "--as=" + rbacUser, "--namespace=" + ns}, q.args...)...)
		assert.Equal(t, q.want, strings.TrimSpace(out), "kubectl auth can-i %s --as=%s", strings.Join(q.args, " "), rbacUser)
	}
}

// rbacServiceAccountClients returns clients that authenticate as the
// controller's ServiceAccount (see serviceAccountClients).
func rbacServiceAccountClients(t *testing.T, dir string) *rbacClients {
	t.Helper()
	return serviceAccountClients(t, rbacNamespace, rbacServiceAccount, dir)
}

// rbacDeployedIdentity runs the controller as the ServiceAccount and takes
// the OCI example through it.
func rbacDeployedIdentity(t *testing.T, deploy *appsv1.Deployment) {
	f := newFixture(t, "rbac")
	sa := rbacServiceAccountClients(t, t.TempDir())

	// The Deployment's flags, but the probe and metrics addresses, which
	// launchController chooses (free ports on 127.0.0.1).
	var args []string
	for _, a := range deploy.Spec.Template.Spec.Containers[0].Args {
		if strings.HasPrefix(a, "--metrics-bind-address") || strings.HasPrefix(a, "--health-probe-bind-address") {
			continue
		}
		args = append(args, a)
	}
	// launchController puts its own flags first; later ones win.
	args = append(args,
		"--kubeconfig="+sa.kubeconfig,
		"--namespace="+f.ns,
		"--leader-elect-namespace="+rbacNamespace,
	)

	// Stop the shared controller, as TestRestart does: it would act on this
	// namespace too, with admin rights. Whatever happens, the suite gets it back.
	s.suspendSharedController(t)

	err := s.kube.CoordinationV1().Leases(rbacNamespace).Delete(t.Context(), rbacLease, metav1.DeleteOptions{})
	require.NoError(t, ignoreNotFound(err), "removing a Lease left by an earlier run")
	logStart := rbacLogSize()
	p, err := s.launchController(args...)
	require.NoError(t, err, "starting arc-controller as %s", rbacUser)
	t.Cleanup(func() {
		if err := p.stop(45 * time.Second); err != nil {
			t.Errorf("stopping arc-controller: %v", err)
		}
	})
	t.Logf("arc-controller (pid %d) runs as %s: %s", p.pid(), rbacUser, strings.Join(args, " "))

	// It leads: the Lease in arc-system exists and is held (the Role works).
	f.waitFor("Lease "+rbacNamespace+"/"+rbacLease+" held", defaultTimeout, func(ctx context.Context) (bool, string, error) {
		lease, err := s.kube.CoordinationV1().Leases(rbacNamespace).Get(ctx, rbacLease, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		holder := ptr.Deref(lease.Spec.HolderIdentity, "")
		return holder != "", "holder " + holder, nil
	})

	// The OCI example, as in TestOCIExample.
	f.setUpOCIEndpoints()
	f.createArtifactType("oci", ociType(templateOCI))
	applied := f.applyRepoFile("examples/oci/order.yaml")
	require.Len(t, applied, 1)
	orderName := applied[0].GetName()
	order := f.waitOrderPhase(orderName, arcv1.OrderPhaseSucceeded)
	awName := f.mustEntry(order, 0).Name
	f.waitWorkflowPhase(awName, wfv1.WorkflowSucceeded)
	aw := f.waitArtifactWorkflow(awName, "Succeeded", func(aw *arcv1.ArtifactWorkflow) (bool, string, error) {
		return aw.Status.Phase == arcv1.WorkflowPhaseSucceeded, "", nil
	})
	f.waitEvent("Order", orderName, corev1.EventTypeNormal, "Created")
	t.Logf("the OCI example succeeded under %s", rbacUser)

	// update: the ArtifactWorkflow is edited; the Order controller restores
	// it. The admission policy of manifests/default refuses the edit to
	// anyone but ARC's own identity, the cluster administrator included, so
	// the edit is made with the controller's token.
	want := artifactWorkflowParameters(aw)["specImage"]
	tamper := awUpdate(func(aw *arcv1.ArtifactWorkflow) {
		for i := range aw.Spec.Parameters {
			if aw.Spec.Parameters[i].Name == "specImage" {
				aw.Spec.Parameters[i].Value = "tampered"
			}
		}
	}, false)
	err = tamper(t.Context(), s.arc, f.ns, awName)
	assert.True(t, isAdmissionPolicyDenial(err), "the administrator edits an ArtifactWorkflow: want the policy's denial, got %v", err)
	require.NoError(t, tamper(t.Context(), sa.arc, f.ns, awName), "ARC's ServiceAccount edits an ArtifactWorkflow")
	f.waitArtifactWorkflow(awName, "spec restored", func(aw *arcv1.ArtifactWorkflow) (bool, string, error) {
		got := artifactWorkflowParameters(aw)["specImage"]
		return got == want, "specImage=" + got, nil
	})

	// delete: the artifact changes, so its ArtifactWorkflow is replaced.
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := s.arc.ArcV1alpha1().Orders(f.ns).Get(t.Context(), orderName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Spec.Artifacts[0].Spec = rawSpec(`{"image":"library/alpine:3.19","override":"myteam/alpine:3.19-dev"}`)
		_, err = s.arc.ArcV1alpha1().Orders(f.ns).Update(t.Context(), cur, metav1.UpdateOptions{})
		return err
	}))
	order = f.waitOrder(orderName, "Succeeded with a new ArtifactWorkflow", func(o *arcv1.Order) (bool, string) {
		e, _ := entryFor(o, 0)
		return o.Status.Phase == arcv1.OrderPhaseSucceeded && e.Name != awName, "entry " + e.Name
	})
	f.artifactWorkflowGone(awName)
	f.waitEvent("Order", orderName, corev1.EventTypeNormal, "Deleted")

	// Nothing the controller tried was refused.
	logged := rbacLogSince(logStart)
	for _, line := range strings.Split(logged, "\n") {
		if strings.Contains(strings.ToLower(line), "forbidden") {
			t.Errorf("arc-controller was refused something: %s", line)
		}
	}

	rbacForbiddenRequests(t, sa, f.ns, orderName, f.mustEntry(order, 0).Name)
}

// rbacForbiddenRequests makes requests with the ServiceAccount's token that
// RBAC must refuse, and one it must allow although ARC does not need it.
func rbacForbiddenRequests(t *testing.T, sa *rbacClients, ns, orderName, workflowName string) {
	ctx := t.Context()
	forbidden := func(what string, err error) {
		t.Helper()
		assert.True(t, apierrors.IsForbidden(err), "%s as %s: want Forbidden, got %v", what, rbacUser, err)
	}

	_, err := sa.arc.ArcV1alpha1().Orders(ns).Create(ctx, &arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: "not-allowed"},
		Spec:       arcv1.OrderSpec{Artifacts: []arcv1.OrderArtifact{{Type: "oci"}}},
	}, metav1.CreateOptions{})
	forbidden("creating an Order", err)

	order, err := sa.arc.ArcV1alpha1().Orders(ns).Get(ctx, orderName, metav1.GetOptions{})
	require.NoError(t, err, "reading an Order is allowed")
	order.Spec.Artifacts = nil
	_, err = sa.arc.ArcV1alpha1().Orders(ns).Update(ctx, order, metav1.UpdateOptions{})
	forbidden("updating an Order's spec", err)
	_, err = sa.arc.ArcV1alpha1().Orders(ns).Patch(ctx, orderName, types.MergePatchType, []byte(`{"status":{"phase":"Failed"}}`), metav1.PatchOptions{}, "status")
	forbidden("patching an Order's status", err)
	forbidden("deleting every Order at once", sa.arc.ArcV1alpha1().Orders(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}))

	forbidden("deleting an Endpoint", sa.arc.ArcV1alpha1().Endpoints(ns).Delete(ctx, "dockerhub", metav1.DeleteOptions{}))
	_, err = sa.arc.ArcV1alpha1().Endpoints(ns).Patch(ctx, "dockerhub", types.MergePatchType, []byte(`{"spec":{"remoteURL":"evil.example"}}`), metav1.PatchOptions{})
	forbidden("patching an Endpoint", err)
	forbidden("deleting an ArtifactType", sa.arc.ArcV1alpha1().ArtifactTypes(ns).Delete(ctx, "oci", metav1.DeleteOptions{}))

	wf, err := sa.argo.ArgoprojV1alpha1().Workflows(ns).Get(ctx, workflowName, metav1.GetOptions{})
	require.NoError(t, err, "reading a Workflow is allowed")
	wf.Labels = map[string]string{"x": "y"}
	_, err = sa.argo.ArgoprojV1alpha1().Workflows(ns).Update(ctx, wf, metav1.UpdateOptions{})
	forbidden("updating a Workflow", err)
	forbidden("deleting every Workflow at once", sa.argo.ArgoprojV1alpha1().Workflows(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}))
	_, err = sa.argo.ArgoprojV1alpha1().WorkflowTemplates(ns).Create(ctx, &wfv1.WorkflowTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "not-allowed"},
	}, metav1.CreateOptions{})
	forbidden("creating a WorkflowTemplate", err)
	_, err = sa.argo.ArgoprojV1alpha1().ClusterWorkflowTemplates().Get(ctx, templateOCI, metav1.GetOptions{})
	forbidden("reading a ClusterWorkflowTemplate", err)

	// Secrets: ARC only needs to know they exist, but RBAC cannot grant
	// metadata without data; get is allowed (and list returns the data too).
	_, err = sa.kube.CoreV1().Secrets(ns).Get(ctx, "dst-reg-secret", metav1.GetOptions{})
	assert.NoError(t, err, "get secrets is granted (documented: RBAC cannot limit it to metadata)")
	_, err = sa.kube.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "not-allowed"}}, metav1.CreateOptions{})
	forbidden("creating a Secret", err)
	forbidden("deleting a Secret", sa.kube.CoreV1().Secrets(ns).Delete(ctx, "dst-reg-secret", metav1.DeleteOptions{}))

	_, err = sa.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	forbidden("listing Pods", err)
	_, err = sa.kube.CoordinationV1().Leases(metav1.NamespaceDefault).Get(ctx, rbacLease, metav1.GetOptions{})
	forbidden("reading a Lease outside "+rbacNamespace, err)
	rbacOtherLease(t, sa)
}

// rbacOtherLease shows that the token reaches no Lease in arc-system but
// ARC's own: it may create one (RBAC cannot limit create by name), but
// neither read, renew nor take it over afterwards.
func rbacOtherLease(t *testing.T, sa *rbacClients) {
	ctx := t.Context()
	const other = "another-component"
	leases := sa.kube.CoordinationV1().Leases(rbacNamespace)
	lease, err := leases.Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: other},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("someone-else")},
	}, metav1.CreateOptions{})
	require.NoError(t, err, "creating a Lease in %s is allowed: create cannot be limited by name", rbacNamespace)
	t.Cleanup(func() {
		err := s.kube.CoordinationV1().Leases(rbacNamespace).Delete(context.Background(), other, metav1.DeleteOptions{})
		assert.NoError(t, ignoreNotFound(err), "deleting Lease %s", other)
	})
	_, err = leases.Get(ctx, other, metav1.GetOptions{})
	assert.True(t, apierrors.IsForbidden(err), "reading Lease %s/%s: want Forbidden, got %v", rbacNamespace, other, err)
	lease.Spec.HolderIdentity = ptr.To("arc-controller")
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	assert.True(t, apierrors.IsForbidden(err), "taking over Lease %s/%s: want Forbidden, got %v", rbacNamespace, other, err)
}

// rbacLogSize is the current size of the controllers' log.
func rbacLogSize() int64 {
	fi, err := os.Stat(s.controllerLog)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// rbacLogSince returns what the controllers logged after offset.
func rbacLogSince(offset int64) string {
	data, err := os.ReadFile(s.controllerLog)
	if err != nil || int64(len(data)) < offset {
		return ""
	}
	return string(data[offset:])
}

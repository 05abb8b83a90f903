//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	arcclient "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned"
)

// The admission policy of manifests/admission and what it answers.
const (
	admissionPolicy = "arc-artifactworkflow-writers"
	// admissionMessage starts the policy's message (messageExpression).
	admissionMessage = "only ARC's controller (" + rbacUser + ") may create or update ArtifactWorkflows"
	// admissionHint is what the message tells the user to do instead.
	admissionHint = "edit the Order instead"
	// garbageCollector is the identity of kube-controller-manager's garbage
	// collector with --use-service-account-credentials (hack/cluster.sh).
	garbageCollector = "system:serviceaccount:kube-system:generic-garbage-collector"
)

// isAdmissionPolicyDenial reports whether err is the policy's refusal, with
// its message.
func isAdmissionPolicyDenial(err error) bool {
	return apierrors.IsForbidden(err) && strings.Contains(err.Error(), admissionPolicy) &&
		strings.Contains(err.Error(), admissionMessage) && strings.Contains(err.Error(), admissionHint)
}

// byHand is an ArtifactWorkflow as someone would write it to skip the Order
// controller's checks: any Secret of the namespace as credentials.
func byHand(name string) *arcv1.ArtifactWorkflow {
	return &arcv1.ArtifactWorkflow{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: arcv1.ArtifactWorkflowSpec{
			Type:         "oci",
			Parameters:   []arcv1.Parameter{{Name: "specImage", Value: "library/alpine:3.18"}},
			SrcSecretRef: ref("someone-elses-secret"),
		},
	}
}

// waitAdmissionPolicy waits until the API server enforces the policy
// (inForce) or no longer does: policies take effect through an informer of
// the API server, a moment after they are written. It asks with a dry-run
// create of the administrator, which the policy refuses like any other.
func waitAdmissionPolicy(t *testing.T, inForce bool) {
	t.Helper()
	var last error
	err := rbacPoll(context.Background(), time.Minute, func(ctx context.Context) (bool, error) {
		_, last = s.arc.ArcV1alpha1().ArtifactWorkflows(metav1.NamespaceDefault).Create(ctx, byHand("dry-run"),
			metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return isAdmissionPolicyDenial(last) == inForce, nil
	})
	if err != nil {
		t.Fatalf("the admission policy is not %s after a minute; a dry-run create answers: %v",
			map[bool]string{true: "in force", false: "gone"}[inForce], last)
	}
}

// TestAdmissionPolicy installs manifests/default and shows that its
// ValidatingAdmissionPolicy lets only ARC's ServiceAccount create and update
// ArtifactWorkflows, status included; not a user who holds every verb on
// every ARC kind, not even the cluster administrator. The garbage collector
// may change an ArtifactWorkflow's metadata (owner references, finalizers),
// nothing else, and the real one does its work. Deletes stay with RBAC.
//
// It does not run in parallel: the policy holds in the whole cluster while
// it is installed, and the suite's shared controller, which writes as the
// administrator, is stopped meanwhile.
func TestAdmissionPolicy(t *testing.T) {
	started := time.Now()
	rbacInstall(t)
	s.suspendSharedController(t)
	waitAdmissionPolicy(t, true)
	t.Logf("policy %s in force %s after the start of the test", admissionPolicy, time.Since(started).Round(100*time.Millisecond))

	f := newFixture(t, "admission")
	arc := rbacServiceAccountClients(t, t.TempDir())
	user := arcEverythingUser(t, f.ns)
	t.Run("Writers", func(t *testing.T) { admissionWriters(t, f, arc, user) })
	t.Run("GarbageCollector", func(t *testing.T) { admissionGarbageCollector(t, f, arc, user) })
	t.Logf("TestAdmissionPolicy took %s", time.Since(started).Round(100*time.Millisecond))
}

// arcEverythingUser binds a user to every verb on every ARC kind in ns (and
// on ArtifactWorkflows' status), checks that RBAC lets it write
// ArtifactWorkflows, and returns clients that impersonate it.
func arcEverythingUser(t *testing.T, ns string) *rbacClients {
	t.Helper()
	const name = "e2e-arc-everything"
	ctx := t.Context()
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{arcv1.GroupName}, Resources: []string{"*"}, Verbs: []string{"*"}}},
	}
	_, err := s.kube.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = s.kube.RbacV1().ClusterRoles().Update(ctx, role, metav1.UpdateOptions{})
	}
	require.NoError(t, err, "ClusterRole %s", name)
	t.Cleanup(func() {
		err := s.kube.RbacV1().ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{})
		assert.NoError(t, ignoreNotFound(err), "deleting ClusterRole %s", name)
	})
	_, err = s.kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}},
	}, metav1.CreateOptions{})
	require.NoError(t, err, "RoleBinding %s/%s", ns, name)

	// RBAC allows it all: what follows is refused by the policy alone.
	for _, q := range [][]string{{"create", "artifactworkflows." + arcv1.GroupName}, {"update", "artifactworkflows." + arcv1.GroupName, "--subresource=status"}} {
		out, _, _ := rbacKubectl(t, append([]string{"auth", "can-i", "--as=" + name, "--namespace=" + ns}, q...)...)
		require.Equal(t, "yes", strings.TrimSpace(out), "kubectl auth can-i %s --as=%s", strings.Join(q, " "), name)
	}
	return impersonatedClients(t, name)
}

// awWrite is one write to an ArtifactWorkflow.
type awWrite func(ctx context.Context, arc arcclient.Interface, ns, name string) error

func awCreate(ctx context.Context, arc arcclient.Interface, ns, name string) error {
	_, err := arc.ArcV1alpha1().ArtifactWorkflows(ns).Create(ctx, byHand(name), metav1.CreateOptions{})
	return err
}

// awUpdate gets the ArtifactWorkflow, lets change edit it and writes it
// back, the status subresource when status is set, retrying on conflicts.
func awUpdate(change func(*arcv1.ArtifactWorkflow), status bool) awWrite {
	return func(ctx context.Context, arc arcclient.Interface, ns, name string) error {
		aws := arc.ArcV1alpha1().ArtifactWorkflows(ns)
		return retry.RetryOnConflict(retry.DefaultRetry, func() error {
			aw, err := aws.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			change(aw)
			if status {
				_, err = aws.UpdateStatus(ctx, aw, metav1.UpdateOptions{})
			} else {
				_, err = aws.Update(ctx, aw, metav1.UpdateOptions{})
			}
			return err
		})
	}
}

// awUpdateSpec points the ArtifactWorkflow at another Secret.
var awUpdateSpec = awUpdate(func(aw *arcv1.ArtifactWorkflow) {
	aw.Spec.DstSecretRef = ref("another-secret-" + time.Now().Format("150405.000000"))
}, false)

// awUpdateStatus declares the work done.
var awUpdateStatus = awUpdate(func(aw *arcv1.ArtifactWorkflow) {
	aw.Status.Phase = arcv1.WorkflowPhaseSucceeded
	aw.Status.Message = "written at " + time.Now().Format(time.RFC3339Nano)
}, true)

// awPatchLabel changes metadata only.
func awPatchLabel(ctx context.Context, arc arcclient.Interface, ns, name string) error {
	patch := `{"metadata":{"labels":{"e2e-touched":"` + time.Now().Format("150405.000000") + `"}}}`
	_, err := arc.ArcV1alpha1().ArtifactWorkflows(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	return err
}

func awDelete(ctx context.Context, arc arcclient.Interface, ns, name string) error {
	return arc.ArcV1alpha1().ArtifactWorkflows(ns).Delete(ctx, name, metav1.DeleteOptions{})
}

// admissionWriters tries every kind of write as every identity.
func admissionWriters(t *testing.T, f *fixture, arc, user *rbacClients) {
	admin := &rbacClients{arc: s.arc}
	gc := impersonatedClients(t, garbageCollector, "system:serviceaccounts", "system:serviceaccounts:kube-system")

	// The ArtifactWorkflow the updates are made to, ARC's.
	const target = "target"
	require.NoError(t, awCreate(t.Context(), arc.arc, f.ns, target), "ARC's ServiceAccount creates an ArtifactWorkflow")

	cases := []struct {
		name        string
		as          *rbacClients
		write       awWrite
		createsName string // the name a create uses; "" writes the target
		allowed     bool
	}{
		{name: "ARC's ServiceAccount creates one", as: arc, write: awCreate, createsName: "by-arc", allowed: true},
		{name: "ARC's ServiceAccount updates the spec", as: arc, write: awUpdateSpec, allowed: true},
		{name: "ARC's ServiceAccount updates the status", as: arc, write: awUpdateStatus, allowed: true},
		{name: "ARC's ServiceAccount deletes one", as: arc, write: awDelete, createsName: "by-arc", allowed: true},
		{name: "a user with every verb on ARC's kinds may not create one", as: user, write: awCreate, createsName: "by-user"},
		{name: "a user with every verb on ARC's kinds may not update the spec", as: user, write: awUpdateSpec},
		{name: "a user with every verb on ARC's kinds may not update the status", as: user, write: awUpdateStatus},
		{name: "a user with every verb on ARC's kinds may not even change a label", as: user, write: awPatchLabel},
		{name: "the cluster administrator may not create one", as: admin, write: awCreate, createsName: "by-admin"},
		{name: "the cluster administrator may not update the spec", as: admin, write: awUpdateSpec},
		{name: "the garbage collector may change metadata", as: gc, write: awPatchLabel, allowed: true},
		{name: "the garbage collector may not change the spec", as: gc, write: awUpdateSpec},
		{name: "the garbage collector may not change the status", as: gc, write: awUpdateStatus},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := target
			if tc.createsName != "" {
				name = tc.createsName
			}
			err := tc.write(t.Context(), tc.as.arc, f.ns, name)
			if tc.allowed {
				assert.NoError(t, err)
				return
			}
			if assert.True(t, isAdmissionPolicyDenial(err), "want the policy's denial, got %v", err) {
				t.Logf("refused: %v", err)
			}
		})
	}

	// Deletes are RBAC's: the user who may delete ArtifactWorkflows does.
	require.NoError(t, awCreate(t.Context(), arc.arc, f.ns, "to-delete"))
	assert.NoError(t, awDelete(t.Context(), user.arc, f.ns, "to-delete"), "a user RBAC allows to delete an ArtifactWorkflow deletes it")
}

// admissionGarbageCollector lets the real garbage collector do the two
// updates it makes to ArtifactWorkflows: remove the owner reference to an
// Order deleted with propagationPolicy=Orphan, and remove the
// foregroundDeletion finalizer of an ArtifactWorkflow deleted in the
// foreground. Were the collector refused, the Order would keep its orphan
// finalizer and the ArtifactWorkflow its foregroundDeletion one: both waits
// would time out.
func admissionGarbageCollector(t *testing.T, f *fixture, arc, user *rbacClients) {
	ctx := t.Context()
	// The garbage collector looks for new resources every 30 s. On a cluster
	// that got ARC's CRDs moments ago (TestMain installs them) it may not
	// watch ArtifactWorkflows yet: it then orphans nothing, and deletes the
	// ArtifactWorkflow as garbage once it learns of it. That attempt says
	// nothing about the policy, and is made again with a new pair.
	var owned string
	err := rbacPoll(ctx, time.Minute+defaultTimeout, func(ctx context.Context) (bool, error) {
		name := fmt.Sprintf("owned-%d", time.Now().UnixNano())
		orphaned, err := admissionOrphan(t, f, arc, user, name)
		if orphaned {
			owned = name
		} else if err == nil {
			t.Logf("the garbage collector deleted %s instead of orphaning it: it did not watch ArtifactWorkflows yet; again", name)
		}
		return orphaned, err
	})
	require.NoError(t, err, "the garbage collector never orphaned an ArtifactWorkflow")

	err = user.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).Delete(ctx, owned, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)})
	require.NoError(t, err, "deleting the ArtifactWorkflow in the foreground")
	f.artifactWorkflowGone(owned)
}

// admissionOrphan has the user create an Order and ARC's token an
// ArtifactWorkflow name it owns, deletes the Order with
// propagationPolicy=Orphan, and waits until the Order is gone. It reports
// whether the ArtifactWorkflow stayed, without owner reference, or (false)
// went with the Order; an error when neither happened in time.
func admissionOrphan(t *testing.T, f *fixture, arc, user *rbacClients, name string) (bool, error) {
	ctx := t.Context()
	order, err := user.arc.ArcV1alpha1().Orders(f.ns).Create(ctx, &arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-order"},
		Spec:       arcv1.OrderSpec{Artifacts: []arcv1.OrderArtifact{{Type: "oci", SrcRef: ref("nowhere"), DstRef: ref("nowhere")}}},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("the user creates an Order: %w", err)
	}
	owned := byHand(name)
	owned.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: arcv1.SchemeGroupVersion.String(), Kind: "Order", Name: order.Name, UID: order.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}}
	if _, err := arc.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).Create(ctx, owned, metav1.CreateOptions{}); err != nil {
		return false, fmt.Errorf("ARC's ServiceAccount creates an ArtifactWorkflow owned by the Order: %w", err)
	}
	err = user.arc.ArcV1alpha1().Orders(f.ns).Delete(ctx, order.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationOrphan)})
	if err != nil {
		return false, fmt.Errorf("deleting the Order, orphaning its ArtifactWorkflow: %w", err)
	}

	var orphaned bool
	var state string
	err = rbacPoll(ctx, defaultTimeout, func(ctx context.Context) (bool, error) {
		aw, err := s.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil // went with its Order
		}
		if err != nil {
			state = err.Error()
			return false, nil
		}
		_, orderErr := s.arc.ArcV1alpha1().Orders(f.ns).Get(ctx, order.Name, metav1.GetOptions{})
		state = "owner references: " + ownerNames(aw.OwnerReferences) + "; Order: " + errString(orderErr)
		orphaned = len(aw.OwnerReferences) == 0 && apierrors.IsNotFound(orderErr)
		return orphaned, nil
	})
	if err != nil {
		return false, fmt.Errorf("waiting for the garbage collector to orphan ArtifactWorkflow %s (%s): %w", name, state, err)
	}
	return orphaned, nil
}

func ownerNames(refs []metav1.OwnerReference) string {
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = r.Kind + "/" + r.Name
	}
	return "[" + strings.Join(names, " ") + "]"
}

// TestAdmissionPolicyFollowsOverlay builds an overlay of manifests/default
// that moves ARC to another namespace and prefixes every name, as
// manifests/README.md describes, and checks that the policy's binding still
// names ARC's ServiceAccount and the binding the policy.
func TestAdmissionPolicyFollowsOverlay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base, err := filepath.Rel(dir, filepath.Join(s.root, "manifests", "default"))
	require.NoError(t, err)
	overlay := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" +
		"namespace: team-arc\nnamePrefix: team-\nresources:\n  - " + filepath.ToSlash(base) + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(overlay), 0o644))
	built, stderr, err := rbacKubectl(t, "kustomize", dir)
	require.NoError(t, err, "kubectl kustomize of the overlay: %s", stderr)
	builtFile := filepath.Join(dir, "built.yaml")
	require.NoError(t, os.WriteFile(builtFile, []byte(built), 0o644))
	objs, err := readObjects(builtFile)
	require.NoError(t, err)

	byKind := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		if o.GetKind() == "ServiceAccount" || strings.HasPrefix(o.GetKind(), "ValidatingAdmissionPolicy") {
			byKind[o.GetKind()] = o
		}
	}
	sa, policy, binding := byKind["ServiceAccount"], byKind["ValidatingAdmissionPolicy"], byKind["ValidatingAdmissionPolicyBinding"]
	require.NotNil(t, sa, "the overlay has ARC's ServiceAccount")
	require.NotNil(t, policy, "the overlay has the policy")
	require.NotNil(t, binding, "the overlay has the policy's binding")
	assert.Equal(t, "team-arc", sa.GetNamespace())
	assert.Equal(t, "team-"+rbacServiceAccount, sa.GetName())

	paramRef, _, _ := unstructured.NestedStringMap(binding.Object, "spec", "paramRef")
	assert.Equal(t, sa.GetNamespace(), paramRef["namespace"], "the binding's paramRef follows the ServiceAccount's namespace")
	assert.Equal(t, sa.GetName(), paramRef["name"], "the binding's paramRef follows the ServiceAccount's name")
	policyName, _, _ := unstructured.NestedString(binding.Object, "spec", "policyName")
	assert.Equal(t, policy.GetName(), policyName, "the binding names the renamed policy")
	// kustomize gives both the overlay's namespace (kubernetes-sigs/kustomize#6051),
	// which the API server ignores for cluster-scoped objects; rbacInstall
	// checks that manifests/default itself has none.
}

//go:build e2e

package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// userRolesFile holds ARC's aggregated user roles.
const userRolesFile = "manifests/rbac/user_roles.yaml"

// TestUserRoles applies ARC's user roles and shows that, once
// kube-controller-manager has aggregated them, Kubernetes' built-in roles
// bound in a namespace are all a team needs: "edit" (and "admin") authors
// Orders, Endpoints and ArtifactTypes, "view" reads them; ArtifactWorkflows
// are read-only for all of them (RBAC refuses the write before ARC's
// admission policy would).
func TestUserRoles(t *testing.T) {
	t.Parallel()
	started := time.Now()
	f := newFixture(t, "userroles")
	applyUserRoles(t)

	bind := func(user, role string) *rbacClients {
		_, err := s.kube.RbacV1().RoleBindings(f.ns).Create(t.Context(), &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: user},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
		}, metav1.CreateOptions{})
		require.NoError(t, err, "binding %s to %s in %s", user, role, f.ns)
		return impersonatedClients(t, user)
	}
	author := bind("e2e-author", "edit")
	bind("e2e-admin", "admin")
	viewer := bind("e2e-viewer", "view")
	waitAggregated(t, f.ns, "e2e-viewer", "get", "orders")
	waitAggregated(t, f.ns, "e2e-author", "create", "orders")
	waitAggregated(t, f.ns, "e2e-admin", "create", "orders")
	t.Logf("the built-in roles hold ARC's rules %s after the start of the test", time.Since(started).Round(100*time.Millisecond))

	t.Run("AccessReview", func(t *testing.T) { userRolesAccessReview(t, f.ns) })
	t.Run("Requests", func(t *testing.T) { userRolesRequests(t, f, author, viewer) })
}

// applyUserRoles applies the user roles (they are cluster-wide) and removes
// them when the test ends.
func applyUserRoles(t *testing.T) {
	t.Helper()
	roles, err := s.applyFiles(t.Context(), filepath.Join(s.root, userRolesFile), "")
	require.NoError(t, err, "applying %s", userRolesFile)
	require.NotEmpty(t, roles)
	t.Cleanup(func() {
		if ok, _ := ownedBySuite(roles[0].GetName()); !ok {
			return
		}
		for _, r := range roles {
			err := s.kube.RbacV1().ClusterRoles().Delete(context.Background(), r.GetName(), metav1.DeleteOptions{})
			assert.NoError(t, ignoreNotFound(err), "deleting ClusterRole %s", r.GetName())
		}
	})
}

// ownedBySuite reports whether only the suite manages ClusterRole name (not
// an installation of manifests/default, which the test must not remove).
func ownedBySuite(name string) (bool, error) {
	role, err := s.kube.RbacV1().ClusterRoles().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	for _, mf := range role.ManagedFields {
		if mf.Manager != fieldManager {
			return false, nil
		}
	}
	return true, nil
}

// waitAggregated waits until user may do verb on ARC's resource in ns:
// kube-controller-manager copies the rules of the labelled roles into the
// built-in ones a moment after they appear.
func waitAggregated(t *testing.T, ns, user, verb, resource string) {
	t.Helper()
	var last string
	err := rbacPoll(t.Context(), defaultTimeout, func(ctx context.Context) (bool, error) {
		allowed, reason, err := userMay(ctx, user, ns, verb, resource, "")
		last = reason
		return allowed, err
	})
	require.NoError(t, err, "%s still may not %s %s in %s (%s): is the clusterrole-aggregation controller running?", user, verb, resource, ns, last)
}

// userMay asks the authorizer (SubjectAccessReview) about user.
func userMay(ctx context.Context, user, ns, verb, resource, subresource string) (bool, string, error) {
	sar, err := s.kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   user,
			Groups: []string{"system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: ns, Verb: verb, Group: arcv1.GroupName, Resource: resource, Subresource: subresource,
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, "", err
	}
	return sar.Status.Allowed, sar.Status.Reason, nil
}

// userRolesAccessReview asks the authorizer about every verb of every ARC
// resource for a user of each built-in role.
func userRolesAccessReview(t *testing.T, ns string) {
	authorVerbs := rbacAllVerbs
	readVerbs := []string{"get", "list", "watch"}
	perRole := []struct {
		user, role string
		allowed    map[string][]string // resource -> verbs; every other verb is refused
	}{
		{"e2e-admin", "admin", map[string][]string{
			"orders": authorVerbs, "endpoints": authorVerbs, "artifacttypes": authorVerbs,
			"artifactworkflows": readVerbs, "orders/status": {"get"}, "artifactworkflows/status": {"get"},
		}},
		{"e2e-author", "edit", map[string][]string{
			"orders": authorVerbs, "endpoints": authorVerbs, "artifacttypes": authorVerbs,
			"artifactworkflows": readVerbs, "orders/status": {"get"}, "artifactworkflows/status": {"get"},
		}},
		{"e2e-viewer", "view", map[string][]string{
			"orders": readVerbs, "endpoints": readVerbs, "artifacttypes": readVerbs,
			"artifactworkflows": readVerbs, "orders/status": {"get"}, "artifactworkflows/status": {"get"},
		}},
	}
	resources := []string{"orders", "endpoints", "artifacttypes", "artifactworkflows", "orders/status", "artifactworkflows/status"}
	for _, r := range perRole {
		t.Run(r.role, func(t *testing.T) {
			var granted []string
			for _, res := range resources {
				resource, subresource, _ := strings.Cut(res, "/")
				for _, verb := range rbacAllVerbs {
					allowed, reason, err := userMay(t.Context(), r.user, ns, verb, resource, subresource)
					require.NoError(t, err)
					want := rbacContains(r.allowed[res], verb)
					if allowed != want {
						t.Errorf("%s (%s in %s) may %s %s: %v, want %v (%s)", r.user, r.role, ns, verb, res, allowed, want, reason)
					}
					if allowed {
						granted = append(granted, verb+" "+res)
					}
				}
			}
			t.Logf("%s (%s) may: %s", r.user, r.role, strings.Join(granted, ", "))
		})
	}
}

// userRolesRequests makes real requests as the edit and view users.
func userRolesRequests(t *testing.T, f *fixture, author, viewer *rbacClients) {
	ctx := t.Context()
	forbidden := func(what string, err error) {
		t.Helper()
		if assert.True(t, apierrors.IsForbidden(err), "%s: want Forbidden, got %v", what, err) {
			assert.NotContains(t, err.Error(), admissionPolicy, "%s: RBAC must refuse it, before any admission policy", what)
		}
	}

	// The author sets up the OCI example and orders it; ARC does the rest.
	ep, err := author.arc.ArcV1alpha1().Endpoints(f.ns).Create(ctx, &arcv1.Endpoint{
		ObjectMeta: metav1.ObjectMeta{Name: "dockerhub"},
		Spec:       arcv1.EndpointSpec{Type: "oci", RemoteURL: "docker.io", Usage: arcv1.EndpointUsagePullOnly},
	}, metav1.CreateOptions{})
	require.NoError(t, err, "the edit user creates an Endpoint")
	_, err = author.arc.ArcV1alpha1().Endpoints(f.ns).Create(ctx, &arcv1.Endpoint{
		ObjectMeta: metav1.ObjectMeta{Name: "internal"},
		Spec:       arcv1.EndpointSpec{Type: "oci", RemoteURL: "registry.internal.example", Usage: arcv1.EndpointUsagePushOnly},
	}, metav1.CreateOptions{})
	require.NoError(t, err, "the edit user creates an Endpoint")
	// Workflow templates are Argo's, not ARC's: the administrator provides
	// one in the namespace, and the author's ArtifactType uses it.
	f.copyClusterWorkflowTemplate(templateSingleStep)
	_, err = author.arc.ArcV1alpha1().ArtifactTypes(f.ns).Create(ctx, &arcv1.ArtifactType{
		ObjectMeta: metav1.ObjectMeta{Name: "oci"},
		Spec:       arcv1.ArtifactTypeSpec{WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: templateSingleStep}},
	}, metav1.CreateOptions{})
	require.NoError(t, err, "the edit user creates an ArtifactType")
	_, err = author.arc.ArcV1alpha1().Orders(f.ns).Create(ctx, &arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: "by-author"},
		Spec: arcv1.OrderSpec{
			Defaults: &arcv1.OrderDefaults{SrcRef: ref(ep.Name), DstRef: ref("internal")},
			Artifacts: []arcv1.OrderArtifact{{
				Type: "oci",
				Spec: rawSpec(`{"image":"library/alpine:3.18","override":"myteam/alpine:3.18-dev"}`),
			}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err, "the edit user creates an Order")
	order := f.waitOrderPhase("by-author", arcv1.OrderPhaseSucceeded)
	awName := f.mustEntry(order, 0).Name

	// The author reads the ArtifactWorkflow ARC made, and may not write one.
	aw, err := author.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).Get(ctx, awName, metav1.GetOptions{})
	require.NoError(t, err, "the edit user reads an ArtifactWorkflow")
	_, err = author.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).Create(ctx, byHand("by-author"), metav1.CreateOptions{})
	forbidden("the edit user creates an ArtifactWorkflow", err)
	aw.Spec.SrcSecretRef = ref("someone-elses-secret")
	_, err = author.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).Update(ctx, aw, metav1.UpdateOptions{})
	forbidden("the edit user updates an ArtifactWorkflow's spec", err)
	_, err = author.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).UpdateStatus(ctx, aw, metav1.UpdateOptions{})
	forbidden("the edit user updates an ArtifactWorkflow's status", err)
	forbidden("the edit user deletes an ArtifactWorkflow", author.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).Delete(ctx, awName, metav1.DeleteOptions{}))

	// The viewer lists and reads, and may not order.
	orders, err := viewer.arc.ArcV1alpha1().Orders(f.ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err, "the view user lists Orders")
	assert.Len(t, orders.Items, 1)
	_, err = viewer.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).Get(ctx, awName, metav1.GetOptions{})
	assert.NoError(t, err, "the view user reads an ArtifactWorkflow")
	_, err = viewer.arc.ArcV1alpha1().Orders(f.ns).Create(ctx, &arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: "by-viewer"},
		Spec:       order.Spec,
	}, metav1.CreateOptions{})
	forbidden("the view user creates an Order", err)
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := viewer.arc.ArcV1alpha1().Orders(f.ns).Get(ctx, "by-author", metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Spec.Artifacts = append(cur.Spec.Artifacts, cur.Spec.Artifacts[0])
		_, err = viewer.arc.ArcV1alpha1().Orders(f.ns).Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	forbidden("the view user updates an Order", err)

	// The author may delete the Order; its ArtifactWorkflow goes with it.
	require.NoError(t, author.arc.ArcV1alpha1().Orders(f.ns).Delete(ctx, "by-author", metav1.DeleteOptions{}), "the edit user deletes an Order")
	f.artifactWorkflowGone(awName)
}

package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// reviewAnswers is a fake API server's SubjectAccessReview endpoint: it
// answers the i-th review with answers[i] (the last one again when they run
// out) and records the reviews.
type reviewAnswers struct {
	answers []func(*authorizationv1.SubjectAccessReview) error
	asked   []authorizationv1.SubjectAccessReviewSpec
}

func (r *reviewAnswers) client() *fake.Clientset {
	kube := fake.NewClientset()
	kube.PrependReactor("create", "subjectaccessreviews", func(action k8stesting.Action) (bool, runtime.Object, error) {
		review := action.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview).DeepCopy()
		r.asked = append(r.asked, review.Spec)
		answer := r.answers[min(len(r.asked), len(r.answers))-1]
		if err := answer(review); err != nil {
			return true, nil, err
		}
		return true, review, nil
	})
	return kube
}

func allow(r *authorizationv1.SubjectAccessReview) error {
	r.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: true, Reason: "RBAC: allowed by ClusterRoleBinding"}
	return nil
}

func deny(r *authorizationv1.SubjectAccessReview) error {
	r.Status = authorizationv1.SubjectAccessReviewStatus{Reason: "no RBAC policy matched"}
	return nil
}

func failWith(err error) func(*authorizationv1.SubjectAccessReview) error {
	return func(*authorizationv1.SubjectAccessReview) error { return err }
}

// quickRetries retries like metricsAuthRetryBackoff, only faster.
var quickRetries = wait.Backoff{Duration: time.Millisecond, Factor: 1.5, Steps: metricsAuthRetryBackoff().Steps}

var reviewGroupResource = schema.GroupResource{Group: "authorization.k8s.io", Resource: "subjectaccessreviews"}

func TestReviewAuthorizer(t *testing.T) {
	metricsGet := authorizer.AttributesRecord{
		User: &user.DefaultInfo{Name: "system:serviceaccount:monitoring:prometheus", UID: "u-1",
			Groups: []string{"system:serviceaccounts"}, Extra: map[string][]string{"authentication.kubernetes.io/pod-name": {"prometheus-0"}}},
		Verb: "get", Path: "/metrics",
	}
	tests := []struct {
		name    string
		answers []func(*authorizationv1.SubjectAccessReview) error
		// requests is how many times the same request is authorized.
		requests     int
		wantDecision authorizer.Decision
		wantReason   string
		wantErr      bool
		wantAsked    int
	}{
		{name: "an allowed user is let through, and the answer cached",
			answers: []func(*authorizationv1.SubjectAccessReview) error{allow}, requests: 3,
			wantDecision: authorizer.DecisionAllow, wantReason: "RBAC: allowed by ClusterRoleBinding", wantAsked: 1},
		{name: "a denied user is not, and the answer cached",
			answers: []func(*authorizationv1.SubjectAccessReview) error{deny}, requests: 3,
			wantDecision: authorizer.DecisionNoOpinion, wantReason: "no RBAC policy matched", wantAsked: 1},
		{name: "an overloaded API server is asked again",
			answers: []func(*authorizationv1.SubjectAccessReview) error{
				failWith(apierrors.NewTooManyRequests("slow down", 0)), failWith(apierrors.NewInternalError(errors.New("etcd"))), allow},
			requests: 1, wantDecision: authorizer.DecisionAllow, wantReason: "RBAC: allowed by ClusterRoleBinding", wantAsked: 3},
		{name: "a controller that may not create reviews gets no second try, and no answer is cached",
			answers:  []func(*authorizationv1.SubjectAccessReview) error{failWith(apierrors.NewForbidden(reviewGroupResource, "", errors.New("no")))},
			requests: 2, wantDecision: authorizer.DecisionNoOpinion, wantErr: true, wantAsked: 2},
		{name: "an API server that stays unreachable denies after the retries",
			answers:  []func(*authorizationv1.SubjectAccessReview) error{failWith(apierrors.NewServiceUnavailable("down"))},
			requests: 1, wantDecision: authorizer.DecisionNoOpinion, wantErr: true, wantAsked: quickRetries.Steps},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &reviewAnswers{answers: tt.answers}
			a := newReviewAuthorizer(api.client(), time.Minute, time.Minute, time.Second)
			a.backoff = quickRetries
			for range tt.requests {
				decision, reason, err := a.Authorize(context.Background(), metricsGet)
				assert.Equal(t, tt.wantDecision, decision)
				assert.Equal(t, tt.wantReason, reason)
				assert.Equal(t, tt.wantErr, err != nil, "error: %v", err)
			}
			require.Len(t, api.asked, tt.wantAsked)
			assert.Equal(t, authorizationv1.SubjectAccessReviewSpec{
				User: "system:serviceaccount:monitoring:prometheus", UID: "u-1", Groups: []string{"system:serviceaccounts"},
				Extra:                 map[string]authorizationv1.ExtraValue{"authentication.kubernetes.io/pod-name": {"prometheus-0"}},
				NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"},
			}, api.asked[0])
		})
	}
}

func TestReviewAuthorizerKeepsAnswersApart(t *testing.T) {
	api := &reviewAnswers{answers: []func(*authorizationv1.SubjectAccessReview) error{func(r *authorizationv1.SubjectAccessReview) error {
		if r.Spec.User == "reader" && r.Spec.NonResourceAttributes != nil && r.Spec.NonResourceAttributes.Path == "/metrics" {
			return allow(r)
		}
		return deny(r)
	}}}
	a := newReviewAuthorizer(api.client(), time.Minute, time.Minute, time.Second)
	ask := func(name, path string, groups ...string) authorizer.Decision {
		d, _, err := a.Authorize(context.Background(), authorizer.AttributesRecord{
			User: &user.DefaultInfo{Name: name, Groups: groups}, Verb: "get", Path: path})
		require.NoError(t, err)
		return d
	}
	assert.Equal(t, authorizer.DecisionAllow, ask("reader", "/metrics"))
	assert.Equal(t, authorizer.DecisionNoOpinion, ask("reader", "/debug/pprof/profile"), "another path is another question")
	assert.Equal(t, authorizer.DecisionNoOpinion, ask("other", "/metrics"), "another user is another question")
	assert.Equal(t, authorizer.DecisionAllow, ask("reader", "/metrics"))
	assert.Len(t, api.asked, 3, "the repeated question is answered from the cache")

	resource := reviewSpec(authorizer.AttributesRecord{User: &user.DefaultInfo{Name: "x"}, ResourceRequest: true,
		Verb: "list", APIGroup: "arc.opendefense.cloud", APIVersion: "v1alpha1", Resource: "orders", Namespace: "team-a"})
	assert.Nil(t, resource.NonResourceAttributes)
	assert.Equal(t, &authorizationv1.ResourceAttributes{Namespace: "team-a", Verb: "list", Group: "arc.opendefense.cloud",
		Version: "v1alpha1", Resource: "orders"}, resource.ResourceAttributes)
}

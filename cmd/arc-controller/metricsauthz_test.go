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
	answerCreates(kube, "subjectaccessreviews", r.answers, func(review *authorizationv1.SubjectAccessReview) {
		r.asked = append(r.asked, review.Spec)
	})
	return kube
}

// answerCreates makes kube answer the i-th create of resource with
// answers[i] (the last one again when they run out), as the object created
// with the answer's changes or as the answer's error; record sees each
// object first.
func answerCreates[T runtime.Object](kube *fake.Clientset, resource string, answers []func(T) error, record func(T)) {
	calls := 0
	kube.PrependReactor("create", resource, func(action k8stesting.Action) (bool, runtime.Object, error) {
		obj := action.(k8stesting.CreateAction).GetObject().DeepCopyObject().(T)
		record(obj)
		calls++
		if err := answers[min(calls, len(answers))-1](obj); err != nil {
			return true, nil, err
		}
		return true, obj, nil
	})
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
	metricsGet := access{
		who: caller{name: "system:serviceaccount:monitoring:prometheus", uid: "u-1", groups: []string{"system:serviceaccounts"},
			extra: map[string]authorizationv1.ExtraValue{"authentication.kubernetes.io/pod-name": {"prometheus-0"}}},
		verb: "get", path: "/metrics",
	}
	tests := []struct {
		name    string
		answers []func(*authorizationv1.SubjectAccessReview) error
		// requests is how many times the same request is authorized.
		requests    int
		wantAllowed bool
		wantReason  string
		wantErr     bool
		wantAsked   int
	}{
		{name: "an allowed user is let through, and the answer cached",
			answers: []func(*authorizationv1.SubjectAccessReview) error{allow}, requests: 3,
			wantAllowed: true, wantReason: "RBAC: allowed by ClusterRoleBinding", wantAsked: 1},
		{name: "a denied user is not, and the answer cached",
			answers: []func(*authorizationv1.SubjectAccessReview) error{deny}, requests: 3,
			wantReason: "no RBAC policy matched", wantAsked: 1},
		{name: "an overloaded API server is asked again",
			answers: []func(*authorizationv1.SubjectAccessReview) error{
				failWith(apierrors.NewTooManyRequests("slow down", 0)), failWith(apierrors.NewInternalError(errors.New("etcd"))), allow},
			requests: 1, wantAllowed: true, wantReason: "RBAC: allowed by ClusterRoleBinding", wantAsked: 3},
		{name: "a controller that may not create reviews gets no second try, and no answer is cached",
			answers:  []func(*authorizationv1.SubjectAccessReview) error{failWith(apierrors.NewForbidden(reviewGroupResource, "", errors.New("no")))},
			requests: 2, wantErr: true, wantAsked: 2},
		{name: "an API server that stays unreachable denies after the retries",
			answers:  []func(*authorizationv1.SubjectAccessReview) error{failWith(apierrors.NewServiceUnavailable("down"))},
			requests: 1, wantErr: true, wantAsked: quickRetries.Steps},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &reviewAnswers{answers: tt.answers}
			a := newReviewAuthorizer(api.client(), time.Minute, time.Minute, time.Second)
			a.backoff = quickRetries
			for range tt.requests {
				allowed, reason, err := a.authorize(context.Background(), metricsGet)
				assert.Equal(t, tt.wantAllowed, allowed)
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
		nr := r.Spec.NonResourceAttributes
		if r.Spec.User == "reader" && len(r.Spec.Groups) == 0 && nr != nil && nr.Path == "/metrics" && nr.Verb == "get" {
			return allow(r)
		}
		return deny(r)
	}}}
	a := newReviewAuthorizer(api.client(), time.Minute, time.Minute, time.Second)
	ask := func(name, verb, path string, groups ...string) bool {
		allowed, _, err := a.authorize(context.Background(), access{who: caller{name: name, groups: groups}, verb: verb, path: path})
		require.NoError(t, err)
		return allowed
	}
	assert.True(t, ask("reader", "get", "/metrics"))
	assert.False(t, ask("reader", "get", "/debug/pprof/profile"), "another path is another question")
	assert.False(t, ask("other", "get", "/metrics"), "another user is another question")
	assert.False(t, ask("reader", "get", "/metrics", "system:masters"), "other groups are another question")
	assert.True(t, ask("reader", "get", "/metrics"))
	assert.Len(t, api.asked, 4, "the repeated question is answered from the cache")
	assert.False(t, ask("reader", "delete", "/metrics"), "another verb is another question")
	assert.Len(t, api.asked, 5)
	assert.Equal(t, &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "delete"}, api.asked[4].NonResourceAttributes)
}

package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
)

func TestBearerToken(t *testing.T) {
	cases := []struct {
		name   string
		header string
		want   string
	}{
		{name: "no header, no token", header: "", want: ""},
		{name: "a bearer token", header: "Bearer abc.def", want: "abc.def"},
		{name: "the scheme in any case", header: "BEARER abc", want: "abc"},
		{name: "spaces around the token are not part of it", header: "Bearer   abc  ", want: "abc"},
		{name: "another scheme is no token", header: "Basic YWJjOmRlZg==", want: ""},
		{name: "a scheme without a token is no token", header: "Bearer", want: ""},
		{name: "an empty token is no token", header: "Bearer  ", want: ""},
		{name: "two words are not a token", header: "Bearer abc def", want: ""},
		{name: "a token at the size bound is sent", header: "Bearer " + strings.Repeat("a", maxTokenBytes), want: strings.Repeat("a", maxTokenBytes)},
		{name: "a token over the size bound is not sent to the API server", header: "Bearer " + strings.Repeat("a", maxTokenBytes+1), want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := http.NewRequest(http.MethodGet, "/metrics", nil)
			require.NoError(t, err)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			assert.Equal(t, tc.want, bearerToken(r))
		})
	}
}

// tokenReviews is a fake API server's TokenReview endpoint: it answers the
// i-th review with answers[i] (the last one again when they run out) and
// records the tokens it was asked about.
type tokenReviews struct {
	answers []func(*authenticationv1.TokenReview) error
	asked   []string
}

func (r *tokenReviews) client() *fake.Clientset {
	kube := fake.NewClientset()
	answerCreates(kube, "tokenreviews", r.answers, func(review *authenticationv1.TokenReview) {
		r.asked = append(r.asked, review.Spec.Token)
	})
	return kube
}

func prometheusToken(r *authenticationv1.TokenReview) error {
	if r.Spec.Token != "reader-token" {
		r.Status = authenticationv1.TokenReviewStatus{Error: "invalid bearer token"}
		return nil
	}
	r.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: authenticationv1.UserInfo{
		Username: "system:serviceaccount:monitoring:prometheus", UID: "u-1", Groups: []string{"system:serviceaccounts"},
		Extra: map[string]authenticationv1.ExtraValue{"authentication.kubernetes.io/pod-name": {"prometheus-0"}},
	}}
	return nil
}

func failReviewWith(err error) func(*authenticationv1.TokenReview) error {
	return func(*authenticationv1.TokenReview) error { return err }
}

var tokenReviewResource = schema.GroupResource{Group: "authentication.k8s.io", Resource: "tokenreviews"}

func TestReviewAuthenticator(t *testing.T) {
	prometheus := caller{name: "system:serviceaccount:monitoring:prometheus", uid: "u-1", groups: []string{"system:serviceaccounts"},
		extra: map[string]authorizationv1.ExtraValue{"authentication.kubernetes.io/pod-name": {"prometheus-0"}}}
	tests := []struct {
		name    string
		answers []func(*authenticationv1.TokenReview) error
		token   string
		// requests is how many times the same token is authenticated.
		requests  int
		wantWho   caller
		wantOK    bool
		wantErr   bool
		wantAsked int
	}{
		{name: "a known token is its user's, and the answer cached",
			answers: []func(*authenticationv1.TokenReview) error{prometheusToken}, token: "reader-token", requests: 3,
			wantWho: prometheus, wantOK: true, wantAsked: 1},
		{name: "an unknown token is nobody's, and the answer cached",
			answers: []func(*authenticationv1.TokenReview) error{prometheusToken}, token: "stolen", requests: 3, wantAsked: 1},
		{name: "no token asks nothing",
			answers: []func(*authenticationv1.TokenReview) error{prometheusToken}, token: "", requests: 2, wantAsked: 0},
		{name: "an overloaded API server is asked again",
			answers: []func(*authenticationv1.TokenReview) error{
				failReviewWith(apierrors.NewTooManyRequests("slow down", 0)), failReviewWith(apierrors.NewInternalError(errors.New("etcd"))), prometheusToken},
			token: "reader-token", requests: 1, wantWho: prometheus, wantOK: true, wantAsked: 3},
		{name: "a controller that may not create reviews gets no second try, and no answer is cached",
			answers: []func(*authenticationv1.TokenReview) error{failReviewWith(apierrors.NewForbidden(tokenReviewResource, "", errors.New("no")))},
			token:   "reader-token", requests: 2, wantErr: true, wantAsked: 2},
		{name: "an API server that stays unreachable refuses after the retries",
			answers: []func(*authenticationv1.TokenReview) error{failReviewWith(apierrors.NewServiceUnavailable("down"))},
			token:   "reader-token", requests: 1, wantErr: true, wantAsked: quickRetries.Steps},
		{name: "an authenticated answer without a user name is refused, and not cached",
			answers: []func(*authenticationv1.TokenReview) error{func(r *authenticationv1.TokenReview) error {
				r.Status = authenticationv1.TokenReviewStatus{Authenticated: true}
				return nil
			}},
			token: "reader-token", requests: 2, wantErr: true, wantAsked: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &tokenReviews{answers: tt.answers}
			a := newReviewAuthenticator(api.client(), time.Minute, time.Second)
			a.backoff = quickRetries
			for range tt.requests {
				who, ok, err := a.authenticate(context.Background(), tt.token)
				assert.Equal(t, tt.wantWho, who)
				assert.Equal(t, tt.wantOK, ok)
				assert.Equal(t, tt.wantErr, err != nil, "error: %v", err)
			}
			require.Len(t, api.asked, tt.wantAsked)
			for _, token := range api.asked {
				assert.Equal(t, tt.token, token)
			}
		})
	}
}

func TestReviewAuthenticatorCachesByTokenNotInTheClear(t *testing.T) {
	api := &tokenReviews{answers: []func(*authenticationv1.TokenReview) error{prometheusToken}}
	a := newReviewAuthenticator(api.client(), time.Minute, time.Second)
	for _, token := range []string{"reader-token", "reader-token-2", "reader-token"} {
		_, _, err := a.authenticate(context.Background(), token)
		require.NoError(t, err)
	}
	assert.Equal(t, []string{"reader-token", "reader-token-2"}, api.asked, "each token is its own question")
	for _, key := range a.answers.Keys() {
		assert.NotContains(t, key.(string), "reader-token", "the cache is keyed by a hash of the token")
	}
}

func TestReviewAuthenticatorForgetsAfterTTL(t *testing.T) {
	api := &tokenReviews{answers: []func(*authenticationv1.TokenReview) error{prometheusToken}}
	a := newReviewAuthenticator(api.client(), time.Nanosecond, time.Second)
	for range 2 {
		_, ok, err := a.authenticate(context.Background(), "reader-token")
		require.NoError(t, err)
		require.True(t, ok)
		time.Sleep(time.Millisecond)
	}
	assert.Len(t, api.asked, 2, "an expired answer is asked again: a revoked token stops working")
}

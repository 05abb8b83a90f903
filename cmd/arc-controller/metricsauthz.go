package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilcache "k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// reviewAuthorizer decides whether a client of /metrics may do what its
// request does by asking the API server (a SubjectAccessReview), and caches
// the answer: what kube-controller-manager's delegating authorizer does.
//
// It is ours rather than k8s.io/apiserver's authorizerfactory because that
// builds on the webhook authorizer, whose CEL match conditions link CEL
// and much of the API server's configuration into the controller (with
// pkg/specschema's former imports, about 16 MB of resident memory once
// started, for the one check /metrics needs); see metricsauthn.go for the
// rest of k8s.io/apiserver.
type reviewAuthorizer struct {
	kube kubernetes.Interface
	// answers caches decisions by the review's spec: allowed ones for
	// allowTTL, the others for denyTTL.
	answers  *utilcache.LRUExpireCache
	allowTTL time.Duration
	denyTTL  time.Duration
	// timeout bounds each try, backoff says how often and when to try.
	timeout time.Duration
	backoff wait.Backoff
}

// reviewCacheSize bounds the cached answers: one per client and request
// path, and /metrics has a handful of each.
const reviewCacheSize = 1024

func newReviewAuthorizer(kube kubernetes.Interface, allowTTL, denyTTL, timeout time.Duration) *reviewAuthorizer {
	return &reviewAuthorizer{
		kube: kube, answers: utilcache.NewLRUExpireCache(reviewCacheSize),
		allowTTL: allowTTL, denyTTL: denyTTL, timeout: timeout, backoff: *metricsAuthRetryBackoff(),
	}
}

// review is a cached answer.
type review struct {
	allowed bool
	reason  string
}

// access is what a request asks for: a verb (the HTTP method, lower
// case) on a non-resource path, such as get on /metrics. The endpoint
// serves no API resources, so no request is a resource request.
type access struct {
	who  caller
	verb string
	path string
}

// accessAuthorizer says whether a caller may do what a request asks.
type accessAuthorizer interface {
	// authorize returns whether the access is allowed and the reason the
	// API server gave; an error when it could not be asked.
	authorize(ctx context.Context, req access) (bool, string, error)
}

// authorize implements accessAuthorizer. Only an explicit allow lets the
// request through; an error (the API server unreachable after the retries)
// denies it, and is not cached.
func (a *reviewAuthorizer) authorize(ctx context.Context, req access) (bool, string, error) {
	spec := reviewSpec(req)
	key, err := json.Marshal(spec)
	if err != nil {
		return false, "", err
	}
	if cached, ok := a.answers.Get(string(key)); ok {
		r := cached.(review)
		return r.allowed, r.reason, nil
	}
	status, err := a.ask(ctx, spec)
	if err != nil {
		return false, "", fmt.Errorf("asking the API server whether %q may %s %s: %w",
			spec.User, req.verb, req.path, err)
	}
	r := review{allowed: status.Allowed, reason: status.Reason}
	ttl := a.denyTTL
	if r.allowed {
		ttl = a.allowTTL
	}
	a.answers.Add(string(key), r, ttl)
	return r.allowed, r.reason, nil
}

// ask creates the SubjectAccessReview.
func (a *reviewAuthorizer) ask(ctx context.Context, spec authorizationv1.SubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error) {
	answer, err := createReview(ctx, a.backoff, a.timeout, func(ctx context.Context) (*authorizationv1.SubjectAccessReview, error) {
		return a.kube.AuthorizationV1().SubjectAccessReviews().Create(ctx,
			&authorizationv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
	})
	if err != nil {
		return authorizationv1.SubjectAccessReviewStatus{}, err
	}
	return answer.Status, nil
}

// createReview makes create's review, each try bounded by timeout, and
// tries again what may pass (timeouts, overload, connection errors) as
// backoff says.
func createReview[T any](ctx context.Context, backoff wait.Backoff, timeout time.Duration, create func(context.Context) (T, error)) (T, error) {
	var answer T
	err := retry.OnError(backoff, isTransient, func() error {
		tryCtx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		got, err := create(tryCtx)
		if err == nil {
			answer = got
		}
		return err
	})
	return answer, err
}

// isTransient tells the errors worth another try: not those that say the
// request itself is wrong or the controller may not make it.
func isTransient(err error) bool {
	return !(apierrors.IsBadRequest(err) || apierrors.IsInvalid(err) || apierrors.IsForbidden(err) ||
		apierrors.IsUnauthorized(err) || apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err))
}

// reviewSpec is the SubjectAccessReview of a request: who (name, UID,
// groups, extra) wants to do what (a verb on a non-resource path such as
// /metrics).
func reviewSpec(req access) authorizationv1.SubjectAccessReviewSpec {
	return authorizationv1.SubjectAccessReviewSpec{
		User: req.who.name, UID: req.who.uid, Groups: req.who.groups, Extra: req.who.extra,
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: req.path, Verb: req.verb},
	}
}

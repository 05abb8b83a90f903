package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilcache "k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// The /metrics endpoint's clients are authenticated by ARC's own small
// TokenReview client rather than by k8s.io/apiserver's delegating
// authenticator: that one brings the API server's request filters and
// with them gRPC, OpenTelemetry and protobuf registries into the binary,
// about 36 MB of its 90 and 19 MiB of resident file pages of every
// replica from start-up, for a single bearer-token check.

// caller is who a request comes from, as a TokenReview tells it.
type caller struct {
	name   string
	uid    string
	groups []string
	extra  map[string]authorizationv1.ExtraValue
}

// tokenAuthenticator says who a request's bearer token belongs to.
type tokenAuthenticator interface {
	// authenticate returns the token's owner and true; false for a
	// request without a token or with one the API server does not accept;
	// an error when the API server could not be asked.
	authenticate(ctx context.Context, token string) (caller, bool, error)
}

// maxTokenBytes bounds the tokens sent to the API server. A ServiceAccount
// token is about 1 KB, an OIDC token a few; the bound keeps a client from
// making the controller send megabytes to the API server per request.
const maxTokenBytes = 16 << 10

// bearerToken is the token of an "Authorization: Bearer TOKEN" header; ""
// for a request without one.
func bearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return ""
	}
	token = strings.TrimSpace(token)
	if len(token) > maxTokenBytes || strings.ContainsAny(token, " \t") {
		return ""
	}
	return token
}

// reviewAuthenticator asks the API server who a token belongs to (a
// TokenReview), and caches the answer for ttl: what kube-controller-manager's
// delegating authenticator does.
type reviewAuthenticator struct {
	kube kubernetes.Interface
	// answers caches reviews by the token's SHA-256, so that no token is
	// kept in memory longer than its request needs it.
	answers *utilcache.LRUExpireCache
	ttl     time.Duration
	// timeout bounds each try, backoff says how often and when to try.
	timeout time.Duration
	backoff wait.Backoff
}

// tokenCacheSize bounds the cached reviews: one per token, and /metrics
// has a handful of scrapers.
const tokenCacheSize = 1024

func newReviewAuthenticator(kube kubernetes.Interface, ttl, timeout time.Duration) *reviewAuthenticator {
	return &reviewAuthenticator{
		kube: kube, answers: utilcache.NewLRUExpireCache(tokenCacheSize),
		ttl: ttl, timeout: timeout, backoff: *metricsAuthRetryBackoff(),
	}
}

// tokenAnswer is a cached review: the caller when authenticated.
type tokenAnswer struct {
	who           caller
	authenticated bool
}

// authenticate implements tokenAuthenticator. Accepted and refused tokens
// are cached alike; an error (the API server unreachable after the
// retries) is not.
func (a *reviewAuthenticator) authenticate(ctx context.Context, token string) (caller, bool, error) {
	if token == "" {
		return caller{}, false, nil
	}
	key := sha256.Sum256([]byte(token))
	if cached, ok := a.answers.Get(string(key[:])); ok {
		answer := cached.(tokenAnswer)
		return answer.who, answer.authenticated, nil
	}
	status, err := a.review(ctx, token)
	if err != nil {
		return caller{}, false, fmt.Errorf("asking the API server who a token belongs to: %w", err)
	}
	answer := tokenAnswer{authenticated: status.Authenticated, who: callerOf(status.User)}
	a.answers.Add(string(key[:]), answer, a.ttl)
	return answer.who, answer.authenticated, nil
}

// review creates the TokenReview.
func (a *reviewAuthenticator) review(ctx context.Context, token string) (authenticationv1.TokenReviewStatus, error) {
	answer, err := createReview(ctx, a.backoff, a.timeout, func(ctx context.Context) (*authenticationv1.TokenReview, error) {
		return a.kube.AuthenticationV1().TokenReviews().Create(ctx,
			&authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	})
	if err != nil {
		return authenticationv1.TokenReviewStatus{}, err
	}
	if answer.Status.Authenticated && answer.Status.User.Username == "" {
		// An API server that says yes but not to whom has answered
		// nothing a SubjectAccessReview could ask about.
		return answer.Status, errors.New("the TokenReview authenticated a user without a name")
	}
	return answer.Status, nil
}

func callerOf(u authenticationv1.UserInfo) caller {
	c := caller{name: u.Username, uid: u.UID, groups: u.Groups}
	if len(u.Extra) > 0 {
		c.extra = make(map[string]authorizationv1.ExtraValue, len(u.Extra))
		for k, v := range u.Extra {
			c.extra[k] = authorizationv1.ExtraValue(v)
		}
	}
	return c
}

package order

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/naming"
	"github.com/artifact-conduit/arc/pkg/parameters"
	"github.com/artifact-conduit/arc/pkg/schedule"
)

// Reasons an artifact cannot become an ArtifactWorkflow. They appear in
// status.unresolvedArtifacts and as the reason of the Warning events.
const (
	ReasonEndpointNotSet   = "EndpointNotSet"
	ReasonEndpointNotFound = "EndpointNotFound"
	ReasonEndpointUsage    = "EndpointUsageViolation"
	ReasonSecretNotFound   = "SecretNotFound"
	ReasonInvalidSpec      = "InvalidSpec"
	ReasonInvalidSchedule  = "InvalidSchedule"
	ReasonTooLarge         = "ParametersTooLarge"
	ReasonNameConflict     = "NameConflict"
	ReasonCreateRefused    = "ArtifactWorkflowRefused"
	reasonLookupFailed     = "LookupFailed"
	directionSource        = "source"
	directionDestination   = "destination"
)

// desiredArtifactWorkflow is one ArtifactWorkflow the Order needs, with the
// indexes and identities of the artifacts it does the work for (identical
// artifacts share one).
type desiredArtifactWorkflow struct {
	name       string
	hash       string
	spec       arcv1.ArtifactWorkflowSpec
	indices    []int32
	identities []string
}

// unresolvedArtifact is an artifact that cannot become an ArtifactWorkflow
// now, with its identity (see naming.ArtifactIdentity), which tells the
// ArtifactWorkflow that served it before.
type unresolvedArtifact struct {
	arcv1.UnresolvedArtifact
	identity string
}

// plan is what an Order asks for, resolved against the cluster's Endpoints,
// Secrets and types: the ArtifactWorkflows it needs and the artifacts that
// cannot become one yet. It is computed from the caches only.
type plan struct {
	artifactWorkflows []*desiredArtifactWorkflow
	unresolved        []unresolvedArtifact
}

// problem is why one artifact cannot be resolved.
type problem struct {
	reason, message string
}

// makePlan resolves every artifact of order. It never fails on bad input:
// such artifacts land in plan.unresolved and the others go on. Its error
// reports failed cache lookups, which are retried.
//
// An artifact's ArtifactWorkflow is named after the Order's UID and the
// artifact's identity (naming.ArtifactWorkflow), so what its Endpoints,
// Secrets or type hold never renames it. An ArtifactWorkflow the Order
// already controls and whose identities annotation lists the artifact keeps
// serving it under the name it has: ArtifactWorkflows named by an earlier
// release are adopted, not done again.
func (c *Controller) makePlan(order *arcv1.Order, owned map[string]*arcv1.ArtifactWorkflow) (plan, error) {
	var p plan
	byName := map[string]*desiredArtifactWorkflow{}
	byIdentity := ownedByIdentity(owned)
	var lookupErrs []error
	for i := range order.Spec.Artifacts {
		index := int32(i)
		artifact := &order.Spec.Artifacts[i]
		identity := artifactIdentity(order, artifact)
		spec, problems := c.resolveArtifact(order, artifact)
		if len(problems) > 0 {
			for _, pr := range problems {
				if pr.reason == reasonLookupFailed {
					lookupErrs = append(lookupErrs, errors.New(pr.message))
				}
			}
			p.unresolved = append(p.unresolved, unresolvedArtifact{
				UnresolvedArtifact: newUnresolvedArtifact(index, problems, c.maxMessageBytes),
				identity:           identity,
			})
			continue
		}
		name, hash := naming.ArtifactWorkflow(order.Name, string(order.UID), identity)
		if aw, ok := byIdentity[identity]; ok {
			name, hash = aw.Name, hashOf(aw)
		}
		if existing, ok := byName[name]; ok {
			existing.indices = append(existing.indices, index)
			if !slices.Contains(existing.identities, identity) {
				existing.identities = append(existing.identities, identity)
			}
			continue
		}
		w := &desiredArtifactWorkflow{name: name, hash: hash, spec: *spec, indices: []int32{index}, identities: []string{identity}}
		p.artifactWorkflows = append(p.artifactWorkflows, w)
		byName[name] = w
	}
	return p, errors.Join(lookupErrs...)
}

// ownedByIdentity maps each artifact identity to the owned ArtifactWorkflow
// that serves it. Should two claim one identity (only hand edits could do
// that), the one of the lower name wins, so every sync picks the same.
func ownedByIdentity(owned map[string]*arcv1.ArtifactWorkflow) map[string]*arcv1.ArtifactWorkflow {
	out := map[string]*arcv1.ArtifactWorkflow{}
	for _, name := range slices.Sorted(maps.Keys(owned)) {
		aw := owned[name]
		if aw.DeletionTimestamp != nil {
			continue
		}
		for _, id := range identitiesOf(aw) {
			if _, taken := out[id]; !taken {
				out[id] = aw
			}
		}
	}
	return out
}

// artifactIdentity is the identity of an artifact as its author wrote it.
func artifactIdentity(order *arcv1.Order, a *arcv1.OrderArtifact) string {
	var raw []byte
	if a.Spec != nil {
		raw = a.Spec.Raw
	}
	return naming.ArtifactIdentity(a.Type, refName(a.SrcRef, defaultRef(order, true)), refName(a.DstRef, defaultRef(order, false)), raw)
}

// refName is the name of ref, or else of fallback, or "".
func refName(ref, fallback *corev1.LocalObjectReference) string {
	if ref != nil && ref.Name != "" {
		return ref.Name
	}
	if fallback != nil {
		return fallback.Name
	}
	return ""
}

func newUnresolvedArtifact(index int32, problems []problem, maxMessageBytes int) arcv1.UnresolvedArtifact {
	messages := make([]string, len(problems))
	for i, pr := range problems {
		messages[i] = pr.message
	}
	return arcv1.UnresolvedArtifact{
		ArtifactIndex: index,
		Reason:        problems[0].reason,
		Message:       controller.TruncateMessage(strings.Join(messages, "; "), maxMessageBytes),
	}
}

// resolveArtifact turns one artifact into the spec of its ArtifactWorkflow,
// or reports every problem that prevents it.
func (c *Controller) resolveArtifact(order *arcv1.Order, a *arcv1.OrderArtifact) (*arcv1.ArtifactWorkflowSpec, []problem) {
	src, srcProblems := c.resolveEndpoint(order, a.SrcRef, defaultRef(order, true), directionSource)
	dst, dstProblems := c.resolveEndpoint(order, a.DstRef, defaultRef(order, false), directionDestination)
	t, typeProblems := c.resolveType(order, a.Type)
	problems := append(append(srcProblems, dstProblems...), typeProblems...)
	cron := cronOf(order, a)
	if err := c.schedules.validate(cron, c.minScheduleInterval); err != nil {
		problems = append(problems, problem{ReasonInvalidSchedule, err.Error()})
	}
	if len(problems) > 0 {
		return nil, problems
	}
	var raw []byte
	if a.Spec != nil {
		raw = a.Spec.Raw
	}
	// A spec over MaxSpecBytes is refused by parameters.Build below; the
	// schema validator is spared it.
	if t.Schema != nil && len(raw) <= parameters.MaxSpecBytes {
		if err := t.Schema.Validate(raw); err != nil {
			return nil, []problem{{ReasonInvalidSpec, fmt.Sprintf("artifact spec does not match the specSchema of %s: %v", t.Source, err)}}
		}
	}
	params, err := parameters.Build(raw, src.Spec, dst.Spec)
	if err != nil {
		return nil, []problem{{ReasonInvalidSpec, fmt.Sprintf("artifact spec cannot become workflow parameters: %v", err)}}
	}
	if size := parameters.Size(params) + parameters.Size(t.Spec.Parameters); size > c.maxParameterBytes {
		return nil, []problem{{ReasonTooLarge, fmt.Sprintf("the artifact's parameters (spec, Endpoints and type together) take %d bytes, more than the %d allowed", size, c.maxParameterBytes)}}
	}
	return &arcv1.ArtifactWorkflowSpec{
		Type:         a.Type,
		Parameters:   params,
		SrcSecretRef: secretRefOf(src),
		DstSecretRef: secretRefOf(dst),
		SrcEndpoint:  src.Name,
		DstEndpoint:  dst.Name,
		Cron:         cron.DeepCopy(),
	}, nil
}

// cronOf is the schedule of an artifact: its own, else the Order's default,
// else none (it runs once). The artifact's cron replaces the default as a
// whole; fields are not merged, so what an artifact says is all that applies.
func cronOf(order *arcv1.Order, a *arcv1.OrderArtifact) *arcv1.Cron {
	if a.Cron != nil {
		return a.Cron
	}
	if order.Spec.Defaults != nil {
		return order.Spec.Defaults.Cron
	}
	return nil
}

// maxCheckedSchedules bounds the cache of checked schedules. An Order holds
// a few distinct schedules; the bound only keeps a stream of edits from
// growing it without end.
const maxCheckedSchedules = 1024

// scheduleCache remembers the verdict of schedule.Validate for each
// schedule and minimum interval, so an Order of 250 scheduled artifacts
// measures its one schedule once, not 250 times per sync.
type scheduleCache struct {
	mu      sync.Mutex
	entries map[string]error
}

func (sc *scheduleCache) validate(cron *arcv1.Cron, minInterval time.Duration) error {
	if cron == nil {
		return nil
	}
	key := fmt.Sprintf("%q|%q|%s", cron.Schedules, cron.Timezone, minInterval)
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if err, ok := sc.entries[key]; ok {
		return err
	}
	err := schedule.Validate(cron, minInterval)
	if sc.entries == nil || len(sc.entries) >= maxCheckedSchedules {
		sc.entries = map[string]error{}
	}
	sc.entries[key] = err
	return err
}

// resolveType finds the artifact's type as offered to the Order's namespace.
func (c *Controller) resolveType(order *arcv1.Order, name string) (*controller.ResolvedType, []problem) {
	t, err := c.types.Resolve(order.Namespace, name)
	var typeErr *controller.TypeError
	switch {
	case errors.As(err, &typeErr):
		return nil, []problem{{typeErr.Reason, typeErr.Message}}
	case err != nil:
		return nil, []problem{{reasonLookupFailed, fmt.Sprintf("resolving type %q: %v", name, err)}}
	}
	return t, nil
}

func defaultRef(order *arcv1.Order, source bool) *corev1.LocalObjectReference {
	if order.Spec.Defaults == nil {
		return nil
	}
	if source {
		return order.Spec.Defaults.SrcRef
	}
	return order.Spec.Defaults.DstRef
}

// resolveEndpoint finds the Endpoint an artifact uses in one direction and
// checks that it may be used that way and that its Secret exists.
func (c *Controller) resolveEndpoint(order *arcv1.Order, ref, fallback *corev1.LocalObjectReference, direction string) (*arcv1.Endpoint, []problem) {
	name := refName(ref, fallback)
	if name == "" {
		field := "srcRef"
		if direction == directionDestination {
			field = "dstRef"
		}
		return nil, []problem{{ReasonEndpointNotSet, fmt.Sprintf("no %s Endpoint: set the artifact's %s or spec.defaults.%s", direction, field, field)}}
	}
	ep, err := c.endpoints.Endpoints(order.Namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil, []problem{{ReasonEndpointNotFound, fmt.Sprintf("%s Endpoint %q not found in namespace %q", direction, name, order.Namespace)}}
	}
	if err != nil {
		return nil, []problem{{reasonLookupFailed, fmt.Sprintf("reading %s Endpoint %q: %v", direction, name, err)}}
	}
	if direction == directionSource && !ep.Spec.Usage.AllowsPull() {
		return nil, []problem{{ReasonEndpointUsage, fmt.Sprintf("Endpoint %q has usage %s and cannot be a source", name, ep.Spec.Usage)}}
	}
	if direction == directionDestination && !ep.Spec.Usage.AllowsPush() {
		return nil, []problem{{ReasonEndpointUsage, fmt.Sprintf("Endpoint %q has usage %s and cannot be a destination", name, ep.Spec.Usage)}}
	}
	if ref := ep.Spec.SecretRef; ref != nil && ref.Name != "" {
		if _, err := c.secrets.ByNamespace(order.Namespace).Get(ref.Name); apierrors.IsNotFound(err) {
			return nil, []problem{{ReasonSecretNotFound, fmt.Sprintf("Secret %q of %s Endpoint %q not found in namespace %q", ref.Name, direction, name, order.Namespace)}}
		} else if err != nil {
			return nil, []problem{{reasonLookupFailed, fmt.Sprintf("reading Secret %q: %v", ref.Name, err)}}
		}
	}
	return ep, nil
}

func secretRefOf(ep *arcv1.Endpoint) *corev1.LocalObjectReference {
	if ep.Spec.SecretRef == nil || ep.Spec.SecretRef.Name == "" {
		return nil
	}
	return &corev1.LocalObjectReference{Name: ep.Spec.SecretRef.Name}
}

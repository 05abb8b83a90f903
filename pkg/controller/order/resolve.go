package order

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
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
func (c *Controller) makePlan(order *arcv1.Order, owned map[string]*controller.CachedArtifactWorkflow) (plan, error) {
	var p plan
	byName := map[string]*desiredArtifactWorkflow{}
	byIdentity := ownedByIdentity(owned)
	memo := c.acquireMemo(order)
	defer memo.release()
	var lk lookups
	var lookupErrs []error
	for i := range order.Spec.Artifacts {
		index := int32(i)
		artifact := &order.Spec.Artifacts[i]
		m := memo.forSpec(i, specOf(artifact))
		identity := m.identityOf(artifact.Type, refName(artifact.SrcRef, defaultRef(order, true)), refName(artifact.DstRef, defaultRef(order, false)))
		spec, problems := c.resolveArtifact(order, artifact, m, &lk)
		if len(problems) > 0 {
			// Parameters no ArtifactWorkflow carries are not worth their memory.
			m.forgetParameters()
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
		name, hash := m.nameOf(memo)
		if aw, ok := byIdentity[identity]; ok {
			name, hash = aw.Name, aw.StatusKey()
		}
		if existing, ok := byName[name]; ok {
			existing.indices = append(existing.indices, index)
			if !slices.Contains(existing.identities, identity) {
				existing.identities = append(existing.identities, identity)
			}
			continue
		}
		if aw, ok := owned[name]; ok {
			spec.Parameters = m.shareParameters(aw.Spec.Parameters)
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
func ownedByIdentity(owned map[string]*controller.CachedArtifactWorkflow) map[string]*controller.CachedArtifactWorkflow {
	out := make(map[string]*controller.CachedArtifactWorkflow, len(owned))
	for name, aw := range owned {
		if aw.DeletionTimestamp != nil {
			continue
		}
		v := aw.ArtifactIdentities()
		if v == "" {
			continue
		}
		// As identitiesOf, without a slice per ArtifactWorkflow.
		for id := range strings.SplitSeq(v, ",") {
			if other, taken := out[id]; !taken || name < other.Name {
				out[id] = aw
			}
		}
	}
	return out
}

// specOf is the artifact's spec as its author wrote it, nil if none.
func specOf(a *arcv1.OrderArtifact) []byte {
	if a.Spec == nil {
		return nil
	}
	return a.Spec.Raw
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
// What only the artifact's spec and Endpoints decide comes from its memo.
func (c *Controller) resolveArtifact(order *arcv1.Order, a *arcv1.OrderArtifact, m *artifactMemo, lk *lookups) (*arcv1.ArtifactWorkflowSpec, []problem) {
	src := lk.endpoint(c, order, refName(a.SrcRef, defaultRef(order, true)), directionSource)
	dst := lk.endpoint(c, order, refName(a.DstRef, defaultRef(order, false)), directionDestination)
	t, typeProblems := lk.resolveType(c, order, a.Type)
	// A new slice: the lookups hand the same problems to every artifact.
	problems := slices.Concat(src.problems, dst.problems, typeProblems)
	cron := cronOf(order, a)
	if err := c.schedules.validate(cron, c.minScheduleInterval); err != nil {
		problems = append(problems, problem{ReasonInvalidSchedule, err.Error()})
	}
	if len(problems) > 0 {
		return nil, problems
	}
	raw := specOf(a)
	// A spec over MaxSpecBytes is refused by parameters.Build below; the
	// schema validator is spared it.
	if t.Schema != nil && len(raw) <= parameters.MaxSpecBytes {
		if err := t.Schema.Validate(raw); err != nil {
			return nil, []problem{{ReasonInvalidSpec, fmt.Sprintf("artifact spec does not match the specSchema of %s: %v", t.Source, err)}}
		}
	}
	params, err := m.parametersOf(src.ep.Spec, dst.ep.Spec)
	if err != nil {
		return nil, []problem{{ReasonInvalidSpec, fmt.Sprintf("artifact spec cannot become workflow parameters: %v", err)}}
	}
	if size := parameters.Size(params) + parameters.Size(t.Spec.Parameters); size > c.maxParameterBytes {
		return nil, []problem{{ReasonTooLarge, fmt.Sprintf("the artifact's parameters (spec, Endpoints and type together) take %d bytes, more than the %d allowed", size, c.maxParameterBytes)}}
	}
	return &arcv1.ArtifactWorkflowSpec{
		Type:         a.Type,
		Parameters:   params,
		SrcSecretRef: src.secretRef,
		DstSecretRef: dst.secretRef,
		SrcEndpoint:  src.ep.Name,
		DstEndpoint:  dst.ep.Name,
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
func (c *Controller) resolveEndpoint(order *arcv1.Order, name, direction string) (*arcv1.Endpoint, []problem) {
	if name == "" {
		field := "srcRef"
		if direction == directionDestination {
			field = "dstRef"
		}
		return nil, []problem{{ReasonEndpointNotSet, fmt.Sprintf("no %s Endpoint: set the artifact's %s or spec.defaults.%s", direction, field, field)}}
	}
	ep, err := c.endpoints.Endpoints(order.Namespace).Get(name)
	// err is tested first: apierrors.IsNotFound allocates even for nil.
	if err != nil && apierrors.IsNotFound(err) {
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
		if _, err := c.secrets.ByNamespace(order.Namespace).Get(ref.Name); err != nil && apierrors.IsNotFound(err) {
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

// lookups remembers, for one makePlan, the Endpoints and types it resolved:
// the artifacts of an Order mostly share a few, and each lookup reads the
// caches and builds its messages again. Within one sync, every artifact then
// sees the same version of an Endpoint; a change during the sync queues the
// Order again, as before.
type lookups struct {
	endpoints map[endpointLookup]endpointResult
	types     map[string]typeResult
}

type endpointLookup struct{ name, direction string }

// endpointResult is what resolveEndpoint returned, with the reference to
// the Endpoint's Secret that the specs of its artifacts share (nothing
// writes to a wanted spec: newArtifactWorkflow copies it).
type endpointResult struct {
	ep        *arcv1.Endpoint
	secretRef *corev1.LocalObjectReference
	problems  []problem
}

type typeResult struct {
	t        *controller.ResolvedType
	problems []problem
}

// endpoint is resolveEndpoint, once per name and direction.
func (lk *lookups) endpoint(c *Controller, order *arcv1.Order, name, direction string) endpointResult {
	key := endpointLookup{name, direction}
	if r, ok := lk.endpoints[key]; ok {
		return r
	}
	r := endpointResult{}
	r.ep, r.problems = c.resolveEndpoint(order, name, direction)
	if r.ep != nil {
		r.secretRef = secretRefOf(r.ep)
	}
	if lk.endpoints == nil {
		lk.endpoints = map[endpointLookup]endpointResult{}
	}
	lk.endpoints[key] = r
	return r
}

// resolveType is Controller.resolveType, once per type name.
func (lk *lookups) resolveType(c *Controller, order *arcv1.Order, name string) (*controller.ResolvedType, []problem) {
	if r, ok := lk.types[name]; ok {
		return r.t, r.problems
	}
	t, problems := c.resolveType(order, name)
	if lk.types == nil {
		lk.types = map[string]typeResult{}
	}
	lk.types[name] = typeResult{t, problems}
	return t, problems
}

package controller

import (
	"bytes"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	arclisters "github.com/artifact-conduit/arc/pkg/generated/listers/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/specschema"
	"github.com/artifact-conduit/arc/pkg/workflowbuilder"
)

// Reasons a type cannot be used, in status messages and Warning events.
const (
	// ReasonTypeNotFound: no ArtifactType in the namespace and no ClusterArtifactType of the name.
	ReasonTypeNotFound = "TypeNotFound"
	// ReasonTypeNotOffered: a ClusterArtifactType of the name exists, but its
	// namespaceSelector does not select the namespace.
	ReasonTypeNotOffered = "TypeNotOffered"
	// ReasonTypeAmbiguous: an ArtifactType of the namespace would shadow a
	// ClusterArtifactType offered to the namespace.
	ReasonTypeAmbiguous = "TypeAmbiguous"
	// ReasonInvalidType: the type itself is unusable (a template out of its
	// reach, a spec schema or namespace selector that does not compile).
	ReasonInvalidType = "InvalidType"
)

// TypeError says why an artifact's type cannot be used. It depends only on
// the cluster's objects, so retrying without a change to them cannot help:
// the controllers report it and wait for an event.
type TypeError struct {
	Reason  string
	Message string
}

func (e *TypeError) Error() string { return e.Message }

// ResolvedType is an artifact type as offered to one namespace.
type ResolvedType struct {
	workflowbuilder.TypeRef
	// Schema validates artifact specs; nil when the type declares none.
	Schema *specschema.Schema
	// Source names the object the type came from, for messages.
	Source string
}

// TypeResolver finds the artifact type an artifact names, and enforces what
// a cluster admin offered to the artifact's namespace:
//
//   - a ClusterArtifactType serves only the namespaces its namespaceSelector
//     selects (all when unset);
//   - a namespaced ArtifactType uses only WorkflowTemplates of its own
//     namespace (the CRD refuses clusterScope: true; objects stored before
//     that rule are refused here);
//   - a namespaced ArtifactType never shadows a ClusterArtifactType offered
//     to its namespace: while both exist, the name is ambiguous and the
//     artifact waits. Silently preferring either would let one party change
//     which template runs for the other's Orders.
//
// Both controllers resolve through one TypeResolver, so the Order controller
// reports a problem before any ArtifactWorkflow exists and the
// ArtifactWorkflow controller checks again right before it creates a Workflow.
type TypeResolver struct {
	artifactTypes        arclisters.ArtifactTypeLister
	clusterArtifactTypes arclisters.ClusterArtifactTypeLister
	namespaces           corelisters.NamespaceLister
	schemas              schemaCache
}

// NewTypeResolver returns a resolver over the given listers.
func NewTypeResolver(types arclisters.ArtifactTypeLister, clusterTypes arclisters.ClusterArtifactTypeLister, namespaces corelisters.NamespaceLister) *TypeResolver {
	return &TypeResolver{artifactTypes: types, clusterArtifactTypes: clusterTypes, namespaces: namespaces}
}

// Resolve returns the type name means in namespace. A *TypeError means the
// type cannot be used as things stand; any other error is a failed lookup
// worth retrying.
func (r *TypeResolver) Resolve(namespace, name string) (*ResolvedType, error) {
	local, err := r.artifactTypes.ArtifactTypes(namespace).Get(name)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	if apierrors.IsNotFound(err) {
		local = nil
	}
	cluster, offered, err := r.clusterTypeFor(namespace, name)
	if err != nil {
		return nil, err
	}
	switch {
	case local != nil && offered:
		return nil, &TypeError{Reason: ReasonTypeAmbiguous, Message: fmt.Sprintf(
			"both ArtifactType %q of namespace %q and ClusterArtifactType %q exist; a namespaced type may not shadow a cluster-wide one: rename the ArtifactType",
			name, namespace, name)}
	case local != nil:
		return r.namespacedType(local)
	case offered:
		return r.clusterType(cluster)
	case cluster != nil:
		return nil, &TypeError{Reason: ReasonTypeNotOffered, Message: fmt.Sprintf(
			"ClusterArtifactType %q is not offered to namespace %q (its namespaceSelector does not select it)", name, namespace)}
	default:
		return nil, &TypeError{Reason: ReasonTypeNotFound, Message: fmt.Sprintf(
			"no ArtifactType %q in namespace %q and no ClusterArtifactType %q", name, namespace, name)}
	}
}

// clusterTypeFor returns the ClusterArtifactType of the name, if any, and
// whether it is offered to namespace. A selector that does not parse offers
// the type nowhere, and says so.
func (r *TypeResolver) clusterTypeFor(namespace, name string) (*arcv1.ClusterArtifactType, bool, error) {
	cat, err := r.clusterArtifactTypes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if cat.Spec.NamespaceSelector == nil {
		return cat, true, nil
	}
	selector, err := metav1.LabelSelectorAsSelector(cat.Spec.NamespaceSelector)
	if err != nil {
		return nil, false, &TypeError{Reason: ReasonInvalidType, Message: fmt.Sprintf(
			"ClusterArtifactType %q has an invalid namespaceSelector: %v", name, err)}
	}
	ns, err := r.namespaces.Get(namespace)
	if err != nil {
		// A namespace ARC cannot see is never selected; a lookup failure is retried.
		if apierrors.IsNotFound(err) {
			return cat, false, nil
		}
		return nil, false, err
	}
	return cat, selector.Matches(labels.Set(ns.Labels)), nil
}

func (r *TypeResolver) namespacedType(at *arcv1.ArtifactType) (*ResolvedType, error) {
	source := fmt.Sprintf("ArtifactType %s/%s", at.Namespace, at.Name)
	if at.Spec.WorkflowTemplateRef.ClusterScope {
		return nil, &TypeError{Reason: ReasonInvalidType, Message: fmt.Sprintf(
			"%s refers to ClusterWorkflowTemplate %q; a namespaced ArtifactType may only use WorkflowTemplates of its own namespace",
			source, at.Spec.WorkflowTemplateRef.Name)}
	}
	return r.withSchema(source, workflowbuilder.TypeRef{Spec: at.Spec})
}

func (r *TypeResolver) clusterType(cat *arcv1.ClusterArtifactType) (*ResolvedType, error) {
	source := "ClusterArtifactType " + cat.Name
	return r.withSchema(source, workflowbuilder.TypeRef{Spec: cat.Spec.ArtifactTypeSpec, ClusterScoped: true})
}

func (r *TypeResolver) withSchema(source string, t workflowbuilder.TypeRef) (*ResolvedType, error) {
	resolved := &ResolvedType{TypeRef: t, Source: source}
	if t.Spec.SpecSchema == nil || len(t.Spec.SpecSchema.Raw) == 0 {
		return resolved, nil
	}
	schema, err := r.schemas.compile(source, t.Spec.SpecSchema.Raw)
	if err != nil {
		return nil, &TypeError{Reason: ReasonInvalidType, Message: fmt.Sprintf("%s has an unusable specSchema: %v", source, err)}
	}
	resolved.Schema = schema
	return resolved, nil
}

// maxCachedSchemas bounds the schema cache. Types are few; the bound only
// keeps a stream of renamed types from growing it without end.
const maxCachedSchemas = 1024

// schemaCache keeps the compiled schema of each type, so an Order of 250
// artifacts compiles its type's schema once, not 250 times per sync. An
// entry is valid while the type's schema text is unchanged.
type schemaCache struct {
	mu      sync.Mutex
	entries map[string]schemaEntry
}

type schemaEntry struct {
	raw    []byte
	schema *specschema.Schema
	err    error
}

func (c *schemaCache) compile(key string, raw []byte) (*specschema.Schema, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && bytes.Equal(e.raw, raw) {
		return e.schema, e.err
	}
	schema, err := specschema.Compile(raw)
	if c.entries == nil || len(c.entries) >= maxCachedSchemas {
		c.entries = map[string]schemaEntry{}
	}
	c.entries[key] = schemaEntry{raw: bytes.Clone(raw), schema: schema, err: err}
	return schema, err
}

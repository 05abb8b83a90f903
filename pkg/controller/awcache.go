package controller

import (
	"strconv"
	"unique"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// CachedArtifactWorkflow is what ARC keeps of an ArtifactWorkflow in its
// cache: the informer's transform (SlimARCObject) turns every
// ArtifactWorkflow into one. ARC caches one per artifact, and of its labels
// and annotations reads only the ones it sets itself; as Go maps they cost
// about 670 bytes per artifact (two maps of three entries, a map's smallest
// size whatever it holds), more than the rest of the metadata. This type
// holds the ArtifactWorkflow without labels, annotations and managedFields,
// and ARC's labels and annotations as fields.
//
// A CachedArtifactWorkflow is never written back with an update: status
// writes go to the status subresource, which takes nothing but the status
// from the object sent, and the Order controller reads the whole object
// from the API server before it updates one (see Restored for the few
// readers of ARC's labels).
type CachedArtifactWorkflow struct {
	// ArtifactWorkflow without labels, annotations and managedFields.
	arcv1.ArtifactWorkflow

	// order holds what the ArtifactWorkflow's labels and annotations say
	// about its Order, shared by all of the Order's ArtifactWorkflows: one
	// word here instead of three strings.
	order unique.Handle[orderMetadata]
	// hash is the label arc.opendefense.cloud/artifact-hash.
	hash string
	// identities is the annotation arc.opendefense.cloud/artifact-identities.
	identities string
	// index is the annotation arc.opendefense.cloud/artifact-index, -1 when
	// it is missing or not a number.
	index int32
}

// orderMetadata is what ARC's labels and annotations on an ArtifactWorkflow
// say about its Order and who manages it.
type orderMetadata struct {
	managedBy, orderUID, orderName string
}

// The annotations the Order controller keeps on an ArtifactWorkflow: which
// artifact it was first created for, and the identities of the artifacts it
// does the work for (comma-separated).
const (
	AnnotationArtifactIndex      = arcv1.GroupName + "/artifact-index"
	AnnotationArtifactIdentities = arcv1.GroupName + "/artifact-identities"
)

// CacheArtifactWorkflow returns what ARC keeps of aw (see
// CachedArtifactWorkflow). The result shares aw's slices and pointers, whose
// strings it replaces with shared copies of equal value: aw must be the
// caller's own (fresh from the decoder or a client call). The Order
// controller uses it too for the ArtifactWorkflows it created or updated,
// so that it handles one type whatever the source.
func CacheArtifactWorkflow(aw *arcv1.ArtifactWorkflow) *CachedArtifactWorkflow {
	out := &CachedArtifactWorkflow{
		ArtifactWorkflow: *aw,
		order: unique.Make(orderMetadata{
			managedBy: aw.Labels[arcv1.LabelManagedBy],
			orderUID:  aw.Labels[arcv1.LabelOrderUID],
			orderName: aw.Annotations[arcv1.AnnotationOrderName],
		}),
		hash:       aw.Labels[arcv1.LabelArtifactHash],
		identities: aw.Annotations[AnnotationArtifactIdentities],
		index:      parseIndex(aw.Annotations[AnnotationArtifactIndex]),
	}
	out.Labels, out.Annotations, out.ManagedFields = nil, nil, nil
	internArtifactWorkflow(&out.ArtifactWorkflow)
	return out
}

func parseIndex(s string) int32 {
	i, err := strconv.ParseInt(s, 10, 32)
	if err != nil || i < 0 {
		return -1
	}
	return int32(i)
}

// ManagedBy is the label app.kubernetes.io/managed-by.
func (c *CachedArtifactWorkflow) ManagedBy() string { return c.order.Value().managedBy }

// OrderUID is the label arc.opendefense.cloud/order-uid.
func (c *CachedArtifactWorkflow) OrderUID() string { return c.order.Value().orderUID }

// OrderName is the annotation arc.opendefense.cloud/order.
func (c *CachedArtifactWorkflow) OrderName() string { return c.order.Value().orderName }

// ArtifactHash is the label arc.opendefense.cloud/artifact-hash.
func (c *CachedArtifactWorkflow) ArtifactHash() string { return c.hash }

// StatusKey is the key of the ArtifactWorkflow's entry in its Order's
// status.artifactWorkflows: the hash of its work, from its label, or its
// name if the label is gone.
func (c *CachedArtifactWorkflow) StatusKey() string {
	if c.hash != "" {
		return c.hash
	}
	return c.Name
}

// ArtifactIdentities is the annotation arc.opendefense.cloud/artifact-identities.
func (c *CachedArtifactWorkflow) ArtifactIdentities() string { return c.identities }

// ArtifactIndex is the annotation arc.opendefense.cloud/artifact-index, ""
// when it is missing or not a number.
func (c *CachedArtifactWorkflow) ArtifactIndex() string {
	if c.index < 0 {
		return ""
	}
	return strconv.Itoa(int(c.index))
}

// SameARCMetadata tells whether c and other carry the same ARC labels and
// annotations.
func (c *CachedArtifactWorkflow) SameARCMetadata(other *CachedArtifactWorkflow) bool {
	return c.order == other.order && c.hash == other.hash && c.identities == other.identities && c.index == other.index
}

// Restored returns the ArtifactWorkflow with ARC's labels and annotations
// back in place (those it had), for the code that reads them from an
// ArtifactWorkflow: building its Workflow. Other labels and annotations are
// not known. The result shares the spec and status with c: read only.
func (c *CachedArtifactWorkflow) Restored() *arcv1.ArtifactWorkflow {
	aw := c.ArtifactWorkflow
	aw.Labels, aw.Annotations = map[string]string{}, map[string]string{}
	o := c.order.Value()
	setIfPresent(aw.Labels, arcv1.LabelManagedBy, o.managedBy)
	setIfPresent(aw.Labels, arcv1.LabelOrderUID, o.orderUID)
	setIfPresent(aw.Labels, arcv1.LabelArtifactHash, c.hash)
	setIfPresent(aw.Annotations, arcv1.AnnotationOrderName, o.orderName)
	setIfPresent(aw.Annotations, AnnotationArtifactIdentities, c.identities)
	setIfPresent(aw.Annotations, AnnotationArtifactIndex, c.ArtifactIndex())
	return &aw
}

// setIfPresent sets m[key] to a value the object had (not empty).
func setIfPresent(m map[string]string, key, value string) {
	if value != "" {
		m[key] = value
	}
}

// DeepCopyObject is part of runtime.Object (client-go's cache mutation
// detector copies what the cache holds). The promoted method would return
// an ArtifactWorkflow without the fields.
func (c *CachedArtifactWorkflow) DeepCopyObject() runtime.Object {
	out := *c
	c.ArtifactWorkflow.DeepCopyInto(&out.ArtifactWorkflow)
	return &out
}

// GetObjectKind is part of runtime.Object. A CachedArtifactWorkflow tells
// it is an ArtifactWorkflow, so that an event about one names its object
// like one about an ArtifactWorkflow (the scheme does not know this type).
func (c *CachedArtifactWorkflow) GetObjectKind() schema.ObjectKind { return artifactWorkflowKind{} }

// artifactWorkflowKind is the kind of every CachedArtifactWorkflow.
type artifactWorkflowKind struct{}

func (artifactWorkflowKind) SetGroupVersionKind(schema.GroupVersionKind) {}
func (artifactWorkflowKind) GroupVersionKind() schema.GroupVersionKind {
	return arcv1.SchemeGroupVersion.WithKind("ArtifactWorkflow")
}

var artifactWorkflowResource = arcv1.SchemeGroupVersion.WithResource("artifactworkflows").GroupResource()

// ArtifactWorkflowCache reads the ArtifactWorkflow informer's cache, which
// holds CachedArtifactWorkflows.
type ArtifactWorkflowCache struct {
	Indexer cache.Indexer
}

// Get returns the cached ArtifactWorkflow namespace/name, or a NotFound error.
func (c ArtifactWorkflowCache) Get(namespace, name string) (*CachedArtifactWorkflow, error) {
	return cachedObject[*CachedArtifactWorkflow](c.Indexer, artifactWorkflowResource, namespace, name)
}

// List returns every cached ArtifactWorkflow.
func (c ArtifactWorkflowCache) List() []*CachedArtifactWorkflow {
	return cachedObjects[*CachedArtifactWorkflow](c.Indexer.List())
}

// ListArtifactWorkflows returns every cached ArtifactWorkflow without ARC's
// labels and annotations (see CachedArtifactWorkflow).
func (c ArtifactWorkflowCache) ListArtifactWorkflows() []*arcv1.ArtifactWorkflow {
	objs := c.Indexer.List()
	aws := make([]*arcv1.ArtifactWorkflow, 0, len(objs))
	for _, obj := range objs {
		if aw, ok := obj.(*CachedArtifactWorkflow); ok {
			aws = append(aws, &aw.ArtifactWorkflow)
		}
	}
	return aws
}

// ByIndex returns the cached ArtifactWorkflows the named index holds under value.
func (c ArtifactWorkflowCache) ByIndex(index, value string) ([]*CachedArtifactWorkflow, error) {
	objs, err := c.Indexer.ByIndex(index, value)
	if err != nil {
		return nil, err
	}
	return cachedObjects[*CachedArtifactWorkflow](objs), nil
}

// AsCachedArtifactWorkflow returns the CachedArtifactWorkflow an event
// handler got, or one in a tombstone.
func AsCachedArtifactWorkflow(obj interface{}) (*CachedArtifactWorkflow, bool) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	aw, ok := obj.(*CachedArtifactWorkflow)
	return aw, ok
}

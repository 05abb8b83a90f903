package controller

import (
	"unique"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// ARC caches an ArtifactWorkflow, an Order entry and a Workflow per artifact,
// and most of their strings are the same in every one of them: label and
// annotation keys, owner kinds, parameter names, endpoint and type names,
// phases, condition reasons, the Order's name and UID in each of its
// ArtifactWorkflows. The decoder allocates each of them anew for every
// object; the informer transforms replace them with one shared copy.
//
// unique.Make keeps a string's canonical copy only while it is in use by
// some handle, and ARC keeps no handles: equal strings decoded between two
// garbage collections share one copy, and the interning map never grows
// with what it has seen. Strings that are unique to an object (UIDs,
// resourceVersions) are left alone: sharing them saves nothing.

// maxInternedBytes bounds what is interned: long strings (messages, free
// text) are rarely equal and their hashing costs more.
const maxInternedBytes = 128

// intern returns the shared copy of s.
func intern(s string) string {
	if s == "" || len(s) > maxInternedBytes {
		return s
	}
	return unique.Make(s).Value()
}

// internMap returns m with its keys and values shared.
func internMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return m
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[intern(k)] = intern(v)
	}
	return out
}

// internMeta shares the strings of an object's metadata that recur across
// objects; name, UID and resourceVersion are the object's own. The name is
// interned too: an ArtifactWorkflow's name is also its Workflow's, and
// appears in the Order's status and in the Workflow's owner reference.
func internMeta(m *metav1.ObjectMeta) {
	m.Name = intern(m.Name)
	m.Namespace = intern(m.Namespace)
	m.Labels = internMap(m.Labels)
	m.Annotations = internMap(m.Annotations)
	for i := range m.OwnerReferences {
		ref := &m.OwnerReferences[i]
		ref.APIVersion, ref.Kind, ref.Name, ref.UID = intern(ref.APIVersion), intern(ref.Kind), intern(ref.Name), internUID(ref.UID)
	}
	for i := range m.Finalizers {
		m.Finalizers[i] = intern(m.Finalizers[i])
	}
	m.OwnerReferences, m.Finalizers = clip(m.OwnerReferences), clip(m.Finalizers)
}

// clip returns s without spare capacity. The JSON decoder grows a slice by
// doubling, so a list of 9 parameters arrives with room for 16, and the
// cache would keep the room for as long as it keeps the object. An empty
// slice is left as it is (nil and empty differ to comparisons).
func clip[S ~[]E, E any](s S) S {
	if len(s) == 0 || len(s) == cap(s) {
		return s
	}
	return append(make(S, 0, len(s)), s...)
}

// internUID shares an owner's UID, which every child of the owner repeats.
func internUID[T ~string](uid T) T { return T(intern(string(uid))) }

// internConditions shares the recurring strings of conds and returns them
// clipped.
func internConditions(conds []metav1.Condition) []metav1.Condition {
	for i := range conds {
		c := &conds[i]
		c.Type, c.Status, c.Reason, c.Message = intern(c.Type), metav1.ConditionStatus(intern(string(c.Status))), intern(c.Reason), intern(c.Message)
	}
	return clip(conds)
}

// internArtifactWorkflow shares the recurring strings of an ArtifactWorkflow.
func internArtifactWorkflow(aw *arcv1.ArtifactWorkflow) {
	internMeta(&aw.ObjectMeta)
	s := &aw.Spec
	s.Type, s.SrcEndpoint, s.DstEndpoint = intern(s.Type), intern(s.SrcEndpoint), intern(s.DstEndpoint)
	for _, ref := range []*string{refName(s.SrcSecretRef), refName(s.DstSecretRef)} {
		if ref != nil {
			*ref = intern(*ref)
		}
	}
	for i := range s.Parameters {
		p := &s.Parameters[i]
		p.Name, p.Value = intern(p.Name), intern(p.Value)
	}
	s.Parameters = clip(s.Parameters)
	st := &aw.Status
	st.WorkflowName = intern(st.WorkflowName)
	st.Phase = arcv1.WorkflowPhase(intern(string(st.Phase)))
	st.Message = intern(st.Message)
	st.Conditions = internConditions(st.Conditions)
}

// internOrder shares the recurring strings of an Order.
func internOrder(o *arcv1.Order) {
	internMeta(&o.ObjectMeta)
	for i := range o.Spec.Artifacts {
		a := &o.Spec.Artifacts[i]
		a.Type = intern(a.Type)
		for _, ref := range []*string{refName(a.SrcRef), refName(a.DstRef)} {
			if ref != nil {
				*ref = intern(*ref)
			}
		}
	}
	o.Spec.Artifacts = clip(o.Spec.Artifacts)
	st := &o.Status
	for hash, e := range st.ArtifactWorkflows {
		e.Name, e.Message = intern(e.Name), intern(e.Message)
		e.Phase = arcv1.WorkflowPhase(intern(string(e.Phase)))
		st.ArtifactWorkflows[hash] = e
	}
	st.Conditions = internConditions(st.Conditions)
}

// refName points at a reference's name, nil for no reference.
func refName(ref *corev1.LocalObjectReference) *string {
	if ref == nil {
		return nil
	}
	return &ref.Name
}

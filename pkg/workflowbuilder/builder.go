// Package workflowbuilder turns an ArtifactWorkflow and its resolved artifact
// type into the Argo Workflow that carries it out.
//
// Building is a pure function of its inputs: no client, clock or randomness
// is involved, so the same inputs always give the same Workflow. That lets the
// controller compare what it built with what exists, and lets tests pin the
// output as YAML.
package workflowbuilder

import (
	"errors"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/naming"
	"github.com/artifact-conduit/arc/pkg/parameters"
)

// TypeRef is the resolved ArtifactType or ClusterArtifactType of an ArtifactWorkflow.
type TypeRef struct {
	// Spec of the type.
	Spec v1alpha1.ArtifactTypeSpec
	// ClusterScoped is true for a ClusterArtifactType, whose template is always a ClusterWorkflowTemplate.
	ClusterScoped bool
}

// artifactWorkflowKind is the kind the Workflow's owner reference points to.
const artifactWorkflowKind = "ArtifactWorkflow"

// Errors Build returns for input it cannot turn into a Workflow. They depend
// only on the inputs, so retrying with the same inputs cannot succeed. They end
// up in status messages, so they speak of ARC's objects, not of this package.
var (
	errNilArtifactWorkflow = errors.New("ArtifactWorkflow is nil")
	errNoName              = errors.New("ArtifactWorkflow has no name")
	errNoTemplateName      = errors.New("artifact type names no workflow template")
)

// Build returns the Argo Workflow that carries out aw with the template of its type.
//
// The Workflow is named after aw and the run it carries out
// (naming.Workflow of aw.spec.run: aw's own name for the first run), lives
// in aw's namespace and is controlled by aw. It carries the finalizer
// FinalizerWorkflowResult, which ARC removes once it recorded the final
// phase, so no deletion loses a result. It
// references the type's template and passes the merged parameters of aw and
// the type (the type wins), plus the names of the source and destination
// Secrets as SrcSecretNameParameter and DstSecretNameParameter.
//
// With the default secret delivery (ByName) that is all its spec holds:
// workflowTemplateRef and arguments are the fields Argo lets a Workflow set
// when it restricts template referencing (Strict or Secure), so the admin's
// template alone decides which step mounts which Secret. With
// WorkflowVolumes the Workflow also carries the volumes SrcSecretVolume and
// DstSecretVolume and a podSpecPatch that mounts them at SrcSecretPath and
// DstSecretPath in every step; Argo refuses those fields when restricted.
// Only names of Secrets are put into the Workflow, never their data.
//
// An error means the inputs cannot give a valid Workflow; it is permanent for
// those inputs.
func Build(aw *v1alpha1.ArtifactWorkflow, t TypeRef) (*wfv1.Workflow, error) {
	if err := validate(aw, t); err != nil {
		return nil, err
	}
	// The type's parameters win: its author fixes them for every artifact of
	// the type. Merge also sorts, so the order of the inputs cannot change
	// the Workflow.
	params := parameters.Merge(withSecretNames(aw), t.Spec.Parameters)
	wf := &wfv1.Workflow{
		TypeMeta: metav1.TypeMeta{
			APIVersion: wfv1.WorkflowSchemaGroupVersionKind.GroupVersion().String(),
			Kind:       wfv1.WorkflowSchemaGroupVersionKind.Kind,
		},
		ObjectMeta: workflowMeta(aw),
		Spec: wfv1.WorkflowSpec{
			WorkflowTemplateRef: templateRef(t),
			Arguments:           arguments(params),
		},
	}
	if t.Spec.SecretDelivery == v1alpha1.SecretDeliveryWorkflowVolumes {
		volumes := secretVolumes(aw.Spec.SrcSecretRef, aw.Spec.DstSecretRef)
		patch, err := standardPathsPatch(volumes)
		if err != nil {
			return nil, err
		}
		wf.Spec.Volumes, wf.Spec.PodSpecPatch = volumes, patch
	}
	return wf, nil
}

// validate rejects only what would make Build's output meaningless. Rules
// such as endpoint types are the controller's business.
func validate(aw *v1alpha1.ArtifactWorkflow, t TypeRef) error {
	switch {
	case aw == nil:
		return errNilArtifactWorkflow
	case aw.Name == "":
		return errNoName
	case t.Spec.WorkflowTemplateRef.Name == "":
		return errNoTemplateName
	}
	return nil
}

// workflowMeta gives the Workflow the identity of its ArtifactWorkflow and
// run, so that one run of an ArtifactWorkflow can only ever have one
// Workflow, and the labels
// the controller uses to find its way back from a Workflow.
func workflowMeta(aw *v1alpha1.ArtifactWorkflow) metav1.ObjectMeta {
	meta := metav1.ObjectMeta{
		Name:            naming.Workflow(aw.Name, aw.Spec.Run),
		Namespace:       aw.Namespace,
		Labels:          workflowLabels(aw),
		OwnerReferences: []metav1.OwnerReference{*ownerReference(aw)},
		Finalizers:      []string{v1alpha1.FinalizerWorkflowResult},
	}
	if name, ok := aw.Annotations[v1alpha1.AnnotationOrderName]; ok {
		meta.Annotations = map[string]string{v1alpha1.AnnotationOrderName: name}
	}
	return meta
}

// workflowLabels marks the Workflow as ARC's and carries over the labels that
// tie the ArtifactWorkflow to its Order, so a Workflow can be listed by Order.
func workflowLabels(aw *v1alpha1.ArtifactWorkflow) map[string]string {
	labels := map[string]string{
		v1alpha1.LabelManagedBy:        v1alpha1.ManagedByValue,
		v1alpha1.LabelArtifactWorkflow: aw.Name,
	}
	for _, key := range []string{v1alpha1.LabelOrderUID, v1alpha1.LabelArtifactHash} {
		if value, ok := aw.Labels[key]; ok {
			labels[key] = value
		}
	}
	return labels
}

// ownerReference makes aw the controller of the Workflow: the garbage
// collector deletes the Workflow with it, and the controller maps Workflow
// events back to it.
func ownerReference(aw *v1alpha1.ArtifactWorkflow) *metav1.OwnerReference {
	return metav1.NewControllerRef(aw, v1alpha1.SchemeGroupVersion.WithKind(artifactWorkflowKind))
}

// templateRef points at the type's template. A ClusterArtifactType may omit
// clusterScope because its template can only be a ClusterWorkflowTemplate.
func templateRef(t TypeRef) *wfv1.WorkflowTemplateRef {
	return &wfv1.WorkflowTemplateRef{
		Name:         t.Spec.WorkflowTemplateRef.Name,
		ClusterScope: t.ClusterScoped || t.Spec.WorkflowTemplateRef.ClusterScope,
	}
}

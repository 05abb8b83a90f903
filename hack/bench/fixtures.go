package main

import (
	"encoding/json"
	"fmt"
	"maps"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// Names of what the benchmark creates. Everything carries labelBench, so a
// run cleans up what an interrupted earlier run left.
const (
	labelBench     = "arc.opendefense.cloud/bench"
	nsPrefixBench  = "bench-" // of every namespace below and of rounds.go's
	nsPrefixARC    = "bench-arc-"
	nsPrefixBase   = "bench-base-"
	nsPrefixFast   = "bench-fast-"
	templateName   = "arc-bench"
	secretName     = "bench-dst-credentials"
	typeOCI        = "bench-oci"  // an ArtifactType in every namespace
	typeHelm       = "bench-helm" // a ClusterArtifactType
	typeFile       = "bench-file" // a ClusterArtifactType without rules
	epSrcOCI       = "src-oci"
	epDstOCI       = "dst-oci"
	epSrcHelm      = "src-helm"
	epDstHelm      = "dst-helm"
	argoInstanceID = "workflows.argoproj.io/controller-instanceid"
)

func benchLabels() map[string]string { return map[string]string{labelBench: "true"} }

func namespaceName(prefix string, i int) string { return fmt.Sprintf("%s%d", prefix, i) }

func newNamespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: benchLabels()}}
}

// namespaceFixtures are the objects every namespace needs before Orders
// arrive: four Endpoints of two types (one with a Secret), the namespaced
// ArtifactType and its WorkflowTemplate (a namespaced type may only use a
// template of its own namespace).
func namespaceFixtures(ns string) (*corev1.Secret, []*arcv1.Endpoint, *arcv1.ArtifactType, *wfv1.WorkflowTemplate) {
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: benchLabels()}
	}
	secret := &corev1.Secret{
		ObjectMeta: meta(secretName),
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{"token": "not-a-real-token"},
	}
	eps := []*arcv1.Endpoint{
		{ObjectMeta: meta(epSrcOCI), Spec: arcv1.EndpointSpec{Type: "oci", RemoteURL: "registry.bench.example", Usage: arcv1.EndpointUsagePullOnly}},
		{ObjectMeta: meta(epDstOCI), Spec: arcv1.EndpointSpec{Type: "oci", RemoteURL: "mirror.bench.example", Usage: arcv1.EndpointUsagePushOnly,
			SecretRef: &corev1.LocalObjectReference{Name: secretName}}},
		{ObjectMeta: meta(epSrcHelm), Spec: arcv1.EndpointSpec{Type: "helm", RemoteURL: "charts.bench.example", Usage: arcv1.EndpointUsageAll}},
		{ObjectMeta: meta(epDstHelm), Spec: arcv1.EndpointSpec{Type: "helm", RemoteURL: "charts-mirror.bench.example", Usage: arcv1.EndpointUsageAll}},
	}
	at := &arcv1.ArtifactType{
		ObjectMeta: meta(typeOCI),
		Spec: arcv1.ArtifactTypeSpec{
			Rules:               arcv1.ArtifactTypeRules{SrcTypes: []string{"oci"}, DstTypes: []string{"oci"}},
			Parameters:          []arcv1.Parameter{{Name: "scanSeverity", Value: "HIGH,CRITICAL"}},
			WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: templateName},
		},
	}
	wt := &wfv1.WorkflowTemplate{ObjectMeta: meta(templateName), Spec: workflowTemplate().Spec}
	return secret, eps, at, wt
}

// clusterArtifactTypes are the two cluster-wide types of the benchmark.
func clusterArtifactTypes() []*arcv1.ClusterArtifactType {
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Labels: benchLabels()} }
	return []*arcv1.ClusterArtifactType{
		{ObjectMeta: meta(typeHelm), Spec: arcv1.ClusterArtifactTypeSpec{ArtifactTypeSpec: arcv1.ArtifactTypeSpec{
			Rules:               arcv1.ArtifactTypeRules{SrcTypes: []string{"helm"}, DstTypes: []string{"helm"}},
			WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: templateName, ClusterScope: true},
		}}},
		{ObjectMeta: meta(typeFile), Spec: arcv1.ClusterArtifactTypeSpec{ArtifactTypeSpec: arcv1.ArtifactTypeSpec{
			WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: templateName, ClusterScope: true},
		}}},
	}
}

// workflowTemplate is the ClusterWorkflowTemplate the cluster types refer to: one
// trivial step on KWOK's fake node, which completes the pod at once. Without
// an Argo controller (the default mode) nothing reads it.
func workflowTemplate() *wfv1.ClusterWorkflowTemplate {
	return &wfv1.ClusterWorkflowTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: templateName, Labels: benchLabels()},
		Spec: wfv1.WorkflowSpec{
			Entrypoint:   "main",
			NodeSelector: map[string]string{"type": "kwok"},
			Templates: []wfv1.Template{{
				Name: "main",
				Container: &corev1.Container{
					Image:   "busybox:1.36",
					Command: []string{"true"},
				},
			}},
		},
	}
}

// orderNamespace spreads Orders over the namespaces round-robin.
func orderNamespace(prefix string, i, namespaces int) string {
	return namespaceName(prefix, i%namespaces)
}

// newOrder returns Order i of the run with m distinct artifacts. Artifacts
// rotate over the three types (namespaced oci, cluster helm, cluster file
// across endpoint types) and so over the four Endpoints; every artifact's
// spec is unique, so each becomes its own ArtifactWorkflow.
func newOrder(ns string, i, m int) *arcv1.Order {
	o := &arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("order-%05d", i), Namespace: ns, Labels: benchLabels()},
		Spec: arcv1.OrderSpec{
			Defaults: &arcv1.OrderDefaults{
				SrcRef: &corev1.LocalObjectReference{Name: epSrcOCI},
				DstRef: &corev1.LocalObjectReference{Name: epDstOCI},
			},
		},
	}
	for j := 0; j < m; j++ {
		a := arcv1.OrderArtifact{}
		spec := map[string]any{"image": artifactImage(i, j), "tag": "1.0"}
		switch j % 3 {
		case 0:
			a.Type = typeOCI
		case 1:
			a.Type = typeHelm
			a.SrcRef = &corev1.LocalObjectReference{Name: epSrcHelm}
			a.DstRef = &corev1.LocalObjectReference{Name: epDstHelm}
			spec["chart"] = map[string]any{"name": fmt.Sprintf("chart-%d-%d", i, j), "version": "0.1.0"}
		case 2:
			a.Type = typeFile
			a.DstRef = &corev1.LocalObjectReference{Name: epDstHelm}
			spec["files"] = []any{"a.txt", "b.txt"}
		}
		raw, _ := json.Marshal(spec)
		a.Spec = &runtime.RawExtension{Raw: raw}
		o.Spec.Artifacts = append(o.Spec.Artifacts, a)
	}
	return o
}

// artifactImage is the spec.image of artifact j of Order i: unique, so every
// artifact is distinct, and it reaches the Workflow as parameter specImage,
// where simulated Argo finds which artifact a Workflow does.
func artifactImage(i, j int) string { return fmt.Sprintf("bench/o%05d/a%03d", i, j) }

// baselineArtifactWorkflow copies what ARC created into the baseline's
// namespace: the same name and spec, but no owner reference and none of
// ARC's labels, so nothing ties it to an Order and ARC would not adopt it.
func baselineArtifactWorkflow(aw *arcv1.ArtifactWorkflow, ns string) *arcv1.ArtifactWorkflow {
	return &arcv1.ArtifactWorkflow{
		ObjectMeta: metav1.ObjectMeta{
			Name:        aw.Name,
			Namespace:   ns,
			Labels:      benchLabels(),
			Annotations: maps.Clone(aw.Annotations),
		},
		Spec: *aw.Spec.DeepCopy(),
	}
}

// baselineWorkflow copies ARC's Workflow spec into the baseline's namespace.
// With a real Argo controller the instance-id label keeps Argo from running
// it (Argo without an instance id skips Workflows that carry one).
func baselineWorkflow(wf *wfv1.Workflow, ns string, argo bool) *wfv1.Workflow {
	labels := benchLabels()
	if argo {
		labels[argoInstanceID] = "arc-bench-baseline"
	}
	return &wfv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{
			Name:        wf.Name,
			Namespace:   ns,
			Labels:      labels,
			Annotations: maps.Clone(wf.Annotations),
		},
		Spec: *wf.Spec.DeepCopy(),
	}
}

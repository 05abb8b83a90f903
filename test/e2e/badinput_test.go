//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/naming"
	"github.com/artifact-conduit/arc/pkg/parameters"
	"github.com/artifact-conduit/arc/pkg/workflowbuilder"
)

// TestBadInput runs a corpus of malformed and hostile inputs, one row each,
// through the API server and ARC. Every row works in a namespace of its own,
// beside a good artifact (in the same Order, or in an Order of the same
// namespace), and checks
//
//   - the exact outcome: the API server's refusal, or what ARC reports (the
//     Order's unresolved entry or the ArtifactWorkflow's Ready condition, and
//     the Warning event with that reason);
//   - that the good artifact is unaffected: its Order entry reaches Succeeded;
//   - that ARC leaves the namespace alone once it has reported: one shared
//     observation minute, after every row has reported, counts ARC's syncs,
//     API requests and events in each row's namespace (see workBudget).
//
// The counts come from an arc-controller of the corpus's own, which logs
// every sync (-v=4) and every API request (-v=6) to
// .local/logs/e2e-badinput-arc-controller.log, so the suite's shared
// controller is suspended meanwhile and the test does not run in parallel
// with others (Go runs it before it releases the parallel tests).
//
// Rows run in three steps so that slow rows overlap and the minute is shared:
// "report/<row>" sets every row up one after the other (nothing waits), then
// waits for the rows' outcomes in parallel; the minute follows; then
// "quiet/<row>" checks each row's counts and what must still hold.
func TestBadInput(t *testing.T) {
	s.suspendSharedController(t)
	logPath := filepath.Join(s.root, ".local", "logs", "e2e-badinput-arc-controller.log")
	require.NoError(t, os.WriteFile(logPath, nil, 0o644))
	controller, err := s.launchControllerLoggingTo(logPath, "-v=6")
	require.NoError(t, err, "starting the corpus's arc-controller")
	t.Cleanup(func() {
		if err := controller.stop(20 * time.Second); err != nil {
			t.Errorf("stopping the corpus's arc-controller: %v", err)
		}
	})
	t.Logf("the corpus's arc-controller logs to %s", s.relative(logPath))

	parent := t
	inputs := badInputs()
	rows := make([]*row, len(inputs))
	started := time.Now()
	t.Run("report", func(t *testing.T) {
		for i, in := range inputs {
			t.Run(in.name, func(t *testing.T) {
				r := newRow(t, parent, logPath)
				rows[i] = r
				in.setup(r)
				// From here on the row's objects exist: the minute observes
				// them, even when a check below fails.
				r.observed = true
				t.Parallel()
				if in.expect != nil {
					in.expect(r)
				}
				r.waitGoodArtifact()
			})
		}
	})
	t.Logf("the report step ended after %s", time.Since(started).Round(time.Second))

	window := observeMinute(t, logPath)

	t.Run("quiet", func(t *testing.T) {
		for i, in := range inputs {
			t.Run(in.name, func(t *testing.T) {
				r := rows[i]
				if r == nil || !r.observed {
					t.Skip("the row's setup failed (see report/...): there is nothing to observe")
				}
				t.Parallel()
				r = r.in(t)
				r.work = window.work(r.ns)
				budget := idleBudget
				if in.budget != nil {
					budget = *in.budget
				}
				r.work.check(t, budget)
				r.checkGoodArtifactStill()
				if in.afterMinute != nil {
					in.afterMinute(r)
				}
			})
		}
	})
	logWorkSummary(t, logPath, inputs, rows)
}

// ---------------------------------------------------------------- the corpus

// badInput is one row of the corpus.
type badInput struct {
	// name says what happens to the input, as a sentence.
	name string
	// setup creates the row's good artifact and its bad input. It never
	// waits for ARC: the setup of every row runs before any row waits. A
	// refusal by the API server is checked here, at once.
	setup func(r *row)
	// expect, when set, waits until ARC has reported the bad input and
	// checks the report exactly. It may act again after a first outcome (a
	// deletion, an edit) and wait for the next.
	expect func(r *row)
	// afterMinute, when set, checks what must still hold after the minute.
	afterMinute func(r *row)
	// budget, when set, replaces idleBudget for a row whose minute holds
	// documented work.
	budget *workBudget
}

// Values the rows share.
const (
	// corpusTimeout bounds every wait of a row. ARC reports within seconds
	// and the good artifacts' Workflows finish within about 15 s on the
	// local cluster; a row that waits longer waits for a report that does
	// not come, and the minute, which starts when every row is done, should
	// not wait for it longer than this.
	corpusTimeout = time.Minute
	// orderName is the Order of a row's good artifact, at index 0, and of
	// its bad artifact, at index 1, when the row is about an artifact.
	orderName = "order"
	// goodSpec is the good artifact's spec; badSpec the bad one's unless a row says otherwise.
	goodSpec = `{"image":"library/good:1.0"}`
	badSpec  = `{"image":"library/bad:1.0"}`
	// secretMarker is the password in the remoteURL that must not come back.
	secretMarker = "hunter2"
)

// strictSchema is the specSchema of the type "strict" of the schema rows.
const strictSchema = `{
	"type": "object",
	"required": ["image"],
	"properties": {
		"image": {"type": "string", "maxLength": 40, "pattern": "^[a-z0-9][a-z0-9./:-]*$"},
		"tier": {"type": "string", "enum": ["gold", "silver"]},
		"replicas": {"type": "integer"}
	}
}`

// badInputs is the corpus. A message holds {ns} for the row's namespace and
// {aw} for the ArtifactWorkflow name the bad artifact gets.
func badInputs() []badInput {
	strict := func(r *row) { r.createArtifactTypeWithSchema("strict", strictSchema) }
	schemaViolation := func(name, spec, violation string) badInput {
		return unresolvedArtifact(name, strict, bad{typ: "strict", spec: spec}, "InvalidSpec",
			"artifact spec does not match the specSchema of ArtifactType {ns}/strict: "+violation)
	}
	unusableSchema := func(name, schema, problem string) badInput {
		return unresolvedArtifact(name,
			func(r *row) { r.createArtifactTypeWithSchema("unusable", schema) },
			bad{typ: "unusable"}, "InvalidType", "ArtifactType {ns}/unusable has an unusable specSchema: "+problem)
	}
	flattening := func(name, spec, problem string) badInput {
		return unresolvedArtifact(name, nil, bad{spec: spec}, "InvalidSpec",
			"artifact spec cannot become workflow parameters: "+problem)
	}
	long254 := strings.Repeat("t", 254)
	return []badInput{
		// ------------------------------------------------ Endpoint
		{
			name: "the API server refuses an Endpoint whose remoteURL carries a user and password, without echoing them",
			setup: func(r *row) {
				r.createOrder(orderName)
				err := r.tryEndpoint(arcv1.EndpointSpec{Type: "oci", RemoteURL: "https://robot:" + secretMarker + "@registry.example"})
				r.expectRefused(err, `spec.remoteURL: Invalid value: "string": remoteURL must not carry user info (user:password@): put credentials in the Secret that secretRef names`)
				assert.NotContains(r.t, err.Error(), secretMarker)
			},
		},
		refused("the API server refuses an Endpoint whose remoteURL holds whitespace",
			`spec.remoteURL: Invalid value: "string": remoteURL must not contain whitespace or control characters`,
			func(r *row) error {
				return r.tryEndpoint(arcv1.EndpointSpec{Type: "oci", RemoteURL: "registry.example/team app"})
			}),
		refused("the API server refuses an Endpoint whose remoteURL holds a control character",
			`spec.remoteURL: Invalid value: "string": remoteURL must not contain whitespace or control characters`,
			func(r *row) error {
				return r.tryEndpoint(arcv1.EndpointSpec{Type: "oci", RemoteURL: "registry.example/\x1b[2Jteam"})
			}),
		refused("the API server refuses an Endpoint with an empty remoteURL",
			`spec.remoteURL: Invalid value: "": spec.remoteURL in body should be at least 1 chars long`,
			func(r *row) error { return r.tryEndpoint(arcv1.EndpointSpec{Type: "oci", RemoteURL: ""}) }),
		refused("the API server refuses an Endpoint with an empty type",
			`spec.type: Invalid value: "": spec.type in body should be at least 1 chars long`,
			func(r *row) error { return r.tryEndpoint(arcv1.EndpointSpec{Type: "", RemoteURL: "registry.example"}) }),
		refused("the API server refuses an Endpoint type of 64 characters",
			`spec.type: Too long: may not be more than 63 bytes`,
			func(r *row) error {
				return r.tryEndpoint(arcv1.EndpointSpec{Type: strings.Repeat("o", 64), RemoteURL: "registry.example"})
			}),
		refused("the API server refuses an Endpoint usage other than PullOnly, PushOnly and All",
			`spec.usage: Unsupported value: "Sometimes": supported values: "PullOnly", "PushOnly", "All"`,
			func(r *row) error {
				return r.tryEndpoint(arcv1.EndpointSpec{Type: "oci", RemoteURL: "registry.example", Usage: "Sometimes"})
			}),
		unresolvedArtifact("an artifact whose source Endpoint does not exist waits with EndpointNotFound",
			nil, bad{src: "missing"},
			"EndpointNotFound", `source Endpoint "missing" not found in namespace "{ns}"`),
		unresolvedArtifact("an artifact whose destination Endpoint does not exist waits with EndpointNotFound",
			nil, bad{dst: "missing"},
			"EndpointNotFound", `destination Endpoint "missing" not found in namespace "{ns}"`),
		unresolvedArtifact("a PushOnly Endpoint as source waits with EndpointUsageViolation",
			func(r *row) { r.createEndpoint("push-only", "oci", "push.example", arcv1.EndpointUsagePushOnly, "") },
			bad{src: "push-only"},
			"EndpointUsageViolation", `Endpoint "push-only" has usage PushOnly and cannot be a source`),
		unresolvedArtifact("a PullOnly Endpoint as destination waits with EndpointUsageViolation",
			nil, bad{dst: "src"},
			"EndpointUsageViolation", `Endpoint "src" has usage PullOnly and cannot be a destination`),
		unresolvedArtifact("an Endpoint reference that is no object name waits with EndpointNotFound",
			nil, bad{src: "../Other Namespace/src"},
			"EndpointNotFound", `source Endpoint "../Other Namespace/src" not found in namespace "{ns}"`),
		unresolvedArtifact("an Endpoint whose Secret does not exist waits with SecretNotFound",
			func(r *row) {
				r.createEndpoint("locked", "oci", "locked.example", arcv1.EndpointUsagePushOnly, "absent-creds")
			},
			bad{dst: "locked"},
			"SecretNotFound", `Secret "absent-creds" of destination Endpoint "locked" not found in namespace "{ns}"`),
		reportedOnArtifactWorkflow("an Endpoint type the artifact type does not accept is a RuleViolation without Workflow",
			func(r *row) { r.createEndpoint("charts", "helm", "charts.example", arcv1.EndpointUsagePushOnly, "") },
			bad{dst: "charts"},
			"RuleViolation", `destination Endpoint type "helm" is not accepted by type "copy" (accepts: oci)`),
		{
			name: "an Endpoint edited to a type the artifact type refuses after its work started leaves that work alone",
			setup: func(r *row) {
				r.createEndpoint("shifty", "oci", "shifty.example", arcv1.EndpointUsagePushOnly, "")
				r.createOrder(orderName, r.artifact(bad{dst: "shifty"}))
			},
			expect: func(r *row) {
				before := r.waitEntryWithWorkflow(1)
				wf, err := s.argo.ArgoprojV1alpha1().Workflows(r.ns).Get(r.ctx(), before, metav1.GetOptions{})
				require.NoError(r.t, err)
				ep, err := s.arc.ArcV1alpha1().Endpoints(r.ns).Get(r.ctx(), "shifty", metav1.GetOptions{})
				require.NoError(r.t, err)
				ep.Spec.Type = "helm"
				_, err = s.arc.ArcV1alpha1().Endpoints(r.ns).Update(r.ctx(), ep, metav1.UpdateOptions{})
				require.NoError(r.t, err)
				// Started work finishes with what it started with: the same
				// ArtifactWorkflow and Workflow, no RuleViolation.
				order := r.waitOrder(r.order, "artifact 1 finished", func(o *arcv1.Order) (bool, string) {
					e, ok := entryFor(o, 1)
					return ok && e.Phase.Finished(), fmt.Sprintf("entry 1: %+v", e)
				})
				entry := r.mustEntry(order, 1)
				assert.Equal(r.t, before, entry.Name, "the artifact keeps its ArtifactWorkflow")
				assert.Equal(r.t, arcv1.WorkflowPhaseSucceeded, entry.Phase, entry.Message)
				after, err := s.argo.ArgoprojV1alpha1().Workflows(r.ns).Get(r.ctx(), before, metav1.GetOptions{})
				require.NoError(r.t, err)
				assert.Equal(r.t, wf.UID, after.UID, "the running Workflow was not replaced")
				aw, err := s.arc.ArcV1alpha1().ArtifactWorkflows(r.ns).Get(r.ctx(), before, metav1.GetOptions{})
				require.NoError(r.t, err)
				ready := conditionOf(aw.Status.Conditions, arcv1.ConditionReady)
				require.NotNil(r.t, ready)
				assert.NotEqual(r.t, "RuleViolation", ready.Reason)
			},
		},

		// ------------------------------------------------ Secret
		{
			name: "a Secret deleted after its artifact succeeded leaves the finished Order Succeeded",
			setup: func(r *row) {
				r.createSecret("vault-creds")
				r.createEndpoint("vault", "oci", "vault.example", arcv1.EndpointUsagePushOnly, "vault-creds")
				r.createOrder(orderName, r.artifact(bad{dst: "vault"}))
			},
			expect: func(r *row) {
				r.waitOrderPhase(orderName, arcv1.OrderPhaseSucceeded)
				since := r.logOffset()
				require.NoError(r.t, s.kube.CoreV1().Secrets(r.ns).Delete(r.ctx(), "vault-creds", metav1.DeleteOptions{}))
				r.waitSynced("order", orderName, since)
				r.expectStillSucceeded(orderName, 2)
			},
			afterMinute: func(r *row) { r.expectStillSucceeded(orderName, 2) },
		},

		// ------------------------------------------------ ArtifactType and ClusterArtifactType
		unresolvedArtifact("an artifact of a type that exists nowhere waits with TypeNotFound",
			nil, bad{typ: "nowhere"},
			"TypeNotFound", `no ArtifactType "nowhere" in namespace "{ns}" and no ClusterArtifactType "nowhere"`),
		unresolvedArtifact("a ClusterArtifactType whose namespaceSelector does not select the namespace waits with TypeNotOffered",
			func(r *row) {
				r.createClusterArtifactType("{ns}-unoffered", &metav1.LabelSelector{MatchLabels: map[string]string{"arc-e2e/offered": r.ns}})
			},
			bad{typ: "{ns}-unoffered"},
			"TypeNotOffered", `ClusterArtifactType "{ns}-unoffered" is not offered to namespace "{ns}" (its namespaceSelector does not select it)`),
		unresolvedArtifact("a namespaced ArtifactType shadowing a ClusterArtifactType offered to the namespace waits with TypeAmbiguous",
			func(r *row) {
				r.createClusterArtifactType("{ns}-shadowed", &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: r.ns}})
				r.createArtifactType(r.expand("{ns}-shadowed"), copyType())
			},
			bad{typ: "{ns}-shadowed"},
			"TypeAmbiguous", `both ArtifactType "{ns}-shadowed" of namespace "{ns}" and ClusterArtifactType "{ns}-shadowed" exist; a namespaced type may not shadow a cluster-wide one: rename the ArtifactType`),
		unresolvedArtifact("a ClusterArtifactType whose namespaceSelector does not parse waits with InvalidType",
			func(r *row) {
				r.createClusterArtifactType("{ns}-badselector", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: "tier", Operator: "Bogus", Values: []string{"gold"}},
				}})
			},
			bad{typ: "{ns}-badselector"},
			"InvalidType", `ClusterArtifactType "{ns}-badselector" has an invalid namespaceSelector: "Bogus" is not a valid label selector operator`),
		refused("the API server refuses a namespaced ArtifactType that uses a ClusterWorkflowTemplate",
			`spec: Invalid value: "object": a namespaced ArtifactType may only use a WorkflowTemplate of its own namespace: workflowTemplateRef.clusterScope cannot be true; ask a cluster admin for a ClusterArtifactType to use a ClusterWorkflowTemplate`,
			func(r *row) error {
				_, err := s.arc.ArcV1alpha1().ArtifactTypes(r.ns).Create(r.ctx(), &arcv1.ArtifactType{
					ObjectMeta: metav1.ObjectMeta{Name: "reaching"},
					Spec:       arcv1.ArtifactTypeSpec{WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: templateSingleStep, ClusterScope: true}},
				}, metav1.CreateOptions{})
				return err
			}),
		refused("the API server refuses a ClusterArtifactType with clusterScope false",
			`spec: Invalid value: "object": a ClusterArtifactType always uses a ClusterWorkflowTemplate: workflowTemplateRef.clusterScope cannot be false`,
			func(r *row) error {
				name := r.expand("{ns}-local")
				r.deleteClusterArtifactTypeLater(name)
				_, err := s.dyn.Resource(clusterArtifactTypeGVR).Create(r.ctx(), &unstructured.Unstructured{Object: map[string]interface{}{
					"apiVersion": arcv1.SchemeGroupVersion.String(),
					"kind":       "ClusterArtifactType",
					"metadata":   map[string]interface{}{"name": name},
					"spec": map[string]interface{}{
						"workflowTemplateRef": map[string]interface{}{"name": templateSingleStep, "clusterScope": false},
					},
				}}, metav1.CreateOptions{})
				return err
			}),
		refused("the API server refuses a type parameter name with a dot",
			`spec.parameters[0].name: Invalid value: "scan.severity": spec.parameters[0].name in body should match '^[-a-zA-Z0-9_]+$'`,
			func(r *row) error {
				return r.tryArtifactType("dotted", func(spec *arcv1.ArtifactTypeSpec) {
					spec.Parameters = []arcv1.Parameter{{Name: "scan.severity", Value: "HIGH"}}
				})
			}),
		refused("the API server refuses a type parameter name of 129 characters",
			`spec.parameters[0].name: Too long: may not be more than 128 bytes`,
			func(r *row) error {
				return r.tryArtifactType("wordy", func(spec *arcv1.ArtifactTypeSpec) {
					spec.Parameters = []arcv1.Parameter{{Name: strings.Repeat("p", 129), Value: "x"}}
				})
			}),
		refused("the API server refuses a type with 129 parameters",
			`spec.parameters: Too many: 129: must have at most 128 items`,
			func(r *row) error {
				return r.tryArtifactType("crowded", func(spec *arcv1.ArtifactTypeSpec) {
					for i := range 129 {
						spec.Parameters = append(spec.Parameters, arcv1.Parameter{Name: fmt.Sprintf("p%03d", i), Value: "x"})
					}
				})
			}),
		refused("the API server refuses a type that names no workflow template",
			`spec.workflowTemplateRef.name: Invalid value: "": spec.workflowTemplateRef.name in body should be at least 1 chars long`,
			func(r *row) error {
				return r.tryArtifactType("templateless", func(spec *arcv1.ArtifactTypeSpec) { spec.WorkflowTemplateRef.Name = "" })
			}),
		refused("the API server refuses an ArtifactType name of 254 characters",
			`metadata.name: Invalid value: "`+exactName(254)+`": must be no more than 253 characters`,
			func(r *row) error { return r.tryArtifactType(exactName(254), nil) }),
		refused("the API server refuses a specSchema that is not an object",
			`spec.specSchema: Invalid value: "string": spec.specSchema in body must be of type object: "string"`,
			func(r *row) error {
				_, err := s.dyn.Resource(artifactTypeGVR).Namespace(r.ns).Create(r.ctx(), &unstructured.Unstructured{Object: map[string]interface{}{
					"apiVersion": arcv1.SchemeGroupVersion.String(),
					"kind":       "ArtifactType",
					"metadata":   map[string]interface{}{"name": "stringly"},
					"spec": map[string]interface{}{
						"workflowTemplateRef": map[string]interface{}{"name": templateSingleStep},
						"specSchema":          `{"type":"object"}`,
					},
				}}, metav1.CreateOptions{})
				return err
			}),
		unusableSchema("a specSchema that is not structural waits with InvalidType",
			`{"type":"object","properties":{"image":{"maxLength":5}}}`,
			`specSchema.properties[image].type: Required value: must not be empty for specified object fields`),
		unusableSchema("a specSchema with CEL rules waits with InvalidType instead of ignoring them",
			`{"type":"object","properties":{"image":{"type":"string"}},"x-kubernetes-validations":[{"rule":"self.image != ''"}]}`,
			`specSchema.x-kubernetes-validations: Forbidden: x-kubernetes-validations (CEL rules) are not supported in specSchema and would not be enforced; express the constraint with type, enum, pattern, format, minimum/maximum, min/maxLength, min/maxItems or required`),
		unusableSchema("a specSchema with additionalProperties beside properties waits with InvalidType",
			`{"type":"object","properties":{"image":{"type":"string"}},"additionalProperties":{"type":"string"}}`,
			`specSchema.additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`),
		unusableSchema("a specSchema whose top level is not an object waits with InvalidType",
			`{"type":"string"}`,
			`specSchema.type: Unsupported value: "string": supported values: "object"`),
		reportedInArgo("an artifact type whose WorkflowTemplate does not exist fails with Argo's message",
			func(r *row) {
				r.createArtifactType("orphan", arcv1.ArtifactTypeSpec{WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: "absent-template"}})
			},
			bad{typ: "orphan"}, arcv1.WorkflowPhaseError, "WorkflowError", `"absent-template" not found`),
		reportedInArgo("an artifact type whose step fails fails with the step's message",
			func(r *row) { r.createArtifactType("doomed", simpleType(templateFail)) },
			bad{typ: "doomed"}, arcv1.WorkflowPhaseFailed, "WorkflowFailed", "failed"),

		// ------------------------------------------------ Order and its artifacts
		refused("the API server refuses an Order without artifacts",
			`spec.artifacts: Invalid value: 0: spec.artifacts in body should have at least 1 items`,
			func(r *row) error { return r.tryOrder("empty", []arcv1.OrderArtifact{}) }),
		refused("the API server refuses an Order of 1001 artifacts",
			`spec.artifacts: Too many: 1001: must have at most 1000 items`,
			func(r *row) error {
				artifacts := make([]arcv1.OrderArtifact, arcv1.MaxArtifactsPerOrder+1)
				for i := range artifacts {
					artifacts[i] = arcv1.OrderArtifact{Type: "copy", Spec: rawSpec(fmt.Sprintf(`{"image":"library/app%d:1.0"}`, i))}
				}
				return r.tryOrder("huge", artifacts)
			}),
		refused("the API server refuses an artifact without srcRef in an Order without defaults.srcRef",
			`spec: Invalid value: "object": every artifact needs a srcRef, or the Order needs spec.defaults.srcRef`,
			func(r *row) error {
				_, err := s.arc.ArcV1alpha1().Orders(r.ns).Create(r.ctx(), &arcv1.Order{
					ObjectMeta: metav1.ObjectMeta{Name: "sourceless"},
					Spec: arcv1.OrderSpec{
						Defaults:  &arcv1.OrderDefaults{DstRef: ref("dst")},
						Artifacts: []arcv1.OrderArtifact{{Type: "copy", Spec: rawSpec(badSpec)}},
					},
				}, metav1.CreateOptions{})
				return err
			}),
		refused("the API server refuses an Order name of 254 characters",
			`metadata.name: Invalid value: "`+exactName(254)+`": must be no more than 253 characters`,
			func(r *row) error {
				return r.tryOrder(exactName(254), []arcv1.OrderArtifact{{Type: "copy", Spec: rawSpec(badSpec)}})
			}),
		refused("the API server refuses an artifact type name of 254 characters",
			`spec.artifacts[0].type: Too long: may not be more than 253 bytes`,
			func(r *row) error {
				return r.tryOrder("long-type", []arcv1.OrderArtifact{{Type: long254, Spec: rawSpec(badSpec)}})
			}),
		refused("the API server refuses an artifact spec that is an array",
			`spec.artifacts[0].spec: Invalid value: "array": spec.artifacts[0].spec in body must be of type object: "array"`,
			func(r *row) error { return r.tryOrderWithRawSpec([]interface{}{"library/bad:1.0"}) }),
		refused("the API server refuses an artifact spec that is a string",
			`spec.artifacts[0].spec: Invalid value: "string": spec.artifacts[0].spec in body must be of type object: "string"`,
			func(r *row) error { return r.tryOrderWithRawSpec("library/bad:1.0") }),
		{
			name: "an artifact beyond the namespace's ArtifactWorkflow quota waits with the quota's refusal and backs off",
			setup: func(r *row) {
				r.createQuota("aw-quota", "count/artifactworkflows.arc.opendefense.cloud")
				r.createOrder(orderName, r.artifact(bad{}))
			},
			expect: func(r *row) { r.expectUnresolvedContaining(1, "exceeded quota: aw-quota") },
			budget: &backoffBudget,
		},
		{
			name: "a Workflow beyond the namespace's Workflow quota is reported on its ArtifactWorkflow and backs off",
			setup: func(r *row) {
				r.createQuota("wf-quota", "count/workflows.argoproj.io")
				r.createOrder(orderName)
			},
			expect: func(r *row) {
				r.waitGoodArtifact()
				r.fixture.createOrder(&arcv1.Order{
					ObjectMeta: metav1.ObjectMeta{Name: "beyond"},
					Spec: arcv1.OrderSpec{
						Defaults:  &arcv1.OrderDefaults{SrcRef: ref("src"), DstRef: ref("dst")},
						Artifacts: []arcv1.OrderArtifact{r.artifact(bad{})},
					},
				})
				var entry arcv1.OrderArtifactWorkflowStatus
				r.waitOrder("beyond", "artifact 0 says why it has no Workflow", func(o *arcv1.Order) (bool, string) {
					entry, _ = entryFor(o, 0)
					return strings.Contains(entry.Message, "exceeded quota: wf-quota"), fmt.Sprintf("entry 0: %+v", entry)
				})
				aw := r.waitArtifactWorkflow(entry.Name, "Ready False with the quota's refusal", func(aw *arcv1.ArtifactWorkflow) (bool, string, error) {
					ready := conditionOf(aw.Status.Conditions, arcv1.ConditionReady)
					return ready != nil && ready.Status == metav1.ConditionFalse && ready.Reason != "" && ready.Message == entry.Message,
						fmt.Sprintf("Ready %+v", ready), nil
				})
				reason := conditionOf(aw.Status.Conditions, arcv1.ConditionReady).Reason
				ev := r.waitEvent("ArtifactWorkflow", aw.Name, corev1.EventTypeWarning, reason)
				assert.Equal(r.t, entry.Message, ev.Message, "the Warning event")
				r.expectOneWarning("ArtifactWorkflow", aw.Name, reason)
			},
			budget: &backoffBudget,
		},
		{
			name: "an Order named with 253 characters runs its good artifact and reports its bad one",
			setup: func(r *row) {
				r.order = exactName(253)
				r.createOrder(r.order, r.artifact(bad{src: "missing"}))
			},
			expect: func(r *row) {
				r.expectUnresolved(1, "EndpointNotFound", r.expand(`source Endpoint "missing" not found in namespace "{ns}"`))
				name := r.waitGoodArtifact()
				assert.LessOrEqual(r.t, len(name), 63, "the ArtifactWorkflow name %s", name)
				assert.Empty(r.t, validation.IsDNS1123Label(name), "the ArtifactWorkflow name %s is a DNS-1123 label", name)
			},
		},
		{
			name: "identical artifacts share one ArtifactWorkflow and are no error",
			setup: func(r *row) {
				dup := r.artifact(bad{spec: `{"image":"library/twice:1.0"}`})
				r.createOrder(orderName, dup, dup)
			},
			expect: func(r *row) {
				order := r.waitOrderPhase(orderName, arcv1.OrderPhaseSucceeded)
				entry := r.mustEntry(order, 1)
				assert.Equal(r.t, []int32{2}, entry.DuplicateIndices)
				assert.Len(r.t, order.Status.ArtifactWorkflows, 2)
				assert.Empty(r.t, order.Status.UnresolvedArtifacts)
				assert.Equal(r.t, [2]int32{3, 3}, [2]int32{order.Status.Total, order.Status.Succeeded}, "total, succeeded")
				assert.Empty(r.t, r.warnings("Order", orderName), "no Warning events")
			},
		},

		// ------------------------------------------------ artifact specs
		schemaViolation("a spec breaking its schema's pattern waits with InvalidSpec",
			`{"image":"alpine:3.18;reboot"}`,
			`spec.image: Invalid value: "alpine:3.18;reboot": spec.image in body should match '^[a-z0-9][a-z0-9./:-]*$'`),
		schemaViolation("a spec missing a field its schema requires waits with InvalidSpec",
			`{"tier":"gold"}`,
			`spec.image: Required value`),
		schemaViolation("a spec value outside its schema's enum waits with InvalidSpec",
			`{"image":"alpine","tier":"bronze"}`,
			`spec.tier: Unsupported value: "bronze": supported values: "gold", "silver"`),
		schemaViolation("a spec key its schema does not declare waits with InvalidSpec",
			`{"image":"alpine","extra":"; rm -rf /"}`,
			`spec.extra: Forbidden: field not declared in schema`),
		schemaViolation("a spec value of the wrong type waits with InvalidSpec",
			`{"image":"alpine","replicas":"three"}`,
			`spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"`),
		schemaViolation("a spec value over its schema's maxLength waits with InvalidSpec",
			`{"image":"`+strings.Repeat("a", 41)+`"}`,
			`spec.image: Too long: may not be more than 40 bytes`),
		flattening("spec keys that flatten to the same parameter name wait with InvalidSpec",
			`{"a":{"b":"1"},"aB":"2"}`,
			`spec.aB: flattens to the parameter name "specAB", as spec.a.b does; rename one of them`),
		flattening("a spec nested 17 levels deep waits with InvalidSpec",
			strings.Repeat(`{"a":`, 17)+`"deep"`+strings.Repeat(`}`, 17),
			`spec`+strings.Repeat(".a", 16)+`: nests objects and arrays more than 16 levels deep`),
		flattening("a spec key that flattens to a parameter name of 204 characters waits with InvalidSpec",
			`{"`+strings.Repeat("k", 200)+`":"v"}`,
			`spec.`+strings.Repeat("k", 64)+`...: flattens to a parameter name of 204 characters, more than the 128 allowed`),
		flattening("a spec key with a dot waits with InvalidSpec",
			`{"image.tag":"3.18"}`,
			`spec: key "image.tag" holds characters a workflow parameter name cannot hold (letters, digits, '-' and '_' only)`),
		flattening("a spec with an empty key waits with InvalidSpec",
			`{"":"x"}`,
			`spec: holds an empty key, which cannot become part of a parameter name`),
		flattening("a spec of 377 values waits with InvalidSpec",
			manyKeys(parameters.MaxParameters+1),
			fmt.Sprintf(`spec: flattens into more than %d parameters`, parameters.MaxParameters)),
		// The Endpoints' parameters take 93 bytes (see endpointParameterBytes).
		unresolvedArtifact("a spec over the parameter byte bound waits with ParametersTooLarge",
			nil, bad{spec: `{"blob":"` + strings.Repeat("x", 33000) + `"}`},
			"ParametersTooLarge", fmt.Sprintf(`the artifact's parameters (spec, Endpoints and type together) take %d bytes, more than the 32768 allowed`,
				endpointParameterBytes+len("specBlob")+33000)),
		unresolvedArtifact("a type whose parameters push an artifact over the byte bound waits with ParametersTooLarge",
			func(r *row) {
				spec := copyType()
				spec.Parameters = []arcv1.Parameter{{Name: "blob", Value: strings.Repeat("x", 33000)}}
				r.createArtifactType("heavy", spec)
			},
			bad{typ: "heavy"},
			"ParametersTooLarge", fmt.Sprintf(`the artifact's parameters (spec, Endpoints and type together) take %d bytes, more than the 32768 allowed`,
				endpointParameterBytes+len("specImage")+len("library/bad:1.0")+len("blob")+33000)),

		// ------------------------------------------------ ArtifactWorkflow and Workflow
		{
			name: "the API server refuses a hand-written ArtifactWorkflow with a parameter name Argo cannot take",
			setup: func(r *row) {
				r.createOrder(orderName)
				err := r.tryArtifactWorkflow("dotted", []arcv1.Parameter{{Name: "spec.image", Value: "x"}})
				r.expectRefused(err, `spec.parameters[0].name: Invalid value: "spec.image": spec.parameters[0].name in body should match '^[-a-zA-Z0-9_]+$'`)
			},
		},
		{
			name: "the API server refuses a hand-written ArtifactWorkflow of 513 parameters",
			setup: func(r *row) {
				r.createOrder(orderName)
				params := make([]arcv1.Parameter, arcv1.MaxWorkflowParameters+1)
				for i := range params {
					params[i] = arcv1.Parameter{Name: fmt.Sprintf("p%03d", i), Value: "x"}
				}
				r.expectRefused(r.tryArtifactWorkflow("bloated", params), `spec.parameters: Too many: 513: must have at most 512 items`)
			},
		},
		{
			name: "a hand-written ArtifactWorkflow without an Order is reported Untrusted once and gets no Workflow",
			setup: func(r *row) {
				r.createOrder(orderName)
				r.recordWorkflows()
				r.createHandWrittenArtifactWorkflow("stray", "copy", nil)
			},
			expect: func(r *row) {
				const msg = "ARC acts only on ArtifactWorkflows that an Order controls; this one has no Order as its controller, so no Workflow is created for it: create an Order instead"
				r.expectArtifactWorkflowReport("stray", "Untrusted", msg)
			},
			afterMinute: func(r *row) { r.expectNoWorkflowEver("stray") },
		},
		{
			name: "a hand-written ArtifactWorkflow claiming a live Order as its controller gets no Workflow and is removed",
			setup: func(r *row) {
				order := r.createOrder(orderName)
				r.createSecret("prod-push-creds")
				// The OCI pipeline mounts the source Secret in its first step.
				r.createArtifactType("pipeline", simpleType(templateOCI))
				r.recordWorkflows()
				r.recordSecretMounts()
				r.createHandWrittenArtifactWorkflow("forged", "pipeline", metav1.NewControllerRef(order, arcv1.SchemeGroupVersion.WithKind("Order")))
			},
			expect: func(r *row) {
				r.artifactWorkflowGone("forged")
				r.waitEvent("Order", orderName, corev1.EventTypeNormal, "Deleted")
				r.expectNoWorkflowEver("forged")
			},
			afterMinute: func(r *row) {
				r.expectNoWorkflowEver("forged")
				r.expectNoSecretMounted("prod-push-creds")
			},
		},
		{
			name: "an ArtifactWorkflow edited by hand is restored by its Order and its Workflow keeps the original credentials",
			setup: func(r *row) {
				r.createSecret("prod-push-creds")
				r.createOrder(orderName, r.artifact(bad{spec: `{"image":"library/target:1.0"}`}))
			},
			expect: func(r *row) {
				name := r.waitEntryWithWorkflow(1)
				aw, err := s.arc.ArcV1alpha1().ArtifactWorkflows(r.ns).Get(r.ctx(), name, metav1.GetOptions{})
				require.NoError(r.t, err)
				original := aw.Spec.DeepCopy()
				aw.Spec.DstSecretRef = ref("prod-push-creds")
				aw.Spec.Parameters = append(aw.Spec.Parameters, arcv1.Parameter{Name: "zInjected", Value: "x"})
				edited, err := s.arc.ArcV1alpha1().ArtifactWorkflows(r.ns).Update(r.ctx(), aw, metav1.UpdateOptions{})
				require.NoError(r.t, err)
				r.waitArtifactWorkflow(name, "spec restored", func(aw *arcv1.ArtifactWorkflow) (bool, string, error) {
					return aw.Generation > edited.Generation && assert.ObjectsAreEqual(*original, aw.Spec), "", nil
				})
				wf, err := s.argo.ArgoprojV1alpha1().Workflows(r.ns).Get(r.ctx(), name, metav1.GetOptions{})
				require.NoError(r.t, err)
				params := r.workflowParameters(wf)
				assert.Equal(r.t, "dst-creds", params[workflowbuilder.DstSecretNameParameter])
				assert.NotContains(r.t, params, "zInjected")
				// The quiet minute that follows must not see the Workflow
				// finish: its result is written once, as for any artifact.
				r.waitOrderPhase(orderName, arcv1.OrderPhaseSucceeded)
			},
		},
		{
			name: "a foreign Workflow of the wanted name is left alone and reported as WorkflowConflict",
			setup: func(r *row) {
				// ArtifactWorkflow names hold the Order's UID: the Order
				// comes first, suspended so that its Workflow waits, then
				// the foreign Workflow takes the name, then the Order resumes.
				order := r.createOrderSuspended(orderName, r.artifact(bad{}))
				r.vars["{aw}"] = artifactWorkflowName(order, r.artifact(bad{}))
				_, err := s.argo.ArgoprojV1alpha1().Workflows(r.ns).Create(r.ctx(), &wfv1.Workflow{
					ObjectMeta: metav1.ObjectMeta{Name: r.expand("{aw}")},
					Spec: wfv1.WorkflowSpec{
						WorkflowTemplateRef: &wfv1.WorkflowTemplateRef{Name: templateSingleStep},
						Arguments: wfv1.Arguments{Parameters: []wfv1.Parameter{
							{Name: "srcRemoteURL", Value: wfv1.AnyStringPtr("foreign.example")},
							{Name: "dstRemoteURL", Value: wfv1.AnyStringPtr("foreign.example")},
						}},
					},
				}, metav1.CreateOptions{})
				require.NoError(r.t, err, "creating the foreign Workflow")
				// A patch: ARC writes the Order's status meanwhile.
				_, err = s.arc.ArcV1alpha1().Orders(r.ns).Patch(r.ctx(), orderName, types.MergePatchType,
					[]byte(`{"spec":{"suspend":false}}`), metav1.PatchOptions{})
				require.NoError(r.t, err, "resuming the Order")
			},
			expect: func(r *row) {
				r.expectOnArtifactWorkflow(1, "WorkflowConflict", r.expand(
					`a Workflow named "{aw}" exists and is not controlled by this ArtifactWorkflow; ARC leaves it alone and creates its own once it is gone`))
				wf, err := s.argo.ArgoprojV1alpha1().Workflows(r.ns).Get(r.ctx(), r.expand("{aw}"), metav1.GetOptions{})
				require.NoError(r.t, err)
				assert.Empty(r.t, wf.OwnerReferences, "ARC did not take the foreign Workflow over")
			},
			// ARC looks again every 30 s (conflictRecheck): a create and a get
			// each time. The minute must see at least one such look: that
			// proves the count sees ARC's work at all.
			budget: &workBudget{syncs: 3, requests: 6, writes: 3, events: 0, minSyncs: 1},
		},
	}
}

// ---------------------------------------------------------------- row kinds

// bad describes a row's bad artifact: type "copy", spec badSpec, and the
// Order's default Endpoints, unless set. {ns} in typ is the namespace.
type bad struct{ typ, spec, src, dst string }

// refused is a row whose input the API server refuses with want in its
// message; the good artifact is alone in its Order.
func refused(name, want string, try func(r *row) error) badInput {
	return badInput{name: name, setup: func(r *row) {
		r.createOrder(orderName)
		r.expectRefused(try(r), want)
	}}
}

// unresolvedArtifact is a row whose artifact ARC cannot start: the Order
// lists it with reason and message and says so in a Warning event.
func unresolvedArtifact(name string, prepare func(r *row), b bad, reason, message string) badInput {
	return badInput{
		name: name,
		setup: func(r *row) {
			if prepare != nil {
				prepare(r)
			}
			r.createOrder(orderName, r.artifact(b))
		},
		expect: func(r *row) { r.expectUnresolved(1, reason, r.expand(message)) },
	}
}

// reportedOnArtifactWorkflow is a row whose artifact gets an
// ArtifactWorkflow but no Workflow: its Ready condition, a Warning event
// and the Order's entry carry reason and message.
func reportedOnArtifactWorkflow(name string, prepare func(r *row), b bad, reason, message string) badInput {
	in := unresolvedArtifact(name, prepare, b, "", "")
	in.expect = func(r *row) {
		name := r.expectOnArtifactWorkflow(1, reason, r.expand(message))
		r.expectNoWorkflowNow(name)
	}
	return in
}

// reportedInArgo is a row whose Workflow Argo ends in phase: Argo's message,
// which holds fragment, reaches the ArtifactWorkflow, a Warning event with
// reason and the Order's entry.
func reportedInArgo(name string, prepare func(r *row), b bad, phase arcv1.WorkflowPhase, reason, fragment string) badInput {
	in := unresolvedArtifact(name, prepare, b, "", "")
	in.expect = func(r *row) {
		order := r.waitOrder(r.order, "artifact 1 finished", func(o *arcv1.Order) (bool, string) {
			e, ok := entryFor(o, 1)
			return ok && e.Phase.Finished(), fmt.Sprintf("entry 1: %+v", e)
		})
		entry := r.mustEntry(order, 1)
		wf, err := s.argo.ArgoprojV1alpha1().Workflows(r.ns).Get(r.ctx(), entry.Name, metav1.GetOptions{})
		require.NoError(r.t, err)
		assert.Contains(r.t, wf.Status.Message, fragment, "Argo's message")
		// What ARC reports: Argo's message, or the failed step's.
		want := controller.WorkflowMessage(wf)
		aw := r.expectArtifactWorkflowReport(entry.Name, reason, want)
		assert.Equal(r.t, phase, aw.Status.Phase)
		r.waitOrder(r.order, "Failed, with Argo's message in artifact 1's entry", func(o *arcv1.Order) (bool, string) {
			e, _ := entryFor(o, 1)
			return o.Status.Phase == arcv1.OrderPhaseFailed && e.Message == want, fmt.Sprintf("entry 1: %+v", e)
		})
	}
	return in
}

// ---------------------------------------------------------------- rows

// row is one row at work: its namespace (with the fixture's helpers) and
// what its steps share.
type row struct {
	*fixture
	*rowState
}

type rowState struct {
	// parent is TestBadInput: the namespace and cluster-scoped objects live
	// until it ends, after the quiet step.
	parent *testing.T
	// order holds the good artifact at index 0.
	order string
	// vars are the placeholders of expand.
	vars map[string]string
	// workflows and secretMounts record the Workflows created in the
	// namespace and the Secrets its Pods mount, when a row asks for them.
	workflows, secretMounts *creations
	// observed tells that the row's setup succeeded, so the minute
	// observes its namespace.
	observed bool
	// work is what ARC did in the namespace during the minute.
	work workCount
}

// newRow creates the row's namespace with what every row's good artifact
// needs: the Endpoints src (oci, PullOnly) and dst (oci, PushOnly, Secret
// dst-creds) and the ArtifactType copy (oci to oci, one step).
func newRow(t *testing.T, parent *testing.T, logPath string) *row {
	t.Helper()
	f := createNamespace(t, "bad", func(f *fixture) {
		parent.Cleanup(func() {
			if err := deleteNamespace(context.Background(), f.ns); err != nil {
				parent.Log(err)
			}
		})
	})
	f.controllerLog, f.waitTimeout = logPath, corpusTimeout
	t.Cleanup(func() {
		if t.Failed() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			f.dump(ctx)
		}
	})
	r := &row{fixture: f, rowState: &rowState{parent: parent, order: orderName, vars: map[string]string{"{ns}": f.ns}}}
	r.createSecret("dst-creds")
	r.createEndpoint("src", "oci", "src.example", arcv1.EndpointUsagePullOnly, "")
	r.createEndpoint("dst", "oci", "dst.example", arcv1.EndpointUsagePushOnly, "dst-creds")
	r.createArtifactType("copy", copyType())
	return r
}

// in returns the row for another step's test.
func (r *row) in(t *testing.T) *row {
	f := &fixture{t: t, ns: r.ns, controllerLog: r.controllerLog, waitTimeout: corpusTimeout}
	t.Cleanup(func() {
		if t.Failed() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			f.dump(ctx)
		}
	})
	return &row{fixture: f, rowState: r.rowState}
}

// copyType is the good artifact's type: oci to oci, one step.
func copyType() arcv1.ArtifactTypeSpec {
	spec := simpleType(templateSingleStep)
	spec.Rules = arcv1.ArtifactTypeRules{SrcTypes: []string{"oci"}, DstTypes: []string{"oci"}}
	return spec
}

// endpointParameterBytes is what the Endpoints src and dst add to an
// artifact's parameters: dstRemoteURL=dst.example, dstSecret=true,
// dstType=oci, srcRemoteURL=src.example, srcSecret=false, srcType=oci.
const endpointParameterBytes = 23 + 13 + 10 + 23 + 14 + 10

func (r *row) expand(s string) string {
	for k, v := range r.vars {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

func (r *row) artifact(b bad) arcv1.OrderArtifact {
	a := arcv1.OrderArtifact{Type: cmpOr(r.expand(b.typ), "copy"), Spec: rawSpec(cmpOr(b.spec, badSpec))}
	if b.src != "" {
		a.SrcRef = ref(b.src)
	}
	if b.dst != "" {
		a.DstRef = ref(b.dst)
	}
	return a
}

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// createOrder creates an Order with the good artifact at index 0 and the
// given artifacts after it, with src and dst as defaults.
func (r *row) createOrder(name string, more ...arcv1.OrderArtifact) *arcv1.Order {
	r.t.Helper()
	return r.fixture.createOrder(r.orderOf(name, more))
}

// orderOf is the Order createOrder creates.
func (r *row) orderOf(name string, more []arcv1.OrderArtifact) *arcv1.Order {
	return &arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: arcv1.OrderSpec{
			Defaults:  &arcv1.OrderDefaults{SrcRef: ref("src"), DstRef: ref("dst")},
			Artifacts: append([]arcv1.OrderArtifact{{Type: "copy", Spec: rawSpec(goodSpec)}}, more...),
		},
	}
}

func (r *row) createSecret(name string) {
	r.t.Helper()
	_, err := s.kube.CoreV1().Secrets(r.ns).Create(r.ctx(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		StringData: map[string]string{"token": "not-a-real-token"},
	}, metav1.CreateOptions{})
	require.NoError(r.t, err, "creating Secret %s", name)
}

// createQuota creates a ResourceQuota that lets the namespace hold one
// object of the resource. The API server refuses every such object until
// the quota's status counts them; kube-controller-manager's resourcequota
// controller writes that status, and the row waits for it. The API
// server's quota admission then counts each object it admits.
func (r *row) createQuota(name, resource string) {
	r.t.Helper()
	hard := corev1.ResourceList{corev1.ResourceName(resource): k8sresource.MustParse("1")}
	_, err := s.kube.CoreV1().ResourceQuotas(r.ns).Create(r.ctx(), &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.ResourceQuotaSpec{Hard: hard},
	}, metav1.CreateOptions{})
	require.NoError(r.t, err, "creating ResourceQuota %s", name)
	r.fixture.waitFor("the quota controller to count ResourceQuota "+name, defaultTimeout, func(ctx context.Context) (bool, string, error) {
		q, err := s.kube.CoreV1().ResourceQuotas(r.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		_, counted := q.Status.Used[corev1.ResourceName(resource)]
		return counted, fmt.Sprintf("used %v", q.Status.Used), nil
	})
}

func (r *row) createArtifactTypeWithSchema(name, schema string) {
	r.t.Helper()
	spec := copyType()
	spec.SpecSchema = rawSpec(schema)
	r.createArtifactType(name, spec)
}

// createClusterArtifactType creates a ClusterArtifactType of the one-step
// template, deleted when TestBadInput ends; {ns} in name is the namespace.
func (r *row) createClusterArtifactType(name string, selector *metav1.LabelSelector) {
	r.t.Helper()
	name = r.expand(name)
	r.deleteClusterArtifactTypeLater(name)
	_, err := s.arc.ArcV1alpha1().ClusterArtifactTypes().Create(r.ctx(), &arcv1.ClusterArtifactType{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: arcv1.ClusterArtifactTypeSpec{
			ArtifactTypeSpec:  arcv1.ArtifactTypeSpec{WorkflowTemplateRef: arcv1.WorkflowTemplateRef{Name: templateSingleStep}},
			NamespaceSelector: selector,
		},
	}, metav1.CreateOptions{})
	require.NoError(r.t, err, "creating ClusterArtifactType %s", name)
}

func (r *row) deleteClusterArtifactTypeLater(name string) {
	r.parent.Cleanup(func() {
		err := s.arc.ArcV1alpha1().ClusterArtifactTypes().Delete(context.Background(), name, metav1.DeleteOptions{})
		if ignoreNotFound(err) != nil {
			r.parent.Logf("deleting ClusterArtifactType %s: %v", name, err)
		}
	})
}

// createHandWrittenArtifactWorkflow creates an ArtifactWorkflow of the type
// as a user could: with every parameter the e2e templates take, and the
// Secret prod-push-creds (which need not exist) as the credentials of both
// Endpoints.
func (r *row) createHandWrittenArtifactWorkflow(name, typ string, controller *metav1.OwnerReference) {
	r.t.Helper()
	aw := &arcv1.ArtifactWorkflow{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: arcv1.ArtifactWorkflowSpec{
			Type:         typ,
			SrcSecretRef: ref("prod-push-creds"),
			DstSecretRef: ref("prod-push-creds"),
			Parameters: []arcv1.Parameter{
				{Name: "dstRemoteURL", Value: "prod.example"}, {Name: "dstSecret", Value: "true"}, {Name: "dstType", Value: "oci"},
				{Name: "scanSeverity", Value: "LOW"}, {Name: "specImage", Value: "library/alpine:3.18"}, {Name: "specOverride", Value: "team/alpine:3.18"},
				{Name: "srcRemoteURL", Value: "prod.example"}, {Name: "srcSecret", Value: "true"}, {Name: "srcType", Value: "oci"},
			},
		},
	}
	if controller != nil {
		aw.OwnerReferences = []metav1.OwnerReference{*controller}
	}
	_, err := s.arc.ArcV1alpha1().ArtifactWorkflows(r.ns).Create(r.ctx(), aw, metav1.CreateOptions{})
	require.NoError(r.t, err, "creating ArtifactWorkflow %s", name)
}

// artifactWorkflowName is the name ARC gives the ArtifactWorkflow of an
// artifact of order that uses the Endpoints src and dst: it depends on the
// Order's UID and on what the artifact says, not on the Endpoints.
func artifactWorkflowName(order *arcv1.Order, a arcv1.OrderArtifact) string {
	name, _ := naming.ArtifactWorkflow(order.Name, string(order.UID), naming.ArtifactIdentity(a.Type, "src", "dst", a.Spec.Raw))
	return name
}

// createOrderSuspended is createOrder with spec.suspend set.
func (r *row) createOrderSuspended(name string, more ...arcv1.OrderArtifact) *arcv1.Order {
	r.t.Helper()
	order := r.orderOf(name, more)
	order.Spec.Suspend = true
	return r.fixture.createOrder(order)
}

// ---------------------------------------------------------------- refusals

func (r *row) expectRefused(err error, want string) {
	r.t.Helper()
	require.Error(r.t, err, "the API server must refuse it")
	assert.True(r.t, apierrors.IsInvalid(err), "want an Invalid error, got %v", err)
	assert.Contains(r.t, err.Error(), want)
}

func (r *row) tryEndpoint(spec arcv1.EndpointSpec) error {
	_, err := s.arc.ArcV1alpha1().Endpoints(r.ns).Create(r.ctx(), &arcv1.Endpoint{
		ObjectMeta: metav1.ObjectMeta{Name: "rejected"}, Spec: spec,
	}, metav1.CreateOptions{})
	return err
}

// tryArtifactType creates an ArtifactType of copyType, changed by edit.
func (r *row) tryArtifactType(name string, edit func(*arcv1.ArtifactTypeSpec)) error {
	spec := copyType()
	spec.WorkflowTemplateRef.ClusterScope = false
	if edit != nil {
		edit(&spec)
	}
	_, err := s.arc.ArcV1alpha1().ArtifactTypes(r.ns).Create(r.ctx(), &arcv1.ArtifactType{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec,
	}, metav1.CreateOptions{})
	return err
}

func (r *row) tryOrder(name string, artifacts []arcv1.OrderArtifact) error {
	_, err := s.arc.ArcV1alpha1().Orders(r.ns).Create(r.ctx(), &arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       arcv1.OrderSpec{Defaults: &arcv1.OrderDefaults{SrcRef: ref("src"), DstRef: ref("dst")}, Artifacts: artifacts},
	}, metav1.CreateOptions{})
	return err
}

// tryOrderWithRawSpec sends an Order whose one artifact's spec is any JSON
// value, which the typed client cannot.
func (r *row) tryOrderWithRawSpec(spec interface{}) error {
	_, err := s.dyn.Resource(orderGVR).Namespace(r.ns).Create(r.ctx(), &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": arcv1.SchemeGroupVersion.String(),
		"kind":       "Order",
		"metadata":   map[string]interface{}{"name": "shapeless"},
		"spec": map[string]interface{}{
			"defaults":  map[string]interface{}{"srcRef": map[string]interface{}{"name": "src"}, "dstRef": map[string]interface{}{"name": "dst"}},
			"artifacts": []interface{}{map[string]interface{}{"type": "copy", "spec": spec}},
		},
	}}, metav1.CreateOptions{})
	return err
}

func (r *row) tryArtifactWorkflow(name string, params []arcv1.Parameter) error {
	_, err := s.arc.ArcV1alpha1().ArtifactWorkflows(r.ns).Create(r.ctx(), &arcv1.ArtifactWorkflow{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       arcv1.ArtifactWorkflowSpec{Type: "copy", Parameters: params},
	}, metav1.CreateOptions{})
	return err
}

var (
	orderGVR        = arcv1.SchemeGroupVersion.WithResource("orders")
	artifactTypeGVR = arcv1.SchemeGroupVersion.WithResource("artifacttypes")
)

// exactName returns a valid object name (a DNS-1123 subdomain) of exactly n characters.
func exactName(n int) string {
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		label := min(63, n-b.Len())
		if rest := n - b.Len() - label; rest == 1 {
			label-- // no label may be empty: leave two characters for ".x"
		}
		b.WriteString(strings.Repeat("n", label))
	}
	return b.String()
}

// manyKeys returns a spec object of n string values.
func manyKeys(n int) string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf(`"k%03d":"v"`, i)
	}
	return "{" + strings.Join(keys, ",") + "}"
}

// ---------------------------------------------------------------- reports

// expectUnresolvedContaining is expectUnresolved for a message ARC copies
// from elsewhere: it must hold fragment, and the reason must be set.
func (r *row) expectUnresolvedContaining(index int32, fragment string) {
	r.t.Helper()
	order := r.waitOrder(r.order, fmt.Sprintf("artifact %d unresolved, with %q", index, fragment), func(o *arcv1.Order) (bool, string) {
		u, ok := unresolved(o, index)
		e, _ := entryFor(o, index)
		return ok && u.Reason != "" && strings.Contains(u.Message, fragment), fmt.Sprintf("unresolved %+v, entry %+v", u, e)
	})
	u, _ := unresolved(order, index)
	ev := r.waitEvent("Order", r.order, corev1.EventTypeWarning, u.Reason)
	assert.Equal(r.t, fmt.Sprintf("artifact %d: %s", index, u.Message), ev.Message, "the Warning event")
	r.expectOneWarning("Order", r.order, u.Reason)
}

// expectUnresolved checks the Order's entry for an artifact that cannot
// start, and its Warning event.
func (r *row) expectUnresolved(index int32, reason, message string) {
	r.t.Helper()
	order := r.waitOrder(r.order, fmt.Sprintf("artifact %d unresolved", index), func(o *arcv1.Order) (bool, string) {
		u, ok := unresolved(o, index)
		return ok, fmt.Sprintf("unresolved %+v", u)
	})
	u, _ := unresolved(order, index)
	assert.Equal(r.t, reason, u.Reason, "reason")
	assert.Equal(r.t, message, u.Message, "message")
	_, hasEntry := entryFor(order, index)
	assert.False(r.t, hasEntry, "an artifact that cannot start has no ArtifactWorkflow")
	ev := r.waitEvent("Order", r.order, corev1.EventTypeWarning, reason)
	assert.Equal(r.t, fmt.Sprintf("artifact %d: %s", index, message), ev.Message, "the Warning event")
	r.expectOneWarning("Order", r.order, reason)
}

// expectOnArtifactWorkflow checks what ARC reports on the ArtifactWorkflow
// of an artifact, and in the Order's entry, and returns its name.
func (r *row) expectOnArtifactWorkflow(index int32, reason, message string) string {
	r.t.Helper()
	var name string
	r.waitOrder(r.order, fmt.Sprintf("artifact %d reported %s", index, reason), func(o *arcv1.Order) (bool, string) {
		e, ok := entryFor(o, index)
		name = e.Name
		return ok && e.Message == message, fmt.Sprintf("entry %d: %+v", index, e)
	})
	r.expectArtifactWorkflowReport(name, reason, message)
	return name
}

// expectArtifactWorkflowReport checks the Ready condition of an
// ArtifactWorkflow and its Warning event.
func (r *row) expectArtifactWorkflowReport(name, reason, message string) *arcv1.ArtifactWorkflow {
	r.t.Helper()
	aw := r.waitArtifactWorkflow(name, "Ready "+reason, func(aw *arcv1.ArtifactWorkflow) (bool, string, error) {
		ready := conditionOf(aw.Status.Conditions, arcv1.ConditionReady)
		return ready != nil && ready.Reason == reason, fmt.Sprintf("Ready %+v", ready), nil
	})
	ready := conditionOf(aw.Status.Conditions, arcv1.ConditionReady)
	assert.Equal(r.t, metav1.ConditionFalse, ready.Status)
	assert.Equal(r.t, message, ready.Message, "Ready message")
	assert.Equal(r.t, message, aw.Status.Message, "status message")
	ev := r.waitEvent("ArtifactWorkflow", name, corev1.EventTypeWarning, reason)
	assert.Equal(r.t, message, ev.Message, "the Warning event")
	r.expectOneWarning("ArtifactWorkflow", name, reason)
	return aw
}

// expectOneWarning checks that ARC warned of the problem once, not again
// on every sync: each Warning of the reason counted once, none repeating
// another's message. (A row's problem can change while the controller's
// caches catch up with the row's set-up, for example "Endpoint missing; no
// ArtifactType" before "Endpoint missing": a new problem, a new Warning.)
func (r *row) expectOneWarning(kind, name, reason string) {
	r.t.Helper()
	var same []string
	seen := map[string]bool{}
	for _, w := range r.warnings(kind, name) {
		if !strings.HasPrefix(w, reason+": ") {
			continue
		}
		same = append(same, w)
		assert.False(r.t, seen[w], "the Warning was repeated: %s", w)
		seen[w] = true
		assert.True(r.t, strings.HasSuffix(w, " (x1)"), "the Warning was repeated: %s", w)
	}
	assert.NotEmpty(r.t, same, "Warning events %s on %s %s", reason, kind, shortName(name))
	if len(same) > 1 {
		r.t.Logf("%d Warnings %s on %s %s, each a different problem: %q", len(same), reason, kind, shortName(name), same)
	}
}

func (r *row) expectNoWorkflowNow(name string) {
	r.t.Helper()
	_, err := s.argo.ArgoprojV1alpha1().Workflows(r.ns).Get(r.ctx(), name, metav1.GetOptions{})
	assert.True(r.t, apierrors.IsNotFound(err), "no Workflow %s may exist, got %v", name, err)
}

// waitEntryWithWorkflow waits until an artifact has an ArtifactWorkflow
// whose Workflow exists, and returns its name.
func (r *row) waitEntryWithWorkflow(index int32) string {
	r.t.Helper()
	order := r.waitOrder(r.order, fmt.Sprintf("artifact %d has an ArtifactWorkflow", index), func(o *arcv1.Order) (bool, string) {
		_, ok := entryFor(o, index)
		return ok, ""
	})
	name := r.mustEntry(order, index).Name
	r.waitWorkflow(name, "created", func(*wfv1.Workflow) (bool, error) { return true, nil })
	return name
}

// waitGoodArtifact waits until the good artifact's entry is Succeeded and
// returns its ArtifactWorkflow's name.
func (r *row) waitGoodArtifact() string {
	r.t.Helper()
	order := r.waitOrder(r.order, "the good artifact Succeeded", func(o *arcv1.Order) (bool, string) {
		e, ok := entryFor(o, 0)
		return ok && e.Phase == arcv1.WorkflowPhaseSucceeded, fmt.Sprintf("entry 0: %+v", e)
	})
	return r.mustEntry(order, 0).Name
}

// checkGoodArtifactStill checks that the good artifact is still Succeeded.
func (r *row) checkGoodArtifactStill() {
	r.t.Helper()
	order, err := s.arc.ArcV1alpha1().Orders(r.ns).Get(r.ctx(), r.order, metav1.GetOptions{})
	require.NoError(r.t, err)
	e, ok := entryFor(order, 0)
	assert.True(r.t, ok && e.Phase == arcv1.WorkflowPhaseSucceeded, "the good artifact is still Succeeded: %+v", e)
}

// expectStillSucceeded checks that a finished Order of n artifacts reports
// Succeeded, with nothing unresolved and no Warning.
func (r *row) expectStillSucceeded(name string, n int32) {
	r.t.Helper()
	order, err := s.arc.ArcV1alpha1().Orders(r.ns).Get(r.ctx(), name, metav1.GetOptions{})
	require.NoError(r.t, err)
	st := order.Status
	assert.Equal(r.t, arcv1.OrderPhaseSucceeded, st.Phase, "phase (%s)", orderSummary(order))
	assert.Equal(r.t, [2]int32{n, n}, [2]int32{st.Total, st.Succeeded}, "total, succeeded")
	assert.Empty(r.t, st.UnresolvedArtifacts, "unresolved artifacts")
	assert.Empty(r.t, r.warnings("Order", name), "Warning events")
}

// warnings lists the Warning events about an object as "reason: message".
func (r *row) warnings(kind, name string) []string {
	r.t.Helper()
	selector := fields.Set{"involvedObject.kind": kind, "involvedObject.name": name, "type": corev1.EventTypeWarning}.AsSelector().String()
	list, err := s.kube.CoreV1().Events(r.ns).List(r.ctx(), metav1.ListOptions{FieldSelector: selector})
	require.NoError(r.t, err)
	var out []string
	for _, e := range list.Items {
		out = append(out, fmt.Sprintf("%s: %s (x%d)", e.Reason, e.Message, e.Count))
	}
	return out
}

// ---------------------------------------------------------------- what was created

// creations records what was created in a namespace, one line per object.
type creations struct {
	mu    sync.Mutex
	lines []string
	ended error
}

// recordCreations records, until TestBadInput ends, every object of a kind
// created in the namespace from now on, in the lines describe gives it. The suite's client cuts requests after 30 s,
// so the watch resumes where it stopped (RetryWatcher).
func (r *row) recordCreations(kind string, list func(context.Context) (runtime.Object, error),
	watchFunc func(context.Context, metav1.ListOptions) (watch.Interface, error), describe func(runtime.Object) []string,
) *creations {
	r.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r.parent.Cleanup(cancel)
	c := &creations{}
	add := func(obj runtime.Object) {
		lines := describe(obj)
		c.mu.Lock()
		c.lines = append(c.lines, lines...)
		c.mu.Unlock()
	}
	existing, err := list(r.ctx())
	require.NoError(r.t, err, "listing %s", kind)
	items, err := meta.ExtractList(existing)
	require.NoError(r.t, err)
	for _, obj := range items {
		add(obj)
	}
	listMeta, err := meta.ListAccessor(existing)
	require.NoError(r.t, err)
	w, err := watchtools.NewRetryWatcherWithContext(ctx, listMeta.GetResourceVersion(), &cache.ListWatch{WatchFuncWithContext: watchFunc})
	require.NoError(r.t, err, "watching %s", kind)
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			if ev.Type == watch.Added {
				add(ev.Object)
			}
		}
		c.mu.Lock()
		if ctx.Err() == nil {
			c.ended = fmt.Errorf("the watch of %s in %s ended early", kind, r.ns)
		}
		c.mu.Unlock()
	}()
	return c
}

// recordWorkflows records the names of the Workflows created in the namespace.
func (r *row) recordWorkflows() {
	r.t.Helper()
	workflows := s.argo.ArgoprojV1alpha1().Workflows(r.ns)
	r.workflows = r.recordCreations("Workflows",
		func(ctx context.Context) (runtime.Object, error) { return workflows.List(ctx, metav1.ListOptions{}) },
		workflows.Watch,
		func(obj runtime.Object) []string {
			if wf, ok := obj.(*wfv1.Workflow); ok {
				return []string{wf.Name}
			}
			return nil
		})
}

// recordSecretMounts records the Pods created in the namespace that mount a
// Secret, as "pod <name> mounts Secret <secret>".
func (r *row) recordSecretMounts() {
	r.t.Helper()
	pods := s.kube.CoreV1().Pods(r.ns)
	r.secretMounts = r.recordCreations("Pods",
		func(ctx context.Context) (runtime.Object, error) { return pods.List(ctx, metav1.ListOptions{}) },
		pods.Watch,
		func(obj runtime.Object) []string {
			pod, ok := obj.(*corev1.Pod)
			if !ok {
				return nil
			}
			var mounts []string
			for _, v := range pod.Spec.Volumes {
				if v.Secret != nil {
					mounts = append(mounts, fmt.Sprintf("pod %s mounts Secret %s", pod.Name, v.Secret.SecretName))
				}
			}
			return mounts
		})
}

func (c *creations) snapshot() ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines), c.ended
}

// expectNoWorkflowEver checks that no Workflow of the name was created since
// recordWorkflows, not even for a moment.
func (r *row) expectNoWorkflowEver(name string) {
	r.t.Helper()
	created, err := r.workflows.snapshot()
	require.NoError(r.t, err)
	assert.NotContains(r.t, created, name, "ARC created Workflow %s (Workflows created in the namespace: %v)", name, created)
}

// expectNoSecretMounted checks that no Pod created since recordSecretMounts
// mounted the Secret.
func (r *row) expectNoSecretMounted(secret string) {
	r.t.Helper()
	mounts, err := r.secretMounts.snapshot()
	require.NoError(r.t, err)
	for _, m := range mounts {
		assert.False(r.t, strings.HasSuffix(m, " mounts Secret "+secret), "a step got the Secret %s: %s", secret, m)
	}
}

// ---------------------------------------------------------------- the controller's log

// logOffset is the size of the corpus controller's log now.
func (r *row) logOffset() int64 {
	fi, err := os.Stat(r.controllerLog)
	require.NoError(r.t, err)
	return fi.Size()
}

// waitSynced waits until the corpus controller's log shows a sync of the
// object by the controller after offset since.
func (r *row) waitSynced(controller, name string, since int64) {
	r.t.Helper()
	key := fmt.Sprintf(`controller=%q key="%s/%s"`, controller, r.ns, name)
	r.waitFor(fmt.Sprintf("a sync of %s/%s by the %s controller", r.ns, shortName(name), controller), r.timeout(),
		func(context.Context) (bool, string, error) {
			lines, err := readLogLines(r.controllerLog, since, -1)
			if err != nil {
				return false, err.Error(), nil
			}
			for _, l := range lines {
				if strings.Contains(l, `"Synced"`) && strings.Contains(l, key) {
					return true, "", nil
				}
			}
			return false, fmt.Sprintf("%d log lines since, none a sync of it", len(lines)), nil
		})
}

// readLogLines returns the complete lines of the file between byte offsets
// from and to (-1: the end).
func readLogLines(path string, from, to int64) ([]string, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	if _, err := file.Seek(from, io.SeekStart); err != nil {
		return nil, err
	}
	var reader io.Reader = file
	if to >= 0 {
		reader = io.LimitReader(file, to-from)
	}
	data, err := io.ReadAll(reader)
	if err != nil {
		return nil, err
	}
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[:i]
	} else {
		return nil, nil
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, sc.Err()
}

// ---------------------------------------------------------------- the minute

// workBudget bounds what ARC may do in a row's namespace during the minute.
type workBudget struct {
	syncs, requests, writes, events int
	// minSyncs is the work a row's minute must hold, for a row with a
	// documented poll.
	minSyncs int
}

// backoffBudget is for a row whose refusal may go away by itself (a quota
// frees up): ARC retries, but backs off, so the minute holds a few tries.
var backoffBudget = workBudget{syncs: 4, requests: 4, writes: 4, events: 1}

// idleBudget is "at most a handful": a converged object costs nothing in an
// idle minute (resyncs come every 10 minutes), so anything above this is a
// loop, not a straggler.
var idleBudget = workBudget{syncs: 2, requests: 2, writes: 1, events: 0}

// workCount is what ARC did in one namespace during the minute, from the
// corpus controller's log: syncs ("Synced", -v=4), API requests
// ("Response", -v=6; writes are those other than GET) and events ("Event
// occurred", -v=3).
type workCount struct {
	syncs, requests, writes, events int
	lines                           []string
}

func (w workCount) check(t *testing.T, b workBudget) {
	t.Helper()
	evidence := strings.Join(w.lines[:min(len(w.lines), 40)], "\n")
	t.Logf("ARC's work in the minute: %d syncs, %d requests (%d writes), %d events", w.syncs, w.requests, w.writes, w.events)
	assert.LessOrEqual(t, w.syncs, b.syncs, "syncs in the minute; ARC's lines:\n%s", evidence)
	assert.LessOrEqual(t, w.requests, b.requests, "API requests in the minute; ARC's lines:\n%s", evidence)
	assert.LessOrEqual(t, w.writes, b.writes, "API writes in the minute; ARC's lines:\n%s", evidence)
	assert.LessOrEqual(t, w.events, b.events, "events in the minute; ARC's lines:\n%s", evidence)
	assert.GreaterOrEqual(t, w.syncs, b.minSyncs, "syncs in the minute: the row's poll must show")
}

// logWindow holds the corpus controller's log lines of the minute.
type logWindow struct{ lines []string }

// observeMinute lets one minute pass, shared by every row, and returns what
// the corpus controller logged meanwhile.
func observeMinute(t *testing.T, logPath string) logWindow {
	t.Helper()
	size := func() int64 {
		fi, err := os.Stat(logPath)
		require.NoError(t, err)
		return fi.Size()
	}
	from := size()
	t.Logf("observing ARC for one minute")
	time.Sleep(time.Minute) // the observation minute itself, not a wait for a state
	lines, err := readLogLines(logPath, from, size())
	require.NoError(t, err)
	return logWindow{lines: lines}
}

// work counts ARC's work in namespace ns.
func (w logWindow) work(ns string) workCount {
	var c workCount
	for _, l := range w.lines {
		switch {
		case strings.Contains(l, `"Synced"`) && strings.Contains(l, ` key="`+ns+`/`):
			c.syncs++
		case strings.Contains(l, `"Response"`) && strings.Contains(l, "/namespaces/"+ns+"/"):
			c.requests++
			if !strings.Contains(l, `verb="GET"`) {
				c.writes++
			}
		case strings.Contains(l, `"Event occurred"`) && strings.Contains(l, ` object="`+ns+`/`):
			c.events++
		default:
			continue
		}
		c.lines = append(c.lines, l)
	}
	return c
}

// logWorkSummary logs every row's work in the minute, and the minimum,
// median and maximum over the rows. The column "failed" counts the row's
// failed syncs over the whole test, the minute included: retries with
// backoff are dense right after a failure, before the minute.
func logWorkSummary(t *testing.T, logPath string, inputs []badInput, rows []*row) {
	all, err := readLogLines(logPath, 0, -1)
	if err != nil {
		t.Errorf("reading %s: %v", logPath, err)
	}
	failed := func(ns string) int {
		n := 0
		for _, l := range all {
			if strings.Contains(l, `"Sync failed, retrying"`) && strings.Contains(l, ` key="`+ns+`/`) {
				n++
			}
		}
		return n
	}
	var b strings.Builder
	var syncs, requests, writes, events []int
	fmt.Fprintf(&b, "%5s %8s %6s %6s %6s  %s\n", "syncs", "requests", "writes", "events", "failed", "row")
	for i, r := range rows {
		if r == nil || !r.observed {
			fmt.Fprintf(&b, "%5s %8s %6s %6s %6s  %s\n", "-", "-", "-", "-", "-", inputs[i].name)
			continue
		}
		w := r.work
		fmt.Fprintf(&b, "%5d %8d %6d %6d %6d  %s\n", w.syncs, w.requests, w.writes, w.events, failed(r.ns), inputs[i].name)
		syncs, requests, writes, events = append(syncs, w.syncs), append(requests, w.requests), append(writes, w.writes), append(events, w.events)
	}
	spread := func(v []int) string {
		if len(v) == 0 {
			return "-"
		}
		v = slices.Clone(v)
		slices.Sort(v)
		return fmt.Sprintf("%d/%d/%d", v[0], v[len(v)/2], v[len(v)-1])
	}
	fmt.Fprintf(&b, "min/median/max over %d rows: syncs %s, requests %s, writes %s, events %s",
		len(syncs), spread(syncs), spread(requests), spread(writes), spread(events))
	t.Logf("ARC's work per row namespace in the observation minute:\n%s", b.String())
}

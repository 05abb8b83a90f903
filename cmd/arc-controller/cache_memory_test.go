package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	argoinformers "github.com/argoproj/argo-workflows/v3/pkg/client/informers/externalversions"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller/controllertest"
	arcinformers "github.com/artifact-conduit/arc/pkg/generated/informers/externalversions"
)

// BenchmarkCacheMemoryPerArtifact measures what ARC's caches hold per live
// artifact: its ArtifactWorkflow, its Workflow (Succeeded) and a tenth of an
// Order of ten artifacts with a full status, as the API server sends them
// (JSON over a watch, with managedFields), through the controller's own
// clients, informers, transforms, indexes and event handlers. Nothing syncs:
// what is measured is the heap that stays once every object is cached and
// the work queues are drained, after a full garbage collection, against the
// same process with empty caches. Peak RSS at scale is this times the
// artifacts, times what the garbage collector lets the heap grow to (GOGC),
// plus the flat cost.
//
// HEAPPROFILE=FILE writes a heap profile, every allocation sampled, at the
// point of measurement: what the caches hold, by where it was allocated.
func BenchmarkCacheMemoryPerArtifact(b *testing.B) {
	const orders, perOrder = 200, 10
	if os.Getenv("HEAPPROFILE") != "" {
		runtime.MemProfileRate = 1
	}
	objs := benchObjects(orders, perOrder)
	for b.Loop() {
		perArtifact := measureCachedBytes(b, objs, orders*perOrder)
		b.ReportMetric(perArtifact, "heap-B/artifact")
	}
}

// cacheObjects are the encoded watch events of a run, by API path.
type cacheObjects map[string][][]byte

// benchObjects returns orders Orders of perOrder artifacts each, their
// ArtifactWorkflows and Workflows, shaped like those of make bench once
// every artifact succeeded.
func benchObjects(orders, perOrder int) cacheObjects {
	objs := cacheObjects{}
	add := func(path string, obj any) {
		raw, err := json.Marshal(map[string]any{"type": "ADDED", "object": obj})
		if err != nil {
			panic(err)
		}
		objs[path] = append(objs[path], raw)
	}
	for i := range orders {
		o := benchOrder(i, perOrder)
		for j := range perOrder {
			aw := benchArtifactWorkflow(o, i, j)
			add("/apis/arc.opendefense.cloud/v1alpha1/artifactworkflows", aw)
			add("/apis/argoproj.io/v1alpha1/workflows", benchWorkflow(aw))
			o.Status.ArtifactWorkflows[aw.Labels[arcv1.LabelArtifactHash]] = arcv1.OrderArtifactWorkflowStatus{
				Name: aw.Name, ArtifactIndex: int32(j), Phase: arcv1.WorkflowPhaseSucceeded,
			}
		}
		add("/apis/arc.opendefense.cloud/v1alpha1/orders", o)
	}
	return objs
}

// managedBy is the managedFields entry the API server adds for a writer:
// the informers drop it, but it arrives with every object.
func managedBy(manager string) []metav1.ManagedFieldsEntry {
	return []metav1.ManagedFieldsEntry{{
		Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1alpha1",
		Time: &metav1.Time{Time: time.Unix(1700000000, 0)}, FieldsType: "FieldsV1",
		FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:labels":{".":{}}},"f:spec":{".":{},"f:parameters":{}},"f:status":{".":{},"f:phase":{}}}`)},
	}}
}

func uid(kind string, i, j int) types.UID {
	return types.UID(fmt.Sprintf("%08x-%04x-4000-8000-%012x", i, j, len(kind)))
}

func benchOrder(i, perOrder int) *arcv1.Order {
	o := &arcv1.Order{
		TypeMeta: metav1.TypeMeta{APIVersion: arcv1.SchemeGroupVersion.String(), Kind: "Order"},
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("order-%05d", i), Namespace: fmt.Sprintf("bench-%d", i%4), UID: uid("Order", i, 0),
			ResourceVersion: fmt.Sprint(1000 + i), Generation: 1, CreationTimestamp: metav1.Unix(1700000000, 0),
			ManagedFields: managedBy("kubectl"),
		},
		Spec: arcv1.OrderSpec{Defaults: &arcv1.OrderDefaults{
			SrcRef: &corev1.LocalObjectReference{Name: "src-oci"}, DstRef: &corev1.LocalObjectReference{Name: "dst-oci"},
		}},
		Status: arcv1.OrderStatus{
			ObservedGeneration: 1, Phase: arcv1.OrderPhaseSucceeded, Total: int32(perOrder), Succeeded: int32(perOrder),
			ArtifactWorkflows: map[string]arcv1.OrderArtifactWorkflowStatus{},
			Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Succeeded",
				Message: "every artifact succeeded", ObservedGeneration: 1, LastTransitionTime: metav1.Unix(1700000100, 0)}},
		},
	}
	for j := range perOrder {
		spec := fmt.Sprintf(`{"image":"bench/o%05d/a%03d","tag":"1.0"}`, i, j)
		o.Spec.Artifacts = append(o.Spec.Artifacts, arcv1.OrderArtifact{Type: "bench-oci", Spec: &k8sruntime.RawExtension{Raw: []byte(spec)}})
	}
	return o
}

func benchArtifactWorkflow(o *arcv1.Order, i, j int) *arcv1.ArtifactWorkflow {
	hash := fmt.Sprintf("%08x%08x", uint32(i)*2654435761, uint32(j+1)*40503)
	name := o.Name + "-" + hash
	started, finished := metav1.Unix(1700000010, 0), metav1.Unix(1700000020, 0)
	queued := metav1.NewMicroTime(time.Unix(1700000001, 123456000))
	return &arcv1.ArtifactWorkflow{
		TypeMeta: metav1.TypeMeta{APIVersion: arcv1.SchemeGroupVersion.String(), Kind: "ArtifactWorkflow"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: o.Namespace, UID: types.UID(string(o.UID) + fmt.Sprint(j)),
			ResourceVersion: fmt.Sprint(200000 + j), Generation: 1, CreationTimestamp: metav1.Unix(1700000000, 0),
			Labels: map[string]string{
				arcv1.LabelManagedBy: arcv1.ManagedByValue, arcv1.LabelOrderUID: string(o.UID), arcv1.LabelArtifactHash: hash,
			},
			Annotations: map[string]string{
				arcv1.AnnotationOrderName:                o.Name,
				arcv1.GroupName + "/artifact-index":      fmt.Sprint(j),
				arcv1.GroupName + "/artifact-identities": hash,
			},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(o, arcv1.SchemeGroupVersion.WithKind("Order"))},
			ManagedFields:   managedBy("arc-controller"),
		},
		Spec: arcv1.ArtifactWorkflowSpec{
			Type: "bench-oci", SrcEndpoint: "src-oci", DstEndpoint: "dst-oci",
			DstSecretRef: &corev1.LocalObjectReference{Name: "bench-dst-credentials"},
			QueuedAt:     &queued,
			Parameters: []arcv1.Parameter{
				{Name: "dstRemoteURL", Value: "mirror.bench.example"}, {Name: "dstSecret", Value: "true"},
				{Name: "dstType", Value: "oci"}, {Name: "scanSeverity", Value: "HIGH,CRITICAL"},
				{Name: "specImage", Value: fmt.Sprintf("bench/%s/a%03d", o.Name, j)}, {Name: "specTag", Value: "1.0"},
				{Name: "srcRemoteURL", Value: "registry.bench.example"}, {Name: "srcSecret", Value: "false"},
				{Name: "srcType", Value: "oci"},
			},
		},
		Status: arcv1.ArtifactWorkflowStatus{
			ObservedGeneration: 1, WorkflowName: name, Phase: arcv1.WorkflowPhaseSucceeded,
			StartedAt: &started, FinishedAt: &finished,
			Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "WorkflowSucceeded",
				ObservedGeneration: 1, LastTransitionTime: finished}},
		},
	}
}

func benchWorkflow(aw *arcv1.ArtifactWorkflow) *wfv1.Workflow {
	params := make([]wfv1.Parameter, 0, len(aw.Spec.Parameters)+2)
	for _, p := range aw.Spec.Parameters {
		params = append(params, wfv1.Parameter{Name: p.Name, Value: wfv1.AnyStringPtr(p.Value)})
	}
	params = append(params, wfv1.Parameter{Name: "srcSecretName", Value: wfv1.AnyStringPtr("arc-no-secret")},
		wfv1.Parameter{Name: "dstSecretName", Value: wfv1.AnyStringPtr("bench-dst-credentials")})
	labels := map[string]string{"arc.opendefense.cloud/artifactworkflow": aw.Name,
		// What Argo adds as it runs a Workflow.
		"workflows.argoproj.io/completed": "true", "workflows.argoproj.io/phase": "Succeeded"}
	for k, v := range aw.Labels {
		labels[k] = v
	}
	return &wfv1.Workflow{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow"},
		ObjectMeta: metav1.ObjectMeta{
			Name: aw.Name, Namespace: aw.Namespace, UID: types.UID(string(aw.UID) + "w"),
			ResourceVersion: aw.ResourceVersion + "1", Generation: 3, CreationTimestamp: aw.CreationTimestamp,
			Labels: labels, Annotations: map[string]string{arcv1.AnnotationOrderName: aw.Annotations[arcv1.AnnotationOrderName],
				"workflows.argoproj.io/pod-name-format": "v2"},
			Finalizers:      []string{arcv1.GroupName + "/workflow-result"},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(aw, arcv1.SchemeGroupVersion.WithKind("ArtifactWorkflow"))},
			ManagedFields:   append(managedBy("arc-controller"), managedBy("workflow-controller")...),
		},
		Spec: wfv1.WorkflowSpec{
			Arguments:           wfv1.Arguments{Parameters: params},
			WorkflowTemplateRef: &wfv1.WorkflowTemplateRef{Name: "arc-bench", ClusterScope: true},
		},
		Status: wfv1.WorkflowStatus{
			Phase: wfv1.WorkflowSucceeded, StartedAt: *aw.Status.StartedAt, FinishedAt: *aw.Status.FinishedAt, Progress: "1/1",
			Nodes: wfv1.Nodes{aw.Name: wfv1.NodeStatus{ID: aw.Name, Name: aw.Name, DisplayName: aw.Name,
				Type: wfv1.NodeTypePod, TemplateName: "main", Phase: wfv1.NodeSucceeded,
				StartedAt: *aw.Status.StartedAt, FinishedAt: *aw.Status.FinishedAt, Progress: "1/1"}},
		},
	}
}

// measureCachedBytes runs the controller's informers against a server that
// sends objs over its watches and returns the heap the caches keep per
// artifact.
func measureCachedBytes(b *testing.B, objs cacheObjects, artifacts int) float64 {
	b.Helper()
	srv := newWatchServer(objs)
	defer srv.close()
	cc := controllersAgainst(b, srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, f := range cc.factories {
		f.Start(ctx.Done())
	}
	stores := cachedStores(b, cc)
	waitForObjects(b, stores, nil)
	drainQueues(cc)
	before := controllertest.LiveHeapBytes()

	srv.send()
	waitForObjects(b, stores, objs)
	drainQueues(cc)
	after := controllertest.LiveHeapBytes()
	if path := os.Getenv("HEAPPROFILE"); path != "" {
		writeHeapProfile(b, path)
	}
	runtime.KeepAlive(objs)
	return float64(after-before) / float64(artifacts)
}

// cachedStores are the informer stores of the kinds with one object per
// artifact (or Order), by the API path their objects come from.
func cachedStores(b *testing.B, cc *controllerContext) map[string]cache.Store {
	stores := map[string]cache.Store{}
	for _, f := range cc.factories {
		switch f := f.(type) {
		case arcinformers.SharedInformerFactory:
			stores["/apis/arc.opendefense.cloud/v1alpha1/orders"] = f.Arc().V1alpha1().Orders().Informer().GetStore()
			stores["/apis/arc.opendefense.cloud/v1alpha1/artifactworkflows"] = f.Arc().V1alpha1().ArtifactWorkflows().Informer().GetStore()
		case argoinformers.SharedInformerFactory:
			stores["/apis/argoproj.io/v1alpha1/workflows"] = f.Argoproj().V1alpha1().Workflows().Informer().GetStore()
		}
	}
	require.Len(b, stores, 3)
	return stores
}

// waitForObjects waits until every store holds as many objects as objs has
// for its path, and every informer synced.
func waitForObjects(b *testing.B, stores map[string]cache.Store, objs cacheObjects) {
	b.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, time.Minute, true,
		func(context.Context) (bool, error) {
			for path, s := range stores {
				if len(s.ListKeys()) != len(objs[path]) {
					return false, nil
				}
			}
			return true, nil
		})
	require.NoError(b, err, "the informers did not cache every object")
}

// drainQueues takes every key out of the controllers' work queues, as
// workers would, so that what remains is the caches.
func drainQueues(cc *controllerContext) {
	for _, w := range cc.workers {
		controllertest.Drain(w.worker.Queue)
	}
}

func writeHeapProfile(b *testing.B, path string) {
	b.Helper()
	f, err := os.Create(path)
	require.NoError(b, err)
	defer f.Close()
	require.NoError(b, pprof.WriteHeapProfile(f))
}

// watchServer is an API server that lists nothing and, once told to, sends
// the objects of every path as ADDED events on its watch. Every other
// request gets an empty list, or a watch that stays open and quiet.
type watchServer struct {
	*httptest.Server
	objs  cacheObjects
	start chan struct{}
	once  sync.Once

	mu sync.Mutex
	// listed is the label selector of the list requests served, by path.
	listed map[string]string
}

func newWatchServer(objs cacheObjects) *watchServer {
	s := &watchServer{objs: objs, start: make(chan struct{}), listed: map[string]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// listSelector is the label selector of the last list request for path,
// and whether there was one.
func (s *watchServer) listSelector(path string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sel, ok := s.listed[path]
	return sel, ok
}

func (s *watchServer) send() { s.once.Do(func() { close(s.start) }) }

func (s *watchServer) close() {
	s.send()
	s.CloseClientConnections()
	s.Close()
}

func (s *watchServer) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Query().Get("watch") != "true" {
		s.mu.Lock()
		s.listed[r.URL.Path] = r.URL.Query().Get("labelSelector")
		s.mu.Unlock()
		// The metadata client wants to be told it got metadata; the
		// typed clients take the kind from the list they decode into.
		kind := ""
		if strings.Contains(r.Header.Get("Accept"), "as=PartialObjectMetadataList") {
			kind = `"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1",`
		}
		fmt.Fprintf(w, `{%s"metadata":{"resourceVersion":"1"},"items":[]}`, kind)
		return
	}
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	select {
	case <-s.start:
	case <-r.Context().Done():
		return
	}
	for _, ev := range s.objs[r.URL.Path] {
		if _, err := w.Write(append(ev, '\n')); err != nil {
			return
		}
	}
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

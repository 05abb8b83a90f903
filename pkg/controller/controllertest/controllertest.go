// Package controllertest helps the controllers' unit tests: it describes the
// writes a fake clientset recorded and drains the events a fake recorder got,
// so tests compare short readable strings, independent of order.
package controllertest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	clocktesting "k8s.io/utils/clock/testing"
)

// Writes describes the write actions among actions as "verb resource[/subresource] namespace/name",
// sorted. Reads (get, list, watch) are left out: they do not change the cluster.
func Writes(actions ...[]k8stesting.Action) []string {
	var out []string
	for _, list := range actions {
		for _, a := range list {
			switch a.GetVerb() {
			case "get", "list", "watch":
				continue
			}
			out = append(out, Describe(a))
		}
	}
	sort.Strings(out)
	return out
}

// Describe renders one action as "verb resource[/subresource] namespace/name".
func Describe(a k8stesting.Action) string {
	resource := a.GetResource().Resource
	if sub := a.GetSubresource(); sub != "" {
		resource += "/" + sub
	}
	return fmt.Sprintf("%s %s %s/%s", a.GetVerb(), resource, a.GetNamespace(), objectName(a))
}

func objectName(a k8stesting.Action) string {
	switch act := a.(type) {
	case k8stesting.CreateAction:
		if m, ok := act.GetObject().(interface{ GetName() string }); ok {
			return m.GetName()
		}
	case k8stesting.UpdateAction:
		if m, ok := act.GetObject().(interface{ GetName() string }); ok {
			return m.GetName()
		}
	case k8stesting.DeleteAction:
		return act.GetName()
	case k8stesting.PatchAction:
		return act.GetName()
	}
	return ""
}

// Events drains the events a FakeRecorder holds, as "Type Reason Message".
func Events(rec *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// EventReasons returns "Type Reason" of every event, sorted, for checks that
// should not depend on the exact wording of messages.
func EventReasons(events []string) []string {
	out := make([]string, 0, len(events))
	for _, e := range events {
		fields := strings.SplitN(e, " ", 3)
		if len(fields) >= 2 {
			out = append(out, fields[0]+" "+fields[1])
		}
	}
	sort.Strings(out)
	return out
}

// BumpResourceVersions makes a fake clientset give every created or updated
// object a new resourceVersion, as the API server does. The fakes leave it
// empty, which would make every update look like a resync to the
// controllers' event handlers.
func BumpResourceVersions(fake *k8stesting.Fake) {
	var counter atomic.Int64
	fake.PrependReactor("*", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		var obj runtime.Object
		switch a := action.(type) {
		case k8stesting.CreateAction:
			obj = a.GetObject()
		case k8stesting.UpdateAction:
			obj = a.GetObject()
		default:
			return false, nil, nil
		}
		if m, err := meta.Accessor(obj); err == nil {
			m.SetResourceVersion(strconv.FormatInt(counter.Add(1), 10))
		}
		return false, nil, nil
	})
}

// StatusSubresource makes a fake clientset's updates of a status
// subresource change only the status of the stored object, as the API
// server does for custom resources: the fakes store the whole object sent.
// ARC sends status updates of ArtifactWorkflows built from its cache, which
// holds them without labels and annotations. Register it after
// BumpResourceVersions, so that it runs first.
func StatusSubresource(fake *k8stesting.Fake, tracker k8stesting.ObjectTracker) {
	fake.PrependReactor("update", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.GetSubresource() != "status" {
			return false, nil, nil
		}
		sent := action.(k8stesting.UpdateAction).GetObject()
		m, err := meta.Accessor(sent)
		if err != nil {
			return false, nil, nil
		}
		stored, err := tracker.Get(action.GetResource(), action.GetNamespace(), m.GetName())
		if err != nil {
			return false, nil, nil // the fake answers NotFound itself
		}
		// The object sent is the request's own copy: it becomes the stored
		// object with the status sent, for the reactors that follow.
		merged := reflect.ValueOf(stored.DeepCopyObject()).Elem()
		target := reflect.ValueOf(sent).Elem()
		if merged.Type() != target.Type() || !target.FieldByName("Status").IsValid() {
			return false, nil, nil
		}
		merged.FieldByName("Status").Set(target.FieldByName("Status"))
		target.Set(merged)
		return false, nil, nil
	})
}

// AssignUIDs makes a fake clientset give every created object a UID, as the
// API server does. Without it every object a controller creates has the
// empty UID, and an ownership check by UID passes for any object.
func AssignUIDs(fake *k8stesting.Fake) {
	var counter atomic.Int64
	fake.PrependReactor("create", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		obj := action.(k8stesting.CreateAction).GetObject()
		if m, err := meta.Accessor(obj); err == nil && m.GetUID() == "" {
			m.SetUID(types.UID(fmt.Sprintf("uid-%s-%d", action.GetResource().Resource, counter.Add(1))))
		}
		return false, nil, nil
	})
}

// StampCreation makes the fake API server set creationTimestamp to now on
// every object created without one, as the real one does.
func StampCreation(fake *k8stesting.Fake, now time.Time) {
	fake.PrependReactor("create", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		obj := action.(k8stesting.CreateAction).GetObject()
		if m, err := meta.Accessor(obj); err == nil && m.GetCreationTimestamp().Time.IsZero() {
			m.SetCreationTimestamp(metav1.NewTime(now))
		}
		return false, nil, nil
	})
}

// CountingRecorder is an event recorder for benchmarks: it formats each
// message, as a real recorder does, and counts the events. Unlike
// record.FakeRecorder it has no channel that fills up and blocks.
type CountingRecorder struct{ Events int }

// Event counts an event.
func (r *CountingRecorder) Event(_ runtime.Object, _, _, _ string) { r.Events++ }

// Eventf formats and counts an event.
func (r *CountingRecorder) Eventf(_ runtime.Object, _, _, messageFmt string, args ...interface{}) {
	_ = fmt.Sprintf(messageFmt, args...)
	r.Events++
}

// AnnotatedEventf formats and counts an event.
func (r *CountingRecorder) AnnotatedEventf(_ runtime.Object, _ map[string]string, _, _, messageFmt string, args ...interface{}) {
	_ = fmt.Sprintf(messageFmt, args...)
	r.Events++
}

// RoundTrip returns obj after JSON encoding and decoding, as an informer
// receives it from the API server.
func RoundTrip[T any](tb testing.TB, obj *T) *T {
	tb.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		tb.Fatal(err)
	}
	out := new(T)
	if err := json.Unmarshal(raw, out); err != nil {
		tb.Fatal(err)
	}
	return out
}

// Tombstone wraps obj as the DeletedFinalStateUnknown an informer hands a
// delete handler when its watch missed the deletion.
func Tombstone(tb testing.TB, obj interface{}) cache.DeletedFinalStateUnknown {
	tb.Helper()
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		tb.Fatal(err)
	}
	return cache.DeletedFinalStateUnknown{Key: key, Obj: obj}
}

// Drain empties a work queue and says how many keys it held.
func Drain(q workqueue.TypedRateLimitingInterface[cache.ObjectName]) int {
	n := 0
	for q.Len() > 0 {
		key, _ := q.Get()
		q.Done(key)
		q.Forget(key)
		n++
	}
	return n
}

// AssertResyncQueues runs a controller's periodic resync (its Worker's
// Resync) on clock and fails the test unless one period queues exactly
// want on q, and nothing comes before. The controller's resync window must
// be under two seconds (a period under four), where every resync is queued
// at once.
func AssertResyncQueues(t *testing.T, resync func(ctx context.Context), q workqueue.TypedRateLimitingInterface[cache.ObjectName],
	clock *clocktesting.FakeClock, period time.Duration, want []cache.ObjectName) {
	t.Helper()
	Drain(q)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go resync(ctx)
	if !waitFor(clock.HasWaiters) {
		t.Fatal("the resync set no timer on the clock")
	}
	clock.Step(period - time.Millisecond)
	if n := q.Len(); n > 0 {
		t.Fatalf("%d keys queued before the resync period", n)
	}
	clock.Step(time.Millisecond)
	if !waitFor(func() bool { return q.Len() >= len(want) }) {
		t.Fatalf("one resync period queued %d keys, want %d", q.Len(), len(want))
	}
	var got []cache.ObjectName
	for q.Len() > 0 {
		key, _ := q.Get()
		q.Done(key)
		got = append(got, key)
	}
	sortNames := func(names []cache.ObjectName) {
		sort.Slice(names, func(i, j int) bool { return names[i].String() < names[j].String() })
	}
	sortNames(got)
	want = append([]cache.ObjectName(nil), want...)
	sortNames(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("one resync period queued %v, want %v", got, want)
	}
}

// waitFor polls cond for up to five seconds.
func waitFor(cond func() bool) bool {
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// LiveHeapBytes is the heap in use after a full collection; the second
// collection frees what finalizers of the first let go.
func LiveHeapBytes() uint64 {
	var m goruntime.MemStats
	goruntime.GC()
	goruntime.GC()
	goruntime.ReadMemStats(&m)
	return m.HeapAlloc
}

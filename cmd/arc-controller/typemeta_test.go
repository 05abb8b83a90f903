package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sjson "k8s.io/apimachinery/pkg/runtime/serializer/json"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// typeMetaCases are documents whose kind typeMetaFactory must find as
// SimpleMetaFactory does: the shapes the API server sends, and those where
// a scan that skips could go wrong.
var typeMetaCases = []struct {
	name string
	doc  string
}{
	{"the API server's order", `{"apiVersion":"arc.opendefense.cloud/v1alpha1","kind":"Order","metadata":{"name":"a"}}`},
	{"kind first", `{"kind":"Order","apiVersion":"arc.opendefense.cloud/v1alpha1"}`},
	{"a core kind", `{"kind":"Status","apiVersion":"v1","status":"Failure"}`},
	{"a watch event, whose kind is inside its object", `{"type":"ADDED","object":{"kind":"Order","apiVersion":"arc.opendefense.cloud/v1alpha1"}}`},
	{"after nested values", `{"metadata":{"kind":"x","a":[1,{"apiVersion":"y"}]},"spec":"}{][","kind":"K","apiVersion":"g/v"}`},
	{"escaped quotes in a skipped string", `{"a":"x\"kind\":\"no\"","kind":"K","apiVersion":"v1"}`},
	{"a skipped string ending in a backslash", `{"a":"\\","kind":"K","apiVersion":"v1"}`},
	{"numbers and literals", `{"n":-1.5e3,"t":true,"f":false,"z":null,"kind":"K","apiVersion":"v1"}`},
	{"white space everywhere", " \t\r\n{ \"kind\" :\n\"K\" , \"apiVersion\"\t:\"v1\" , \"x\" : [ ] }\n "},
	{"a duplicate key: the last counts", `{"kind":"A","kind":"B","apiVersion":"v1"}`},
	{"null leaves the earlier value", `{"kind":"A","kind":null,"apiVersion":"v1"}`},
	{"an empty string replaces it", `{"kind":"A","kind":"","apiVersion":"v1"}`},
	{"neither", `{"metadata":{}}`},
	{"empty object", `{}`},
	{"keys that only look alike", `{"kindly":"x","apiVersions":"y","kind":"K","apiVersion":"v1"}`},
	{"a case-folded key, which encoding/json matches", `{"kind":"A","KIND":"B","apiVersion":"v1"}`},
	{"a key folded with the Kelvin sign", "{\"kind\":\"A\",\"\u212aind\":\"B\",\"apiVersion\":\"v1\"}"},
	{"an escaped key", `{"kind":"A","\u006bind":"B","apiVersion":"v1"}`},
	{"an escaped value", `{"kind":"\u004brder","apiVersion":"v1"}`},
	{"a value that is not a string", `{"kind":1,"apiVersion":"v1"}`},
	{"an object for a value", `{"kind":{"a":1},"apiVersion":"v1"}`},
	{"an apiVersion that is no group version", `{"kind":"K","apiVersion":"a/b/c"}`},
	{"not an object", `["kind","K"]`},
	{"null", `null`},
	{"a string", `"kind"`},
	{"unicode in a value", `{"kind":"Ördnung","apiVersion":"v1"}`},
}

func TestTypeMetaFactoryAgreesWithSimpleMetaFactory(t *testing.T) {
	for _, tc := range typeMetaCases {
		t.Run(tc.name, func(t *testing.T) {
			require.True(t, json.Valid([]byte(tc.doc)), "the case is not valid JSON")
			assertSameTypeMeta(t, []byte(tc.doc))
		})
	}
}

// TestTypeMetaFactoryScans checks that the cases meant for the scan are
// answered by it, not by the fallback, so that the differential test above
// tests the scan.
func TestTypeMetaFactoryScans(t *testing.T) {
	tests := []struct {
		doc      string
		wantScan bool
	}{
		{`{"apiVersion":"v1","kind":"K","metadata":{"a":[1,"]"]}}`, true},
		{`{"kind":"A","kind":null,"apiVersion":"v1"}`, true},
		{`{}`, true},
		{`{"kind":"A","KIND":"B"}`, false},
		{`{"kind":"\u004b"}`, false},
		{`{"kind":1}`, false},
		{`null`, false},
		{`{"kind":"K"} x`, false},
		{`{"kind":"K"`, false},
		{"{\"kind\":\"\xff\"}", false},
	}
	for _, tt := range tests {
		_, _, scanned := scanTypeMeta([]byte(tt.doc))
		assert.Equal(t, tt.wantScan, scanned, "%s", tt.doc)
	}
}

// FuzzTypeMetaFactory checks the two agree on every valid JSON document;
// for invalid ones the decoding that follows Interpret refuses them.
func FuzzTypeMetaFactory(f *testing.F) {
	for _, tc := range typeMetaCases {
		f.Add([]byte(tc.doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if !json.Valid(doc) {
			// Must not panic, whatever it says.
			_, _ = typeMetaFactory{}.Interpret(doc)
			return
		}
		assertSameTypeMeta(t, doc)
	})
}

func assertSameTypeMeta(t *testing.T, doc []byte) {
	t.Helper()
	want, wantErr := k8sjson.DefaultMetaFactory.Interpret(doc)
	got, gotErr := typeMetaFactory{}.Interpret(doc)
	if wantErr != nil {
		assert.Error(t, gotErr, "SimpleMetaFactory refused %s", doc)
		return
	}
	require.NoError(t, gotErr)
	assert.Equal(t, want, got)
}

// TestClientsDecodeWithTypeMetaFactory checks that ARC's clientsets decode
// with typeMetaFactory: what a get and a watch event of the informers'
// client return, and a malformed object, which SimpleMetaFactory would
// refuse with its own message and typeMetaFactory leaves to the decoder.
func TestClientsDecodeWithTypeMetaFactory(t *testing.T) {
	const order = `{"apiVersion":"arc.opendefense.cloud/v1alpha1","kind":"Order","metadata":{"name":"o","namespace":"ns","resourceVersion":"7"},"spec":{"artifacts":[{"type":"oci"}]}}`
	const malformed = `{"apiVersion":"arc.opendefense.cloud/v1alpha1","kind":"Order","metadata":{"name":"o","generation":tru}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Query().Get("watch") == "true":
			_, _ = w.Write([]byte(`{"type":"ADDED","object":` + order + "}\n"))
		case r.URL.Path == "/apis/arc.opendefense.cloud/v1alpha1/namespaces/ns/orders/malformed":
			_, _ = w.Write([]byte(malformed))
		default:
			_, _ = w.Write([]byte(order))
		}
	}))
	defer srv.Close()
	o, err := parse(t, "--kubeconfig="+kubeconfigFor(t, srv.URL), "--leader-elect=false")
	require.NoError(t, err)
	cl, err := newClients(o)
	require.NoError(t, err)
	ctx := context.Background()

	got, err := cl.order.arc.ArcV1alpha1().Orders("ns").Get(ctx, "o", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "o", got.Name)
	assert.Equal(t, "oci", got.Spec.Artifacts[0].Type)

	w, err := cl.informers.arc.ArcV1alpha1().Orders("ns").Watch(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	defer w.Stop()
	ev := <-w.ResultChan()
	watched, ok := ev.Object.(*arcv1.Order)
	require.True(t, ok, "watch event: %#v", ev.Object)
	assert.Equal(t, "7", watched.ResourceVersion)

	_, err = cl.artifactWorkflow.arc.ArcV1alpha1().Orders("ns").Get(ctx, "malformed", metav1.GetOptions{})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "couldn't get version/kind", "decoded with SimpleMetaFactory")
}

// BenchmarkInterpret compares finding the kind of an ArtifactWorkflow's
// watch event, as ARC receives thousands, with the two meta factories.
func BenchmarkInterpret(b *testing.B) {
	o := benchOrder(0, 10)
	raw, err := json.Marshal(map[string]any{"type": "MODIFIED", "object": benchArtifactWorkflow(o, 0, 0)})
	require.NoError(b, err)
	for _, bc := range []struct {
		name string
		meta k8sjson.MetaFactory
	}{{"SimpleMetaFactory", k8sjson.DefaultMetaFactory}, {"typeMetaFactory", typeMetaFactory{}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.meta.Interpret(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

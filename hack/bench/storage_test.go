package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// fakeGateway answers like etcd's JSON gateway (bodies as etcd 3.6 sends
// them) and records the calls it got.
type fakeGateway struct {
	mu    sync.Mutex
	calls []string
	// bodies are the request bodies, by path.
	bodies map[string][]map[string]any
	// dbSizes are the database sizes the status calls report, in turn.
	dbSizes []string
	// compactStatus and compactBody answer a compaction.
	compactStatus int
	compactBody   string
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	data, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(data, &body)
	g.calls = append(g.calls, r.Method+" "+r.URL.Path)
	if g.bodies == nil {
		g.bodies = map[string][]map[string]any{}
	}
	g.bodies[r.URL.Path] = append(g.bodies[r.URL.Path], body)
	switch r.URL.Path {
	case "/v3/maintenance/status":
		size := g.dbSizes[0]
		if len(g.dbSizes) > 1 {
			g.dbSizes = g.dbSizes[1:]
		}
		_, _ = io.WriteString(w, `{"header":{"cluster_id":"1958583708169818568", "member_id":"12709429299738257896", "revision":"178796", "raft_term":"2"}, "version":"3.6.5", "dbSize":"`+size+`", "raftIndex":"178949", "dbSizeInUse":"243634176"}`)
	case "/v3/kv/compaction":
		if g.compactStatus != 0 {
			w.WriteHeader(g.compactStatus)
			_, _ = io.WriteString(w, g.compactBody)
			return
		}
		_, _ = io.WriteString(w, `{"header":{"revision":"178799"}}`)
	case "/v3/maintenance/defragment":
		_, _ = io.WriteString(w, `{}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"code":5,"message":"Not Found"}`)
	}
}

func TestEtcdReset(t *testing.T) {
	const compacted = `{"code":11, "message":"etcdserver: mvcc: required revision has been compacted"}`
	for _, tc := range []struct {
		name          string
		compactStatus int
		compactBody   string
		wantErr       string
		wantCalls     []string
	}{{
		name: "compacts to the current revision, then defragments",
		wantCalls: []string{"POST /v3/maintenance/status", "POST /v3/kv/compaction",
			"POST /v3/maintenance/defragment", "POST /v3/maintenance/status"},
	}, {
		name:          "a revision compacted already (by the API server) is no error",
		compactStatus: http.StatusBadRequest, compactBody: compacted,
		wantCalls: []string{"POST /v3/maintenance/status", "POST /v3/kv/compaction",
			"POST /v3/maintenance/defragment", "POST /v3/maintenance/status"},
	}, {
		name:          "another refusal stops the reset with etcd's message",
		compactStatus: http.StatusServiceUnavailable, compactBody: `{"code":14, "message":"etcdserver: leader changed"}`,
		wantErr:   "etcd /v3/kv/compaction: etcdserver: leader changed (code 14)",
		wantCalls: []string{"POST /v3/maintenance/status", "POST /v3/kv/compaction"},
	}, {
		name:          "an answer that is not the gateway's is quoted",
		compactStatus: http.StatusBadGateway, compactBody: "upstream gone\n",
		wantErr:   "etcd /v3/kv/compaction: HTTP 502: upstream gone",
		wantCalls: []string{"POST /v3/maintenance/status", "POST /v3/kv/compaction"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			g := &fakeGateway{dbSizes: []string{"425476096", "2719744"}, compactStatus: tc.compactStatus, compactBody: tc.compactBody}
			srv := httptest.NewServer(g)
			defer srv.Close()
			e := &etcdStorage{url: srv.URL, client: srv.Client()}

			r, err := e.reset(context.Background(), "ARC (round 1)")
			if !reflect.DeepEqual(g.calls, tc.wantCalls) {
				t.Errorf("calls:\n got %q\nwant %q", g.calls, tc.wantCalls)
			}
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := StorageReset{Before: "ARC (round 1)", DBMiBBefore: 405.8, DBMiBAfter: 2.6, Seconds: r.Seconds}
			if r != want {
				t.Errorf("reset %+v, want %+v", r, want)
			}
			// The revision goes back as the gateway's string form, and the
			// compaction is physical: done when etcd answers.
			wantBody := []map[string]any{{"revision": "178796", "physical": true}}
			if got := g.bodies["/v3/kv/compaction"]; !reflect.DeepEqual(got, wantBody) {
				t.Errorf("compaction request %v, want %v", got, wantBody)
			}
		})
	}
}

func TestEtcdFindsThePortTheClusterRecorded(t *testing.T) {
	root := t.TempDir()
	p := paths{root: root}
	wantErr := func(err error, part string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Fatalf("error %v, want one with %q", err, part)
		}
	}
	_, err := p.etcd()
	wantErr(err, "finding etcd")

	if err := os.MkdirAll(filepath.Join(root, ".local", "cluster"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(p.local("cluster", "cluster.env"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("ETCD_PORT=24830\nAPISERVER_PORT=21550\n")
	e, err := p.etcd()
	if err != nil {
		t.Fatal(err)
	}
	if e.url != "http://127.0.0.1:24830" {
		t.Errorf("url %q", e.url)
	}

	write("APISERVER_PORT=21550\n")
	_, err = p.etcd()
	wantErr(err, "no ETCD_PORT")
}

func TestStorageSummary(t *testing.T) {
	for _, tc := range []struct {
		name   string
		resets []StorageReset
		want   string
	}{
		{"no resets", nil, "as the cluster was (--reset-storage=false)"},
		{"one reset", []StorageReset{{DBMiBBefore: 405.8, DBMiBAfter: 2.6}},
			"compacted and defragmented before each of 1 sides: database 405.8 MiB before, 2.6 MiB after"},
		{"several: smallest to largest", []StorageReset{{DBMiBBefore: 405.8, DBMiBAfter: 2.6}, {DBMiBBefore: 31.2, DBMiBAfter: 2.7}, {DBMiBBefore: 60, DBMiBAfter: 2.6}},
			"compacted and defragmented before each of 3 sides: database 31.2-405.8 MiB before, 2.6-2.7 MiB after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := storageSummary(tc.resets); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

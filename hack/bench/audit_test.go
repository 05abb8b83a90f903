package main

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestParseAudit(t *testing.T) {
	f, err := os.Open("testdata/audit.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	reqs, bad, err := parseAudit(f, arcUser)
	if err != nil {
		t.Fatal(err)
	}
	// Line 9 is cut off; only ResponseComplete of ARC's exact user counts:
	// not the ResponseStarted of a watch, not another user (not even one
	// whose name starts like ARC's), not a Panic stage.
	if bad != 1 {
		t.Errorf("bad lines = %d, want 1", bad)
	}
	want := []request{
		{At: mustTime(t, "2026-01-01T10:00:01Z"), Verb: "create", Resource: "artifactworkflows", Code: 201},
		{At: mustTime(t, "2026-01-01T10:00:02Z"), Verb: "update", Resource: "orders/status", Code: 409, Object: "orders a/o"},
		{At: mustTime(t, "2026-01-01T10:00:03Z"), Verb: "update", Resource: "orders/status", Code: 200, Object: "orders a/o"},
		{At: mustTime(t, "2026-01-01T10:00:00.1Z"), Verb: "get", Resource: "/version", Code: 200},
		// A watch counts when it completes, at the time it was made.
		{At: mustTime(t, "2026-01-01T10:00:00.5Z"), Verb: "watch", Resource: "workflows", Code: 200},
	}
	if !reflect.DeepEqual(reqs, want) {
		t.Errorf("parseAudit:\n got %+v\nwant %+v", reqs, want)
	}
}

func TestParseAuditAgentAndPages(t *testing.T) {
	const ua = "arc-controller.p3/v0.0.0 (linux/amd64) kubernetes/$Format/informers"
	line := func(uri string) string {
		return `{"stage":"ResponseComplete","verb":"list","requestURI":"` + uri + `","userAgent":"` + ua +
			`","user":{"username":"` + arcUser + `"},"objectRef":{"resource":"orders","apiGroup":"arc.opendefense.cloud"},` +
			`"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-01-01T10:00:00Z"}` + "\n"
	}
	log := line("/apis/arc.opendefense.cloud/v1alpha1/orders?limit=500&resourceVersion=0") +
		line("/apis/arc.opendefense.cloud/v1alpha1/orders?continue=abc&limit=500")
	reqs, bad, err := parseAudit(strings.NewReader(log), arcUser)
	if err != nil || bad != 0 || len(reqs) != 2 {
		t.Fatalf("parseAudit: %+v, %d bad, %v", reqs, bad, err)
	}
	if reqs[0].Agent != ua || reqs[0].Page || !reqs[1].Page || reqs[0].Object != "" {
		t.Errorf("agent, page or object wrong: %+v", reqs)
	}
}

func TestReadAuditFromOffset(t *testing.T) {
	data, err := os.ReadFile("testdata/audit.log")
	if err != nil {
		t.Fatal(err)
	}
	// Skip the first line: a run only reads what was logged after its start.
	off := int64(0)
	for i, b := range data {
		if b == '\n' {
			off = int64(i + 1)
			break
		}
	}
	reqs, _, err := readAuditFrom("testdata/audit.log", off, arcUser)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 4 || reqs[0].Resource != "orders/status" {
		t.Errorf("from offset %d: %+v", off, reqs)
	}
}

func TestCountRequests(t *testing.T) {
	at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	reqs := []request{
		{At: at, Verb: "list", Resource: "orders", Code: 200},
		{At: at, Verb: "update", Resource: "orders/status", Code: 409},
		{At: at, Verb: "update", Resource: "orders/status", Code: 200},
		{At: at, Verb: "create", Resource: "events", Code: 201},
		{At: at, Verb: "patch", Resource: "events", Code: 200},
		{At: at, Verb: "watch", Resource: "orders", Code: 200},
		{At: at, Verb: "watch", Resource: "workflows", Code: 200},
		{At: at, Verb: "delete", Resource: "artifactworkflows", Code: 404},
	}
	got := countRequests(reqs)
	want := []RequestCount{
		{Verb: "update", Resource: "orders/status", Count: 2, Failed: 1, Write: true},
		{Verb: "delete", Resource: "artifactworkflows", Count: 1, Failed: 1, Write: true},
		{Verb: "create", Resource: "events", Count: 1, Write: true},
		{Verb: "patch", Resource: "events", Count: 1, Write: true},
		{Verb: "list", Resource: "orders", Count: 1},
		{Verb: "watch", Resource: "orders", Count: 1},
		{Verb: "watch", Resource: "workflows", Count: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("countRequests:\n got %+v\nwant %+v", got, want)
	}
	if n := countWrites(reqs); n != 5 {
		t.Errorf("countWrites = %d, want 5 (failed writes are requests too)", n)
	}
}

func TestWindowAndLastWrite(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	reqs := []request{
		{At: t0, Verb: "create", Resource: "events"},
		{At: t0.Add(time.Second), Verb: "update", Resource: "orders/status"},
		{At: t0.Add(2 * time.Second), Verb: "get", Resource: "workflows"},
		{At: t0.Add(3 * time.Second), Verb: "create", Resource: "workflows"},
	}
	// [from, to): the start is in, the end is out.
	got := window(reqs, t0.Add(time.Second), t0.Add(3*time.Second))
	if len(got) != 2 || got[0].Resource != "orders/status" || got[1].Resource != "workflows" {
		t.Errorf("window: %+v", got)
	}
	if lw := lastWrite(reqs[:3]); !lw.Equal(t0.Add(time.Second)) {
		t.Errorf("lastWrite = %v, want the update, not the later get", lw)
	}
	if lw := lastWrite(nil); !lw.IsZero() {
		t.Errorf("lastWrite(nil) = %v", lw)
	}
}

func appendFile(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
}

func TestAuditTail(t *testing.T) {
	data, err := os.ReadFile("testdata/audit.log")
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	dir := t.TempDir()
	path := dir + "/audit.log"
	// What was logged before the run started does not count.
	appendFile(t, path, lines[0])
	tail, err := newAuditTail(path, arcUser)
	if err != nil {
		t.Fatal(err)
	}
	// Two complete lines (one of ARC, a watch's ResponseStarted) and half a line.
	appendFile(t, path, lines[1])
	appendFile(t, path, lines[2])
	appendFile(t, path, lines[3][:40])
	reqs, err := tail.refresh()
	if err != nil || len(reqs) != 1 || reqs[0].Code != 409 {
		t.Fatalf("first refresh: %+v, %v", reqs, err)
	}
	// The rest of the line, then the API server rotates the log (renames
	// it, starts a new one) twice before the next refresh.
	appendFile(t, path, lines[3][40:])
	appendFile(t, path, lines[4])
	if err := os.Rename(path, dir+"/audit-2026-01-01T10-00-05.000.log"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, lines[5])
	if err := os.Rename(path, dir+"/audit-2026-01-01T10-00-06.000.log"); err != nil {
		t.Fatal(err)
	}
	for _, l := range lines[6:] {
		appendFile(t, path, l)
	}
	reqs, err = tail.refresh()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range reqs {
		got = append(got, r.Verb+" "+r.Resource)
	}
	want := []string{"update orders/status", "update orders/status", "get /version", "watch workflows"}
	if !reflect.DeepEqual(got, want) || tail.bad != 1 {
		t.Errorf("after rotation: %v (bad %d), want %v (bad 1)", got, tail.bad, want)
	}
	if reqs, _ = tail.refresh(); len(reqs) != 4 {
		t.Errorf("a refresh without new lines changed the requests: %d", len(reqs))
	}
}

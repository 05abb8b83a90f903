package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// auditEvent is the part of a kube-apiserver audit event (audit.k8s.io/v1,
// one JSON object per line) the benchmark reads.
type auditEvent struct {
	Stage      string `json:"stage"`
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	UserAgent  string `json:"userAgent"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		APIGroup    string `json:"apiGroup"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	RequestReceivedTimestamp time.Time `json:"requestReceivedTimestamp"`
	StageTimestamp           time.Time `json:"stageTimestamp"`
}

// request is one completed API request of the audited user.
type request struct {
	// At is when the API server received the request: a request belongs to
	// the moment it was made, even a watch that completes minutes later.
	At       time.Time
	Verb     string
	Resource string // "artifactworkflows/status"; a path for non-resource URLs
	Code     int
	// Object is "resource namespace/name" of the object the request is
	// about (status and other subresources count as the object), empty
	// for requests about no single object (list, watch).
	Object string
	// Agent is the client's user agent; arc-controller's names the binary
	// (its argv[0]) first and the part of the controller last.
	Agent string
	// Page is true for a list request that continues an earlier one (a
	// later page of a paginated list).
	Page bool
}

// writeVerbs are the verbs that change state in the API server.
var writeVerbs = map[string]bool{
	"create": true, "update": true, "patch": true, "delete": true, "deletecollection": true,
}

func (r request) isWrite() bool { return writeVerbs[r.Verb] }

// resourceName is "resource" or "resource/subresource" of an audit event;
// for a non-resource request (e.g. /version) its path without the query.
func resourceName(ev *auditEvent) string {
	if ev.ObjectRef == nil || ev.ObjectRef.Resource == "" {
		path, _, _ := strings.Cut(ev.RequestURI, "?")
		return path
	}
	if ev.ObjectRef.Subresource != "" {
		return ev.ObjectRef.Resource + "/" + ev.ObjectRef.Subresource
	}
	return ev.ObjectRef.Resource
}

// objectName is "resource namespace/name" of the object an audit event is
// about, or "" if it is about no single object.
func objectName(ev *auditEvent) string {
	if ev.ObjectRef == nil || ev.ObjectRef.Name == "" {
		return ""
	}
	return ev.ObjectRef.Resource + " " + key(ev.ObjectRef.Namespace, ev.ObjectRef.Name)
}

// parseAudit reads an audit log from r and returns the requests of user that
// completed (stage ResponseComplete: one per request; the other stages of the
// same request are skipped so nothing is counted twice). Lines that are not
// JSON (a line cut by a concurrent write) are counted in bad, not fatal.
func parseAudit(r io.Reader, user string) (reqs []request, bad int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	// Cheap pre-filter: the JSON of a matching line names the user.
	needle := []byte(`"username":"` + user + `"`)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || !bytes.Contains(line, needle) {
			continue
		}
		var ev auditEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			bad++
			continue
		}
		if ev.Stage != "ResponseComplete" || ev.User.Username != user {
			continue
		}
		code := 0
		if ev.ResponseStatus != nil {
			code = ev.ResponseStatus.Code
		}
		reqs = append(reqs, request{At: ev.RequestReceivedTimestamp, Verb: ev.Verb, Resource: resourceName(&ev), Code: code,
			Object: objectName(&ev), Agent: ev.UserAgent, Page: strings.Contains(ev.RequestURI, "continue=")})
	}
	return reqs, bad, sc.Err()
}

// readAuditFrom parses the audit log at path starting at byte offset off.
func readAuditFrom(path string, off int64, user string) ([]request, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, 0, err
	}
	return parseAudit(f, user)
}

// fileSize is the current size of path (0 if it does not exist).
func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// RequestCount is the number of requests of one verb on one resource.
type RequestCount struct {
	Verb     string `json:"verb"`
	Resource string `json:"resource"`
	Count    int    `json:"count"`
	// Failed counts the requests answered with an HTTP status of 400 or more
	// (for example 409 Conflict).
	Failed int  `json:"failed,omitempty"`
	Write  bool `json:"write"`
}

// window returns the requests completed in [from, to).
func window(reqs []request, from, to time.Time) []request {
	var out []request
	for _, r := range reqs {
		if !r.At.Before(from) && r.At.Before(to) {
			out = append(out, r)
		}
	}
	return out
}

// countRequests groups requests by verb and resource, writes first, then by
// descending count.
func countRequests(reqs []request) []RequestCount {
	type key struct{ verb, res string }
	idx := map[key]int{}
	var out []RequestCount
	for _, r := range reqs {
		k := key{r.Verb, r.Resource}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, RequestCount{Verb: r.Verb, Resource: r.Resource, Write: r.isWrite()})
		}
		out[i].Count++
		if r.Code >= 400 {
			out[i].Failed++
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Write != b.Write {
			return a.Write
		}
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.Resource != b.Resource {
			return a.Resource < b.Resource
		}
		return a.Verb < b.Verb
	})
	return out
}

// countWrites is the number of write requests among reqs.
func countWrites(reqs []request) int {
	n := 0
	for _, r := range reqs {
		if r.isWrite() {
			n++
		}
	}
	return n
}

// lastWrite is the completion time of the latest write in reqs (zero if none).
func lastWrite(reqs []request) time.Time {
	var t time.Time
	for _, r := range reqs {
		if r.isWrite() && r.At.After(t) {
			t = r.At
		}
	}
	return t
}

func (c RequestCount) String() string {
	return fmt.Sprintf("%s %s: %d", c.Verb, c.Resource, c.Count)
}

// auditTail reads an audit log incrementally: each refresh parses only the
// complete lines appended since the last one, so a run can check the log
// every second without reading it all again. It follows the API server's
// log rotation (at --audit-log-maxsize, 100 MB by default, audit.log is
// renamed to audit-<time>.log and a new audit.log started): the position is
// a file, by inode, and an offset in it, and a refresh reads the rest of
// that file, every file rotated after it, and the new audit.log.
type auditTail struct {
	path string
	user string
	ino  uint64
	off  int64
	reqs []request
	bad  int
}

// newAuditTail starts reading path at its current end: what a run reads is
// what was logged after it started.
func newAuditTail(path, user string) (*auditTail, error) {
	t := &auditTail{path: path, user: user}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	t.ino, t.off = inode(st), st.Size()
	return t, nil
}

func inode(st os.FileInfo) uint64 {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return sys.Ino
	}
	return 0
}

// logChain is the audit log's files, oldest first: the rotated
// audit-<time>.log files (the time in the name sorts), then audit.log.
func logChain(path string) ([]string, error) {
	ext := filepath.Ext(path)
	base := strings.TrimSuffix(path, ext)
	rotated, err := filepath.Glob(base + "-*" + ext)
	if err != nil {
		return nil, err
	}
	sort.Strings(rotated)
	return append(rotated, path), nil
}

// refresh parses what was appended and returns every request so far.
func (t *auditTail) refresh() ([]request, error) {
	chain, err := logChain(t.path)
	if err != nil {
		return t.reqs, err
	}
	// Find the file the position is in; every later file is read whole.
	start := len(chain) - 1
	for i, f := range chain {
		if st, err := os.Stat(f); err == nil && inode(st) == t.ino {
			start = i
			break
		}
	}
	for i := start; i < len(chain); i++ {
		st, err := os.Stat(chain[i])
		if err != nil {
			return t.reqs, err
		}
		if ino := inode(st); ino != t.ino {
			t.ino, t.off = ino, 0
		}
		if err := t.readFile(chain[i]); err != nil {
			return t.reqs, err
		}
	}
	return t.reqs, nil
}

// readFile parses the complete lines of file after the offset.
func (t *auditTail) readFile(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil || end <= t.off {
		return err
	}
	buf := make([]byte, end-t.off)
	if _, err := f.ReadAt(buf, t.off); err != nil && err != io.EOF {
		return err
	}
	// A line still being written is left for the next refresh.
	n := bytes.LastIndexByte(buf, '\n') + 1
	if n == 0 {
		return nil
	}
	reqs, bad, err := parseAudit(bytes.NewReader(buf[:n]), t.user)
	if err != nil {
		return err
	}
	t.off += int64(n)
	t.reqs = append(t.reqs, reqs...)
	t.bad += bad
	return nil
}

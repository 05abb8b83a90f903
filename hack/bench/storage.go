package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// The API server compacts etcd's history every five minutes but never
// defragments it, so on a cluster that serves run after run the database
// file only grows: after one large run it was 425 MB, of which the keys
// still alive needed 3 MB. A side of the comparison that starts on a large,
// fragmented database is slower than one that starts on a small one, and
// which side meets a compaction of the API server's in its span is chance.
// So before each timed side the harness compacts etcd's history up to the
// current revision and defragments it: both start from the same storage,
// however many runs the cluster served before.
//
// The harness talks to etcd through its JSON gateway (on by default, on the
// client port), which needs no client library.

// StorageReset is one compaction and defragmentation of etcd before a
// timed side.
type StorageReset struct {
	// Before is the side it was made for.
	Before string `json:"before"`
	// DBMiBBefore and DBMiBAfter are etcd's database file size.
	DBMiBBefore float64 `json:"dbMiBBefore"`
	DBMiBAfter  float64 `json:"dbMiBAfter"`
	Seconds     float64 `json:"seconds"`
}

// etcdStorage maintains the local cluster's etcd.
type etcdStorage struct {
	url    string // http://host:port
	client *http.Client
}

// etcdStatus is the part of etcd's status the harness reads; the gateway
// sends 64-bit integers as strings.
type etcdStatus struct {
	Header struct {
		Revision int64 `json:"revision,string"`
	} `json:"header"`
	DBSize      int64 `json:"dbSize,string"`
	DBSizeInUse int64 `json:"dbSizeInUse,string"`
}

// gatewayError is how the gateway answers a failed call.
type gatewayError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// errAlreadyCompacted is etcd's answer to a compaction to a revision that
// is compacted already (by the API server's own compactor, or an earlier
// reset).
const errAlreadyCompacted = "required revision has been compacted"

// etcd returns the local cluster's etcd, from the port hack/cluster.sh
// recorded.
func (p paths) etcd() (*etcdStorage, error) {
	data, err := os.ReadFile(p.local("cluster", "cluster.env"))
	if err != nil {
		return nil, fmt.Errorf("finding etcd: %w", err)
	}
	port := readClusterEnv(string(data))["ETCD_PORT"]
	if port == "" {
		return nil, fmt.Errorf("finding etcd: no ETCD_PORT in %s", p.local("cluster", "cluster.env"))
	}
	return &etcdStorage{url: "http://127.0.0.1:" + port, client: &http.Client{Timeout: 5 * time.Minute}}, nil
}

// call posts req to the gateway's path and decodes the answer into resp.
func (e *etcdStorage) call(ctx context.Context, path string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	r.Header.Set("Content-Type", "application/json")
	res, err := e.client.Do(r)
	if err != nil {
		return fmt.Errorf("etcd %s: %w", path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("etcd %s: %w", path, err)
	}
	if res.StatusCode != http.StatusOK {
		var ge gatewayError
		if json.Unmarshal(data, &ge) == nil && ge.Message != "" {
			return fmt.Errorf("etcd %s: %s (code %d)", path, ge.Message, ge.Code)
		}
		return fmt.Errorf("etcd %s: HTTP %d: %s", path, res.StatusCode, strings.TrimSpace(string(data)))
	}
	if resp == nil {
		return nil
	}
	if err := json.Unmarshal(data, resp); err != nil {
		return fmt.Errorf("etcd %s: decoding %q: %w", path, data, err)
	}
	return nil
}

func (e *etcdStorage) status(ctx context.Context) (etcdStatus, error) {
	var st etcdStatus
	err := e.call(ctx, "/v3/maintenance/status", struct{}{}, &st)
	return st, err
}

// compact drops the history before rev, physically (etcd has freed the
// space when it answers), so that a defragmentation can give it back.
func (e *etcdStorage) compact(ctx context.Context, rev int64) error {
	err := e.call(ctx, "/v3/kv/compaction", map[string]any{"revision": fmt.Sprint(rev), "physical": true}, nil)
	if err != nil && strings.Contains(err.Error(), errAlreadyCompacted) {
		return nil
	}
	return err
}

func (e *etcdStorage) defragment(ctx context.Context) error {
	return e.call(ctx, "/v3/maintenance/defragment", struct{}{}, nil)
}

// reset compacts etcd's history up to the current revision and
// defragments the database. Watches that are open stay open: only a watch
// started from a revision before the current one would be refused, and the
// API server serves its clients' watches from its own cache.
func (e *etcdStorage) reset(ctx context.Context, before string) (StorageReset, error) {
	start := time.Now()
	st, err := e.status(ctx)
	if err != nil {
		return StorageReset{}, err
	}
	if err := e.compact(ctx, st.Header.Revision); err != nil {
		return StorageReset{}, err
	}
	if err := e.defragment(ctx); err != nil {
		return StorageReset{}, err
	}
	after, err := e.status(ctx)
	if err != nil {
		return StorageReset{}, err
	}
	return StorageReset{
		Before: before, DBMiBBefore: bytesMiB(st.DBSize), DBMiBAfter: bytesMiB(after.DBSize),
		Seconds: round2(time.Since(start).Seconds()),
	}, nil
}

func bytesMiB(b int64) float64 { return mib(b / 1024) }

// resetStorage resets etcd's storage (see reset) before the side named
// before, and keeps what it did for the report.
func (s *session) resetStorage(ctx context.Context, before string) error {
	e, err := s.paths.etcd()
	if err != nil {
		return err
	}
	r, err := e.reset(ctx, before)
	if err != nil {
		return fmt.Errorf("resetting etcd's storage before %s: %w", before, err)
	}
	logf("etcd: history compacted and database defragmented before %s in %.1f s: %.1f MiB -> %.1f MiB",
		before, r.Seconds, r.DBMiBBefore, r.DBMiBAfter)
	s.storageResets = append(s.storageResets, r)
	return nil
}

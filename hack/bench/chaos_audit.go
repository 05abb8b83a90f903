package main

import (
	"sort"
	"strings"
	"time"
)

// processOf is the process an arc-controller user agent names: client-go
// starts it with the binary's argv[0] ("arc-controller.p7/v0.0.0 (linux/amd64)
// kubernetes/$Format/informers" is process arc-controller.p7).
func processOf(agent string) string {
	p, _, _ := strings.Cut(agent, "/")
	return p
}

// partOf is the part of arc-controller a user agent names: its last
// element ("informers", "order-controller", "leader-election", ...).
func partOf(agent string) string {
	return agent[strings.LastIndexByte(agent, '/')+1:]
}

// workRequests drops the requests of arc-controller's leader election: a
// leader renews its Lease every retry period and a standby reads it as
// often, whatever else happens. They are the steady price of leader
// election, neither work on the run's objects nor a loop.
func workRequests(reqs []request) []request {
	var out []request
	for _, r := range reqs {
		if partOf(r.Agent) != "leader-election" {
			out = append(out, r)
		}
	}
	return out
}

// Relists are the lists ARC's informers made beyond the first of each
// resource in each process: an informer lists once when it starts and again
// only when its watch cannot resume (the resource version it wants is
// compacted away, or the watch broke in a way that needs a fresh list).
type Relists struct {
	Total      int            `json:"total"`
	ByResource map[string]int `json:"byResource,omitempty"`
	ByProcess  map[string]int `json:"byProcess,omitempty"`
}

// countRelists counts the relists among reqs: successful list requests of
// the informers' client, first pages only (a paginated list is one list),
// beyond the first per process and resource.
func countRelists(reqs []request) Relists {
	type pr struct{ process, resource string }
	lists := map[pr]int{}
	for _, r := range reqs {
		if !informerList(r) {
			continue
		}
		lists[pr{processOf(r.Agent), r.Resource}]++
	}
	out := Relists{ByResource: map[string]int{}, ByProcess: map[string]int{}}
	for k, n := range lists {
		if n > 1 {
			out.Total += n - 1
			out.ByResource[k.resource] += n - 1
			out.ByProcess[k.process] += n - 1
		}
	}
	return out
}

// informerList tells whether r is a successful list of an informer,
// first page only: one (re)list.
func informerList(r request) bool {
	return r.Verb == "list" && r.Code == 200 && !r.Page && partOf(r.Agent) == "informers"
}

// relistedSince tells whether an informer of one of the processes in old
// (they ran before since) listed at or after since: a relist, as a process
// lists only once when it starts.
func relistedSince(reqs []request, since time.Time, old map[string]bool) bool {
	for _, r := range reqs {
		if !r.At.Before(since) && informerList(r) && old[processOf(r.Agent)] {
			return true
		}
	}
	return false
}

// HotObject is the object with the most requests in one window.
type HotObject struct {
	Object   string    `json:"object,omitempty"`
	Requests int       `json:"requests"`
	From     time.Time `json:"from,omitempty"`
}

// hottestObject finds the object ARC made the most requests about within
// any window of length w: a loop that retries bad input or a conflict
// without backing off shows up here. Requests about no single object do
// not count.
func hottestObject(reqs []request, w time.Duration) HotObject {
	times := map[string][]time.Time{}
	for _, r := range reqs {
		if r.Object != "" {
			times[r.Object] = append(times[r.Object], r.At)
		}
	}
	var best HotObject
	for _, obj := range sortedKeys(times) {
		ts := times[obj]
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
		// Two pointers: ts[lo..hi] all lie within w of ts[lo].
		lo := 0
		for hi := range ts {
			for ts[hi].Sub(ts[lo]) >= w {
				lo++
			}
			if n := hi - lo + 1; n > best.Requests {
				best = HotObject{Object: obj, Requests: n, From: ts[lo]}
			}
		}
	}
	return best
}

// CodeCounts are ARC's failed requests by the status codes that matter
// under faults.
type CodeCounts struct {
	// Conflict409: a write from a stale cache, or a create of what exists.
	Conflict409 int `json:"conflict409"`
	// TooMany429: the API server's max-in-flight limit turned it away.
	TooMany429 int `json:"tooManyRequests429"`
	// Gone410: a list or watch whose resource version was compacted away.
	Gone410 int `json:"gone410"`
	// Server5xx: the API server or etcd failed (restarts).
	Server5xx int `json:"serverError5xx"`
	// OtherFailed: any other status of 400 or more (404 of a delete that
	// raced, 403, ...).
	OtherFailed int `json:"otherFailed"`
}

// countCodes sorts the failed requests among reqs by status code.
func countCodes(reqs []request) CodeCounts {
	var c CodeCounts
	for _, r := range reqs {
		switch {
		case r.Code == 409:
			c.Conflict409++
		case r.Code == 429:
			c.TooMany429++
		case r.Code == 410:
			c.Gone410++
		case r.Code >= 500:
			c.Server5xx++
		case r.Code >= 400:
			c.OtherFailed++
		}
	}
	return c
}

package main

import (
	"reflect"
	"testing"
	"time"
)

const (
	uaInformersP1 = "arc-controller.p01/v0.0.0 (linux/amd64) kubernetes/$Format/informers"
	uaInformersP2 = "arc-controller.p02/v0.0.0 (linux/amd64) kubernetes/$Format/informers"
	uaOrderP1     = "arc-controller.p01/v0.0.0 (linux/amd64) kubernetes/$Format/order-controller"
)

func TestUserAgentParts(t *testing.T) {
	if got := processOf(uaInformersP1); got != "arc-controller.p01" {
		t.Errorf("processOf = %q", got)
	}
	if got := partOf(uaInformersP1); got != "informers" {
		t.Errorf("partOf = %q", got)
	}
}

func TestCountRelists(t *testing.T) {
	list := func(ua, res string, code int, page bool) request {
		return request{Verb: "list", Resource: res, Code: code, Agent: ua, Page: page}
	}
	reqs := []request{
		// p01 starts: one list per resource, the Orders in two pages.
		list(uaInformersP1, "orders", 200, false),
		list(uaInformersP1, "orders", 200, true),
		list(uaInformersP1, "endpoints", 200, false),
		// Its Endpoint watch expired: a relist, first a 429, then it works.
		list(uaInformersP1, "endpoints", 429, false),
		list(uaInformersP1, "endpoints", 200, false),
		// Another part's list is no informer's.
		list(uaOrderP1, "orders", 200, false),
		// p02 is a new process: its first lists are not relists.
		list(uaInformersP2, "orders", 200, false),
		list(uaInformersP2, "endpoints", 200, false),
		// p02 relists the Orders twice.
		list(uaInformersP2, "orders", 200, false),
		list(uaInformersP2, "orders", 200, false),
		{Verb: "watch", Resource: "orders", Code: 200, Agent: uaInformersP2},
	}
	got := countRelists(reqs)
	want := Relists{Total: 3,
		ByResource: map[string]int{"endpoints": 1, "orders": 2},
		ByProcess:  map[string]int{"arc-controller.p01": 1, "arc-controller.p02": 2}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("countRelists = %+v, want %+v", got, want)
	}
	if got := countRelists(reqs[:3]); got.Total != 0 {
		t.Errorf("a start alone is no relist: %+v", got)
	}
}

func TestHottestObject(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	at := func(s float64, obj string) request {
		return request{At: t0.Add(time.Duration(s * float64(time.Second))), Verb: "update", Object: obj}
	}
	reqs := []request{
		// a: 4 requests, but never more than 2 within 10 s.
		at(0, "orders ns/a"), at(5, "orders ns/a"), at(20, "orders ns/a"), at(29, "orders ns/a"),
		// b: a burst of 3 within 10 s (at 30, 35, 39.9), then one at 40 (out).
		at(40, "orders ns/b"), at(30, "orders ns/b"), at(35, "orders ns/b"), at(39.9, "orders ns/b"),
		// Requests about no single object never count.
		at(30, ""), at(30, ""), at(30, ""), at(30, ""),
	}
	got := hottestObject(reqs, 10*time.Second)
	if got.Object != "orders ns/b" || got.Requests != 3 || !got.From.Equal(t0.Add(30*time.Second)) {
		t.Errorf("hottestObject = %+v, want orders ns/b with 3 from +30 s", got)
	}
	if got := hottestObject(nil, 10*time.Second); got.Requests != 0 || got.Object != "" {
		t.Errorf("no requests: %+v", got)
	}
}

func TestCountCodes(t *testing.T) {
	var reqs []request
	for _, c := range []int{200, 201, 409, 409, 429, 410, 500, 503, 404, 403} {
		reqs = append(reqs, request{Code: c})
	}
	want := CodeCounts{Conflict409: 2, TooMany429: 1, Gone410: 1, Server5xx: 2, OtherFailed: 2}
	if got := countCodes(reqs); got != want {
		t.Errorf("countCodes = %+v, want %+v", got, want)
	}
}

func TestWorkRequests(t *testing.T) {
	reqs := []request{
		{Verb: "update", Resource: "leases", Agent: "arc-controller.p05/v0.0.0 (linux/amd64) kubernetes/$Format/leader-election"},
		{Verb: "update", Resource: "orders/status", Agent: uaOrderP1},
	}
	if got := workRequests(reqs); len(got) != 1 || got[0].Resource != "orders/status" {
		t.Errorf("workRequests = %+v", got)
	}
}

func TestQuietProgressCountsLeaseRenewalsApart(t *testing.T) {
	start := time.Now()
	lease := request{At: start.Add(time.Second), Verb: "update", Resource: "leases", Agent: "arc-controller.p05/v0.0.0 (linux/amd64) kubernetes/$Format/leader-election"}
	reqs := []request{
		{At: start.Add(-time.Second), Verb: "update", Resource: "orders/status", Agent: uaOrderP1},
		lease, lease,
		{At: start.Add(2 * time.Second), Verb: "update", Resource: "orders/status", Agent: uaOrderP1},
		{At: start.Add(2 * time.Second), Verb: "get", Resource: "orders", Agent: uaOrderP1},
	}
	want := "quiet window: 1 writes of ARC so far (and 2 Lease renewals)"
	if got := quietProgress(reqs, start); got != want {
		t.Errorf("quietProgress = %q, want %q", got, want)
	}
}

func TestRelistedSince(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	list := func(at time.Duration, ua string, code int, page bool) request {
		return request{At: t0.Add(at), Verb: "list", Resource: "endpoints", Code: code, Agent: ua, Page: page}
	}
	old := map[string]bool{"arc-controller.p01": true}
	cases := []struct {
		name string
		reqs []request
		want bool
	}{
		{"an old process lists after the restart", []request{list(time.Second, uaInformersP1, 200, false)}, true},
		{"it listed only before", []request{list(-time.Second, uaInformersP1, 200, false)}, false},
		{"a new process's first list", []request{list(time.Second, uaInformersP2, 200, false)}, false},
		{"a refused list", []request{list(time.Second, uaInformersP1, 429, false)}, false},
		{"a later page", []request{list(time.Second, uaInformersP1, 200, true)}, false},
		{"another part's list", []request{list(time.Second, uaOrderP1, 200, false)}, false},
	}
	for _, tc := range cases {
		if got := relistedSince(tc.reqs, t0, old); got != tc.want {
			t.Errorf("%s: relistedSince = %v, want %v", tc.name, got, tc.want)
		}
	}
}

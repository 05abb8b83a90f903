package main

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestArithmetic(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	if got := seconds(t0, t0.Add(1500*time.Millisecond+400*time.Microsecond)); got != 1.5 {
		t.Errorf("seconds = %v, want 1.5", got)
	}
	if got := seconds(time.Time{}, t0); got != 0 {
		t.Errorf("seconds from an unset time = %v, want 0", got)
	}
	if got := ratio(30, 12); got != 2.5 {
		t.Errorf("ratio = %v", got)
	}
	if got := ratio(1, 0); got != 0 {
		t.Errorf("ratio over 0 = %v, want 0", got)
	}
	if got := perArtifact(1234, 1000); got != 1.23 {
		t.Errorf("perArtifact = %v", got)
	}
	if got := perArtifact(5, 0); got != 0 {
		t.Errorf("perArtifact of no artifacts = %v", got)
	}
	if got := mib(1536); got != 1.5 {
		t.Errorf("mib = %v", got)
	}
}

func TestLatest(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	got, ok := latest([]time.Time{t0, t0.Add(time.Second), t0.Add(-time.Second)})
	if !ok || !got.Equal(t0.Add(time.Second)) {
		t.Errorf("latest = %v %v", got, ok)
	}
	if _, ok := latest([]time.Time{t0, {}}); ok {
		t.Error("latest with an unset time must not be ok")
	}
	if _, ok := latest(nil); ok {
		t.Error("latest of nothing must not be ok")
	}
}

func TestCumulative(t *testing.T) {
	ref := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	got := cumulative([]time.Time{ref.Add(2 * time.Second), ref.Add(-time.Second), {}, ref.Add(time.Second)}, ref)
	want := []Sample{{T: -1, V: 1}, {T: 1, V: 2}, {T: 2, V: 3}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cumulative = %+v, want %+v", got, want)
	}
}

func TestParseProc(t *testing.T) {
	status := "Name:\tarc-controller\nVmPeak:\t 1300000 kB\nVmHWM:\t   61440 kB\nVmRSS:\t   40960 kB\n" +
		"RssAnon:\t   10240 kB\nRssFile:\t   30720 kB\nRssShmem:\t       0 kB\nThreads:\t12\n"
	got, err := parseProcStatus(status)
	want := procMemory{RSSKiB: 40960, HWMKiB: 61440, AnonKiB: 10240, FileKiB: 30720}
	if err != nil || got != want {
		t.Errorf("parseProcStatus = %+v, %v; want %+v", got, err, want)
	}
	if _, err := parseProcStatus("Name:\tx\n"); err == nil {
		t.Error("parseProcStatus without VmHWM must fail")
	}
	if _, err := parseProcStatus("VmHWM:\t 1 kB\nRssAnon:\t x kB\n"); err == nil {
		t.Error("parseProcStatus with a malformed RssAnon must fail")
	}
	// The command name may contain spaces and parentheses.
	stat := "4242 (arc (ctrl) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 566 0 0 20 0 12 0 100 1000 200"
	cpu, err := parseProcStat(stat)
	if err != nil || cpu != 18.0 {
		t.Errorf("parseProcStat = %v %v, want 18 s (1234+566 ticks)", cpu, err)
	}
	if _, err := parseProcStat("4242 (x) S 1"); err == nil {
		t.Error("parseProcStat of a short line must fail")
	}
}

func TestReadClusterEnv(t *testing.T) {
	env := readClusterEnv("ETCD_PORT=1\nAPISERVER_PORT=2\nAUDIT_POLICY=/w/hack/bench/audit-policy.yaml\nEMPTY=''\n")
	if env["AUDIT_POLICY"] != "/w/hack/bench/audit-policy.yaml" || env["APISERVER_PORT"] != "2" || env["EMPTY"] != "" {
		t.Errorf("readClusterEnv = %v", env)
	}
}

func TestNewOrder(t *testing.T) {
	o := newOrder("bench-arc-1", 7, 6)
	if o.Name != "order-00007" || o.Namespace != "bench-arc-1" || len(o.Spec.Artifacts) != 6 {
		t.Fatalf("order %s/%s with %d artifacts", o.Namespace, o.Name, len(o.Spec.Artifacts))
	}
	types := map[string]int{}
	specs := map[string]bool{}
	for _, a := range o.Spec.Artifacts {
		types[a.Type]++
		specs[string(a.Spec.Raw)] = true
	}
	if !reflect.DeepEqual(types, map[string]int{typeOCI: 2, typeHelm: 2, typeFile: 2}) {
		t.Errorf("types = %v", types)
	}
	if len(specs) != 6 {
		t.Errorf("artifacts must be distinct, got %d distinct specs", len(specs))
	}
	if orderNamespace(nsPrefixARC, 9, 4) != "bench-arc-1" {
		t.Error("orderNamespace must spread round-robin")
	}
}

func TestPrintTable(t *testing.T) {
	r := &Result{Scale: "default", Mode: "simulated-argo", Orders: 2, ArtifactsPerOrder: 3, Artifacts: 6, Namespaces: 1,
		Ratio: 1.75, WritesPerArtifact: 6.5, AuditUser: arcUser,
		Requests: []RequestCount{{Verb: "create", Resource: "workflows", Count: 6, Write: true}}}
	var buf bytes.Buffer
	printTable(&buf, r)
	wantInTable(t, buf.String(), "ARC / baseline", "1.75", "6.50", "create", "workflows", "total")
}

// wantInTable fails the test for every one of wants a printed table lacks.
func wantInTable(t *testing.T, table string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %q:\n%s", want, table)
		}
	}
}

func TestLatencyFiguresAreNearestRankPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // out of order on purpose
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := latencyFigures(ds)
	if got.Orders != 100 || got.P50Millis != 50 || got.P99Millis != 99 || got.MaxMillis != 100 {
		t.Errorf("latencyFigures(1..100 ms) = %+v, want 100 Orders, p50 50, p99 99, max 100", got)
	}
	if one := latencyFigures([]time.Duration{1500 * time.Microsecond}); one.P99Millis != 1.5 || one.P50Millis != 1.5 {
		t.Errorf("a single sample is every percentile: %+v", one)
	}
	if none := latencyFigures(nil); none != (LatencyFigures{}) {
		t.Errorf("no samples: %+v", none)
	}
}

func TestMedianRatio(t *testing.T) {
	rounds := func(ratios ...float64) []RoundFigures {
		out := make([]RoundFigures, len(ratios))
		for i, r := range ratios {
			out[i] = RoundFigures{Round: i + 1, Ratio: r}
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		rounds []RoundFigures
		want   float64
	}{
		{"no round gives 0", nil, 0},
		{"one round is its own median", rounds(1.44), 1.44},
		{"an odd count takes the middle of the sorted ratios", rounds(1.91, 1.15, 1.43, 1.66, 1.44), 1.44},
		{"an even count takes the mean of the middle two", rounds(1.3, 0.9, 1.1, 2.0), 1.2},
		{"one slow outlier moves it by at most one rank", rounds(1.0, 1.1, 9.9), 1.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := medianRatio(tc.rounds); got != tc.want {
				t.Errorf("medianRatio = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRoundPrefixesKeepRoundsApart(t *testing.T) {
	arc2, fast2 := roundPrefixes(2)
	arc3, _ := roundPrefixes(3)
	for _, p := range []string{arc2, fast2, arc3} {
		if !inBench(p + "0") {
			t.Errorf("%s0 is not tracked", p)
		}
		for _, other := range []string{nsPrefixARC, nsPrefixBase, nsPrefixFast} {
			if strings.HasPrefix(p, other) {
				t.Errorf("%s would be counted with round 1's %s", p, other)
			}
		}
	}
	if arc2 == arc3 {
		t.Errorf("rounds 2 and 3 share the prefix %s", arc2)
	}
}

func TestRSSSamplerPeakTakesEachPartOnItsOwn(t *testing.T) {
	s := &rssSampler{}
	s.add(procMemory{RSSKiB: 100, HWMKiB: 100, AnonKiB: 70, FileKiB: 30})
	s.add(procMemory{RSSKiB: 90, HWMKiB: 100, AnonKiB: 50, FileKiB: 40})
	want := procMemory{RSSKiB: 100, HWMKiB: 100, AnonKiB: 70, FileKiB: 40}
	if got := s.peak(); got != want {
		t.Errorf("peak = %+v, want %+v", got, want)
	}
	anon := s.samples(s.at[0], func(m procMemory) int64 { return m.AnonKiB })
	if len(anon) != 2 || anon[0].V != mib(70) || anon[1].V != mib(50) {
		t.Errorf("anonymous samples = %+v", anon)
	}
}

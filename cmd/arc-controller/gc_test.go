package main

import (
	"context"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAdaptiveGC(t *testing.T) {
	tests := []struct {
		name         string
		env          map[string]string
		wantGOGC     string
		wantAdaptive bool
	}{
		{name: "without GOGC the controller sets the target",
			env: map[string]string{}, wantGOGC: "adaptive, 100 down to 25", wantAdaptive: true},
		{name: "GOGC in the environment is left as the runtime applied it",
			env: map[string]string{"GOGC": "200"}, wantGOGC: "200"},
		{name: "GOGC=off is left too",
			env: map[string]string{"GOGC": "off"}, wantGOGC: "off"},
		{name: "an empty GOGC counts as unset",
			env: map[string]string{"GOGC": ""}, wantGOGC: "adaptive, 100 down to 25", wantAdaptive: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gogc, adaptive := adaptiveGC(func(k string) (string, bool) {
				v, ok := tt.env[k]
				return v, ok
			})
			assert.Equal(t, tt.wantGOGC, gogc)
			assert.Equal(t, tt.wantAdaptive, adaptive)
		})
	}
}

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name string
		live uint64
		want int
	}{
		{"before the first collection Go's default", 0, 100},
		{"a small heap keeps Go's default", 4 * mib, 100},
		{"up to the headroom Go's default", 12 * mib, 100},
		{"above it the headroom stays at 12 MiB", 15 * mib, 80},
		{"in whole percent", 17 * mib, 70},
		{"at twice the headroom half", 24 * mib, 50},
		{"at four times the headroom a quarter", 48 * mib, 25},
		{"never below 25", 200 * mib, 25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := gcPercentFor(tt.live)
			assert.Equal(t, tt.want, got)
			if tt.live > 0 && got > minGCPercent {
				assert.LessOrEqual(t, tt.live*uint64(got)/100, uint64(gcHeadroomBytes), "the headroom exceeds its cap")
			}
		})
	}
}

// TestTuneGCFollowsTheLiveHeap drives tuneGC with a live heap that grows and
// shrinks, and checks that the target follows it and is set only when the
// change is worth making.
func TestTuneGCFollowsTheLiveHeap(t *testing.T) {
	const mib = 1 << 20
	lives := []uint64{0, 8 * mib, 12 * mib, 15 * mib, 15*mib + 1000, 15*mib + 3*mib/4, 16*mib + mib/2, 30 * mib, 29 * mib, 10 * mib}
	var set []int
	live, tick := make(chan uint64), make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		liveHeap := func() uint64 {
			select {
			case v := <-live:
				return v
			case <-ctx.Done():
				return 10 * mib // the last reading again: no change
			}
		}
		tuneGC(ctx, liveHeap, func(p int) int { set = append(set, p); return 0 }, tick)
	}()
	for i, v := range lives {
		if i > 0 {
			tick <- time.Time{}
		}
		live <- v
	}
	cancel()
	<-done
	// Every fall is made; a rise only by five points (not 40 to 41 at
	// 29 MiB) or to 100.
	assert.Equal(t, []int{100, 80, 79, 76, 72, 40, 100}, set)
}

// TestStartGCTuningSetsTheRuntimesTarget checks that the tuner acts on the
// runtime: with the target set far from anything gcPercentFor returns, it
// must be back within gcPercentFor's range soon after the start.
func TestStartGCTuningSetsTheRuntimesTarget(t *testing.T) {
	const untouched = 123
	prev := debug.SetGCPercent(untouched)
	defer debug.SetGCPercent(prev)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	startGCTuning(ctx)
	require.Eventually(t, func() bool {
		p := debug.SetGCPercent(untouched)
		debug.SetGCPercent(p)
		return p != untouched
	}, 5*time.Second, 10*time.Millisecond, "the tuner never set the collector's target")
	p := debug.SetGCPercent(untouched)
	assert.GreaterOrEqual(t, p, minGCPercent)
	assert.LessOrEqual(t, p, maxGCPercent)
}

package main

import (
	"testing"
	"time"
)

func TestNextBackoff(t *testing.T) {
	steps := []struct {
		prev, ran, want time.Duration
	}{
		{0, time.Second, minBackoff},
		{minBackoff, time.Second, 2 * minBackoff},
		{4 * time.Second, time.Second, maxBackoff},
		{maxBackoff, time.Second, maxBackoff},
		{maxBackoff, stableAfter, minBackoff},
	}
	for _, s := range steps {
		if got := nextBackoff(s.prev, s.ran); got != s.want {
			t.Errorf("nextBackoff(%s, ran %s) = %s, want %s", s.prev, s.ran, got, s.want)
		}
	}
}

func TestIdentityRE(t *testing.T) {
	line := `I1130 05:44:13.090000   17786 run.go:97] "Waiting for the leader election Lease" logger="arc-controller" lease="arc-system/arc-controller" identity="host_4f1c2a9e-0b7d-4c1e-9d0e-2b6f3a1c9e77"`
	m := identityRE.FindStringSubmatch("I1130 other line identity=\"nope\"\n" + line + "\n")
	if m == nil || m[1] != "host_4f1c2a9e-0b7d-4c1e-9d0e-2b6f3a1c9e77" {
		t.Errorf("identity from %q: %v", line, m)
	}
}

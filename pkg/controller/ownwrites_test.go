package controller

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/client-go/tools/cache"
)

func TestOwnWrites(t *testing.T) {
	key := cache.ObjectName{Namespace: "ns", Name: "aw"}
	other := cache.ObjectName{Namespace: "ns", Name: "other"}
	cases := []struct {
		name string
		run  func(w *OwnWrites) []bool
		want []bool
		// wantLen is how many records remain.
		wantLen int
	}{
		{
			name:    "without a write nothing is stale",
			run:     func(w *OwnWrites) []bool { return []bool{w.Stale(key, "1"), w.Observed(key, "2")} },
			want:    []bool{false, false},
			wantLen: 0,
		},
		{
			name: "the replaced version is stale until the cache catches up, which queues the skipped sync",
			run: func(w *OwnWrites) []bool {
				w.Wrote(key, "1")
				return []bool{w.Stale(key, "1"), w.Observed(key, "2")}
			},
			want:    []bool{true, true},
			wantLen: 0,
		},
		{
			name: "a cache update without a skipped sync queues nothing",
			run: func(w *OwnWrites) []bool {
				w.Wrote(key, "1")
				return []bool{w.Observed(key, "2"), w.Stale(key, "2")}
			},
			want:    []bool{false, false},
			wantLen: 0,
		},
		{
			name: "an event of the replaced version itself does not count as catching up",
			run: func(w *OwnWrites) []bool {
				w.Wrote(key, "1")
				return []bool{w.Stale(key, "1"), w.Observed(key, "1"), w.Observed(key, "2")}
			},
			want:    []bool{true, false, true},
			wantLen: 0,
		},
		{
			name: "a newer cached version is not stale and drops the record",
			run: func(w *OwnWrites) []bool {
				w.Wrote(key, "1")
				return []bool{w.Stale(key, "5"), w.Stale(key, "1")}
			},
			want:    []bool{false, false},
			wantLen: 0,
		},
		{
			name: "records of different objects are apart",
			run: func(w *OwnWrites) []bool {
				w.Wrote(key, "1")
				return []bool{w.Stale(other, "1"), w.Stale(key, "1")}
			},
			want:    []bool{false, true},
			wantLen: 1,
		},
		{
			name: "forgetting a deleted object drops its record",
			run: func(w *OwnWrites) []bool {
				w.Wrote(key, "1")
				w.Forget(key)
				return []bool{w.Stale(key, "1")}
			},
			want:    []bool{false},
			wantLen: 0,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := NewOwnWrites()
			assert.Equal(t, tc.want, tc.run(w))
			assert.Equal(t, tc.wantLen, w.Len())
		})
	}
}

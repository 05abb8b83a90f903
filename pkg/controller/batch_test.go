package controller

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSlowStartBatch(t *testing.T) {
	boom := errors.New("refused")
	for _, tc := range []struct {
		name          string
		count         int
		failAt        int // index whose call fails; -1: none
		wantCalls     int
		wantSuccesses int
		wantErr       error
	}{
		{"nothing to do", 0, -1, 0, 0, nil},
		{"every call runs once", 100, -1, 100, 100, nil},
		{"a failure in the first batch stops everything after it", 10, 0, 1, 0, boom},
		// Batches 1, 2, 4: index 5 is in the third, which runs to its end.
		{"a failure ends the batch it is in", 100, 5, 7, 6, boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			called := map[int]int{}
			n, err := SlowStartBatch(tc.count, SlowStartInitialBatchSize, func(i int) error {
				mu.Lock()
				called[i]++
				mu.Unlock()
				if i == tc.failAt {
					return boom
				}
				return nil
			})
			assert.Equal(t, tc.wantSuccesses, n)
			assert.ErrorIs(t, err, tc.wantErr)
			if tc.wantErr == nil {
				assert.NoError(t, err)
			}
			assert.Len(t, called, tc.wantCalls)
			for i, c := range called {
				assert.Equal(t, 1, c, "index %d called %d times", i, c)
				assert.Less(t, i, tc.wantCalls, "indexes are handed out in order")
			}
		})
	}
}

// The calls of a batch run at the same time, and never more than
// MaxBatchSize of them.
func TestSlowStartBatchRunsBatchesInParallelWithinBound(t *testing.T) {
	var inFlight, peak atomic.Int64
	release := make(chan struct{})
	var started sync.WaitGroup
	// The first batches are 1, 2, 4, 8, 16, 32, 32: hold the calls of the
	// 32-call batch until all of them are in flight.
	count := 1 + 2 + 4 + 8 + 16 + MaxBatchSize + MaxBatchSize
	started.Add(MaxBatchSize)
	go func() { started.Wait(); close(release) }()
	var calls atomic.Int64
	_, err := SlowStartBatch(count, SlowStartInitialBatchSize, func(i int) error {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if c := calls.Add(1); c > 31 && c <= 31+MaxBatchSize {
			started.Done()
			<-release
		}
		return nil
	})
	assert.NoError(t, err)
	assert.EqualValues(t, count, calls.Load())
	assert.EqualValues(t, MaxBatchSize, peak.Load(), "one batch runs its calls at once, and no more than MaxBatchSize")
}

package controller

import "sync"

// SlowStartInitialBatchSize is the first batch of SlowStartBatch: one call
// that tells whether the API server takes the kind of request at all.
const SlowStartInitialBatchSize = 1

// MaxBatchSize bounds the calls one SlowStartBatch makes at once. The
// client's rate limiter bounds the rate; this bounds the requests one sync
// holds open, so that a few syncs of large Orders stay within the API
// server's default limit of 200 mutating requests in flight.
const MaxBatchSize = 32

// SlowStartBatch calls fn for each index in [0, count) in batches that run
// in parallel and double in size (1, 2, 4, ... up to MaxBatchSize), as the
// ReplicaSet and Job controllers create their pods: many calls that all fail
// the same way (a quota, an admission policy, an API server that is away)
// stop after a few, while calls that succeed soon run many at once. A batch
// in which any call fails is the last one; it returns how many calls
// succeeded and the first error. fn must be safe for concurrent use.
func SlowStartBatch(count, initial int, fn func(i int) error) (int, error) {
	next, successes := 0, 0
	for size := min(count, max(1, initial)); size > 0; size = min(2*size, MaxBatchSize, count-next) {
		errs := make([]error, size)
		var wg sync.WaitGroup
		for j := range size {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[j] = fn(next + j)
			}()
		}
		wg.Wait()
		next += size
		for _, err := range errs {
			if err == nil {
				successes++
			}
		}
		for _, err := range errs {
			if err != nil {
				return successes, err
			}
		}
	}
	return successes, nil
}

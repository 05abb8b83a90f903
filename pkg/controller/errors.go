package controller

import (
	"errors"
	"time"
)

// invalidInputError marks a failed sync whose cause is bad user input that
// has already been reported (status message and Warning event). Retrying
// cannot help: the object is synced again when it, or something it refers
// to, changes.
type invalidInputError struct{ err error }

func (e *invalidInputError) Error() string { return e.err.Error() }
func (e *invalidInputError) Unwrap() error { return e.err }

// InvalidInput wraps err so the worker forgets the key instead of retrying it.
func InvalidInput(err error) error {
	if err == nil {
		return nil
	}
	return &invalidInputError{err: err}
}

// IsInvalidInput tells whether err, or an error it wraps, came from InvalidInput.
func IsInvalidInput(err error) bool {
	var target *invalidInputError
	return errors.As(err, &target)
}

// requeueAfterError asks the worker to look at the key again after a delay,
// without counting it as a failure: for waiting on something no informer
// reports, such as a foreign object going away.
type requeueAfterError struct {
	reason string
	after  time.Duration
}

func (e *requeueAfterError) Error() string { return e.reason }

// RequeueAfter returns an error that makes the worker sync the key again after d.
func RequeueAfter(d time.Duration, reason string) error {
	return &requeueAfterError{reason: reason, after: d}
}

// requeueDelay reports the delay of a RequeueAfter error.
func requeueDelay(err error) (time.Duration, bool) {
	var target *requeueAfterError
	if errors.As(err, &target) {
		return target.after, true
	}
	return 0, false
}

// Package controller holds what ARC's controllers share: the worker loop
// around a named, rate-limited workqueue, the error policy that decides
// whether a failed sync is retried, and small helpers for event handlers.
//
// Each controller lives in its own package below this one and provides a
// sync function; Run drives it.
package controller

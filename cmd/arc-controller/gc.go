package main

import (
	"runtime/debug"
	"strconv"
)

// defaultGCPercent is the garbage collector's target (GOGC) unless the
// environment sets one. Most of the controller's heap is its caches, which
// live as long as the process: Go's default of 100 lets the heap grow to
// twice what is live before it collects, so that half of a large
// controller's memory would be garbage waiting for the next collection. At
// 50 the heap grows by half of what is live; a collection costs the same
// (it marks what is live) and comes twice as often, for a controller that
// spends a few percent of its CPU collecting (see the README's
// Configuration for the measured cost). Prometheus lowered its default to
// 50 for the same reason.
const defaultGCPercent = 50

// setGCPercent sets the collector's target to defaultGCPercent, unless GOGC
// is set in the environment (the runtime has applied it already); an empty
// GOGC counts as unset, as a Deployment's empty value means. It returns
// the target in force as GOGC spells it, and whether it is the default.
func setGCPercent(lookupEnv func(string) (string, bool)) (gogc string, isDefault bool) {
	if v, ok := lookupEnv("GOGC"); ok && v != "" {
		return v, false
	}
	debug.SetGCPercent(defaultGCPercent)
	return strconv.Itoa(defaultGCPercent), true
}

// Package schedule checks the schedules of artifacts that run on a cron
// schedule, the way Argo's CronWorkflow controller will read them, so that
// a bad one is reported on the Order instead of failing quietly in Argo.
//
// The package is pure: it reads no clock (the interval check uses a fixed
// week of the calendar) and calls no API.
package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"
	// Time zones are checked against the IANA database built into the
	// binary, so the check does not depend on the files of the image ARC
	// runs in.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// DefaultMinInterval is the least time between two runs of a schedule
// unless the controller is told otherwise: scheduled runs copy artifacts
// again and again, and a schedule of every minute is almost always a
// mistake that loads registries and the cluster.
const DefaultMinInterval = 10 * time.Minute

// The week over which Validate measures the time between runs: it has a
// month's and a year's end and every day of the week, where the gaps
// between fire times of day-of-month and day-of-week fields show. A fixed
// week keeps the answer the same at every sync.
var (
	checkFrom = time.Date(2024, time.December, 26, 0, 0, 0, 0, time.UTC)
	checkTo   = checkFrom.Add(7 * 24 * time.Hour)
)

// maxFireTimes bounds the work of measuring one schedule. A schedule that
// keeps the minimum interval fires at most a week / minInterval times; one
// that fires more often is caught at its first short gap.
const maxFireTimes = 20000

// Validate returns why c cannot run as an Argo CronWorkflow, or nil: a
// schedule that is not a standard cron expression (five fields, or a
// descriptor such as @daily), one that carries its own time zone, a time
// zone that does not exist, or schedules that together fire less than
// minInterval apart. Messages name the schedule and say what to write.
func Validate(c *arcv1.Cron, minInterval time.Duration) error {
	if c == nil {
		return nil
	}
	if len(c.Schedules) == 0 {
		return errors.New("cron.schedules is empty: give at least one cron expression, e.g. \"0 3 * * *\"")
	}
	if len(c.Schedules) > arcv1.MaxSchedules {
		return fmt.Errorf("cron.schedules has %d entries, at most %d are allowed", len(c.Schedules), arcv1.MaxSchedules)
	}
	loc := time.UTC
	if c.Timezone != "" {
		l, err := time.LoadLocation(c.Timezone)
		if err != nil || c.Timezone == "Local" {
			return fmt.Errorf("cron.timezone %q is not a time zone: write an IANA name such as \"Europe/Berlin\" or \"UTC\"", c.Timezone)
		}
		loc = l
	}
	var errs []error
	schedules := make([]cron.Schedule, 0, len(c.Schedules))
	for i, s := range c.Schedules {
		parsed, err := parse(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("cron.schedules[%d] %q: %w", i, s, err))
			continue
		}
		schedules = append(schedules, parsed)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if gap, a, b := shortestGap(schedules, loc, minInterval); gap < minInterval {
		return fmt.Errorf("the schedules run %s apart (at %s and %s), less than the minimum of %s between two runs: run less often",
			gap, a.In(loc).Format("Mon 2006-01-02 15:04:05 MST"), b.In(loc).Format("15:04:05"), minInterval)
	}
	return nil
}

// parse reads one schedule as Argo does (robfig/cron's standard parser).
func parse(s string) (cron.Schedule, error) {
	trimmed := strings.TrimSpace(s)
	if strings.HasPrefix(trimmed, "TZ=") || strings.HasPrefix(trimmed, "CRON_TZ=") {
		return nil, errors.New("a schedule may not name a time zone: set cron.timezone instead")
	}
	parsed, err := cron.ParseStandard(trimmed)
	if err != nil {
		return nil, fmt.Errorf("not a cron expression (%v): write five fields, minute hour day-of-month month day-of-week, e.g. \"*/15 * * * *\", or a descriptor such as @hourly", err)
	}
	return parsed, nil
}

// shortestGap returns the shortest time between two consecutive fire times
// of all schedules together within the week checked, and those two times.
// It stops at the first gap shorter than stopBelow. Times that two
// schedules share are one run: Argo names a run after its time, so it
// starts only one.
func shortestGap(schedules []cron.Schedule, loc *time.Location, stopBelow time.Duration) (time.Duration, time.Time, time.Time) {
	best := time.Duration(1<<63 - 1)
	var bestA, bestB time.Time
	// next holds each schedule's next fire time; merging them walks all fire
	// times in order without storing them.
	next := make([]time.Time, len(schedules))
	start := checkFrom.In(loc)
	for i, s := range schedules {
		next[i] = s.Next(start)
	}
	var prev time.Time
	for n := 0; n < maxFireTimes*len(schedules); n++ {
		i := earliest(next)
		t := next[i]
		if t.IsZero() || t.After(checkTo) {
			break
		}
		if !prev.IsZero() && t.After(prev) {
			if gap := t.Sub(prev); gap < best {
				best, bestA, bestB = gap, prev, t
				if best < stopBelow {
					break
				}
			}
		}
		if t.After(prev) {
			prev = t
		}
		next[i] = schedules[i].Next(t)
	}
	return best, bestA, bestB
}

// earliest is the index of the earliest non-zero time (zero: never fires again).
func earliest(ts []time.Time) int {
	best := 0
	for i, t := range ts {
		if t.IsZero() {
			continue
		}
		if ts[best].IsZero() || t.Before(ts[best]) {
			best = i
		}
	}
	return best
}

// Describe is a short form of c for messages: its schedules, time zone and policy.
func Describe(c *arcv1.Cron) string {
	if c == nil {
		return ""
	}
	s := strings.Join(quoteAll(c.Schedules), ", ")
	if c.Timezone != "" {
		s += " in " + c.Timezone
	}
	policy := c.ConcurrencyPolicy
	if policy == "" {
		policy = arcv1.ConcurrencyAllow
	}
	return s + ", concurrencyPolicy " + string(policy)
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

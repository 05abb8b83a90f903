package specschema

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// MaxListedViolations is how many violations Error.Error lists before
// summarising the rest as "and N more". The message ends up in an Order's
// status condition and in events, which must stay readable and small; the
// full list stays available in Error.Violations.
const MaxListedViolations = 10

// Bounds on how much of a single violation Error.Error prints. Violations
// echo the offending value, which comes from the (user-controlled) spec and
// can be arbitrarily long.
const (
	maxValueChars     = 64
	maxViolationChars = 512
)

// omitValue makes a field.Error print its type without a value, for errors
// whose value is either absent or too large to echo.
var omitValue = field.OmitValueType{}

// Error is the error returned by Compile and Validate. It carries every
// violation found so that callers can, for instance, count them or map them
// to conditions, while its message stays bounded.
type Error struct {
	// Violations lists every problem found, sorted by field path, then
	// message, without duplicates. It is never empty.
	Violations field.ErrorList
}

// newError sorts and de-duplicates errs so that the same input always
// yields the same message: the underlying validators walk Go maps and so
// report in random order, and some checks overlap.
func newError(errs field.ErrorList) *Error {
	sorted := make(field.ErrorList, 0, len(errs))
	seen := make(map[string]bool, len(errs))
	for _, e := range errs {
		if msg := e.Error(); !seen[msg] {
			seen[msg] = true
			sorted = append(sorted, e)
		}
	}
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Field != sorted[j].Field {
			return sorted[i].Field < sorted[j].Field
		}
		return sorted[i].Error() < sorted[j].Error()
	})
	return &Error{Violations: sorted}
}

// Error lists the first MaxListedViolations violations separated by "; ",
// each shortened if it echoes a long value, followed by
// "; and N more violations" when some were left out.
func (e *Error) Error() string {
	var b strings.Builder
	for i, v := range e.Violations {
		if i == MaxListedViolations {
			fmt.Fprintf(&b, "; and %d more violations", len(e.Violations)-MaxListedViolations)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(truncate(shortened(v).Error(), maxViolationChars))
	}
	return b.String()
}

// shortened returns v with its echoed value cut to maxValueChars, so that a
// huge offending string or object cannot crowd out the explanation that
// follows it.
func shortened(v *field.Error) *field.Error {
	var s string
	switch bad := v.BadValue.(type) {
	case string:
		s = bad
	case nil, field.OmitValueType, bool, int64, int32, int, float64, float32:
		return v
	default:
		raw, err := json.Marshal(bad)
		if err != nil {
			return v
		}
		s = string(raw)
		if utf8.RuneCountInString(s) <= maxValueChars {
			return v
		}
	}
	if utf8.RuneCountInString(s) <= maxValueChars {
		return v
	}
	c := *v
	c.BadValue = truncate(s, maxValueChars)
	return &c
}

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	const mark = "...(truncated)"
	runes := []rune(s)
	return string(runes[:n-utf8.RuneCountInString(mark)]) + mark
}

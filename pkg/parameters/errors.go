package parameters

import (
	"strconv"
	"unicode/utf8"
)

// Error is returned for invalid specs; Path names the offending JSON path
// (e.g. `spec.items[2].name`), Reason says what is wrong.
//
// Paths start at "spec", the artifact's spec field, and are meant to be read
// by the author of the Order: the controller can put Error() into a status
// message as it is, prefixed with which artifact it concerns.
type Error struct {
	// Path is the JSON path of the offending value, or of the object holding
	// an offending key: "spec", "spec.items[2]", "spec.foo.bar".
	Path string
	// Reason says what is wrong at Path, in words for a status message.
	Reason string
}

// Error returns "<path>: <reason>", for example
// `spec.items[2]: key "a b" holds characters a workflow parameter name cannot hold (letters, digits, '-' and '_' only)`.
func (e *Error) Error() string {
	return e.Path + ": " + e.Reason
}

// maxQuotedLength bounds how much of a key an error message repeats. Keys can
// be as long as the spec, but a status message should stay readable.
const maxQuotedLength = 64

// shorten cuts s to at most maxQuotedLength bytes, on a rune boundary, and
// marks the cut with "...".
func shorten(s string) string {
	if len(s) <= maxQuotedLength {
		return s
	}
	cut := maxQuotedLength
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// quoteKey renders a key for an error message: quoted, so that spaces and
// empty keys are visible, and shortened.
func quoteKey(key string) string {
	return strconv.Quote(shorten(key))
}

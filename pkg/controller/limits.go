package controller

import (
	"fmt"
	"unicode/utf8"
)

// DefaultMaxParameterBytes bounds the parameters of one artifact, names and
// values together, by default: 32 KiB, a hundred times what the OCI example
// needs. Parameters are copied into the ArtifactWorkflow, the Workflow and
// every pod of the Workflow, so a spec that flattens into megabytes would
// multiply.
const DefaultMaxParameterBytes = 32 << 10

// DefaultMaxMessageBytes bounds each message ARC copies into a status by
// default: an Argo or step message, a validation error listing many fields.
// 1 KiB holds any message a person reads; an Order of 250 artifacts then
// carries at most 250 KiB of messages, far below etcd's object limit.
const DefaultMaxMessageBytes = 1 << 10

// MinMaxMessageBytes is the smallest bound a flag may set: room for a
// sentence and the truncation marker.
const MinMaxMessageBytes = 128

// TruncateMessage returns msg cut to at most max bytes, on a UTF-8
// boundary, ending in a marker that says how much was cut, so a reader never
// mistakes a cut message for a whole one. A message within max is returned
// as it is.
func TruncateMessage(msg string, max int) string {
	if len(msg) <= max {
		return msg
	}
	marker := fmt.Sprintf(" ... (%d bytes cut)", len(msg))
	keep := max - len(marker)
	if keep < 0 {
		keep = 0
	}
	for keep > 0 && !utf8.RuneStart(msg[keep]) {
		keep--
	}
	return msg[:keep] + fmt.Sprintf(" ... (%d bytes cut)", len(msg)-keep)
}

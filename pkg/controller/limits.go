package controller

import (
	"fmt"
	"time"
	"unicode/utf8"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// DefaultMaxParameterBytes bounds the parameters of one artifact, names and
// values together, by default: 32 KiB, a hundred times what the OCI example
// needs. Parameters are copied into the ArtifactWorkflow, the Workflow and
// every pod of the Workflow, so a spec that flattens into megabytes would
// multiply.
const DefaultMaxParameterBytes = 32 << 10

// DefaultMaxMessageBytes bounds each message ARC copies into a status by
// default: an Argo or step message, a validation error listing many fields.
// 1 KiB holds any message a person reads. An Order's status shares a
// budget among its artifacts' messages (see the Order controller), so a
// large Order stays far below etcd's object limit.
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

// RefusedRecheck is how long a controller waits before it tries again a
// create the API server refused (see RefusedByAPIServer): no event says when
// a quota or an admission policy relents.
const RefusedRecheck = 30 * time.Second

// RefusedByAPIServer tells whether err is the API server refusing a write
// for a reason that retrying at once cannot change: a quota, an admission
// policy, a validation rule. The controllers report it in a status and a
// Warning and try again after RefusedRecheck, instead of retrying in a loop
// that only the log would show.
func RefusedByAPIServer(err error) bool {
	// Each apierrors test allocates, even for nil, and syncs mostly ask
	// about nil.
	return err != nil && (apierrors.IsForbidden(err) || apierrors.IsInvalid(err) || apierrors.IsRequestEntityTooLargeError(err))
}

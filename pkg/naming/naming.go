// Package naming derives the names ARC gives the objects it creates.
//
// The package is pure: names depend only on the arguments, so the controller
// finds the objects it created by recomputing their names, and two
// controllers, or two syncs of one, agree on them.
package naming

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
)

const (
	// MaxNameLength bounds the names this package returns. An ArtifactWorkflow
	// and its Argo Workflow share a name, and Argo copies the Workflow name
	// into pod labels, whose values hold at most 63 characters.
	MaxNameLength = 63

	// HashLength is the number of hex digits of a work hash: 64 bits, so that
	// a collision among the ArtifactWorkflows of one cluster is vanishingly
	// unlikely.
	HashLength = 16

	// maxPrefixLength leaves room for "-" and the hash after the prefix.
	maxPrefixLength = MaxNameLength - 1 - HashLength

	// fallbackPrefix starts the name when nothing of the Order name is left
	// to start it with, so that every name says what it is.
	fallbackPrefix = "aw"

	// hashDomain is the first field of the encoding that is hashed. It
	// separates these hashes from any other SHA-256 of similar data and names
	// the encoding; a deliberate change of the encoding must change it. (v1
	// hashed the resolved spec, so an Endpoint edit renamed the work.)
	hashDomain = "arc-artifactworkflow-v2"
)

// ArtifactWorkflow returns the name and the hash of the ArtifactWorkflow
// that does the work of one artifact of an Order.
//
// The hash is the first HashLength hex digits of a SHA-256 over an
// unambiguous encoding of the Order's UID and the artifact's identity (see
// ArtifactIdentity): what the user wrote for the artifact, never what its
// Endpoints, Secrets or type currently hold. So editing an Endpoint or
// rotating a Secret never renames an ArtifactWorkflow, and finished work is
// not thrown away and done again. The UID, not the name, ties the work to
// its Order: an Order deleted and created again under the same name gets new
// names, which never clash with the old Order's leftovers and never adopt
// them. The hash keys the work in the Order's status and in the
// LabelArtifactHash label, so it is part of the API: TestHashIsPinned holds
// it to its encoding.
//
// The name is "<prefix>-<hash>", a valid DNS-1123 label of at most
// MaxNameLength characters. The prefix is the Order name made a label: lower
// case, '.' and any other character a label cannot hold replaced by '-',
// cut to fit and without '-' at either end; "aw" if nothing is left.
// Identical artifacts of one Order get the same name: they are the same work.
func ArtifactWorkflow(orderName, orderUID, identity string) (name, hash string) {
	buf := appendField(nil, hashDomain)
	buf = appendField(buf, orderUID)
	buf = appendField(buf, identity)
	sum := sha256.Sum256(buf)
	hash = hex.EncodeToString(sum[:HashLength/2])
	return namePrefix(orderName) + "-" + hash, hash
}

// Workflow returns the name of the Workflow of one run of an
// ArtifactWorkflow: the ArtifactWorkflow's own name for run 0, which keeps
// the Workflows of earlier releases, and "<name>-<run>" for re-runs. A name
// that would exceed MaxNameLength loses characters before its last
// HashLength+1 (the "-<hash>" of ArtifactWorkflow names), so it stays a
// valid label and keeps what makes it unique.
func Workflow(artifactWorkflowName string, run int64) string {
	if run <= 0 {
		return artifactWorkflowName
	}
	return fit(artifactWorkflowName, "-"+strconv.FormatInt(run, 10), MaxNameLength)
}

// MaxCronWorkflowNameLength bounds the name of a CronWorkflow: Argo names
// each run "<name>-<Unix seconds>" and refuses CronWorkflow names longer
// than 52 characters, so that the run's name stays a 63-character label.
const MaxCronWorkflowNameLength = 52

// CronWorkflow returns the name of the Argo CronWorkflow that runs the
// schedule of an ArtifactWorkflow: the ArtifactWorkflow's name, cut to
// MaxCronWorkflowNameLength before its "-<hash>" when it is longer, so it
// stays unique.
func CronWorkflow(artifactWorkflowName string) string {
	return fit(artifactWorkflowName, "", MaxCronWorkflowNameLength)
}

// fit returns name+suffix, with characters of name removed before its last
// HashLength+1 when the whole would exceed maxLen.
func fit(name, suffix string, maxLen int) string {
	if len(name)+len(suffix) <= maxLen {
		return name + suffix
	}
	keepTail := min(HashLength+1, len(name))
	head := name[:len(name)-keepTail]
	tail := name[len(name)-keepTail:]
	head = strings.TrimRight(head[:max(0, min(len(head), maxLen-len(suffix)-len(tail)))], "-")
	if head == "" {
		return strings.TrimLeft(tail, "-") + suffix
	}
	return head + tail + suffix
}

// appendField appends s with its length in front.
func appendField(buf []byte, s string) []byte {
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(s)))
	return append(buf, s...)
}

// namePrefix makes the Order name into the start of a DNS-1123 label of at
// most maxPrefixLength characters. Order names are DNS-1123 subdomains, so
// in practice only '.' needs replacing and length cutting; any other
// character is handled too, so that the result is valid for any input.
func namePrefix(orderName string) string {
	prefix := make([]byte, 0, min(len(orderName), maxPrefixLength))
	for i := 0; i < len(orderName) && len(prefix) < maxPrefixLength; i++ {
		prefix = append(prefix, labelByte(orderName[i]))
	}
	// A label must start with a letter or digit, so no leading '-'. Trailing
	// ones would only run into the separator as "--"; they go too.
	trimmed := strings.Trim(string(prefix), "-")
	if trimmed == "" {
		return fallbackPrefix
	}
	return trimmed
}

// labelByte maps c to a byte a DNS-1123 label may hold: lower-case letters
// and digits stay, upper-case letters are lowered, anything else becomes '-'.
func labelByte(c byte) byte {
	switch {
	case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return c
	case 'A' <= c && c <= 'Z':
		return c - 'A' + 'a'
	}
	return '-'
}

// identityDomain separates artifact identities from work hashes.
const identityDomain = "arc-artifact-identity-v1"

// ArtifactIdentity returns the identity of an artifact as its author wrote
// it: its type, the names of its source and destination Endpoints (after the
// Order's defaults) and its spec. Unlike the work hash it does not change
// when an Endpoint, a Secret or a type changes, nor when the artifact moves
// to another position in the Order, so it tells which ArtifactWorkflow
// served an artifact that cannot be resolved right now.
//
// The spec is compared as JSON values: key order and white space do not
// matter, numbers keep their spelling. A spec that is not valid JSON is
// compared as bytes.
func ArtifactIdentity(typ, src, dst string, spec []byte) string {
	buf := appendField(nil, identityDomain)
	buf = appendField(buf, typ)
	buf = appendField(buf, src)
	buf = appendField(buf, dst)
	buf = appendField(buf, string(canonicalJSON(spec)))
	sum := sha256.Sum256(buf)
	// Only the digits kept are encoded: a prefix of a longer string would
	// keep all of it alive in the memo of every cached artifact.
	return hex.EncodeToString(sum[:HashLength/2])
}

// canonicalJSON re-encodes a JSON value with sorted keys and no white space.
func canonicalJSON(raw []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	out, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return out
}

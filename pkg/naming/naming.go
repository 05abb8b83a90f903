// Package naming derives the names ARC gives the objects it creates.
//
// The package is pure: names depend only on the arguments, so the controller
// finds the objects it created by recomputing their names, and two
// controllers, or two syncs of one, agree on them.
package naming

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
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
	// the encoding; a deliberate change of the encoding must change it.
	hashDomain = "arc-artifactworkflow-v1"
)

// ArtifactWorkflow returns the name and the hash of the work an
// ArtifactWorkflow of the Order orderName does.
//
// The hash is the first HashLength hex digits of a SHA-256 over an
// unambiguous encoding of orderName, spec.Type, the parameters in name order
// and the names of the two secrets. It keys the work in the Order's status
// and in the LabelArtifactHash label, so it is part of the API: it must not
// change between releases for the same input, and TestHashIsPinned holds it
// to that. The order of spec.Parameters does not matter; a nil spec hashes as
// an empty one, and a secret reference with an empty name as no reference.
//
// The name is "<prefix>-<hash>", a valid DNS-1123 label of at most
// MaxNameLength characters. The prefix is the Order name made a label: lower
// case, '.' and any other character a label cannot hold replaced by '-',
// cut to fit and without '-' at either end; "aw" if nothing is left. Orders
// whose names share the prefix, even Orders whose names differ only beyond
// the cut, still get different names, because the hash covers the whole
// Order name. Artifacts of one Order that resolve to the same spec get the
// same name and hash: they are the same work.
//
// spec is not modified.
func ArtifactWorkflow(orderName string, spec *v1alpha1.ArtifactWorkflowSpec) (name, hash string) {
	sum := sha256.Sum256(canonicalEncoding(orderName, spec))
	hash = hex.EncodeToString(sum[:HashLength/2])
	return namePrefix(orderName) + "-" + hash, hash
}

// canonicalEncoding returns the bytes the work hash is taken over:
//
//	field(hashDomain) field(orderName) field(spec.Type)
//	count(len(parameters)) { field(name) field(value) } in name order
//	field(src secret name) field(dst secret name)
//
// where field(s) is the length of s as an 8-byte big-endian integer followed
// by s, and count(n) is n in the same form. Length prefixes and the count make
// the encoding unambiguous: no two different inputs encode alike, however
// their strings are chosen.
func canonicalEncoding(orderName string, spec *v1alpha1.ArtifactWorkflowSpec) []byte {
	if spec == nil {
		spec = &v1alpha1.ArtifactWorkflowSpec{}
	}
	params := sortedParameters(spec.Parameters)
	srcSecret, dstSecret := secretName(spec.SrcSecretRef), secretName(spec.DstSecretRef)

	size := 8*6 + len(hashDomain) + len(orderName) + len(spec.Type) + len(srcSecret) + len(dstSecret)
	for _, p := range params {
		size += 8*2 + len(p.Name) + len(p.Value)
	}
	buf := make([]byte, 0, size)
	buf = appendField(buf, hashDomain)
	buf = appendField(buf, orderName)
	buf = appendField(buf, spec.Type)
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(params)))
	for _, p := range params {
		buf = appendField(buf, p.Name)
		buf = appendField(buf, p.Value)
	}
	buf = appendField(buf, srcSecret)
	return appendField(buf, dstSecret)
}

// appendField appends s with its length in front.
func appendField(buf []byte, s string) []byte {
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(s)))
	return append(buf, s...)
}

// sortedParameters returns a sorted copy of params, so that their order in
// the spec does not change the hash. Parameters of the same name, which a
// valid spec does not hold, are ordered by value so that even then the order
// of the input does not matter.
func sortedParameters(params []v1alpha1.Parameter) []v1alpha1.Parameter {
	sorted := slices.Clone(params)
	slices.SortFunc(sorted, func(a, b v1alpha1.Parameter) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Value, b.Value))
	})
	return sorted
}

// secretName returns the name ref points to, or "" for none.
func secretName(ref *corev1.LocalObjectReference) string {
	if ref == nil {
		return ""
	}
	return ref.Name
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
	return hex.EncodeToString(sum[:])[:HashLength]
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

package controller

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestTruncateMessage(t *testing.T) {
	cases := []struct {
		name string
		msg  string
		max  int
		want string
	}{
		{name: "a message within the bound stays as it is", msg: "step pull failed", max: 128, want: "step pull failed"},
		{name: "a message of exactly the bound stays as it is", msg: strings.Repeat("a", 128), max: 128, want: strings.Repeat("a", 128)},
		{name: "a longer message is cut and says how much", msg: strings.Repeat("a", 1000), max: 128, want: strings.Repeat("a", 107) + " ... (893 bytes cut)"},
		{name: "a cut never splits a rune", msg: strings.Repeat("é", 100), max: 128, want: strings.Repeat("é", 54) + " ... (92 bytes cut)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := TruncateMessage(tc.msg, tc.max)
			assert.Equal(t, tc.want, got)
			assert.LessOrEqual(t, len(got), tc.max)
			assert.True(t, utf8.ValidString(got))
		})
	}
}

func TestTruncateMessageBoundsAMegabyte(t *testing.T) {
	got := TruncateMessage(strings.Repeat("x", 1<<20), DefaultMaxMessageBytes)
	assert.LessOrEqual(t, len(got), DefaultMaxMessageBytes)
	assert.True(t, strings.HasSuffix(got, " ... (1047576 bytes cut)"), got[len(got)-40:])
}

func TestRefusedByAPIServer(t *testing.T) {
	gr := schema.GroupResource{Group: "arc.example", Resource: "artifactworkflows"}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{name: "no error", err: nil, want: false},
		{name: "a quota", err: apierrors.NewForbidden(gr, "aw", errors.New("exceeded quota")), want: true},
		{name: "a validation rule", err: apierrors.NewInvalid(schema.GroupKind{Group: "arc.example", Kind: "ArtifactWorkflow"}, "aw", nil), want: true},
		{name: "too large", err: apierrors.NewRequestEntityTooLargeError("limit is 3145728"), want: true},
		{name: "wrapped", err: fmt.Errorf("creating: %w", apierrors.NewForbidden(gr, "aw", errors.New("denied"))), want: true},
		{name: "a conflict may pass at once", err: apierrors.NewConflict(gr, "aw", errors.New("changed")), want: false},
		{name: "a plain error", err: errors.New("connection refused"), want: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, RefusedByAPIServer(tc.err))
		})
	}
}

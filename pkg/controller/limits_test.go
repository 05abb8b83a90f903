package controller

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
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

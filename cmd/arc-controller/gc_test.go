package main

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSetGCPercent(t *testing.T) {
	// A target no test sets, to tell whether setGCPercent changed it.
	const untouched = 123
	tests := []struct {
		name        string
		env         map[string]string
		wantGOGC    string
		wantDefault bool
		wantPercent int
	}{
		{name: "without GOGC the controller's default applies",
			env: map[string]string{}, wantGOGC: "50", wantDefault: true, wantPercent: defaultGCPercent},
		{name: "GOGC in the environment is left as the runtime applied it",
			env: map[string]string{"GOGC": "200"}, wantGOGC: "200", wantPercent: untouched},
		{name: "GOGC=off is left too",
			env: map[string]string{"GOGC": "off"}, wantGOGC: "off", wantPercent: untouched},
		{name: "an empty GOGC counts as unset",
			env: map[string]string{"GOGC": ""}, wantGOGC: "50", wantDefault: true, wantPercent: defaultGCPercent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev := debug.SetGCPercent(untouched)
			defer debug.SetGCPercent(prev)
			gogc, isDefault := setGCPercent(func(k string) (string, bool) {
				v, ok := tt.env[k]
				return v, ok
			})
			assert.Equal(t, tt.wantGOGC, gogc)
			assert.Equal(t, tt.wantDefault, isDefault)
			assert.Equal(t, tt.wantPercent, debug.SetGCPercent(prev), "the collector's target")
		})
	}
}

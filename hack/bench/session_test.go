package main

import (
	"flag"
	"io"
	"reflect"
	"testing"
)

func TestControllerEnvFlag(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    []string
		wantErr bool
	}{
		{name: "none given adds nothing", args: nil, want: nil},
		{name: "each assignment is kept in order",
			args: []string{"--controller-env=GOMEMLIMIT=120MiB", "--controller-env", "GOGC=50"},
			want: []string{"GOMEMLIMIT=120MiB", "GOGC=50"}},
		{name: "an empty value is an assignment", args: []string{"--controller-env=GODEBUG="}, want: []string{"GODEBUG="}},
		{name: "no equals sign is refused", args: []string{"--controller-env=GOGC"}, wantErr: true},
		{name: "a lower-case name is refused", args: []string{"--controller-env=gogc=50"}, wantErr: true},
		{name: "a name with a space is refused", args: []string{"--controller-env=GO GC=50"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c common
			fs := flag.NewFlagSet("bench", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c.addFlags(fs)
			err := fs.Parse(tc.args)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Parse(%q) error = %v, want an error: %v", tc.args, err, tc.wantErr)
			}
			if !tc.wantErr && !reflect.DeepEqual(c.controllerEnv, tc.want) {
				t.Errorf("controllerEnv = %q, want %q", c.controllerEnv, tc.want)
			}
		})
	}
}

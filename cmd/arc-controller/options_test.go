package main

import (
	"flag"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parse(t testing.TB, args ...string) (options, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o options
	o.addFlags(fs)
	require.NoError(t, fs.Parse(args))
	o.complete(fs)
	return o, o.validate()
}

// parseExpecting parses args and requires an error containing wantErr, or
// none when wantErr is empty. It reports whether the options are valid.
func parseExpecting(t *testing.T, wantErr string, args ...string) (options, bool) {
	t.Helper()
	o, err := parse(t, args...)
	if wantErr != "" {
		require.Error(t, err)
		assert.Contains(t, err.Error(), wantErr)
		return o, false
	}
	require.NoError(t, err)
	return o, true
}

func TestOptions(t *testing.T) {
	cases := []struct {
		name      string
		args      []string
		wantErr   string
		wantLeads bool
	}{
		{name: "in-cluster defaults elect a leader", args: nil, wantLeads: true},
		{name: "a kubeconfig turns leader election off by default", args: []string{"--kubeconfig=k"}, wantLeads: false},
		{name: "leader election can be forced on with a kubeconfig", args: []string{"--kubeconfig=k", "--leader-elect"}, wantLeads: true},
		{name: "leader election can be turned off in a cluster", args: []string{"--leader-elect=false"}, wantLeads: false},
		{name: "zero workers are refused", args: []string{"--order-workers=0"}, wantErr: "--order-workers must be at least 1"},
		{name: "no create in flight is refused", args: []string{"--order-creates-in-flight=0"}, wantErr: "--order-creates-in-flight must be at least 1"},
		{name: "a non-positive QPS is refused", args: []string{"--kube-api-qps=0"}, wantErr: "--kube-api-qps must be positive"},
		{name: "a zero burst is refused", args: []string{"--kube-api-burst=0"}, wantErr: "--kube-api-burst must be at least 1"},
		{name: "a negative resync is refused", args: []string{"--resync-period=-1s"}, wantErr: "--resync-period must not be negative"},
		{name: "a schedule interval below Argo's minute is refused", args: []string{"--min-schedule-interval=30s"}, wantErr: "--min-schedule-interval must be at least 1m"},
		{name: "a schedule interval of a minute is accepted", args: []string{"--min-schedule-interval=1m"}, wantLeads: true},
		{name: "a negative status batch period is refused", args: []string{"--order-status-batch-period=-1s"}, wantErr: "--order-status-batch-period must not be negative"},
		{
			name:    "lease timings out of order are refused",
			args:    []string{"--leader-elect-lease-duration=5s", "--leader-elect-renew-deadline=10s"},
			wantErr: "lease duration (5s) > renew deadline (10s)",
		},
		{
			name:    "every bad flag is reported at once",
			args:    []string{"--order-workers=0", "--artifactworkflow-workers=0"},
			wantErr: "--artifactworkflow-workers must be at least 1",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if o, ok := parseExpecting(t, tc.wantErr, tc.args...); ok {
				assert.Equal(t, tc.wantLeads, o.leaderElect)
			}
		})
	}
}

func TestUnreachableAPIServerIsAClearError(t *testing.T) {
	o, err := parse(t, "--kubeconfig=testdata/unreachable.kubeconfig")
	require.NoError(t, err)
	cl, err := newClients(o)
	require.NoError(t, err)
	err = cl.preflight(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot reach the Kubernetes API server at https://127.0.0.1:1")
}

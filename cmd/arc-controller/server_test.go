package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Profiles are served only when asked for: they reveal the program's
// internals and cost CPU while one is taken.
func TestMetricsHandlerServesProfilesOnlyWithProfiling(t *testing.T) {
	for _, tc := range []struct {
		name      string
		profiling bool
		want      int
	}{
		{"off by default", false, http.StatusNotFound},
		{"on with --profiling", true, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(metricsHandler(tc.profiling))
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/debug/pprof/")
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, tc.want, resp.StatusCode)
			resp, err = http.Get(srv.URL + "/metrics")
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode, "/metrics is served either way")
		})
	}
}

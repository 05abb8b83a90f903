package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestControllerDoesNotLinkServerPackages keeps CEL, k8s.io/apiserver and
// what they pull in out of the controller. CEL and the API server
// packages around it cost about 16 MB of resident memory per replica once
// started (69 against 53 MB, 15 s after start against the same idle
// cluster) and a tenth of the binary, for features ARC refuses (CEL rules
// in spec schemas) or does not use (CEL match conditions of webhook
// authorizers). The rest of k8s.io/apiserver (request filters, delegating
// authenticator, certificate reloading), with gRPC and OpenTelemetry,
// cost another 36 MB of the binary and 19 MiB of its resident file pages,
// for the bearer-token check of /metrics; and component-base's workqueue
// metrics would take the queues' metrics from ARC's registry.
// pkg/specschema and the /metrics authentication and authorization avoid
// them on purpose; this test notices a new import that brings them back.
func TestControllerDoesNotLinkServerPackages(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	require.NoError(t, err, "go list -deps")
	forbidden := []string{
		"github.com/google/cel-go/",
		"k8s.io/apiserver/",
		"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation",
		"k8s.io/apiextensions-apiserver/pkg/apiserver/validation",
		"k8s.io/component-base/metrics/prometheus/workqueue",
		"go.opentelemetry.io/otel/sdk",
		"google.golang.org/grpc/credentials",
	}
	deps := strings.Fields(string(out))
	require.Greater(t, len(deps), 100, "go list printed the dependencies")
	for _, dep := range deps {
		for _, f := range forbidden {
			assert.False(t, strings.HasPrefix(dep, f), "arc-controller links %s", dep)
		}
	}
}

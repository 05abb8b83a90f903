//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

const (
	handoverArtifacts     = 30
	handoverLeaseDuration = 6 * time.Second
)

// TestLeaderHandover runs two replicas with leader election, as the
// Deployment may during a rolling update, and sends SIGTERM to the leader
// while it is creating an Order's ArtifactWorkflows. The leader drains and
// only then releases the Lease; the standby takes over within the lease
// duration and finishes the Order; no ArtifactWorkflow or Workflow is
// created twice. Both replicas run with a small API rate limit, so the
// SIGTERM lands halfway through the Order.
func TestLeaderHandover(t *testing.T) {
	f := newFixture(t, "leader")
	f.createEndpoint("src", "oci", "src.example", arcv1.EndpointUsagePullOnly, "")
	f.createEndpoint("dst", "oci", "dst.example", arcv1.EndpointUsagePushOnly, "")
	f.createArtifactType("copy", simpleType(templateSingleStep))

	s.suspendSharedController(t)
	logStart := fileSize(t, s.controllerLog)
	const lease = "arc-e2e-leader"
	args := []string{
		"--leader-elect=true", "--leader-elect-namespace=" + f.ns, "--leader-elect-lease-name=" + lease,
		"--leader-elect-lease-duration=" + handoverLeaseDuration.String(),
		"--leader-elect-renew-deadline=4s", "--leader-elect-retry-period=500ms",
		"--kube-api-qps=5", "--kube-api-burst=5",
	}
	replicas := make([]*controllerProcess, 2)
	for i := range replicas {
		p, err := s.launchController(args...)
		require.NoError(t, err, "starting replica %d", i)
		replicas[i] = p
		t.Cleanup(func() { _ = p.kill() })
	}
	holder := f.waitLeaseHolder(lease, "")
	leader := f.replicaLeading(replicas, logStart)
	t.Logf("replica pid %d leads as %s", leader.pid(), holder)

	artifacts := make([]arcv1.OrderArtifact, handoverArtifacts)
	for i := range artifacts {
		artifacts[i] = arcv1.OrderArtifact{Type: "copy", Spec: rawSpec(fmt.Sprintf(`{"image":"library/app-%02d:1.0"}`, i))}
	}
	f.createOrder(&arcv1.Order{
		ObjectMeta: metav1.ObjectMeta{Name: "handover"},
		Spec:       arcv1.OrderSpec{Defaults: &arcv1.OrderDefaults{SrcRef: ref("src"), DstRef: ref("dst")}, Artifacts: artifacts},
	})
	f.waitFor("the first ArtifactWorkflows", defaultTimeout, func(ctx context.Context) (bool, string, error) {
		aws, err := s.arc.ArcV1alpha1().ArtifactWorkflows(f.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		return len(aws.Items) >= 3, fmt.Sprintf("%d ArtifactWorkflows", len(aws.Items)), nil
	})

	require.NoError(t, leader.cmd.Process.Signal(syscall.SIGTERM))
	sigterm := time.Now()
	newHolder := f.waitLeaseHolder(lease, holder)
	handover := time.Since(sigterm)
	t.Logf("the standby (%s) leads %s after SIGTERM to the leader", newHolder, handover.Round(time.Millisecond))
	assert.LessOrEqual(t, handover, handoverLeaseDuration, "the standby takes over within the lease duration")
	select {
	case <-leader.exited:
		assert.NoError(t, leader.err, "the former leader drains and exits cleanly")
	case <-time.After(30 * time.Second):
		t.Error("the former leader did not exit after SIGTERM")
	}

	order := f.waitOrderPhase("handover", arcv1.OrderPhaseSucceeded)
	require.Len(t, order.Status.ArtifactWorkflows, handoverArtifacts)
	creates := countCreates(t, s.controllerLog, logStart, f.ns)
	for _, e := range order.Status.ArtifactWorkflows {
		assert.Equal(t, 1, creates["ArtifactWorkflow "+e.Name], "ArtifactWorkflow %s created once", e.Name)
		assert.Equal(t, 1, creates["Workflow "+e.Name], "Workflow %s created once", e.Name)
	}
	assert.Zero(t, creates["already exists"], "no replica tried to create what the other had created")
}

// waitLeaseHolder waits until the Lease has a holder other than not, and returns it.
func (f *fixture) waitLeaseHolder(name, not string) string {
	f.t.Helper()
	var holder string
	f.waitFor(fmt.Sprintf("Lease %s held by someone other than %q", name, not), defaultTimeout, func(ctx context.Context) (bool, string, error) {
		lease, err := s.kube.CoordinationV1().Leases(f.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		holder = ptr.Deref(lease.Spec.HolderIdentity, "")
		return holder != "" && holder != not, "holder " + holder, nil
	})
	return holder
}

// replicaLeading returns the replica that started its workers, from the
// pid klog writes in every line of the shared controller log.
func (f *fixture) replicaLeading(replicas []*controllerProcess, from int64) *controllerProcess {
	f.t.Helper()
	var leader *controllerProcess
	f.waitFor("a replica to start its workers", defaultTimeout, func(context.Context) (bool, string, error) {
		for _, line := range logLines(f.t, s.controllerLog, from) {
			if !strings.Contains(line, `"Starting workers"`) {
				continue
			}
			for _, p := range replicas {
				if fields := strings.Fields(line); len(fields) > 2 && fields[2] == fmt.Sprint(p.pid()) {
					leader = p
					return true, "", nil
				}
			}
		}
		return false, "no replica started its workers yet", nil
	})
	return leader
}

// countCreates counts, in the controller log from offset on, the creations
// of ArtifactWorkflows and Workflows in namespace ns by name ("ArtifactWorkflow
// <name>", "Workflow <name>"), and the creations refused as existing.
func countCreates(t *testing.T, path string, from int64, ns string) map[string]int {
	counts := map[string]int{}
	for _, line := range logLines(t, path, from) {
		switch {
		case strings.Contains(line, `"Created ArtifactWorkflow"`):
			if name, ok := quotedValue(line, "artifactWorkflow", ns); ok {
				counts["ArtifactWorkflow "+name]++
			}
		case strings.Contains(line, `"Created Workflow"`):
			if name, ok := quotedValue(line, "workflow", ns); ok {
				counts["Workflow "+name]++
			}
		case strings.Contains(line, "already exists") && strings.Contains(line, ns):
			counts["already exists"]++
		}
	}
	return counts
}

// quotedValue returns the name of key="ns/name" in a klog line.
func quotedValue(line, key, ns string) (string, bool) {
	prefix := " " + key + `="` + ns + "/"
	i := strings.Index(line, prefix)
	if i < 0 {
		return "", false
	}
	rest := line[i+len(prefix):]
	end := strings.IndexByte(rest, '"')
	if end < 0 {
		return "", false
	}
	return rest[:end], true
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	info, err := os.Stat(path)
	require.NoError(t, err)
	return info.Size()
}

// logLines returns the lines of path from byte offset from on.
func logLines(t *testing.T, path string, from int64) []string {
	t.Helper()
	file, err := os.Open(path)
	require.NoError(t, err)
	defer file.Close()
	_, err = file.Seek(from, 0)
	require.NoError(t, err)
	var lines []string
	scanner := bufio.NewScanner(file)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		lines = append(lines, scanner.Text())
	}
	require.NoError(t, scanner.Err())
	return lines
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// common are the settings the benchmark (make bench) and the fault harness
// (make chaos) share: where they run, the load, the controller's flags and
// what happens at the end.
type common struct {
	root         string
	orders       int
	artifacts    int
	namespaces   int
	qps          float64
	burst        int
	orderWorkers int
	awWorkers    int
	resync       time.Duration
	timeout      time.Duration
	progress     time.Duration
	keep         bool
	down         bool
	// controllerEnv is added to arc-controller's environment (and no other
	// process's), for runtime settings such as GOGC and GOMEMLIMIT.
	controllerEnv []string
}

// addFlags registers the shared flags; 0 for --orders, --artifacts and
// --timeout means the preset's value.
func (c *common) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.root, "root", "", "the worktree (default: the git top level of the current directory)")
	fs.IntVar(&c.orders, "orders", 0, "Orders N (0: the preset's)")
	fs.IntVar(&c.artifacts, "artifacts", 0, "artifacts per Order M (0: the preset's; at most 1000)")
	fs.IntVar(&c.namespaces, "namespaces", 4, "namespaces the Orders are spread over")
	fs.Float64Var(&c.qps, "kube-api-qps", 300, "arc-controller --kube-api-qps (and the throttled baseline's); its default, which is not what limits it on this cluster")
	fs.IntVar(&c.burst, "kube-api-burst", 600, "arc-controller --kube-api-burst (and the throttled baseline's); its default")
	fs.IntVar(&c.orderWorkers, "order-workers", 4, "arc-controller --order-workers (and the benchmark baseline's ArtifactWorkflow creators)")
	fs.IntVar(&c.awWorkers, "artifactworkflow-workers", 8, "arc-controller --artifactworkflow-workers (and the benchmark baseline's Workflow creators)")
	fs.DurationVar(&c.resync, "resync-period", 20*time.Second, "arc-controller --resync-period: resyncs must happen inside the idle window")
	fs.DurationVar(&c.timeout, "timeout", 0, "give up after this long (0: the preset's)")
	fs.DurationVar(&c.progress, "progress-every", 5*time.Second, "how often to print progress while waiting")
	fs.BoolVar(&c.keep, "keep", false, "keep the run's namespaces and objects for inspection")
	fs.Func("controller-env", "NAME=VALUE added to arc-controller's environment only, such as GOMEMLIMIT=120MiB (repeat for more)", func(v string) error {
		if !envAssignment.MatchString(v) {
			return fmt.Errorf("want NAME=VALUE with NAME of capitals, digits and underscores, got %q", v)
		}
		c.controllerEnv = append(c.controllerEnv, v)
		return nil
	})
	fs.BoolVar(&c.down, "down", false, "stop the local cluster at the end (default: leave it running for the next run)")
}

// envAssignment is one NAME=VALUE of an environment.
var envAssignment = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=`)

// complete checks the shared settings and resolves the worktree.
func (c *common) complete() error {
	switch {
	case c.orders < 1, c.artifacts < 1, c.artifacts > maxArtifacts:
		return fmt.Errorf("need --orders >= 1 and 1 <= --artifacts <= %d", maxArtifacts)
	case c.namespaces < 1:
		return fmt.Errorf("--namespaces must be at least 1")
	case c.qps <= 0, c.burst < 1, c.orderWorkers < 1, c.awWorkers < 1:
		return fmt.Errorf("rates, burst and workers must be positive")
	}
	if c.namespaces > c.orders {
		c.namespaces = c.orders
	}
	if c.root == "" {
		out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
		if err != nil {
			return fmt.Errorf("--root not given and not in a git worktree: %w", err)
		}
		c.root = strings.TrimSpace(string(out))
	}
	abs, err := filepath.Abs(c.root)
	if err != nil {
		return err
	}
	c.root = abs
	return nil
}

// controllerFlags are the flags of arc-controller the shared settings set.
func (c *common) controllerFlags() []string {
	return []string{
		fmt.Sprintf("--kube-api-qps=%g", c.qps),
		fmt.Sprintf("--kube-api-burst=%d", c.burst),
		fmt.Sprintf("--order-workers=%d", c.orderWorkers),
		fmt.Sprintf("--artifactworkflow-workers=%d", c.awWorkers),
		"--resync-period=" + c.resync.String(),
	}
}

// session is what every run sets up on the worktree's local cluster: ARC's
// CRDs and identity installed, the admin clients, the fixtures, a tracker of
// what ARC creates, a kubeconfig with ARC's identity, and the audit log
// followed from the moment the session opened.
type session struct {
	paths
	c          common
	admin      *clients
	trk        *tracker
	kubeconfig string // ARC's ServiceAccount token

	// storageResets are the resets of etcd's storage made so far (see
	// resetStorage).
	storageResets []StorageReset

	auditMu   sync.Mutex
	audit     *auditTail
	stopAudit func()
}

// openSession prepares the cluster for a run. A non-nil session is returned
// whenever something was created that close must clean up, even with an
// error. ctx bounds the tracker's informers: the run's deadline.
func openSession(ctx context.Context, c common, profile clusterProfile, baseline bool) (*session, error) {
	p := paths{root: c.root}
	if err := os.MkdirAll(p.outDir(), 0o755); err != nil {
		return nil, err
	}
	for _, b := range []string{"arc-controller", "kubectl"} {
		if _, err := os.Stat(p.bin(b)); err != nil {
			return nil, fmt.Errorf("%s is missing: run make build (make bench and make chaos build it)", p.bin(b))
		}
	}
	// Stop an arc-controller of this worktree before anything else: it
	// would act on the run's Orders.
	stopRecorded(p.local("arc-controller.pid"), "make run-local")
	stopRecorded(filepath.Join(p.outDir(), "arc-controller.pid"), "an interrupted benchmark")
	stopRecordedIn(p.chaosPidDir(), "an interrupted chaos run")

	if err := p.ensureCluster(ctx, profile); err != nil {
		return nil, err
	}
	if err := p.installARC(ctx); err != nil {
		return nil, err
	}
	admin, _, err := newClients(p.kubeconfig(), 1000, 2000)
	if err != nil {
		return nil, err
	}
	s := &session{paths: p, c: c, admin: admin, stopAudit: func() {}}
	// From here on, close cleans up, whatever happens.
	if err := cleanup(admin, c); err != nil {
		return s, fmt.Errorf("removing what an earlier run left: %w", err)
	}
	if err := createFixtures(ctx, admin, c, baseline); err != nil {
		return s, err
	}
	s.trk = newTracker(admin.arc, admin.argo)
	if err := s.trk.start(ctx); err != nil {
		return s, err
	}
	if s.kubeconfig, err = p.writeControllerKubeconfig(ctx, admin.kube, c.timeout+time.Hour); err != nil {
		return s, err
	}
	if s.audit, err = newAuditTail(p.auditLog(), arcUser); err != nil {
		return s, fmt.Errorf("the audit log: %w", err)
	}
	// Follow the log during the run, so the rotated files it reads at the
	// end are few and the position is never far behind.
	s.stopAudit = every(10*time.Second, func() { _, _ = s.refreshAudit() })
	return s, nil
}

// refreshAudit reads what the audit log gained and returns every request
// of ARC's user since the session opened.
func (s *session) refreshAudit() ([]request, error) {
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	return s.audit.refresh()
}

// close deletes what the run created (unless --keep) and stops the cluster
// with --down.
func (s *session) close() error {
	if s == nil {
		return nil
	}
	s.stopAudit()
	err := cleanup(s.admin, s.c)
	if s.c.down {
		logf("stopping the local cluster (--down)")
		if derr := runStreaming(s.clusterScript(context.Background(), nil, "down")); derr != nil {
			err = errors.Join(err, derr)
		}
	} else {
		logf("the local cluster keeps running for the next run (hack/cluster.sh down stops it)")
	}
	return err
}

// waitQuiet waits until ARC made no write for settle (Lease renewals
// aside), counting from the later of its last write and since; it returns
// that moment. hint says
// where to look when ARC keeps writing until ctx ends.
func (s *session) waitQuiet(ctx context.Context, since time.Time, settle time.Duration, hint string) (time.Time, error) {
	var settled time.Time
	err := waitEvery(ctx, time.Second, s.c.progress, fmt.Sprintf("ARC to make no write for %s", settle), func() (bool, string) {
		reqs, err := s.refreshAudit()
		if err != nil {
			return false, err.Error()
		}
		lw := lastWrite(workRequests(reqs))
		settled = lw
		if settled.Before(since) {
			settled = since
		}
		return time.Since(settled) >= settle, fmt.Sprintf("last write of ARC %.1f s ago", time.Since(lw).Seconds())
	}, func() string { return "ARC keeps writing; see " + hint })
	return settled, err
}

// maxArtifacts is the most artifacts one Order may hold.
const maxArtifacts = arcv1.MaxArtifactsPerOrder

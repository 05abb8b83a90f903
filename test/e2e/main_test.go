//go:build e2e

// Package e2e holds ARC's end-to-end tests. They run against a real API
// server with Argo's workflow-controller and KWOK's fake node, normally the
// local cluster of hack/cluster.sh, and a real bin/arc-controller process.
//
// Run them with
//
//	make e2e
//
// or by hand, after `make build` and `hack/cluster.sh up`:
//
//	KUBECONFIG=.local/kubeconfig go test -tags e2e -count=1 -parallel 8 -v ./test/e2e/...
//
// TestMain needs nothing installed beforehand but the cluster itself: it
// applies ARC's CRDs from manifests/crd and the ClusterWorkflowTemplates of
// testdata/, checks that the fake node is there, and starts bin/arc-controller
// (built by `make build`, never by the tests) with --leader-elect=false,
// logging to .local/logs/e2e-arc-controller.log. Every test works in a
// namespace of its own, deleted afterwards (kept when ARC_E2E_KEEP=1).
//
// Most tests run in parallel. TestRestart kills the shared controller, and
// TestRBAC, TestAdmissionPolicy and TestMetricsEndpoint install
// manifests/default, whose admission policy would refuse the shared
// controller's writes (it runs as the administrator) until they remove it
// again; so they do not call t.Parallel: Go runs every sequential top-level
// test before it releases the parallel ones, so each has the cluster and the
// controller to itself, and the parallel tests then use the controller as
// the last one left it.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	argoclient "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	arcclient "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned"
)

// Environment variables the suite reads.
const (
	// envKubeconfig names the kubeconfig of the cluster; default <repo>/.local/kubeconfig.
	envKubeconfig = "KUBECONFIG"
	// envControllerBin overrides the controller binary, default <repo>/bin/arc-controller.
	envControllerBin = "ARC_CONTROLLER_BIN"
	// envKeep keeps the test namespaces (and what is in them) for inspection.
	envKeep = "ARC_E2E_KEEP"
)

// fieldManager is the field manager of everything the suite applies.
const fieldManager = "arc-e2e"

// kwokNodeLabel selects the fake node every test pod must land on.
const kwokNodeLabel = "type=kwok"

// suite holds what every test shares: clients of the one cluster and the
// arc-controller process.
type suite struct {
	root          string
	kubeconfig    string
	controllerBin string
	controllerLog string

	config *rest.Config
	kube   kubernetes.Interface
	arc    arcclient.Interface
	argo   argoclient.Interface
	dyn    dynamic.Interface
	mapper meta.RESTMapper

	mu         sync.Mutex
	controller *controllerProcess
	// metricsURL is the plain-HTTP /metrics of the shared controller.
	metricsURL string
}

var s *suite

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	started := time.Now()
	var err error
	s, err = newSuite()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	err = s.prepareCluster(ctx)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: preparing the cluster: %v\n", err)
		return 1
	}
	if err := s.startController(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	fmt.Printf("e2e: cluster %s ready, arc-controller running (log: %s), set-up took %s\n",
		s.config.Host, s.relative(s.controllerLog), time.Since(started).Round(100*time.Millisecond))

	code := m.Run()

	cleanupCtx, cancelCleanup := context.WithTimeout(context.Background(), 30*time.Second)
	removeRealNodeTypes(cleanupCtx)
	cancelCleanup()

	s.mu.Lock()
	if s.controller != nil {
		if err := s.controller.stop(20 * time.Second); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: stopping arc-controller: %v\n", err)
		}
		s.controller = nil
	}
	s.mu.Unlock()
	fmt.Printf("e2e: suite took %s; arc-controller log: %s\n", time.Since(started).Round(100*time.Millisecond), s.relative(s.controllerLog))
	return code
}

func newSuite() (*suite, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	st := &suite{root: root}

	st.kubeconfig = os.Getenv(envKubeconfig)
	if st.kubeconfig == "" {
		st.kubeconfig = filepath.Join(root, ".local", "kubeconfig")
	}
	if strings.Contains(st.kubeconfig, string(os.PathListSeparator)) {
		return nil, fmt.Errorf("%s=%q names several files; the suite and arc-controller need exactly one kubeconfig", envKubeconfig, st.kubeconfig)
	}
	if st.kubeconfig, err = filepath.Abs(st.kubeconfig); err != nil {
		return nil, err
	}
	if _, err := os.Stat(st.kubeconfig); err != nil {
		return nil, fmt.Errorf("no kubeconfig at %s (%v): start the local cluster with `make cluster-up` (hack/cluster.sh up), or set %s",
			st.kubeconfig, err, envKubeconfig)
	}

	st.controllerBin = os.Getenv(envControllerBin)
	if st.controllerBin == "" {
		st.controllerBin = filepath.Join(root, "bin", "arc-controller")
	}
	if fi, err := os.Stat(st.controllerBin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("no arc-controller binary at %s: run `make build` first (the suite builds nothing)", st.controllerBin)
	}
	logDir := filepath.Join(root, ".local", "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	st.controllerLog = filepath.Join(logDir, "e2e-arc-controller.log")
	if err := os.WriteFile(st.controllerLog, nil, 0o644); err != nil {
		return nil, err
	}

	st.config, err = clientcmd.BuildConfigFromFlags("", st.kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", st.kubeconfig, err)
	}
	// Tests poll a lot and in parallel: client-go's default of 5 QPS would
	// make them wait on their own rate limiter.
	st.config.QPS, st.config.Burst = 200, 400
	st.config.Timeout = 30 * time.Second
	if st.kube, err = kubernetes.NewForConfig(st.config); err != nil {
		return nil, err
	}
	if st.arc, err = arcclient.NewForConfig(st.config); err != nil {
		return nil, err
	}
	if st.argo, err = argoclient.NewForConfig(st.config); err != nil {
		return nil, err
	}
	if st.dyn, err = dynamic.NewForConfig(st.config); err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(st.config)
	if err != nil {
		return nil, err
	}
	st.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))

	probe := rest.CopyConfig(st.config)
	probe.Timeout = 10 * time.Second
	probeClient, err := kubernetes.NewForConfig(probe)
	if err != nil {
		return nil, err
	}
	version, err := probeClient.Discovery().ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("the cluster of %s (%s) is not reachable: %v\n"+
			"start it with `make cluster-up` (hack/cluster.sh up); `hack/cluster.sh status` shows what runs", st.kubeconfig, st.config.Host, err)
	}
	fmt.Printf("e2e: cluster %s, Kubernetes %s, kubeconfig %s\n", st.config.Host, version.GitVersion, st.relative(st.kubeconfig))
	return st, nil
}

// repoRoot walks up from the working directory to the directory with go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root (no go.mod above the working directory)")
		}
		dir = parent
	}
}

// relative shortens a path below the repository root for messages.
func (st *suite) relative(path string) string {
	if rel, err := filepath.Rel(st.root, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}

// prepareCluster installs what the tests need and checks what they rely on.
func (st *suite) prepareCluster(ctx context.Context) error {
	if err := st.checkNoOtherController(); err != nil {
		return err
	}
	crds, err := st.applyFiles(ctx, filepath.Join(st.root, "manifests", "crd"), "")
	if err != nil {
		return fmt.Errorf("installing ARC's CRDs: %w", err)
	}
	for _, crd := range crds {
		if err := st.waitCRDEstablished(ctx, crd.GetName()); err != nil {
			return err
		}
	}
	st.mapper.(meta.ResettableRESTMapper).Reset()

	if _, err := st.kube.Discovery().ServerResourcesForGroupVersion("argoproj.io/v1alpha1"); err != nil {
		return fmt.Errorf("Argo's CRDs are not installed (%v): hack/cluster.sh up installs them", err)
	}
	if _, err := st.applyFiles(ctx, filepath.Join(st.root, "test", "e2e", "testdata"), ""); err != nil {
		return fmt.Errorf("installing the e2e ClusterWorkflowTemplates: %w", err)
	}
	// make run-local offers the example's ClusterArtifactType "oci" to every
	// namespace; the tests' namespaced types of that name would shadow it, which
	// ARC refuses. The suite runs alone on the cluster (checkNoOtherController).
	err = st.arc.ArcV1alpha1().ClusterArtifactTypes().Delete(ctx, "oci", metav1.DeleteOptions{})
	if ignoreNotFound(err) != nil {
		return fmt.Errorf("removing ClusterArtifactType oci: %w", err)
	}
	if err == nil {
		fmt.Println("e2e: removed ClusterArtifactType oci (left by make run-local): the tests' namespaced types use that name")
	}

	nodes, err := st.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: kwokNodeLabel})
	if err != nil {
		return err
	}
	for _, n := range nodes.Items {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return nil
			}
		}
	}
	return fmt.Errorf("no Ready node labelled %s: the tests need KWOK's fake node (hack/cluster.sh up starts it)", kwokNodeLabel)
}

// checkNoOtherController fails when another arc-controller works on the
// same cluster, for example the one `make run-local` leaves running: two
// controllers would fight over every object and the restart test would mean
// nothing. It finds them by their --kubeconfig flag.
func (st *suite) checkNoOtherController() error {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil // not Linux: nothing to check with
	}
	var others []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if filepath.Base(args[0]) != "arc-controller" {
			continue
		}
		cwd, _ := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if kc := kubeconfigArg(args[1:]); kc != "" {
			if !filepath.IsAbs(kc) {
				kc = filepath.Join(cwd, kc)
			}
			if filepath.Clean(kc) == st.kubeconfig {
				others = append(others, fmt.Sprintf("pid %d: %s", pid, strings.Join(args, " ")))
			}
		}
	}
	if len(others) > 0 {
		return fmt.Errorf("another arc-controller works on this cluster:\n  %s\n"+
			"stop it first (the one of `make run-local` stops with `hack/run-local.sh stop`)", strings.Join(others, "\n  "))
	}
	return nil
}

func kubeconfigArg(args []string) string {
	for i, a := range args {
		for _, prefix := range []string{"--kubeconfig=", "-kubeconfig="} {
			if strings.HasPrefix(a, prefix) {
				return strings.TrimPrefix(a, prefix)
			}
		}
		if (a == "--kubeconfig" || a == "-kubeconfig") && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// applyFiles server-side applies every object of the YAML files of dir (or
// of the one file dir names), into namespace ns when they are namespaced.
func (st *suite) applyFiles(ctx context.Context, path, ns string) ([]*unstructured.Unstructured, error) {
	files := []string{path}
	if fi, err := os.Stat(path); err != nil {
		return nil, err
	} else if fi.IsDir() {
		files = nil
		for _, pattern := range []string{"*.yaml", "*.yml"} {
			matches, _ := filepath.Glob(filepath.Join(path, pattern))
			for _, m := range matches {
				// A kustomization lists the files of its directory; it is
				// not an object of the API.
				if base := filepath.Base(m); base != "kustomization.yaml" && base != "kustomization.yml" {
					files = append(files, m)
				}
			}
		}
	}
	var applied []*unstructured.Unstructured
	for _, f := range files {
		objs, err := readObjects(f)
		if err != nil {
			return nil, err
		}
		for _, obj := range objs {
			out, err := st.apply(ctx, obj, ns)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", st.relative(f), err)
			}
			applied = append(applied, out)
		}
	}
	return applied, nil
}

// apply server-side applies one object, forcing conflicts: the suite owns
// what it applies.
func (st *suite) apply(ctx context.Context, obj *unstructured.Unstructured, ns string) (*unstructured.Unstructured, error) {
	gvk := obj.GroupVersionKind()
	mapping, err := st.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	var ri dynamic.ResourceInterface = st.dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if ns == "" {
			ns = obj.GetNamespace()
		}
		if ns == "" {
			ns = metav1.NamespaceDefault
		}
		obj.SetNamespace(ns)
		ri = st.dyn.Resource(mapping.Resource).Namespace(ns)
	}
	out, err := ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: fieldManager, Force: true})
	if err != nil {
		return nil, fmt.Errorf("applying %s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	return out, nil
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

func (st *suite) waitCRDEstablished(ctx context.Context, name string) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		crd, err := st.dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		status, _ := crdCondition(crd, "Established")
		last = "Established=" + status
		return status == "True", nil
	})
	if err != nil {
		return fmt.Errorf("CRD %s not established (%s): %w", name, last, err)
	}
	return nil
}

// crdCondition returns the status and message of a CRD condition, "" if absent.
func crdCondition(crd *unstructured.Unstructured, condType string) (status, message string) {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]interface{})
		if !ok || m["type"] != condType {
			continue
		}
		status, _ = m["status"].(string)
		message, _ = m["message"].(string)
		return status, message
	}
	return "", ""
}

// ---------------------------------------------------------------- controller

// controllerProcess is one running bin/arc-controller.
type controllerProcess struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

// startController starts the shared controller; the suite must not have one.
// It serves /metrics over plain HTTP on a free port of 127.0.0.1, for the
// tests that check the metrics against the objects (TestMixedOrder).
func (st *suite) startController(extraArgs ...string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	address := "127.0.0.1:" + strconv.Itoa(port)
	args := append([]string{"--metrics-bind-address=" + address, "--metrics-secure=false"}, extraArgs...)
	p, err := st.launchController(args...)
	if err != nil {
		return err
	}
	st.mu.Lock()
	st.controller = p
	st.metricsURL = "http://" + address + "/metrics"
	st.mu.Unlock()
	return nil
}

// launchController starts bin/arc-controller on the suite's cluster, for all
// namespaces, and waits until its caches have synced (/readyz).
func (st *suite) launchController(extraArgs ...string) (*controllerProcess, error) {
	return st.launchControllerLoggingTo(st.controllerLog, extraArgs...)
}

// launchControllerLoggingTo is launchController with the log appended to logPath.
func (st *suite) launchControllerLoggingTo(logPath string, extraArgs ...string) (*controllerProcess, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{
		"--kubeconfig=" + st.kubeconfig,
		"--leader-elect=false",
		"--metrics-bind-address=0",
		"--health-probe-bind-address=127.0.0.1:" + strconv.Itoa(port),
		"--shutdown-grace-period=10s",
		// Argo's shortest schedule is once a minute; the default minimum
		// of 10 minutes would make a test of runs take half an hour.
		"--min-schedule-interval=1m",
		"-v=2",
	}, extraArgs...)
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logf, "\n===== %s e2e: starting %s %s\n", time.Now().Format(time.RFC3339Nano), st.relative(st.controllerBin), strings.Join(args, " "))
	cmd := exec.Command(st.controllerBin, args...)
	cmd.Dir = st.root
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childProcAttr()
	err = cmd.Start()
	logf.Close()
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", st.controllerBin, err)
	}
	p := &controllerProcess{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()

	url := fmt.Sprintf("http://127.0.0.1:%d/readyz", port)
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("arc-controller exited at start-up (%v); last lines of %s:\n%s", p.err, st.relative(logPath), tail(logPath, 20))
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
	}
	_ = p.kill()
	return nil, fmt.Errorf("arc-controller not ready after 90 s; last lines of %s:\n%s", st.relative(logPath), tail(logPath, 20))
}

// suspendSharedController stops the suite's shared controller for the rest
// of test t, which runs a controller of its own, and starts it again when t
// ends, whatever happens in between. Only tests that do not call t.Parallel
// may use it.
func (st *suite) suspendSharedController(t *testing.T) {
	t.Helper()
	st.mu.Lock()
	shared := st.controller
	st.controller = nil
	st.mu.Unlock()
	if shared != nil {
		if err := shared.stop(20 * time.Second); err != nil {
			t.Fatalf("stopping the shared arc-controller: %v", err)
		}
	}
	t.Cleanup(func() {
		st.mu.Lock()
		running := st.controller != nil
		st.mu.Unlock()
		if !running {
			if err := st.startController(); err != nil {
				t.Errorf("restarting the shared arc-controller: %v", err)
			}
		}
	})
}

// pid of the process.
func (p *controllerProcess) pid() int { return p.cmd.Process.Pid }

// kill sends SIGKILL and waits until the process is gone.
func (p *controllerProcess) kill() error {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-p.exited
	return nil
}

// stop sends SIGTERM, and SIGKILL if the process is still there after grace.
func (p *controllerProcess) stop(grace time.Duration) error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(grace):
		return errors.Join(fmt.Errorf("arc-controller did not stop within %s after SIGTERM: killed", grace), p.kill())
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ignoreNotFound returns nil for a NotFound error.
func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

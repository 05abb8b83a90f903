package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
)

// The identity bin/arc-controller runs as: the ServiceAccount of
// manifests/rbac. The audit policy logs exactly this user.
const (
	arcNamespace      = "arc-system"
	arcServiceAccount = "arc-controller"
	arcUser           = "system:serviceaccount:" + arcNamespace + ":" + arcServiceAccount
)

// paths of the worktree the benchmark runs in.
type paths struct {
	root string
}

func (p paths) bin(name string) string { return filepath.Join(p.root, "bin", name) }
func (p paths) local(parts ...string) string {
	return filepath.Join(append([]string{p.root, ".local"}, parts...)...)
}
func (p paths) kubeconfig() string { return p.local("kubeconfig") }
func (p paths) auditLog() string   { return p.local("logs", "audit.log") }
func (p paths) auditPolicy() string {
	return filepath.Join(p.root, "hack", "bench", "audit-policy.yaml")
}
func (p paths) outDir() string { return p.local("bench") }

// chaosDir holds the results of make chaos; chaosPidDir the pids of the
// controllers it runs, so that the next run stops what an interrupted one left.
func (p paths) chaosDir() string    { return p.local("chaos") }
func (p paths) chaosPidDir() string { return p.local("chaos", "pids") }

// clusterProfile is how a run needs the local cluster to run: with the
// benchmark's audit policy always, and with or without Argo's controller
// and extra flags for kube-apiserver and etcd (make chaos degrades them).
type clusterProfile struct {
	argo          bool
	apiserverArgs string // ARC_APISERVER_ARGS: space-separated flags
	etcdArgs      string // ARC_ETCD_ARGS
}

// env is the environment hack/cluster.sh up needs to start this profile.
func (c clusterProfile) env(auditPolicy string) []string {
	return []string{
		"ARC_AUDIT_POLICY=" + auditPolicy,
		"ARC_ARGO=" + strconv.FormatBool(c.argo),
		"ARC_APISERVER_ARGS=" + c.apiserverArgs,
		"ARC_ETCD_ARGS=" + c.etcdArgs,
	}
}

// clusterState is what hack/cluster.sh recorded about the running cluster.
type clusterState struct {
	running     bool   // every core component alive and the API answers
	auditPolicy string // the ARC_AUDIT_POLICY it was started with
	argo        bool   // the workflow-controller runs
	// apiserverArgs and etcdArgs are the extra flags it was started with.
	apiserverArgs, etcdArgs string
}

// misfits lists why a running cluster in state st cannot serve profile c
// with audit policy want; none means it can be reused.
func (st clusterState) misfits(c clusterProfile, want string) []string {
	var why []string
	if st.auditPolicy != want {
		have := st.auditPolicy
		if have == "" {
			have = "no audit log"
		}
		why = append(why, fmt.Sprintf("it runs with %s instead of the audit policy %s", have, want))
	}
	if st.argo != c.argo {
		why = append(why, fmt.Sprintf("Argo's workflow-controller running is %v, this mode needs %v", st.argo, c.argo))
	}
	if st.apiserverArgs != c.apiserverArgs || st.etcdArgs != c.etcdArgs {
		why = append(why, fmt.Sprintf("its extra flags are kube-apiserver %q, etcd %q; this run needs %q, %q",
			st.apiserverArgs, st.etcdArgs, c.apiserverArgs, c.etcdArgs))
	}
	return why
}

// readClusterEnv parses .local/cluster/cluster.env (KEY=VALUE lines written
// by hack/cluster.sh, values quoted with printf %q).
func readClusterEnv(text string) map[string]string {
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || k == "" {
			continue
		}
		if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		env[k] = strings.ReplaceAll(v, `\ `, " ")
	}
	return env
}

func (p paths) clusterScript(ctx context.Context, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(p.root, "hack", "cluster.sh"), args...)
	cmd.Dir = p.root
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

func (p paths) inspectCluster(ctx context.Context) clusterState {
	var st clusterState
	out, err := p.clusterScript(ctx, nil, "status").CombinedOutput()
	st.running = err == nil
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "workflow-controller" && f[1] == "running" {
			st.argo = true
		}
	}
	if data, err := os.ReadFile(p.local("cluster", "cluster.env")); err == nil {
		env := readClusterEnv(string(data))
		st.auditPolicy = env["AUDIT_POLICY"]
		st.apiserverArgs, st.etcdArgs = env["APISERVER_ARGS"], env["ETCD_ARGS"]
	}
	return st
}

// ensureCluster brings the worktree's cluster up with the benchmark's audit
// policy and the profile's Argo mode and extra flags. A running cluster
// that does not fit is this worktree's own: it is stopped and started
// afresh (the audit policy and the flags can only be set at start).
func (p paths) ensureCluster(ctx context.Context, profile clusterProfile) error {
	st := p.inspectCluster(ctx)
	want := p.auditPolicy()
	if st.running {
		if why := st.misfits(profile, want); len(why) > 0 {
			logf("the local cluster does not fit this run: %s; restarting it (hack/cluster.sh down, up)", strings.Join(why, "; "))
			if err := runStreaming(p.clusterScript(ctx, nil, "down")); err != nil {
				return fmt.Errorf("hack/cluster.sh down: %w", err)
			}
		} else {
			logf("reusing the local cluster (audit policy %s, Argo controller %v)", want, profile.argo)
		}
	}
	if err := runStreaming(p.clusterScript(ctx, profile.env(want), "up")); err != nil {
		return fmt.Errorf("hack/cluster.sh up: %w", err)
	}
	st = p.inspectCluster(ctx)
	if why := st.misfits(profile, want); len(why) > 0 {
		return fmt.Errorf("the cluster still does not fit: %s", strings.Join(why, "; "))
	}
	if _, err := os.Stat(p.auditLog()); err != nil {
		return fmt.Errorf("no audit log at %s: %w", p.auditLog(), err)
	}
	return nil
}

// runStreaming runs cmd with its output on ours.
func runStreaming(cmd *exec.Cmd) error {
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

// kubectl runs bin/kubectl with the admin kubeconfig.
func (p paths) kubectl(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, p.bin("kubectl"), append([]string{"--kubeconfig=" + p.kubeconfig()}, args...)...)
	cmd.Dir = p.root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// installARC applies ARC's CRDs and the controller's identity: the
// namespace arc-system and manifests/rbac (ServiceAccount, ClusterRole,
// bindings), as `make install` and `kubectl apply -k manifests/rbac` would.
func (p paths) installARC(ctx context.Context) error {
	if err := p.kubectl(ctx, "apply", "--server-side", "--force-conflicts", "--field-manager=arc-bench", "-k", "manifests/crd"); err != nil {
		return err
	}
	if err := p.waitEstablished(ctx, "crd/orders.arc.opendefense.cloud", "crd/artifactworkflows.arc.opendefense.cloud",
		"crd/endpoints.arc.opendefense.cloud", "crd/artifacttypes.arc.opendefense.cloud",
		"crd/clusterartifacttypes.arc.opendefense.cloud"); err != nil {
		return err
	}
	if err := p.kubectl(ctx, "apply", "--server-side", "--field-manager=arc-bench", "-f", "manifests/controller/namespace.yaml"); err != nil {
		return err
	}
	return p.kubectl(ctx, "apply", "--server-side", "--force-conflicts", "--field-manager=arc-bench", "-k", "manifests/rbac")
}

// waitEstablished waits up to a minute until the CRDs are Established.
// kubectl wait fails at once, instead of waiting, while a CRD just created
// has no conditions yet ("accessor error: <nil>"), so it is retried.
func (p paths) waitEstablished(ctx context.Context, crds ...string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := p.kubectl(ctx, append([]string{"wait", "--for=condition=Established", "--timeout=10s"}, crds...)...)
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// writeControllerKubeconfig gets a token of ARC's ServiceAccount through the
// TokenRequest API and writes a kubeconfig with it next to the results.
func (p paths) writeControllerKubeconfig(ctx context.Context, kube kubernetes.Interface, valid time.Duration) (string, error) {
	tr, err := kube.CoreV1().ServiceAccounts(arcNamespace).CreateToken(ctx, arcServiceAccount, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(valid.Seconds()))},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("TokenRequest for %s: %w", arcUser, err)
	}
	admin, err := clientcmd.LoadFromFile(p.kubeconfig())
	if err != nil {
		return "", err
	}
	ctxName := admin.CurrentContext
	cluster := admin.Clusters[admin.Contexts[ctxName].Cluster]
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["arc-local"] = cluster
	cfg.AuthInfos[arcServiceAccount] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["arc-bench"] = &clientcmdapi.Context{Cluster: "arc-local", AuthInfo: arcServiceAccount}
	cfg.CurrentContext = "arc-bench"
	path := filepath.Join(p.outDir(), "arc-controller.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return "", err
	}
	return path, os.Chmod(path, 0o600)
}

// controllerProc is a bin/arc-controller the harness started.
type controllerProc struct {
	name      string // its argv[0]
	cmd       *exec.Cmd
	pidFile   string
	logPath   string
	probePort int
	// metricsPort serves /metrics, and /debug/pprof with --profiling.
	metricsPort int
	exited      chan struct{}
	exitErr     error // what Wait returned, once exited is closed
}

// freePort asks the kernel for a free port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// pidRunsBinary tells whether pid is alive and runs a binary named name (its
// argv[0], or name.<suffix>: make chaos gives every process its own).
func pidRunsBinary(pid int, name string) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	exe, _, _ := strings.Cut(string(data), "\x00")
	if base := filepath.Base(exe); base != name && !strings.HasPrefix(base, name+".") {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// stopRecorded stops an arc-controller whose pid a file of this worktree
// records (an interrupted benchmark, or make run-local): two controllers on
// one cluster would both act on the benchmark's Orders.
func stopRecorded(pidFile, what string) {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err == nil && pidRunsBinary(pid, "arc-controller") {
		logf("stopping the arc-controller of %s (pid %d, recorded in %s)", what, pid, pidFile)
		_ = syscall.Kill(pid, syscall.SIGTERM)
		for i := 0; i < 300 && pidRunsBinary(pid, "arc-controller"); i++ {
			time.Sleep(100 * time.Millisecond)
		}
		if pidRunsBinary(pid, "arc-controller") {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	_ = os.Remove(pidFile)
}

// stopRecordedIn stops the arc-controllers whose pids the files *.pid in dir
// record.
func stopRecordedIn(dir, what string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.pid"))
	for _, f := range files {
		stopRecorded(f, what)
	}
}

// controllerSpec says how to start one bin/arc-controller.
type controllerSpec struct {
	// name is its argv[0]. client-go builds the user agent from it, so a
	// name of its own per process (arc-controller.p7) lets the audit log
	// tell processes apart.
	name    string
	logPath string // its stdout and stderr, truncated
	pidFile string // records its pid while it runs
	args    []string
	env     []string // added to the environment it inherits from the harness
}

// launchController starts bin/arc-controller with ARC's identity (the
// kubeconfig) and probes on a free port; it does not wait for anything.
func (p paths) launchController(kubeconfig string, spec controllerSpec) (*controllerProc, error) {
	metricsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	probePort, err := freePort()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(spec.logPath)
	if err != nil {
		return nil, err
	}
	all := append([]string{
		"--kubeconfig=" + kubeconfig,
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", metricsPort),
		// Plain HTTP on loopback: nothing scrapes it with credentials, and a
		// scrape would otherwise add a TokenReview and a SubjectAccessReview
		// to ARC's requests in the audit log.
		"--metrics-secure=false",
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probePort),
		"--shutdown-grace-period=10s",
	}, spec.args...)
	cmd := &exec.Cmd{Path: p.bin("arc-controller"), Args: append([]string{spec.name}, all...), Env: append(os.Environ(), spec.env...)}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group (a Ctrl-C reaches the harness, which stops it
	// in order), and a TERM should the harness die first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	c := &controllerProc{name: spec.name, cmd: cmd, pidFile: spec.pidFile, logPath: spec.logPath, probePort: probePort, metricsPort: metricsPort, exited: make(chan struct{})}
	_ = os.WriteFile(c.pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	go func() {
		c.exitErr = cmd.Wait()
		logFile.Close()
		_ = os.Remove(c.pidFile)
		close(c.exited)
	}()
	return c, nil
}

// startController starts bin/arc-controller with ARC's identity, without
// leader election, and waits until /readyz says its caches synced.
func (p paths) startController(ctx context.Context, kubeconfig string, args, env []string, logName string) (*controllerProc, error) {
	c, err := p.launchController(kubeconfig, controllerSpec{
		name:    "arc-controller",
		logPath: p.local("logs", logName),
		pidFile: filepath.Join(p.outDir(), "arc-controller.pid"),
		args:    append([]string{"--leader-elect=false"}, args...),
		env:     env,
	})
	if err != nil {
		return nil, err
	}
	logf("started bin/arc-controller as %s (pid %d, %s, log .local/logs/%s)", arcUser, c.pid(), strings.Join(slices.Concat(env, args), " "), logName)
	if err := c.waitReady(ctx, 90*time.Second); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// waitReady waits until the controller's /readyz answers OK.
func (c *controllerProc) waitReady(ctx context.Context, timeout time.Duration) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/readyz", c.probePort)
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-c.exited:
			return fmt.Errorf("%s exited at start-up (%v); see %s", c.name, c.exitErr, c.logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("%s did not become ready within %s; see %s", c.name, timeout, c.logPath)
}

func (c *controllerProc) pid() int { return c.cmd.Process.Pid }

// alive tells whether the process has not exited yet.
func (c *controllerProc) alive() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// stop sends TERM, waits up to 20 s, then KILL.
func (c *controllerProc) stop() {
	if c == nil {
		return
	}
	select {
	case <-c.exited:
	default:
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(20 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
	}
}

// kill sends SIGKILL (a crash: no drain, no Lease release) and waits until
// the process is gone.
func (c *controllerProc) kill() {
	_ = c.cmd.Process.Kill()
	<-c.exited
}

// apiserverPid is the kube-apiserver's pid as hack/cluster.sh recorded it.
func (p paths) apiserverPid() int {
	data, err := os.ReadFile(p.local("cluster", "pids", "kube-apiserver.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid
}

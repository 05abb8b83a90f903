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

// clusterState is what hack/cluster.sh recorded about the running cluster.
type clusterState struct {
	running     bool   // every core component alive and the API answers
	auditPolicy string // the ARC_AUDIT_POLICY it was started with
	argo        bool   // the workflow-controller runs
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
		st.auditPolicy = readClusterEnv(string(data))["AUDIT_POLICY"]
	}
	return st
}

// ensureCluster brings the worktree's cluster up with the benchmark's audit
// policy and the wanted Argo mode. A running cluster started without that
// policy, or in the other Argo mode, is this worktree's own: it is stopped
// and started afresh (the audit policy can only be set at start).
func (p paths) ensureCluster(ctx context.Context, argo bool) error {
	st := p.inspectCluster(ctx)
	want := p.auditPolicy()
	if st.running {
		var why []string
		if st.auditPolicy != want {
			have := st.auditPolicy
			if have == "" {
				have = "no audit log"
			}
			why = append(why, fmt.Sprintf("it runs with %s instead of the audit policy %s", have, want))
		}
		if st.argo != argo {
			why = append(why, fmt.Sprintf("Argo's workflow-controller running is %v, this mode needs %v", st.argo, argo))
		}
		if len(why) > 0 {
			logf("the local cluster does not fit the benchmark: %s; restarting it (hack/cluster.sh down, up)", strings.Join(why, "; "))
			if err := runStreaming(p.clusterScript(ctx, nil, "down")); err != nil {
				return fmt.Errorf("hack/cluster.sh down: %w", err)
			}
		} else {
			logf("reusing the local cluster (audit policy %s, Argo controller %v)", want, argo)
		}
	}
	env := []string{"ARC_AUDIT_POLICY=" + want, "ARC_ARGO=" + strconv.FormatBool(argo)}
	if err := runStreaming(p.clusterScript(ctx, env, "up")); err != nil {
		return fmt.Errorf("hack/cluster.sh up: %w", err)
	}
	st = p.inspectCluster(ctx)
	if st.auditPolicy != want {
		return fmt.Errorf("the cluster still runs with audit policy %q, want %q", st.auditPolicy, want)
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
	if err := p.kubectl(ctx, "wait", "--for=condition=Established", "--timeout=60s",
		"crd/orders.arc.opendefense.cloud", "crd/artifactworkflows.arc.opendefense.cloud",
		"crd/endpoints.arc.opendefense.cloud", "crd/artifacttypes.arc.opendefense.cloud",
		"crd/clusterartifacttypes.arc.opendefense.cloud"); err != nil {
		return err
	}
	if err := p.kubectl(ctx, "apply", "--server-side", "--field-manager=arc-bench", "-f", "manifests/controller/namespace.yaml"); err != nil {
		return err
	}
	return p.kubectl(ctx, "apply", "--server-side", "--force-conflicts", "--field-manager=arc-bench", "-k", "manifests/rbac")
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

// controllerProc is the bin/arc-controller the benchmark started.
type controllerProc struct {
	cmd     *exec.Cmd
	pidFile string
	exited  chan struct{}
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

// pidRunsBinary tells whether pid is alive and runs a binary named name.
func pidRunsBinary(pid int, name string) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	exe, _, _ := strings.Cut(string(data), "\x00")
	if filepath.Base(exe) != name {
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

// startController starts bin/arc-controller with ARC's identity and waits
// until /readyz says its caches synced.
func (p paths) startController(ctx context.Context, kubeconfig string, args []string) (*controllerProc, error) {
	metricsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	probePort, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := p.local("logs", "bench-arc-controller.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	all := append([]string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", metricsPort),
		// Plain HTTP on loopback: nothing scrapes it with credentials, and a
		// scrape would otherwise add a TokenReview and a SubjectAccessReview
		// to ARC's requests in the audit log.
		"--metrics-secure=false",
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probePort),
		"--shutdown-grace-period=10s",
	}, args...)
	cmd := exec.Command(p.bin("arc-controller"), all...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group (a Ctrl-C reaches the benchmark, which stops it
	// in order), and a TERM should the benchmark die first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	c := &controllerProc{cmd: cmd, pidFile: filepath.Join(p.outDir(), "arc-controller.pid"), exited: make(chan struct{})}
	_ = os.WriteFile(c.pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(c.exited)
	}()
	logf("started bin/arc-controller as %s (pid %d, %s, log .local/logs/bench-arc-controller.log)", arcUser, cmd.Process.Pid, strings.Join(args, " "))
	url := fmt.Sprintf("http://127.0.0.1:%d/readyz", probePort)
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-c.exited:
			return nil, fmt.Errorf("arc-controller exited at start-up; see %s", logPath)
		case <-ctx.Done():
			c.stop()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
	}
	c.stop()
	return nil, fmt.Errorf("arc-controller did not become ready within 90 s; see %s", logPath)
}

func (c *controllerProc) pid() int { return c.cmd.Process.Pid }

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
	_ = os.Remove(c.pidFile)
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

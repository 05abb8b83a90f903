# The real node of the local cluster: containerd + runc from Debian's packages
# and a kubelet built from the control plane's pinned kubernetes module, so
# that Workflow steps really run. Sourced by hack/cluster.sh, whose helpers
# (log, die, start_bg, stop, alive, kc, wait_for, free_ports) it uses.
#
# Layout (all under .local/cluster/node, removed by 'down'):
#   containerd.toml, containerd/{root,state}, containerd.sock   the runtime
#   cni/10-lo-only.conflist      loopback only: pods use the host network
#   kubelet.yaml, kubelet/       the kubelet's config and root dir
#   pod-logs/                    what the steps printed (kubectl logs cannot
#                                reach a kubelet without a node address)
#
# Step pods need `hostNetwork: true`, a toleration of REAL_NODE_TAINT and the
# node selector REAL_NODE_LABEL; the taint keeps every other pod (the e2e
# suite's fake-node Workflows among them) off the real node.

REAL_NODE="arc-node-0"
REAL_NODE_LABEL="type=real"
REAL_NODE_TAINT_KEY="arc.opendefense.cloud/real-node"
NODE_DIR="${STATE_DIR}/node"
NODE_PACKAGES=(containerd runc containernetworking-plugins busybox-static docker-registry apache2-utils)
CNI_BIN_DIR="/usr/lib/cni"
# Why the real node is not running (empty while it runs); read by run-local
# and the e2e suite.
REAL_NODE_SKIP_FILE="${STATE_DIR}/real-node.skip"

# want_real_node: ARC_REAL_NODE is auto (default: run it where the machine
# can), true (fail when it cannot) or false.
real_node_mode() {
  case "${ARC_REAL_NODE:-auto}" in
    auto | "") echo auto ;;
    1 | true | yes | on) echo true ;;
    0 | false | no | off) echo false ;;
    *) die "ARC_REAL_NODE must be auto, true or false, not '${ARC_REAL_NODE}'" ;;
  esac
}

# missing_node_packages: the Debian packages of NODE_PACKAGES not installed.
missing_node_packages() {
  local p
  for p in "${NODE_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "${p}" 2>/dev/null | grep -q 'install ok installed' || echo "${p}"
  done
}

# ensure_node_packages: install what the real node needs from Debian's
# packages (root only). Prints the reason and fails when it cannot.
ensure_node_packages() {
  local -a missing
  if ! command -v dpkg-query >/dev/null; then
    echo "the real node needs Debian's packages (${NODE_PACKAGES[*]}); this machine has no dpkg"
    return 1
  fi
  mapfile -t missing < <(missing_node_packages)
  ((${#missing[@]} == 0)) && return 0
  if ((EUID != 0)); then
    echo "the real node needs root (kubelet and containerd mount filesystems and create namespaces) and the Debian packages: ${missing[*]}; as root: apt-get install -y ${missing[*]}"
    return 1
  fi
  # To stderr: real_node_blocker's caller takes anything on stdout for the
  # reason the node cannot start.
  log "installing Debian packages for the real node: ${missing[*]}" >&2
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } \
    >"${LOG_DIR}/apt.log" 2>&1; then
    echo "apt-get install ${missing[*]} failed; see .local/logs/apt.log"
    return 1
  fi
}

# real_node_blocker: empty when this machine can run the real node, else why
# not.
real_node_blocker() {
  if ((EUID != 0)); then
    echo "the real node needs root (kubelet and containerd mount filesystems and create namespaces); run as root, or with ARC_REAL_NODE=false for the fake node only"
    return 0
  fi
  ensure_node_packages || return 0
  if [[ ! -x "${BIN_DIR}/kubelet" ]]; then
    echo "bin/kubelet is missing (hack/build-tool.sh kubelet)"
    return 0
  fi
  if [[ ! -x "${CNI_BIN_DIR}/loopback" ]]; then
    echo "${CNI_BIN_DIR}/loopback is missing (Debian package containernetworking-plugins)"
    return 0
  fi
}

containerd_socket() { echo "${NODE_DIR}/containerd.sock"; }

write_containerd_config() {
  local sock
  sock="$(containerd_socket)"
  # A unix socket path holds at most 107 bytes; containerd appends ".ttrpc".
  ((${#sock} <= 100)) || die "the containerd socket path is too long for a unix socket (${#sock} > 100 bytes): ${sock}; use a shorter checkout path"
  mkdir -p "${NODE_DIR}/containerd/root" "${NODE_DIR}/containerd/state" "${NODE_DIR}/cni"
  cat >"${NODE_DIR}/cni/10-lo-only.conflist" <<'EOF'
{"cniVersion": "1.0.0", "name": "lo-only", "plugins": [{"type": "loopback"}]}
EOF
  cat >"${NODE_DIR}/containerd.toml" <<EOF
version = 2
root = "${NODE_DIR}/containerd/root"
state = "${NODE_DIR}/containerd/state"

[grpc]
  address = "${sock}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  # The machine lacks CAP_SYS_RESOURCE: without this every sandbox fails to
  # start ("can't get final child's PID from pipe").
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN_DIR}"
    conf_dir = "${NODE_DIR}/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
EOF
}

ctr_node() { ctr --address "$(containerd_socket)" -n k8s.io "$@"; }

containerd_answers() { ctr_node version >/dev/null 2>&1; }

start_containerd() {
  write_containerd_config
  EXE=/usr/bin/containerd start_bg containerd --config "${NODE_DIR}/containerd.toml"
  COMPONENT=containerd wait_for "containerd at $(containerd_socket)" containerd_answers
}

# import_node_images: the images steps run (hack/images.sh builds them).
import_node_images() {
  log "building and importing the node's images (hack/images.sh, log: .local/logs/images.log)"
  "${ROOT}/hack/images.sh" import "$(containerd_socket)" >>"${LOG_DIR}/images.log" 2>&1 ||
    die "importing the node's images into containerd failed; see .local/logs/images.log"
}

write_kubelet_config() {
  local -a ports
  read -r -a ports <<<"$(free_ports 2)"
  mkdir -p "${NODE_DIR}/kubelet" "${NODE_DIR}/pod-logs"
  cat >"${NODE_DIR}/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Loopback only: nothing outside this machine reaches the kubelet.
address: 127.0.0.1
port: ${ports[0]}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${ports[1]}
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
# cgroup v1 without CAP_SYS_RESOURCE: no QoS cgroup tree, no allocatable
# enforcement, no swap or local-storage accounting.
cgroupDriver: cgroupfs
failSwapOn: false
failCgroupV1: false
cgroupsPerQOS: false
enforceNodeAllocatable: []
localStorageCapacityIsolation: false
podLogsDir: ${NODE_DIR}/pod-logs
serializeImagePulls: false
# A developer machine's disk is often fuller than a node's: evict late.
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
imageGCHighThresholdPercent: 100
registerWithTaints:
  - key: ${REAL_NODE_TAINT_KEY}
    value: "true"
    effect: NoSchedule
EOF
}

start_kubelet() {
  write_kubelet_config
  # The kubelet uses the cluster's admin kubeconfig: the local API server
  # authorizes by RBAC only (no Node authorizer) and this node is the only
  # one.
  start_bg kubelet \
    --config="${NODE_DIR}/kubelet.yaml" \
    --kubeconfig="${STATE_KUBECONFIG}" \
    --container-runtime-endpoint="unix://$(containerd_socket)" \
    --hostname-override="${REAL_NODE}" \
    --node-labels="${REAL_NODE_LABEL}" \
    --root-dir="${NODE_DIR}/kubelet" \
    --cert-dir="${NODE_DIR}/kubelet/pki" \
    --v=1
  log "waiting for node ${REAL_NODE} to register and be Ready"
  COMPONENT=kubelet wait_for "node ${REAL_NODE} registered" kc get node "${REAL_NODE}"
  COMPONENT=kubelet wait_for "node ${REAL_NODE} Ready" \
    kc wait --for=condition=Ready --timeout=2s "node/${REAL_NODE}"
}

# start_real_node: containerd, the images, the kubelet; on a machine that
# cannot run it, record why (fatal with ARC_REAL_NODE=true).
start_real_node() {
  local mode blocker
  mode="$(real_node_mode)"
  rm -f "${REAL_NODE_SKIP_FILE}"
  if [[ "${mode}" == false ]]; then
    echo "ARC_REAL_NODE=false" >"${REAL_NODE_SKIP_FILE}"
    log "real node: off (ARC_REAL_NODE=false); steps run on the fake node only"
    return 0
  fi
  blocker="$(real_node_blocker)"
  if [[ -n "${blocker}" ]]; then
    [[ "${mode}" == true ]] && die "ARC_REAL_NODE=true, but ${blocker}"
    echo "${blocker}" >"${REAL_NODE_SKIP_FILE}"
    log "real node: not started: ${blocker}"
    return 0
  fi
  alive containerd || start_containerd
  import_node_images
  alive kubelet || start_kubelet
  log "real node ${REAL_NODE} Ready (label ${REAL_NODE_LABEL}, taint ${REAL_NODE_TAINT_KEY}=true:NoSchedule)"
}

real_node_running() { [[ ! -f "${REAL_NODE_SKIP_FILE}" ]] && alive kubelet && alive containerd; }

# node_mounts: mount points under NODE_DIR, deepest first.
node_mounts() {
  awk -v d="${NODE_DIR}/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r
}

# stop_real_node: the kubelet, every container it left running, containerd,
# the shims, the mounts and the Node object. Safe to call when nothing runs.
stop_real_node() {
  local m pid
  stop kubelet
  if alive containerd; then
    # Containers outlive containerd (their shims are separate processes):
    # kill them first, through containerd.
    for m in $(ctr_node tasks ls -q 2>/dev/null); do
      ctr_node tasks kill -s KILL "${m}" >/dev/null 2>&1 || true
    done
    sleep 1
    for m in $(ctr_node tasks ls -q 2>/dev/null); do
      ctr_node tasks delete -f "${m}" >/dev/null 2>&1 || true
    done
  fi
  stop containerd
  # Shims of this containerd name its socket on their command line.
  for pid in $(pgrep -f "containerd-shim.*-address $(containerd_socket)" 2>/dev/null); do
    kill -KILL "${pid}" 2>/dev/null || true
  done
  for m in $(node_mounts); do
    umount "${m}" 2>/dev/null || umount -l "${m}" 2>/dev/null || true
  done
  if [[ -f "${STATE_KUBECONFIG}" ]] && api_answers; then
    kc delete node "${REAL_NODE}" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  fi
}

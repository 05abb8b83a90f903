#!/usr/bin/env bash
# A local Kubernetes control plane + Argo Workflows controller, without Docker.
#
# Usage: hack/cluster.sh up|down|status|env|smoke|restart [--kill] COMPONENT
#
#   up      build the pinned binaries if needed (hack/build-tool.sh), then start
#           etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok
#           (one fake node) and Argo's workflow-controller on 127.0.0.1, install
#           the Argo CRDs and wait until everything is ready. Where the machine
#           can (root; Debian's containerd and runc, installed when missing),
#           also a real node (containerd + kubelet, node arc-node-0, label
#           type=real, taint arc.opendefense.cloud/real-node=true:NoSchedule),
#           two OCI registries with basic auth and a file server, seeded with
#           test content (.local/cluster/registries.env, seed.json). Reuses a
#           running cluster. Writes .local/kubeconfig.
#   down    stop every process 'up' started (TERM, then KILL), the real node's
#           containers, its mounts and Node object, and remove .local/cluster
#           and .local/kubeconfig. Logs stay in .local/logs.
#   status  show each component, its pid and whether it is alive.
#   env     print 'export KUBECONFIG=...' (use: eval "$(hack/cluster.sh env)").
#   smoke   run one succeeding and one failing Argo Workflow on the fake node.
#   restart [--kill] COMPONENT
#           stop one component of the running cluster (TERM, or KILL with
#           --kill: a crash) and start it again with the flags, ports and data
#           it had; waits until it (and the API) is ready again. For fault
#           injection (make chaos). Its log is appended to, not truncated.
#
# Environment:
#   ARC_ARGO=false          do not run Argo's workflow-controller (the Argo CRDs
#                           are installed all the same); on a running cluster,
#                           'up' starts or stops it to match
#   ARC_AUDIT_POLICY=FILE   run kube-apiserver with this audit policy, logging
#                           to .local/logs/audit.log; the value 'metadata' uses a
#                           built-in policy that logs every request at Metadata
#                           level (needs a fresh cluster: 'down' first)
#   ARC_APISERVER_ARGS=ARGS extra kube-apiserver flags, space-separated (e.g.
#                           --max-requests-inflight=2); ARC_ETCD_ARGS the same
#                           for etcd. Recorded in .local/cluster/cluster.env;
#                           'up' restarts a running cluster started with others
#   ARC_ARGO_REQUEUE_TIME=D Argo's DEFAULT_REQUEUE_TIME (Go duration, Argo's
#                           default 10s): a Pod step's completion is seen up to
#                           D late; 1s makes tests faster. 'up' restarts a
#                           running workflow-controller if it changed
#   ARC_ARGO_TEMPLATE_REFERENCING=MODE  Argo's workflowRestrictions
#                           templateReferencing (default Secure, as ARC's users
#                           run it; empty: unrestricted)
#   ARC_REAL_NODE=auto      the real node: auto (where the machine can; the
#                           reason it cannot is in .local/cluster/real-node.skip
#                           and 'status'), true (fail when it cannot), false
#   ARC_SKIP_BUILD=1        do not call hack/build-tool.sh, only check bin/
#   ARC_BIN_DIR=DIR         where the binaries are (default: <repo>/bin)
#   ARC_READY_TIMEOUT=SEC   how long 'up' waits for each readiness step (120)
#   ARC_STOP_TIMEOUT=SEC    how long 'down' waits after TERM before KILL (20)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="${ARC_BIN_DIR:-${ROOT}/bin}"
LOCAL_DIR="${ROOT}/.local"
STATE_DIR="${LOCAL_DIR}/cluster"
PID_DIR="${STATE_DIR}/pids"
PKI_DIR="${STATE_DIR}/pki"
LOG_DIR="${LOCAL_DIR}/logs"
KUBECONFIG_OUT="${LOCAL_DIR}/kubeconfig"
STATE_KUBECONFIG="${STATE_DIR}/kubeconfig"
CLUSTER_ENV="${STATE_DIR}/cluster.env"
STAGES_FILE="${ROOT}/hack/kwok/stages.yaml"
SMOKE_FILE="${ROOT}/hack/kwok/smoke-workflows.yaml"

READY_TIMEOUT="${ARC_READY_TIMEOUT:-120}"
STOP_TIMEOUT="${ARC_STOP_TIMEOUT:-20}"

ARGO_MODULE="github.com/argoproj/argo-workflows/v3"
ARGO_NAMESPACE="argo"
ARGO_CONFIGMAP="workflow-controller-configmap"
ARGO_EXECUTOR_IMAGE="quay.io/argoproj/argoexec:v3.7.18"
FAKE_NODE="kwok-node-0"
SERVICE_CIDR="10.0.0.0/24"
POD_CIDR="10.244.0.0/16"

# Start order; 'down' stops them in reverse.
CORE_COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
ALL_COMPONENTS=("${CORE_COMPONENTS[@]}" workflow-controller)
# The real node and what its steps copy between (hack/lib/node.sh,
# hack/lib/registries.sh); only where the machine can run them.
NODE_COMPONENTS=(containerd kubelet registry-src registry-dst fileserver)

export GOWORK=off

log() { echo "[cluster +${SECONDS}s] $*"; }
die() { echo "[cluster] error: $*" >&2; exit 1; }

is_true() {
  case "${1,,}" in
    1 | true | yes | on) return 0 ;;
    *) return 1 ;;
  esac
}

want_argo() { is_true "${ARC_ARGO:-true}"; }

# ---------------------------------------------------------------- processes

pid_of() {
  local f="${PID_DIR}/$1.pid"
  [[ -f "${f}" ]] && cat "${f}"
}

# running PID: PID exists and is not a zombie (an exited daemon stays a zombie
# until whatever adopted it reaps it, which can take a while).
running() {
  local st
  st="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  st="${st##*) }"
  [[ -n "${st}" && "${st:0:1}" != Z ]]
}

# alive NAME: the pid recorded for NAME runs, and runs NAME's binary (guards
# against a recycled pid); NAME.exe in the pid folder names the binary of a
# component whose name differs from it (registry-src runs docker-registry).
alive() {
  local name="$1" pid exe want="$1"
  pid="$(pid_of "${name}")" || return 1
  [[ -n "${pid}" ]] && running "${pid}" || return 1
  [[ -f "${PID_DIR}/${name}.exe" ]] && want="$(cat "${PID_DIR}/${name}.exe")"
  exe="$(tr '\0' '\n' <"/proc/${pid}/cmdline" 2>/dev/null | head -n1)" || return 1
  [[ "${exe##*/}" == "${want}" ]]
}

# start_bg NAME ARGS...: run bin/NAME (or the binary EXE names) detached from
# this shell (own session, stdin from /dev/null, output to
# .local/logs/NAME.log) and record its pid.
# The log starts empty, unless APPEND_LOG=true (a restart: the log of the
# run before it is evidence).
start_bg() {
  local name="$1"
  shift
  local logf="${LOG_DIR}/${name}.log"
  if [[ "${APPEND_LOG:-false}" == true ]]; then
    echo "---- $(date -u +%FT%TZ) restarted by hack/cluster.sh restart" >>"${logf}"
  else
    : >"${logf}"
  fi
  local exe="${EXE:-${BIN_DIR}/${name}}"
  log "starting ${name} (log: .local/logs/${name}.log)"
  setsid "${exe}" "$@" </dev/null >>"${logf}" 2>&1 9>&- &
  local pid=$! i
  echo "${pid}" >"${PID_DIR}/${name}.pid"
  echo "${exe##*/}" >"${PID_DIR}/${name}.exe"
  # The pid runs the shell's fork, then setsid, and only then the binary:
  # until it does, alive would take it for a component that exited (seen
  # on a busy machine, with an empty log). Wait for the exec, or the exit.
  for ((i = 0; i < 100; i++)); do
    if alive "${name}" || ! running "${pid}"; then
      return 0
    fi
    sleep 0.05
  done
}

# stop NAME [SIGNAL]: send TERM (or SIGNAL: KILL for a crash), wait up to
# STOP_TIMEOUT seconds, then KILL.
stop() {
  local name="$1" signal="${2:-TERM}" pid i
  if ! alive "${name}"; then
    rm -f "${PID_DIR}/${name}.pid" "${PID_DIR}/${name}.exe"
    return 0
  fi
  pid="$(pid_of "${name}")"
  log "stopping ${name} (pid ${pid}, SIG${signal})"
  kill "-${signal}" "${pid}" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    running "${pid}" || break
    sleep 0.1
  done
  if running "${pid}"; then
    log "${name} did not stop within ${STOP_TIMEOUT}s: KILL"
    kill -KILL "${pid}" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      running "${pid}" || break
      sleep 0.1
    done
  fi
  rm -f "${PID_DIR}/${name}.pid" "${PID_DIR}/${name}.exe"
}

# ---------------------------------------------------------------- helpers

kc() { "${BIN_DIR}/kubectl" --kubeconfig "${STATE_KUBECONFIG}" "$@"; }

api_answers() {
  [[ -f "${STATE_KUBECONFIG}" ]] || return 1
  [[ "$(kc get --raw=/readyz --request-timeout=5s 2>/dev/null)" == ok ]]
}

# wait_for DESC CMD...: retry CMD every second until it succeeds or
# READY_TIMEOUT passes; COMPONENT (if set) must stay alive meanwhile.
wait_for() {
  local desc="$1" deadline=$((SECONDS + READY_TIMEOUT))
  shift
  while ((SECONDS < deadline)); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    if [[ -n "${COMPONENT:-}" ]] && ! alive "${COMPONENT}"; then
      die "${COMPONENT} exited while waiting for ${desc}; see .local/logs/${COMPONENT}.log"
    fi
    sleep 1
  done
  die "timed out after ${READY_TIMEOUT}s waiting for ${desc}"
}

# shellcheck source=hack/lib/ports.sh
source "${ROOT}/hack/lib/ports.sh"
# shellcheck source=hack/lib/node.sh
source "${ROOT}/hack/lib/node.sh"
# shellcheck source=hack/lib/registries.sh
source "${ROOT}/hack/lib/registries.sh"

require_binaries() {
  # kustomize renders the real node's artifact types (run-local, e2e).
  local -a tools=(kubernetes etcd kwok kustomize) missing=()
  local b
  want_argo && tools+=(argo)
  if ! is_true "${ARC_SKIP_BUILD:-false}"; then
    ARC_BIN_DIR="${BIN_DIR}" "${ROOT}/hack/build-tool.sh" "${tools[@]}"
  fi
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; do
    [[ -x "${BIN_DIR}/${b}" ]] || missing+=("${b}")
  done
  if want_argo && [[ ! -x "${BIN_DIR}/workflow-controller" ]]; then
    missing+=(workflow-controller)
  fi
  ((${#missing[@]} == 0)) || die "missing in ${BIN_DIR}: ${missing[*]} (run hack/build-tool.sh all)"
}

require_openssl() {
  command -v openssl >/dev/null ||
    die "openssl is needed to create the service-account key pair; install it with: apt-get install -y openssl"
}

argo_module_dir() {
  local dir="${ROOT}/hack/tools/argo" mdir
  go -C "${dir}" mod download "${ARGO_MODULE}" >/dev/null
  mdir="$(go -C "${dir}" list -mod=readonly -m -f '{{.Dir}}' "${ARGO_MODULE}")"
  [[ -d "${mdir}/manifests/base/crds/full" ]] || die "Argo CRDs not found under ${mdir}"
  echo "${mdir}"
}

# ---------------------------------------------------------------- start-up

write_pki() {
  mkdir -p "${PKI_DIR}"
  if [[ ! -f "${PKI_DIR}/sa.key" ]]; then
    openssl genrsa -out "${PKI_DIR}/sa.key" 2048 2>/dev/null
    openssl rsa -in "${PKI_DIR}/sa.key" -pubout -out "${PKI_DIR}/sa.pub" 2>/dev/null
    chmod 600 "${PKI_DIR}/sa.key"
  fi
  if [[ ! -f "${PKI_DIR}/tokens.csv" ]]; then
    echo "$(openssl rand -hex 24),arc-admin,arc-admin,system:masters" >"${PKI_DIR}/tokens.csv"
    chmod 600 "${PKI_DIR}/tokens.csv"
  fi
}

write_kubeconfig() {
  local ca token
  ca="$(base64 -w0 <"${STATE_DIR}/kube-apiserver/apiserver.crt")"
  token="$(cut -d, -f1 "${PKI_DIR}/tokens.csv")"
  : >"${STATE_KUBECONFIG}"
  chmod 600 "${STATE_KUBECONFIG}"
  cat >"${STATE_KUBECONFIG}" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: arc-local
  cluster:
    server: https://127.0.0.1:${APISERVER_PORT}
    certificate-authority-data: ${ca}
users:
- name: arc-admin
  user:
    token: ${token}
contexts:
- name: arc-local
  context:
    cluster: arc-local
    user: arc-admin
current-context: arc-local
EOF
  cp -p "${STATE_KUBECONFIG}" "${KUBECONFIG_OUT}"
}

# audit_policy: ARC_AUDIT_POLICY as an absolute path ('' and 'metadata' as is).
audit_policy() {
  local policy="${ARC_AUDIT_POLICY:-}"
  if [[ -n "${policy}" && "${policy}" != metadata && -f "${policy}" ]]; then
    policy="$(cd "$(dirname "${policy}")" && pwd)/$(basename "${policy}")"
  fi
  echo "${policy}"
}

# set_audit_args POLICY: AUDIT_ARGS holds the kube-apiserver audit flags for
# POLICY (as audit_policy prints it), if any. A fresh start (FRESH_START=true)
# begins an empty audit log; a restart appends to it.
set_audit_args() {
  local policy="$1"
  AUDIT_ARGS=()
  if [[ -z "${policy}" ]]; then
    [[ "${FRESH_START}" == true ]] && rm -f "${LOG_DIR}/audit.log"
    return 0
  fi
  if [[ "${policy}" == metadata ]]; then
    policy="${STATE_DIR}/audit-policy.yaml"
    cat >"${policy}" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
EOF
  fi
  [[ -f "${policy}" ]] || die "ARC_AUDIT_POLICY: no such file: ${policy}"
  if [[ "${FRESH_START}" == true ]]; then
    : >"${LOG_DIR}/audit.log"
    log "audit log enabled: policy ${policy}, log .local/logs/audit.log"
  fi
  AUDIT_ARGS=("--audit-policy-file=${policy}" "--audit-log-path=${LOG_DIR}/audit.log")
}

# extra_args WORDS: the extra flags of a component as the environment asks
# for them (ARC_APISERVER_ARGS, ARC_ETCD_ARGS), normalised to single spaces
# so that the comparison with a running cluster's is exact.
extra_args() {
  local -a words
  read -r -a words <<<"$1"
  echo "${words[*]}"
}

start_core() {
  local -a ports
  read -r -a ports <<<"$(free_ports 4)"
  ETCD_PORT="${ports[0]}"
  ETCD_PEER_PORT="${ports[1]}"
  APISERVER_PORT="${ports[2]}"
  ARGO_METRICS_PORT="${ports[3]}"
  AUDIT_POLICY="$(audit_policy)"
  APISERVER_ARGS="$(extra_args "${ARC_APISERVER_ARGS:-}")"
  ETCD_ARGS="$(extra_args "${ARC_ETCD_ARGS:-}")"
  cat >"${CLUSTER_ENV}" <<EOF
ETCD_PORT=${ETCD_PORT}
ETCD_PEER_PORT=${ETCD_PEER_PORT}
APISERVER_PORT=${APISERVER_PORT}
ARGO_METRICS_PORT=${ARGO_METRICS_PORT}
EOF
  printf 'AUDIT_POLICY=%q\nAPISERVER_ARGS=%q\nETCD_ARGS=%q\n' \
    "${AUDIT_POLICY}" "${APISERVER_ARGS}" "${ETCD_ARGS}" >>"${CLUSTER_ENV}"
  write_pki

  start_etcd
  start_kube-apiserver
  write_kubeconfig
  wait_apiserver
  start_kube-controller-manager
  start_kube-scheduler
  start_kwok
}

# The start_* functions start one component with the settings of cluster.env
# (just written by start_core, or sourced), so that 'restart' brings a
# component back exactly as 'up' started it.

start_etcd() {
  local -a extra
  read -r -a extra <<<"${ETCD_ARGS:-}"
  start_bg etcd \
    --name=arc \
    --data-dir="${STATE_DIR}/etcd" \
    --listen-client-urls="http://127.0.0.1:${ETCD_PORT}" \
    --advertise-client-urls="http://127.0.0.1:${ETCD_PORT}" \
    --listen-peer-urls="http://127.0.0.1:${ETCD_PEER_PORT}" \
    --initial-advertise-peer-urls="http://127.0.0.1:${ETCD_PEER_PORT}" \
    --initial-cluster="arc=http://127.0.0.1:${ETCD_PEER_PORT}" \
    --log-level=warn \
    "${extra[@]}"
  COMPONENT=etcd wait_for "etcd health" curl -fsS "http://127.0.0.1:${ETCD_PORT}/health"
}

start_kube-apiserver() {
  local -a extra
  read -r -a extra <<<"${APISERVER_ARGS:-}"
  set_audit_args "${AUDIT_POLICY:-}"
  mkdir -p "${STATE_DIR}/kube-apiserver"
  start_bg kube-apiserver \
    --etcd-servers="http://127.0.0.1:${ETCD_PORT}" \
    --cert-dir="${STATE_DIR}/kube-apiserver" \
    --bind-address=127.0.0.1 \
    --secure-port="${APISERVER_PORT}" \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-account-key-file="${PKI_DIR}/sa.pub" \
    --service-account-signing-key-file="${PKI_DIR}/sa.key" \
    --token-auth-file="${PKI_DIR}/tokens.csv" \
    --authorization-mode=RBAC \
    --service-cluster-ip-range="${SERVICE_CIDR}" \
    --profiling=false \
    "${AUDIT_ARGS[@]}" \
    "${extra[@]}"
  COMPONENT=kube-apiserver wait_for "the kube-apiserver serving certificate" \
    test -s "${STATE_DIR}/kube-apiserver/apiserver.crt"
}

wait_apiserver() {
  log "waiting for kube-apiserver /readyz (about 10-20 s)"
  COMPONENT=kube-apiserver wait_for "kube-apiserver /readyz" api_answers
}

start_kube-controller-manager() {
  # Each controller runs as its own ServiceAccount in kube-system, as with
  # kubeadm: the garbage collector is
  # system:serviceaccount:kube-system:generic-garbage-collector, the identity
  # ARC's admission policy lets remove ArtifactWorkflows' owner references and
  # finalizers. clusterrole-aggregation fills the built-in admin, edit and view
  # roles with ARC's user roles; resourcequota counts objects for quotas;
  # root-ca-cert-publisher puts kube-root-ca.crt in every namespace, which
  # pods that mount a ServiceAccount token (Argo's executor) need.
  start_bg kube-controller-manager \
    --kubeconfig="${STATE_KUBECONFIG}" \
    --leader-elect=false \
    --bind-address=127.0.0.1 \
    --secure-port=0 \
    --controllers=garbagecollector,namespace,serviceaccount-token,serviceaccount,nodelifecycle,clusterrole-aggregation,resourcequota,root-ca-cert-publisher \
    --service-account-private-key-file="${PKI_DIR}/sa.key" \
    --root-ca-file="${STATE_DIR}/kube-apiserver/apiserver.crt" \
    --use-service-account-credentials=true
}

start_kube-scheduler() {
  start_bg kube-scheduler \
    --kubeconfig="${STATE_KUBECONFIG}" \
    --leader-elect=false \
    --bind-address=127.0.0.1 \
    --secure-port=0
}

# stages_sum: what identifies the Stages kwok runs with.
stages_sum() { sha256sum <"${STAGES_FILE}" | cut -d' ' -f1; }

start_kwok() {
  stages_sum >"${STATE_DIR}/kwok.stages"
  start_bg kwok \
    --kubeconfig="${STATE_KUBECONFIG}" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --cidr="${POD_CIDR}" \
    --config="${STAGES_FILE}"
}

install_crds() {
  local dir f sum
  local -a files=() crds=()
  dir="$(argo_module_dir)/manifests/base/crds/full"
  for f in "${dir}"/*.yaml; do
    [[ "${f##*/}" == kustomization.yaml ]] && continue
    files+=(-f "${f}")
    crds+=("crd/$(basename "${f}" .yaml | sed -E 's/^([^_]+)_(.*)$/\2.\1/')")
  done
  sum="$(cat "${dir}"/*.yaml | sha256sum | cut -d' ' -f1)"
  if [[ "$(cat "${STATE_DIR}/crds.sha256" 2>/dev/null)" == "${sum}" ]] &&
    kc get "${crds[@]}" >/dev/null 2>&1; then
    log "Argo CRDs already installed"
  else
    log "applying the Argo CRDs from ${ARGO_MODULE} (module cache)"
    # Server-side apply: the full CRDs are too large for the client-side
    # last-applied-configuration annotation.
    kc apply --server-side --force-conflicts --field-manager=arc-cluster-sh "${files[@]}" >/dev/null
  fi
  # kubectl wait fails outright while a new CRD has no conditions yet: retry.
  COMPONENT=kube-apiserver wait_for "Argo CRDs Established" \
    kc wait --for=condition=Established --timeout=5s "${crds[@]}"
  echo "${sum}" >"${STATE_DIR}/crds.sha256"
  log "Argo CRDs established (${#crds[@]})"
}

node_untainted() {
  [[ -z "$(kc get node "${FAKE_NODE}" -o 'jsonpath={.spec.taints}')" ]]
}

ensure_fake_node() {
  kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: ${FAKE_NODE}
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: ${FAKE_NODE}
    kubernetes.io/os: linux
    kubernetes.io/role: agent
    node-role.kubernetes.io/agent: ""
    type: kwok
EOF
  log "waiting for fake node ${FAKE_NODE} to be Ready"
  COMPONENT=kwok wait_for "node ${FAKE_NODE} Ready" \
    kc wait --for=condition=Ready --timeout=2s "node/${FAKE_NODE}"
  # The node.kubernetes.io/not-ready taint goes once nodelifecycle sees Ready.
  COMPONENT=kube-controller-manager wait_for "node ${FAKE_NODE} untainted" node_untainted
  COMPONENT=kube-controller-manager wait_for "ServiceAccount default/default" \
    kc get serviceaccount default -n default
}

ensure_argo_namespace() {
  kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: ${ARGO_NAMESPACE}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: ${ARGO_CONFIGMAP}
  namespace: ${ARGO_NAMESPACE}
data:
  # Argo's metrics server listens on :9090 by default and panics if that is
  # taken; give it a free port (plain HTTP) instead.
  metricsConfig: |
    port: ${ARGO_METRICS_PORT}
    secure: false
  # Steps on the real node use the host network, where no Service reaches the
  # API server: the executor finds it on loopback.
  executor: |
    env:
      - name: KUBERNETES_SERVICE_HOST
        value: 127.0.0.1
      - name: KUBERNETES_SERVICE_PORT
        value: "${APISERVER_PORT}"
$(argo_restrictions)
EOF
}

# argo_restrictions: the workflowRestrictions of the ConfigMap. ARC's users
# run Argo locked down, so the local cluster does too: a Workflow must
# reference a template and may set only Argo's allow-list of fields next to
# it. ARC_ARGO_TEMPLATE_REFERENCING= (empty) runs Argo unrestricted.
argo_restrictions() {
  local mode="${ARC_ARGO_TEMPLATE_REFERENCING-Secure}"
  [[ -n "${mode}" ]] || return 0
  printf '  workflowRestrictions: |\n    templateReferencing: %s\n' "${mode}"
}

argo_metrics_answer() {
  curl -fsS -o /dev/null "http://127.0.0.1:${ARGO_METRICS_PORT}/metrics"
}

# argo_settings: what the workflow-controller was started with.
argo_settings() { echo "requeue=${ARC_ARGO_REQUEUE_TIME:-}"; }

start_argo() {
  if ! port_free "${ARGO_METRICS_PORT}"; then
    ARGO_METRICS_PORT="$(free_ports 1)"
    sed -i "s/^ARGO_METRICS_PORT=.*/ARGO_METRICS_PORT=${ARGO_METRICS_PORT}/" "${CLUSTER_ENV}"
  fi
  ensure_argo_namespace
  if [[ -n "${ARC_ARGO_REQUEUE_TIME:-}" ]]; then
    log "workflow-controller: DEFAULT_REQUEUE_TIME=${ARC_ARGO_REQUEUE_TIME}"
    export DEFAULT_REQUEUE_TIME="${ARC_ARGO_REQUEUE_TIME}"
  fi
  argo_settings >"${STATE_DIR}/argo.settings"
  LEADER_ELECTION_DISABLE=true start_bg workflow-controller \
    --kubeconfig="${STATE_KUBECONFIG}" \
    --namespace="${ARGO_NAMESPACE}" \
    --configmap="${ARGO_CONFIGMAP}" \
    --executor-image="${ARGO_EXECUTOR_IMAGE}"
  COMPONENT=workflow-controller wait_for "workflow-controller metrics endpoint" argo_metrics_answer
}

core_alive() {
  local c
  for c in "${CORE_COMPONENTS[@]}"; do
    alive "${c}" || return 1
  done
}

have_state() { [[ -d "${PID_DIR}" ]]; }

# args_changed: the running cluster's extra flags differ from the ones the
# environment asks for. Unlike the audit policy (only a warning), these
# flags degrade the API server on purpose (make chaos), so no other user may
# reuse such a cluster unawares.
args_changed() {
  local want_api want_etcd
  want_api="$(extra_args "${ARC_APISERVER_ARGS:-}")"
  want_etcd="$(extra_args "${ARC_ETCD_ARGS:-}")"
  [[ -f "${CLUSTER_ENV}" ]] || return 1
  (
    # shellcheck source=/dev/null
    source "${CLUSTER_ENV}"
    [[ "${APISERVER_ARGS:-}" != "${want_api}" || "${ETCD_ARGS:-}" != "${want_etcd}" ]]
  )
}

# on_up_exit: if a fresh 'up' fails, stop what it started (logs stay).
FRESH_START=false
on_up_exit() {
  local rc=$?
  if ((rc != 0)) && [[ "${FRESH_START}" == true ]]; then
    log "start-up failed: stopping the components started so far (logs in .local/logs/)"
    stop_all
    rm -rf "${STATE_DIR}" "${KUBECONFIG_OUT}"
  fi
  exit "${rc}"
}

cmd_up() {
  mkdir -p "${LOCAL_DIR}" "${LOG_DIR}"
  exec 9>"${LOCAL_DIR}/cluster.lock"
  flock 9
  require_binaries
  require_openssl

  if have_state && core_alive && api_answers && ! args_changed; then
    # shellcheck source=/dev/null
    source "${CLUSTER_ENV}"
    log "reusing the running cluster (https://127.0.0.1:${APISERVER_PORT}, state in .local/cluster)"
    if [[ "$(audit_policy)" != "${AUDIT_POLICY:-}" ]]; then
      log "warning: ARC_AUDIT_POLICY='${ARC_AUDIT_POLICY:-}' but the running cluster was started with '${AUDIT_POLICY:-}'; run 'hack/cluster.sh down' first to change it"
    fi
    cp -p "${STATE_KUBECONFIG}" "${KUBECONFIG_OUT}"
    if [[ "$(cat "${STATE_DIR}/kwok.stages" 2>/dev/null)" != "$(stages_sum)" ]]; then
      log "hack/kwok/stages.yaml changed since kwok started: restarting kwok"
      stop kwok
      start_kwok
      stages_sum >"${STATE_DIR}/kwok.stages"
    fi
  else
    if have_state && args_changed; then
      log "the running cluster was started with other ARC_APISERVER_ARGS / ARC_ETCD_ARGS: stopping it to start afresh"
      stop_all
    elif have_state; then
      log "found stale state in .local/cluster (a component is dead or the API does not answer): cleaning up"
      stop_all
    fi
    rm -rf "${STATE_DIR}"
    mkdir -p "${PID_DIR}"
    FRESH_START=true
    trap on_up_exit EXIT
    start_core
  fi

  install_crds
  ensure_fake_node
  start_real_node
  if real_node_running && ! registries_running; then
    stop_registries
    start_registries
  fi
  if want_argo; then
    if alive workflow-controller &&
      [[ "$(cat "${STATE_DIR}/argo.settings" 2>/dev/null)" != "$(argo_settings)" ]]; then
      log "workflow-controller settings changed (ARC_ARGO_REQUEUE_TIME): restarting it"
      stop workflow-controller
    fi
    if alive workflow-controller; then
      ensure_argo_namespace
    else
      start_argo
    fi
  else
    if alive workflow-controller; then
      log "ARC_ARGO=false: stopping the running workflow-controller"
    fi
    stop workflow-controller
    ensure_argo_namespace
  fi
  core_alive || die "a component exited during start-up; see hack/cluster.sh status and .local/logs/"

  log "cluster ready: kubectl --kubeconfig .local/kubeconfig ... (or: eval \"\$(hack/cluster.sh env)\")"
}

# ---------------------------------------------------------------- down etc.

stop_all() {
  local i pid
  local -a pids=()
  stop_registries
  stop_real_node
  for ((i = ${#ALL_COMPONENTS[@]} - 1; i >= 0; i--)); do
    if alive "${ALL_COMPONENTS[i]}"; then
      pids+=("$(pid_of "${ALL_COMPONENTS[i]}")")
    fi
    stop "${ALL_COMPONENTS[i]}"
  done
  # Exited daemons linger as zombies until their adoptive parent reaps them;
  # give that a moment so that 'ps' right after 'down' shows nothing.
  for ((i = 0; i < 50; i++)); do
    for pid in "${pids[@]}"; do
      [[ -e "/proc/${pid}" ]] && break
      pid=""
    done
    [[ -z "${pid:-}" ]] && break
    sleep 0.1
  done
}

cmd_down() {
  mkdir -p "${LOCAL_DIR}"
  exec 9>"${LOCAL_DIR}/cluster.lock"
  flock 9
  if ! have_state; then
    log "no cluster state in .local/cluster: nothing to stop"
  else
    stop_all
    log "all components stopped"
  fi
  rm -rf "${STATE_DIR}" "${KUBECONFIG_OUT}"
  if [[ -d "${LOG_DIR}" ]]; then
    log "removed .local/cluster and .local/kubeconfig; logs kept in .local/logs/"
  fi
}

cmd_status() {
  local c pid rc=0
  if ! have_state; then
    log "no cluster (run: hack/cluster.sh up)"
    return 1
  fi
  if [[ -f "${CLUSTER_ENV}" ]]; then
    # shellcheck source=/dev/null
    source "${CLUSTER_ENV}"
  fi
  for c in "${ALL_COMPONENTS[@]}"; do
    pid="$(pid_of "${c}" || true)"
    if [[ -z "${pid}" ]]; then
      printf '%-24s %s\n' "${c}" "not started"
      [[ "${c}" == workflow-controller ]] || rc=1
    elif alive "${c}"; then
      printf '%-24s %s\n' "${c}" "running (pid ${pid}, log .local/logs/${c}.log)"
    else
      printf '%-24s %s\n' "${c}" "DEAD (pid ${pid}, log .local/logs/${c}.log)"
      rc=1
    fi
  done
  if api_answers; then
    printf '%-24s %s\n' "api" "https://127.0.0.1:${APISERVER_PORT:-?} ready"
  else
    printf '%-24s %s\n' "api" "https://127.0.0.1:${APISERVER_PORT:-?} NOT answering"
    rc=1
  fi
  for c in "${NODE_COMPONENTS[@]}"; do
    pid="$(pid_of "${c}" || true)"
    [[ -n "${pid}" ]] || continue
    if alive "${c}"; then
      printf '%-24s %s\n' "${c}" "running (pid ${pid}, log .local/logs/${c}.log)"
    else
      printf '%-24s %s\n' "${c}" "DEAD (pid ${pid}, log .local/logs/${c}.log)"
      rc=1
    fi
  done
  if [[ -f "${REAL_NODE_SKIP_FILE}" ]]; then
    printf '%-24s %s\n' "real node" "not running: $(cat "${REAL_NODE_SKIP_FILE}")"
  fi
  printf '%-24s %s\n' "etcd" "http://127.0.0.1:${ETCD_PORT:-?}"
  if alive workflow-controller; then
    printf '%-24s %s\n' "argo metrics" "http://127.0.0.1:${ARGO_METRICS_PORT:-?}/metrics"
  fi
  printf '%-24s %s\n' "kubeconfig" "${KUBECONFIG_OUT}"
  return "${rc}"
}

cmd_env() {
  [[ -f "${KUBECONFIG_OUT}" ]] || log "warning: no cluster yet (run: hack/cluster.sh up)" >&2
  printf 'export KUBECONFIG=%q\n' "${KUBECONFIG_OUT}"
}

wf_phase() { kc get workflow -n default "$1" -o 'jsonpath={.status.phase}' 2>/dev/null || true; }

wait_wf_done() {
  local name="$1" phase deadline=$((SECONDS + READY_TIMEOUT))
  while ((SECONDS < deadline)); do
    phase="$(wf_phase "${name}")"
    case "${phase}" in
      Succeeded | Failed | Error)
        echo "${phase}"
        return 0
        ;;
    esac
    sleep 1
  done
  echo "timeout(${phase:-none})"
}

cmd_smoke() {
  if ! { have_state && core_alive && api_answers; }; then
    die "no running cluster (run: hack/cluster.sh up)"
  fi
  alive workflow-controller || die "workflow-controller is not running (ARC_ARGO=false?)"
  local ok fail code started=${SECONDS}
  kc delete -f "${SMOKE_FILE}" --ignore-not-found --wait=true >/dev/null
  kc create -f "${SMOKE_FILE}" >/dev/null
  log "submitted arc-smoke-succeed and arc-smoke-fail (namespace default)"
  ok="$(wait_wf_done arc-smoke-succeed)"
  fail="$(wait_wf_done arc-smoke-fail)"
  code="$(kc get pods -n default -l workflows.argoproj.io/workflow=arc-smoke-fail \
    -o 'jsonpath={.items[*].status.containerStatuses[?(@.name=="main")].state.terminated.exitCode}')"
  log "arc-smoke-succeed: ${ok} (want Succeeded)"
  log "arc-smoke-fail:    ${fail} (want Failed), main exit code: ${code:-?} (want 1), message: $(kc get workflow -n default arc-smoke-fail -o 'jsonpath={.status.message}')"
  if [[ "${ok}" == Succeeded && "${fail}" == Failed && "${code}" == 1 ]]; then
    kc delete -f "${SMOKE_FILE}" --ignore-not-found >/dev/null
    log "smoke test passed in $((SECONDS - started)) s"
  else
    kc get workflows,pods -n default -o wide || true
    die "smoke test failed (workflows left in namespace default for inspection)"
  fi
}

# component_ports NAME: the TCP ports NAME listens on (from cluster.env).
component_ports() {
  case "$1" in
    etcd) echo "${ETCD_PORT} ${ETCD_PEER_PORT}" ;;
    kube-apiserver) echo "${APISERVER_PORT}" ;;
  esac
}

# wait_ports_released NAME: wait (up to 10 s each) until the ports of a
# stopped NAME can be bound again. A killed process's main thread can show
# as a zombie while its other threads still exit and hold its sockets; a
# restart that binds too early fails with "address already in use".
wait_ports_released() {
  local p i
  for p in $(component_ports "$1"); do
    for ((i = 0; i < 100; i++)); do
      port_free "${p}" && break
      sleep 0.1
    done
  done
}

# cmd_restart [--kill] COMPONENT: stop one component and start it again as
# 'up' started it, then wait until it (and the API server) is ready.
cmd_restart() {
  local signal=TERM name c known=false
  if [[ "${1:-}" == --kill ]]; then
    signal=KILL
    shift
  fi
  name="${1:-}"
  for c in "${CORE_COMPONENTS[@]}"; do
    [[ "${c}" == "${name}" ]] && known=true
  done
  [[ "${known}" == true ]] || die "restart: COMPONENT must be one of: ${CORE_COMPONENTS[*]}"
  mkdir -p "${LOCAL_DIR}"
  exec 9>"${LOCAL_DIR}/cluster.lock"
  flock 9
  have_state && [[ -f "${CLUSTER_ENV}" ]] || die "no running cluster (run: hack/cluster.sh up)"
  # shellcheck source=/dev/null
  source "${CLUSTER_ENV}"
  stop "${name}" "${signal}"
  wait_ports_released "${name}"
  APPEND_LOG=true "start_${name}"
  wait_apiserver
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit 2
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  smoke) cmd_smoke ;;
  restart)
    shift
    cmd_restart "$@"
    ;;
  -h | --help | help) usage ;;
  *) usage ;;
esac

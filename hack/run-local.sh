#!/usr/bin/env bash
# Run ARC on the local cluster with the examples, and show what it did.
#
# Usage: hack/run-local.sh [run|stop]
#
#   run   (default) build bin/arc-controller, start the local cluster
#         (hack/cluster.sh up; reused when it runs), install ARC's CRDs,
#         (re)start bin/arc-controller in the background, apply an Order into
#         namespace default, follow it until it succeeds or fails, and print
#         each artifact with its ArtifactWorkflow and Workflow, and the Order
#         status.
#         Where the cluster has its real node (see hack/cluster.sh), the
#         artifact types of examples/oci, examples/helm and examples/file (as
#         examples/run-local/real-node adapts them) really copy the seeded
#         image, chart and file between the local registries, and each
#         artifact's digest at the source and at the destination is printed.
#         Elsewhere it runs the OCI example on the fake node (examples/oci
#         plus the stand-in template of examples/run-local), and says why.
#         Running it again replays the example: the Order is deleted (with
#         everything ARC made for it) and applied again.
#   stop  stop the arc-controller a previous 'run' started (nothing else).
#
# Environment:
#   ARC_RUN_LOCAL_TIMEOUT=SEC  how long to follow the Order (default 180)
#   ARC_SKIP_BUILD=1           do not build bin/arc-controller, and let
#                              hack/cluster.sh skip its tool builds too
#   ARC_BIN_DIR=DIR            where the binaries are (default: <repo>/bin)
#
# The controller logs to .local/logs/arc-controller.log, its pid is in
# .local/arc-controller.pid. 'make cluster-down' stops it with the cluster.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"

BIN_DIR="${ARC_BIN_DIR:-${ROOT}/bin}"
LOCAL_DIR=".local"
KUBECONFIG_FILE="${LOCAL_DIR}/kubeconfig"
LOG_DIR="${LOCAL_DIR}/logs"
CONTROLLER_LOG="${LOG_DIR}/arc-controller.log"
CONTROLLER_PID="${LOCAL_DIR}/arc-controller.pid"
NAMESPACE="default"
TIMEOUT="${ARC_RUN_LOCAL_TIMEOUT:-180}"

ORDER_FILE="examples/oci/order.yaml"
EXAMPLE_FILES=(
  examples/oci/endpoints.yaml
  examples/oci/artifact-type.yaml
  examples/run-local/
)
REAL_NODE_OVERLAY="examples/run-local/real-node"
REAL_NODE_ORDER_FILE="${REAL_NODE_OVERLAY}/order.yaml"
STATE_DIR="${LOCAL_DIR}/cluster"

LABEL_ORDER_UID="arc.opendefense.cloud/order-uid"

step() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
die() {
  printf '\nrun-local: error: %s\n' "$*" >&2
  exit 1
}

kc() { "${BIN_DIR}/kubectl" --kubeconfig "${KUBECONFIG_FILE}" "$@"; }

is_true() {
  case "${1,,}" in
    1 | true | yes | on) return 0 ;;
    *) return 1 ;;
  esac
}

# ------------------------------------------------------------ the controller

# controller_alive PID: PID runs, and runs an arc-controller binary (guards
# against a pid recycled by another program).
controller_alive() {
  local pid="$1" exe
  [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null || return 1
  exe="$(tr '\0' '\n' <"/proc/${pid}/cmdline" 2>/dev/null | head -n1)" || return 1
  [[ "${exe##*/}" == arc-controller ]]
}

stop_controller() {
  local pid i
  [[ -f "${CONTROLLER_PID}" ]] || return 0
  pid="$(cat "${CONTROLLER_PID}")"
  if controller_alive "${pid}"; then
    info "stopping the arc-controller of a previous run (pid ${pid})"
    kill -TERM "${pid}" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
      kill -0 "${pid}" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "${pid}" 2>/dev/null; then
      info "arc-controller did not stop within 20 s: KILL"
      kill -KILL "${pid}" 2>/dev/null || true
    fi
  fi
  rm -f "${CONTROLLER_PID}"
}

# shellcheck source=hack/lib/ports.sh
source "${ROOT}/hack/lib/ports.sh"

start_controller() {
  local metrics_port probe_port pid i
  read -r metrics_port probe_port <<<"$(free_ports 2)"
  mkdir -p "${LOG_DIR}"
  : >"${CONTROLLER_LOG}"
  # Its own session, so it outlives this script (and a Ctrl-C of make).
  setsid "${BIN_DIR}/arc-controller" \
    --kubeconfig="${KUBECONFIG_FILE}" \
    --leader-elect=false \
    --metrics-bind-address="127.0.0.1:${metrics_port}" \
    --metrics-secure=false \
    --health-probe-bind-address="127.0.0.1:${probe_port}" \
    --shutdown-grace-period=10s \
    -v=2 \
    </dev/null >>"${CONTROLLER_LOG}" 2>&1 &
  pid=$!
  echo "${pid}" >"${CONTROLLER_PID}"
  for ((i = 0; i < 600; i++)); do
    if ! kill -0 "${pid}" 2>/dev/null; then
      tail -n 20 "${CONTROLLER_LOG}" >&2 || true
      die "arc-controller exited at start-up; see ${CONTROLLER_LOG}"
    fi
    if curl -fsS -o /dev/null "http://127.0.0.1:${probe_port}/readyz" 2>/dev/null; then
      info "arc-controller running (pid ${pid}), caches synced"
      info "metrics: http://127.0.0.1:${metrics_port}/metrics, log: ${CONTROLLER_LOG}"
      return 0
    fi
    sleep 0.1
  done
  die "arc-controller did not become ready within 60 s; see ${CONTROLLER_LOG}"
}

# ------------------------------------------------------------ the example

install_crds() {
  local crds
  kc apply --server-side --force-conflicts --field-manager=arc-run-local -k manifests/crd >/dev/null
  crds="$(kc get -k manifests/crd -o name)"
  # kubectl wait fails at once while a new CRD has no conditions yet: retry.
  local deadline=$((SECONDS + 60))
  # shellcheck disable=SC2086 # one name per word
  until kc wait --for=condition=Established --timeout=10s ${crds} >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "ARC's CRDs are not Established after 60 s"
    sleep 1
  done
  info "$(wc -w <<<"${crds}") CRDs established"
}

# remove_previous_order NAME: delete the Order of a previous run and wait
# until the garbage collector removed its ArtifactWorkflows and Workflows, so
# the new Order starts from nothing.
remove_previous_order() {
  local name="$1" uid left i
  uid="$(kc get order "${name}" -n "${NAMESPACE}" -o 'jsonpath={.metadata.uid}' 2>/dev/null || true)"
  [[ -n "${uid}" ]] || return 0
  info "deleting Order ${name} of a previous run, and what ARC made for it"
  kc delete order "${name}" -n "${NAMESPACE}" --wait=true >/dev/null
  for ((i = 0; i < 120; i++)); do
    left="$(kc get artifactworkflows.arc.opendefense.cloud,workflows.argoproj.io -n "${NAMESPACE}" \
      -l "${LABEL_ORDER_UID}=${uid}" -o name 2>/dev/null || true)"
    [[ -z "${left}" ]] && return 0
    sleep 0.5
  done
  die "the ArtifactWorkflows and Workflows of the previous Order ${name} are still there after 60 s: ${left}"
}

order_field() { kc get order "${ORDER}" -n "${NAMESPACE}" -o "jsonpath=$1" 2>/dev/null || true; }

# follow_order: print the Order's progress until it is Succeeded or Failed.
# Returns 0 on Succeeded, 1 on Failed, 2 on timeout.
follow_order() {
  local start=${SECONDS} line last="" phase total succeeded running pending failed
  while :; do
    # ';' separates: with a tab, read would merge the empty fields of zero counters.
    IFS=';' read -r phase total succeeded running pending failed < <(
      order_field '{.status.phase}{";"}{.status.total}{";"}{.status.succeeded}{";"}{.status.running}{";"}{.status.pending}{";"}{.status.failed}{"\n"}'
    ) || true
    line="${phase:-} (${succeeded:-0}/${total:-0} succeeded, ${running:-0} running, ${pending:-0} pending, ${failed:-0} failed)"
    if [[ -n "${phase}" && "${line}" != "${last}" ]]; then
      printf '    [%3ds] Order %s: %s\n' "$((SECONDS - start))" "${ORDER}" "${line}"
      last="${line}"
    fi
    case "${phase}" in
      Succeeded) return 0 ;;
      Failed) return 1 ;;
    esac
    if ((SECONDS - start >= TIMEOUT)); then
      printf '    [%3ds] still %s, giving up\n' "$((SECONDS - start))" "${phase:-without a phase}"
      return 2
    fi
    sleep 1
  done
}

print_table() {
  local idx name phase wf_phase type spec
  {
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' ARTIFACT TYPE SPEC "ARTIFACTWORKFLOW (= WORKFLOW)" AW-PHASE WORKFLOW-PHASE
    while IFS=$'\t' read -r idx name phase; do
      [[ -n "${idx}" ]] || continue
      type="$(order_field "{.spec.artifacts[${idx}].type}")"
      spec="$(order_field "{.spec.artifacts[${idx}].spec}")"
      [[ -n "${spec}" ]] || spec='{}'
      wf_phase="$(kc get workflows.argoproj.io "${name}" -n "${NAMESPACE}" -o 'jsonpath={.status.phase}' 2>/dev/null || echo "(none)")"
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "${idx}" "${type}" "${spec}" "${name}" "${phase:--}" "${wf_phase:--}"
    done < <(order_field '{range .status.artifactWorkflows.*}{.artifactIndex}{"\t"}{.name}{"\t"}{.phase}{"\n"}{end}' | sort -n)
    while IFS=$'\t' read -r idx reason message; do
      [[ -n "${idx}" ]] || continue
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "${idx}" "$(order_field "{.spec.artifacts[${idx}].type}")" \
        "$(order_field "{.spec.artifacts[${idx}].spec}")" "(none: ${reason})" "-" "${message}"
    done < <(order_field '{range .status.unresolvedArtifacts[*]}{.artifactIndex}{"\t"}{.reason}{"\t"}{.message}{"\n"}{end}')
  } | align_columns
}

# align_columns: tab-separated rows as columns padded to their widest cell
# (awk, because column(1) is not on every machine).
align_columns() {
  awk -F'\t' '
    { rows[NR] = $0; for (i = 1; i <= NF; i++) if (length($i) > w[i]) w[i] = length($i); if (NF > n) n = NF }
    END {
      for (r = 1; r <= NR; r++) {
        c = split(rows[r], f, "\t"); line = ""
        for (i = 1; i <= c; i++) line = line (i < c ? sprintf("%-" w[i] + 2 "s", f[i]) : f[i])
        print line
      }
    }'
}

print_epilogue() {
  cat <<EOF

==> Look around
    bin/kubectl --kubeconfig ${KUBECONFIG_FILE} get arc                 # every ARC object
    bin/kubectl --kubeconfig ${KUBECONFIG_FILE} get orders,workflows,pods
    bin/kubectl --kubeconfig ${KUBECONFIG_FILE} describe order ${ORDER}   # events included
    bin/kubectl --kubeconfig ${KUBECONFIG_FILE} get pods -o yaml          # the commands each step would run
    Controller log:  ${CONTROLLER_LOG} (pid $(cat "${CONTROLLER_PID}" 2>/dev/null || echo '?') in ${CONTROLLER_PID})
    Cluster logs:    ${LOG_DIR}/
    Run it again:    make run-local
    Stop everything: make cluster-down   (the controller and the cluster)
EOF
}

# ------------------------------------------------------------ the real node

# real_node_reason: empty when the cluster runs its real node and registries,
# else why not.
real_node_reason() {
  if [[ -f "${STATE_DIR}/real-node.skip" ]]; then
    cat "${STATE_DIR}/real-node.skip"
  elif [[ ! -f "${STATE_DIR}/registries.env" || ! -f "${STATE_DIR}/seed.json" ]]; then
    echo "the cluster has no registries (.local/cluster/registries.env)"
  fi
}

# seed_sha256: the seeded file's SHA-256 from seed.json; only 64 hex digits
# pass.
seed_sha256() {
  sed -n 's/.*"sha256": *"\([a-f0-9]\{64\}\)".*/\1/p' "${STATE_DIR}/seed.json" | head -n1
}

# dockerconfigjson REGISTRY USER PASSWORD: a Docker config for one registry.
dockerconfigjson() {
  printf '{"auths":{"%s":{"auth":"%s"}}}' "$1" "$(printf '%s:%s' "$2" "$3" | base64 -w0)"
}

# apply_real_node_examples: the three artifact types as the real node runs
# them, the steps' ServiceAccount, and Secrets and Endpoints for the local
# registries and file server.
apply_real_node_examples() {
  # shellcheck source=/dev/null
  source "${STATE_DIR}/registries.env"
  "${BIN_DIR}/kustomize" build "${REAL_NODE_OVERLAY}" | kc apply -f - | sed 's/^/    /'
  kc apply -f examples/workflow-identity/cluster-role.yaml | sed 's/^/    /'
  kc apply -n "${NAMESPACE}" -f examples/workflow-identity/service-account.yaml | sed 's/^/    /'
  # The credentials go from the cluster's state into Secrets through a pipe,
  # never on a command line.
  kc create secret generic local-src-creds -n "${NAMESPACE}" --type=kubernetes.io/dockerconfigjson \
    --from-file=.dockerconfigjson=<(dockerconfigjson "${SRC_REGISTRY}" "${SRC_USER}" "${SRC_PASSWORD}") \
    --dry-run=client -o yaml | kc apply -f - | sed 's/^/    /'
  kc create secret generic local-dst-creds -n "${NAMESPACE}" --type=kubernetes.io/dockerconfigjson \
    --from-file=.dockerconfigjson=<(dockerconfigjson "${DST_REGISTRY}" "${DST_USER}" "${DST_PASSWORD}") \
    --dry-run=client -o yaml | kc apply -f - | sed 's/^/    /'
  kc apply -n "${NAMESPACE}" -f - <<EOF | sed 's/^/    /'
apiVersion: arc.opendefense.cloud/v1alpha1
kind: Endpoint
metadata:
  name: local-src
spec:
  type: oci
  remoteURL: http://${SRC_REGISTRY}
  secretRef:
    name: local-src-creds
  usage: PullOnly
---
apiVersion: arc.opendefense.cloud/v1alpha1
kind: Endpoint
metadata:
  name: local-dst
spec:
  type: oci
  remoteURL: http://${DST_REGISTRY}
  secretRef:
    name: local-dst-creds
  usage: PushOnly
---
apiVersion: arc.opendefense.cloud/v1alpha1
kind: Endpoint
metadata:
  name: local-files
spec:
  type: http
  remoteURL: ${FILE_SERVER}
  usage: PullOnly
EOF
}

# apply_real_node_order: the Order of the real node, with the seeded file's
# checksum added.
apply_real_node_order() {
  local sum
  sum="$(seed_sha256)"
  [[ -n "${sum}" ]] || die "no file checksum in ${STATE_DIR}/seed.json"
  kc patch --local -f "${REAL_NODE_ORDER_FILE}" --type=json -o yaml \
    -p "[{\"op\":\"add\",\"path\":\"/spec/artifacts/2/spec/sha256\",\"value\":\"${sum}\"}]" |
    kc apply -n "${NAMESPACE}" -f - | sed 's/^/    /'
}

# inspect REGISTRY-PREFIX REF: bin/imagetool inspect of REF in the local
# registry SRC or DST (the prefix of its variables in registries.env).
inspect() {
  local registry user password
  registry="$1_REGISTRY" user="$1_USER" password="$1_PASSWORD"
  "${BIN_DIR}/imagetool" inspect --registry "${!registry}" --username "${!user}" \
    --password "${!password}" --plain-http --ref "$2" 2>/dev/null
}

# first_digest: the first "digest" of inspect's JSON (the reference's own);
# layer_digest: the first layer's.
first_digest() { sed -n 's/^  "digest": "\(sha256:[a-f0-9]*\)".*/\1/p' | head -n1; }
layer_digest() { sed -n '/"layers"/,/]/s/.*"digest": "\(sha256:[a-f0-9]*\)".*/\1/p' | head -n1; }

same() { [[ -n "$1" && "$1" == "$2" ]] && echo yes || echo NO; }

# print_digests: each artifact's digest at the source and at the destination.
print_digests() {
  # shellcheck source=/dev/null
  source "${STATE_DIR}/registries.env"
  local src dst
  {
    printf '%s\t%s\t%s\t%s\n' ARTIFACT SOURCE DESTINATION SAME
    src="$(inspect SRC demo/app:v1 | first_digest)"
    dst="$(inspect DST mirror/demo/app:v1 | first_digest)"
    printf '%s\t%s\t%s\t%s\n' "oci demo/app:v1 (index)" "${src:-?}" "${dst:-(missing)}" "$(same "${src}" "${dst}")"
    src="$(inspect SRC charts/demo:0.1.0 | first_digest)"
    dst="$(inspect DST mirror/charts/demo:0.1.0 | first_digest)"
    printf '%s\t%s\t%s\t%s\n' "helm charts/demo:0.1.0" "${src:-?}" "${dst:-(missing)}" "$(same "${src}" "${dst}")"
    src="sha256:$(seed_sha256)"
    dst="$(inspect DST mirror/files/payload:v1 | layer_digest)"
    printf '%s\t%s\t%s\t%s\n' "file payload.bin (its bytes)" "${src}" "${dst:-(missing)}" "$(same "${src}" "${dst}")"
  } | align_columns
}

cmd_run() {
  local rc=0
  step "Building bin/arc-controller"
  if is_true "${ARC_SKIP_BUILD:-false}"; then
    info "skipped (ARC_SKIP_BUILD)"
  else
    # As make build and the image build it.
    CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}" go build -trimpath -ldflags "-s -w" -o "${BIN_DIR}/arc-controller" ./cmd/arc-controller
    info "done"
  fi
  [[ -x "${BIN_DIR}/arc-controller" ]] || die "${BIN_DIR}/arc-controller is missing (run make build)"

  step "Starting the local cluster (hack/cluster.sh up)"
  ARC_BIN_DIR="${BIN_DIR}" hack/cluster.sh up

  step "Installing ARC's CRDs (manifests/crd)"
  install_crds

  local reason order_file
  reason="$(real_node_reason)"
  if [[ -z "${reason}" ]]; then
    order_file="${REAL_NODE_ORDER_FILE}"
  else
    order_file="${ORDER_FILE}"
  fi
  ORDER="$(kc create --dry-run=client -o 'jsonpath={.metadata.name}' -f "${order_file}")"

  step "Starting arc-controller"
  stop_controller
  start_controller

  step "Preparing namespace ${NAMESPACE}"
  # With the controller running: it releases the finalizer it keeps on its
  # Workflows, so the previous Order's Workflows can go.
  remove_previous_order "${ORDER}"
  if [[ -z "${reason}" ]]; then
    info "the real node runs: the oci, helm and file types copy for real (${REAL_NODE_OVERLAY});"
    info "the oci type does not scan here: trivy needs its vulnerability database from the internet"
    apply_real_node_examples
  else
    info "no real node (${reason}):"
    info "running the OCI example on the fake node, where steps only print what they would do"
    local -a files=()
    local f
    for f in "${EXAMPLE_FILES[@]}"; do files+=(-f "${f}"); done
    kc apply -n "${NAMESPACE}" "${files[@]}" | sed 's/^/    /'
  fi

  step "Applying the Order (${order_file}) and following it for up to ${TIMEOUT} s"
  if [[ -z "${reason}" ]]; then
    apply_real_node_order
  else
    kc apply -n "${NAMESPACE}" -f "${order_file}" | sed 's/^/    /'
  fi
  follow_order || rc=$?

  step "Artifacts of Order ${ORDER}"
  print_table | sed 's/^/    /'

  if [[ -z "${reason}" ]]; then
    step "Digests at the source and at the destination (read from the registries by bin/imagetool)"
    print_digests | sed 's/^/    /'
  fi

  step "Status of Order ${ORDER} (kubectl get order ${ORDER} -o yaml)"
  kc get order "${ORDER}" -n "${NAMESPACE}" -o yaml | sed -n '/^status:/,$p' | sed 's/^/    /'

  print_epilogue
  case "${rc}" in
    0) printf '\nrun-local: Order %s succeeded.\n' "${ORDER}" ;;
    1) die "Order ${ORDER} failed; see its status above and ${CONTROLLER_LOG}" ;;
    *) die "Order ${ORDER} did not finish within ${TIMEOUT} s; see ${CONTROLLER_LOG} and ${LOG_DIR}/workflow-controller.log" ;;
  esac
}

case "${1:-run}" in
  run) cmd_run ;;
  stop)
    if [[ -f "${CONTROLLER_PID}" ]]; then
      stop_controller
      echo "run-local: arc-controller stopped"
    else
      echo "run-local: no arc-controller of run-local is running"
    fi
    ;;
  -h | --help | help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' ;;
  *)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Build pinned development tools from source into bin/.
#
# Usage: hack/build-tool.sh NAME...
#   NAME is a tool module under hack/tools/ (kubernetes, etcd, argo, argoexec,
#   oras, kwok, controller-gen, kustomize, helm), imagetool (hack/imagetool), a
#   binary one of them produces (kube-apiserver, kubectl, workflow-controller,
#   pause, ...), or "all".
#
# Each tool is its own Go module under hack/tools/<tool>/ (go.mod + go.sum +
# tools.go), so its dependencies never touch ARC's go.mod; imagetool is ARC's
# own program in its own module. A tool is rebuilt only when its inputs
# change: bin/.stamps/<tool> holds a sha256 over the module's go.mod, go.sum,
# the build settings below and the tool's extra inputs (tool_inputs); when it
# matches and every binary exists, the build is skipped.
#
# argoexec: the argo-workflows module zips lack
# workflow/executor/osspecific/signal_linux.go, so cmd/argoexec does not
# compile for Linux. The build copies the module from the module cache to
# bin/.build/, adds hack/tools/argoexec/signal_linux.go.txt there as that file,
# and builds with a temporary copy of the tools module's go.mod (-modfile)
# that replaces the module by the copy; the committed go.mod is not touched.
#
# Environment:
#   ARC_BIN_DIR       where binaries go (default: <repo>/bin)
#   ARC_FORCE_BUILD   set to 1 to rebuild even when the stamp matches
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${ROOT}/hack/tools"
BIN_DIR="${ARC_BIN_DIR:-${ROOT}/bin}"
STAMP_DIR="${BIN_DIR}/.stamps"

# Never pick up a go.work above the tool modules, never embed VCS data (the
# tool modules live in ARC's checkout, whose VCS state is irrelevant).
export GOWORK=off
case " ${GOFLAGS:-} " in
  *" -buildvcs=false "*) ;;
  *) export GOFLAGS="${GOFLAGS:+${GOFLAGS} }-buildvcs=false" ;;
esac

K8S_VERSION="v1.34.2"
ARGO_MODULE="github.com/argoproj/argo-workflows/v3"
ARGO_VERSION="v3.7.18" # must match hack/tools/argo and hack/tools/argoexec
K8S_LDFLAGS="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  K8S_LDFLAGS+=" -X ${pkg}.gitVersion=${K8S_VERSION}"
  K8S_LDFLAGS+=" -X ${pkg}.gitMajor=1"
  K8S_LDFLAGS+=" -X ${pkg}.gitMinor=34"
  K8S_LDFLAGS+=" -X ${pkg}.gitTreeState=clean"
done

# tool_binaries TOOL: "binary=package" pairs the tool module builds.
tool_binaries() {
  case "$1" in
    kubernetes)
      echo "kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver"
      echo "kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler"
      echo "kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager"
      echo "kubectl=k8s.io/kubernetes/cmd/kubectl"
      echo "kubelet=k8s.io/kubernetes/cmd/kubelet"
      ;;
    etcd) echo "etcd=go.etcd.io/etcd/server/v3" ;;
    argo) echo "workflow-controller=github.com/argoproj/argo-workflows/v3/cmd/workflow-controller" ;;
    argoexec) echo "argoexec=github.com/argoproj/argo-workflows/v3/cmd/argoexec" ;;
    oras) echo "oras=oras.land/oras/cmd/oras" ;;
    imagetool)
      echo "imagetool=github.com/artifact-conduit/arc/hack/imagetool"
      echo "pause=github.com/artifact-conduit/arc/hack/imagetool/cmd/pause"
      ;;
    kwok) echo "kwok=sigs.k8s.io/kwok/cmd/kwok" ;;
    controller-gen) echo "controller-gen=sigs.k8s.io/controller-tools/cmd/controller-gen" ;;
    kustomize) echo "kustomize=sigs.k8s.io/kustomize/kustomize/v5" ;;
    helm) echo "helm=helm.sh/helm/v3/cmd/helm" ;;
    *) return 1 ;;
  esac
}

# tool_dir TOOL: the tool's Go module.
tool_dir() {
  case "$1" in
    imagetool) echo "${ROOT}/hack/imagetool" ;;
    *) echo "${TOOLS_DIR}/$1" ;;
  esac
}

# tool_inputs TOOL: files besides go.mod and go.sum whose content is part of
# the stamp (relative to the tool's module).
tool_inputs() {
  case "$1" in
    argoexec) echo signal_linux.go.txt ;;
    imagetool) (cd "$(tool_dir "$1")" && find . -name '*.go' -type f | LC_ALL=C sort) ;;
  esac
}

# tool_ldflags / tool_cgo TOOL: build settings (part of the stamp).
tool_ldflags() {
  case "$1" in
    kubernetes) echo "${K8S_LDFLAGS}" ;;
    argoexec) echo "-s -w -X github.com/argoproj/argo-workflows/v3.version=${ARGO_VERSION}" ;;
    *) echo "-s -w" ;;
  esac
}
tool_cgo() {
  case "$1" in
    argo) echo 1 ;; # go-sqlite3 (offloaded workflow archive) needs cgo
    *) echo 0 ;;
  esac
}

# Rough cold-build figures on a 2-core machine (see hack/README.md).
tool_estimate() {
  case "$1" in
    kubernetes) echo "about 9 minutes" ;;
    argo) echo "about 6 minutes" ;;
    argoexec) echo "about 4.5 minutes (3 after argo)" ;;
    oras | imagetool) echo "under a minute" ;;
    kwok) echo "about 3 minutes" ;;
    helm) echo "about 2 minutes" ;;
    *) echo "about 1 minute" ;;
  esac
}

ALL_TOOLS=(etcd kwok kubernetes argo controller-gen kustomize argoexec oras imagetool helm)

# resolve NAME: tool module name for a tool or binary name.
resolve() {
  local name="$1" tool pair
  for tool in "${ALL_TOOLS[@]}"; do
    [[ "${name}" == "${tool}" ]] && { echo "${tool}"; return 0; }
    while read -r pair; do
      [[ "${name}" == "${pair%%=*}" ]] && { echo "${tool}"; return 0; }
    done < <(tool_binaries "${tool}")
  done
  return 1
}

stamp_of() {
  local tool="$1" dir f
  dir="$(tool_dir "${tool}")"
  {
    cat "${dir}/go.mod" "${dir}/go.sum"
    while read -r f; do
      [[ -n "${f}" ]] || continue
      echo "input: ${f}"
      cat "${dir}/${f}"
    done < <(tool_inputs "${tool}")
    echo "binaries: $(tool_binaries "${tool}" | tr '\n' ' ')"
    echo "ldflags: $(tool_ldflags "${tool}")"
    echo "cgo: $(tool_cgo "${tool}")"
  } | sha256sum | cut -d' ' -f1
}

up_to_date() {
  local tool="$1" want="$2" pair
  [[ -z "${ARC_FORCE_BUILD:-}" || "${ARC_FORCE_BUILD}" == 0 ]] || return 1
  [[ -f "${STAMP_DIR}/${tool}" && "$(cat "${STAMP_DIR}/${tool}")" == "${want}" ]] || return 1
  while read -r pair; do
    [[ -x "${BIN_DIR}/${pair%%=*}" ]] || return 1
  done < <(tool_binaries "${tool}")
}

# argoexec_modfile: prepare the patched copy of the Argo module under
# bin/.build/ and a go.mod replacing the module by it; print the go.mod path.
argoexec_modfile() {
  local dir src version build copy
  dir="$(tool_dir argoexec)"
  version="$(cd "${dir}" && go list -mod=readonly -m -f '{{.Version}}' "${ARGO_MODULE}")"
  [[ "${version}" == "${ARGO_VERSION}" ]] || {
    echo "error: hack/tools/argoexec pins ${ARGO_MODULE} ${version}, build-tool.sh expects ${ARGO_VERSION}" >&2
    return 1
  }
  src="$(cd "${dir}" && go mod download -json "${ARGO_MODULE}@${version}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "${src}" ]] || { echo "error: ${ARGO_MODULE}@${version} not in the module cache" >&2; return 1; }
  build="${BIN_DIR}/.build"
  copy="${build}/argo-workflows-${version}"
  rm -rf "${copy}"
  mkdir -p "${build}"
  cp -R "${src}" "${copy}"
  chmod -R u+w "${copy}"
  cp "${dir}/signal_linux.go.txt" "${copy}/workflow/executor/osspecific/signal_linux.go"
  cp "${dir}/go.sum" "${build}/argoexec.sum"
  { cat "${dir}/go.mod"; echo; echo "replace ${ARGO_MODULE} => ${copy}"; } > "${build}/argoexec.mod"
  echo "${build}/argoexec.mod"
}

build_tool() {
  local tool="$1" want pair bin pkg start tmp dir modfile
  local -a extra=()
  want="$(stamp_of "${tool}")"
  if up_to_date "${tool}" "${want}"; then
    echo "==> ${tool}: up to date in ${BIN_DIR} (pin unchanged), skipping"
    return 0
  fi
  dir="$(tool_dir "${tool}")"
  echo "==> ${tool}: building $(tool_binaries "${tool}" | cut -d= -f1 | tr '\n' ' ')from ${dir#"${ROOT}/"}"
  echo "    (compiled from source: a cold build takes $(tool_estimate "${tool}") on 2 idle cores, more on a busy machine;"
  echo "     later builds reuse Go's build cache)"
  mkdir -p "${BIN_DIR}" "${STAMP_DIR}"
  rm -f "${STAMP_DIR}/${tool}"
  start=${SECONDS}
  if [[ "${tool}" == argoexec ]]; then
    modfile="$(argoexec_modfile)"
    extra=(-modfile "${modfile}")
    echo "    (with signal_linux.go from hack/tools/argoexec, in a copy of the module under ${BIN_DIR#"${ROOT}/"}/.build)"
  fi
  while read -r pair; do
    bin="${pair%%=*}"
    pkg="${pair#*=}"
    echo "    go build ${pkg} -> ${BIN_DIR#"${ROOT}/"}/${bin}"
    tmp="${BIN_DIR}/.${bin}.tmp"
    CGO_ENABLED="$(tool_cgo "${tool}")" \
      go build -C "${dir}" -mod=readonly "${extra[@]}" -ldflags "$(tool_ldflags "${tool}")" -o "${tmp}" "${pkg}"
    mv -f "${tmp}" "${BIN_DIR}/${bin}"
  done < <(tool_binaries "${tool}")
  echo "${want}" > "${STAMP_DIR}/${tool}"
  echo "    ${tool} done in $((SECONDS - start)) s"
}

usage() {
  echo "usage: $0 NAME...  (NAME: all, ${ALL_TOOLS[*]}, or a binary such as kubectl)" >&2
  exit 2
}

main() {
  [[ $# -gt 0 ]] || usage
  command -v go >/dev/null || { echo "error: go is not on PATH" >&2; exit 1; }
  local -a tools=()
  local name tool seen=" "
  for name in "$@"; do
    if [[ "${name}" == all ]]; then
      for tool in "${ALL_TOOLS[@]}"; do
        [[ "${seen}" == *" ${tool} "* ]] || { tools+=("${tool}"); seen+="${tool} "; }
      done
      continue
    fi
    tool="$(resolve "${name}")" || { echo "error: unknown tool '${name}'" >&2; usage; }
    [[ "${seen}" == *" ${tool} "* ]] || { tools+=("${tool}"); seen+="${tool} "; }
  done
  for tool in "${tools[@]}"; do
    build_tool "${tool}"
  done
}

main "$@"

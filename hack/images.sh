#!/usr/bin/env bash
# Build the container images the real local node runs, without Docker and
# without a registry, and import them into a containerd.
#
# Usage:
#   hack/images.sh build            build the binaries (hack/build-tool.sh) and
#                                   pack every image into .local/images/<file>.tar
#   hack/images.sh import SOCKET    build, then import every image into the
#                                   containerd at SOCKET (namespace k8s.io)
#   hack/images.sh list             print "NAME FILE" for every image
#
# Images (each one layer, linux/amd64, root-owned files, fixed timestamps, so
# the same inputs give the same digest):
#   quay.io/argoproj/argoexec:v3.7.18      /bin/argoexec (the workflow-controller's --executor-image)
#   registry.k8s.io/pause:3.10             /pause (containerd's sandbox_image)
#   ${TOOLS_IMAGE}                         /bin/oras and Debian's static busybox, for the
#                                          workflow templates' POSIX sh scripts
#
# An image is packed again only when its inputs (files, pack flags, the
# imagetool binary) changed: .local/images/.stamps/<file> holds their sha256.
#
# Environment:
#   ARC_BIN_DIR        binaries (default: <repo>/bin)
#   ARC_IMAGES_DIR     archives (default: <repo>/.local/images)
#   ARC_TOOLS_IMAGE    name of the tools image (default below)
#   ARC_BUSYBOX        static busybox to put in the tools image (default /bin/busybox,
#                      Debian package busybox-static)
#   ARC_SKIP_BUILD=1   do not call hack/build-tool.sh, only check the binaries
#   ARC_FORCE_PACK=1   pack even when the stamp matches
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="${ARC_BIN_DIR:-${ROOT}/bin}"
IMAGES_DIR="${ARC_IMAGES_DIR:-${ROOT}/.local/images}"
STAMP_DIR="${IMAGES_DIR}/.stamps"
INPUTS_DIR="${IMAGES_DIR}/.inputs"
BUSYBOX="${ARC_BUSYBOX:-/bin/busybox}"
CA_BUNDLE="/etc/ssl/certs/ca-certificates.crt"

ARGOEXEC_IMAGE="quay.io/argoproj/argoexec:v3.7.18" # = hack/tools/argoexec's pin
PAUSE_IMAGE="registry.k8s.io/pause:3.10"
TOOLS_IMAGE="${ARC_TOOLS_IMAGE:-ghcr.io/artifact-conduit/arc-tools:v1}"

# Busybox applets linked into the tools image's /bin (ssl_client is what
# busybox wget runs for https).
BUSYBOX_APPLETS=(
  sh ash wget ssl_client sha256sum sha512sum md5sum cat mkdir test '[' '[[' echo printf tr cut head tail
  ls rm cp mv ln sleep env grep sed awk wc sort uniq tee xargs basename dirname date true false
  stat touch chmod id whoami uname tar gzip gunzip zcat find mktemp timeout kill ps
)

# images: the name of every image, one a line.
images() {
  echo "${ARGOEXEC_IMAGE}"
  echo "${PAUSE_IMAGE}"
  echo "${TOOLS_IMAGE}"
}

image_file() {
  case "$1" in
    "${ARGOEXEC_IMAGE}") echo argoexec.tar ;;
    "${PAUSE_IMAGE}") echo pause.tar ;;
    "${TOOLS_IMAGE}") echo arc-tools.tar ;;
    *) return 1 ;;
  esac
}

# pack_args NAME: the imagetool pack flags of an image (one per line).
pack_args() {
  local a
  case "$1" in
    "${ARGOEXEC_IMAGE}")
      printf '%s\n' --add "${BIN_DIR}/argoexec=/bin/argoexec:0755" \
        --dir /tmp:1777 --dir /var/run:0755 --dir /etc:0755 \
        --entrypoint /bin/argoexec
      [[ -f "${CA_BUNDLE}" ]] && printf '%s\n' --add "${CA_BUNDLE}=/etc/ssl/certs/ca-certificates.crt:0644"
      ;;
    "${PAUSE_IMAGE}")
      printf '%s\n' --add "${BIN_DIR}/pause=/pause:0755" --entrypoint /pause
      ;;
    "${TOOLS_IMAGE}")
      printf '%s\n' --add "${BIN_DIR}/oras=/bin/oras:0755" \
        --add "${BUSYBOX}=/bin/busybox:0755" \
        --add "${INPUTS_DIR}/passwd=/etc/passwd:0644" \
        --add "${INPUTS_DIR}/group=/etc/group:0644" \
        --dir /tmp:1777 --dir /var/run:0755 \
        --env "PATH=/usr/local/bin:/usr/bin:/bin" --env HOME=/tmp \
        --entrypoint /bin/sh
      for a in "${BUSYBOX_APPLETS[@]}"; do
        printf '%s\n' --symlink "/bin/${a}=busybox"
      done
      [[ -f "${CA_BUNDLE}" ]] && printf '%s\n' --add "${CA_BUNDLE}=/etc/ssl/certs/ca-certificates.crt:0644"
      ;;
  esac
  return 0
}

# write_inputs: small generated files some images hold.
write_inputs() {
  mkdir -p "${INPUTS_DIR}"
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' \
    > "${INPUTS_DIR}/passwd"
  printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' > "${INPUTS_DIR}/group"
}

need_busybox() {
  if [[ ! -x "${BUSYBOX}" ]]; then
    echo "error: ${BUSYBOX} not found: the tools image needs a static busybox." >&2
    echo "       Install Debian's: apt-get install -y busybox-static (or set ARC_BUSYBOX)" >&2
    exit 1
  fi
  if ! "${BUSYBOX}" --list >/dev/null 2>&1; then
    echo "error: ${BUSYBOX} does not run as busybox" >&2
    exit 1
  fi
  local a have
  have=" $("${BUSYBOX}" --list | tr '\n' ' ') "
  for a in "${BUSYBOX_APPLETS[@]}"; do
    [[ "${have}" == *" ${a} "* ]] || { echo "error: ${BUSYBOX} lacks the applet '${a}'" >&2; exit 1; }
  done
  # A dynamically linked busybox would not run in an image without libc.
  if command -v file >/dev/null && ! file -L "${BUSYBOX}" | grep -q 'statically linked'; then
    echo "error: ${BUSYBOX} is not statically linked; install busybox-static" >&2
    exit 1
  fi
}

build_binaries() {
  if [[ "${ARC_SKIP_BUILD:-}" == 1 ]]; then
    local b
    for b in argoexec oras imagetool pause; do
      [[ -x "${BIN_DIR}/${b}" ]] || { echo "error: ${BIN_DIR}/${b} missing (ARC_SKIP_BUILD=1)" >&2; exit 1; }
    done
    return 0
  fi
  ARC_BIN_DIR="${BIN_DIR}" "${ROOT}/hack/build-tool.sh" argoexec oras imagetool
}

# stamp_of NAME ARGS...: sha256 over the pack flags, the content of every
# --add source and the imagetool binary.
stamp_of() {
  local name="$1" arg src
  shift
  {
    echo "name: ${name}"
    printf 'arg: %s\n' "$@"
    for arg in "$@"; do
      case "${arg}" in
        /*=/*) src="${arg%%=*}"; sha256sum "${src}" ;;
      esac
    done
    sha256sum "${BIN_DIR}/imagetool"
  } | sed "s#${ROOT}/##g" | sha256sum | cut -d' ' -f1
}

pack_image() {
  local name="$1" file out want start json
  local -a args=()
  file="$(image_file "${name}")"
  out="${IMAGES_DIR}/${file}"
  mapfile -t args < <(pack_args "${name}")
  want="$(stamp_of "${name}" "${args[@]}")"
  if [[ "${ARC_FORCE_PACK:-}" != 1 && -f "${out}" && -f "${STAMP_DIR}/${file}" \
    && "$(cat "${STAMP_DIR}/${file}")" == "${want}" ]]; then
    echo "==> ${name}: ${out#"${ROOT}/"} up to date (inputs unchanged), skipping"
    return 0
  fi
  echo "==> ${name}: packing ${out#"${ROOT}/"}"
  start=${SECONDS}
  rm -f "${STAMP_DIR}/${file}"
  json="$("${BIN_DIR}/imagetool" pack --name "${name}" --out "${out}" "${args[@]}")"
  echo "    $(echo "${json}" | sed -n 's/^  "digest": "\(.*\)",$/\1/p') ($(du -h "${out}" | cut -f1), $((SECONDS - start)) s)"
  mkdir -p "${STAMP_DIR}"
  echo "${want}" > "${STAMP_DIR}/${file}"
}

cmd_build() {
  need_busybox
  build_binaries
  mkdir -p "${IMAGES_DIR}"
  write_inputs
  local name
  while read -r name; do
    pack_image "${name}"
  done < <(images)
}

cmd_import() {
  local sock="${1:-}" name file start
  [[ -n "${sock}" ]] || usage
  sock="${sock#unix://}"
  command -v ctr >/dev/null || {
    echo "error: ctr not found: install Debian's containerd (apt-get install -y containerd)" >&2
    exit 1
  }
  [[ -S "${sock}" ]] || { echo "error: ${sock} is not a socket (is containerd running?)" >&2; exit 1; }
  cmd_build
  while read -r name; do
    file="${IMAGES_DIR}/$(image_file "${name}")"
    echo "==> importing ${name} from ${file#"${ROOT}/"} into ${sock} (namespace k8s.io)"
    start=${SECONDS}
    ctr --address "${sock}" -n k8s.io images import "${file}" >/dev/null
    ctr --address "${sock}" -n k8s.io images ls -q "name==${name}" | grep -qxF "${name}" || {
      echo "error: after the import containerd has no image named ${name}" >&2
      exit 1
    }
    echo "    done in $((SECONDS - start)) s"
  done < <(images)
}

cmd_list() {
  local name
  while read -r name; do
    echo "${name} ${IMAGES_DIR}/$(image_file "${name}")"
  done < <(images)
}

usage() {
  echo "usage: $0 build | import SOCKET | list" >&2
  exit 2
}

main() {
  [[ $# -gt 0 ]] || usage
  local cmd="$1"
  shift
  case "${cmd}" in
    build) [[ $# -eq 0 ]] || usage; cmd_build ;;
    import) [[ $# -eq 1 ]] || usage; cmd_import "$1" ;;
    list) [[ $# -eq 0 ]] || usage; cmd_list ;;
    *) usage ;;
  esac
}

main "$@"

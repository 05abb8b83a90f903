#!/usr/bin/env bash
# Regenerates the CRD manifests in manifests/crd from the Go types in
# pkg/apis with controller-gen, a pinned build tool (hack/tools/controller-gen).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${REPO_ROOT}"

BIN_DIR=${ARC_BIN_DIR:-${REPO_ROOT}/bin}
ARC_BIN_DIR="${BIN_DIR}" "${REPO_ROOT}/hack/build-tool.sh" controller-gen >&2
OUT_DIR=${1:-${REPO_ROOT}/manifests/crd}
mkdir -p "${OUT_DIR}"
rm -f "${OUT_DIR}"/arc.opendefense.cloud_*.yaml
"${BIN_DIR}/controller-gen" crd:crdVersions=v1 paths=./pkg/apis/... output:crd:dir="${OUT_DIR}"

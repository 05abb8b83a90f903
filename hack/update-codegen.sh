#!/usr/bin/env bash
# Regenerates deepcopy functions, the typed clientset (with its fake),
# listers and informers for the ARC API with k8s.io/code-generator.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${REPO_ROOT}"

# Use the code-generator version pinned in hack/tools/codegen, so every
# machine generates the same code. go list -m reports no directory for a
# module that is not in the module cache yet (a fresh machine), so download
# it first.
go -C "${REPO_ROOT}/hack/tools/codegen" mod download k8s.io/code-generator
CODEGEN_PKG=$(go list -C "${REPO_ROOT}/hack/tools/codegen" -m -f '{{.Dir}}' k8s.io/code-generator)
if [[ -z "${CODEGEN_PKG}" || ! -f "${CODEGEN_PKG}/kube_codegen.sh" ]]; then
  echo "kube_codegen.sh not found in k8s.io/code-generator's module directory '${CODEGEN_PKG}'" >&2
  exit 1
fi
# shellcheck source=/dev/null
source "${CODEGEN_PKG}/kube_codegen.sh"

MODULE=github.com/artifact-conduit/arc
BOILERPLATE="${REPO_ROOT}/hack/boilerplate.go.txt"

kube::codegen::gen_helpers \
    --boilerplate "${BOILERPLATE}" \
    "${REPO_ROOT}/pkg/apis"

kube::codegen::gen_client \
    --with-watch \
    --output-dir "${REPO_ROOT}/pkg/generated" \
    --output-pkg "${MODULE}/pkg/generated" \
    --boilerplate "${BOILERPLATE}" \
    "${REPO_ROOT}/pkg/apis"

#!/usr/bin/env bash
# Fails when the deployment manifests drifted from the code:
#   - manifests/rbac/role.yaml does not match the +kubebuilder:rbac markers in
#     pkg/controller/rbac.go (it is regenerated into a scratch directory and
#     compared);
#   - manifests/crd/kustomization.yaml does not list exactly the generated
#     CRDs (hack/update-crds.sh adds files, it does not edit the list).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRATCH=$(mktemp -d)
trap 'rm -rf "${SCRATCH}"' EXIT
status=0

"${REPO_ROOT}/hack/update-rbac.sh" "${SCRATCH}" >/dev/null 2>"${SCRATCH}/err" || {
  cat "${SCRATCH}/err" >&2
  echo "RBAC generation failed" >&2
  exit 1
}
if ! diff -u "${REPO_ROOT}/manifests/rbac/role.yaml" "${SCRATCH}/role.yaml"; then
  echo "manifests/rbac/role.yaml is out of date: run 'make manifests' (hack/update-rbac.sh) and commit the result." >&2
  status=1
fi

generated=$(cd "${REPO_ROOT}/manifests/crd" && ls arc.opendefense.cloud_*.yaml | sort)
listed=$(sed -n 's/^[[:space:]]*-[[:space:]]*\(arc\.opendefense\.cloud_[^[:space:]]*\.yaml\)[[:space:]]*$/\1/p' \
  "${REPO_ROOT}/manifests/crd/kustomization.yaml" | sort)
if [[ "${generated}" != "${listed}" ]]; then
  diff -u <(echo "${listed}") <(echo "${generated}") || true
  echo "manifests/crd/kustomization.yaml does not list exactly the generated CRDs (- listed, + generated): fix its resources." >&2
  status=1
fi
exit "${status}"

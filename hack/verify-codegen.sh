#!/usr/bin/env bash
# Fails when the generated code in pkg/ or the CRDs in manifests/crd are stale:
# it regenerates both in a scratch copy of the tree and compares.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRATCH=$(mktemp -d)
trap 'rm -rf "${SCRATCH}"' EXIT

# Copy what generation reads and writes; pinned tools are reused from bin/.
tar -C "${REPO_ROOT}" --exclude=./.local --exclude=./.git --exclude=./bin -cf - . | tar -C "${SCRATCH}" -xf -

"${SCRATCH}/hack/update-codegen.sh" >/dev/null
ARC_BIN_DIR="${REPO_ROOT}/bin" "${SCRATCH}/hack/update-crds.sh" >/dev/null 2>&1 || {
  echo "CRD generation failed" >&2; exit 1; }

status=0
for dir in pkg manifests/crd; do
  if ! diff -ru "${REPO_ROOT}/${dir}" "${SCRATCH}/${dir}"; then
    status=1
  fi
done
if [[ ${status} -ne 0 ]]; then
  echo >&2
  echo "Generated code or CRDs are out of date: run 'make generate' and commit the result." >&2
fi
exit "${status}"

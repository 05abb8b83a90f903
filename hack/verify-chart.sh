#!/usr/bin/env bash
# Lint the Helm chart and check that it renders what the kustomizations of
# manifests/ render (test/manifests), with the pinned helm and kustomize.
# Part of `make verify`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
BIN_DIR="${ARC_BIN_DIR:-${ROOT}/bin}"

hack/build-tool.sh helm kustomize >/dev/null
# The chart's files/ and crds/ link to manifests/; helm says so on stderr
# for every link ("found symbolic link in path"), which is expected.
"${BIN_DIR}/helm" lint --strict manifests/charts/arc 2> >(grep -v 'found symbolic link in path' >&2)
ARC_REQUIRE_TOOLS=1 ARC_BIN_DIR="${BIN_DIR}" go test -count=1 ./test/manifests/

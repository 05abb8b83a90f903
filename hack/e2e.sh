#!/usr/bin/env bash
# Run ARC's end-to-end suite (test/e2e) against the local cluster.
#
# Usage: hack/e2e.sh [go test flags...]     e.g. hack/e2e.sh -run TestOCIExample
#
# Expects bin/arc-controller (make build) and a running cluster (make
# cluster-up, or KUBECONFIG pointing at another cluster with Argo and a KWOK
# node labelled type=kwok). It stops the arc-controller that `make run-local`
# may have left running, since two controllers on one cluster would interfere.
# The suite itself installs ARC's CRDs and its ClusterWorkflowTemplates, and
# starts and stops its own arc-controller (log: .local/logs/e2e-arc-controller.log).
# The output of go test is also written to .local/logs/e2e.log.
#
# Environment:
#   KUBECONFIG       the cluster (default: .local/kubeconfig)
#   E2E_PARALLEL     tests run at once (default 8; they mostly wait)
#   E2E_TIMEOUT      go test -timeout (default 15m)
#   ARC_E2E_KEEP=1   keep the test namespaces for inspection
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"

export KUBECONFIG="${KUBECONFIG:-${ROOT}/.local/kubeconfig}"
mkdir -p .local/logs

if [[ -f .local/arc-controller.pid ]]; then
  echo "e2e: stopping the arc-controller of make run-local first"
  hack/run-local.sh stop
fi

started=${SECONDS}
rc=0
go test -tags e2e -count=1 -timeout "${E2E_TIMEOUT:-15m}" -parallel "${E2E_PARALLEL:-8}" -v ./test/e2e/... "$@" 2>&1 |
  tee .local/logs/e2e.log || rc=$?
echo "e2e: $( ((rc == 0)) && echo PASS || echo FAIL) in $((SECONDS - started)) s (output: .local/logs/e2e.log, controller log: .local/logs/e2e-arc-controller.log)"
exit "${rc}"

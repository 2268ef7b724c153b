#!/usr/bin/env bash
# `make e2e`: the end-to-end suite against the local cluster.
#
#   hack/e2e.sh [go test flags...]        e.g. hack/e2e.sh -run TestDocsPattern
#
# Starts (or recovers, or the first time builds) the local single-node cluster,
# builds bin/kubectl-workqueue and bin/workqueue-worker, imports the worker
# image and the docs' example image into the cluster, then runs
#   go test -tags e2e -count=1 -timeout 40m -v ./test/e2e/
# A cluster that cannot start fails this script (no test is skipped).
#
#   E2E_SKIP_BUILD=1   use the binaries and images as they are
#   E2E_FLAGS          replaces "-v" (e.g. E2E_FLAGS= for quiet output)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
T0=$SECONDS
log() { printf '[%s] e2e: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

log "ensuring the local cluster (hack/localcluster/ensure.sh)"
if ! env_line=$(hack/localcluster/ensure.sh); then
  log "ERROR: the local cluster could not be started; see the output above and /var/lib/localk8s/state/logs"
  exit 1
fi
eval "$env_line"
export KUBECONFIG
kubectl get --raw /readyz >/dev/null || { log "ERROR: the cluster does not answer at $KUBECONFIG"; exit 1; }

if [[ ${E2E_SKIP_BUILD:-} != 1 ]]; then
  log "building the binaries and importing the images"
  make --no-print-directory build images
fi

log "running the suite (KUBECONFIG=$KUBECONFIG)"
rc=0
# shellcheck disable=SC2086  # E2E_FLAGS is a list of flags
go test -tags e2e -count=1 -timeout 40m ${E2E_FLAGS--v} ./test/e2e/ "$@" || rc=$?
log "finished in $((SECONDS - T0))s with exit code $rc"
exit $rc

#!/usr/bin/env bash
# `make e2e`: the end-to-end suite against the local cluster.
#
#   hack/e2e.sh [go test flags...]        e.g. hack/e2e.sh -run TestDocsPattern
#
# Starts (or recovers, or the first time builds) the local single-node cluster,
# builds bin/kubectl-workqueue and bin/workqueue-worker, imports the worker
# image and the docs' example image into the cluster, prepares Kueue
# (hack/localcluster/kueue.sh: its CRDs, and its manager for the test to start), then runs
#   go test -tags e2e -count=1 -timeout 40m -v ./test/e2e/
# A cluster that cannot start fails this script (no test is skipped).
#
#   E2E_CLUSTER=kubeconfig   use the cluster in KUBECONFIG (or ~/.kube/config)
#                      as it is, e.g. CI's kind cluster, instead of the local
#                      one; hack/images.sh puts the images into it (kind)
#   E2E_SKIP_BUILD=1   use the binaries and images as they are
#   E2E_FLAGS          replaces "-v" (e.g. E2E_FLAGS= for quiet output)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
T0=$SECONDS
log() { printf '[%s] e2e: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

case ${E2E_CLUSTER:-local} in
  local)
    log "ensuring the local cluster (hack/localcluster/ensure.sh)"
    if ! env_line=$(hack/localcluster/ensure.sh); then
      log "ERROR: the local cluster could not be started; see the output above and /var/lib/localk8s/state/logs"
      exit 1
    fi
    eval "$env_line"
    export KUBECONFIG
    images=(images) ;;
  kubeconfig)
    # Not the make target: that one starts the local cluster first.
    images=() ;;
  *) log "ERROR: E2E_CLUSTER=$E2E_CLUSTER: want local or kubeconfig"; exit 2 ;;
esac
kubectl get --raw /readyz >/dev/null || { log "ERROR: the cluster does not answer at ${KUBECONFIG:-~/.kube/config}"; exit 1; }

if [[ ${E2E_SKIP_BUILD:-} != 1 ]]; then
  log "building the binaries and importing the images"
  make --no-print-directory build "${images[@]}"
  if ((${#images[@]} == 0)); then
    VERSION=$(make -s --no-print-directory version) hack/images.sh all
  fi
fi
log "preparing Kueue for TestKueueAdmission (hack/localcluster/kueue.sh; builds its manager the first time, ~10 min)"
WQ_E2E_KUEUE=$(hack/localcluster/kueue.sh)
export WQ_E2E_KUEUE

log "running the suite (KUBECONFIG=${KUBECONFIG:-~/.kube/config})"
rc=0
# shellcheck disable=SC2086  # E2E_FLAGS is a list of flags
go test -tags e2e -count=1 -timeout 40m ${E2E_FLAGS--v} ./test/e2e/ "$@" || rc=$?
log "finished in $((SECONDS - T0))s with exit code $rc"
exit $rc

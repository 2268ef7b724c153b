#!/bin/bash
# Make sure the local test cluster is built and running, whatever state it is
# in (never built, stopped, or killed with SIGKILL), then print the line to
# use it. Only that line goes to stdout, so this works:
#
#   eval "$(hack/localcluster/ensure.sh)"     # as root; then kubectl get nodes
#
# - build outputs missing -> build.sh (cold ~20 min; CoreDNS included unless
#   LK8S_WITH_DNS=0)
# - everything running and healthy -> up.sh --no-smoke (a few seconds)
# - otherwise -> up.sh (recovers from killed daemons, waits for node Ready,
#   cluster DNS and a smoke pod)
# Concurrent runs are serialized with a lock file.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
[[ $(id -u) == 0 ]] || die "must run as root"
export LK8S_WITH_DNS=$WITH_DNS
T0=$(date +%s.%N)
mkdir -p "$LAB"
exec 9>"$LAB/.ensure.lock"
flock 9

built() {
  local f
  for f in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy criclean lk8s-provisioner; do
    [[ -x $BIN/$f ]] || return 1
  done
  for f in pause pyredis; do [[ -f $IMAGES/$f.tar ]] || return 1; done
  [[ $WITH_DNS != 1 || -f $IMAGES/coredns.tar ]] || return 1
  # a provisioner whose source changed since it was built is rebuilt
  cmp -s "$HERE/provisioner/main.go" "$LAB/build/provisioner/main.go"
}
if ! built; then
  log "build outputs missing in $LAB - running build.sh (cold: ~20 min)"
  "$HERE/build.sh" >&2 9>&-
fi

healthy() {
  local c
  for c in "${COMPONENTS[@]}"; do lk8s_alive "$c" || return 1; done
  curl -sf http://127.0.0.1:10248/healthz >/dev/null || return 1
  [[ -f $STATE/admin.kubeconfig ]] || return 1
  [[ $(kubectl --kubeconfig "$STATE/admin.kubeconfig" --request-timeout=5s get node "$NODE_NAME" \
        -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}
if healthy; then
  "$HERE/up.sh" --no-smoke >&2 9>&-   # 9>&-: the daemons must not inherit the lock
else
  "$HERE/up.sh" >&2 9>&-
fi
log "ensure.sh: cluster ready in $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s"
echo "export KUBECONFIG=$KUBECONFIG_OUT"

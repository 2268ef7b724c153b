# Shared by the cluster benchmarks (bench/*.sh). Sourced, not run.
# shellcheck shell=bash
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RESULTS=$ROOT/bench/results
mkdir -p "$RESULTS"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# use_cluster: the cluster in KUBECONFIG if it answers, else the local one
# (started, or built the first time, by hack/localcluster/ensure.sh).
use_cluster() {
  if ! { [[ -n ${KUBECONFIG:-} ]] && kubectl --request-timeout=5s get --raw /readyz >/dev/null 2>&1; }; then
    eval "$("$ROOT/hack/localcluster/ensure.sh")"
    export KUBECONFIG
  fi
  [[ -x $ROOT/bin/kubectl-workqueue ]] || die "bin/kubectl-workqueue is missing: run make build"
  # kubectl finds the plugin on PATH by its name.
  export PATH=$ROOT/bin:$PATH
  log "cluster: $(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}'); $(kubectl workqueue version)"
}

# new_namespace PREFIX: a namespace deleted when the script exits.
new_namespace() {
  NS=$1-$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
  kubectl create namespace "$NS" >/dev/null
  trap 'kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1 || true; cleanup_extra' EXIT
  log "namespace $NS"
}
cleanup_extra() { :; }

# now: seconds since the epoch, with nanoseconds.
now() { date +%s.%N; }
# since T0: seconds elapsed since T0, 3 decimals.
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.3f", b-a}'; }
# ratio A B: A/B with 1 decimal.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.1f", a/b; else print "n/a" }'; }
# median of the arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# port_forward NS TARGET: starts `kubectl port-forward TARGET :6379` and sets
# PF_PID and PF_PORT (the local port kubectl picked).
port_forward() {
  local out
  out=$(mktemp)
  kubectl -n "$1" port-forward "$2" :6379 >"$out" 2>&1 &
  PF_PID=$!
  for _ in $(seq 100); do
    PF_PORT=$(sed -n 's/^Forwarding from 127.0.0.1:\([0-9]*\) .*/\1/p' "$out" | head -1)
    [[ -n $PF_PORT ]] && break
    sleep 0.1
  done
  [[ -n $PF_PORT ]] || die "kubectl port-forward $2 did not start: $(cat "$out")"
  rm -f "$out"
}
stop_port_forward() { kill "$PF_PID" 2>/dev/null || true; wait "$PF_PID" 2>/dev/null || true; }

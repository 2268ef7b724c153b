#!/usr/bin/env bash
# Seeding benchmark on a real cluster: 1,000,000 items of about 12 bytes into
# the Redis that `kubectl workqueue init` made (with its password), three ways:
#
#   ours      kubectl workqueue seed QUEUE -f items.txt   (its own port-forward, batched atomic pushes)
#   pipe      kubectl port-forward svc/redis + redis-cli --pipe, one RPUSH per item
#             (the fastest thing a user can do by hand; the RESP input is prepared beforehand)
#   per-item  kubectl port-forward svc/redis + one RPUSH per round trip (redis-cli
#             reading commands from stdin), on BENCH_PER_ITEM items, extrapolated to N
#
#   bench/seed.sh [N]          (default 1000000; RUNS=3 repetitions, the median counts)
#
# Uses the cluster in KUBECONFIG if it answers, else the local one. Prints the
# ratios and writes them to bench/results/seed.txt.
. "$(dirname "$0")/lib.sh"
N=${1:-1000000}
RUNS=${RUNS:-3}
PER_ITEM=${BENCH_PER_ITEM:-5000}
REDIS_IMAGE=${BENCH_REDIS_IMAGE:-localhost/lk8s/redis:7.0.15}
command -v redis-cli >/dev/null || die "redis-cli is missing: make deps (or apt-get install redis-tools)"

use_cluster
new_namespace wq-bench-seed
kubectl workqueue -n "$NS" init --image "$REDIS_IMAGE" >/dev/null
export REDISCLI_AUTH
REDISCLI_AUTH=$(kubectl -n "$NS" get secret redis-auth -o jsonpath='{.data.password}' | base64 -d)

work=$(mktemp -d)
cleanup_extra() { stop_port_forward; rm -rf "$work"; }
seq -f 'item-%07.0f' 1 "$N" >"$work/items.txt"
# RESP for redis-cli --pipe: *3 $5 RPUSH $len queue $len item
awk -v q=pipeq '{ printf "*3\r\n$5\r\nRPUSH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(q), q, length($0), $0 }' \
  "$work/items.txt" >"$work/items.resp"
head -n "$PER_ITEM" "$work/items.txt" | sed 's/^/RPUSH oneq /' >"$work/per-item.txt"
log "$N items ($(du -h "$work/items.txt" | cut -f1)); $RUNS runs each"

llen() { redis-cli -p "$PF_PORT" --no-auth-warning LLEN "$1"; }
ours=() pipe=() per=()
for run in $(seq "$RUNS"); do
  # ours: a fresh queue each run (a drained queue would need --force)
  t0=$(now)
  kubectl workqueue -n "$NS" seed "q$run" -f "$work/items.txt" >/dev/null
  ours+=("$(since "$t0")")

  port_forward "$NS" svc/redis
  [[ $(llen "q$run") == "$N" ]] || die "ours: queue q$run holds $(llen "q$run"), want $N"
  redis-cli -p "$PF_PORT" DEL "q$run" "q$run:stats" >/dev/null

  # pipe: the port-forward is already up (its setup is not counted)
  t0=$(now)
  redis-cli -p "$PF_PORT" --pipe <"$work/items.resp" >/dev/null
  pipe+=("$(since "$t0")")
  [[ $(llen pipeq) == "$N" ]] || die "pipe: queue holds $(llen pipeq), want $N"
  redis-cli -p "$PF_PORT" DEL pipeq >/dev/null

  # per-item: one round trip per RPUSH
  t0=$(now)
  redis-cli -p "$PF_PORT" <"$work/per-item.txt" >/dev/null
  per+=("$(awk -v t="$(since "$t0")" -v n="$N" -v k="$PER_ITEM" 'BEGIN{printf "%.3f", t*n/k}')")
  [[ $(llen oneq) == "$PER_ITEM" ]] || die "per-item: queue holds $(llen oneq), want $PER_ITEM"
  redis-cli -p "$PF_PORT" DEL oneq >/dev/null
  stop_port_forward
  log "run $run: ours ${ours[-1]}s, redis-cli --pipe ${pipe[-1]}s, per-item ${per[-1]}s (extrapolated)"
done

o=$(median "${ours[@]}") p=$(median "${pipe[@]}") r=$(median "${per[@]}")
{
  echo "seeding $N items into Redis in the cluster (median of $RUNS; $(date -u +%Y-%m-%dT%H:%MZ))"
  printf '  %-72s %9.2fs  %8.0f items/s\n' "kubectl workqueue seed -f (own port-forward, setup included)" "$o" "$(awk -v n="$N" -v t="$o" 'BEGIN{print n/t}')"
  printf '  %-72s %9.2fs  %8.0f items/s  ours is %sx faster\n' "kubectl port-forward + redis-cli --pipe (RPUSH per item)" "$p" "$(awk -v n="$N" -v t="$p" 'BEGIN{print n/t}')" "$(ratio "$p" "$o")"
  printf '  %-72s %9.2fs  %8.0f items/s  ours is %sx faster\n' "kubectl port-forward + one RPUSH per round trip ($PER_ITEM, extrapolated)" "$r" "$(awk -v n="$N" -v t="$r" 'BEGIN{print n/t}')" "$(ratio "$r" "$o")"
} | tee "$RESULTS/seed.txt"

#!/usr/bin/env bash
# Logs benchmark on a real cluster: the aggregated logs of a finished Job of
# PODS pods (default 50) with LINES lines each (default 200), three ways:
#
#   ours      kubectl workqueue logs JOB
#   loop      for each pod: kubectl logs POD      (how the docs' users do it)
#   kubectl   kubectl logs -l job-name=JOB --prefix --tail=-1 --max-log-requests=PODS
#
#   bench/logs.sh [PODS] [LINES]        (RUNS=3 repetitions, the median counts)
#
# Every way must print all PODS*LINES lines. Uses the cluster in KUBECONFIG if
# it answers, else the local one. Prints the ratios and writes them to
# bench/results/logs.txt.
. "$(dirname "$0")/lib.sh"
PODS=${1:-50}
LINES=${2:-200}
RUNS=${RUNS:-3}
IMAGE=${BENCH_IMAGE:-localhost/lk8s/pyredis:bookworm}
JOB=logs-bench

use_cluster
kubectl workqueue logs --help >/dev/null 2>&1 || die "this build has no 'kubectl workqueue logs'"
new_namespace wq-bench-logs

log "a Job of $PODS pods, $LINES lines each"
kubectl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: batch/v1
kind: Job
metadata:
  name: $JOB
spec:
  completions: $PODS
  parallelism: 10
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: $IMAGE
        imagePullPolicy: IfNotPresent
        command: [sh, -c, 'i=1; while [ \$i -le $LINES ]; do echo "line \$i of \$HOSTNAME: some text to make it look like a log"; i=\$((i+1)); done']
EOF
kubectl -n "$NS" wait --for=condition=complete "job/$JOB" --timeout=10m >/dev/null
want=$((PODS * LINES))
log "Job complete: $(kubectl -n "$NS" get pods -l job-name=$JOB --no-headers | wc -l) pods"

count() { local n; n=$(wc -l <"$1"); [[ $n == "$want" ]] || die "$2 printed $n lines, want $want"; }
out=$(mktemp)
cleanup_extra() { rm -f "$out"; }
ours=() loop=() kl=()
for run in $(seq "$RUNS"); do
  t0=$(now)
  kubectl workqueue -n "$NS" logs "$JOB" >"$out"
  ours+=("$(since "$t0")"); count "$out" "kubectl workqueue logs"

  t0=$(now)
  for p in $(kubectl -n "$NS" get pods -l job-name=$JOB -o name); do kubectl -n "$NS" logs "$p"; done >"$out"
  loop+=("$(since "$t0")"); count "$out" "the kubectl logs loop"

  t0=$(now)
  kubectl -n "$NS" logs -l job-name=$JOB --prefix --tail=-1 --max-log-requests="$PODS" >"$out"
  kl+=("$(since "$t0")"); count "$out" "kubectl logs -l"
  log "run $run: ours ${ours[-1]}s, loop ${loop[-1]}s, kubectl logs -l ${kl[-1]}s"
done

o=$(median "${ours[@]}") l=$(median "${loop[@]}") k=$(median "${kl[@]}")
{
  echo "logs of a finished Job: $PODS pods x $LINES lines (median of $RUNS; $(date -u +%Y-%m-%dT%H:%MZ))"
  printf '  %-88s %7.2fs\n' "kubectl workqueue logs $JOB" "$o"
  printf '  %-88s %7.2fs  ours is %sx faster\n' "for p in \$(kubectl get pods -l job-name=$JOB -o name); do kubectl logs \$p; done" "$l" "$(ratio "$l" "$o")"
  printf '  %-88s %7.2fs  ours is %sx faster\n' "kubectl logs -l job-name=$JOB --prefix --tail=-1 --max-log-requests=$PODS" "$k" "$(ratio "$k" "$o")"
} | tee "$RESULTS/logs.txt"

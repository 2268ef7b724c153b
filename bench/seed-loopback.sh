#!/usr/bin/env bash
# Seeding benchmark on loopback, measured as a user runs it: N items of about
# 12 bytes (default 1,000,000) from a file into a throw-away redis-server, two
# ways, each a whole process timed by hyperfine in the same run:
#
#   ours   kubectl-workqueue seed QUEUE -f items.txt --redis-url redis://127.0.0.1:PORT
#   pipe   redis-cli -p PORT --pipe < items.resp   (one RPUSH per item; the RESP is
#          prepared beforehand, so the baseline pays no encoding at all)
#
# The database is flushed before every timed run. Then the peak memory (max
# RSS) of ours seeding 10×N items.
#
#   bench/seed-loopback.sh [N]          (RUNS=10 timed runs each)
#
# Needs bin/kubectl-workqueue (make build) and redis-server, redis-cli and
# hyperfine (make deps). Prints the ratio and writes it to
# bench/results/seed-loopback.txt.
. "$(dirname "$0")/lib.sh"
N=${1:-1000000}
RUNS=${RUNS:-10}
BIN=$ROOT/bin/kubectl-workqueue
[[ -x $BIN ]] || die "bin/kubectl-workqueue is missing: run make build"
for c in redis-server redis-cli hyperfine python3; do
  command -v "$c" >/dev/null || die "$c is missing: make deps"
done

work=$(mktemp -d)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --bind 127.0.0.1 --port "$PORT" --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
REDIS_PID=$!
trap 'kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  redis-cli -p "$PORT" PING >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -p "$PORT" PING >/dev/null || die "redis-server did not start: $(cat "$work/redis.log")"
log "redis-server $(redis-server --version | awk '{print $3}') on 127.0.0.1:$PORT; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"

seq -f 'item-%07.0f' 1 "$N" >"$work/items.txt"
awk -v q=pipeq '{ printf "*3\r\n$5\r\nRPUSH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(q), q, length($0), $0 }' \
  "$work/items.txt" >"$work/items.resp"
log "$N items ($(du -h "$work/items.txt" | cut -f1) of input, $(du -h "$work/items.resp" | cut -f1) of RESP for the pipe)"

ours="$BIN seed q -f $work/items.txt --redis-url redis://127.0.0.1:$PORT >/dev/null"
pipe="redis-cli -p $PORT --pipe <$work/items.resp >/dev/null"
flush="redis-cli -p $PORT FLUSHALL >/dev/null"
llen() { redis-cli -p "$PORT" LLEN "$1"; }
# Redis' own CPU seconds so far.
redis_cpu() { redis-cli -p "$PORT" INFO cpu | awk -F: '/^used_cpu_(user|sys):/ { s += $2 } END { print s }'; }

# Both must push every item; how much CPU Redis spends on each.
eval "$flush"; c0=$(redis_cpu); eval "$ours"; ours_cpu=$(awk -v a="$c0" -v b="$(redis_cpu)" 'BEGIN { printf "%.2f", b - a }')
[[ $(llen q) == "$N" ]] || die "ours: queue q holds $(llen q), want $N"
eval "$flush"; c0=$(redis_cpu); eval "$pipe"; pipe_cpu=$(awk -v a="$c0" -v b="$(redis_cpu)" 'BEGIN { printf "%.2f", b - a }')
[[ $(llen pipeq) == "$N" ]] || die "pipe: queue pipeq holds $(llen pipeq), want $N"

hyperfine --warmup 1 --runs "$RUNS" --prepare "$flush" --export-json "$work/times.json" \
  -n "kubectl-workqueue seed -f" "$ours" \
  -n "redis-cli --pipe" "$pipe" >&2

# Peak memory for ten times the input.
seq -f 'item-%08.0f' 1 "$((10 * N))" >"$work/items10.txt"
eval "$flush"
rss=$(python3 - "$BIN" seed q -f "$work/items10.txt" --redis-url "redis://127.0.0.1:$PORT" <<'EOF'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
EOF
)
[[ $(llen q) == "$((10 * N))" ]] || die "ours: queue q holds $(llen q), want $((10 * N))"

python3 - "$work/times.json" "$N" "$rss" "$(date -u +%Y-%m-%dT%H:%MZ)" "$ours_cpu" "$pipe_cpu" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF' | tee "$RESULTS/seed-loopback.txt"
import json, sys
path, n, rss, when, ours_cpu, pipe_cpu, load = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
r = {x["command"]: x for x in json.load(open(path))["results"]}
ours, pipe = r["kubectl-workqueue seed -f"], r["redis-cli --pipe"]
print(f"seeding {n} items from a file into loopback Redis, whole processes ({len(ours['times'])} runs each; {when}; load {load})")
for name, x in (("kubectl-workqueue seed -f", ours), ("redis-cli --pipe (RESP prepared)", pipe)):
    print(f"  {name:34} mean {x['mean']:.3f}s  median {x['median']:.3f}s  user {x['user']:.3f}s  system {x['system']:.3f}s")
print(f"  ours is {pipe['mean'] / ours['mean']:.2f}x the speed of redis-cli --pipe (means; medians {pipe['median'] / ours['median']:.2f}x)")
print(f"  Redis' own CPU for one run: ours {ours_cpu}s, redis-cli --pipe {pipe_cpu}s")
print(f"  peak memory (max RSS) of ours seeding {10 * n} items: {rss} MiB")
EOF

#!/usr/bin/env bash
# Listing failed items: `kubectl workqueue items Q -o json` over failed lists
# of 10,000, 100,000 and 1,000,000 items (each with the errors a worker
# records), against a loopback redis-server; no cluster needed. Measures the
# CLI as a process (wall time, peak memory with /usr/bin/time), beside what a
# user does by hand today: redis-cli LRANGE Q:failed 0 -1 and HGETALL Q:errors,
# which hold each whole reply in memory.
#
#   bench/items.sh [SIZES...]      (default: 10000 100000 1000000)
#
# Prints the figures and the ratios, and writes them to bench/results/items.txt.
. "$(dirname "$0")/lib.sh"
SIZES=("${@:-10000 100000 1000000}")
read -r -a SIZES <<<"${SIZES[*]}"
for c in redis-server redis-cli; do command -v $c >/dev/null || die "$c is missing: make deps"; done
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing: apt-get install time"
BIN=$ROOT/bin/kubectl-workqueue
[[ -x $BIN ]] || die "bin/kubectl-workqueue is missing: run make build"

work=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" --daemonize yes --pidfile "$work/redis.pid" >/dev/null
trap 'kill "$(cat "$work/redis.pid")" 2>/dev/null || true; rm -rf "$work"' EXIT
until redis-cli -p "$PORT" ping >/dev/null 2>&1; do sleep 0.1; done
URL=redis://127.0.0.1:$PORT
log "redis-server $(redis-server --version | awk '{print $3}') on port $PORT; $($BIN version)"

# measure CMD...: "seconds peak-KiB" of one run, output discarded.
measure() { /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || { cat "$work/stderr" >&2; die "failed: $*"; }; cat "$work/time"; }

out=$RESULTS/items.txt
: >"$out"
report() { printf '%s\n' "$*" | tee -a "$out"; }
report "items -o json over N failed items (loopback Redis): ours vs redis-cli LRANGE 0 -1 + HGETALL"
read -r _ idle_k < <(measure "$BIN" version)
report "$(printf 'kubectl-workqueue version, for reference: %.1f MB' "$(awk -v k="$idle_k" 'BEGIN{print k/1024}')")"
for n in "${SIZES[@]}"; do
  q=bench-$n
  # One real failure gives the errors' format; the rest are copies of it.
  $BIN --redis-url "$URL" seed "$q" item-0000000 >/dev/null
  "$ROOT/bin/workqueue-worker" --redis-url "$URL" --queue "$q" --max-attempts 1 --name wq-bench-abcde -- \
    sh -c 'echo "convert: unable to open image" >&2; exit 1' 2>/dev/null || true
  errs=$(redis-cli -p "$PORT" --no-raw hget "$q:errors" item-0000000 | sed 's/^"//; s/"$//; s/\\"/"/g')
  awk -v q="$q" -v n="$n" -v e="$errs" 'function bulk(s) { return "$" length(s) "\r\n" s "\r\n" }
    BEGIN { for (i = 1; i < n; i++) { it = sprintf("item-%07d", i)
      printf "*3\r\n%s%s%s", bulk("LPUSH"), bulk(q ":failed"), bulk(it)
      printf "*4\r\n%s%s%s%s", bulk("HSET"), bulk(q ":errors"), bulk(it), bulk(e)
      printf "*4\r\n%s%s%s%s", bulk("HSET"), bulk(q ":attempts"), bulk(it), bulk("1") } }' |
    redis-cli -p "$PORT" --pipe >/dev/null
  [[ $(redis-cli -p "$PORT" llen "$q:failed") == "$n" ]] || die "filling $q failed"
  read -r ours_s ours_k < <(measure "$BIN" --redis-url "$URL" items "$q" -o json)
  read -r base_s base_k < <(measure sh -c "redis-cli -p $PORT lrange $q:failed 0 -1 && redis-cli -p $PORT hgetall $q:errors")
  report "$(printf '%9d items: ours %6.2f s %7.1f MB | redis-cli %6.2f s %7.1f MB | time ratio %s, memory ratio %s' \
    "$n" "$ours_s" "$(awk -v k="$ours_k" 'BEGIN{print k/1024}')" "$base_s" "$(awk -v k="$base_k" 'BEGIN{print k/1024}')" \
    "$(ratio "$ours_s" "$base_s")" "$(ratio "$ours_k" "$base_k")")"
  eval "mem_$n=$ours_k"
done
first=${SIZES[0]} last=${SIZES[${#SIZES[@]}-1]}
report "peak memory of ours at $last items / at $first items: $(ratio "$(eval echo "\$mem_$last")" "$(eval echo "\$mem_$first")")"

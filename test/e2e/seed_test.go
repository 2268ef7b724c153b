//go:build e2e

package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSeedStatus100k seeds 100,000 items through a real port-forward to the
// Redis that init made (with its password), and status agrees.
func TestSeedStatus100k(t *testing.T) {
	e := newEnv(t, "seed")
	e.initRedis()

	const n = 100000
	_, r := e.seedFile("big", "item", n)
	if r.code != 0 {
		t.Fatalf("seed failed:\n%v", r)
	}
	t.Logf("seeded %d items in %v", n, r.took.Round(time.Millisecond))
	if !strings.Contains(r.stdout, strconv.Itoa(n)) {
		t.Errorf("seed's summary does not mention %d items:\n%v", n, r)
	}
	st := e.status("big")
	if st.Queue != "big" || st.Pending != n || st.Processing != 0 || st.Failed != 0 || st.Done != 0 {
		t.Errorf("status after seeding %d items: %+v", n, st)
	}
	if st.Seeded != n {
		t.Errorf("status: seeded = %d, want %d", st.Seeded, n)
	}
	// Redis itself says the same, and the first item is the next to be taken
	// (workers pop from the right).
	if got := e.redisInt("LLEN", "big"); got != n {
		t.Errorf("LLEN big = %d, want %d", got, n)
	}
	if got := e.redisCLI("LINDEX", "big", "-1"); got != "item-0000001" {
		t.Errorf("next item to be worked on = %q, want item-0000001", got)
	}

	// The human table names the queue and the count.
	r = e.mustWQ("status", "big")
	if !strings.Contains(r.stdout, "big") || !strings.Contains(r.stdout, strconv.Itoa(n)) {
		t.Errorf("status table:\n%v", r)
	}
}

// TestSeedConnectionDropped kills the seed's connection from inside Redis
// (CLIENT KILL) while it pushes 1,000,000 items. Either go-redis sends the
// broken-off batches again on a new connection, which seed's numbered
// batches make safe, and seed completes with every item once, in order; or
// seed exits non-zero, says how many items were pushed, and the queue holds
// exactly that many, and continuing as the error says completes the queue
// with every item once, in order. Which one depends on where in its round
// trip the connection was killed.
func TestSeedConnectionDropped(t *testing.T) {
	e := newEnv(t, "drop")
	e.initRedis()

	// The killer waits inside the Redis pod until the queue has 50,000
	// items (it polls with a fresh redis-cli each time, a few ms apart), then
	// kills every normal client connection, the seed's among them.
	killer := redisAuth + `end=$(( $(date +%s) + 120 ))
echo polling >&2
until [ "$(redis-cli LLEN drop)" -ge 50000 ] 2>/dev/null; do
  [ "$(date +%s)" -lt "$end" ] || { echo "queue never reached 50000 items"; exit 3; }
done
echo "killing at LLEN $(redis-cli LLEN drop)"
redis-cli CLIENT KILL TYPE normal`
	k := start(t, 3*time.Minute, nil, "kubectl", "-n", e.ns, "exec", "deploy/redis", "-c", "redis", "--", "sh", "-c", killer)
	eventually(t, time.Minute, 50*time.Millisecond, "the killer to poll the queue", func() bool {
		return strings.Contains(k.err.String(), "polling")
	})

	const n = 1000000
	path := writeItems(t, makeItems("item", n))
	r := e.wq("seed", "drop", "-f", path)
	kr := k.wait()
	t.Logf("killer: %s", strings.TrimSpace(kr.combined()))
	if kr.code != 0 {
		t.Fatalf("the killer did not run as planned:\n%v", kr)
	}
	if r.code == 0 {
		t.Logf("seed rode out the killed connection:\n%v", r)
		if !strings.Contains(r.stdout, "seeded 1000000 items") {
			t.Errorf("seed exited 0 without saying it seeded all %d items:\n%v", n, r)
		}
		wholeQueue(t, e, n)
		return
	}
	m := regexp.MustCompile(`(\d+) items were pushed`).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("seed's error does not say how many items were pushed:\n%v", r)
	}
	pushed, _ := strconv.ParseInt(m[1], 10, 64)
	if strings.Contains(r.stderr, "may have been pushed") {
		t.Errorf("seed could not tell exactly how many items were pushed:\n%v", r)
	}
	if errLines := nonEmptyLines(r.stderr); len(errLines) > 3 {
		t.Errorf("the error should be short, got %d lines:\n%v", len(errLines), r)
	}
	got := e.redisInt("LLEN", "drop")
	t.Logf("seed said %d pushed; the queue holds %d", pushed, got)
	if got != pushed {
		t.Errorf("queue holds %d items, seed said %d were pushed", got, pushed)
	}
	if pushed <= 0 || pushed >= n {
		t.Errorf("pushed = %d: the connection was not dropped mid-seed", pushed)
	}
	// Items are whole batches, in order: the last one pushed is item-<pushed>.
	if pushed > 0 {
		if first := e.redisCLI("LINDEX", "drop", "0"); first != "item-"+pad7(pushed) {
			t.Errorf("last item pushed = %q, want item-%s", first, pad7(pushed))
		}
	}
	// status agrees too.
	if st := e.status("drop"); st.Pending != pushed {
		t.Errorf("status pending = %d, want %d", st.Pending, pushed)
	}

	if !strings.Contains(r.stderr, "run the same command with --skip "+m[1]) {
		t.Fatalf("seed's error does not say how to continue (--skip %s):\n%v", m[1], r)
	}
	e.mustWQ("seed", "drop", "-f", path, "--skip", m[1])
	wholeQueue(t, e, n)
	if got, want := e.redisCLI("LINDEX", "drop", strconv.FormatInt(n-pushed, 10)), "item-"+pad7(pushed); got != want {
		t.Errorf("LINDEX drop %d = %q after continuing, want %q", n-pushed, got, want)
	}
}

// wholeQueue checks that queue "drop" holds item-0000001 ... item-<n>,
// each once, in order (seed pushes to the left: item-<n> is at index 0).
func wholeQueue(t *testing.T, e *env, n int64) {
	t.Helper()
	if got := e.redisInt("LLEN", "drop"); got != n {
		t.Errorf("queue holds %d items, want %d", got, n)
	}
	// Redis checks every item, 10,000 at a time: one exec, not a million.
	const outOfPlace = `local n = redis.call('LLEN', KEYS[1])
local bad = 0
for start = 0, n - 1, 10000 do
  for j, v in ipairs(redis.call('LRANGE', KEYS[1], start, start + 9999)) do
    if v ~= string.format('item-%07d', n - (start + j - 1)) then bad = bad + 1 end
  end
end
return bad`
	if bad := e.redisInt("EVAL", outOfPlace, "1", "drop"); bad != 0 {
		t.Errorf("%d items are not where the seeded order puts them", bad)
	}
}

func pad7(n int64) string {
	s := strconv.FormatInt(n, 10)
	return strings.Repeat("0", max(0, 7-len(s))) + s
}

// TestWrongRedisService: a Service that does not exist gives a one-line error
// naming it, for every command that reaches Redis.
func TestWrongRedisService(t *testing.T) {
	e := newEnv(t, "nosvc")
	requireCommands(t, "seed", "status", "run")
	for _, args := range [][]string{
		{"seed", "q", "a", "b", "--redis-service", "nope"},
		{"status", "q", "--redis-service", "nope"},
		{"run", "q", "--image", userImage, "--redis-service", "nope", "--", "true"},
	} {
		r := e.wqT(time.Minute, args...)
		if r.code == 0 {
			t.Errorf("exit 0 with a wrong --redis-service:\n%v", r)
			continue
		}
		lines := nonEmptyLines(r.stderr)
		if len(lines) != 1 {
			t.Errorf("want a one-line error, got %d lines:\n%v", len(lines), r)
		}
		if !strings.Contains(r.stderr, "nope") {
			t.Errorf("the error does not name the Service %q:\n%v", "nope", r)
		}
		if r.took > 30*time.Second {
			t.Errorf("took %v to fail", r.took)
		}
	}
	// Nothing was created by the failed run.
	if r := e.mustKubectl("get", "jobs", "-o", "name"); strings.TrimSpace(r.stdout) != "" {
		t.Errorf("run with a wrong Service left a Job behind: %s", r.stdout)
	}
}

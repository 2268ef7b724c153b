package queue

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
)

// scriptCall matches the commands that run a script.
func scriptCall(args []string) bool {
	return len(args) > 0 && (strings.EqualFold(args[0], "evalsha") || strings.EqualFold(args[0], "eval"))
}

// lossyClient is a client through a proxy that loses the reply of the next
// script call Redis runs, as a connection that breaks on the way back does;
// go-redis then sends the call again on a new connection, as it does.
// Redis knows every script beforehand, so the reply lost is never NOSCRIPT.
func lossyClient(t *testing.T, rdb *redis.Client) (*redis.Client, *redistest.Proxy) {
	t.Helper()
	loadScripts(t, rdb)
	p := redistest.StartProxy(t, serverAddr)
	c := redis.NewClient(&redis.Options{Addr: p.Addr()})
	t.Cleanup(func() { c.Close() })
	return c, p
}

func loadScripts(t *testing.T, rdb *redis.Client) {
	t.Helper()
	for s := range scripts {
		if err := s.Load(context.Background(), rdb).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// A call that Redis ran and whose reply was lost, sent again by go-redis,
// takes effect once and gets the first one's reply: a lease leases no more
// items, a complete takes no pending copy of its item and counts it done,
// a failed attempt counts once and says so, a release says it released.
func TestCallsSentAgainAfterALostReplyTakeEffectOnce(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)

	t.Run("lease", func(t *testing.T) {
		q := newQueue(t, rdb)
		seed(t, q, items(6)...)
		c, p := lossyClient(t, rdb)
		p.LoseReplies(1, scriptCall)
		n, its, err := New(c, q.Name()).CompleteAndLease(ctx, nil, 2, time.Minute)
		if p.Lost() != 1 || err != nil || n != 0 || len(its) != 2 {
			t.Fatalf("lost %d; %d %v %v", p.Lost(), n, values(its), err)
		}
		if st := mustStats(t, q); st.Processing != 2 || st.Pending != 4 {
			t.Fatalf("leased 2, stats %+v", st)
		}
	})

	t.Run("complete", func(t *testing.T) {
		q := newQueue(t, rdb)
		seed(t, q, "x", "x")
		c, p := lossyClient(t, rdb)
		w := New(c, q.Name())
		x := leaseOne(t, w, time.Minute)
		p.LoseReplies(1, scriptCall)
		if n, err := w.Complete(ctx, x); p.Lost() != 1 || n != 1 || err != nil {
			t.Fatalf("lost %d; complete = %d, %v", p.Lost(), n, err)
		}
		if st := mustStats(t, q); st.Pending != 1 || st.Processing != 0 || st.Completed != 1 {
			t.Fatalf("the other x must still wait: stats %+v", st)
		}
	})

	t.Run("complete and lease", func(t *testing.T) {
		q := newQueue(t, rdb)
		seed(t, q, items(4)...)
		c, p := lossyClient(t, rdb)
		w := New(c, q.Name())
		first := leaseOne(t, w, time.Minute)
		p.LoseReplies(1, scriptCall)
		n, its, err := w.CompleteAndLease(ctx, []Item{first}, 1, time.Minute)
		if p.Lost() != 1 || err != nil || n != 1 || len(its) != 1 {
			t.Fatalf("lost %d; %d %v %v", p.Lost(), n, values(its), err)
		}
		if st := mustStats(t, q); st.Processing != 1 || st.Pending != 2 || st.Completed != 1 {
			t.Fatalf("stats %+v", st)
		}
	})

	t.Run("fail", func(t *testing.T) {
		q := newQueue(t, rdb)
		seed(t, q, "x")
		c, p := lossyClient(t, rdb)
		w := New(c, q.Name())
		x := leaseOne(t, w, time.Minute)
		p.LoseReplies(1, scriptCall)
		if out, err := w.Fail(ctx, x, 3, "boom"); p.Lost() != 1 || out != Retried || err != nil {
			t.Fatalf("lost %d; fail = %q, %v", p.Lost(), out, err)
		}
		if n := rdb.HGet(ctx, q.attemptsKey(), "x").Val(); n != "1" {
			t.Fatalf("attempts %s", n)
		}
	})

	t.Run("release", func(t *testing.T) {
		q := newQueue(t, rdb)
		seed(t, q, "x")
		c, p := lossyClient(t, rdb)
		w := New(c, q.Name())
		x := leaseOne(t, w, time.Minute)
		p.LoseReplies(1, scriptCall)
		if n, err := w.Release(ctx, x); p.Lost() != 1 || n != 1 || err != nil {
			t.Fatalf("lost %d; release = %d, %v", p.Lost(), n, err)
		}
		if st := mustStats(t, q); st.Pending != 1 || st.Processing != 0 {
			t.Fatalf("stats %+v", st)
		}
	})

	t.Run("reclaim", func(t *testing.T) {
		q := newQueue(t, rdb)
		seed(t, q, "x", "y")
		goneAfterLeasing(t, q, "x")
		c, p := lossyClient(t, rdb)
		w := New(c, q.Name())
		if n, err := w.Reclaim(ctx, 0); n != 0 || err != nil {
			t.Fatalf("the first look only marks: %d, %v", n, err)
		}
		p.LoseReplies(1, scriptCall)
		if n, err := w.Reclaim(ctx, 0); p.Lost() != 1 || n != 1 || err != nil {
			t.Fatalf("lost %d; reclaim = %d, %v", p.Lost(), n, err)
		}
		if st := mustStats(t, q); st.Pending != 2 || st.Processing != 0 || st.Reclaimed != 1 {
			t.Fatalf("stats %+v", st)
		}
		if marks := rdb.HKeys(ctx, q.unleasedKey()).Val(); len(marks) != 0 {
			t.Fatalf("marks left on items not in processing: %q", marks)
		}
	})

	t.Run("retry", func(t *testing.T) {
		q := newQueue(t, rdb)
		seed(t, q, "x", "y", "x")
		for range 3 {
			if _, err := q.Fail(ctx, leaseOne(t, q, time.Minute), 1, "boom"); err != nil {
				t.Fatal(err)
			}
		}
		c, p := lossyClient(t, rdb)
		p.LoseReplies(1, scriptCall)
		var moved []string
		n, err := New(c, q.Name()).Retry(ctx, RetryOptions{
			Select:   func(item []byte) bool { return string(item) == "x" },
			PageSize: 1,
			Moved:    func(item []byte) error { moved = append(moved, string(item)); return nil },
		})
		if p.Lost() != 1 || n != 2 || err != nil || !slices.Equal(moved, []string{"x", "x"}) {
			t.Fatalf("lost %d; retry = %d %v, moved %q", p.Lost(), n, err, moved)
		}
		if st := mustStats(t, q); st.Pending != 2 || st.Failed != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// A call that failed for the worker (its reply lost, no retries left in
// go-redis) is sent again by the worker: the stream answers it from the
// call that ran. A call with other arguments is a new call.
func TestAStreamAnswersAFailedCallSentAgain(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	seed(t, q, items(6)...)
	loadScripts(t, rdb)
	p := redistest.StartProxy(t, serverAddr)
	once := redis.NewClient(&redis.Options{Addr: p.Addr(), MaxRetries: -1})
	defer once.Close()
	s := New(once, q.Name()).NewStream(time.Minute)

	p.LoseReplies(1, scriptCall)
	if _, its, err := s.CompleteAndLease(ctx, nil, 2, time.Minute); err == nil || p.Lost() != 1 {
		t.Fatalf("a lost reply without retries: %v, %v", values(its), err)
	}
	_, its, err := s.CompleteAndLease(ctx, nil, 2, time.Minute)
	if err != nil || !slices.Equal(values(its), []string{"item-000000", "item-000001"}) {
		t.Fatalf("sent again: %v, %v", values(its), err)
	}
	_, its, err = s.CompleteAndLease(ctx, nil, 2, time.Minute)
	if err != nil || !slices.Equal(values(its), []string{"item-000002", "item-000003"}) {
		t.Fatalf("the next call: %v, %v", values(its), err)
	}
	if st := mustStats(t, q); st.Processing != 4 {
		t.Fatalf("stats %+v", st)
	}

	// A copy of an old call that reaches Redis late changes nothing.
	s.mu.Lock()
	s.seq, s.failed = 0, false
	s.mu.Unlock()
	if _, its, err := s.CompleteAndLease(ctx, nil, 2, time.Minute); err == nil || !strings.Contains(err.Error(), "STALE call 1 of a stream that made call 2") {
		t.Fatalf("an old call: %v, %v", values(its), err)
	}
	if st := mustStats(t, q); st.Processing != 4 {
		t.Fatalf("stats %+v", st)
	}
}

// goneAfterLeasing leases item for a session that then stops: no lease key,
// no liveness.
func goneAfterLeasing(t *testing.T, q *Queue, item string) {
	t.Helper()
	ctx := context.Background()
	gone := New(q.rdb, q.Name())
	if its, err := gone.Lease(ctx, 1, time.Millisecond, 0); err != nil || len(its) != 1 || string(its[0].Value) != item {
		t.Fatalf("lease: %v, %v", its, err)
	}
	if err := gone.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	redistest.WaitFor(t, 10*time.Second, "the lease to run out", func() bool {
		return q.rdb.Exists(ctx, q.LeaseKey([]byte(item))).Val() == 0
	})
}

// A reclaim that looks at an item another worker's reclaim has just taken
// back (the list it was given was read before) leaves no mark on it: the
// mark would count toward the grace of the copy a docs worker pops next.
func TestReclaimMarksOnlyItemsInProcessing(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	seed(t, q, "x")
	goneAfterLeasing(t, q, "x")
	for range 2 {
		if _, err := q.Reclaim(ctx, 0); err != nil {
			t.Fatal(err)
		}
	}
	if st := mustStats(t, q); st.Pending != 1 || st.Reclaimed != 1 {
		t.Fatalf("stats %+v", st)
	}
	keys := []string{q.name, q.processingKey(), q.holdersKey(), q.workersKey(), q.unleasedKey(), q.statsKey(), q.leasedAtKey(),
		q.LeaseKey([]byte("x"))}
	if n, err := q.NewStream(time.Minute).run(ctx, reclaimScript, keys, 0, "0", "x").Int(); n != 0 || err != nil {
		t.Fatalf("reclaim of a stale read = %d, %v", n, err)
	}
	if marks := rdb.HKeys(ctx, q.unleasedKey()).Val(); len(marks) != 0 {
		t.Fatalf("marks left on items not in processing: %q", marks)
	}
}

// A full Redis (maxmemory, noeviction) still answers a call that changes
// nothing, whose record it refuses: a worker completing an item another
// worker has taken over is told so, not refused for memory.
func TestAFullRedisAnswersCallsThatChangeNothing(t *testing.T) {
	testClient(t) // skips without redis-server
	ctx := context.Background()
	rdb := redistest.Client(t, redistest.Start(t, "--maxmemory", "2mb", "--maxmemory-policy", "noeviction"), 4)
	name := redistest.QueueName(t)
	seed(t, New(rdb, name), "x")
	other := New(rdb, name)
	x := leaseOne(t, other, time.Minute)
	filler := strings.Repeat("f", 64<<10)
	for i := 0; ; i++ {
		err := rdb.Set(ctx, fmt.Sprintf("filler-%d", i), filler, 0).Err()
		if err != nil {
			if !strings.Contains(err.Error(), "OOM") {
				t.Fatal(err)
			}
			break
		}
	}
	me := New(rdb, name)
	if n, err := me.Complete(ctx, x); n != 0 || err != nil {
		t.Fatalf("complete of another worker's item in a full Redis = %d, %v", n, err)
	}
	if out, err := me.Fail(ctx, x, 3, "boom"); out != Lost || err != nil {
		t.Fatalf("fail of another worker's item in a full Redis = %q, %v", out, err)
	}
	if n, err := other.Complete(ctx, x); n != 1 || err != nil {
		t.Fatalf("its own worker's complete in a full Redis = %d, %v", n, err)
	}
}

package queue

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
)

// serverAddr is the one redis-server of this package's tests; each test
// uses queues of its own names.
var serverAddr string

func TestMain(m *testing.M) {
	flag.Parse()
	checkDeclaredKeys()
	redistest.Main(m, &serverAddr)
}

func testClient(t testing.TB) *redis.Client {
	t.Helper()
	return redistest.Client(t, serverAddr, 64)
}

func newQueue(t testing.TB, rdb *redis.Client) *Queue {
	return New(rdb, redistest.QueueName(t))
}

// seed pushes in small batches, so that tests cross batch boundaries.
func seed(t testing.TB, q *Queue, items ...string) {
	t.Helper()
	redistest.Seed(t, q.NewSeeder(SeedOptions{BatchSize: 7}), items...)
}

func items(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("item-%06d", i)
	}
	return out
}

func values(its []Item) []string {
	out := make([]string, len(its))
	for i, it := range its {
		out[i] = string(it.Value)
	}
	return out
}

func mustStats(t *testing.T, q *Queue) *Stats {
	t.Helper()
	s, err := q.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLeaseTakesABatchAtomicallyWithLeaseKeys(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	seed(t, q, "a", "b", "c", "d")
	its, err := q.Lease(ctx, 3, 30*time.Second, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(values(its), ","); got != "a,b,c" {
		t.Fatalf("leased %s, want a,b,c", got)
	}
	for _, it := range its {
		owner, err := rdb.Get(ctx, q.LeaseKey(it.Value)).Result()
		if err != nil || owner != q.Session() {
			t.Fatalf("lease key of %s = %q, %v; want session %s", it.Value, owner, err, q.Session())
		}
		ttl := rdb.PTTL(ctx, q.LeaseKey(it.Value)).Val()
		if ttl <= 0 || ttl > 30*time.Second {
			t.Fatalf("lease TTL %v, want (0, 30s]", ttl)
		}
	}
	st := mustStats(t, q)
	if st.Pending != 1 || st.Processing != 3 || st.Leased != 3 || st.Workers != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The docs' key for "apple" is sha224("apple").
	if k := q.LeaseKey([]byte("apple")); k != q.Name()+":leased_by_session:b7bbfdf1a1012999b3c466fdeb906a629caa5e3e022428d1eb702281" {
		t.Fatalf("lease key %s", k)
	}
}

func TestLeaseWaitsForItemsWithoutPolling(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)

	// Commands sent by clients (scripts' inner calls are counted apart).
	calls := func() int64 {
		var n int64
		for _, line := range strings.Split(rdb.Info(ctx, "commandstats").Val(), "\n") {
			if strings.HasPrefix(line, "cmdstat_evalsha:") || strings.HasPrefix(line, "cmdstat_blmove:") {
				var c int64
				if i := strings.Index(line, "calls="); i >= 0 {
					fmt.Sscanf(line[i+len("calls="):], "%d", &c)
				}
				n += c
			}
		}
		return n
	}
	before := calls()
	start := time.Now()
	its, err := q.Lease(ctx, 1, time.Minute, 1500*time.Millisecond)
	if err != nil || len(its) != 0 {
		t.Fatalf("lease on an empty queue = %v, %v", its, err)
	}
	if waited := time.Since(start); waited < 1500*time.Millisecond {
		t.Fatalf("returned after %v, before the wait was over", waited)
	}
	// A 1.5 s wait is a few blocking calls, not a spin.
	if n := calls() - before; n > 8 {
		t.Fatalf("waiting 1.5s cost %d Redis calls", n)
	}

	got := make(chan []Item, 1)
	go func() {
		its, _ := q.Lease(ctx, 1, time.Minute, 10*time.Second)
		got <- its
	}()
	seed(t, q, "late")
	select {
	case its := <-got:
		if len(its) != 1 || string(its[0].Value) != "late" {
			t.Fatalf("leased %v", values(its))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting lease did not get the item pushed while it waited")
	}
}

func TestManyWorkersCompleteEachItemExactlyOnce(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	name := newQueue(t, rdb).Name()
	want := items(5000)
	seed(t, New(rdb, name), want...)

	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := New(rdb, name)
			for {
				its, err := q.Lease(ctx, 1+w%4, time.Minute, 0)
				if err != nil {
					t.Error(err)
					return
				}
				if len(its) == 0 {
					return
				}
				mu.Lock()
				for _, it := range its {
					seen[string(it.Value)]++
				}
				mu.Unlock()
				if n, err := q.Complete(ctx, its...); err != nil || n != len(its) {
					t.Errorf("complete = %d, %v; want %d", n, err, len(its))
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, it := range want {
		if seen[it] != 1 {
			t.Fatalf("item %s processed %d times", it, seen[it])
		}
	}
	st := mustStats(t, New(rdb, name))
	if st.Workers != 16 {
		t.Fatalf("%d live workers, want the 16 that leased", st.Workers)
	}
	if st.Pending != 0 || st.Processing != 0 || st.Done != 5000 || st.Completed != 5000 {
		t.Fatalf("stats after draining: %+v", st)
	}
	if n, _ := rdb.Exists(ctx, name+":holders").Result(); n != 0 {
		t.Fatalf("holders left behind")
	}
}

// Crashed workers lease and vanish. After their leases lapse, reclaim gives
// every item back and live workers finish them all; an item whose worker
// keeps heartbeating is never taken, however long it takes.
func TestReclaimReturnsItemsOfCrashedWorkersOnly(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	name := newQueue(t, rdb).Name()
	want := items(50)
	seed(t, New(rdb, name), want...)

	const lease = 300 * time.Millisecond
	slow := New(rdb, name)
	slowItems, err := slow.Lease(ctx, 1, lease, 0)
	if err != nil || len(slowItems) != 1 {
		t.Fatal(err)
	}
	var crashed []string
	for i := 0; i < 5; i++ {
		its, err := New(rdb, name).Lease(ctx, 3, lease, 0)
		if err != nil {
			t.Fatal(err)
		}
		crashed = append(crashed, values(its)...)
	}
	// A docs worker that died between BRPOPLPUSH and SETEX: no lease at all.
	v, err := rdb.RPopLPush(ctx, name, name+":processing").Result()
	if err != nil {
		t.Fatal(err)
	}
	crashed = append(crashed, v)

	reclaimer := New(rdb, name)
	deadline := time.Now().Add(20 * time.Second)
	var reclaimed int
	for reclaimed < len(crashed) {
		if time.Now().After(deadline) {
			t.Fatalf("reclaimed %d of %d items of crashed workers", reclaimed, len(crashed))
		}
		if held, err := slow.Extend(ctx, lease, slowItems...); err != nil || !held[0] {
			t.Fatalf("the slow worker lost its item: %v %v", held, err)
		}
		n, err := reclaimer.Reclaim(ctx, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		reclaimed += n
		if reclaimed < len(crashed) {
			// Let the crashed leases lapse; the condition is re-checked, not assumed.
			time.Sleep(50 * time.Millisecond)
		}
	}
	if reclaimed != len(crashed) {
		t.Fatalf("reclaimed %d, want %d", reclaimed, len(crashed))
	}
	// Reclaimed items are taken next, before the never-leased ones.
	next, _ := reclaimer.Lease(ctx, 1, time.Minute, 0)
	if !slices.Contains(crashed, string(next[0].Value)) {
		t.Fatalf("took %s next, want one of the reclaimed items", next[0].Value)
	}
	reclaimer.Complete(ctx, next...)
	// Live workers drain the rest; the slow item is still the slow worker's.
	for {
		its, err := reclaimer.Lease(ctx, 10, time.Minute, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(its) == 0 {
			break
		}
		if slices.Contains(values(its), string(slowItems[0].Value)) {
			t.Fatal("the heartbeating worker's item was handed out again")
		}
		reclaimer.Complete(ctx, its...)
	}
	if n, err := slow.Complete(ctx, slowItems...); n != 1 || err != nil {
		t.Fatalf("slow worker's complete = %d, %v", n, err)
	}
	st := mustStats(t, reclaimer)
	if st.Done != int64(len(want)) || st.Pending+st.Processing != 0 || st.Reclaimed != int64(len(crashed)) {
		t.Fatalf("stats %+v", st)
	}
}

func TestReclaimSparesDocsWorkerBetweenPopAndLease(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	seed(t, q, "x")
	// BRPOPLPUSH done, SETEX not yet.
	if err := rdb.RPopLPush(ctx, q.Name(), q.processingKey()).Err(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if n, err := q.Reclaim(ctx, time.Hour); err != nil || n != 0 {
			t.Fatalf("reclaim within the grace = %d, %v", n, err)
		}
	}
	// The docs worker sets its lease; it is never reclaimed while it lasts.
	rdb.SetEx(ctx, q.LeaseKey([]byte("x")), "docs-session", time.Minute)
	if n, err := q.Reclaim(ctx, 0); err != nil || n != 0 {
		t.Fatalf("reclaim of a leased item = %d, %v", n, err)
	}
	if st := mustStats(t, q); st.Leased != 1 || st.Expired != 0 || st.Workers != 1 {
		t.Fatalf("a docs worker's lease: stats %+v", st)
	}
}

func TestFailRetriesThenDeadLetters(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	seed(t, q, "bad", "good")
	lease := func() Item {
		its, err := q.Lease(ctx, 1, time.Minute, 0)
		if err != nil || len(its) != 1 {
			t.Fatalf("lease: %v %v", its, err)
		}
		return its[0]
	}
	bad := lease()
	if out, err := q.Fail(ctx, bad, 2, "exit status 1"); err != nil || out != Retried {
		t.Fatalf("first failure: %v %v", out, err)
	}
	// Retried items go behind what was pending.
	if it := lease(); string(it.Value) != "good" {
		t.Fatalf("took %s, want good first", it.Value)
	} else {
		q.Complete(ctx, it)
	}
	bad = lease()
	if out, err := q.Fail(ctx, bad, 2, "exit status 2"); err != nil || out != DeadLettered {
		t.Fatalf("second failure: %v %v", out, err)
	}
	st := mustStats(t, q)
	if st.Failed != 1 || st.Pending != 0 || st.Processing != 0 || st.Retried != 1 || st.Done != 1 {
		t.Fatalf("stats %+v", st)
	}
	if v := rdb.LRange(ctx, q.failedKey(), 0, -1).Val(); len(v) != 1 || v[0] != "bad" {
		t.Fatalf("dead letters %v", v)
	}
	var got []ItemInfo
	if err := q.Items(ctx, Failed, ListOptions{}, func(it *ItemInfo) error { got = append(got, *it); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Attempts != 2 || len(got[0].Errors) != 2 ||
		got[0].Errors[0].Error != "exit status 1" || got[0].Errors[1].Error != "exit status 2" || got[0].Errors[1].Attempt != 2 {
		t.Fatalf("failed items %+v", got)
	}
}

func TestReleaseReturnsItemsToTheFront(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	seed(t, q, "a", "b", "c")
	its, _ := q.Lease(ctx, 2, time.Minute, 0)
	if n, err := q.Release(ctx, its...); err != nil || n != 2 {
		t.Fatalf("release = %d, %v", n, err)
	}
	again, _ := q.Lease(ctx, 3, time.Minute, 0)
	if got := strings.Join(values(again), ","); got != "a,b,c" {
		t.Fatalf("after release took %s, want a,b,c", got)
	}
	if n := rdb.Exists(ctx, q.LeaseKey([]byte("a"))).Val(); n != 1 {
		t.Fatal("re-leased item has no lease key")
	}
}

func TestCompleteAfterLosingTheLeaseLeavesTheItemToItsNewOwner(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	name := newQueue(t, rdb).Name()
	seed(t, New(rdb, name), "x")
	a, b := New(rdb, name), New(rdb, name)
	its, _ := a.Lease(ctx, 1, 50*time.Millisecond, 0)
	// a stalls past its lease; b reclaims and takes the item.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := b.Reclaim(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stalled lease was never reclaimed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	bits, _ := b.Lease(ctx, 1, time.Minute, 0)
	if n, _ := a.Complete(ctx, its...); n != 0 {
		t.Fatalf("a completed an item b now holds")
	}
	if held, _ := b.Extend(ctx, time.Minute, bits...); !held[0] {
		t.Fatal("b lost its lease to a's late completion")
	}
	if held, _ := a.Extend(ctx, time.Minute, its...); held[0] {
		t.Fatal("a's lease still counts as held")
	}
}

// The first seeded batch gives a queue its identity; more seeding keeps it,
// and a queue that vanished (deleted, or Redis restarted without its data)
// gets another one when it is seeded again.
func TestSeedGivesTheQueueAnIdentity(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	epoch := func() string {
		t.Helper()
		e, err := q.Epoch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	if e := epoch(); e != "" {
		t.Fatalf("a queue never seeded has epoch %q", e)
	}
	seed(t, q, "a")
	first := epoch()
	if first == "" || mustStats(t, q).Epoch != first {
		t.Fatalf("epoch %q after the first seed, stats say %q", first, mustStats(t, q).Epoch)
	}
	seed(t, q, "b", "c")
	if e := epoch(); e != first {
		t.Fatalf("seeding more changed the epoch from %q to %q", first, e)
	}
	if _, err := q.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if e := epoch(); e != "" {
		t.Fatalf("epoch %q survived delete", e)
	}
	seed(t, q, "d")
	if e := epoch(); e == "" || e == first {
		t.Fatalf("seeded again after delete: epoch %q, first was %q", e, first)
	}
}

func TestSeedAndStatsRejectAKeyOfTheWrongType(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	rdb.Set(ctx, q.Name(), "not a list", 0)
	if _, err := q.Stats(ctx); !errors.Is(err, ErrWrongType) {
		t.Fatalf("stats: %v", err)
	}
	s := q.NewSeeder(SeedOptions{})
	s.Add(ctx, []byte("a"))
	if err := s.Close(ctx); !errors.Is(err, ErrWrongType) {
		t.Fatalf("seed: %v", err)
	}
}

func TestStatsCountsDocsAndOurWorkers(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	name := newQueue(t, rdb).Name()
	seed(t, New(rdb, name), items(10)...)
	ours := New(rdb, name)
	ours.Lease(ctx, 2, time.Minute, 0)
	// A docs worker with a lease, and one whose lease expired.
	for _, session := range []string{"docs-1", ""} {
		v := rdb.RPopLPush(ctx, name, name+":processing").Val()
		if session != "" {
			rdb.SetEx(ctx, ours.LeaseKey([]byte(v)), session, time.Minute)
		}
	}
	st := mustStats(t, ours)
	want := Stats{Queue: name, Pending: 6, Processing: 4, Leased: 3, Expired: 1, Workers: 2, Seeded: 10, Epoch: st.Epoch}
	st.Time = time.Time{}
	if *st != want {
		t.Fatalf("stats\n got %+v\nwant %+v", *st, want)
	}
}

func TestDeleteRemovesEveryKey(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	other := newQueue(t, rdb)
	seed(t, other, "keep")
	seed(t, q, items(10)...)
	its, _ := q.Lease(ctx, 3, time.Minute, 0)
	q.Complete(ctx, its[0])
	q.Fail(ctx, its[1], 1, "boom")
	q.Reclaim(ctx, time.Hour)
	if _, err := q.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if keys := rdb.Keys(ctx, q.Name()+"*").Val(); len(keys) != 0 {
		t.Fatalf("left behind: %v", keys)
	}
	if n := rdb.LLen(ctx, other.Name()).Val(); n != 1 {
		t.Fatal("deleted another queue's items")
	}
}

// The docs' own Python client (rediswq.py + worker.py, run by python3) drains
// a queue seeded by us, alongside our workers, and every item is done once.
func TestDocsPythonWorkersDrainOurQueue(t *testing.T) {
	python := redistest.Python(t)
	ctx := context.Background()
	rdb := testClient(t)
	name := newQueue(t, rdb).Name()
	want := items(600)
	seed(t, New(rdb, name), want...)
	host, port, _ := net.SplitHostPort(serverAddr)

	var outs []*strings.Builder
	var cmds []*exec.Cmd
	for i := 0; i < 2; i++ {
		cmd := exec.Command(python, filepath.Join("testdata", "worker.py"))
		cmd.Env = append(os.Environ(), "REDIS_HOST="+host, "REDIS_PORT="+port, "QUEUE="+name)
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	var ourDone []string
	q := New(rdb, name)
	for {
		its, err := q.Lease(ctx, 5, time.Minute, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(its) == 0 {
			break
		}
		ourDone = append(ourDone, values(its)...)
		q.Complete(ctx, its...)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("docs worker: %v\n%s", err, outs[i])
		}
	}
	done := append([]string(nil), ourDone...)
	for _, out := range outs {
		for _, line := range strings.Split(out.String(), "\n") {
			if v, ok := strings.CutPrefix(line, "Working on "); ok {
				done = append(done, v)
			}
		}
	}
	sort.Strings(done)
	if strings.Join(done, ",") != strings.Join(want, ",") {
		t.Fatalf("done %d items (ours %d), want each of %d once", len(done), len(ourDone), len(want))
	}
	if st := mustStats(t, q); st.Pending+st.Processing != 0 || st.Done != int64(len(want)) {
		t.Fatalf("stats %+v", st)
	}
}

func TestLeaveStopsCountingTheWorkerAtOnce(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	seed(t, q, "a", "b")
	its, _ := q.Lease(ctx, 1, time.Minute, 0)
	q.Complete(ctx, its...)
	if st := mustStats(t, q); st.Workers != 1 {
		t.Fatalf("workers %d, want 1", st.Workers)
	}
	if err := q.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if st := mustStats(t, q); st.Workers != 0 {
		t.Fatalf("workers %d after Leave, want 0", st.Workers)
	}
}

// One call completes any number of items: the scripts' unpack has a stack
// limit of about 8,000 values.
func TestCompleteAndLeaseManyItemsAtOnce(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	seed(t, q, items(12000)...)
	its, err := q.Lease(ctx, 12000, time.Minute, 0)
	if err != nil || len(its) != 12000 {
		t.Fatalf("lease: %d items, %v", len(its), err)
	}
	// The newest lease first: it is at the end of processing that LREM
	// searches from, so the test does not wait on 12,000 list scans.
	slices.Reverse(its)
	if n, err := q.Complete(ctx, its...); err != nil || n != 12000 {
		t.Fatalf("complete = %d, %v", n, err)
	}
	if n := rdb.Exists(ctx, q.holdersKey(), q.leasedAtKey(), q.processingKey()).Val(); n != 0 {
		t.Errorf("%d keys left behind", n)
	}
}

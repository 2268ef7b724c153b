package queue

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func listItems(t *testing.T, q *Queue, state State, o ListOptions) []ItemInfo {
	t.Helper()
	var out []ItemInfo
	err := q.Items(context.Background(), state, o, func(it *ItemInfo) error {
		c := *it
		c.Value = bytes.Clone(it.Value)
		out = append(out, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestItemsListsEachStateWithWhatIsKnownOfIt(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	base := newQueue(t, rdb)
	pod := base.WithWorker("wq-thumbs-abcde")
	seed(t, base, "a", "b", "c", "d", "e", "f")
	before := time.Now()
	// a fails for good, b fails once and goes back to the queue, c is held.
	its, err := pod.Lease(ctx, 3, time.Minute, 0)
	if err != nil || len(its) != 3 {
		t.Fatalf("lease: %v %v", its, err)
	}
	if out, _ := pod.Fail(ctx, its[0], 1, "exit status 3: boom on a"); out != DeadLettered {
		t.Fatalf("a: %v", out)
	}
	if out, _ := pod.Fail(ctx, its[1], 3, "exit status 1: flaky"); out != Retried {
		t.Fatalf("b: %v", out)
	}

	pending := listItems(t, base, Pending, ListOptions{})
	var order []string
	for i, it := range pending {
		order = append(order, string(it.Value))
		if it.Position != int64(i+1) || it.State != Pending {
			t.Errorf("pending %s: position %d state %s", it.Value, it.Position, it.State)
		}
	}
	// Workers take d, e, f next, then b, which was queued again behind them.
	if strings.Join(order, ",") != "d,e,f,b" {
		t.Fatalf("pending in the order %v, want d,e,f,b", order)
	}
	if b := pending[3]; b.Attempts != 1 || len(b.Errors) != 1 || b.Errors[0].Error != "exit status 1: flaky" {
		t.Errorf("retried item b: %+v", b)
	}

	processing := listItems(t, base, Processing, ListOptions{})
	if len(processing) != 1 {
		t.Fatalf("processing %+v", processing)
	}
	c := processing[0]
	if string(c.Value) != "c" || c.Worker() != "wq-thumbs-abcde" || !c.Held() || !c.Alive ||
		c.LeaseLeft <= 50*time.Second || c.LeaseLeft > time.Minute || c.LeasedAt.Before(before.Add(-time.Second)) {
		t.Errorf("processing item: %+v (worker %q)", c, c.Worker())
	}

	failed := listItems(t, base, Failed, ListOptions{})
	if len(failed) != 1 {
		t.Fatalf("failed %+v", failed)
	}
	a := failed[0]
	if string(a.Value) != "a" || a.Attempts != 1 || len(a.Errors) != 1 {
		t.Fatalf("failed item: %+v", a)
	}
	e := a.Errors[0]
	if e.Error != "exit status 3: boom on a" || e.Worker != "wq-thumbs-abcde" || e.Attempt != 1 || e.At.Before(before.Add(-time.Second)) || e.At.After(time.Now().Add(time.Second)) {
		t.Errorf("its error: %+v", e)
	}
	if _, err := rdb.HGet(ctx, base.leasedAtKey(), "a").Result(); err != redis.Nil {
		t.Errorf("a failed item keeps its lease time: %v", err)
	}
}

// A docs worker that died between BRPOPLPUSH and completing leaves its item
// in processing with no lease and no holder; one that lives has its lease key.
func TestItemsShowsDocsWorkersItemsWithAndWithoutALease(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	seed(t, q, "crashed", "working")
	rdb.RPopLPush(ctx, q.Name(), q.processingKey())
	rdb.RPopLPush(ctx, q.Name(), q.processingKey())
	rdb.Set(ctx, q.LeaseKey([]byte("working")), "9b2e0c4e-docs-session", 10*time.Second)

	got := listItems(t, q, Processing, ListOptions{})
	if len(got) != 2 || string(got[0].Value) != "crashed" || string(got[1].Value) != "working" {
		t.Fatalf("processing %+v", got)
	}
	if it := got[0]; it.Held() || it.Holder != "" || it.LeaseSession != "" || it.Worker() != "" {
		t.Errorf("the crashed worker's item: %+v", it)
	}
	if it := got[1]; !it.Held() || it.Worker() != "9b2e0c4e-docs-session" || it.LeaseLeft <= 0 || it.LeaseLeft > 10*time.Second {
		t.Errorf("the live docs worker's item: %+v", it)
	}
}

func TestErrorsKeepTheLastAttemptsOnly(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb).WithWorker("pod-1")
	seed(t, q, "flaky")
	for i := 1; i <= 7; i++ {
		its, _ := q.Lease(ctx, 1, time.Minute, 0)
		if _, err := q.Fail(ctx, its[0], 100, fmt.Sprintf("attempt %d failed", i)); err != nil {
			t.Fatal(err)
		}
	}
	got := listItems(t, q, Pending, ListOptions{})
	if len(got) != 1 || got[0].Attempts != 7 || len(got[0].Errors) != MaxErrors {
		t.Fatalf("%+v", got)
	}
	for i, e := range got[0].Errors {
		if n := 7 - MaxErrors + 1 + i; e.Attempt != n || e.Error != fmt.Sprintf("attempt %d failed", n) {
			t.Errorf("error %d: %+v, want attempt %d", i, e, n)
		}
	}
	// Once done, its attempts and errors go.
	its, _ := q.Lease(ctx, 1, time.Minute, 0)
	q.Complete(ctx, its...)
	for _, k := range []string{q.errorsKey(), q.attemptsKey(), q.leasedAtKey()} {
		if n := rdb.Exists(ctx, k).Val(); n != 0 {
			t.Errorf("%s left behind after the item was done", k)
		}
	}
}

// Errors recorded by an older worker, as a plain string, are read and kept.
func TestErrorsOfOlderWorkersArePlainStrings(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	seed(t, q, "old")
	rdb.HSet(ctx, q.errorsKey(), "old", "exit status 2: from an older worker")
	its, _ := q.Lease(ctx, 1, time.Minute, 0)
	q.Fail(ctx, its[0], 1, "exit status 3: now")
	got := listItems(t, q, Failed, ListOptions{})
	if len(got) != 1 || len(got[0].Errors) != 2 || got[0].Errors[0].Error != "exit status 2: from an older worker" ||
		!got[0].Errors[0].At.IsZero() || got[0].Errors[1].Error != "exit status 3: now" {
		t.Fatalf("%+v", got)
	}
}

func TestItemsAndErrorsKeepAnyBytes(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb).WithWorker("pod\xff")
	weird := "tab\there\nnewline \x00nul \xff\xfe not utf-8 \x1b[31m"
	seed(t, q, weird)
	its, _ := q.Lease(ctx, 1, time.Minute, 0)
	q.Fail(ctx, its[0], 1, "exit status 1: \xffbad\x1b[0m \"quoted\" \\ /")
	got := listItems(t, q, Failed, ListOptions{})
	if len(got) != 1 || string(got[0].Value) != weird {
		t.Fatalf("%+v", got)
	}
	e := got[0].Errors[0]
	if e.Error != `exit status 1: \xffbad`+"\x1b[0m \"quoted\" \\ /" || e.Worker != `pod\xff` {
		t.Errorf("error %q worker %q", e.Error, e.Worker)
	}
}

func TestItemsLimitAndBadState(t *testing.T) {
	rdb := testClient(t)
	q := newQueue(t, rdb)
	seed(t, q, items(10)...)
	got := listItems(t, q, Pending, ListOptions{Limit: 4, PageSize: 3})
	if len(got) != 4 || string(got[0].Value) != "item-000000" || string(got[3].Value) != "item-000003" || got[3].Position != 4 {
		t.Fatalf("%+v", got)
	}
	if err := q.Items(context.Background(), "done", ListOptions{}, func(*ItemInfo) error { return nil }); err == nil {
		t.Fatal("no error for an unknown state")
	}
}

// rangeHook records the longest range any LRANGE asked for.
type rangeHook struct {
	mu      sync.Mutex
	longest int64
	calls   int
}

func (h *rangeHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *rangeHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			h.see(c)
		}
		return next(ctx, cmds)
	}
}
func (h *rangeHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, c redis.Cmder) error {
		h.see(c)
		return next(ctx, c)
	}
}
func (h *rangeHook) see(c redis.Cmder) {
	args := c.Args()
	if len(args) != 4 || c.Name() != "lrange" {
		return
	}
	start, _ := args[2].(int64)
	stop, _ := args[3].(int64)
	if start < 0 != (stop < 0) {
		start = -1 << 62 // from one end to the other: unbounded
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.longest = max(h.longest, stop-start+1)
	h.calls++
}

// Listing 100,000 failed items reads them a page at a time, in order, and
// the heap stays far below what holding them all would take.
func TestItemsPagesThrough100kFailedItems(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	const n = 100_000
	makeFailed(t, rdb, q, n)

	hook := &rangeHook{}
	lister := redis.NewClient(&redis.Options{Addr: serverAddr})
	defer lister.Close()
	lister.AddHook(hook)
	lq := New(lister, q.Name())

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	var count int64
	var bytesListed int
	err := lq.Items(ctx, Failed, ListOptions{}, func(it *ItemInfo) error {
		count++
		if want := fmt.Sprintf("item-%06d", count-1); string(it.Value) != want || it.Position != count {
			return fmt.Errorf("item %d is %q at position %d, want %s", count, it.Value, it.Position, want)
		}
		bytesListed += len(it.Value) + len(it.Errors[0].Error)
		if count%5000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if count != n {
		t.Fatalf("listed %d items, want %d", count, n)
	}
	if hook.longest > DefaultPageSize {
		t.Errorf("an LRANGE asked for %d items at once, more than a page (%d)", hook.longest, DefaultPageSize)
	}
	t.Logf("%d items (%d bytes of items and errors) in %d reads; heap peak %.1f MB above the start (GC does not run on every page)",
		count, bytesListed, hook.calls, float64(peak-base)/(1<<20))
}

// makeFailed puts n items into q's failed list, the oldest (item-000000)
// first, with the errors a worker records: one real failure is copied.
func makeFailed(t testing.TB, rdb *redis.Client, q *Queue, n int) {
	t.Helper()
	ctx := context.Background()
	all := items(n)
	seed(t, q, all[0])
	w := q.WithWorker("wq-x-abcde")
	its, _ := w.Lease(ctx, 1, time.Minute, 0)
	if out, err := w.Fail(ctx, its[0], 1, "exit status 3: boom"); err != nil || out != DeadLettered {
		t.Fatal(out, err)
	}
	errs := rdb.HGet(ctx, q.errorsKey(), all[0]).Val()
	for i := 1; i < n; i += 5000 {
		chunk := all[i:min(i+5000, n)]
		pipe := rdb.Pipeline()
		vals := make([]any, len(chunk))
		fields := make([]any, 0, 2*len(chunk))
		attempts := make([]any, 0, 2*len(chunk))
		for j, v := range chunk {
			vals[j] = v
			fields = append(fields, v, errs)
			attempts = append(attempts, v, 1)
		}
		pipe.LPush(ctx, q.failedKey(), vals...)
		pipe.HSet(ctx, q.errorsKey(), fields...)
		pipe.HSet(ctx, q.attemptsKey(), attempts...)
		pipe.HIncrBy(ctx, q.statsKey(), "seeded", int64(len(chunk)))
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

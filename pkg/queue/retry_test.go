package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// failAll leases every pending item and fails each for good.
func failAll(t testing.TB, q *Queue, reason string) {
	t.Helper()
	ctx := context.Background()
	for {
		its, err := q.Lease(ctx, 100, time.Minute, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(its) == 0 {
			return
		}
		for _, it := range its {
			if out, err := q.Fail(ctx, it, 1, reason); err != nil || out != DeadLettered {
				t.Fatalf("fail %s: %v %v", it.Value, out, err)
			}
		}
	}
}

func values2(infos []ItemInfo) []string {
	out := make([]string, len(infos))
	for i, it := range infos {
		out[i] = string(it.Value)
	}
	return out
}

func TestRetryPutsFailedItemsBackBehindThePendingOnes(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	seed(t, q, "a", "b", "c")
	failAll(t, q, "exit status 1: boom")
	// The queue has drained, so seeding needs force; a new item the plain way.
	rdb.LPush(ctx, q.Name(), "d")
	var moved []string
	n, err := q.Retry(ctx, RetryOptions{Moved: func(it []byte) error { moved = append(moved, string(it)); return nil }})
	if err != nil || n != 3 {
		t.Fatalf("retry = %d, %v", n, err)
	}
	if fmt.Sprint(moved) != "[a b c]" {
		t.Errorf("moved %v, want the oldest failure first", moved)
	}
	pending := listItems(t, q, Pending, ListOptions{})
	if fmt.Sprint(values2(pending)) != "[d a b c]" {
		t.Fatalf("pending %v, want d, then the retried items in the order they failed", values2(pending))
	}
	for _, it := range pending[1:] {
		if it.Attempts != 0 || len(it.Errors) != 1 || it.Errors[0].Error != "exit status 1: boom" {
			t.Errorf("retried %s: attempts %d errors %+v: want attempts reset, errors kept", it.Value, it.Attempts, it.Errors)
		}
	}
	st := mustStats(t, q)
	if st.Failed != 0 || st.Pending != 4 {
		t.Errorf("stats %+v", st)
	}
	if v := rdb.HGet(ctx, q.statsKey(), "requeued").Val(); v != "3" {
		t.Errorf("requeued counter %q", v)
	}
	// A retried item that fails again starts counting anew.
	its, _ := q.Lease(ctx, 2, time.Minute, 0)
	q.Complete(ctx, its[0])
	if out, _ := q.Fail(ctx, its[1], 2, "exit status 1: again"); out != Retried {
		t.Fatalf("a retried item failing once more with 2 attempts allowed: %v", out)
	}
	// And once done, its errors go.
	for {
		its, _ := q.Lease(ctx, 10, time.Minute, 0)
		if len(its) == 0 {
			break
		}
		q.Complete(ctx, its...)
	}
	if n := rdb.Exists(ctx, q.errorsKey(), q.attemptsKey()).Val(); n != 0 {
		t.Errorf("errors or attempts left behind by done items")
	}
}

func TestRetrySelectedItemsAndDryRun(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	seed(t, q, items(10)...)
	failAll(t, q, "boom")
	odd := func(it []byte) bool { return (it[len(it)-1]-'0')%2 == 1 }

	var would []string
	n, err := q.Retry(ctx, RetryOptions{Select: odd, DryRun: true, PageSize: 3,
		Moved: func(it []byte) error { would = append(would, string(it)); return nil }})
	if err != nil || n != 5 || len(would) != 5 || would[0] != "item-000001" || would[4] != "item-000009" {
		t.Fatalf("dry run = %d %v %v", n, would, err)
	}
	if st := mustStats(t, q); st.Failed != 10 || st.Pending != 0 {
		t.Fatalf("the dry run moved items: %+v", st)
	}

	n, err = q.Retry(ctx, RetryOptions{Select: odd, PageSize: 3})
	if err != nil || n != 5 {
		t.Fatalf("retry = %d %v", n, err)
	}
	if got := values2(listItems(t, q, Failed, ListOptions{})); fmt.Sprint(got) != "[item-000000 item-000002 item-000004 item-000006 item-000008]" {
		t.Errorf("still failed: %v", got)
	}
	if got := values2(listItems(t, q, Pending, ListOptions{})); fmt.Sprint(got) != "[item-000001 item-000003 item-000005 item-000007 item-000009]" {
		t.Errorf("pending: %v", got)
	}
	// Nothing selected: nothing moved.
	if n, err := q.Retry(ctx, RetryOptions{Select: func([]byte) bool { return false }}); err != nil || n != 0 {
		t.Errorf("retry of nothing = %d %v", n, err)
	}
}

// Duplicates in the failed list move as many times as they are there; items
// of any bytes move as they are.
func TestRetryDuplicatesAndBinaryItems(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	weird := "nul\x00 \xff\n"
	seed(t, q, "x", weird, "y", "x")
	failAll(t, q, "boom")
	n, err := q.Retry(ctx, RetryOptions{Select: func(it []byte) bool { return string(it) != "y" }})
	if err != nil || n != 3 {
		t.Fatalf("retry = %d, %v", n, err)
	}
	pending := values2(listItems(t, q, Pending, ListOptions{}))
	if len(pending) != 3 || pending[0] != "x" || pending[1] != weird || pending[2] != "x" {
		t.Fatalf("pending %q", pending)
	}
}

// Items dead-lettered while a retry runs are not part of it: a retry ends,
// even with workers failing items as fast as it moves them.
func TestRetryTakesOnlyTheItemsFailedWhenItStarted(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	seed(t, q, "a", "b", "c")
	failAll(t, q, "boom")
	i := 0
	n, err := q.Retry(ctx, RetryOptions{PageSize: 1, Moved: func([]byte) error {
		i++
		return rdb.LPush(ctx, q.failedKey(), fmt.Sprintf("new-%d", i)).Err()
	}})
	if err != nil || n != 3 {
		t.Fatalf("retry = %d, %v", n, err)
	}
	if got := values2(listItems(t, q, Failed, ListOptions{})); fmt.Sprint(got) != "[new-1 new-2 new-3]" {
		t.Errorf("failed list after the retry: %v", got)
	}
}

func TestRetryStopsAtAnErrorOfMoved(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	seed(t, q, items(5)...)
	failAll(t, q, "boom")
	stop := errors.New("stop")
	n, err := q.Retry(ctx, RetryOptions{PageSize: 2, Moved: func([]byte) error { return stop }})
	// The first page moved as a whole; it is counted up to the error.
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("retry = %d, %v", n, err)
	}
	if st := mustStats(t, q); st.Pending != 2 || st.Failed != 3 {
		t.Errorf("stats %+v", st)
	}
}

// Workers dead-letter a third of the items on their first attempt while
// retries put them back, concurrently. At every instant Redis holds each
// item exactly once (pending, processing, failed, or counted as completed),
// and at the end each was completed once.
func TestRetryIsAtomicUnderConcurrentWorkers(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	const n = 3000
	all := items(n)
	seed(t, q, all...)

	var mu sync.Mutex
	seen := map[string]int{}
	completed := map[string]int{}
	var deadLettered atomic.Int64
	done := make(chan struct{})
	var workers sync.WaitGroup
	for w := range 4 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			wq := q.WithWorker(fmt.Sprintf("pod-%d", w))
			for {
				select {
				case <-done:
					return
				default:
				}
				its, err := wq.Lease(ctx, 8, time.Minute, 0)
				if err != nil {
					t.Error(err)
					return
				}
				for _, it := range its {
					mu.Lock()
					seen[string(it.Value)]++
					first := seen[string(it.Value)] == 1
					mu.Unlock()
					if first && it.Value[len(it.Value)-1]%3 == 0 {
						if out, err := wq.Fail(ctx, it, 1, "first attempt fails"); err != nil || out != DeadLettered {
							t.Errorf("fail: %v %v", out, err)
						}
						deadLettered.Add(1)
						continue
					}
					if got, err := wq.Complete(ctx, it); err != nil || got != 1 {
						t.Errorf("complete %s = %d, %v", it.Value, got, err)
					}
					mu.Lock()
					completed[string(it.Value)]++
					mu.Unlock()
				}
			}
		}()
	}

	// Snapshots, each taken atomically, must always add up to n.
	snapshot := func() (int64, int64) {
		var pending, processing, failed *redis.IntCmd
		var doneCount *redis.StringCmd
		_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			pending, processing, failed = p.LLen(ctx, q.Name()), p.LLen(ctx, q.processingKey()), p.LLen(ctx, q.failedKey())
			doneCount = p.HGet(ctx, q.statsKey(), "completed")
			return nil
		})
		if err != nil && err != redis.Nil {
			t.Fatal(err)
		}
		var c int64
		fmt.Sscan(doneCount.Val(), &c)
		return pending.Val() + processing.Val() + failed.Val() + c, c
	}
	var retried int64
	snapshots := 0
	deadline := time.Now().Add(2 * time.Minute)
	for {
		m, err := q.Retry(ctx, RetryOptions{PageSize: 16})
		if err != nil {
			t.Fatal(err)
		}
		retried += m
		total, c := snapshot()
		snapshots++
		if total != n {
			t.Fatalf("snapshot %d: %d items in Redis (pending+processing+failed+completed), want %d", snapshots, total, n)
		}
		if c == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not done after 2 minutes: %d of %d completed", c, n)
		}
	}
	close(done)
	workers.Wait()

	for _, it := range all {
		if completed[it] != 1 {
			t.Errorf("%s completed %d times", it, completed[it])
		}
	}
	want := int64(0)
	for _, it := range all {
		if it[len(it)-1]%3 == 0 {
			want++
		}
	}
	if retried != deadLettered.Load() || retried != want {
		t.Errorf("retried %d, dead-lettered %d, want %d each", retried, deadLettered.Load(), want)
	}
	t.Logf("%d items, %d dead-lettered and retried while 4 workers ran, %d atomic snapshots all consistent", n, retried, snapshots)
	if its := listItems(t, q, Failed, ListOptions{}); len(its) != 0 {
		t.Errorf("failed items left: %v", values2(its))
	}
}

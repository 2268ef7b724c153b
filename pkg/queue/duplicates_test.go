package queue

import (
	"context"
	"testing"
	"time"
)

func leaseOne(t *testing.T, q *Queue, lease time.Duration) Item {
	t.Helper()
	its, err := q.Lease(context.Background(), 1, lease, 0)
	if err != nil || len(its) != 1 {
		t.Fatalf("lease: %v %v", its, err)
	}
	return its[0]
}

// Equal items are as many items: each copy is settled by the worker that
// leased it, once, however the workers' calls interleave, and nothing is
// left in progress for reclaim to run again.
func TestEqualItemsAreEachSettledByTheWorkerThatLeasedThem(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	name := newQueue(t, rdb).Name()
	seed(t, New(rdb, name), "a", "a", "a", "a", "b")
	w1, w2, w3 := New(rdb, name), New(rdb, name), New(rdb, name)

	a1, a2 := leaseOne(t, w1, time.Minute), leaseOne(t, w2, time.Minute)
	// w1's copy was leased first; its worker finishes first.
	if n, err := w1.Complete(ctx, a1); n != 1 || err != nil {
		t.Fatalf("w1 complete = %d, %v", n, err)
	}
	if held, err := w2.Extend(ctx, time.Minute, a2); err != nil || !held[0] {
		t.Fatalf("w2 lost its copy: %v %v", held, err)
	}
	a3 := leaseOne(t, w3, time.Minute)
	if out, err := w2.Fail(ctx, a2, 3, "boom"); out != Retried || err != nil {
		t.Fatalf("w2 fail = %v, %v", out, err)
	}
	if n, err := w3.Release(ctx, a3); n != 1 || err != nil {
		t.Fatalf("w3 release = %d, %v", n, err)
	}
	// One worker with several copies at once.
	its, err := w1.Lease(ctx, 10, time.Minute, 0)
	if err != nil || len(its) != 4 {
		t.Fatalf("lease: %v %v", values(its), err)
	}
	if n, err := w1.Complete(ctx, its...); n != 4 || err != nil {
		t.Fatalf("w1 complete of %v = %d, %v", values(its), n, err)
	}
	if n, err := w1.Reclaim(ctx, 0); n != 0 || err != nil {
		t.Fatalf("reclaim = %d, %v", n, err)
	}
	st := mustStats(t, w1)
	if st.Done != 5 || st.Completed != 5 || st.Pending+st.Processing+st.Expired != 0 || st.Reclaimed != 0 {
		t.Fatalf("stats %+v", st)
	}
	if n := rdb.Exists(ctx, w1.holdersKey()).Val(); n != 0 {
		t.Fatalf("holders left: %v", rdb.HGetAll(ctx, w1.holdersKey()).Val())
	}
}

// Of two workers holding equal items, reclaim takes back only the copy of
// the one that is gone, and the live one still completes its own.
func TestReclaimTakesBackOnlyTheCopyOfTheGoneWorker(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	name := newQueue(t, rdb).Name()
	seed(t, New(rdb, name), "a", "a")
	live, gone := New(rdb, name), New(rdb, name)
	mine := leaseOne(t, live, time.Minute)
	leaseOne(t, gone, time.Minute)
	// gone stops heartbeating; the shared lease key is the live worker's.
	if err := gone.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if held, err := live.Extend(ctx, time.Minute, mine); err != nil || !held[0] {
		t.Fatalf("extend: %v %v", held, err)
	}
	if st := mustStats(t, live); st.Leased != 1 || st.Expired != 1 {
		t.Fatalf("stats %+v, want one copy leased and one expired", st)
	}
	reclaimed := 0
	for range 2 { // the first look only marks it
		n, err := live.Reclaim(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		reclaimed += n
	}
	if reclaimed != 1 {
		t.Fatalf("reclaimed %d copies, want the gone worker's one", reclaimed)
	}
	if n, err := live.Complete(ctx, mine); n != 1 || err != nil {
		t.Fatalf("the live worker's complete = %d, %v", n, err)
	}
	again := leaseOne(t, live, time.Minute)
	if n, err := live.Complete(ctx, again); n != 1 || err != nil {
		t.Fatalf("complete of the reclaimed copy = %d, %v", n, err)
	}
	if st := mustStats(t, live); st.Done != 2 || st.Pending+st.Processing != 0 || st.Reclaimed != 1 {
		t.Fatalf("stats %+v", st)
	}
}

package queue

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestCompleteAndLeaseDoesBothInOneStep(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	seed(t, q, items(5)...)

	n, first, err := q.CompleteAndLease(ctx, nil, 2, time.Minute)
	if err != nil || n != 0 || !slices.Equal(values(first), []string{"item-000000", "item-000001"}) {
		t.Fatalf("first: %d %v %v", n, values(first), err)
	}
	for _, it := range first {
		if got := rdb.Get(ctx, q.LeaseKey(it.Value)).Val(); got != q.Session() {
			t.Fatalf("lease key of %s holds %q", it.Value, got)
		}
	}
	n, next, err := q.CompleteAndLease(ctx, first, 3, time.Minute)
	if err != nil || n != 2 || len(next) != 3 {
		t.Fatalf("second: %d %v %v", n, values(next), err)
	}
	for _, it := range first {
		if rdb.Exists(ctx, q.LeaseKey(it.Value)).Val() != 0 {
			t.Fatalf("lease key of completed %s remains", it.Value)
		}
	}
	// An item another worker took over is left to it.
	other := New(rdb, q.Name())
	rdb.HSet(ctx, q.holdersKey(), string(next[0].Value), other.Session())
	n, rest, err := q.CompleteAndLease(ctx, next, 1, time.Minute)
	if err != nil || n != 2 || len(rest) != 0 {
		t.Fatalf("third: %d %v %v", n, values(rest), err)
	}
	st := mustStats(t, q)
	if st.Pending != 0 || st.Processing != 1 || st.Completed != 4 {
		t.Fatalf("stats %+v", st)
	}
}

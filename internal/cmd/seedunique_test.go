package cmd

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// The "seed dup a b a c b a", "seed dup a", "seed dup --unique a d":
// --unique means unique in the queue, whether an item waits, is in progress
// or has failed, not only within one invocation.
func TestSeedUniqueSkipsItemsTheQueueHoldsAlready(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	mustRun(t, "", url, "seed", q, "a", "b", "a", "c", "b", "a")
	mustRun(t, "", url, "seed", q, "a")
	r := mustRun(t, "", url, "seed", q, "--unique", "a", "d", "d")
	if !strings.Contains(r.out, "seeded 1 items") || !strings.Contains(r.out, "skipped 1 duplicates, skipped 1 already in the queue") {
		t.Fatalf("stdout %q", r.out)
	}
	// In progress and failed items count too.
	ctx := context.Background()
	w := queue.New(redisClient(t), q)
	its, err := w.Lease(ctx, 8, time.Minute, 0)
	if err != nil || len(its) != 8 {
		t.Fatalf("lease %v %v", its, err)
	}
	for _, it := range its {
		if string(it.Value) == "c" {
			if _, err := w.Fail(ctx, it, 1, "boom"); err != nil {
				t.Fatal(err)
			}
		}
	}
	r = mustRun(t, "", url, "seed", q, "--unique", "c", "d", "e")
	if !strings.Contains(r.out, "seeded 1 items") || !strings.Contains(r.out, "skipped 2 already in the queue") {
		t.Fatalf("stdout %q", r.out)
	}
}

// --skip counts the items a run consumed, those it found in the queue
// included, so that a continued --unique run neither repeats nor drops one.
func TestSeedConsumedCountsItemsFoundInTheQueue(t *testing.T) {
	// Added: a (1), then x found in the queue, b (2), y and z found, c (3).
	r := &seedRun{queuedAt: []int64{1, 2, 2}}
	for pushed, want := range map[int64]int64{0: 0, 1: 2, 2: 5, 3: 6} {
		if got := r.consumed(pushed); got != want {
			t.Errorf("consumed(%d) = %d, want %d", pushed, got, want)
		}
	}
}

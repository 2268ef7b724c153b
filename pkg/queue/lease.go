package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxBlock bounds one blocking wait, so that a cancelled context is noticed
// promptly even though Redis' blocking commands do not watch it.
const maxBlock = time.Second

// Lease takes up to n items off the queue for this session, each leased for
// lease. When the queue is empty it waits up to wait for items to arrive
// (without polling Redis) and returns no items if none came.
func (q *Queue) Lease(ctx context.Context, n int, lease, wait time.Duration) ([]Item, error) {
	if n < 1 {
		n = 1
	}
	deadline := time.Now().Add(wait)
	for {
		items, err := q.leaseNow(ctx, n, lease)
		if err != nil || len(items) > 0 {
			return items, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		if err := q.awaitItems(ctx, min(left, maxBlock)); err != nil {
			return nil, err
		}
	}
}

// awaitItems blocks until the queue is not empty or timeout passes. BLMOVE
// from the right end back onto the right end leaves the list exactly as it
// was, so nothing is taken: the lease itself happens atomically afterwards.
func (q *Queue) awaitItems(ctx context.Context, timeout time.Duration) error {
	// go-redis rounds blocking timeouts to whole seconds; Redis takes fractions.
	secs := strconv.FormatFloat(max(timeout.Seconds(), 0.01), 'f', 3, 64)
	err := q.rdb.Do(ctx, "BLMOVE", q.name, q.name, "RIGHT", "RIGHT", secs).Err()
	if errors.Is(err, redis.Nil) {
		return ctx.Err()
	}
	return q.explain(err)
}

func (q *Queue) leaseNow(ctx context.Context, n int, lease time.Duration) ([]Item, error) {
	s := q.stream()
	defer q.put(s)
	keys := []string{q.name, q.processingKey(), q.holdersKey(), q.workersKey(), q.leasedAtKey()}
	vals, err := s.run(ctx, leaseScript, keys, q.session, n, lease.Milliseconds()).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("lease from queue %q: %w", q.name, q.explain(err))
	}
	return q.setLeaseKeys(ctx, vals, lease)
}

// setLeaseKeys turns leased values into items and sets rediswq.py's lease
// keys for them.
func (q *Queue) setLeaseKeys(ctx context.Context, vals []string, lease time.Duration) ([]Item, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	items := make([]Item, len(vals))
	pipe := q.rdb.Pipeline()
	for i, v := range vals {
		items[i] = q.item(v)
		// rediswq.py's lease key, for compatibility with anything that reads
		// it; our own reclaim already sees the item as held via Q:holders.
		pipe.Set(ctx, items[i].leaseKey, q.session, lease)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return items, fmt.Errorf("set leases in queue %q: %w", q.name, err)
	}
	return items, nil
}

// Complete marks items done. It returns how many were still this session's
// (or nobody's); an item whose lease was lost and taken over by another
// worker is left to that worker.
func (q *Queue) Complete(ctx context.Context, items ...Item) (int, error) {
	s := q.stream()
	defer q.put(s)
	return s.Complete(ctx, items...)
}

// Complete is Queue.Complete, as a call of the stream.
func (s *Stream) Complete(ctx context.Context, items ...Item) (int, error) {
	q := s.q
	if len(items) == 0 {
		return 0, nil
	}
	keys := make([]string, 0, 8+len(items))
	keys = append(keys, q.name, q.processingKey(), q.holdersKey(), q.unleasedKey(), q.attemptsKey(), q.statsKey(),
		q.errorsKey(), q.leasedAtKey())
	args := make([]any, 0, 1+len(items))
	args = append(args, q.session)
	for _, it := range items {
		keys = append(keys, it.leaseKey)
		args = append(args, it.Value)
	}
	n, err := s.run(ctx, completeScript, keys, args...).Int()
	if err != nil {
		return 0, fmt.Errorf("complete items of queue %q: %w", q.name, q.explain(err))
	}
	return n, nil
}

// CompleteAndLease is Complete(done...) followed by a Lease of up to n items
// that does not wait, in one atomic round trip (plus the one that sets
// rediswq.py's lease keys): for a worker going straight on to its next
// items. It returns how many of done were completed, as Complete does, and
// the leased items.
func (q *Queue) CompleteAndLease(ctx context.Context, done []Item, n int, lease time.Duration) (int, []Item, error) {
	s := q.stream()
	defer q.put(s)
	return s.CompleteAndLease(ctx, done, n, lease)
}

// CompleteAndLease is Queue.CompleteAndLease, as a call of the stream. Its
// items are this stream's caller's from the moment Redis ran it, even
// when the reply is lost: send it again until it succeeds, or they stay
// leased to this session (see Stream).
func (s *Stream) CompleteAndLease(ctx context.Context, done []Item, n int, lease time.Duration) (int, []Item, error) {
	q := s.q
	if n < 1 {
		n = 1
	}
	keys := make([]string, 0, 9+len(done))
	keys = append(keys, q.name, q.processingKey(), q.holdersKey(), q.unleasedKey(), q.attemptsKey(), q.statsKey(),
		q.errorsKey(), q.leasedAtKey(), q.workersKey())
	args := make([]any, 0, 3+len(done))
	args = append(args, q.session, n, lease.Milliseconds())
	for _, it := range done {
		keys = append(keys, it.leaseKey)
		args = append(args, it.Value)
	}
	reply, err := s.run(ctx, completeLeaseScript, keys, args...).Slice()
	if err != nil {
		return 0, nil, fmt.Errorf("complete and lease items of queue %q: %w", q.name, q.explain(err))
	}
	if len(reply) == 0 {
		return 0, nil, fmt.Errorf("complete and lease items of queue %q: empty reply", q.name)
	}
	completed, _ := reply[0].(int64)
	vals := make([]string, 0, len(reply)-1)
	for _, v := range reply[1:] {
		s, ok := v.(string)
		if !ok {
			return int(completed), nil, fmt.Errorf("complete and lease items of queue %q: unexpected reply %T", q.name, v)
		}
		vals = append(vals, s)
	}
	items, err := q.setLeaseKeys(ctx, vals, lease)
	return int(completed), items, err
}

// FailOutcome says what became of a failed item.
type FailOutcome string

const (
	// Retried items went back to the end of the queue.
	Retried FailOutcome = "retry"
	// DeadLettered items failed too often and moved to the failed list.
	DeadLettered FailOutcome = "dead"
	// Lost items were no longer this session's: their lease had passed to another worker.
	Lost FailOutcome = "lost"
)

// MaxErrors is how many of an item's last failed attempts its errors keep.
const MaxErrors = 5

// maxReason bounds the error kept for one attempt.
const maxReason = 4096

// Fail records a failed attempt at item. Once it has failed maxAttempts
// times it is moved to the dead-letter list, else it is queued again behind
// the pending items. reason is kept among the item's errors (the last
// MaxErrors attempts), with the time and this worker's name.
func (q *Queue) Fail(ctx context.Context, item Item, maxAttempts int, reason string) (FailOutcome, error) {
	s := q.stream()
	defer q.put(s)
	return s.Fail(ctx, item, maxAttempts, reason)
}

// Fail is Queue.Fail, as a call of the stream.
func (s *Stream) Fail(ctx context.Context, item Item, maxAttempts int, reason string) (FailOutcome, error) {
	q := s.q
	if maxAttempts < 1 {
		maxAttempts = 1
	}
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	keys := []string{q.name, q.processingKey(), q.failedKey(), q.holdersKey(), q.attemptsKey(), q.statsKey(),
		q.errorsKey(), q.leasedAtKey(), item.leaseKey}
	out, err := s.run(ctx, failScript, keys, q.session, item.Value, maxAttempts,
		EscapeInvalidUTF8(reason), EscapeInvalidUTF8(q.workerName()), MaxErrors).Text()
	if err != nil {
		return "", fmt.Errorf("fail item of queue %q: %w", q.name, q.explain(err))
	}
	return FailOutcome(out), nil
}

// Release gives items back to the queue at once, to be taken next, without
// counting an attempt: for a worker that is shutting down.
func (q *Queue) Release(ctx context.Context, items ...Item) (int, error) {
	s := q.stream()
	defer q.put(s)
	return s.Release(ctx, items...)
}

// Release is Queue.Release, as a call of the stream.
func (s *Stream) Release(ctx context.Context, items ...Item) (int, error) {
	q := s.q
	if len(items) == 0 {
		return 0, nil
	}
	keys := []string{q.name, q.processingKey(), q.holdersKey(), q.leasedAtKey()}
	args := []any{q.session}
	for _, it := range items {
		keys = append(keys, it.leaseKey)
		args = append(args, it.Value)
	}
	n, err := s.run(ctx, releaseScript, keys, args...).Int()
	if err != nil {
		return 0, fmt.Errorf("release items of queue %q: %w", q.name, q.explain(err))
	}
	return n, nil
}

// Extend renews the leases of items for another lease, and this session's
// liveness. It reports, per item, whether it is still this session's.
func (q *Queue) Extend(ctx context.Context, lease time.Duration, items ...Item) ([]bool, error) {
	keys := []string{q.holdersKey(), q.workersKey()}
	args := []any{q.session, lease.Milliseconds()}
	for _, it := range items {
		keys = append(keys, it.leaseKey)
		args = append(args, it.Value)
	}
	vals, err := extendScript.Run(ctx, q.rdb, keys, args...).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("extend leases in queue %q: %w", q.name, q.explain(err))
	}
	held := make([]bool, len(vals))
	for i, v := range vals {
		held[i] = v == 1
	}
	return held, nil
}

// DefaultReclaimGrace is how long Reclaim must see an item without a lease
// and without a live worker before it takes the item back: long enough to
// cover a docs worker between its BRPOPLPUSH and its SETEX, short enough
// that the item of a crashed worker is soon pending again.
const DefaultReclaimGrace = 10 * time.Second

// maxReclaimScan bounds how much of the processing list one Reclaim looks at;
// the list holds what workers are busy with, so it is rarely near this.
const maxReclaimScan = 10000

// Reclaim returns to the queue the items whose workers are gone: no lease key
// and no live leasing worker, observed so for at least grace across calls.
// The first call that sees such an item only marks it; call Reclaim again
// after grace has passed. Reclaimed items are taken next.
func (q *Queue) Reclaim(ctx context.Context, grace time.Duration) (int, error) {
	// The oldest leases are at the right end.
	vals, err := q.rdb.LRange(ctx, q.processingKey(), -maxReclaimScan, -1).Result()
	if err != nil {
		return 0, fmt.Errorf("reclaim in queue %q: %w", q.name, q.explain(err))
	}
	whole := "1"
	if len(vals) == maxReclaimScan {
		whole = "0"
	}
	keys := make([]string, 0, 7+len(vals))
	keys = append(keys, q.name, q.processingKey(), q.holdersKey(), q.workersKey(), q.unleasedKey(), q.statsKey(), q.leasedAtKey())
	args := make([]any, 0, 2+len(vals))
	args = append(args, grace.Milliseconds(), whole)
	for _, v := range vals {
		keys = append(keys, q.LeaseKey([]byte(v)))
		args = append(args, v)
	}
	s := q.stream()
	defer q.put(s)
	n, err := s.run(ctx, reclaimScript, keys, args...).Int()
	if err != nil {
		return 0, fmt.Errorf("reclaim in queue %q: %w", q.name, q.explain(err))
	}
	return n, nil
}

// Leave says this session no longer works on the queue, so that it stops
// counting among the live workers at once rather than when its lease would
// have run out. Items it still holds keep their leases.
func (q *Queue) Leave(ctx context.Context) error {
	return q.explain(q.rdb.ZRem(ctx, q.workersKey(), q.session).Err())
}

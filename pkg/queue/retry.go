package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
)

// RetryOptions choose the failed items that Retry puts back.
type RetryOptions struct {
	// Select reports whether to retry an item; nil retries them all.
	Select func(item []byte) bool
	// DryRun moves nothing: Retry only reports what it would move.
	DryRun bool
	// Moved is called with each item moved (or, with DryRun, that would
	// be), oldest failure first. An error stops Retry; the items moved
	// until then stay moved.
	Moved func(item []byte) error
	// PageSize is how many failed items one round trip reads and moves;
	// default DefaultPageSize.
	PageSize int
}

// Retry moves failed items back to the queue, behind the pending items,
// with their attempts reset (their errors are kept), and returns how many it
// moved. Each page of items moves in one atomic step, an item at a time
// from the failed list to the queue: whatever happens, an item is in one of
// them, never in both or neither. Items that fail again while Retry runs are
// not retried a second time.
func (q *Queue) Retry(ctx context.Context, o RetryOptions) (int64, error) {
	page := int64(o.PageSize)
	if page <= 0 {
		page = DefaultPageSize
	}
	// Only the items failed when Retry started: the oldest are at the
	// right end, and new ones are pushed on the left.
	total, err := q.rdb.LLen(ctx, q.failedKey()).Result()
	if err != nil {
		return 0, fmt.Errorf("retry items of queue %q: %w", q.name, q.explain(err))
	}
	marker, err := newMarker()
	if err != nil {
		return 0, err
	}
	var moved int64
	// kept counts the items at the right end that stay; scanned all that
	// were looked at.
	for kept, scanned := int64(0), int64(0); scanned < total; {
		n := min(page, total-scanned)
		vals, err := q.rdb.LRange(ctx, q.failedKey(), -(kept + n), -(kept + 1)).Result()
		if err != nil {
			return moved, fmt.Errorf("retry items of queue %q: %w", q.name, q.explain(err))
		}
		if len(vals) == 0 {
			break
		}
		slices.Reverse(vals)
		scanned += int64(len(vals))
		args := []any{marker}
		var chosen []string
		for i, v := range vals {
			if o.Select != nil && !o.Select([]byte(v)) {
				continue
			}
			args = append(args, -(kept + int64(i) + 1), v)
			chosen = append(chosen, v)
		}
		if o.DryRun {
			kept += int64(len(vals))
			for _, v := range chosen {
				moved++
				if err := call(o.Moved, v); err != nil {
					return moved, err
				}
			}
			continue
		}
		var flags []int64
		if len(chosen) > 0 {
			keys := []string{q.failedKey(), q.name, q.attemptsKey(), q.statsKey()}
			flags, err = q.retryPage(ctx, keys, args)
			if err != nil {
				return moved, fmt.Errorf("retry items of queue %q: %w", q.name, q.explain(err))
			}
		}
		kept += int64(len(vals))
		for i, v := range chosen {
			if flags[i] != 1 {
				continue
			}
			moved++
			kept--
			if err := call(o.Moved, v); err != nil {
				return moved, err
			}
		}
	}
	return moved, nil
}

// retryPage moves one page, once however often it is sent (see Stream): a
// page moved twice would move other copies of equal items, and report
// moved ones as not found, so that Retry would count them wrong and read
// its next pages at the wrong places.
func (q *Queue) retryPage(ctx context.Context, keys []string, args []any) ([]int64, error) {
	s := q.stream()
	defer q.put(s)
	return s.run(ctx, retryScript, keys, args...).Int64Slice()
}

func call(f func([]byte) error, v string) error {
	if f == nil {
		return nil
	}
	return f([]byte(v))
}

// newMarker is a value that no item of a queue will ever be.
func newMarker() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "\x00kubectl-workqueue retry " + hex.EncodeToString(b), nil
}

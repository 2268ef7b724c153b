package queue

import (
	"context"
	"fmt"
)

// valuesPage is how many items EachValue reads per round trip.
const valuesPage = 10000

// EachValue calls fn with the value of every item the queue holds: pending,
// in progress and failed, a page at a time. It reads a moving queue: an item
// that moves between two lists while it reads may be seen twice or not at
// all.
func (q *Queue) EachValue(ctx context.Context, fn func(value string)) error {
	for _, key := range []string{q.name, q.processingKey(), q.failedKey()} {
		for start := int64(0); ; start += valuesPage {
			vals, err := q.rdb.LRange(ctx, key, start, start+valuesPage-1).Result()
			if err != nil {
				return fmt.Errorf("read the items of queue %q: %w", q.name, q.explain(err))
			}
			for _, v := range vals {
				fn(v)
			}
			if len(vals) < valuesPage {
				break
			}
		}
	}
	return nil
}

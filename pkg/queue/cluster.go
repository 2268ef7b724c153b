package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// ErrNoHashTag is returned for a queue whose name has no hash tag in a
// Redis Cluster, where its keys would be spread over several hash slots:
// its scripts, which move items between its keys atomically, cannot run.
var ErrNoHashTag = errors.New("queue name needs a hash tag in a Redis Cluster")

// HashTagged reports whether every key of the queue called name falls into
// one hash slot of a Redis Cluster: the name holds a hash tag, a non-empty
// {...} (Redis hashes only what is between the first { and the first }
// after it). Every key of a queue starts with its name, so the tag is the
// same for all of them.
func HashTagged(name string) bool {
	open := strings.IndexByte(name, '{')
	if open < 0 {
		return false
	}
	end := strings.IndexByte(name[open+1:], '}')
	return end > 0
}

// Check reports what keeps the queue from working in its Redis before
// anything is written: a name that ValidateName refuses, or in a Redis
// Cluster a name without a hash tag (ErrNoHashTag, with the fix). It makes
// no round trip.
func (q *Queue) Check() error {
	if err := ValidateName(q.name); err != nil {
		return err
	}
	if q.Cluster() && !HashTagged(q.name) {
		return q.noHashTag()
	}
	return nil
}

// Cluster reports whether q's client is a Redis Cluster's, which follows
// the cluster's redirections (MOVED, ASK) to the node that holds the queue.
func (q *Queue) Cluster() bool {
	_, ok := q.rdb.(*redis.ClusterClient)
	return ok
}

func (q *Queue) noHashTag() error {
	return fmt.Errorf("%w: queue %q would have its keys in different hash slots, so it cannot work in a Redis Cluster: use a hash tag, e.g. {%s}", ErrNoHashTag, q.name, strings.Trim(q.name, "{}"))
}

// scanKeys calls each for every key matching pattern: on every master of a
// Redis Cluster (SCAN sees only the keys of the node it runs on), else on
// the one server. each is never called concurrently.
func scanKeys(ctx context.Context, rdb redis.UniversalClient, pattern string, each func(key string)) error {
	scan := func(ctx context.Context, c redis.Cmdable, each func(string)) error {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			each(iter.Val())
		}
		return iter.Err()
	}
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		return scan(ctx, rdb, each)
	}
	var mu sync.Mutex
	return cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		return scan(ctx, node, func(key string) {
			mu.Lock()
			defer mu.Unlock()
			each(key)
		})
	})
}

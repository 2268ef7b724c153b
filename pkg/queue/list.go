package queue

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
)

// listMarkers are the key suffixes that reveal a queue: Q:stats exists from
// the first seeding on (this package's queues), Q:processing while a worker
// holds an item (rediswq.py's queues too, which have no Q:stats).
var listMarkers = []string{":stats", ":processing"}

// List returns the names of the queues in rdb, sorted: those that were ever
// seeded by this package and those with items being worked on. A queue that
// only holds pending items pushed by other tools (e.g. redis-cli RPUSH) has
// no key to tell it from any other list and is not found.
//
// It SCANs the keyspace (of every master of a Redis Cluster), so it never
// blocks Redis, and its cost grows with the number of keys.
func List(ctx context.Context, rdb redis.UniversalClient) ([]string, error) {
	seen := map[string]bool{}
	for _, suffix := range listMarkers {
		err := scanKeys(ctx, rdb, "*"+suffix, func(key string) {
			if name := strings.TrimSuffix(key, suffix); name != "" {
				seen[name] = true
			}
		})
		if err != nil {
			return nil, fmt.Errorf("list queues: %w", err)
		}
	}
	names := make([]string, 0, len(seen))
	for name := range seen {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

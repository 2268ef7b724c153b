package queue

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Stats is a snapshot of a queue. The JSON names are a stable interface.
type Stats struct {
	Queue string `json:"queue"`
	// Pending items wait in the queue.
	Pending int64 `json:"pending"`
	// Processing items are leased by a worker: Leased of them have a live
	// lease, Expired have none and will be reclaimed.
	Processing int64 `json:"processing"`
	Leased     int64 `json:"leased"`
	Expired    int64 `json:"expired"`
	// Done items have been worked on and left the queue.
	Done int64 `json:"done"`
	// Failed items failed too often and wait in the dead-letter list.
	Failed int64 `json:"failed"`
	// Workers is the number of live workers: those of this package that
	// heartbeat, plus rediswq.py sessions holding a live lease.
	Workers int64 `json:"workers"`
	// Counters since the queue was first seeded.
	Seeded    int64 `json:"seeded"`
	Completed int64 `json:"completed"`
	Retried   int64 `json:"retried"`
	Reclaimed int64 `json:"reclaimed"`
	// Epoch is the queue's identity, set when it is first seeded through
	// this package; "" for a queue that never was (or was filled by other
	// tools). A queue that was being worked on and now has no epoch, or
	// another one, was lost with Redis' data.
	Epoch string `json:"epoch,omitempty"`
	// Time is when Redis took the snapshot.
	Time time.Time `json:"time"`
}

// Epoch reads the queue's identity (see Stats.Epoch) in one round trip.
func (q *Queue) Epoch(ctx context.Context) (string, error) {
	epoch, err := q.rdb.HGet(ctx, q.metaKey(), "epoch").Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the identity of queue %q: %w", q.name, q.explain(err))
	}
	return epoch, nil
}

// Stats reads the queue's state in two round trips, whatever its length:
// the pending list is only counted, never read.
func (q *Queue) Stats(ctx context.Context) (*Stats, error) {
	pipe := q.rdb.Pipeline()
	now := pipe.Time(ctx)
	typ := pipe.Type(ctx, q.name)
	pending := pipe.LLen(ctx, q.name)
	processing := pipe.LRange(ctx, q.processingKey(), -maxReclaimScan, -1)
	processingLen := pipe.LLen(ctx, q.processingKey())
	failed := pipe.LLen(ctx, q.failedKey())
	counters := pipe.HGetAll(ctx, q.statsKey())
	epoch := pipe.HGet(ctx, q.metaKey(), "epoch")
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, fmt.Errorf("read queue %q: %w", q.name, q.explain(err))
	}
	if t := typ.Val(); t != "none" && t != "list" {
		return nil, fmt.Errorf("%w: key %q holds a %s, not a list: is %q really a work queue?", ErrWrongType, q.name, t, q.name)
	}
	s := &Stats{
		Queue:      q.name,
		Pending:    pending.Val(),
		Processing: processingLen.Val(),
		Failed:     failed.Val(),
		Epoch:      epoch.Val(),
		Time:       now.Val(),
	}
	c := counters.Val()
	s.Seeded = counter(c, "seeded")
	s.Completed = counter(c, "completed")
	s.Retried = counter(c, "retried")
	s.Reclaimed = counter(c, "reclaimed")
	// Items seeded through us that are nowhere any more are done. Items
	// pushed by other means (redis-cli rpush) are not counted in seeded, so
	// fall back to what our workers reported.
	if d := s.Seeded - s.Pending - s.Processing - s.Failed; s.Seeded > 0 && d >= 0 {
		s.Done = d
	} else {
		s.Done = s.Completed
	}

	// Second round trip: who holds the items in processing.
	items := processing.Val()
	pipe = q.rdb.Pipeline()
	var leases *redis.SliceCmd
	if len(items) > 0 {
		keys := make([]string, len(items))
		for i, v := range items {
			keys[i] = q.LeaseKey([]byte(v))
		}
		leases = pipe.MGet(ctx, keys...)
	}
	live := pipe.ZRangeByScore(ctx, q.workersKey(), &redis.ZRangeBy{Min: "(" + strconv.FormatInt(s.Time.UnixMilli(), 10), Max: "+inf"})
	var holders *redis.SliceCmd
	if len(items) > 0 {
		holders = pipe.HMGet(ctx, q.holdersKey(), items...)
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, fmt.Errorf("read leases of queue %q: %w", q.name, q.explain(err))
	}
	alive := map[string]bool{}
	for _, w := range live.Val() {
		alive[w] = true
	}
	sessions := maps.Clone(alive)
	// Equal items share their lease key and holders field: count each
	// item's copies together, as reclaim does.
	copies := map[string]int64{}
	for _, v := range items {
		copies[v]++
	}
	for i, v := range items {
		n, ok := copies[v]
		if !ok {
			continue // counted with its first copy
		}
		delete(copies, v)
		leasedBy, _ := leases.Val()[i].(string)
		h, _ := holders.Val()[i].(string)
		var held int64
		ours := false
		for _, s := range holdersOf(h) {
			if s == leasedBy {
				ours = true
			}
			if s == leasedBy || alive[s] {
				held++
			}
		}
		if leasedBy != "" {
			sessions[leasedBy] = true
			if !ours {
				held++
			}
		}
		held = min(held, n)
		s.Leased += held
		s.Expired += n - held
	}
	// Items beyond the scanned part of a huge processing list count as leased.
	s.Leased += s.Processing - int64(len(items))
	s.Workers = int64(len(sessions))
	return s, nil
}

// holdersOf splits a field of the holders hash: the sessions holding the
// copies of one item, one per copy (see lua/holders.lua).
func holdersOf(field string) []string { return strings.Fields(field) }

func counter(m map[string]string, k string) int64 {
	n, _ := strconv.ParseInt(m[k], 10, 64)
	return n
}

// EvictionPolicy is rdb's maxmemory-policy. Anything but "noeviction" lets a
// full Redis delete keys to make room, items and queues among them: they
// are then lost without a word. Redis that forbids CONFIG (managed
// services, often) still answers INFO, which is what is asked.
func EvictionPolicy(ctx context.Context, rdb redis.UniversalClient) (string, error) {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return "", fmt.Errorf("read Redis' memory settings: %w", err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "maxmemory_policy:"); ok {
			return v, nil
		}
	}
	return "", nil
}

// Delete removes every key of the queue and returns how many there were.
func (q *Queue) Delete(ctx context.Context) (int64, error) {
	keys := []string{q.name, q.processingKey(), q.failedKey(), q.statsKey(), q.metaKey(), q.holdersKey(),
		q.workersKey(), q.unleasedKey(), q.attemptsKey(), q.errorsKey(), q.leasedAtKey()}
	var n int64
	for _, pattern := range []string{q.leasePrefix() + "*", q.name + ":seed:*", q.replyPrefix() + "*"} {
		err := scanKeys(ctx, q.rdb, escapeGlob(pattern[:len(pattern)-1])+"*", func(key string) {
			keys = append(keys, key)
		})
		if err != nil {
			return 0, fmt.Errorf("delete queue %q: %w", q.name, err)
		}
	}
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), 1000)]
		keys = keys[len(chunk):]
		d, err := q.rdb.Del(ctx, chunk...).Result()
		if err != nil {
			return n, fmt.Errorf("delete queue %q: %w", q.name, err)
		}
		n += d
	}
	return n, nil
}

// escapeGlob quotes the characters SCAN's MATCH treats specially.
func escapeGlob(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(out)
}

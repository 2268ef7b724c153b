// Package rediswqbaseline is the benchmarks' baseline: a worker that speaks
// the protocol of the Kubernetes docs' rediswq.py one item at a time, and
// the scaffolding that seeds a queue and times workers draining it.
//
// It does not import pkg/queue, so that pkg/queue's own benchmarks can use
// it.
package rediswqbaseline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// leaseTTL is the lease a baseline worker takes on each item.
const leaseTTL = 10 * time.Second

// LeaseKey is the key rediswq.py uses for the lease of item on the queue
// name: name:leased_by_session:<sha224 hex of item>.
func LeaseKey(name, item string) string {
	sum := sha256.Sum224([]byte(item))
	return name + ":leased_by_session:" + hex.EncodeToString(sum[:])
}

// Work drains the queue name as the docs' worker.py with rediswq.py does,
// per item: empty() (two LLENs), lease (BRPOPLPUSH, SETEX), do, complete
// (LREM, DEL). block is how long BRPOPLPUSH waits for an item (worker.py:
// 2s); do may be nil. It returns how many items it completed when the queue
// and its processing list are both empty.
func Work(ctx context.Context, rdb *redis.Client, name string, block time.Duration, do func(item string) error) (int, error) {
	session := uuid.NewString()
	processing := name + ":processing"
	n := 0
	for {
		a := rdb.LLen(ctx, name).Val()
		b := rdb.LLen(ctx, processing).Val()
		if a == 0 && b == 0 {
			return n, nil
		}
		// go-redis rounds blocking timeouts up to whole seconds; Redis takes fractions.
		v, err := rdb.Do(ctx, "BRPOPLPUSH", name, processing, block.Seconds()).Text()
		if err == redis.Nil {
			continue
		}
		if err != nil {
			return n, err
		}
		key := LeaseKey(name, v)
		if err := rdb.SetEx(ctx, key, session, leaseTTL).Err(); err != nil {
			return n, err
		}
		if do != nil {
			if err := do(v); err != nil {
				return n, err
			}
		}
		rdb.LRem(ctx, processing, 0, v)
		rdb.Del(ctx, key, session)
		n++
	}
}

// Seeder is the part of pkg/queue's Seeder that Seed uses.
type Seeder interface {
	Add(ctx context.Context, item []byte) error
	Close(ctx context.Context) error
}

// Seed adds the items "item-0" … "item-<n-1>" with s and closes it.
func Seed(tb testing.TB, s Seeder, n int) {
	tb.Helper()
	ctx := context.Background()
	for i := range n {
		_ = s.Add(ctx, []byte("item-"+strconv.Itoa(i))) // Close reports a failed Add
	}
	if err := s.Close(ctx); err != nil {
		tb.Fatal(err)
	}
}

// Drain seeds items with s, then runs workers copies of work at once and
// returns how long they took (the seeding not counted). It fails tb unless
// the counts the copies return add up to items.
func Drain(tb testing.TB, s Seeder, items, workers int, work func() (int, error)) time.Duration {
	tb.Helper()
	Seed(tb, s, items)
	begin := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := work()
			if err != nil {
				tb.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	if total != items {
		tb.Fatalf("processed %d of %d", total, items)
	}
	return elapsed
}

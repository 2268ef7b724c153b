package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// benchPoll is how long an idle worker of either kind waits before it looks
// again whether the queue has drained. rediswq.py's worker.py blocks for 2s
// (pkg/queue's benchmark for 1s); the drain's tail would then dwarf the
// work, so both kinds look often here.
const benchPoll = 50 * time.Millisecond

// docsWorker does per item what the docs' worker.py with rediswq.py does:
// empty() (two LLENs), lease (BRPOPLPUSH, SETEX), complete (LREM, DEL). It is
// pkg/queue's benchmark baseline.
func docsWorker(ctx context.Context, rdb *redis.Client, name string, work func()) (int, error) {
	q := queue.New(rdb, name)
	n := 0
	for {
		a := rdb.LLen(ctx, name).Val()
		b := rdb.LLen(ctx, name+":processing").Val()
		if a == 0 && b == 0 {
			return n, nil
		}
		// go-redis rounds blocking timeouts up to whole seconds; Redis takes fractions.
		v, err := rdb.Do(ctx, "BRPOPLPUSH", name, name+":processing", benchPoll.Seconds()).Text()
		if err == redis.Nil {
			continue
		}
		if err != nil {
			return n, err
		}
		key := q.LeaseKey([]byte(v))
		if err := rdb.SetEx(ctx, key, q.Session(), 10*time.Second).Err(); err != nil {
			return n, err
		}
		work()
		rdb.LRem(ctx, name+":processing", 0, v)
		rdb.Del(ctx, key, q.Session())
		n++
	}
}

// drainWith seeds items and times workers draining them.
func drainWith(b *testing.B, rdb *redis.Client, items, workers int, work func(ctx context.Context, name string) (int, error)) time.Duration {
	ctx := context.Background()
	name := fmt.Sprintf("bench-%d", queueSeq.Add(1))
	s := queue.New(rdb, name).NewSeeder(queue.SeedOptions{})
	for i := range items {
		_ = s.Add(ctx, []byte("item-"+strconv.Itoa(i)))
	}
	if err := s.Close(ctx); err != nil {
		b.Fatal(err)
	}
	begin := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := work(ctx, name)
			if err != nil {
				b.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	if total != items {
		b.Fatalf("processed %d of %d", total, items)
	}
	_, _ = queue.New(rdb, name).Delete(ctx)
	return elapsed
}

// BenchmarkRun drains a queue with 4 workers (each its own session, as 4
// pods would be) and an empty handler, against 4 rediswq.py-protocol
// workers in the same run, and reports both rates and their ratio.
func BenchmarkRun(b *testing.B) {
	rdb := testClient(b)
	const items, workers = 20000, 4
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, prefetch := range []int{0, 1, 16} { // 0: adaptive, the default
		b.Run(fmt.Sprintf("workers=%d/prefetch=%d", workers, prefetch), func(b *testing.B) {
			var ours, base time.Duration
			for range b.N {
				base += drainWith(b, rdb, items, workers, func(ctx context.Context, name string) (int, error) {
					return docsWorker(ctx, rdb, name, func() {})
				})
				ours += drainWith(b, rdb, items, workers, func(ctx context.Context, name string) (int, error) {
					sum, err := Run(ctx, queue.New(rdb, name), func(context.Context, []byte) error { return nil },
						Options{Prefetch: prefetch, PollInterval: benchPoll, Log: quiet})
					return sum.Done, err
				})
			}
			b.ReportMetric(float64(items*b.N)/ours.Seconds(), "items/s")
			b.ReportMetric(float64(items*b.N)/base.Seconds(), "rediswq-items/s")
			b.ReportMetric(base.Seconds()/ours.Seconds(), "speedup")
		})
	}
}

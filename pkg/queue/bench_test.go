package queue

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// docsWorker does per item exactly what the docs' worker.py with rediswq.py
// does: empty() (two LLENs), lease (BRPOPLPUSH, SETEX), complete (LREM, DEL).
func docsWorker(ctx context.Context, rdb *redis.Client, name string) (int, error) {
	q := New(rdb, name)
	n := 0
	for {
		a := rdb.LLen(ctx, name).Val()
		b := rdb.LLen(ctx, name+":processing").Val()
		if a == 0 && b == 0 {
			return n, nil
		}
		v, err := rdb.BRPopLPush(ctx, name, name+":processing", time.Second).Result()
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
		rdb.LRem(ctx, name+":processing", 0, v)
		rdb.Del(ctx, key, q.Session())
		n++
	}
}

// ourWorker leases a batch, and completes it together with leasing the
// next, as pkg/worker does, until the queue is empty.
func ourWorker(ctx context.Context, rdb *redis.Client, name string, batch int) (int, error) {
	q := New(rdb, name)
	var done []Item
	n := 0
	for {
		_, its, err := q.CompleteAndLease(ctx, done, batch, time.Minute)
		if err != nil {
			return n, err
		}
		if len(its) == 0 {
			return n, nil
		}
		done = its
		n += len(its)
	}
}

func drain(b *testing.B, rdb *redis.Client, items, workers int, work func(context.Context, *redis.Client, string) (int, error)) time.Duration {
	ctx := context.Background()
	name := fmt.Sprintf("bench-%d", queueSeq.Add(1))
	s := New(rdb, name).NewSeeder(SeedOptions{})
	for i := 0; i < items; i++ {
		s.Add(ctx, []byte("item-"+strconv.Itoa(i)))
	}
	if err := s.Close(ctx); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := work(ctx, rdb, name)
			if err != nil {
				b.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if total != items {
		b.Fatalf("processed %d of %d", total, items)
	}
	New(rdb, name).Delete(ctx)
	return elapsed
}

// BenchmarkWorkerProtocol measures items/s of lease+complete against the
// rediswq.py protocol in the same run and reports the speed-up.
func BenchmarkWorkerProtocol(b *testing.B) {
	rdb := testClient(b)
	const items = 20000
	for _, workers := range []int{1, 4} {
		for _, batch := range []int{1, 16} {
			b.Run(fmt.Sprintf("workers=%d/batch=%d", workers, batch), func(b *testing.B) {
				var ours, base time.Duration
				for i := 0; i < b.N; i++ {
					base += drain(b, rdb, items, workers, docsWorker)
					ours += drain(b, rdb, items, workers, func(ctx context.Context, rdb *redis.Client, name string) (int, error) {
						return ourWorker(ctx, rdb, name, batch)
					})
				}
				b.ReportMetric(float64(items*b.N)/ours.Seconds(), "items/s")
				b.ReportMetric(float64(items*b.N)/base.Seconds(), "rediswq-items/s")
				b.ReportMetric(base.Seconds()/ours.Seconds(), "speedup")
			})
		}
	}
}

// BenchmarkSeed pushes 1,000,000 items of about 10 bytes with the Seeder and
// with `redis-cli --pipe` fed one RPUSH per item, and reports the ratio.
func BenchmarkSeed(b *testing.B) {
	if _, err := exec.LookPath("redis-cli"); err != nil {
		b.Skip("redis-cli not installed")
	}
	rdb := testClient(b)
	ctx := context.Background()
	const n = 1_000_000
	its := make([][]byte, n)
	var resp bytes.Buffer
	for i := range its {
		its[i] = []byte(fmt.Sprintf("item%06d", i))
	}
	host, port, _ := net.SplitHostPort(serverAddr)
	var ours, base time.Duration
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("seed-bench-%d", queueSeq.Add(1))
		resp.Reset()
		for _, it := range its {
			fmt.Fprintf(&resp, "*3\r\n$5\r\nRPUSH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(name), name, len(it), it)
		}
		cmd := exec.Command("redis-cli", "-h", host, "-p", port, "--pipe")
		cmd.Stdin = bytes.NewReader(resp.Bytes())
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("redis-cli --pipe: %v\n%s", err, out)
		}
		base += time.Since(start)
		if got := rdb.LLen(ctx, name).Val(); got != n {
			b.Fatalf("redis-cli pushed %d", got)
		}
		rdb.Del(ctx, name)

		start = time.Now()
		s := New(rdb, name).NewSeeder(SeedOptions{})
		for _, it := range its {
			if err := s.Add(ctx, it); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Close(ctx); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
		if got := rdb.LLen(ctx, name).Val(); got != n {
			b.Fatalf("seeder pushed %d", got)
		}
		New(rdb, name).Delete(ctx)
	}
	b.ReportMetric(float64(n*b.N)/ours.Seconds(), "items/s")
	b.ReportMetric(float64(n*b.N)/base.Seconds(), "redis-cli-pipe-items/s")
	b.ReportMetric(base.Seconds()/ours.Seconds(), "speedup")
}

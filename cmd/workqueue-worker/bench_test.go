package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// docsLoop does per item what the docs' worker.py does, starting `true`
// for the work: empty() (two LLENs), lease (BRPOPLPUSH, SETEX), run,
// complete (LREM, DEL).
func docsLoop(ctx context.Context, rdb *redis.Client, name string) (int, error) {
	q := queue.New(rdb, name)
	n := 0
	for {
		a := rdb.LLen(ctx, name).Val()
		b := rdb.LLen(ctx, name+":processing").Val()
		if a == 0 && b == 0 {
			return n, nil
		}
		// A short block, not worker.py's 2s, so that the drain's tail does
		// not weigh; go-redis would round it up to a second.
		v, err := rdb.Do(ctx, "BRPOPLPUSH", name, name+":processing", 0.05).Text()
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
		cmd := exec.Command("true")
		cmd.Stdin = stringsReader(v)
		if err := cmd.Run(); err != nil {
			return n, err
		}
		rdb.LRem(ctx, name+":processing", 0, v)
		rdb.Del(ctx, key, q.Session())
		n++
	}
}

func stringsReader(s string) *os.File {
	// Like the worker, hand the item over on stdin (through a pipe).
	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	go func() { _, _ = w.WriteString(s); w.Close() }()
	return r
}

func seedBench(b *testing.B, rdb *redis.Client, items int) *queue.Queue {
	q := queue.New(rdb, fmt.Sprintf("bench-%d", queueSeq.Add(1)))
	s := q.NewSeeder(queue.SeedOptions{})
	for i := range items {
		_ = s.Add(context.Background(), []byte("item-"+strconv.Itoa(i)))
	}
	if err := s.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	return q
}

// BenchmarkWorkerRunsTrue drains a queue with workqueue-worker running
// `true` per item, against a loop that starts `true` per item and speaks
// the rediswq.py protocol, in the same run, and reports the ratio.
func BenchmarkWorkerRunsTrue(b *testing.B) {
	if raceEnabled {
		b.Skip("the worker binary is built with -race")
	}
	rdb := testClient(b)
	const items = 1000
	for _, workers := range []int{1, 2} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			var ours, base time.Duration
			for range b.N {
				q := seedBench(b, rdb, items)
				begin := time.Now()
				var wg sync.WaitGroup
				var mu sync.Mutex
				total := 0
				for range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						n, err := docsLoop(context.Background(), rdb, q.Name())
						if err != nil {
							b.Error(err)
						}
						mu.Lock()
						total += n
						mu.Unlock()
					}()
				}
				wg.Wait()
				base += time.Since(begin)
				if total != items {
					b.Fatalf("baseline did %d of %d", total, items)
				}

				q = seedBench(b, rdb, items)
				cmd := exec.Command(binary, "--queue", q.Name(), "--redis-url", "redis://"+serverAddr,
					"--concurrency", strconv.Itoa(workers), "--", "true")
				begin = time.Now()
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%v\n%s", err, out)
				}
				ours += time.Since(begin)
				if st, err := q.Stats(context.Background()); err != nil || st.Done != items {
					b.Fatalf("%+v %v", st, err)
				}
			}
			b.ReportMetric(float64(items*b.N)/ours.Seconds(), "items/s")
			b.ReportMetric(float64(items*b.N)/base.Seconds(), "baseline-items/s")
			b.ReportMetric(base.Seconds()/ours.Seconds(), "speedup")
		})
	}
}

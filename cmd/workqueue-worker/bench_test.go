package main

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/rediswqbaseline"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// docsLoop does per item what the docs' worker.py does, starting `true`
// for the work: empty() (two LLENs), lease (BRPOPLPUSH, SETEX), run,
// complete (LREM, DEL). It blocks for 50ms, not worker.py's 2s, so that the
// drain's tail does not weigh.
func docsLoop(ctx context.Context, rdb *redis.Client, name string) (int, error) {
	return rediswqbaseline.Work(ctx, rdb, name, 50*time.Millisecond, func(item string) error {
		cmd := exec.Command("true")
		cmd.Stdin = stringsReader(item)
		return cmd.Run()
	})
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
	q := queue.New(rdb, redistest.QueueName(b))
	rediswqbaseline.Seed(b, q.NewSeeder(queue.SeedOptions{}), items)
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
				docs := queue.New(rdb, redistest.QueueName(b))
				base += rediswqbaseline.Drain(b, docs.NewSeeder(queue.SeedOptions{}), items, workers, func() (int, error) {
					return docsLoop(context.Background(), rdb, docs.Name())
				})

				q := seedBench(b, rdb, items)
				cmd := exec.Command(binary, "--queue", q.Name(), "--redis-url", "redis://"+serverAddr,
					"--concurrency", strconv.Itoa(workers), "--", "true")
				begin := time.Now()
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

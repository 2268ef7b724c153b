package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redisclient"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/rediswqbaseline"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// benchPoll is how long an idle worker of either kind waits before it looks
// again whether the queue has drained. rediswq.py's worker.py blocks for 2s
// (pkg/queue's benchmark for 1s); the drain's tail would then dwarf the
// work, so both kinds look often here.
const benchPoll = 50 * time.Millisecond

// drainWith seeds items and times workers draining them.
func drainWith(b *testing.B, rdb *redis.Client, items, workers int, work func(ctx context.Context, name string) (int, error)) time.Duration {
	ctx := context.Background()
	name := redistest.QueueName(b)
	elapsed := rediswqbaseline.Drain(b, queue.New(rdb, name).NewSeeder(queue.SeedOptions{}), items, workers, func() (int, error) {
		return work(ctx, name)
	})
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
					return rediswqbaseline.Work(ctx, rdb, name, benchPoll, nil)
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

// BenchmarkRunTLS drains a queue with 4 workers through the TLS port and
// through the plain port of one redis-server (the same server, the same
// data: only the encryption differs), alternating in the same run, and
// reports both rates and TLS's cost: the time through TLS over the time
// through the plain port (above 1: TLS is slower).
func BenchmarkRunTLS(b *testing.B) {
	s := redistest.StartTLS(b, redistest.TLSOptions{AlsoPlain: true})
	ca, err := redisclient.ReadFiles(s.CAFile, "", "")
	if err != nil {
		b.Fatal(err)
	}
	connect := func(url string, tls redisclient.TLS) redis.UniversalClient {
		cl, err := redisclient.Connect(context.Background(), redisclient.Config{URL: url, TLS: tls})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cl.Redis.Close() })
		return cl.Redis
	}
	plain, encrypted := connect("redis://"+s.PlainAddr, redisclient.TLS{}), connect("rediss://"+s.Addr, ca)
	const items, workers = 20000, 4
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	drain := func(rdb redis.UniversalClient, prefetch int) time.Duration {
		ctx := context.Background()
		name := redistest.QueueName(b)
		elapsed := rediswqbaseline.Drain(b, queue.New(rdb, name).NewSeeder(queue.SeedOptions{}), items, workers, func() (int, error) {
			sum, err := Run(ctx, queue.New(rdb, name), func(context.Context, []byte) error { return nil },
				Options{Prefetch: prefetch, PollInterval: benchPoll, Log: quiet})
			return sum.Done, err
		})
		_, _ = queue.New(rdb, name).Delete(ctx)
		return elapsed
	}
	for _, prefetch := range []int{0, 1} { // 0: adaptive, the default
		b.Run(fmt.Sprintf("workers=%d/prefetch=%d", workers, prefetch), func(b *testing.B) {
			var viaTLS, viaPlain time.Duration
			for range b.N {
				viaPlain += drain(plain, prefetch)
				viaTLS += drain(encrypted, prefetch)
			}
			b.ReportMetric(float64(items*b.N)/viaTLS.Seconds(), "tls-items/s")
			b.ReportMetric(float64(items*b.N)/viaPlain.Seconds(), "plain-items/s")
			b.ReportMetric(viaTLS.Seconds()/viaPlain.Seconds(), "tls-cost")
		})
	}
}

// BenchmarkRunFsync is what `init --appendfsync always` costs the workers:
// one redis-server with its append-only file in a directory of this
// machine's disk, flushed every second or before each write is answered
// (CONFIG SET between drains, alternating, in the same run).
func BenchmarkRunFsync(b *testing.B) {
	addr, stop, err := redistest.Launch(b.TempDir(), "--appendonly", "yes", "--appendfsync", "everysec")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(stop)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	b.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	const items, workers = 20000, 4
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	drain := func(b *testing.B, fsync string, prefetch int) time.Duration {
		if err := rdb.ConfigSet(ctx, "appendfsync", fsync).Err(); err != nil {
			b.Fatal(err)
		}
		return drainWith(b, rdb, items, workers, func(ctx context.Context, name string) (int, error) {
			sum, err := Run(ctx, queue.New(rdb, name), func(context.Context, []byte) error { return nil },
				Options{Prefetch: prefetch, PollInterval: benchPoll, Log: quiet})
			return sum.Done, err
		})
	}
	for _, prefetch := range []int{0, 1} { // 0: adaptive, the default
		b.Run(fmt.Sprintf("workers=%d/prefetch=%d", workers, prefetch), func(b *testing.B) {
			var everysec, always time.Duration
			for range b.N {
				everysec += drain(b, "everysec", prefetch)
				always += drain(b, "always", prefetch)
			}
			b.ReportMetric(float64(items*b.N)/everysec.Seconds(), "everysec-items/s")
			b.ReportMetric(float64(items*b.N)/always.Seconds(), "always-items/s")
			b.ReportMetric(always.Seconds()/everysec.Seconds(), "always-cost")
		})
	}
}

package queue

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/rediswqbaseline"
)

// docsWorker does per item exactly what the docs' worker.py with rediswq.py
// does: empty() (two LLENs), lease (BRPOPLPUSH, SETEX), complete (LREM, DEL).
func docsWorker(ctx context.Context, rdb *redis.Client, name string) (int, error) {
	return rediswqbaseline.Work(ctx, rdb, name, time.Second, nil)
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
	name := redistest.QueueName(b)
	elapsed := rediswqbaseline.Drain(b, New(rdb, name).NewSeeder(SeedOptions{}), items, workers, func() (int, error) {
		return work(ctx, rdb, name)
	})
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
		name := redistest.QueueName(b)
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

// BenchmarkWorkerProtocolTLS is BenchmarkWorkerProtocol's lease+complete
// loop through the TLS port and through the plain port of one redis-server
// (the same server, the same data: only the encryption differs), alternating
// in the same run; tls-cost is the time through TLS over the time through
// the plain port (above 1: TLS is slower).
func BenchmarkWorkerProtocolTLS(b *testing.B) {
	s := redistest.StartTLS(b, redistest.TLSOptions{AlsoPlain: true})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CA.CertPEM)
	plain := redis.NewClient(&redis.Options{Addr: s.PlainAddr, PoolSize: 64})
	encrypted := redis.NewClient(&redis.Options{Addr: s.Addr, PoolSize: 64, TLSConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}})
	b.Cleanup(func() { plain.Close(); encrypted.Close() })
	const items, workers = 20000, 4
	for _, batch := range []int{1, 16} {
		b.Run(fmt.Sprintf("workers=%d/batch=%d", workers, batch), func(b *testing.B) {
			work := func(ctx context.Context, rdb *redis.Client, name string) (int, error) {
				return ourWorker(ctx, rdb, name, batch)
			}
			var viaTLS, viaPlain time.Duration
			for range b.N {
				viaPlain += drain(b, plain, items, workers, work)
				viaTLS += drain(b, encrypted, items, workers, work)
			}
			b.ReportMetric(float64(items*b.N)/viaTLS.Seconds(), "tls-items/s")
			b.ReportMetric(float64(items*b.N)/viaPlain.Seconds(), "plain-items/s")
			b.ReportMetric(viaTLS.Seconds()/viaPlain.Seconds(), "tls-cost")
		})
	}
}

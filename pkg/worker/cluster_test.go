package worker

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redisclient"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// connectURL connects as the CLI and the worker binary do, closed when the
// test ends.
func connectURL(t *testing.T, url string) redis.UniversalClient {
	t.Helper()
	return connectMode(t, url).Redis
}

func connectMode(t *testing.T, url string) *redisclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := redisclient.Connect(ctx, redisclient.Config{URL: url, PoolSize: 16})
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(func() { cl.Redis.Close() })
	return cl
}

// drainWithWorkers runs one Run per client on queue name, each with its own
// connection, and returns what each returned. handled is called for every
// item handled.
func drainWithWorkers(t *testing.T, clients []redis.UniversalClient, name string, o Options, handled func(item []byte)) []result {
	t.Helper()
	chans := make([]<-chan result, len(clients))
	for i, rdb := range clients {
		o, logs := opts(o)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("worker %d:\n%s", i, logs)
			}
		})
		chans[i] = runAsync(context.Background(), queue.New(rdb, name), func(_ context.Context, item []byte) error {
			handled(item)
			return nil
		}, o)
	}
	results := make([]result, len(chans))
	timeout := time.After(2 * time.Minute)
	for i, ch := range chans {
		select {
		case results[i] = <-ch:
		case <-timeout:
			// Errorf, not Fatalf: this may run outside the test's goroutine.
			t.Errorf("worker %d did not return", i)
			results[i].err = errors.New("did not return")
		}
	}
	return results
}

// drainDuring drains queue name with one worker per client while event
// (a resharding, a failover) runs in the test's goroutine once a quarter of
// n items are handled. Handlers wait for the event to end before the last
// quarter of the items, so that it always happens mid-drain. It returns the
// workers' results and how many items were handled before the event ended.
func drainDuring(t *testing.T, clients []redis.UniversalClient, name string, n int64, o Options, handled func(item []byte), event func()) ([]result, int64) {
	t.Helper()
	var count atomic.Int64
	quarter, over := make(chan struct{}), make(chan struct{})
	done := make(chan []result, 1)
	go func() {
		done <- drainWithWorkers(t, clients, name, o, func(item []byte) {
			handled(item)
			switch c := count.Add(1); {
			case c == n/4:
				close(quarter)
			case c >= 3*n/4:
				<-over
			}
		})
	}()
	var before int64
	func() {
		defer close(over)
		select {
		case <-quarter:
			event()
			before = count.Load()
		case r := <-done:
			done <- r
			t.Errorf("the workers returned before a quarter of the items were handled")
		}
	}()
	return <-done, before
}

// exactlyOnce checks that each of n items (item-0000...) was handled once,
// every worker returned drained, and the queue is empty with all done.
func exactlyOnce(t *testing.T, s *seen, n int, results []result, q *queue.Queue) {
	t.Helper()
	for i, r := range results {
		if r.err != nil || !r.sum.Drained {
			t.Errorf("worker %d: %+v, %v", i, r.sum, r.err)
		}
	}
	var done int
	for _, r := range results {
		done += r.sum.Done
	}
	if done != n {
		t.Errorf("workers completed %d items, want %d", done, n)
	}
	for i := range n {
		if c := s.count(fmt.Sprintf("item-%04d", i)); c != 1 {
			t.Errorf("item-%04d handled %d times", i, c)
		}
	}
	st := stats(t, q)
	if st.Pending != 0 || st.Processing != 0 || st.Completed != int64(n) || st.Done != int64(n) {
		t.Errorf("stats after the drain: %+v", st)
	}
}

func seedN(t *testing.T, q *queue.Queue, n int) {
	t.Helper()
	s := q.NewSeeder(queue.SeedOptions{})
	for i := range n {
		if err := s.Add(context.Background(), []byte(fmt.Sprintf("item-%04d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// One Redis Cluster of three masters serves the tests below.
func TestRunOnACluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	t.Run("drains a queue exactly once", func(t *testing.T) { drainsExactlyOnce(t, c) })
	t.Run("refuses an untagged queue", func(t *testing.T) { refusesUntagged(t, c) })
	t.Run("follows a resharding mid-drain", func(t *testing.T) {
		followsResharding(t, c, "{r}", func(i int) redis.UniversalClient { return connectURL(t, "redis://"+c.Addrs[i%len(c.Addrs)]) })
	})
	// go-redis follows a few redirections of one command, then returns the
	// last; the worker tries again, as for any passing error. Clients that
	// return the first show that on every call.
	t.Run("follows a resharding mid-drain when redirections come back", func(t *testing.T) {
		followsResharding(t, c, "{r2}", func(int) redis.UniversalClient {
			rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs, MaxRedirects: -1, PoolSize: 16})
			t.Cleanup(func() { rdb.Close() })
			return rdb
		})
	})
}

// 10,000 items seeded into a hash-tagged queue through one node, drained by
// four workers that each connected to a different node, every item exactly
// once.
func drainsExactlyOnce(t *testing.T, c *redistest.Cluster) {
	const name, n = "{q}", 10000
	seedN(t, queue.New(connectURL(t, "redis://"+c.Addrs[1]), name), n)

	var clients []redis.UniversalClient
	for i := range 4 {
		cl := connectMode(t, "redis://"+c.Addrs[i%len(c.Addrs)])
		if cl.Mode != redisclient.Cluster {
			t.Fatalf("%s: mode %s", c.Addrs[i%len(c.Addrs)], cl.Mode)
		}
		clients = append(clients, cl.Redis)
	}
	var s seen
	results := drainWithWorkers(t, clients, name, Options{}, func(item []byte) { s.add(item) })
	exactlyOnce(t, &s, n, results, queue.New(clients[0], name))
}

// A queue without a hash tag is refused on a Cluster before anything is
// touched; the error names the fix.
func refusesUntagged(t *testing.T, c *redistest.Cluster) {
	cl := connectURL(t, "redis://"+c.Addrs[0])
	o, _ := opts(Options{})
	_, err := Run(context.Background(), queue.New(cl, "jobs"), func(context.Context, []byte) error { return nil }, o)
	if !errors.Is(err, queue.ErrNoHashTag) || err.Error() != `queue name needs a hash tag in a Redis Cluster: queue "jobs" would have its keys in different hash slots, so it cannot work in a Redis Cluster: use a hash tag, e.g. {jobs}` {
		t.Fatalf("err = %v", err)
	}
	for _, suffix := range []string{"", ":processing", ":holders", ":workers", ":stats"} {
		if n, err := cl.Exists(context.Background(), "jobs"+suffix).Result(); err != nil || n != 0 {
			t.Errorf("key jobs%s: EXISTS = %d, %v: something was written", suffix, n, err)
		}
	}
}

// The queue's slot moves to another master while four workers drain it:
// clients meet TRYAGAIN and ASK during the move and MOVED after it, and
// follow; every item is still done exactly once.
func followsResharding(t *testing.T, c *redistest.Cluster, name string, client func(i int) redis.UniversalClient) {
	const n = 4000
	slot := hashSlot(t, c, name)
	from := c.Owner(t, slot)
	to := c.Addrs[0]
	if to == from {
		to = c.Addrs[1]
	}
	seedN(t, queue.New(connectURL(t, "redis://"+from), name), n)

	var clients []redis.UniversalClient
	for i := range 4 {
		clients = append(clients, client(i))
	}
	var s seen
	results, before := drainDuring(t, clients, name, n, Options{}, func(item []byte) {
		s.add(item)
		time.Sleep(100 * time.Microsecond)
	}, func() { c.MoveSlot(t, slot, to, nil) })
	if owner := c.Owner(t, slot); owner != to {
		t.Fatalf("slot %d is at %s, want %s", slot, owner, to)
	}
	t.Logf("%d of %d items handled after the slot moved", n-before, n)
	exactlyOnce(t, &s, n, results, queue.New(clients[0], name))
	// The queue's keys live on the new master now.
	direct := redis.NewClient(&redis.Options{Addr: to})
	defer direct.Close()
	if v, err := direct.HGet(context.Background(), name+":stats", "completed").Int(); err != nil || v != n {
		t.Errorf("completed counter on %s: %d, %v", to, v, err)
	}
}

func hashSlot(t *testing.T, c *redistest.Cluster, key string) int {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: c.Addrs[0]})
	defer rdb.Close()
	slot, err := rdb.ClusterKeySlot(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return int(slot)
}

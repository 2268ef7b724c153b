package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

var serverAddr string

func TestMain(m *testing.M) { redistest.Main(m, &serverAddr) }

func testClient(t testing.TB) *redis.Client {
	t.Helper()
	return redistest.Client(t, serverAddr, 32)
}

func seed(t testing.TB, q *queue.Queue, items ...string) {
	t.Helper()
	redistest.Seed(t, q.NewSeeder(queue.SeedOptions{}), items...)
}

func itemNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("item-%03d", i)
	}
	return out
}

// opts are quick Options for tests, logging into the returned buffer.
func opts(o Options) (Options, *redistest.SyncBuffer) {
	logs := &redistest.SyncBuffer{}
	o.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if o.PollInterval == 0 {
		o.PollInterval = 20 * time.Millisecond
	}
	if o.ReclaimGrace == 0 {
		o.ReclaimGrace = 20 * time.Millisecond
	}
	return o, logs
}

// seen records which items a handler got, and how often.
type seen struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *seen) add(item []byte) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[string]int{}
	}
	s.n[string(item)]++
	return len(s.n)
}

func (s *seen) count(item string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[item]
}

func (s *seen) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.n)
}

func stats(t *testing.T, q *queue.Queue) *queue.Stats {
	t.Helper()
	st, err := q.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// waitFor polls cond until it holds, or fails the test after 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	redistest.WaitFor(t, 10*time.Second, what, cond)
}

type result struct {
	sum Summary
	err error
}

func runAsync(ctx context.Context, q *queue.Queue, h Handler, o Options) <-chan result {
	ch := make(chan result, 1)
	go func() {
		sum, err := Run(ctx, q, h, o)
		ch <- result{sum, err}
	}()
	return ch
}

func await(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
		return result{}
	}
}

func TestRunCompletesEveryItemOnce(t *testing.T) {
	rdb := testClient(t)
	name := redistest.QueueName(t)
	want := itemNames(60)
	seed(t, queue.New(rdb, name), want...)

	var s seen
	o, logs := opts(Options{Concurrency: 3, Prefetch: 4})
	sum, err := Run(context.Background(), queue.New(rdb, name), func(_ context.Context, item []byte) error {
		s.add(item)
		return nil
	}, o)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, logs)
	}
	for _, it := range want {
		if c := s.count(it); c != 1 {
			t.Errorf("%s handled %d times", it, c)
		}
	}
	if sum != (Summary{Done: 60, Drained: true}) {
		t.Errorf("summary %+v", sum)
	}
	// A worker that has returned no longer counts among the live ones.
	if st := stats(t, queue.New(rdb, name)); st.Pending+st.Processing != 0 || st.Done != 60 || st.Workers != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestRunRetriesThenDeadLetters(t *testing.T) {
	rdb := testClient(t)
	name := redistest.QueueName(t)
	seed(t, queue.New(rdb, name), "a", "bad", "c")

	var s seen
	o, logs := opts(Options{MaxAttempts: 3})
	sum, err := Run(context.Background(), queue.New(rdb, name), func(_ context.Context, item []byte) error {
		s.add(item)
		if string(item) == "bad" {
			return errors.New("no good")
		}
		return nil
	}, o)
	if err != nil {
		t.Fatal(err)
	}
	if s.count("bad") != 3 || s.count("a") != 1 || s.count("c") != 1 {
		t.Errorf("handled %v", s.n)
	}
	if sum != (Summary{Done: 2, Failed: 3, DeadLettered: 1, Drained: true}) {
		t.Errorf("summary %+v", sum)
	}
	if st := stats(t, queue.New(rdb, name)); st.Failed != 1 || st.Retried != 2 || st.Pending+st.Processing != 0 {
		t.Errorf("stats %+v", st)
	}
	if l := logs.String(); !strings.Contains(l, "dead-letter") || !strings.Contains(l, "no good") {
		t.Errorf("log does not tell of the dead letter:\n%s", l)
	}
}

func TestRunTurnsAPanicIntoAFailure(t *testing.T) {
	rdb := testClient(t)
	name := redistest.QueueName(t)
	seed(t, queue.New(rdb, name), "x")
	o, _ := opts(Options{MaxAttempts: 1})
	sum, err := Run(context.Background(), queue.New(rdb, name), func(context.Context, []byte) error { panic("oops") }, o)
	if err != nil || sum.DeadLettered != 1 {
		t.Fatalf("%+v %v", sum, err)
	}
}

// A handler that runs for several leases keeps its item: the heartbeat
// renews the lease, so a second worker that reclaims all the while never
// gets it.
func TestRunHeartbeatKeepsALongItem(t *testing.T) {
	rdb := testClient(t)
	name := redistest.QueueName(t)
	seed(t, queue.New(rdb, name), "slow")
	const lease = 300 * time.Millisecond

	started, proceed := make(chan struct{}), make(chan struct{})
	oa, logsA := opts(Options{Lease: lease})
	a := runAsync(context.Background(), queue.New(rdb, name), func(context.Context, []byte) error {
		close(started)
		<-proceed
		return nil
	}, oa)
	<-started

	var stolen seen
	ob, _ := opts(Options{Lease: lease, ReclaimGrace: time.Millisecond, PollInterval: 10 * time.Millisecond})
	b := runAsync(context.Background(), queue.New(rdb, name), func(_ context.Context, item []byte) error {
		stolen.add(item)
		return nil
	}, ob)
	// Reclaim as eagerly as possible for four leases.
	thief := queue.New(rdb, name)
	tick := time.NewTicker(20 * time.Millisecond)
	for end := time.Now().Add(4 * lease); time.Now().Before(end); <-tick.C {
		if _, err := thief.Reclaim(context.Background(), 0); err != nil {
			t.Fatal(err)
		}
	}
	tick.Stop()
	close(proceed)
	ra, rb := await(t, a), await(t, b)
	if ra.err != nil || rb.err != nil {
		t.Fatalf("a: %v, b: %v\n%s", ra.err, rb.err, logsA)
	}
	if ra.sum.Done != 1 || stolen.distinct() != 0 {
		t.Fatalf("a did %+v, b got %v", ra.sum, stolen.n)
	}
	if st := stats(t, thief); st.Reclaimed != 0 || st.Done != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// A lone worker finishes the items of a worker that died holding them.
func TestRunReclaimsItemsOfADeadWorker(t *testing.T) {
	rdb := testClient(t)
	name := redistest.QueueName(t)
	seed(t, queue.New(rdb, name), itemNames(5)...)
	dead := queue.New(rdb, name)
	if its, err := dead.Lease(context.Background(), 2, 100*time.Millisecond, 0); err != nil || len(its) != 2 {
		t.Fatal(its, err)
	}

	var s seen
	o, logs := opts(Options{ReclaimGrace: 10 * time.Millisecond})
	sum, err := Run(context.Background(), queue.New(rdb, name), func(_ context.Context, item []byte) error {
		s.add(item)
		return nil
	}, o)
	if err != nil {
		t.Fatal(err)
	}
	if s.distinct() != 5 || sum.Done != 5 {
		t.Fatalf("handled %v, summary %+v\n%s", s.n, sum, logs)
	}
	if st := stats(t, dead); st.Reclaimed != 2 || st.Done != 5 {
		t.Fatalf("stats %+v", st)
	}
}

// Items a live worker holds mean the queue is not drained: they may come back.
func TestRunWaitsForItemsHeldByLiveWorkers(t *testing.T) {
	rdb := testClient(t)
	name := redistest.QueueName(t)
	seed(t, queue.New(rdb, name), itemNames(4)...)
	other := queue.New(rdb, name)
	held, err := other.Lease(context.Background(), 1, time.Minute, 0)
	if err != nil || len(held) != 1 {
		t.Fatal(held, err)
	}

	var s seen
	three := make(chan struct{})
	o, _ := opts(Options{})
	res := runAsync(context.Background(), queue.New(rdb, name), func(_ context.Context, item []byte) error {
		if s.add(item) == 3 {
			close(three)
		}
		return nil
	}, o)
	<-three
	// The other worker fails its item: it comes back, and we must be there.
	if out, err := other.Fail(context.Background(), held[0], 3, "boom"); err != nil || out != queue.Retried {
		t.Fatal(out, err)
	}
	r := await(t, res)
	if r.err != nil || r.sum.Done != 4 || s.count(string(held[0].Value)) != 1 {
		t.Fatalf("%+v %v; handled %v", r.sum, r.err, s.n)
	}
}

// Cancelled, Run gives back the items it has not started at once, and lets
// the running one finish within the grace.
func TestRunShutdownLetsTheRunningItemFinish(t *testing.T) {
	rdb := testClient(t)
	name := redistest.QueueName(t)
	seed(t, queue.New(rdb, name), itemNames(3)...)
	q := queue.New(rdb, name)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started, proceed := make(chan struct{}), make(chan struct{})
	var handlerCtxErr error
	o, logs := opts(Options{Prefetch: 3, ShutdownGrace: time.Minute})
	res := runAsync(ctx, q, func(hctx context.Context, item []byte) error {
		close(started)
		<-proceed
		handlerCtxErr = hctx.Err()
		return nil
	}, o)
	<-started
	cancel()
	waitFor(t, "the two prefetched items back in the queue", func() bool { return stats(t, q).Pending == 2 })
	close(proceed)
	r := await(t, res)
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("Run: %v", r.err)
	}
	if handlerCtxErr != nil {
		t.Errorf("the handler's context was cancelled within the grace: %v", handlerCtxErr)
	}
	if r.sum != (Summary{Done: 1, Released: 2}) {
		t.Errorf("summary %+v\n%s", r.sum, logs)
	}
	if st := stats(t, q); st.Pending != 2 || st.Processing != 0 || st.Done != 1 {
		t.Errorf("stats %+v", st)
	}
}

// After the grace, the handler's context is cancelled and its item goes back
// to the queue at once, long before its lease would expire.
func TestRunShutdownReleasesAfterTheGrace(t *testing.T) {
	rdb := testClient(t)
	name := redistest.QueueName(t)
	seed(t, queue.New(rdb, name), "stuck")
	q := queue.New(rdb, name)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	o, _ := opts(Options{Lease: time.Hour, ShutdownGrace: 50 * time.Millisecond})
	res := runAsync(ctx, q, func(hctx context.Context, item []byte) error {
		close(started)
		<-hctx.Done()
		return hctx.Err()
	}, o)
	<-started
	cancel()
	r := await(t, res)
	if !errors.Is(r.err, context.Canceled) || r.sum != (Summary{Released: 1}) {
		t.Fatalf("%+v %v", r.sum, r.err)
	}
	if st := stats(t, q); st.Pending != 1 || st.Processing != 0 || st.Retried != 0 {
		t.Fatalf("stats right after Run returned: %+v", st)
	}
}

// A handler that returns as the shutdown's grace ends races the shutdown to
// give its item back: exactly one of them does, so the item is released
// once and none is counted lost (a release that finds the item gone is
// counted as lost to another worker). Many runs, each with a grace that
// ends about when the handler returns.
func TestRunShutdownReleasesAnItemOnce(t *testing.T) {
	rdb := testClient(t)
	for i := range 100 {
		name := redistest.QueueName(t) + fmt.Sprint(i)
		q := queue.New(rdb, name)
		seed(t, q, "x")
		ctx, cancel := context.WithCancel(context.Background())
		started := make(chan struct{})
		o, _ := opts(Options{Lease: time.Hour, ShutdownGrace: time.Duration(i%4) * 100 * time.Microsecond})
		res := runAsync(ctx, q, func(hctx context.Context, item []byte) error {
			close(started)
			<-ctx.Done() // the Run's context, not the handler's: return as the grace begins
			return ctx.Err()
		}, o)
		<-started
		cancel()
		r := await(t, res)
		if r.sum != (Summary{Released: 1}) {
			t.Fatalf("run %d: %+v %v", i, r.sum, r.err)
		}
		if st := stats(t, q); st.Pending != 1 || st.Processing != 0 {
			t.Fatalf("run %d: stats %+v", i, st)
		}
	}
}

// MaxItems counts items that left the queue; a failed attempt that is
// queued again does not count.
func TestRunStopsAfterMaxItems(t *testing.T) {
	rdb := testClient(t)
	name := redistest.QueueName(t)
	seed(t, queue.New(rdb, name), itemNames(10)...)
	var s seen
	o, _ := opts(Options{MaxItems: 3, Concurrency: 2, Prefetch: 2})
	sum, err := Run(context.Background(), queue.New(rdb, name), func(_ context.Context, item []byte) error {
		s.add(item)
		return nil
	}, o)
	if err != nil || sum != (Summary{Done: 3}) || s.distinct() != 3 {
		t.Fatalf("%+v %v; handled %v", sum, err, s.n)
	}
	if st := stats(t, queue.New(rdb, name)); st.Pending != 7 || st.Processing != 0 {
		t.Fatalf("stats %+v", st)
	}

	name = redistest.QueueName(t)
	seed(t, queue.New(rdb, name), "a", "b", "c")
	var failedOnce atomic.Bool
	o, _ = opts(Options{MaxItems: 2})
	sum, err = Run(context.Background(), queue.New(rdb, name), func(_ context.Context, item []byte) error {
		if string(item) == "a" && !failedOnce.Swap(true) {
			return errors.New("first attempt fails")
		}
		return nil
	}, o)
	if err != nil || sum != (Summary{Done: 2, Failed: 1}) {
		t.Fatalf("%+v %v", sum, err)
	}
}

func TestRunGivesUpWhenRedisIsUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	// One dial per try, as workqueue-worker's client: go-redis' own dial
	// retries would outlast the bound, which cuts them short and leaves
	// only the deadline to report.
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
	defer rdb.Close()

	o, logs := opts(Options{RedisTimeout: 300 * time.Millisecond})
	start := time.Now()
	_, err = Run(context.Background(), queue.New(rdb, "q"), func(context.Context, []byte) error { return nil }, o)
	if !errors.Is(err, ErrRedisUnreachable) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Run: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Errorf("no word of retrying:\n%s", logs)
	}
}

// A queue that was never seeded is not drained: a worker restarted after
// Redis lost the queue must not report success.
func TestRunOnANeverSeededQueueFails(t *testing.T) {
	rdb := testClient(t)
	o, logs := opts(Options{PollInterval: time.Hour})
	sum, err := Run(context.Background(), queue.New(rdb, redistest.QueueName(t)), func(context.Context, []byte) error { return nil }, o)
	if !errors.Is(err, ErrNeverSeeded) || sum.Drained || !strings.Contains(err.Error(), "never seeded") {
		t.Fatalf("%+v %v\n%s", sum, err, logs)
	}
}

// With WaitForSeed, a worker started before its items waits for them.
func TestRunWaitsForTheFirstSeed(t *testing.T) {
	rdb := testClient(t)
	name := redistest.QueueName(t)
	o, logs := opts(Options{WaitForSeed: true})
	var s seen
	res := runAsync(context.Background(), queue.New(rdb, name), func(_ context.Context, item []byte) error {
		s.add(item)
		return nil
	}, o)
	waitFor(t, "the worker to wait for the seed", func() bool { return strings.Contains(logs.String(), "waiting for its first items") })
	seed(t, queue.New(rdb, name), itemNames(5)...)
	r := await(t, res)
	if r.err != nil || r.sum != (Summary{Done: 5, Drained: true}) || s.distinct() != 5 {
		t.Fatalf("%+v %v\n%s", r.sum, r.err, logs)
	}
}

// FLUSHALL in the middle of a drain (what a Redis restarted without its
// data looks like) stops the workers with ErrQueueLost: the queue is gone,
// not drained, whether it was seeded by us (it has an epoch) or pushed by
// other tools (only its counters tell).
func TestRunStopsWhenRedisLosesTheQueue(t *testing.T) {
	for _, seededByUs := range []bool{true, false} {
		t.Run(fmt.Sprintf("seededByUs=%v", seededByUs), func(t *testing.T) {
			addr := redistest.Start(t) // FLUSHALL must not touch the other tests' queues
			rdb := redistest.Client(t, addr, 32)
			name := redistest.QueueName(t)
			if seededByUs {
				seed(t, queue.New(rdb, name), itemNames(50)...)
			} else {
				for _, it := range itemNames(50) {
					rdb.LPush(context.Background(), name, it)
				}
			}
			var s seen
			o, logs := opts(Options{Concurrency: 2})
			res := runAsync(context.Background(), queue.New(rdb, name), func(ctx context.Context, item []byte) error {
				if s.add(item) == 10 {
					if err := rdb.FlushAll(ctx).Err(); err != nil {
						return err
					}
				}
				return nil
			}, o)
			r := await(t, res)
			if !errors.Is(r.err, ErrQueueLost) || r.sum.Drained || !strings.Contains(r.err.Error(), "vanished from Redis") {
				t.Fatalf("%+v %v\n%s", r.sum, r.err, logs)
			}
			if n := s.distinct(); n >= 50 {
				t.Errorf("handled %d items after the queue was flushed", n)
			}
		})
	}
}

// A worker that started on a queue stops when it is replaced by another of
// the same name, even one with items: those are not the items it was for.
func TestRunStopsWhenTheQueueIsReplaced(t *testing.T) {
	rdb := testClient(t)
	name := redistest.QueueName(t)
	seed(t, queue.New(rdb, name), itemNames(20)...)
	o, logs := opts(Options{})
	var n atomic.Int64
	sum, err := Run(context.Background(), queue.New(rdb, name), func(ctx context.Context, item []byte) error {
		if n.Add(1) == 3 {
			if _, err := queue.New(rdb, name).Delete(ctx); err != nil {
				return err
			}
			s := queue.New(rdb, name).NewSeeder(queue.SeedOptions{})
			for _, it := range itemNames(20) {
				_ = s.Add(ctx, []byte("new-"+it))
			}
			return s.Close(ctx)
		}
		return nil
	}, o)
	if !errors.Is(err, ErrQueueLost) || sum.Drained || !strings.Contains(err.Error(), "replaced") {
		t.Fatalf("%+v %v\n%s", sum, err, logs)
	}
}

// When another worker has taken over an item, the heartbeat says so and the
// completion is not recorded.
func TestRunReportsALostLease(t *testing.T) {
	rdb := testClient(t)
	name := redistest.QueueName(t)
	seed(t, queue.New(rdb, name), "x")
	q := queue.New(rdb, name)
	o, logs := opts(Options{Lease: 150 * time.Millisecond})
	sum, err := Run(context.Background(), q, func(ctx context.Context, item []byte) error {
		other := uuidLike()
		rdb.HSet(ctx, name+":holders", "x", other)
		rdb.Set(ctx, q.LeaseKey(item), other, time.Minute)
		waitFor(t, "the lost lease in the log", func() bool { return strings.Contains(logs.String(), "lost the lease") })
		// The other worker finishes it.
		rdb.LRem(ctx, name+":processing", 0, "x")
		rdb.HDel(ctx, name+":holders", "x")
		return nil
	}, o)
	if err != nil || sum != (Summary{Lost: 1, Drained: true}) {
		t.Fatalf("%+v %v\n%s", sum, err, logs)
	}
}

var otherSeq atomic.Int64

func uuidLike() string { return fmt.Sprintf("other-%d", otherSeq.Add(1)) }

// A worker on "q3:processing" would lease q3's leased items: Run refuses
// the name before touching Redis.
func TestRunRefusesAQueueNameThatIsAnotherQueuesKey(t *testing.T) {
	rdb := testClient(t)
	other := queue.New(rdb, redistest.QueueName(t))
	seed(t, other, "a")
	if _, err := other.Lease(context.Background(), 1, time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	o, logs := opts(Options{})
	ran := false
	_, err := Run(context.Background(), queue.New(rdb, other.Name()+":processing"), func(context.Context, []byte) error { ran = true; return nil }, o)
	if !errors.Is(err, queue.ErrInvalidName) || ran {
		t.Fatalf("err %v, ran %v\n%s", err, ran, logs)
	}
}

// The "seed dup a b a c b a": workers holding equal items at the
// same time each settle their own copy. Each copy runs once, and none is
// left in progress for reclaim (which would wait its grace, then run it again).
func TestRunWorksEachCopyOfEqualItemsOnce(t *testing.T) {
	rdb := testClient(t)
	name := redistest.QueueName(t)
	seed(t, queue.New(rdb, name), "a", "b", "a", "c", "b", "a")
	var s seen
	var results []<-chan result
	for range 3 {
		o, _ := opts(Options{Prefetch: 1, ReclaimGrace: time.Minute})
		results = append(results, runAsync(context.Background(), queue.New(rdb, name), func(_ context.Context, item []byte) error {
			s.add(item)
			time.Sleep(20 * time.Millisecond) // hold the copy while others lease theirs
			return nil
		}, o))
	}
	var done, lost int
	for _, ch := range results {
		r := await(t, ch)
		if r.err != nil || !r.sum.Drained {
			t.Fatalf("%+v %v", r.sum, r.err)
		}
		done, lost = done+r.sum.Done, lost+r.sum.Lost
	}
	if s.count("a") != 3 || s.count("b") != 2 || s.count("c") != 1 || done != 6 || lost != 0 {
		t.Fatalf("ran a %d, b %d, c %d times; done %d, lost %d", s.count("a"), s.count("b"), s.count("c"), done, lost)
	}
	if st := stats(t, queue.New(rdb, name)); st.Done != 6 || st.Reclaimed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

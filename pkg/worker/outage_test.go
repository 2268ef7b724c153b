package worker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// A Redis outage shorter than RedisTimeout is ridden out: calls are retried
// and every item is still done.
func TestRunRidesOutARedisOutage(t *testing.T) {
	rdb := testClient(t)
	name := redistest.QueueName(t)
	want := itemNames(20)
	seed(t, queue.New(rdb, name), want...)

	p := redistest.StartProxy(t, serverAddr)
	viaProxy := redis.NewClient(&redis.Options{Addr: p.Addr()})
	defer viaProxy.Close()

	var s seen
	o, logs := opts(Options{RedisTimeout: time.Minute, Lease: 3 * time.Second})
	res := runAsync(context.Background(), queue.New(viaProxy, name), func(_ context.Context, item []byte) error {
		if s.add(item) == 5 {
			p.Cut(true)
		}
		return nil
	}, o)
	waitFor(t, "the worker to notice the outage", func() bool { return strings.Contains(logs.String(), "retrying") })
	p.Cut(false)
	r := await(t, res)
	if r.err != nil || !r.sum.Drained || r.sum.Done+r.sum.Lost != 20 || s.distinct() != 20 {
		t.Fatalf("%+v %v; handled %d\n%s", r.sum, r.err, s.distinct(), logs)
	}
	if !strings.Contains(logs.String(), "redis answers again") {
		t.Errorf("log:\n%s", logs)
	}
	if st := stats(t, queue.New(rdb, name)); st.Done != 20 || st.Pending+st.Processing != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A Redis that accepts connections and never answers (packets dropped, as
// with a Service without endpoints) ends the Run at RedisTimeout: no dial,
// read or retry of one call runs past it.
func TestRunHonoursRedisTimeoutWhenRedisNeverAnswers(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	// Reads would wait 30 s each, four times a command, without the bound.
	rdb := redis.NewClient(&redis.Options{Addr: l.Addr().String(), ReadTimeout: 30 * time.Second, ContextTimeoutEnabled: true})
	defer rdb.Close()
	o, logs := opts(Options{RedisTimeout: 500 * time.Millisecond})
	begin := time.Now()
	_, err = Run(context.Background(), queue.New(rdb, "q"), func(context.Context, []byte) error { return nil }, o)
	if !errors.Is(err, ErrRedisUnreachable) {
		t.Fatalf("Run: %v\n%s", err, logs)
	}
	if d := time.Since(begin); d > 10*time.Second {
		t.Fatalf("gave up after %v with --redis-timeout 500ms", d)
	}
}

// An address that does not resolve before Redis ever answered is a missing
// Service, not a restart: Run gives up after UnresolvedTimeout, however
// long RedisTimeout is.
func TestUnresolvedIsADNSNotFound(t *testing.T) {
	err := &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "redis", IsNotFound: true}}
	if !Unresolved(fmt.Errorf("wrapped: %w", err)) {
		t.Error("no such host is not Unresolved")
	}
	if Unresolved(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "server misbehaving", Name: "redis", IsTemporary: true}}) {
		t.Error("a DNS server that fails is Unresolved")
	}
}

// A Redis restarted with its data (append-only file) is the same queue: the
// worker reconnects, and every item is done.
func TestRunRidesOutARedisRestartThatKeepsItsData(t *testing.T) {
	testClient(t) // skips without redis-server
	dir := t.TempDir()
	persistent := []string{"--appendonly", "yes", "--appendfsync", "everysec"}
	addr, stop, err := redistest.Launch(dir, persistent...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { stop() }()
	p := redistest.StartProxy(t, addr)
	rdb := redis.NewClient(&redis.Options{Addr: p.Addr()})
	defer rdb.Close()
	name := redistest.QueueName(t)
	seed(t, queue.New(rdb, name), itemNames(20)...)

	var s seen
	o, logs := opts(Options{RedisTimeout: time.Minute, Lease: 3 * time.Second})
	sum, err := Run(context.Background(), queue.New(rdb, name), func(_ context.Context, item []byte) error {
		if s.add(item) != 5 {
			return nil
		}
		p.Cut(true)
		stop() // SIGTERM: Redis writes its append-only file and exits
		addr, stop, err = redistest.Launch(dir, persistent...)
		if err != nil {
			return err
		}
		p.SetTarget(addr)
		p.Cut(false)
		return nil
	}, o)
	if err != nil || !sum.Drained || s.distinct() != 20 {
		t.Fatalf("%+v %v; handled %d\n%s", sum, err, s.distinct(), logs)
	}
	if st := stats(t, queue.New(rdb, name)); st.Done != 20 || st.Pending+st.Processing != 0 {
		t.Errorf("stats after the restart %+v", st)
	}
}

// A Redis filled up to its maxmemory (noeviction) refuses some writes until
// items leave it: the workers drain it all the same.
func TestRunDrainsAFullRedis(t *testing.T) {
	testClient(t) // skips without redis-server
	addr := redistest.Start(t, "--maxmemory", "4mb", "--maxmemory-policy", "noeviction")
	rdb := redistest.Client(t, addr, 32)
	name := redistest.QueueName(t)
	s := queue.New(rdb, name).NewSeeder(queue.SeedOptions{BatchSize: 10})
	item := strings.Repeat("x", 10000)
	var err error
	for i := 0; err == nil; i++ {
		err = s.Add(context.Background(), []byte(fmt.Sprintf("%06d%s", i, item)))
	}
	if !strings.Contains(err.Error(), "OOM") {
		t.Fatalf("seeding until full: %v", err)
	}
	pushed := int(s.Pushed())

	o, logs := opts(Options{Concurrency: 4, Lease: 300 * time.Millisecond, RedisTimeout: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // stuck workers retry forever
	defer cancel()
	sum, err := Run(ctx, queue.New(rdb, name), func(context.Context, []byte) error {
		time.Sleep(5 * time.Millisecond) // long enough for lease renewals on a full Redis
		return nil
	}, o)
	if err != nil || !sum.Drained || sum.Done != pushed {
		t.Fatalf("%+v %v, want %d done\n%s", sum, err, pushed, logs)
	}
}

// settleCall matches the calls that lease or settle items of queue name:
// the scripts that name its attempts (complete, complete and lease, fail)
// and the lease script, which names its live workers and lease times but
// not the items seen without a lease (reclaim does).
func settleCall(name string) func(args []string) bool {
	return func(args []string) bool {
		if len(args) == 0 || !strings.EqualFold(args[0], "evalsha") && !strings.EqualFold(args[0], "eval") {
			return false
		}
		has := func(key string) bool { return slices.Contains(args, name+":"+key) }
		return has("attempts") || has("workers") && has("leased_at") && !has("unleased")
	}
}

// A lease whose reply is lost after Redis ran it (the connection breaks on
// the way back) is sent again, on a new connection, by go-redis or, when
// go-redis does not retry, by the worker: the items the first one leased
// must still reach the worker, or they stay held by this live worker without
// its knowing, and the queue never drains. Completions sent again count as
// done, not as taken over by other workers.
func TestRunSurvivesLostLeaseReplies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		retries int
	}{{"sent again by go-redis", 0}, {"sent again by the worker", -1}} {
		t.Run(tc.name, func(t *testing.T) { survivesLostLeaseReplies(t, tc.retries) })
	}
}

func survivesLostLeaseReplies(t *testing.T, maxRetries int) {
	rdb := testClient(t)
	name := redistest.QueueName(t)
	want := itemNames(40)
	q := queue.New(rdb, name)
	seed(t, q, want...)
	// Redis knows the scripts already, so that the replies lost are those
	// of leases Redis ran, not of NOSCRIPT.
	if _, _, err := queue.New(rdb, name+"-warm").CompleteAndLease(context.Background(), nil, 1, time.Second); err != nil {
		t.Fatal(err)
	}

	p := redistest.StartProxy(t, serverAddr)
	p.LoseReplies(6, settleCall(name))
	viaProxy := redis.NewClient(&redis.Options{Addr: p.Addr(), MaxRetries: maxRetries})
	defer viaProxy.Close()
	var s seen
	// Leases far longer than the test: only a fix, not a lease that runs
	// out, can bring lost items back.
	o, logs := opts(Options{Concurrency: 2, Prefetch: 3, Lease: 5 * time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sum, err := Run(ctx, queue.New(viaProxy, name), func(_ context.Context, item []byte) error {
		s.add(item)
		return nil
	}, o)
	if p.Lost() == 0 {
		t.Fatal("no lease reply was lost: the test tests nothing")
	}
	if err != nil || !sum.Drained || sum.Done != len(want) || sum.Lost != 0 {
		t.Errorf("after %d lost replies: %+v, %v\n%s", p.Lost(), sum, err, logs)
	}
	for _, it := range want {
		if c := s.count(it); c != 1 {
			t.Errorf("%s handled %d times", it, c)
		}
	}
	if st := stats(t, q); st.Pending != 0 || st.Processing != 0 || st.Completed != int64(len(want)) {
		t.Errorf("stats %+v", st)
	}
}

// Errors that pass are retried, others end the Run. On a Redis Cluster a
// slot that moves answers MOVED, ASK and TRYAGAIN until every client follows;
// go-redis follows a few and then returns the last one. A client that is not
// a cluster's does not follow them at all.
func TestRetryableTellsErrorsThatPassFromOthers(t *testing.T) {
	rdb := testClient(t)
	ctx := context.Background()
	reply := func(msg string) error {
		return rdb.Eval(ctx, "return redis.error_reply(ARGV[1])", nil, msg).Err()
	}
	for msg, want := range map[string]bool{
		"MOVED 3999 127.0.0.1:6381":                                         true,
		"ASK 3999 127.0.0.1:6381":                                           true,
		"TRYAGAIN Multiple keys request during rehashing of slot":           true,
		"CLUSTERDOWN The cluster is down":                                   true,
		"LOADING Redis is loading the dataset in memory":                    true,
		"READONLY You can't write against a read only replica.":             true,
		"MASTERDOWN Link with MASTER is down":                               true,
		"NOREPLICAS Not enough good replicas to write.":                     true,
		"OOM command not allowed when used memory > 'maxmemory'.":           true,
		"BUSY Redis is busy running a script.":                              true,
		"WRONGTYPE Operation against a key holding the wrong kind of value": false,
		"NOPERM this user has no permissions":                               false,
		"STALE call 1 of a stream that made call 2":                         false,
		"ERR unknown command":                                               false,
	} {
		err := reply(msg)
		if err == nil || err.Error() != msg {
			t.Fatalf("error reply %q came back as %v", msg, err)
		}
		if got := retryable(err, true); got != want {
			t.Errorf("retryable(%q) = %v on a cluster, want %v", msg, got, want)
		}
		redirect := strings.HasPrefix(msg, "MOVED") || strings.HasPrefix(msg, "ASK")
		if got := retryable(err, false); got != (want && !redirect) {
			t.Errorf("retryable(%q) = %v with a single Redis's client, want %v", msg, got, want && !redirect)
		}
	}
}

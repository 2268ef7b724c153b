package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// cutProxy forwards TCP to target until it is cut: then it drops every
// connection and refuses new ones, until it is mended.
type cutProxy struct {
	l      net.Listener
	target string // guarded by mu
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{l: l, target: target}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		l.Close()
		p.setCut(true)
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); _, _ = io.Copy(s, c); s.Close() }()
		go func() { defer p.wg.Done(); _, _ = io.Copy(c, s); c.Close() }()
	}
}

// setTarget sends new connections to target.
func (p *cutProxy) setTarget(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = target
}

func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

// A Redis outage shorter than RedisTimeout is ridden out: calls are retried
// and every item is still done.
func TestRunRidesOutARedisOutage(t *testing.T) {
	rdb := testClient(t)
	name := redistest.QueueName(t)
	want := itemNames(20)
	seed(t, queue.New(rdb, name), want...)

	p := newCutProxy(t, serverAddr)
	viaProxy := redis.NewClient(&redis.Options{Addr: p.l.Addr().String()})
	defer viaProxy.Close()

	var s seen
	o, logs := opts(Options{RedisTimeout: time.Minute, Lease: 3 * time.Second})
	res := runAsync(context.Background(), queue.New(viaProxy, name), func(_ context.Context, item []byte) error {
		if s.add(item) == 5 {
			p.setCut(true)
		}
		return nil
	}, o)
	waitFor(t, "the worker to notice the outage", func() bool { return strings.Contains(logs.String(), "retrying") })
	p.setCut(false)
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
	p := newCutProxy(t, addr)
	rdb := redis.NewClient(&redis.Options{Addr: p.l.Addr().String()})
	defer rdb.Close()
	name := redistest.QueueName(t)
	seed(t, queue.New(rdb, name), itemNames(20)...)

	var s seen
	o, logs := opts(Options{RedisTimeout: time.Minute, Lease: 3 * time.Second})
	sum, err := Run(context.Background(), queue.New(rdb, name), func(_ context.Context, item []byte) error {
		if s.add(item) != 5 {
			return nil
		}
		p.setCut(true)
		stop() // SIGTERM: Redis writes its append-only file and exits
		addr, stop, err = redistest.Launch(dir, persistent...)
		if err != nil {
			return err
		}
		p.setTarget(addr)
		p.setCut(false)
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

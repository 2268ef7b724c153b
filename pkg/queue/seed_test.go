package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
)

func TestSeedIsFIFOForDocsWorkers(t *testing.T) {
	rdb := testClient(t)
	q := newQueue(t, rdb)
	want := items(20) // several batches of 7
	seed(t, q, want...)
	// A docs worker: BRPOPLPUSH from the right end.
	var got []string
	for range want {
		v, err := rdb.BRPopLPush(context.Background(), q.Name(), q.processingKey(), time.Second).Result()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("docs worker took %v, want %v", got, want)
	}
}

// Items are bytes: every length class of the batch encoding, empty, NUL,
// invalid UTF-8, and items larger than a whole batch may hold.
func TestSeedKeepsEveryItemByteForByte(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	var want [][]byte
	for _, n := range []int{0, 1, 31, 32, 255, 256, 65535, 65536, MaxBatchBytes + 1} {
		it := bytes.Repeat([]byte{0, 0xff, '\n', 'x'}, n/4+1)[:n]
		want = append(want, it, []byte(fmt.Sprintf("after-%d", n)))
	}
	s := q.NewSeeder(SeedOptions{BatchSize: 5})
	for _, it := range want {
		if err := s.Add(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(ctx); err != nil || s.Pushed() != int64(len(want)) {
		t.Fatalf("close: %v, pushed %d of %d", err, s.Pushed(), len(want))
	}
	got, err := rdb.LRange(ctx, q.Name(), 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("queue holds %d items, want %d", len(got), len(want))
	}
	for i, it := range want {
		if g := got[len(got)-1-i]; g != string(it) {
			t.Fatalf("item %d: got %d bytes %.20q, want %d bytes %.20q", i, len(g), g, len(it), it)
		}
	}
	if n, _ := rdb.HGet(ctx, q.statsKey(), "seeded").Int64(); n != int64(len(want)) {
		t.Fatalf("stats seeded %d, want %d", n, len(want))
	}
}

func TestSeedRefusesADrainedQueueUnlessForced(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	seed(t, q, "a") // a new queue seeds fine
	its, _ := q.Lease(ctx, 1, time.Minute, 0)
	q.Complete(ctx, its...)

	// Many batches: none of them may land after the first is refused.
	s := q.NewSeeder(SeedOptions{BatchSize: 10})
	for _, it := range items(2500) {
		if s.Add(ctx, []byte(it)) != nil {
			break
		}
	}
	err := s.Close(ctx)
	if !errors.Is(err, ErrDrained) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("seeding a drained queue: %v", err)
	}
	if n := rdb.LLen(ctx, q.Name()).Val(); n != 0 || s.Pushed() != 0 {
		t.Fatalf("refused seed left %d items, reported %d", n, s.Pushed())
	}
	s = q.NewSeeder(SeedOptions{Force: true})
	s.Add(ctx, []byte("b"))
	if err := s.Close(ctx); err != nil || s.Pushed() != 1 {
		t.Fatalf("forced seed: %v, pushed %d", err, s.Pushed())
	}
}

// Flush sends a partial batch at once, for input that arrives slowly.
func TestSeedFlushSendsAPartialBatch(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	s := q.NewSeeder(SeedOptions{})
	for _, it := range []string{"a", "b", "c"} {
		s.Add(ctx, []byte(it))
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	redistest.WaitFor(t, 5*time.Second, "3 flushed items", func() bool {
		return rdb.LLen(ctx, q.Name()).Val() == 3 && s.Pushed() == 3
	})
	s.Add(ctx, []byte("d"))
	if err := s.Close(ctx); err != nil || s.Pushed() != 4 {
		t.Fatalf("close: %v, pushed %d", err, s.Pushed())
	}
}

// A run stopped by its context says exactly how many items landed.
func TestSeedStoppedByItsContextCountsExactly(t *testing.T) {
	rdb := testClient(t)
	q := newQueue(t, rdb)
	s := q.NewSeeder(SeedOptions{})
	for _, it := range items(300_000) {
		if err := s.Add(context.Background(), []byte(it)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Close(ctx)
	var se *SeedError
	if !errors.As(err, &se) || !errors.Is(err, context.Canceled) || se.Uncertain != 0 {
		t.Fatalf("want a settled SeedError for a cancelled context, got %v", err)
	}
	if n := rdb.LLen(context.Background(), q.Name()).Val(); se.Pushed != n || s.Pushed() != n {
		t.Fatalf("reported %d (Pushed %d), queue holds %d", se.Pushed, s.Pushed(), n)
	}
}

// breakingDialer dials serverAddr; once budget bytes have been written over
// all its connections, it cuts the connection that writes more, the way a
// port-forward breaks in the middle of a pipeline. Without redial, the cut
// ends every connection and new ones fail (the port-forward is gone); with
// it, only that one ends. With onRead, the cut comes after the write, before
// the replies are read: Redis has the commands, the client never hears back.
type breakingDialer struct {
	budget atomic.Int64
	cut    atomic.Bool
	redial bool
	onRead bool

	mu    sync.Mutex
	conns []net.Conn
}

func (d *breakingDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cut.Load() && !d.redial {
		return nil, errors.New("port-forward gone")
	}
	c, err := net.Dial(network, serverAddr)
	if err != nil {
		return nil, err
	}
	d.conns = append(d.conns, c)
	return &breakingConn{Conn: c, d: d}, nil
}

// cutOff cuts c and, without redial, every other connection.
func (d *breakingDialer) cutOff(c net.Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cut.Store(true)
	c.Close()
	if !d.redial {
		for _, c := range d.conns {
			c.Close()
		}
	}
}

type breakingConn struct {
	net.Conn
	d       *breakingDialer
	overrun bool
}

func (c *breakingConn) Write(p []byte) (int, error) {
	if c.d.budget.Add(-int64(len(p))) < 0 && !c.d.cut.Load() {
		if !c.d.onRead {
			c.d.cutOff(c.Conn)
			return 0, errors.New("connection cut by test")
		}
		c.overrun = true
	}
	return c.Conn.Write(p)
}

func (c *breakingConn) Read(p []byte) (int, error) {
	if c.overrun && !c.d.cut.Load() {
		c.d.cutOff(c.Conn)
		return 0, io.EOF
	}
	return c.Conn.Read(p)
}

func breakingClient(t *testing.T, d *breakingDialer, budget int64, retries int) *redis.Client {
	testClient(t) // skips without a redis-server
	d.budget.Store(budget)
	rdb := redis.NewClient(&redis.Options{Addr: serverAddr, Dialer: d.dial, MaxRetries: retries})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func seedAll(s *Seeder, its []string) error {
	for _, it := range its {
		if err := s.Add(context.Background(), []byte(it)); err != nil {
			return err
		}
	}
	return s.Close(context.Background())
}

func TestSeedBrokenOffReportsExactlyWhatWasPushed(t *testing.T) {
	ctx := context.Background()
	rdb := breakingClient(t, &breakingDialer{redial: true}, 3<<20, -1) // ~3 MiB of a ~14 MiB run
	q := newQueue(t, rdb)
	s := q.NewSeeder(SeedOptions{})
	err := seedAll(s, items(1_000_000))
	var se *SeedError
	if !errors.As(err, &se) {
		t.Fatalf("want a SeedError, got %v", err)
	}
	n, lerr := rdb.LLen(ctx, q.Name()).Result()
	if lerr != nil {
		t.Fatal(lerr)
	}
	if se.Pushed == 0 || se.Pushed != n || n%1000 != 0 || se.Uncertain != 0 || s.Pushed() != n {
		t.Fatalf("reported %d pushed (%d uncertain), queue holds %d", se.Pushed, se.Uncertain, n)
	}
	if !strings.Contains(err.Error(), fmt.Sprint(n)) {
		t.Fatalf("message does not give the count: %v", err)
	}
}

// When the broken connection's client cannot be used any more (a killed
// connection also ends its port-forward), Settle asks through a new one.
func TestSeedBrokenOffIsSettledThroughANewConnection(t *testing.T) {
	ctx := context.Background()
	q := newQueue(t, breakingClient(t, &breakingDialer{}, 3<<20, -1))
	s := q.NewSeeder(SeedOptions{})
	err := seedAll(s, items(1_000_000))
	var se *SeedError
	if !errors.As(err, &se) || se.Uncertain == 0 {
		t.Fatalf("want an uncertain SeedError, got %v", err)
	}
	if !strings.Contains(err.Error(), "may have been pushed") {
		t.Fatalf("message: %v", err)
	}
	err = s.Settle(ctx, testClient(t))
	n := testClient(t).LLen(ctx, q.Name()).Val()
	if !errors.As(err, &se) || se.Uncertain != 0 || se.Pushed != n || n == 0 || s.Pushed() != n {
		t.Fatalf("settled: %v; queue holds %d", err, n)
	}
}

// go-redis sends a whole pipeline again, on a new connection, when the
// replies of the first attempt are lost; Redis has run its commands by then.
// Each batch must still land once.
func TestSeedLostRepliesDoNotPushBatchesTwice(t *testing.T) {
	ctx := context.Background()
	d := &breakingDialer{redial: true, onRead: true}
	rdb := breakingClient(t, d, 3<<20, 3)
	q := newQueue(t, rdb)
	s := q.NewSeeder(SeedOptions{})
	its := items(500_000)
	if err := seedAll(s, its); err != nil {
		t.Fatal(err)
	}
	if !d.cut.Load() {
		t.Fatal("the test did not cut a connection")
	}
	got, err := rdb.LRange(ctx, q.Name(), 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(its) || s.Pushed() != int64(len(its)) {
		t.Fatalf("queue holds %d items, reported %d, want %d", len(got), s.Pushed(), len(its))
	}
	for i, it := range its {
		if got[len(got)-1-i] != it {
			t.Fatalf("item %d is %q, want %q", i, got[len(got)-1-i], it)
		}
	}
}

// SCRIPT FLUSH in the middle of a run: the rest is sent again, and nothing
// lands twice.
func TestSeedSurvivesAScriptFlush(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	s := q.NewSeeder(SeedOptions{BatchSize: 100})
	its := items(200_000)
	for i, it := range its {
		if i == 100_000 {
			rdb.ScriptFlush(ctx)
		}
		if err := s.Add(ctx, []byte(it)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := rdb.LLen(ctx, q.Name()).Val(); n != int64(len(its)) || s.Pushed() != n {
		t.Fatalf("queue holds %d, reported %d, want %d", n, s.Pushed(), len(its))
	}
}

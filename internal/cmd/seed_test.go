package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redisconn"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

func TestSeedArgumentsInOrderAndReportsTheCount(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	r := mustRun(t, "", url, "seed", q, "apple", "banana", "cherry")
	if want := fmt.Sprintf("seeded 3 items into queue %q (3 pending)\n", q); r.out != want {
		t.Fatalf("stdout %q, want %q", r.out, want)
	}
	// Workers pop from the right: the first item given comes first.
	got := redisClient(t).LRange(context.Background(), q, 0, -1).Val()
	if strings.Join(got, ",") != "cherry,banana,apple" {
		t.Fatalf("list %v", got)
	}
}

func TestSeedFromStdinKeepsBytesAndNulSeparatedItems(t *testing.T) {
	url := redisURL(t)
	rdb := redisClient(t)
	ctx := context.Background()

	lines := redistest.QueueName(t) + "-lines"
	mustRun(t, "a\r\nb\n\nc", url, "seed", lines, "-f", "-")
	if got := rdb.LRange(ctx, lines, 0, -1).Val(); strings.Join(got, ",") != "c,b,a" {
		t.Fatalf("lines: %q (CRLF and empty lines must not make items)", got)
	}

	nul := redistest.QueueName(t) + "-nul"
	in := "two\nlines\x00\xff\xfebinary\x00last"
	mustRun(t, in, url, "seed", nul, "-0", "-f", "-")
	got := rdb.LRange(ctx, nul, 0, -1).Val()
	want := []string{"last", "\xff\xfebinary", "two\nlines"}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Fatalf("NUL items %q, want %q", got, want)
	}
}

func TestSeedFromAFile(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	path := filepath.Join(t.TempDir(), "items.txt")
	var b strings.Builder
	for i := 0; i < 25000; i++ {
		fmt.Fprintf(&b, "item-%d\n", i)
	}
	os.WriteFile(path, []byte(b.String()), 0o644)
	r := mustRun(t, "", url, "seed", q, "-f", path)
	if !strings.Contains(r.out, "seeded 25000 items") {
		t.Fatalf("stdout %q", r.out)
	}
	if r.errOut != "" {
		t.Fatalf("progress or chatter on a non-terminal: %q", r.errOut)
	}
}

func TestSeedWarnsAboutDuplicatesAndUniqueSkipsThem(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	r := mustRun(t, "", url, "seed", q, "a", "b", "a")
	if !strings.Contains(r.errOut, "1 duplicate items") || !strings.Contains(r.errOut, "--unique") {
		t.Fatalf("no duplicate warning: %q", r.errOut)
	}
	r = mustRun(t, "", url, "seed", q+"-u", "--unique", "a", "b", "a")
	if !strings.Contains(r.out, "seeded 2 items") || !strings.Contains(r.out, "skipped 1 duplicates") {
		t.Fatalf("--unique: %q", r.out)
	}
}

func TestSeedBadInputIsAClearErrorAndPushesNothing(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"seed", q}, "no items given"},
		{[]string{"seed", q, "a", "-f", "x"}, "not both"},
		{[]string{"seed", q, "-f", "/nonexistent/items"}, "no such file"},
		{[]string{"seed", q, "-0", "a"}, "-0 reads"},
		{[]string{"seed", q, "--batch-size", "0", "a"}, "--batch-size"},
		{[]string{"seed", q, "-f", "-"}, "no items in the input"},
	} {
		r := run(t, "", append([]string{url}, tc.args...)...)
		if r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.args, r.err, tc.want)
		}
	}
	if n := redisClient(t).Exists(context.Background(), q).Val(); n != 0 {
		t.Fatal("bad input pushed items")
	}
}

func TestSeedRefusesADrainedQueueUnlessForced(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	mustRun(t, "", url, "seed", q, "a")
	ctx := context.Background()
	w := queue.New(redisClient(t), q)
	its, _ := w.Lease(ctx, 1, time.Minute, 0)
	w.Complete(ctx, its...)

	r := run(t, "", url, "seed", q, "b")
	if r.err == nil || !strings.Contains(r.err.Error(), "--force") {
		t.Fatalf("seeding a drained queue: %v", r.err)
	}
	mustRun(t, "", url, "seed", q, "--force", "b")
}

func TestSeedAtAKeyOfAnotherTypeNamesTheProblem(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	redisClient(t).Set(context.Background(), q, "x", 0)
	r := run(t, "", url, "seed", q, "a")
	if r.err == nil || !strings.Contains(r.err.Error(), "not a list") {
		t.Fatalf("error %v", r.err)
	}
}

// Past what the duplicate check holds, the warning says how far it looked,
// and still counts repeats of what it holds.
func TestSeedDuplicateWarningSaysHowFarItLooked(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	defer func(n int) { maxHashSlots = n }(maxHashSlots)
	maxHashSlots = 1 << 16 // full at 49152 items
	var b strings.Builder
	for i := range 60000 {
		fmt.Fprintf(&b, "item-%d\n", i)
	}
	b.WriteString("item-7\n")
	r := mustRun(t, b.String(), url, "seed", q, "-f", "-")
	if !strings.Contains(r.errOut, "1 duplicate items") || !strings.Contains(r.errOut, "only among the first 49152 of the 60001 items") {
		t.Fatalf("stderr %q", r.errOut)
	}
}

// runInput runs the plugin with in as its stdin, which may pause or never end.
func runInput(ctx context.Context, in io.Reader, args ...string) result {
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	streams.In = in
	cmd := newRootCmd(newFactory(), streams)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	return result{out: out.String(), errOut: errOut.String(), err: err}
}

// Items written to a pipe that then pauses reach the queue without waiting
// for a full batch or the end of the input.
func TestSeedPushesWhatAPausedPipeHasSent(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	rdb := redisClient(t)
	ctx := context.Background()
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	done := make(chan result, 1)
	go func() { done <- runInput(ctx, pr, url, "seed", q, "-f", "-") }()

	pw.Write([]byte("a\nb\nc\n"))
	redistest.WaitFor(t, 10*time.Second, "the 3 items written so far in the queue", func() bool {
		return rdb.LLen(ctx, q).Val() == 3
	})
	pw.Write([]byte("d\n"))
	pw.Close()
	r := <-done
	if r.err != nil || !strings.Contains(r.out, "seeded 4 items") {
		t.Fatalf("seed: %v\nstdout: %s", r.err, r.out)
	}
	if got := rdb.LRange(ctx, q, 0, -1).Val(); strings.Join(got, ",") != "d,c,b,a" {
		t.Fatalf("list %v", got)
	}
}

// pausingReader returns data, then, on the next read, signals that it has
// been asked for more and blocks until the test ends.
type pausingReader struct {
	data    []byte
	waiting chan struct{}
	release chan struct{}
}

func newPausingReader(t *testing.T, data string) *pausingReader {
	r := &pausingReader{data: []byte(data), waiting: make(chan struct{}), release: make(chan struct{})}
	t.Cleanup(func() { close(r.release) })
	return r
}

func (r *pausingReader) Read(p []byte) (int, error) {
	if len(r.data) > 0 {
		n := copy(p, r.data)
		r.data = r.data[n:]
		return n, nil
	}
	close(r.waiting)
	<-r.release
	return 0, io.EOF
}

// Ctrl-C while the input pauses: what was read is pushed, seed says how many
// and how to continue, and exits 130. Continuing with --skip pushes the rest
// exactly once.
func TestSeedInterruptedPushesWhatWasReadAndSaysHowToContinue(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	rdb := redisClient(t)
	defer func(d time.Duration) { seedIdleFlush = d }(seedIdleFlush)
	seedIdleFlush = time.Hour // only the interruption may push the items

	r := interruptAfterReading(t, "a\nb\nc\n", url, "seed", q, "-f", "-")
	if n := rdb.LLen(context.Background(), q).Val(); n != 3 {
		t.Fatalf("queue holds %d items after Ctrl-C, want the 3 read", n)
	}
	if !strings.Contains(r.errOut, "seeded 3 items") || !strings.Contains(r.errOut, "--skip 3") {
		t.Fatalf("stderr %q: want the count and --skip 3", r.errOut)
	}

	r = mustRun(t, "a\nb\nc\nd\ne\n", url, "seed", q, "-f", "-", "--skip", "3")
	if !strings.Contains(r.out, "seeded 2 items") {
		t.Fatalf("stdout %q", r.out)
	}
	if got := rdb.LRange(context.Background(), q, 0, -1).Val(); strings.Join(got, ",") != "e,d,c,b,a" {
		t.Fatalf("list %v", got)
	}
}

// Ctrl-C with batches in flight and chunks read but not yet taken: every
// item read lands.
func TestSeedInterruptedWithBatchesInFlightPushesEveryItemRead(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	var b strings.Builder
	for i := range 200_000 {
		fmt.Fprintf(&b, "item-%d\n", i)
	}
	r := interruptAfterReading(t, b.String(), url, "seed", q, "-f", "-")
	if n := redisClient(t).LLen(context.Background(), q).Val(); n != 200_000 || !strings.Contains(r.errOut, "seeded 200000 items") {
		t.Fatalf("queue holds %d items after Ctrl-C, want the 200000 read; stderr %q", n, r.errOut)
	}
}

// interruptAfterReading runs the plugin on input that pauses after data,
// cancels its context (Ctrl-C) once all of data has been read, and expects
// it to return ErrInterrupted.
func interruptAfterReading(t *testing.T, data string, args ...string) result {
	t.Helper()
	in := newPausingReader(t, data)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 1)
	go func() { done <- runInput(ctx, in, args...) }()
	<-in.waiting
	cancel()
	r := <-done
	if !errors.Is(r.err, ErrInterrupted) || ExitCode(r.err) != ExitInterrupted {
		t.Fatalf("error %v, want ErrInterrupted", r.err)
	}
	return r
}

func TestSeedSkipCountsTheItemsThatWouldBePushed(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	rdb := redisClient(t)
	ctx := context.Background()
	// Duplicates that --unique drops are not among the skipped.
	r := mustRun(t, "", url, "seed", q, "--unique", "--skip", "2", "a", "a", "b", "a", "c", "d")
	if got := rdb.LRange(ctx, q, 0, -1).Val(); strings.Join(got, ",") != "d,c" {
		t.Fatalf("list %v (stdout %q)", got, r.out)
	}

	r = mustRun(t, "", url, "seed", q+"-all", "--skip", "3", "a", "b", "c")
	if !strings.Contains(r.out, "nothing left to seed") || rdb.Exists(ctx, q+"-all").Val() != 0 {
		t.Fatalf("--skip of the whole input: %q", r.out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--skip", "4", "a", "b", "c"}, "only 3 items"},
		{[]string{"--skip", "-1", "a"}, "--skip -1"},
	} {
		r := run(t, "", append([]string{url, "seed", q + "-bad"}, tc.args...)...)
		if r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.args, r.err, tc.want)
		}
	}
	if rdb.Exists(ctx, q+"-bad").Val() != 0 {
		t.Fatal("a refused --skip pushed items")
	}
}

// cuttingProxy forwards connections to target until one carries the byte
// past its budget; then it dies as a port-forward does: every connection
// through it ends, and new ones are refused.
type cuttingProxy struct {
	ln     net.Listener
	budget atomic.Int64
	cut    atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func startCuttingProxy(t *testing.T, target string, budget int64) *cuttingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttingProxy{ln: ln}
	t.Cleanup(p.die)
	p.budget.Store(budget)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() {
				io.Copy(c, s)
				c.Close()
			}()
			go p.forward(c, s)
		}
	}()
	return p
}

func (p *cuttingProxy) forward(c, s net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 && p.budget.Add(-int64(n)) < 0 {
			p.cut.Store(true)
			p.die()
			return
		}
		if n > 0 {
			if _, err := s.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			s.Close()
			return
		}
	}
}

func (p *cuttingProxy) die() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// The port-forward dies in the middle: seed asks through a new one how many
// items landed, says exactly that and how to continue, and continuing
// completes the queue with every item once, in order.
func TestSeedCutOffSaysExactlyHowManyAndHowToContinue(t *testing.T) {
	url := redisURL(t)
	q := redistest.QueueName(t)
	rdb := redisClient(t)
	ctx := context.Background()
	const n = 300_000
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "item-%07d\n", i)
	}
	path := filepath.Join(t.TempDir(), "items.txt")
	os.WriteFile(path, []byte(b.String()), 0o644)

	proxy := startCuttingProxy(t, redisAddr, 1<<20)
	f := newFactory()
	connects := 0
	f.connect = func(ctx context.Context, streams genericiooptions.IOStreams) (*redisconn.Conn, error) {
		connects++
		addr := redisAddr
		if connects == 1 {
			addr = proxy.ln.Addr().String()
		}
		return redisconn.Connect(ctx, redisconn.Options{URL: "redis://" + addr}, nil, nil, streams.ErrOut)
	}
	r := runWith(t, ctx, f, "", "seed", q, "-f", path)
	if r.err == nil || !proxy.cut.Load() {
		t.Fatalf("seed through a port-forward that dies: %v", r.err)
	}
	m := regexp.MustCompile(`stopped after (\d+) items were pushed.*--skip (\d+)$`).FindStringSubmatch(r.err.Error())
	if m == nil || m[1] != m[2] {
		t.Fatalf("error %q: want the exact count and --skip with it", r.err)
	}
	pushed, _ := strconv.ParseInt(m[1], 10, 64)
	if held := rdb.LLen(ctx, q).Val(); held != pushed || pushed == 0 || pushed == n {
		t.Fatalf("reported %d pushed, queue holds %d", pushed, held)
	}

	mustRun(t, "", url, "seed", q, "-f", path, "--skip", m[2])
	got := rdb.LRange(ctx, q, 0, -1).Val()
	if len(got) != n {
		t.Fatalf("queue holds %d items after continuing, want %d", len(got), n)
	}
	for i := range n {
		if want := fmt.Sprintf("item-%07d", i); got[n-1-i] != want {
			t.Fatalf("item %d is %q, want %q", i, got[n-1-i], want)
		}
	}
}

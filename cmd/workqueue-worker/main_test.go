package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/worker"
)

var (
	serverAddr string
	binary     string // the workqueue-worker built for these tests
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

// testMain builds the binary once, and starts one redis-server for all the
// tests.
func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "workqueue-worker-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, name)
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	if _, err := exec.LookPath("redis-server"); err == nil || os.Getenv("CI") == "true" {
		addr, stop, err := redistest.Launch(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer stop()
		serverAddr = addr
	}
	return m.Run()
}

func testClient(t testing.TB) *redis.Client {
	t.Helper()
	return redistest.Client(t, serverAddr, 0)
}

// newQueue seeds a queue of its own for the test.
func newQueue(t testing.TB, rdb *redis.Client, items ...string) *queue.Queue {
	t.Helper()
	q := queue.New(rdb, redistest.QueueName(t))
	redistest.Seed(t, q.NewSeeder(queue.SeedOptions{}), items...)
	return q
}

func stats(t *testing.T, q *queue.Queue) *queue.Stats {
	t.Helper()
	st, err := q.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// proc is a running workqueue-worker.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr redistest.SyncBuffer
	exited         chan struct{}
	err            error
}

// start runs the worker on q with env (besides PATH and the queue's
// address) and args.
func start(t *testing.T, q *queue.Queue, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), exited: make(chan struct{})}
	// The race detector sleeps a second at exit unless told not to.
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "GORACE=atexit_sleep_ms=0"}, env...)
	if q != nil {
		p.cmd.Env = append(p.cmd.Env, "WORKQUEUE_QUEUE="+q.Name(), "WORKQUEUE_REDIS_ADDR="+serverAddr)
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.WaitDelay = time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	return p
}

// wait waits for the worker to exit and returns its exit status.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("worker did not exit\nstdout:\n%s\nstderr:\n%s", &p.stdout, &p.stderr)
	}
	var exitErr *exec.ExitError
	if errors.As(p.err, &exitErr) {
		return exitErr.ExitCode()
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	return 0
}

// runWorker runs the worker to its end.
func runWorker(t *testing.T, q *queue.Queue, env []string, args ...string) (int, *proc) {
	t.Helper()
	p := start(t, q, env, args...)
	return p.wait(t), p
}

// waitFor polls cond until it holds, or fails the test after 20s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	redistest.WaitFor(t, 20*time.Second, what, cond)
}

func lines(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	slices.Sort(out)
	return out
}

// record is a command that appends its item, a line, to $OUT.
const record = `printf '%s\n' "$1" >> "$OUT"`

func TestWorkerCompletesItems(t *testing.T) {
	rdb := testClient(t)
	q := newQueue(t, rdb, "a", "b", "c", "d", "e")
	out := filepath.Join(t.TempDir(), "out")
	code, p := runWorker(t, q, []string{"OUT=" + out}, "--", "sh", "-c", record, "sh", "{}")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, &p.stderr)
	}
	if got := lines(t, out); !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
		t.Errorf("done %q", got)
	}
	if want := "workqueue-worker: queue " + q.Name() + " drained: 5 done, 0 failed\n"; p.stderr.String() != want {
		t.Errorf("stderr %q, want %q", &p.stderr, want)
	}
	if st := stats(t, q); st.Done != 5 || st.Pending+st.Processing != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestWorkerRetriesThenDeadLettersAFailingCommand(t *testing.T) {
	rdb := testClient(t)
	q := newQueue(t, rdb, "bad")
	code, p := runWorker(t, q, []string{"WORKQUEUE_MAX_ATTEMPTS=5", "WORKQUEUE_POD=wq-bad-x7k2p"}, "--max-attempts", "2", "--",
		"sh", "-c", `echo "working on $1"; echo "cannot do $1" >&2; echo >&2; exit 3`, "sh", "{}")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, &p.stderr)
	}
	st := stats(t, q)
	if st.Failed != 1 || st.Retried != 1 || st.Pending+st.Processing != 0 {
		t.Fatalf("stats %+v", st)
	}
	errs := p.stderr.String()
	for _, want := range []string{
		`item failed; queued again item=bad error="exit status 3: cannot do bad"`,
		`item failed 2 times; moved to the dead-letter list item=bad error="exit status 3: cannot do bad"`,
		"drained: 0 done, 2 failed (1 retried, 1 dead-lettered); see them with: kubectl workqueue items " + q.Name(),
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if p.stdout.String() != "working on bad\nworking on bad\n" {
		t.Errorf("stdout %q", &p.stdout)
	}
	failed := failedItems(t, q)
	if len(failed) != 1 || failed[0].Attempts != 2 || len(failed[0].Errors) != 2 {
		t.Fatalf("failed items %+v", failed)
	}
	for _, e := range failed[0].Errors {
		if e.Error != "exit status 3: cannot do bad" || e.Worker != "wq-bad-x7k2p" {
			t.Errorf("recorded attempt %+v, want the reason and the pod", e)
		}
	}
}

func failedItems(t *testing.T, q *queue.Queue) []queue.ItemInfo {
	t.Helper()
	var out []queue.ItemInfo
	err := q.Items(context.Background(), queue.Failed, queue.ListOptions{}, func(it *queue.ItemInfo) error {
		out = append(out, *it)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A command that hangs is stopped after --item-timeout, and the attempt
// fails; one that ignores SIGTERM is killed --shutdown-grace later.
func TestWorkerItemTimeout(t *testing.T) {
	rdb := testClient(t)
	q := newQueue(t, rdb, "hangs", "quick", "deaf")
	start := time.Now()
	code, p := runWorker(t, q, []string{"WORKQUEUE_ITEM_TIMEOUT=300ms"}, "--max-attempts", "1", "--shutdown-grace", "500ms", "--",
		"sh", "-c", `case $1 in quick) exit 0;; deaf) trap '' TERM;; esac; echo "$1 starts" >&2; sleep 30`, "sh", "{}")
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, &p.stderr)
	}
	if took > 15*time.Second {
		t.Errorf("took %v: the hung commands were not stopped", took.Round(time.Millisecond))
	}
	failed := failedItems(t, q)
	if len(failed) != 2 {
		t.Fatalf("failed %+v\n%s", failed, &p.stderr)
	}
	for _, it := range failed {
		if want := "timed out after 300ms: " + string(it.Value) + " starts"; it.Errors[0].Error != want {
			t.Errorf("%s: reason %q, want %q", it.Value, it.Errors[0].Error, want)
		}
	}
	if st := stats(t, q); st.Done != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestWorkerFailedExitCode(t *testing.T) {
	rdb := testClient(t)
	q := newQueue(t, rdb, "good", "bad")
	fail := `[ "$1" != bad ]`
	code, p := runWorker(t, q, nil, "--failed-exit-code", "3", "--max-attempts", "1", "--", "sh", "-c", fail, "sh", "{}")
	if code != 3 {
		t.Errorf("exit %d with a dead-lettered item and --failed-exit-code 3\n%s", code, &p.stderr)
	}
	q = newQueue(t, rdb, "good")
	if code, p := runWorker(t, q, nil, "--failed-exit-code", "3", "--", "sh", "-c", fail, "sh", "{}"); code != 0 {
		t.Errorf("exit %d with nothing dead-lettered\n%s", code, &p.stderr)
	}
}

// A worker killed mid-item loses nothing: another worker, which waits while
// the item is held, reclaims it once the dead worker's lease has lapsed.
func TestWorkerKilledMidItemIsReclaimedByAnother(t *testing.T) {
	rdb := testClient(t)
	q := newQueue(t, rdb, "slow", "b", "c")
	out := filepath.Join(t.TempDir(), "out")
	script := `if [ -n "$SLOW" ]; then echo "started $$"; exec sleep 30; fi; ` + record
	a := start(t, q, []string{"OUT=" + out, "SLOW=1"}, "--lease", "1s", "--", "sh", "-c", script, "sh", "{}")
	var pgid int
	waitFor(t, "the first worker's command to start", func() bool {
		_, err := fmt.Sscanf(a.stdout.String(), "started %d", &pgid)
		return err == nil
	})
	t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })

	b := start(t, q, []string{"OUT=" + out}, "--reclaim-grace", "100ms", "--", "sh", "-c", script, "sh", "{}")
	waitFor(t, "the second worker to do the other items", func() bool { return len(lines(t, out)) == 2 })
	select {
	case <-b.exited:
		t.Fatalf("the second worker exited while an item was held by a live worker:\n%s", &b.stderr)
	default:
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // what it ran lives on: the pod would be gone
	a.wait(t)

	if code := b.wait(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, &b.stderr)
	}
	if got := lines(t, out); !slices.Equal(got, []string{"b", "c", "slow"}) {
		t.Fatalf("done %q\n%s", got, &b.stderr)
	}
	if st := stats(t, q); st.Reclaimed != 1 || st.Done != 3 {
		t.Fatalf("stats %+v", st)
	}
	if !strings.Contains(b.stderr.String(), "reclaimed 1 item") {
		t.Errorf("stderr:\n%s", &b.stderr)
	}
}

// On SIGTERM the command gets SIGTERM and the grace; one that ignores it is
// killed after the grace, and its item is back in the queue as the worker
// exits: not after its lease (an hour) expires.
func TestWorkerSIGTERMReturnsTheItemAtOnce(t *testing.T) {
	rdb := testClient(t)
	q := newQueue(t, rdb, "x", "y")
	p := start(t, q, nil, "--lease", "1h", "--shutdown-grace", "300ms", "--",
		"sh", "-c", `trap "" TERM; echo started; exec sleep 30`)
	waitFor(t, "the command to start", func() bool { return strings.Contains(p.stdout.String(), "started") })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()
	code := p.wait(t)
	if st := stats(t, q); st.Pending != 2 || st.Processing != 0 || st.Retried != 0 {
		t.Fatalf("right after the worker exited: %+v", st)
	}
	if code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit %d, want %d\n%s", code, 128+int(syscall.SIGTERM), &p.stderr)
	}
	if d := time.Since(signalled); d > 10*time.Second {
		t.Errorf("took %v to stop", d)
	}
	if want := "stopped by SIGTERM before queue " + q.Name() + " was drained: 0 done, 0 failed, 1 released to the queue"; !strings.Contains(p.stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, &p.stderr)
	}
}

// A command that finishes its item within the grace completes it.
func TestWorkerSIGTERMLetsTheCommandFinish(t *testing.T) {
	rdb := testClient(t)
	q := newQueue(t, rdb, "x", "y")
	p := start(t, q, nil, "--shutdown-grace", "20s", "--",
		"sh", "-c", `trap 'echo "finishing $1"; exit 0' TERM; sleep 30 & echo started; wait`, "sh", "{}")
	waitFor(t, "the command to start", func() bool { return strings.Contains(p.stdout.String(), "started") })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit %d\n%s", code, &p.stderr)
	}
	if p.stdout.String() != "started\nfinishing x\n" {
		t.Errorf("stdout %q", &p.stdout)
	}
	if st := stats(t, q); st.Done != 1 || st.Pending != 1 || st.Processing != 0 {
		t.Fatalf("stats %+v\n%s", st, &p.stderr)
	}
}

// Items reach the command byte for byte on stdin, and in $WORKQUEUE_ITEM
// when they are valid UTF-8 without NUL.
func TestWorkerDeliversItemsIntact(t *testing.T) {
	rdb := testClient(t)
	items := []string{"plain", "two\nlines", "trailing newline\n", "\xff\xfe not utf-8", "nul \x00 inside", "", "{}", "héllo wörld", "  padded  ", "$HOME `x` 'q' \"d\""}
	q := newQueue(t, rdb, items...)
	dir := t.TempDir()
	script := `cat > "$D/tmp.$$"; h=$(sha256sum < "$D/tmp.$$" | cut -d" " -f1); mv "$D/tmp.$$" "$D/$h"; ` +
		`if [ "${WORKQUEUE_ITEM+set}" = set ]; then printf %s "$WORKQUEUE_ITEM" > "$D/$h.env"; fi`
	code, p := runWorker(t, q, []string{"D=" + dir, "WORKQUEUE_ITEM=inherited"}, "--", "sh", "-c", script)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, &p.stderr)
	}
	for _, it := range items {
		sum := sha256.Sum256([]byte(it))
		h := hex.EncodeToString(sum[:])
		got, err := os.ReadFile(filepath.Join(dir, h))
		if err != nil || string(got) != it {
			t.Errorf("item %q: stdin was %q (%v)", it, got, err)
		}
		env, err := os.ReadFile(filepath.Join(dir, h+".env"))
		if utf8.ValidString(it) && !strings.Contains(it, "\x00") {
			if err != nil || string(env) != it {
				t.Errorf("item %q: $WORKQUEUE_ITEM was %q (%v)", it, env, err)
			}
		} else if err == nil {
			t.Errorf("item %q: $WORKQUEUE_ITEM set to %q", it, env)
		}
	}
}

func TestWorkerSubstitutesBraces(t *testing.T) {
	rdb := testClient(t)
	q := newQueue(t, rdb, "a b", "x")
	out := filepath.Join(t.TempDir(), "out")
	code, p := runWorker(t, q, []string{"OUT=" + out}, "--", "sh", "-c", `printf '%s|%s\n' "$1" "$2" >> "$OUT"`, "sh", "{}", "pre-{}-{}")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, &p.stderr)
	}
	if got := lines(t, out); !slices.Equal(got, []string{"a b|pre-a b-a b", "x|pre-x-x"}) {
		t.Errorf("got %q", got)
	}
}

// --max-items 1 (here from the environment) is the docs' pod-per-item pattern.
func TestWorkerMaxItemsOne(t *testing.T) {
	rdb := testClient(t)
	q := newQueue(t, rdb, "a", "b", "c")
	out := filepath.Join(t.TempDir(), "out")
	code, p := runWorker(t, q, []string{"OUT=" + out, "WORKQUEUE_MAX_ITEMS=1"}, "--concurrency", "2", "--prefetch", "2", "--", "sh", "-c", record, "sh", "{}")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, &p.stderr)
	}
	if got := lines(t, out); !slices.Equal(got, []string{"a"}) {
		t.Errorf("done %q", got)
	}
	if st := stats(t, q); st.Done != 1 || st.Pending != 2 || st.Processing != 0 {
		t.Errorf("stats %+v", st)
	}
	if !strings.Contains(p.stderr.String(), "stopping after 1 item (--max-items): 1 done, 0 failed") {
		t.Errorf("stderr:\n%s", &p.stderr)
	}
}

// With --concurrency 4, four commands run at once (each waits until all four
// have started) and their output lines stay whole, though each writes the
// first half of its line before the others finish.
func TestWorkerConcurrencyKeepsLinesWhole(t *testing.T) {
	rdb := testClient(t)
	q := newQueue(t, rdb, "1", "2", "3", "4")
	dir := t.TempDir()
	script := `printf 'start-%s ' "$1"; printf 'err-%s ' "$1" >&2; touch "$D/$1"; i=0; ` +
		`while [ "$(ls "$D" | wc -l)" -lt 4 ]; do i=$((i+1)); [ $i -lt 2000 ] || exit 9; sleep 0.01; done; ` +
		`printf 'end-%s\n' "$1"; printf 'end-%s\n' "$1" >&2`
	code, p := runWorker(t, q, []string{"D=" + dir}, "--concurrency", "4", "--", "sh", "-c", script, "sh", "{}")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, &p.stderr)
	}
	got := strings.Split(strings.TrimSuffix(p.stdout.String(), "\n"), "\n")
	slices.Sort(got)
	if !slices.Equal(got, []string{"start-1 end-1", "start-2 end-2", "start-3 end-3", "start-4 end-4"}) {
		t.Errorf("stdout %q", &p.stdout)
	}
	n := 0
	for _, l := range strings.Split(p.stderr.String(), "\n") {
		if strings.HasPrefix(l, "err-") {
			n++
			if i := l[4:5]; l != "err-"+i+" end-"+i {
				t.Errorf("stderr line %q", l)
			}
		}
	}
	if n != 4 {
		t.Errorf("stderr:\n%s", &p.stderr)
	}
}

func TestWorkerConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"--", "true"}, "workqueue-worker: no queue: set --queue or WORKQUEUE_QUEUE\n"},
		{[]string{"WORKQUEUE_QUEUE=q"}, []string{"--", "true"}, "workqueue-worker: no Redis: set --redis-url, WORKQUEUE_REDIS_URL, or WORKQUEUE_REDIS_ADDR (host:port)\n"},
		{[]string{"WORKQUEUE_QUEUE=q", "WORKQUEUE_REDIS_ADDR=h:1"}, nil, "workqueue-worker: no command: workqueue-worker [flags] -- COMMAND [ARGS...]\n"},
		{[]string{"WORKQUEUE_LEASE=soon"}, []string{"--", "true"}, "workqueue-worker: invalid WORKQUEUE_LEASE \"soon\": want a duration such as 60s\n"},
		{[]string{"WORKQUEUE_REDIS_TIMEOUT=-1s"}, []string{"--", "true"}, "workqueue-worker: invalid WORKQUEUE_REDIS_TIMEOUT \"-1s\": want a duration such as 5m\n"},
		{[]string{"WORKQUEUE_WAIT_FOR_SEED=maybe"}, []string{"--", "true"}, "workqueue-worker: invalid WORKQUEUE_WAIT_FOR_SEED \"maybe\": want true or false\n"},
		{[]string{"WORKQUEUE_QUEUE=q"}, []string{"--redis-url", "redis://:pw@h:x", "--", "true"}, "workqueue-worker: invalid --redis-url: "},
		{[]string{"WORKQUEUE_QUEUE=q", "WORKQUEUE_REDIS_ADDR=h:1"}, []string{"--", "no-such-command-here"}, "workqueue-worker: cannot run COMMAND: "},
		{nil, []string{"--concurrency", "x"}, "invalid value \"x\" for flag -concurrency"},
		{[]string{"WORKQUEUE_QUEUE=q3:processing", "WORKQUEUE_REDIS_ADDR=h:1"}, []string{"--", "true"}, `workqueue-worker: invalid queue name: "q3:processing" is the key of queue "q3"'s leased items`},
		{[]string{"WORKQUEUE_ITEM_TIMEOUT=long"}, []string{"--", "true"}, "workqueue-worker: invalid WORKQUEUE_ITEM_TIMEOUT \"long\": want a duration such as 10m\n"},
		{[]string{"WORKQUEUE_QUEUE=q", "WORKQUEUE_REDIS_ADDR=h:1"}, []string{"--item-timeout", "-1s", "--", "true"}, "--item-timeout must not be negative"},
		{[]string{"WORKQUEUE_QUEUE=q", "WORKQUEUE_REDIS_ADDR=h:1"}, []string{"--failed-exit-code", "300", "--", "true"}, "--failed-exit-code must be between 0 and 125"},
		{[]string{"WORKQUEUE_QUEUE=q", "WORKQUEUE_REDIS_ADDR=h:1"}, []string{"--failed-exit-code", "4", "--", "true"}, "--failed-exit-code 4: that status means something else"},
	} {
		code, p := runWorker(t, nil, tc.env, tc.args...)
		if code != exitUsage || !strings.Contains(p.stderr.String(), tc.want) {
			t.Errorf("%v %v: exit %d, stderr %q, want %q", tc.env, tc.args, code, &p.stderr, tc.want)
		}
		if strings.Contains(p.stderr.String(), "pw@") {
			t.Errorf("the password shows: %s", &p.stderr)
		}
	}
}

// Redis flushed in the middle of a drain (restarted without its data): the
// worker takes no more items and exits 4 naming the loss, never 0.
func TestWorkerExits4WhenRedisLosesTheQueue(t *testing.T) {
	testClient(t)              // skips without redis-server
	addr := redistest.Start(t) // FLUSHALL must not touch the other tests' queues
	rdb := redistest.Client(t, addr, 0)
	q := queue.New(rdb, "lossq")
	s := q.NewSeeder(queue.SeedOptions{})
	for i := range 100 {
		_ = s.Add(context.Background(), []byte(fmt.Sprintf("item-%03d", i)))
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	p := start(t, nil, []string{"OUT=" + out}, "--queue", "lossq", "--redis-url", "redis://"+addr,
		"--", "sh", "-c", record+"; sleep 0.05", "sh", "{}")
	waitFor(t, "a few items done", func() bool { return len(lines(t, out)) >= 3 })
	if err := rdb.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != exitQueueLost {
		t.Fatalf("exit %d, want %d\n%s", code, exitQueueLost, &p.stderr)
	}
	if last := finalLine(p.stderr.String()); !strings.HasPrefix(last, "workqueue-worker: queue lossq vanished from Redis: it was restarted without its data?") {
		t.Errorf("last line %q", last)
	}
	if n := len(lines(t, out)); n >= 100 {
		t.Errorf("worked on %d items", n)
	}
}

// A queue that was never seeded is not drained: exit 4 at once, unless
// told to wait for the first seed.
func TestWorkerOnANeverSeededQueue(t *testing.T) {
	rdb := testClient(t)
	q := queue.New(rdb, redistest.QueueName(t))
	code, p := runWorker(t, q, nil, "--", "true")
	if code != exitQueueLost || !strings.Contains(p.stderr.String(), "queue "+q.Name()+" is not in Redis: it was never seeded") {
		t.Fatalf("exit %d\n%s", code, &p.stderr)
	}

	out := filepath.Join(t.TempDir(), "out")
	w := start(t, q, []string{"OUT=" + out, "WORKQUEUE_WAIT_FOR_SEED=true"}, "--", "sh", "-c", record, "sh", "{}")
	waitFor(t, "the worker to wait for the seed", func() bool { return strings.Contains(w.stderr.String(), "waiting for its first items") })
	s := q.NewSeeder(queue.SeedOptions{})
	_ = s.Add(context.Background(), []byte("late"))
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code := w.wait(t); code != 0 || !slices.Equal(lines(t, out), []string{"late"}) {
		t.Fatalf("exit %d, did %q\n%s", code, lines(t, out), &w.stderr)
	}
}

func TestWorkerGivesUpOnUnreachableRedis(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	begin := time.Now()
	code, p := runWorker(t, nil, nil, "--queue", "q", "--redis-url", "redis://"+addr, "--redis-timeout", "500ms", "--", "true")
	if code != exitError {
		t.Fatalf("exit %d\n%s", code, &p.stderr)
	}
	want := "workqueue-worker: queue q: cannot reach Redis at " + addr + ": redis unreachable: failing for 500ms: "
	if !strings.HasPrefix(finalLine(p.stderr.String()), want) || !strings.Contains(p.stderr.String(), "connection refused") {
		t.Errorf("stderr %q, want a last line starting %q", &p.stderr, want)
	}
	if d := time.Since(begin); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
}

func finalLine(s string) string {
	ls := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return ls[len(ls)-1]
}

func TestWorkerRedisPassword(t *testing.T) {
	if serverAddr == "" {
		t.Skip("redis-server not installed")
	}
	addr := redistest.Start(t, "--requirepass", "s3cret")
	rdb := redis.NewClient(&redis.Options{Addr: addr, Password: "s3cret"})
	defer rdb.Close()
	q := newQueue(t, rdb, "a", "b")
	env := []string{"WORKQUEUE_QUEUE=" + q.Name(), "WORKQUEUE_REDIS_ADDR=" + addr}

	code, p := runWorker(t, nil, append(env, "WORKQUEUE_REDIS_PASSWORD=wrong"), "--", "true")
	if code != exitError || !strings.Contains(p.stderr.String(), "rejected the password from $WORKQUEUE_REDIS_PASSWORD") {
		t.Errorf("wrong password: exit %d\n%s", code, &p.stderr)
	}
	code, p = runWorker(t, nil, env, "--", "true")
	if code != exitError || !strings.Contains(p.stderr.String(), "wants a password: set WORKQUEUE_REDIS_PASSWORD") {
		t.Errorf("no password: exit %d\n%s", code, &p.stderr)
	}
	code, p = runWorker(t, nil, append(env, "WORKQUEUE_REDIS_PASSWORD=s3cret"), "--max-items", "1", "--", "true")
	if code != 0 {
		t.Errorf("password from the environment: exit %d\n%s", code, &p.stderr)
	}
	code, p = runWorker(t, nil, env, "--redis-url", "redis://:s3cret@"+addr, "--", "true")
	if code != 0 || !strings.Contains(p.stderr.String(), "drained: 1 done") {
		t.Errorf("password in the URL: exit %d\n%s", code, &p.stderr)
	}
}

func TestWorkerInstallsItself(t *testing.T) {
	dir := t.TempDir()
	code, p := runWorker(t, nil, nil, "--install", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, &p.stderr)
	}
	dst := filepath.Join(dir, name)
	fi, err := os.Stat(dst)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("%v %v", fi, err)
	}
	want, _ := os.ReadFile(binary)
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, want) {
		t.Fatal("the copy differs")
	}
	out, err := exec.Command(dst, "--version").Output()
	if err != nil || string(out) != "dev\n" {
		t.Fatalf("%q %v", out, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left behind %v", entries)
	}
	if code, p := runWorker(t, nil, nil, "--install", filepath.Join(dir, "missing")); code == 0 || !strings.Contains(p.stderr.String(), "install: ") {
		t.Errorf("missing dir: exit %d %s", code, &p.stderr)
	}
}

// docsPython finds a python3 that has the redis module, as the docs' worker needs.
func docsPython(t testing.TB) string {
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(py, "-c", "import redis").Run() == nil {
			return py
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no python3 with the redis module (python3-redis)")
	}
	t.Skip("no python3 with the redis module (python3-redis)")
	return ""
}

// Our workers and the docs' worker.py with rediswq.py drain one queue
// together, and every item is done exactly once.
func TestWorkerWithDocsWorkersDrainsOneQueue(t *testing.T) {
	py := docsPython(t)
	rdb := testClient(t)
	var want []string
	for i := range 300 {
		want = append(want, "item-"+strconv.Itoa(1000+i))
	}
	q := newQueue(t, rdb, want...)
	out := filepath.Join(t.TempDir(), "out")
	host, port, _ := net.SplitHostPort(serverAddr)

	var docs []*exec.Cmd
	var docsOut []*redistest.SyncBuffer
	for range 2 {
		cmd := exec.Command(py, filepath.Join("..", "..", "pkg", "queue", "testdata", "worker.py"))
		cmd.Env = append(os.Environ(), "REDIS_HOST="+host, "REDIS_PORT="+port, "QUEUE="+q.Name())
		b := &redistest.SyncBuffer{}
		cmd.Stdout, cmd.Stderr = b, b
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		docs, docsOut = append(docs, cmd), append(docsOut, b)
	}
	ours := []*proc{
		start(t, q, []string{"OUT=" + out}, "--", "sh", "-c", record, "sh", "{}"),
		start(t, q, []string{"OUT=" + out}, "--concurrency", "2", "--prefetch", "3", "--", "sh", "-c", record, "sh", "{}"),
	}
	for _, p := range ours {
		if code := p.wait(t); code != 0 {
			t.Fatalf("our worker: exit %d\n%s", code, &p.stderr)
		}
	}
	done := lines(t, out)
	nOurs := len(done)
	for i, cmd := range docs {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("docs worker: %v\n%s", err, docsOut[i])
		}
		for _, l := range strings.Split(docsOut[i].String(), "\n") {
			if v, ok := strings.CutPrefix(l, "Working on "); ok {
				done = append(done, v)
			}
		}
	}
	slices.Sort(done)
	if !slices.Equal(done, want) {
		t.Fatalf("done %d items (%d by ours), want each of %d once", len(done), nOurs, len(want))
	}
	if nOurs == 0 || nOurs == len(want) {
		t.Logf("ours did %d of %d: the workers did not share the queue this time", nOurs, len(want))
	}
	if st := stats(t, q); st.Pending+st.Processing != 0 || st.Done != int64(len(want)) {
		t.Fatalf("stats %+v", st)
	}
}

// An item such as "a; echo INJECTED" in place of {} inside sh -c would run
// as shell code: the worker refuses such a command before taking any item.
func TestWorkerRefusesBracesInsideAShellScript(t *testing.T) {
	rdb := testClient(t)
	q := newQueue(t, rdb, "a; echo INJECTED")
	code, p := runWorker(t, q, nil, "--", "sh", "-c", "echo {}")
	if code != exitUsage || !strings.Contains(p.stderr.String(), `use "$WORKQUEUE_ITEM" (quoted)`) || strings.Contains(p.stdout.String(), "INJECTED") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, &p.stdout, &p.stderr)
	}
	if st := stats(t, q); st.Pending != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// A Redis address that does not resolve is a missing Service (no init in
// the namespace), which no restart brings: the worker gives up after
// unresolvedTimeout, not after --redis-timeout.
func TestWorkerGivesUpSoonOnAnAddressThatDoesNotResolve(t *testing.T) {
	defer func(old time.Duration) { unresolvedTimeout = old }(unresolvedTimeout)
	unresolvedTimeout = 300 * time.Millisecond
	var c config
	env := map[string]string{"WORKQUEUE_QUEUE": "q", "WORKQUEUE_REDIS_ADDR": "redis:6379"}
	if err := c.parse([]string{"--redis-timeout", "10m", "--", "true"}, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, io.Discard); err != nil {
		t.Fatal(err)
	}
	// What the cluster's DNS answers for a Service that does not exist,
	// without asking any DNS server.
	c.endpoint.Options.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "redis", IsNotFound: true}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := connect(ctx, &c)
	if !errors.Is(err, worker.ErrRedisUnreachable) || !strings.Contains(err.Error(), "failing for 300ms") || !strings.Contains(err.Error(), "no such host") {
		t.Fatalf("connect: %v", err)
	}
}

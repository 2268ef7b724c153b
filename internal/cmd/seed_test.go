package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

func queueName(t *testing.T) string {
	return strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
}

func redisClient(t *testing.T) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func TestSeedArgumentsInOrderAndReportsTheCount(t *testing.T) {
	url, q := redisURL(t), queueName(t)
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

	lines := queueName(t) + "-lines"
	mustRun(t, "a\r\nb\n\nc", url, "seed", lines, "-f", "-")
	if got := rdb.LRange(ctx, lines, 0, -1).Val(); strings.Join(got, ",") != "c,b,a" {
		t.Fatalf("lines: %q (CRLF and empty lines must not make items)", got)
	}

	nul := queueName(t) + "-nul"
	in := "two\nlines\x00\xff\xfebinary\x00last"
	mustRun(t, in, url, "seed", nul, "-0", "-f", "-")
	got := rdb.LRange(ctx, nul, 0, -1).Val()
	want := []string{"last", "\xff\xfebinary", "two\nlines"}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Fatalf("NUL items %q, want %q", got, want)
	}
}

func TestSeedFromAFile(t *testing.T) {
	url, q := redisURL(t), queueName(t)
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
	url, q := redisURL(t), queueName(t)
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
	url, q := redisURL(t), queueName(t)
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
	url, q := redisURL(t), queueName(t)
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
	url, q := redisURL(t), queueName(t)
	redisClient(t).Set(context.Background(), q, "x", 0)
	r := run(t, "", url, "seed", q, "a")
	if r.err == nil || !strings.Contains(r.err.Error(), "not a list") {
		t.Fatalf("error %v", r.err)
	}
}

func TestStatusTableAndJSON(t *testing.T) {
	url, q := redisURL(t), queueName(t)
	mustRun(t, "", url, "seed", q, "a", "b", "c", "d")
	ctx := context.Background()
	w := queue.New(redisClient(t), q)
	its, _ := w.Lease(ctx, 2, time.Minute, 0)
	w.Complete(ctx, its[0])

	r := mustRun(t, "", url, "status", q)
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "QUEUE PENDING PROCESSING DONE FAILED WORKERS" ||
		strings.Join(strings.Fields(lines[1]), " ") != q+" 2 1 1 0 1" {
		t.Fatalf("table:\n%s", r.out)
	}

	r = mustRun(t, "", url, "status", q, "-o", "json")
	var st map[string]any
	if err := json.Unmarshal([]byte(r.out), &st); err != nil {
		t.Fatalf("json: %v\n%s", err, r.out)
	}
	for k, want := range map[string]float64{"pending": 2, "processing": 1, "done": 1, "failed": 0, "workers": 1} {
		if st[k] != want {
			t.Errorf("%s = %v, want %v", k, st[k], want)
		}
	}
	if st["queue"] != q {
		t.Errorf("queue = %v", st["queue"])
	}
	r = mustRun(t, "", url, "status", q, "-o", "yaml")
	if !strings.Contains(r.out, "pending: 2\n") {
		t.Fatalf("yaml:\n%s", r.out)
	}
	if r := run(t, "", url, "status", q, "-o", "wide"); r.err == nil || !strings.Contains(r.err.Error(), "json or yaml") {
		t.Fatalf("-o wide: %v", r.err)
	}
}

func TestStatusWarnsAboutAnUnknownQueue(t *testing.T) {
	url := redisURL(t)
	r := mustRun(t, "", url, "status", "no-such-queue")
	if !strings.Contains(r.errOut, "never seeded") {
		t.Fatalf("stderr %q", r.errOut)
	}
}

func TestDeleteNeedsConfirmationWhenNotAtATerminal(t *testing.T) {
	url, q := redisURL(t), queueName(t)
	mustRun(t, "", url, "seed", q, "a", "b")
	r := run(t, "y\n", url, "delete", q)
	if r.err == nil || !strings.Contains(r.err.Error(), "--yes") {
		t.Fatalf("delete without --yes: %v", r.err)
	}
	if n := redisClient(t).LLen(context.Background(), q).Val(); n != 2 {
		t.Fatal("deleted without confirmation")
	}
	r = mustRun(t, "", url, "delete", q, "--yes")
	if !strings.Contains(r.out, "deleted") {
		t.Fatalf("stdout %q", r.out)
	}
	if n := redisClient(t).Exists(context.Background(), q, q+":stats").Val(); n != 0 {
		t.Fatal("keys left after delete")
	}
}

func TestRedisUnreachableIsOneClearLine(t *testing.T) {
	r := run(t, "", "--redis-url=redis://127.0.0.1:1", "status", "q")
	if r.err == nil || !strings.Contains(r.err.Error(), "connection refused") || strings.Contains(r.err.Error(), "\n") {
		t.Fatalf("error %q", r.err)
	}
}

package cmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

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

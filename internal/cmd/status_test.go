package cmd

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

func TestStatusTableAndJSON(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
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

func TestRedisUnreachableIsOneClearLine(t *testing.T) {
	r := run(t, "", "--redis-url=redis://127.0.0.1:1", "status", "q")
	if r.err == nil || !strings.Contains(r.err.Error(), "connection refused") || strings.Contains(r.err.Error(), "\n") {
		t.Fatalf("error %q", r.err)
	}
}

// Wide counts and names of any script keep the columns apart and aligned,
// in terminal cells: a CJK character takes two.
func TestStatusTableColumnsLineUpInDisplayCells(t *testing.T) {
	url := redisURL(t)
	ctx := context.Background()
	for _, q := range []string{redistest.QueueName(t) + "-日本語", redistest.QueueName(t) + "-ascii"} {
		mustRun(t, "", url, "seed", q, "a", "b")
		// An expired item: "1 (1 expired)" is wider than the column's minimum.
		redisClient(t).RPopLPush(ctx, q, q+":processing")
		r := mustRun(t, "", url, "status", q)
		lines := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
		if len(lines) != 2 {
			t.Fatalf("table:\n%s", r.out)
		}
		header, row := lines[0], lines[1]
		// Each value starts in the cell where its header starts.
		for _, col := range []string{"PENDING", "PROCESSING", "DONE"} {
			at := displayWidth(header[:strings.Index(header, col)])
			cells := []rune(row)
			// Walk the row to the same display column.
			n, i := 0, 0
			for ; i < len(cells) && n < at; i++ {
				n += displayWidth(string(cells[i]))
			}
			if n != at || i == len(cells) || cells[i] == ' ' || cells[i-1] != ' ' {
				t.Errorf("%s: column %s does not line up:\n%s", q, col, r.out)
			}
		}
		if !strings.Contains(row, "1 (1 expired)   ") {
			t.Errorf("the expired count runs into the next column:\n%s", r.out)
		}
	}
}

// -o yaml lists the fields in the order of -o json, which the README documents.
func TestStatusYAMLKeepsTheFieldOrderOfJSON(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	mustRun(t, "", url, "seed", q, "a")
	keys := func(out string, sep string) []string {
		var ks []string
		for _, l := range strings.Split(out, "\n") {
			l = strings.TrimSpace(l)
			if k, _, ok := strings.Cut(l, sep); ok && !strings.HasPrefix(l, "{") {
				ks = append(ks, strings.Trim(k, `"`))
			}
		}
		return ks
	}
	j := keys(mustRun(t, "", url, "status", q, "-o", "json").out, ":")
	y := keys(mustRun(t, "", url, "status", q, "-o", "yaml").out, ":")
	if strings.Join(j, ",") != strings.Join(y, ",") || len(j) < 10 || j[0] != "queue" {
		t.Fatalf("json keys %v\nyaml keys %v", j, y)
	}
}

// Without QUEUE, status shows every queue of the Redis, as kubectl get does
// without a name: one table, or a list of the objects status shows for one.
func TestStatusWithoutAQueueShowsEveryQueue(t *testing.T) {
	if redisAddr == "" {
		t.Skip("redis-server not installed")
	}
	// A database of its own: the other tests' queues are in database 0.
	url := "--redis-url=redis://" + redisAddr + "/11"
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr, DB: 11})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}

	r := mustRun(t, "", url, "status")
	if r.out != "" || !strings.Contains(r.errOut, "No queues found") {
		t.Fatalf("empty Redis: stdout %q, stderr %q", r.out, r.errOut)
	}
	r = mustRun(t, "", url, "status", "-o", "json")
	if strings.Join(strings.Fields(r.out), "") != `{"items":[]}` {
		t.Fatalf("empty Redis, -o json: %q", r.out)
	}

	mustRun(t, "", url, "seed", "thumbnails-of-the-week", "a", "b", "c")
	mustRun(t, "", url, "seed", "job2", "x")
	w := queue.New(rdb, "job2")
	its, err := w.Lease(ctx, 1, time.Minute, 0)
	if err != nil || len(its) != 1 {
		t.Fatal(its, err)
	}
	if _, err := w.Fail(ctx, its[0], 1, "boom"); err != nil {
		t.Fatal(err)
	}

	r = mustRun(t, "", url, "status")
	want := []string{
		"QUEUE                    PENDING      PROCESSING   DONE         FAILED       WORKERS",
		"job2                     0            0            0            1            1", // the test's own session is a worker
		"thumbnails-of-the-week   3            0            0            0            0",
	}
	if got := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n"); !slices.Equal(got, want) {
		t.Fatalf("table:\n%s\nwant:\n%s", r.out, strings.Join(want, "\n"))
	}
	if !strings.Contains(r.errOut, "kubectl workqueue items QUEUE") {
		t.Errorf("a failed item, and no hint where to look: stderr %q", r.errOut)
	}

	r = mustRun(t, "", url, "status", "-o", "json")
	var list struct{ Items []queue.Stats }
	if err := json.Unmarshal([]byte(r.out), &list); err != nil {
		t.Fatalf("json: %v\n%s", err, r.out)
	}
	if len(list.Items) != 2 || list.Items[0].Queue != "job2" || list.Items[0].Failed != 1 ||
		list.Items[1].Queue != "thumbnails-of-the-week" || list.Items[1].Pending != 3 {
		t.Fatalf("json items %+v", list.Items)
	}
	r = mustRun(t, "", url, "status", "-o", "yaml")
	if !strings.HasPrefix(r.out, "items:\n  - queue: job2\n") {
		t.Fatalf("yaml:\n%s", r.out)
	}

	for _, args := range [][]string{{"status", "--watch"}, {"status", "job2", "thumbnails-of-the-week"}} {
		r := run(t, "", append([]string{url}, args...)...)
		if r.err == nil || r.out != "" {
			t.Errorf("%q: err %v, stdout %q; want an error and nothing printed", args, r.err, r.out)
		}
	}
	if r := run(t, "", url, "status", "--watch"); r.err == nil || !strings.Contains(r.err.Error(), "status QUEUE --watch") {
		t.Errorf("--watch without QUEUE: %v", r.err)
	}
}

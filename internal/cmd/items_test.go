package cmd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// failItems seeds items into a queue of the test's own and has a worker of
// pod wq-x-abcde fail those for which bad says so, for good, after one
// attempt; the others are done.
func failItems(t *testing.T, url, name string, items []string, bad func(string) bool) {
	t.Helper()
	mustRun(t, strings.Join(items, "\x00"), url, "seed", name, "-0", "-f", "-")
	ctx := context.Background()
	w := queue.New(redisClient(t), name).WithWorker("wq-x-abcde")
	for {
		its, err := w.Lease(ctx, 100, time.Minute, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(its) == 0 {
			// As a worker that has finished: no longer among the live ones.
			if err := w.Leave(ctx); err != nil {
				t.Fatal(err)
			}
			return
		}
		for _, it := range its {
			if bad(string(it.Value)) {
				if _, err := w.Fail(ctx, it, 1, "exit status 3: cannot convert "+string(it.Value)); err != nil {
					t.Fatal(err)
				}
			} else if _, err := w.Complete(ctx, it); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func always(string) bool { return true }

func TestItemsTableShowsWhichFailedAndWhySafely(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	long := strings.Repeat("x", 200)
	failItems(t, url, q, []string{"ok-1", "img-7.png", "tab\tand\x1b[31mescape", "bin\xff", long, "ok-2"},
		func(s string) bool { return !strings.HasPrefix(s, "ok") })
	r := mustRun(t, "", url, "items", q)
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "ITEM ") || !strings.Contains(lines[0], "ATTEMPTS") ||
		!strings.Contains(lines[0], "WORKER") || !strings.Contains(lines[0], "ERROR") {
		t.Fatalf("table:\n%s", r.out)
	}
	for i, want := range []string{"img-7.png ", `"tab\tand\x1b[31mescape" `, `"bin\xff" `, strings.Repeat("x", maxShownItem-1) + "… "} {
		l := lines[i+1]
		if !strings.HasPrefix(l, want) {
			t.Errorf("row %d %q does not start with %q", i+1, l, want)
		}
		if !strings.Contains(l, " wq-x-abcde ") || !strings.Contains(l, "exit status 3: cannot convert ") || !strings.Contains(l, " ago ") {
			t.Errorf("row %d lacks the worker, the error or when: %q", i+1, l)
		}
	}
	if strings.ContainsAny(r.out, "\x1b\xff") || strings.Count(r.out, "\n") != 5 {
		t.Errorf("raw control characters or bytes in the table: %q", r.out)
	}
	if r.errOut != "" {
		t.Errorf("stderr %q", r.errOut)
	}
}

type itemJSON struct {
	Item       string          `json:"item"`
	ItemBase64 string          `json:"itemBase64"`
	State      string          `json:"state"`
	Position   int64           `json:"position"`
	Attempts   *int            `json:"attempts"`
	Error      *string         `json:"error"`
	FailedAt   *time.Time      `json:"failedAt"`
	Worker     string          `json:"worker"`
	Errors     []queue.Attempt `json:"errors"`
	Held       *bool           `json:"held"`
}

func TestItemsJSONAndYAMLAreArraysOfEveryItem(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	var items []string
	for i := range 150 {
		items = append(items, fmt.Sprintf("item-%03d", i))
	}
	items = append(items, "bin\xff\x01")
	failItems(t, url, q, items, always)

	// The table stops at 100 and says so.
	r := mustRun(t, "", url, "items", q)
	if n := strings.Count(r.out, "\n"); n != 101 {
		t.Errorf("table has %d lines, want a header and 100 items", n)
	}
	if !strings.Contains(r.errOut, "Showing 100 of 151 failed items") {
		t.Errorf("stderr %q", r.errOut)
	}

	r = mustRun(t, "", url, "items", q, "-o", "json")
	var got []itemJSON
	if err := json.Unmarshal([]byte(r.out), &got); err != nil {
		t.Fatalf("%v\n%s", err, r.out)
	}
	if len(got) != 151 || r.errOut != "" {
		t.Fatalf("-o json has %d items, want all 151; stderr %q", len(got), r.errOut)
	}
	first, last := got[0], got[150]
	if first.Item != "item-000" || first.State != "failed" || first.Position != 1 || first.Attempts == nil || *first.Attempts != 1 ||
		first.Error == nil || *first.Error != "exit status 3: cannot convert item-000" || first.Worker != "wq-x-abcde" ||
		first.FailedAt == nil || len(first.Errors) != 1 || first.Errors[0].Attempt != 1 {
		t.Errorf("first item %+v", first)
	}
	if b, _ := base64.StdEncoding.DecodeString(last.ItemBase64); string(b) != "bin\xff\x01" || last.Item != `bin\xff`+"\x01" {
		t.Errorf("a non-UTF-8 item: item %q itemBase64 %q", last.Item, last.ItemBase64)
	}

	r = mustRun(t, "", url, "items", q, "-o", "yaml", "--limit", "2")
	var gotYAML []itemJSON
	if err := yaml.Unmarshal([]byte(r.out), &gotYAML); err != nil {
		t.Fatalf("%v\n%s", err, r.out)
	}
	if len(gotYAML) != 2 || gotYAML[1].Item != "item-001" || !strings.Contains(r.errOut, "Showing 2 of 151") {
		t.Errorf("-o yaml --limit 2: %+v, stderr %q", gotYAML, r.errOut)
	}

	// No items: an empty array, for scripts.
	if r := mustRun(t, "", url, "items", q, "--state", "pending", "-o", "json"); strings.TrimSpace(r.out) != "[]" {
		t.Errorf("no pending items: %q", r.out)
	}
	if r := mustRun(t, "", url, "items", q, "--state", "pending", "-o", "yaml"); strings.TrimSpace(r.out) != "[]" {
		t.Errorf("no pending items: %q", r.out)
	}
	if r := mustRun(t, "", url, "items", q, "--state", "pending"); r.out != "" || !strings.Contains(r.errOut, `No pending items in queue "`+q+`"`) {
		t.Errorf("no pending items: stdout %q stderr %q", r.out, r.errOut)
	}
}

func TestItemsPendingAndProcessing(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	mustRun(t, "", url, "seed", q, "a", "b", "c", "d")
	ctx := context.Background()
	rdb := redisClient(t)
	w := queue.New(rdb, q).WithWorker("wq-x-live1")
	if its, err := w.Lease(ctx, 1, time.Minute, 0); err != nil || len(its) != 1 {
		t.Fatal(its, err)
	}
	// A docs worker that died after taking b: no lease, no holder.
	rdb.RPopLPush(ctx, q, q+":processing")

	r := mustRun(t, "", url, "items", q, "--state", "pending")
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "POSITION") || !strings.HasPrefix(lines[1], "1 ") || !strings.Contains(lines[1], " c ") || !strings.Contains(lines[2], " d ") {
		t.Errorf("pending:\n%s", r.out)
	}

	r = mustRun(t, "", url, "items", q, "--state", "processing")
	lines = strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "a ") || !strings.Contains(lines[1], " wq-x-live1 ") ||
		!strings.HasPrefix(lines[2], "b ") || !strings.Contains(lines[2], " none (gone) ") {
		t.Errorf("processing:\n%s", r.out)
	}
	if !strings.Contains(r.errOut, "1 item is held by no live worker") {
		t.Errorf("stderr %q", r.errOut)
	}
	r = mustRun(t, "", url, "items", q, "--state", "processing", "-o", "json")
	var got []itemJSON
	if err := json.Unmarshal([]byte(r.out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Held == nil || !*got[0].Held || got[0].Worker != "wq-x-live1" || got[1].Held == nil || *got[1].Held {
		t.Errorf("processing as JSON: %s", r.out)
	}
}

func TestItemsBadInputIsAShortError(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--state", "done"}, `--state "done": must be failed, pending or processing`},
		{[]string{"--limit", "0"}, "--limit 0: must be at least 1"},
		{[]string{"--limit", "-5"}, "--limit -5: must be at least 1"},
		{[]string{"-o", "wide"}, `--output "wide": must be json or yaml`},
	} {
		r := run(t, "", append([]string{url, "items", q}, tc.args...)...)
		if r.err == nil || r.err.Error() != tc.want || r.out != "" {
			t.Errorf("%v: error %v, want %q; stdout %q", tc.args, r.err, tc.want, r.out)
		}
	}
	if r := run(t, "", url, "items"); r.err == nil || !strings.Contains(r.err.Error(), "QUEUE is required") {
		t.Errorf("no queue: %v", r.err)
	}
}

func TestRetryAllPutsTheFailedItemsBackAndSaysToRunWorkers(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	failItems(t, url, q, []string{"a", "b", "c", "d"}, func(s string) bool { return s != "b" })
	r := mustRun(t, "", url, "retry", q, "--all")
	if want := fmt.Sprintf("retried 3 failed items in queue %q: 3 pending, 0 still failed\n", q); r.out != want {
		t.Errorf("stdout %q, want %q", r.out, want)
	}
	// The queue had drained: nobody will take them unless workers run again.
	if !strings.Contains(r.errOut, "No workers are running") || !strings.Contains(r.errOut, "kubectl workqueue run "+q+" --replace") {
		t.Errorf("stderr %q", r.errOut)
	}
	var got []itemJSON
	if err := json.Unmarshal([]byte(mustRun(t, "", url, "items", q, "--state", "pending", "-o", "json").out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Item != "a" || *got[0].Attempts != 0 || len(got[0].Errors) != 1 {
		t.Errorf("pending after retry: %+v", got)
	}
	if r := mustRun(t, "", url, "retry", q, "--all"); !strings.Contains(r.out, "no failed items retried") {
		t.Errorf("second retry: %q", r.out)
	}
}

func TestRetryDryRunListsAndMovesNothing(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	failItems(t, url, q, []string{"a.png", "b.jpg", "c.png", "nl\nin it"}, always)
	for _, dry := range []string{"--dry-run", "--dry-run=client"} {
		r := mustRun(t, "", url, "retry", q, "--match", `\.png$`, dry)
		if want := "a.png\nc.png\n2 failed items would be retried in queue \"" + q + "\" (dry run)\n"; r.out != want {
			t.Errorf("%s: stdout %q, want %q", dry, r.out, want)
		}
	}
	r := mustRun(t, "", url, "retry", q, "--all", "--dry-run")
	if !strings.Contains(r.out, "\"nl\\nin it\"\n") {
		t.Errorf("an item with a newline is not shown on one line: %q", r.out)
	}
	if st := statusOf(t, url, q); st.Failed != 4 || st.Pending != 0 {
		t.Errorf("the dry run moved items: %+v", st)
	}
}

func statusOf(t *testing.T, url, q string) queue.Stats {
	t.Helper()
	var st queue.Stats
	if err := json.Unmarshal([]byte(mustRun(t, "", url, "status", q, "-o", "json").out), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestRetryNamedItemsReportsThoseNotFailed(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	failItems(t, url, q, []string{"a", "b", "c"}, func(s string) bool { return s != "b" })
	mustRun(t, "", url, "seed", q, "--force", "d")
	r := run(t, "", url, "retry", q, "a", "b", "d", "zzz")
	if r.err == nil || ExitCode(r.err) != ExitError {
		t.Fatalf("exit %d: %v", ExitCode(r.err), r.err)
	}
	msg := r.err.Error()
	for _, want := range []string{"3 of the 4 items named are not in the failed list", "b: not in the queue (done, or never seeded)", "d: pending", "zzz: not in the queue"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if !strings.Contains(r.out, "retried 1 failed item in queue") {
		t.Errorf("stdout %q", r.out)
	}
	if st := statusOf(t, url, q); st.Failed != 1 || st.Pending != 2 {
		t.Errorf("stats %+v: want a moved, c still failed", st)
	}
}

func TestRetryFromAFileOrStdin(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	failItems(t, url, q, []string{"a", "b", "c", "multi\nline", "e"}, always)
	file := filepath.Join(t.TempDir(), "retry.txt")
	os.WriteFile(file, []byte("a\r\n\nb\n"), 0o644)
	if r := mustRun(t, "", url, "retry", q, "-f", file); !strings.Contains(r.out, "retried 2 failed items") {
		t.Errorf("-f: %q", r.out)
	}
	if r := mustRun(t, "multi\nline\x00c\x00", url, "retry", q, "-0", "-f", "-"); !strings.Contains(r.out, "retried 2 failed items") {
		t.Errorf("-0 -f -: %q", r.out)
	}
	if st := statusOf(t, url, q); st.Failed != 1 || st.Pending != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestRetryBadInputIsAShortErrorAndMovesNothing(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	failItems(t, url, q, []string{"a", "b"}, always)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "which items? pass --all, ITEM..., -f FILE or --match REGEX"},
		{[]string{"--all", "a"}, "choose the items one way"},
		{[]string{"--match", "a", "-f", "x"}, "choose the items one way"},
		{[]string{"--match", "(a"}, "--match: error parsing regexp"},
		{[]string{"--all", "--dry-run=server"}, `--dry-run "server": must be "none" or "client"`},
		{[]string{"-0", "a"}, "-0 reads NUL-separated items from -f FILE"},
		{[]string{"-f", filepath.Join(t.TempDir(), "missing")}, "-f: open "},
	} {
		r := run(t, "", append([]string{url, "retry", q}, tc.args...)...)
		if r.err == nil || !strings.Contains(r.err.Error(), tc.want) || r.out != "" {
			t.Errorf("%v: error %v, want %q; stdout %q", tc.args, r.err, tc.want, r.out)
		}
	}
	if st := statusOf(t, url, q); st.Failed != 2 || st.Pending != 0 {
		t.Errorf("bad input moved items: %+v", st)
	}
}

func TestItemsAndRetryComplete(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	failItems(t, url, q, []string{"img-1.png", "img-2.png", "doc-1.pdf", "with space"}, always)
	for _, sub := range []string{"items", "retry"} {
		if got := completions(t, sub, url, q[:len(q)-2]); !slices.Contains(got, q) {
			t.Errorf("%s <TAB> = %q: missing %q", sub, got, q)
		}
	}
	if got := completions(t, "retry", url, q, "img-1.png", "img"); !slices.Equal(got, []string{"img-2.png"}) {
		t.Errorf("retry %s img-1.png img<TAB> = %q, want the other failed img item", q, got)
	}
	if got := completions(t, "items", url, q, "--state", ""); !slices.Equal(got, []string{"failed", "pending", "processing"}) {
		t.Errorf("--state <TAB> = %q", got)
	}
}

// status, which counts the failed items, says how to see and retry them.
func TestStatusPointsAtItemsAndRetry(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	failItems(t, url, q, []string{"a", "b"}, func(s string) bool { return s == "b" })
	r := mustRun(t, "", url, "status", q)
	if want := "kubectl workqueue items " + q + "; put them back: kubectl workqueue retry " + q + " --all\n"; !strings.HasSuffix(r.errOut, want) {
		t.Errorf("stderr %q, want it to end with %q", r.errOut, want)
	}
	if r := mustRun(t, "", url, "status", q, "-o", "json"); r.errOut != "" {
		t.Errorf("-o json: stderr %q", r.errOut)
	}
}

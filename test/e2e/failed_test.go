//go:build e2e

package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// failedItem is what the tests read of `items -o json`.
type failedItem struct {
	Item     string `json:"item"`
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error"`
	Worker   string `json:"worker"`
	Errors   []struct {
		Worker string `json:"worker"`
		Error  string `json:"error"`
	} `json:"errors"`
}

func (e *env) items(queue string, args ...string) []failedItem {
	e.t.Helper()
	r := e.mustWQ(append([]string{"items", queue, "-o", "json"}, args...)...)
	var out []failedItem
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		e.t.Fatalf("items -o json: %v\n%v", err, r)
	}
	return out
}

// TestFailedItemsExitStatusItemsAndRetry: a command that fails for 3 of 50
// items: run exits 3 with one line naming items and retry; items lists
// exactly those 3 with the command's stderr line and the pod that ran them;
// retry --all and a second run get all 50 done, and run exits 0.
func TestFailedItemsExitStatusItemsAndRetry(t *testing.T) {
	requireCommands(t, "init", "seed", "run", "status", "items", "retry")
	e := newEnv(t, "failed")
	e.initRedis()
	const n = 50
	if _, r := e.seedFile("work", "item", n); r.code != 0 {
		t.Fatalf("seed:\n%v", r)
	}
	bad := []string{"item-0000007", "item-0000023", "item-0000041"}
	convert := `case "$WORKQUEUE_ITEM" in item-0000007|item-0000023|item-0000041)
  echo "convert: cannot open $WORKQUEUE_ITEM" >&2; exit 3;;
esac
echo "processed $WORKQUEUE_ITEM"`
	r := e.wqT(5*time.Minute, "run", "work", "--image", userImage, "--parallelism", "2", "--max-attempts", "2", "--", "sh", "-c", convert)
	if r.code != 3 {
		t.Fatalf("run exit %d, want 3 (the Job completed, items failed):\n%v", r.code, r)
	}
	if c := e.jobCondition("wq-work"); c != "Complete" {
		t.Errorf("Job condition %q, want Complete", c)
	}
	summary := nonEmptyLines(r.stderr)
	last := summary[len(summary)-1]
	for _, want := range []string{"wq-work complete", "47 done, 3 failed", "kubectl workqueue items work", "kubectl workqueue retry work -n " + e.ns + " --all"} {
		if !strings.Contains(last, want) {
			t.Errorf("run's last line %q does not say %q", last, want)
		}
	}

	pods := map[string]bool{}
	for _, p := range e.jobPods("wq-work") {
		pods[p.name] = true
	}
	failed := e.items("work")
	var names []string
	for _, it := range failed {
		names = append(names, it.Item)
		if it.State != "failed" || it.Attempts != 2 || it.Error != "exit status 3: convert: cannot open "+it.Item {
			t.Errorf("failed item %+v: want 2 attempts and the command's stderr line", it)
		}
		if !pods[it.Worker] {
			t.Errorf("item %s failed on %q, which is not a pod of the Job (%v)", it.Item, it.Worker, pods)
		}
		if len(it.Errors) != 2 {
			t.Errorf("item %s: %d errors kept, want both attempts'", it.Item, len(it.Errors))
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, bad) {
		t.Fatalf("items lists %v, want exactly %v", names, bad)
	}
	table := e.mustWQ("items", "work")
	for _, it := range failed {
		if !strings.Contains(table.stdout, it.Item) || !strings.Contains(table.stdout, it.Worker) {
			t.Errorf("the table lacks %s or its pod %s:\n%s", it.Item, it.Worker, table.stdout)
		}
	}

	r = e.mustWQ("retry", "work", "--all")
	if !strings.Contains(r.stdout, "retried 3 failed items") || !strings.Contains(r.stderr, "No workers are running") {
		t.Errorf("retry --all:\n%v", r)
	}
	if st := e.status("work"); st.Failed != 0 || st.Pending != 3 || st.Done != n-3 {
		t.Errorf("status after retry: %+v", st)
	}

	// The fix is in: the command now succeeds for every item.
	r = e.wqT(5*time.Minute, "run", "work", "--replace", "--image", userImage, "--", "sh", "-c", echoItem)
	if r.code != 0 {
		t.Fatalf("second run exit %d, want 0:\n%v", r.code, r)
	}
	if st := e.status("work"); st.Done != n || st.Failed != 0 || st.Pending+st.Processing != 0 {
		t.Errorf("status after the second run: %+v, want %d/%d done", st, n, n)
	}
	if !strings.Contains(r.stdout, "50 items done") {
		t.Errorf("second run does not say every item is done:\n%v", r)
	}
}

// TestItemTimeout: a command that hangs is stopped after --item-timeout and
// its item ends in the failed list with the reason.
func TestItemTimeout(t *testing.T) {
	requireCommands(t, "init", "seed", "run", "items")
	e := newEnv(t, "timeout")
	e.initRedis()
	e.mustWQ("seed", "hung", "quick", "hangs")
	hang := `if [ "$WORKQUEUE_ITEM" = hangs ]; then echo "waiting forever on $WORKQUEUE_ITEM" >&2; sleep 3600; fi`
	r := e.wqT(5*time.Minute, "run", "hung", "--image", userImage, "--max-attempts", "2", "--item-timeout", "2s", "--", "sh", "-c", hang)
	if r.code != 3 {
		t.Fatalf("run exit %d, want 3:\n%v", r.code, r)
	}
	if r.took > 2*time.Minute {
		t.Errorf("run took %v", r.took.Round(time.Second))
	}
	failed := e.items("hung")
	if len(failed) != 1 || failed[0].Item != "hangs" || failed[0].Attempts != 2 ||
		failed[0].Error != "timed out after 2s: waiting forever on hangs" {
		t.Fatalf("failed items %+v", failed)
	}
	t.Logf("run with a hung item took %v", r.took.Round(100*time.Millisecond))
}

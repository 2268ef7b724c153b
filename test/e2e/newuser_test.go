//go:build e2e

package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Issue 10's defects, on the real cluster: what a new user ran into.

// TestEqualItemsAndAFinishedJob: equal items run once per copy with no
// reclaim; wait on the finished Job says how long it ran and its items;
// logs prints the same output every time.
func TestEqualItemsAndAFinishedJob(t *testing.T) {
	requireCommands(t, "init", "seed", "run", "wait", "logs", "status")
	e := newEnv(t, "dup")
	e.initRedis()
	e.mustWQ("seed", "dup", "a", "b", "a", "c", "b", "a")
	e.mustWQ("run", "dup", "--image", userImage, "--parallelism", "2", "--wait=false", "--",
		"sh", "-c", `echo "processed $WORKQUEUE_ITEM"; sleep 0.5`)
	const job = "wq-dup"
	if r := e.wqT(5*time.Minute, "wait", job); r.code != 0 {
		t.Fatalf("wait:\n%v", r)
	}
	r := e.mustWQ("status", "dup", "-o", "json")
	var st struct{ Done, Pending, Processing, Reclaimed int64 }
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatal(err)
	}
	if st.Done != 6 || st.Pending+st.Processing != 0 || st.Reclaimed != 0 {
		t.Errorf("status %+v: want 6 done, nothing reclaimed", st)
	}
	logs := e.mustWQ("logs", job).stdout
	runs := map[string]int{}
	for _, m := range regexp.MustCompile(`processed (\w+)`).FindAllStringSubmatch(logs, -1) {
		runs[m[1]]++
	}
	if runs["a"] != 3 || runs["b"] != 2 || runs["c"] != 1 {
		t.Errorf("ran %v, want a 3 times, b twice, c once", runs)
	}
	for range 3 {
		if again := e.mustWQ("logs", job).stdout; again != logs {
			t.Fatalf("logs changed between runs:\n%s\n---\n%s", logs, again)
		}
	}

	// Waiting on it again, later: how long it ran, not how old it is.
	times := e.mustKubectl("get", "job", job, "-o", "jsonpath={.status.startTime} {.status.completionTime}").stdout
	var started, completed time.Time
	if f := strings.Fields(times); len(f) == 2 {
		started, _ = time.Parse(time.RFC3339, f[0])
		completed, _ = time.Parse(time.RFC3339, f[1])
	}
	eventually(t, time.Minute, time.Second, "the Job to be older than it ran", func() bool {
		return time.Since(completed) > 5*time.Second
	})
	r = e.mustWQ("wait", job)
	m := regexp.MustCompile(`complete in ([0-9.hms]+): 6 items done`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("wait on the finished Job:\n%v", r)
	}
	ran, err := time.ParseDuration(m[1])
	if want := completed.Sub(started); err != nil || ran < want-time.Second || ran > want+time.Second {
		t.Errorf("wait says the Job ran %s; its status says %s", m[1], want)
	}
}

// TestSeedIsRefusedWhileAPerItemJobRuns: a --per-item Job counted its pods
// when it started; items seeded meanwhile would be stranded.
func TestSeedIsRefusedWhileAPerItemJobRuns(t *testing.T) {
	requireCommands(t, "init", "seed", "run", "wait")
	e := newEnv(t, "pil")
	e.initRedis()
	e.mustWQ("seed", "pil", "a", "b", "c")
	e.mustWQ("run", "pil", "--per-item", "--image", userImage, "--wait=false", "--", "sh", "-c", "sleep 3")
	r := e.wq("seed", "pil", "d", "e")
	if r.code != 1 || !strings.Contains(r.stderr, `job "wq-pil" is working on queue "pil" one pod per item`) {
		t.Fatalf("seed during the --per-item Job:\n%v", r)
	}
	if r := e.wqT(5*time.Minute, "wait", "wq-pil"); r.code != 0 || !strings.Contains(r.stdout, "3 items done") {
		t.Fatalf("wait:\n%v", r)
	}
}

// TestCrashLoopIsReportedWithItsLastLines: a worker that exits at once
// (here: a command that does not exist) is reported a --stuck-grace after
// its first crash, with the line that says why.
func TestCrashLoopIsReportedWithItsLastLines(t *testing.T) {
	requireCommands(t, "init", "run")
	e := newEnv(t, "crash")
	e.initRedis()
	r := e.wqT(3*time.Minute, "run", "q", "--allow-empty", "--restart", "OnFailure", "--stuck-grace", "15s",
		"--image", userImage, "--", "no-such-command-here")
	if r.code != 1 || !strings.Contains(r.stderr, "CrashLoopBackOff") ||
		!strings.Contains(r.stderr, "Last log lines of pod wq-q-") || !strings.Contains(r.stderr, "no-such-command-here") {
		t.Fatalf("run:\n%v", r)
	}
	t.Logf("reported after %v", r.took.Round(time.Second))
}

// TestStatusWatchReconnectsToANewRedisPod: status --watch goes on when the
// Redis pod is replaced, through a port-forward to the new one.
func TestStatusWatchReconnectsToANewRedisPod(t *testing.T) {
	requireCommands(t, "init", "seed", "status")
	e := newEnv(t, "watch")
	e.initRedis()
	e.mustWQ("seed", "w", "a", "b")
	p := e.wqStart(3*time.Minute, "status", "w", "--watch", "--interval", "1s")
	// Connected first: else it could meet only the new pod, losing nothing.
	eventually(t, time.Minute, 100*time.Millisecond, "status --watch to print the queue", func() bool {
		return strings.Contains(p.out.String(), "\nw ")
	})
	old, _ := e.redisPod()
	e.mustKubectl("delete", "pod", old, "--wait=false")
	eventually(t, 2*time.Minute, time.Second, "status --watch to connect to the new Redis pod", func() bool {
		return strings.Contains(p.err.String(), "Connected to Redis again")
	})
	p.cancel()
	r := p.wait()
	if !strings.Contains(r.stderr, "Warning: lost Redis, reconnecting") || strings.Count(r.stdout, "\nw ") < 2 {
		t.Fatalf("status --watch:\n%v", r)
	}
	if strings.Contains(r.stderr, "Warning: Redis came back without queue") {
		t.Errorf("the queue was lost with the pod (its data is on a claim):\n%v", r)
	}
}

//go:build e2e

package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// echoItem is a worker command that records each item on stdout.
const echoItem = `echo "processed $WORKQUEUE_ITEM"; sleep 0.5`

// prefixed is a line of `kubectl workqueue logs`: "[pod] text" or
// "[pod/container] text".
var prefixed = regexp.MustCompile(`^\[([a-z0-9.-]+)(?:/[a-z0-9-]+)?\] (.*)$`)

// logItems reads `kubectl workqueue logs JOB`: every line must carry the
// prefix of one of the Job's pods. It returns how often each item was named
// after word, and the pods that wrote lines.
func logItems(t *testing.T, out string, pods []pod, word, prefix string) (items map[string]int, seen map[string]int) {
	t.Helper()
	known := map[string]bool{}
	for _, p := range pods {
		known[p.name] = true
	}
	items, seen = map[string]int{}, map[string]int{}
	re := itemPattern(word, prefix)
	bad := 0
	for _, l := range nonEmptyLines(out) {
		m := prefixed.FindStringSubmatch(l)
		if m == nil || !known[m[1]] {
			if bad++; bad <= 5 {
				t.Errorf("log line without the prefix of a pod of the Job: %q", l)
			}
			continue
		}
		seen[m[1]]++
		if im := re.FindStringSubmatch(m[2]); im != nil {
			items[im[1]]++
		}
	}
	return items, seen
}

// TestRunParallelism2: run --parallelism 2 with the injected worker, wait for
// Complete, every item processed exactly once, and logs shows every pod's
// lines, prefixed, from finished pods.
func TestRunParallelism2(t *testing.T) {
	requireCommands(t, "init", "seed", "run", "wait", "logs", "status")
	e := newEnv(t, "run")
	e.initRedis()
	const n = 40
	items, r := e.seedFile("work", "item", n)
	if r.code != 0 {
		t.Fatalf("seed:\n%v", r)
	}

	e.mustWQ("run", "work", "--image", userImage, "--parallelism", "2", "--wait=false", "--", "sh", "-c", echoItem)
	const job = "wq-work"
	r = e.wqT(5*time.Minute, "wait", job)
	returned := time.Now()
	if r.code != 0 {
		t.Fatalf("wait:\n%v", r)
	}
	if c := e.jobCondition(job); c != "Complete" {
		t.Fatalf("wait returned 0 but the Job's condition is %q", c)
	}
	// wait watches: it returns right after the Job completes.
	ct := e.mustKubectl("get", "job", job, "-o", "jsonpath={.status.completionTime}").stdout
	if done, err := time.Parse(time.RFC3339, strings.TrimSpace(ct)); err != nil {
		t.Errorf("completionTime %q: %v", ct, err)
	} else if lag := returned.Sub(done); lag > 10*time.Second {
		t.Errorf("wait returned %v after the Job completed", lag.Round(time.Second))
	}

	st := e.status("work")
	if st.Pending != 0 || st.Processing != 0 || st.Failed != 0 || st.Done != n {
		t.Errorf("status after the Job: %+v, want %d done and nothing else", st, n)
	}

	pods := e.jobPods(job)
	if len(pods) < 2 {
		t.Fatalf("want at least 2 pods with parallelism 2, got %v", pods)
	}
	for _, p := range pods {
		if p.phase != "Succeeded" {
			t.Errorf("pod %s is %s, want Succeeded", p.name, p.phase)
		}
	}

	r = e.mustWQ("logs", job)
	got, seen := logItems(t, r.stdout, pods, "processed", "item")
	for _, it := range items {
		if got[it] != 1 {
			t.Errorf("item %s processed %d times according to the logs, want 1", it, got[it])
		}
	}
	if len(got) != n {
		t.Errorf("logs name %d distinct items, want %d", len(got), n)
	}
	for _, p := range pods {
		if seen[p.name] == 0 {
			t.Errorf("no log line from pod %s (finished pods must be included)", p.name)
		}
	}
	t.Logf("lines per pod: %v", seen)
}

// TestDocsPattern: the Kubernetes docs' worker (rediswq.py in its own image,
// host "redis", queue job2, no password), run without "-- COMMAND", drains a
// queue seeded by us and the Job completes.
func TestDocsPattern(t *testing.T) {
	requireCommands(t, "init", "seed", "run", "logs", "status")
	e := newEnv(t, "docs")
	e.initRedis("--no-auth")
	const n = 30
	items, r := e.seedFile("job2", "fruit", n)
	if r.code != 0 {
		t.Fatalf("seed:\n%v", r)
	}
	r = e.wqT(5*time.Minute, "run", "job2", "--image", exampleImage, "--parallelism", "2")
	if r.code != 0 {
		t.Fatalf("run (waits by default):\n%v", r)
	}
	if c := e.jobCondition("wq-job2"); c != "Complete" {
		t.Fatalf("run returned 0 but the Job's condition is %q", c)
	}
	st := e.status("job2")
	if st.Pending != 0 || st.Processing != 0 || st.Done != n {
		t.Errorf("status: %+v, want %d done", st, n)
	}
	pods := e.jobPods("wq-job2")
	r = e.mustWQ("logs", "wq-job2")
	got, _ := logItems(t, r.stdout, pods, "Working on", "fruit")
	for _, it := range items {
		if got[it] != 1 {
			t.Errorf("the docs' worker logged %q %d times, want 1", "Working on "+it, got[it])
		}
	}
}

// TestDocsWorkerCrashIsTakenBack: the docs' rediswq.py never takes back the
// item of a worker that crashed, so its fellow workers would loop on a queue
// that never empties and the Job would never complete. run's wait takes the
// item back (its lease ran out, no worker heartbeats for it), a surviving
// docs worker does it, and the run ends with every item done.
func TestDocsWorkerCrashIsTakenBack(t *testing.T) {
	requireCommands(t, "init", "seed", "run", "status")
	e := newEnv(t, "docscrash")
	e.initRedis("--no-auth")
	const n = 8
	if _, r := e.seedFile("job2", "fruit", n); r.code != 0 {
		t.Fatalf("seed:\n%v", r)
	}
	// 3 s an item: a pod deleted while both work holds an item.
	p := e.wqStart(5*time.Minute, "run", "job2", "--image", exampleImage, "--parallelism", "2", "--env", "WORK_SECONDS=3")
	var victim string
	eventually(t, 2*time.Minute, 500*time.Millisecond, "both docs workers to hold an item", func() bool {
		var running []string
		for _, pd := range e.jobPods("wq-job2") {
			if pd.phase == "Running" {
				running = append(running, pd.name)
			}
		}
		if len(running) < 2 || e.status("job2").Processing < 2 {
			return false
		}
		victim = running[0]
		return true
	})
	e.mustKubectl("delete", "pod", victim, "--grace-period=0", "--force", "--wait=false")
	begin := time.Now()

	r := p.wait()
	if r.code != 0 {
		t.Fatalf("run after a docs worker died holding an item:\n%v", r)
	}
	if !strings.Contains(r.stderr, "took back 1 item of workers that died") {
		t.Errorf("run does not say it took the dead worker's item back:\n%v", r)
	}
	if st := e.status("job2"); st.Pending != 0 || st.Processing != 0 || st.Done != n {
		t.Errorf("status: %+v, want %d done", st, n)
	}
	t.Logf("the run ended %v after the pod was deleted", time.Since(begin).Round(time.Second))
}

// TestImagePullFailsFast: an image that cannot be pulled (a closed loopback
// port, so nothing leaves the machine) makes run exit non-zero within 60 s,
// naming the reason.
func TestImagePullFailsFast(t *testing.T) {
	requireCommands(t, "init", "seed", "run")
	e := newEnv(t, "pull")
	e.initRedis()
	e.mustWQ("seed", "q", "a", "b", "c")
	r := e.wqT(3*time.Minute, "run", "q", "--image", "127.0.0.1:5/none:v1")
	if r.code == 0 {
		t.Fatalf("run exited 0 with an image that cannot be pulled:\n%v", r)
	}
	if !strings.Contains(r.stderr, "ErrImagePull") && !strings.Contains(r.stderr, "ImagePullBackOff") {
		t.Errorf("the error does not name ErrImagePull/ImagePullBackOff:\n%v", r)
	}
	if !strings.Contains(r.stderr, "wq-q-") {
		t.Errorf("the error does not name the pod:\n%v", r)
	}
	if r.took > 60*time.Second {
		t.Errorf("run took %v to fail, want under 60s", r.took.Round(time.Second))
	}
	t.Logf("failed after %v", r.took.Round(100*time.Millisecond))
}

// TestFailingCommand: a command that always fails: items are retried, then
// dead-lettered and visible in status, and run reports the Job's outcome:
// exit 3 when the Job completed with failed items, non-zero when it failed.
func TestFailingCommand(t *testing.T) {
	requireCommands(t, "init", "seed", "run", "status")
	e := newEnv(t, "fail")
	e.initRedis()
	const n = 5
	if _, r := e.seedFile("bad", "bad", n); r.code != 0 {
		t.Fatalf("seed:\n%v", r)
	}
	r := e.wqT(5*time.Minute, "run", "bad", "--image", userImage, "--max-attempts", "2", "--backoff-limit", "2",
		"--", "sh", "-c", `echo "failing $WORKQUEUE_ITEM" >&2; exit 3`)
	cond := e.jobCondition("wq-bad")
	t.Logf("run exit %d, Job condition %q", r.code, cond)
	switch {
	case cond == "Complete" && r.code == 3:
		if !strings.Contains(r.stderr, "complete") || !strings.Contains(r.stderr, "5 failed") {
			t.Errorf("run does not report that the Job completed with 5 failed items:\n%v", r)
		}
	case cond == "Failed" && r.code != 0:
		if !strings.Contains(r.stderr, "failed") {
			t.Errorf("run does not report that the Job failed:\n%v", r)
		}
	default:
		t.Errorf("run's exit code %d does not match the Job's condition %q:\n%v", r.code, cond, r)
	}

	st := e.status("bad")
	if st.Failed != n || st.Pending != 0 || st.Processing != 0 || st.Done != 0 {
		t.Errorf("status: %+v, want all %d items failed (dead-lettered)", st, n)
	}
	r = e.mustWQ("status", "bad")
	if !strings.Contains(r.stdout, "FAILED") {
		t.Errorf("the status table has no FAILED column:\n%v", r)
	}
}

// TestChaosPodsDeleted: 2,000 items, parallelism 4, running worker pods
// force-deleted (grace 0) three times mid-run: the Job still completes and no
// item is lost. The command records every item it finished in a Redis list,
// which survives the pods; duplicates are reported.
func TestChaosPodsDeleted(t *testing.T) {
	requireCommands(t, "init", "seed", "run", "status")
	e := newEnv(t, "chaos")
	e.initRedis()
	const n = 2000
	items, r := e.seedFile("chaos", "item", n)
	if r.code != 0 {
		t.Fatalf("seed:\n%v", r)
	}
	record := `sleep 0.1
host=${WORKQUEUE_REDIS_ADDR%:*} port=${WORKQUEUE_REDIS_ADDR##*:}
REDISCLI_AUTH="$WORKQUEUE_REDIS_PASSWORD" redis-cli -h "$host" -p "$port" RPUSH e2e:processed "$WORKQUEUE_ITEM" >/dev/null || exit 1
echo "processed $WORKQUEUE_ITEM"`
	const job = "wq-chaos"
	p := e.wqStart(15*time.Minute, "run", "chaos", "--image", userImage, "--parallelism", "4",
		"--lease", "10s", "--backoff-limit", "100", "--", "sh", "-c", record)

	kills := 0
	for _, at := range []int64{n * 15 / 100, n * 40 / 100, n * 65 / 100} {
		var done int64
		eventually(t, 5*time.Minute, time.Second, "the Job to work through the queue", func() bool {
			select {
			case <-p.done:
				t.Fatalf("run ended after %d of 3 pod deletions (at %d done):\n%v", kills, done, p.wait())
			default:
			}
			done = e.status("chaos").Done
			return done >= at
		})
		// Half of the running pods each time (at least one): every
		// deleted pod counts as a failure, and the Job controller delays
		// replacements exponentially (10s, 20s, 40s, ... up to 6 min), so
		// deleting them all three times would leave the queue unworked for
		// minutes. The survivors carry on and take over the dead pods'
		// items once their leases expire.
		var running []string
		for _, pd := range e.jobPods(job) {
			if pd.phase == "Running" {
				running = append(running, pd.name)
			}
		}
		if len(running) == 0 {
			t.Fatalf("no running worker pod to delete at %d done", done)
		}
		victims := running[:(len(running)+1)/2]
		r := e.mustKubectl(append([]string{"delete", "pods", "--grace-period=0", "--force", "--wait=false"}, victims...)...)
		kills++
		t.Logf("deletion %d at %d done, %d of %d running pods: %s", kills, done, len(victims), len(running), strings.Join(nonEmptyLines(r.stdout), "; "))
	}

	r = p.wait()
	if r.code != 0 {
		t.Fatalf("run after three rounds of pod deletions:\n%v", r)
	}
	t.Logf("run: %s", strings.Join(nonEmptyLines(r.stdout), " | "))
	if c := e.jobCondition(job); c != "Complete" {
		t.Errorf("Job condition %q, want Complete", c)
	}
	st := e.status("chaos")
	if st.Pending != 0 || st.Processing != 0 || st.Failed != 0 || st.Done != n {
		t.Errorf("status: %+v, want %d done and nothing else", st, n)
	}
	recorded := nonEmptyLines(e.redisCLI("LRANGE", "e2e:processed", "0", "-1"))
	dups, missing := countDuplicates(recorded, items)
	if len(missing) > 0 {
		t.Errorf("%d items lost (never processed), e.g. %v", len(missing), missing[:min(5, len(missing))])
	}
	t.Logf("chaos: %d items, %d records, %d processed more than once (duplicates), %d lost", n, len(recorded), dups, len(missing))
}

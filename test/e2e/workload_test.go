//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeTemp writes content to a file of the test's own and returns its path.
func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// jobField reads one field of a Job with a jsonpath.
func (e *env) jobField(job, jsonpath string) string {
	e.t.Helper()
	return strings.TrimSpace(e.mustKubectl("get", "job", job, "-o", "jsonpath={"+jsonpath+"}").stdout)
}

// runningPods counts the Job's pods that are Running.
func (e *env) runningPods(job string) int {
	n := 0
	for _, p := range e.jobPods(job) {
		if p.phase == "Running" {
			n++
		}
	}
	return n
}

// TestRunPatchMountsConfigMap: a strategic patch adds a ConfigMap volume to
// the worker container by its documented name; the command of every item
// reads it, and the queue's variables and the injected worker survive.
func TestRunPatchMountsConfigMap(t *testing.T) {
	requireCommands(t, "init", "seed", "run", "logs")
	e := newEnv(t, "patch")
	e.initRedis()
	e.mustKubectl("create", "configmap", "greeting", "--from-literal=word=bonjour")
	const n = 6
	items, r := e.seedFile("greet", "item", n)
	if r.code != 0 {
		t.Fatalf("seed:\n%v", r)
	}
	patch := writeTemp(t, "configmap.yaml", `spec:
  template:
    spec:
      containers:
      - name: worker
        volumeMounts: [{name: greeting, mountPath: /etc/greeting, readOnly: true}]
      volumes: [{name: greeting, configMap: {name: greeting}}]
`)
	r = e.wqT(5*time.Minute, "run", "greet", "--image", userImage, "--parallelism", "2", "--patch-file", patch,
		"--", "sh", "-c", `echo "$(cat /etc/greeting/word) $WORKQUEUE_ITEM"`)
	if r.code != 0 {
		t.Fatalf("run:\n%v", r)
	}
	got, _ := logItems(t, e.mustWQ("logs", "wq-greet").stdout, e.jobPods("wq-greet"), "bonjour", "item")
	for _, it := range items {
		if got[it] != 1 {
			t.Errorf("item %s: %d log lines with the ConfigMap's word, want 1", it, got[it])
		}
	}
}

// TestRunDocsJobFile: the docs' own job.yaml (with the docs' worker image)
// through -f: run adds the queue, keeps the file's name, container and
// parallelism, and waits for Complete.
func TestRunDocsJobFile(t *testing.T) {
	requireCommands(t, "init", "seed", "run", "logs", "status")
	e := newEnv(t, "docsfile")
	e.initRedis("--no-auth")
	const n = 12
	items, r := e.seedFile("job2", "fruit", n)
	if r.code != 0 {
		t.Fatalf("seed:\n%v", r)
	}
	docs, err := os.ReadFile(filepath.Join(repoRoot, "test", "e2e", "testdata", "job-wq-2.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := writeTemp(t, "job.yaml", strings.Replace(string(docs), "localhost/kubectl-workqueue/rediswq-worker:v1", exampleImage, 1))
	r = e.wqT(5*time.Minute, "run", "job2", "-f", path)
	if r.code != 0 {
		t.Fatalf("run -f:\n%v", r)
	}
	const job = "job-wq-2"
	if c := e.jobCondition(job); c != "Complete" {
		t.Fatalf("condition %q, want Complete", c)
	}
	if p, c := e.jobField(job, ".spec.parallelism"), e.jobField(job, ".spec.template.spec.containers[0].name"); p != "2" || c != "c" {
		t.Errorf("parallelism %s, container %s: want the file's 2 and c", p, c)
	}
	if q := e.jobField(job, ".metadata.annotations.workqueue\\.kubectl\\.io/queue"); q != "job2" {
		t.Errorf("queue annotation %q", q)
	}
	if st := e.status("job2"); st.Done != n || st.Pending != 0 || st.Processing != 0 {
		t.Errorf("status %+v, want %d done", st, n)
	}
	got, _ := logItems(t, e.mustWQ("logs", job).stdout, e.jobPods(job), "Working on", "fruit")
	for _, it := range items {
		if got[it] != 1 {
			t.Errorf("the docs' worker logged %q %d times, want 1", "Working on "+it, got[it])
		}
	}
}

// TestScaleMidRun: scale a running Job from 1 to 3 pods, then to 0 (its
// pods go, no new one starts, wait says paused), then back: it completes
// with every item done.
func TestScaleMidRun(t *testing.T) {
	requireCommands(t, "init", "seed", "run", "scale", "wait", "status")
	e := newEnv(t, "scale")
	e.initRedis()
	const n = 60
	if _, r := e.seedFile("slow", "item", n); r.code != 0 {
		t.Fatalf("seed:\n%v", r)
	}
	const job = "wq-slow"
	e.mustWQ("run", "slow", "--image", userImage, "--parallelism", "1", "--wait=false", "--", "sh", "-c", `sleep 1; echo "processed $WORKQUEUE_ITEM"`)
	eventually(t, 3*time.Minute, time.Second, "1 running pod", func() bool { return e.runningPods(job) == 1 })

	r := e.mustWQ("scale", job, "--parallelism", "3")
	t.Logf("scale 3: %s", strings.TrimSpace(r.stdout))
	eventually(t, 3*time.Minute, time.Second, "3 running pods", func() bool { return e.runningPods(job) == 3 })
	if a := e.jobField(job, ".status.active"); a != "3" {
		t.Errorf("status.active %s, want 3", a)
	}

	r = e.mustWQ("scale", job, "--parallelism", "0")
	if !strings.Contains(r.stdout, "paused") {
		t.Errorf("scale 0 does not say paused: %q", r.stdout)
	}
	eventually(t, 2*time.Minute, time.Second, "no pods left", func() bool {
		for _, p := range e.jobPods(job) {
			if p.phase == "Running" || p.phase == "Pending" {
				return false
			}
		}
		return true
	})
	before := map[string]bool{}
	for _, p := range e.jobPods(job) {
		before[p.name] = true
	}
	doneAtPause := e.status("slow").Done
	// wait, for a while: it says paused; meanwhile no pod starts.
	r = e.wqT(time.Minute, "wait", job, "--timeout", "8s")
	if r.code == 0 || !strings.Contains(r.stderr, "paused: parallelism 0") {
		t.Errorf("wait on a paused Job does not say paused:\n%v", r)
	}
	// The paused pods may be gone by now; none may be new.
	for _, p := range e.jobPods(job) {
		if !before[p.name] {
			t.Errorf("pod %s (%s) started while the Job was paused", p.name, p.phase)
		}
	}
	if st := e.status("slow"); st.Done != doneAtPause || st.Processing != 0 {
		t.Errorf("paused: status %+v, want %d done and nothing processing", st, doneAtPause)
	}
	if c := e.jobCondition(job); c != "" {
		t.Fatalf("the paused Job is %s", c)
	}
	t.Logf("paused at %d of %d items done", doneAtPause, n)

	e.mustWQ("scale", job, "--parallelism", "3")
	r = e.wqT(5*time.Minute, "wait", job)
	if r.code != 0 {
		t.Fatalf("wait after resuming:\n%v", r)
	}
	if st := e.status("slow"); st.Done != n || st.Pending != 0 || st.Processing != 0 || st.Failed != 0 {
		t.Errorf("status %+v, want all %d done", st, n)
	}
}

// TestSuspendThenResume: run --suspend --kueue-queue creates the Job
// suspended with Kueue's label (Kueue itself is not on the test bed, so
// nothing admits it): wait says so, no pod starts, a stuck grace far shorter
// than the suspension does not fail it, and once resumed by hand it
// completes.
func TestSuspendThenResume(t *testing.T) {
	requireCommands(t, "init", "seed", "run")
	e := newEnv(t, "suspend")
	e.initRedis()
	if _, r := e.seedFile("later", "item", 3); r.code != 0 {
		t.Fatalf("seed:\n%v", r)
	}
	const job = "wq-later"
	p := e.wqStart(5*time.Minute, "run", "later", "--image", userImage, "--suspend", "--kueue-queue", "team-a",
		"--stuck-grace", "2s", "--", "sh", "-c", `echo "processed $WORKQUEUE_ITEM"`)
	eventually(t, time.Minute, 500*time.Millisecond, "wait to say the Job is suspended", func() bool {
		select {
		case <-p.done:
			t.Fatalf("run ended while the Job was suspended:\n%v", p.wait())
		default:
		}
		return strings.Contains(p.err.String(), "suspended: waiting for admission (Kueue LocalQueue team-a)")
	})
	if l, s := e.jobField(job, ".metadata.labels.kueue\\.x-k8s\\.io/queue-name"), e.jobField(job, ".spec.suspend"); l != "team-a" || s != "true" {
		t.Errorf("label %q suspend %q, want team-a and true", l, s)
	}
	if pods := e.jobPods(job); len(pods) != 0 {
		t.Errorf("pods of a suspended Job: %v", pods)
	}
	// The progress line comes every 5 s: the Job has been suspended for
	// longer than --stuck-grace, and run goes on waiting.
	select {
	case <-p.done:
		t.Fatalf("run ended while the Job was suspended:\n%v", p.wait())
	default:
	}
	e.mustKubectl("patch", "job", job, "--type", "merge", "-p", `{"spec":{"suspend":false}}`)
	r := p.wait()
	if r.code != 0 {
		t.Fatalf("run after the resume:\n%v", r)
	}
	if c := e.jobCondition(job); c != "Complete" {
		t.Errorf("condition %q, want Complete", c)
	}
}

// TestParallelismCappedAtItems: --parallelism 20 on 3 items starts 3 pods,
// and says so.
func TestParallelismCappedAtItems(t *testing.T) {
	requireCommands(t, "init", "seed", "run")
	e := newEnv(t, "cap")
	e.initRedis()
	if _, r := e.seedFile("few", "item", 3); r.code != 0 {
		t.Fatalf("seed:\n%v", r)
	}
	r := e.wqT(5*time.Minute, "run", "few", "--image", userImage, "--parallelism", "20", "--", "sh", "-c", `sleep 3; echo "processed $WORKQUEUE_ITEM"`)
	if r.code != 0 {
		t.Fatalf("run:\n%v", r)
	}
	if !strings.Contains(r.stderr, "parallelism 20 lowered to 3: the queue has 3 pending items") {
		t.Errorf("run does not say it lowered the parallelism:\n%v", r)
	}
	if p := e.jobField("wq-few", ".spec.parallelism"); p != "3" {
		t.Errorf("parallelism %s, want 3", p)
	}
	if pods := e.jobPods("wq-few"); len(pods) != 3 {
		t.Errorf("%d pods started for 3 items, want 3: %v", len(pods), pods)
	}
}

// TestBadWorkloadInput: a patch that is not YAML, a JSON patch on a missing
// path, scale of a Job not made by us, -f of a Deployment: each a short
// error, and nothing applied.
func TestBadWorkloadInput(t *testing.T) {
	requireCommands(t, "init", "seed", "run", "scale")
	e := newEnv(t, "badinput")
	e.initRedis()
	e.mustWQ("seed", "q", "a", "b")
	notYAML := writeTemp(t, "patch.yaml", "spec:\n  template: [\n")
	deployment := writeTemp(t, "web.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 1\n")
	e.mustKubectl("create", "job", "etl", "--image", userImage, "--", "true")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "q", "--image", userImage, "--patch-file", notYAML, "--", "true"}, notYAML + ": line 2: not valid YAML or JSON"},
		{[]string{"run", "q", "--image", userImage, "--patch-type", "json", "--patch", `[{"op":"replace","path":"/spec/template/spec/nodeSelector/gpu","value":"a100"}]`, "--", "true"},
			"operation 1 (replace /spec/template/spec/nodeSelector/gpu): the path does not exist"},
		{[]string{"scale", "etl", "--parallelism", "3"}, `job "etl" was not made by kubectl workqueue run`},
		{[]string{"run", "q", "-f", deployment}, deployment + ": is a Deployment (apps/v1), not a batch/v1 Job"},
	} {
		r := e.wq(tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("want an error saying %q:\n%v", tc.want, r)
		}
		if lines := nonEmptyLines(r.stderr); len(lines) > 2 {
			t.Errorf("%d lines of error, want a short one:\n%v", len(lines), r)
		}
	}
	jobs := strings.Fields(e.mustKubectl("get", "jobs", "-o", "jsonpath={.items[*].metadata.name}").stdout)
	if len(jobs) != 1 || jobs[0] != "etl" {
		t.Errorf("jobs after bad input: %v, want only etl", jobs)
	}
	if p := e.jobField("etl", ".spec.parallelism"); p != "1" {
		t.Errorf("etl's parallelism is %s after a refused scale", p)
	}
	if d := e.kubectl("get", "deployment", "web"); d.code == 0 {
		t.Error("the Deployment given to run -f was created")
	}
}

// TestCrashingPodsFailFast: with restartPolicy Never (the default), a
// container that crashes is a pod that fails and is replaced, each time
// later; run says so after --stuck-grace, with the failed pods' last lines,
// rather than sitting through the back-off until --backoff-limit.
func TestCrashingPodsFailFast(t *testing.T) {
	requireCommands(t, "init", "seed", "run")
	e := newEnv(t, "crash")
	e.initRedis()
	e.mustWQ("seed", "q", "a", "b", "c")
	r := e.wqT(5*time.Minute, "run", "q", "--image", userImage, "--stuck-grace", "15s",
		"--patch", `{"spec":{"template":{"spec":{"containers":[{"name":"worker","command":["sh","-c","echo cannot reach the queue; exit 1"]}]}}}}`)
	if r.code == 0 || !strings.Contains(r.stderr, "its pods keep failing") || !strings.Contains(r.stderr, "cannot reach the queue") {
		t.Fatalf("run with crashing pods:\n%v", r)
	}
	if r.took > 2*time.Minute {
		t.Errorf("run took %v to say the pods keep failing", r.took.Round(time.Second))
	}
	t.Logf("failed after %v", r.took.Round(100*time.Millisecond))
}

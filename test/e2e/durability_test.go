//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The durability tests (issue 15): a Redis that goes away in the middle of a
// run, with and without its data. Each seeds 300 items and runs 2 workers
// that take 0.1 s per item; Redis goes away once 30 are done. They run in
// parallel with each other, to add as little as possible to the suite.

const (
	durableItems = 300
	durableAfter = 30 // items done before Redis goes away
)

// startDurableRun seeds the queue and starts `run` in the background.
func startDurableRun(e *env, queue string) *proc {
	e.t.Helper()
	if _, r := e.seedFile(queue, "item", durableItems); r.code != 0 {
		e.t.Fatalf("seed:\n%v", r)
	}
	return e.wqStart(8*time.Minute, "run", queue, "--image", userImage, "--parallelism", "2", "--", "sh", "-c", "sleep 0.1")
}

// waitDone polls the queue until at least n items are done.
func (e *env) waitDone(queue string, n int64) {
	e.t.Helper()
	eventually(e.t, 3*time.Minute, time.Second, "items to be done", func() bool {
		r := e.wq("status", queue, "-o", "json")
		var s stats
		return r.code == 0 && json.Unmarshal([]byte(r.stdout), &s) == nil && s.Done >= n
	})
}

// redisPod is the name of the Redis pod, with its container's restart count.
func (e *env) redisPod() (name, restarts string) {
	e.t.Helper()
	out := e.mustKubectl("get", "pods", "-l", "app.kubernetes.io/name=redis", "--field-selector", "status.phase=Running",
		"-o", `jsonpath={range .items[*]}{.metadata.name} {.status.containerStatuses[0].restartCount}{"\n"}{end}`).stdout
	f := strings.Fields(out)
	if len(f) != 2 {
		e.t.Fatalf("want one running Redis pod, got %q", out)
	}
	return f[0], f[1]
}

// workerExits are the exit codes of every worker container of the Job, the
// current and the previous run of each.
func (e *env) workerExits(job string) []string {
	e.t.Helper()
	out := e.mustKubectl("get", "pods", "-l", "job-name="+job, "-o",
		`jsonpath={range .items[*]}{range .status.containerStatuses[*]}{.state.terminated.exitCode} {.lastState.terminated.exitCode} {end}{end}`).stdout
	return strings.Fields(out)
}

// (a) The default init keeps Redis' data on a claim: deleting the Redis pod in
// the middle of a run loses nothing. The workers ride out the outage, wait's
// progress reconnects to the new pod, and run exits 0 with every item done.
func TestDurabilityRedisPodDeletedKeepsItsData(t *testing.T) {
	t.Parallel()
	requireCommands(t, "init", "seed", "run", "status", "logs")
	e := newEnv(t, "durable")
	e.initRedis()
	if phase := e.mustKubectl("get", "pvc", "redis-data", "-o", "jsonpath={.status.phase}").stdout; phase != "Bound" {
		t.Fatalf("the default init's claim is %q, want Bound (does the cluster have a default StorageClass?)", phase)
	}
	run := startDurableRun(e, "lossq")
	e.waitDone("lossq", durableAfter)
	epoch := e.status("lossq").Epoch
	old, _ := e.redisPod()
	e.mustKubectl("delete", "pod", old, "--wait=false")
	deleted := time.Now()

	r := run.wait()
	t.Logf("run: exit %d, %v after the Redis pod was deleted, %v in all", r.code, time.Since(deleted).Round(100*time.Millisecond), r.took.Round(100*time.Millisecond))
	if r.code != 0 {
		t.Fatalf("run after the Redis pod was deleted:\n%v", r)
	}
	if !strings.Contains(r.stderr, "connected to Redis again") {
		t.Errorf("wait's progress did not connect to the new Redis pod:\n%v", r)
	}
	if st := e.status("lossq"); st.Done != durableItems || st.Pending+st.Processing+st.Failed != 0 || st.Epoch != epoch {
		t.Errorf("status after the run: %+v, want %d done in the queue of epoch %s", st, durableItems, epoch)
	}
	if pod, _ := e.redisPod(); pod == old {
		t.Errorf("the Redis pod %s was not replaced", old)
	}
	for _, code := range e.workerExits("wq-lossq") {
		if code != "0" {
			t.Errorf("a worker exited %s: %v", code, e.workerExits("wq-lossq"))
			break
		}
	}
}

// (b) With init --ephemeral, the new Redis pod starts empty: run exits 4,
// naming the loss and the counts, and no worker exits 0 after the loss (the
// Job does not turn Complete).
func TestDurabilityEphemeralRedisLossIsReported(t *testing.T) {
	t.Parallel()
	requireCommands(t, "init", "seed", "run", "status")
	e := newEnv(t, "ephemeral")
	e.initRedis("--ephemeral")
	run := startDurableRun(e, "lossq")
	e.waitDone("lossq", durableAfter)
	old, _ := e.redisPod()
	e.mustKubectl("delete", "pod", old, "--wait=false")
	deleted := time.Now()

	r := run.wait()
	t.Logf("run: exit %d, %v after the Redis pod was deleted; %s", r.code, time.Since(deleted).Round(100*time.Millisecond), lastLine(r.stderr))
	if r.code != 4 {
		t.Fatalf("run exited %d after Redis lost the queue, want 4:\n%v", r.code, r)
	}
	for _, want := range []string{"Redis lost queue lossq", "items unaccounted for", "of 300", "emptyDir (init --ephemeral)"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("run's error lacks %q:\n%v", want, r)
		}
	}
	// The workers see the queue gone, exit 4, and the Job fails at once.
	eventually(t, 3*time.Minute, time.Second, "the Job to fail", func() bool { return e.jobCondition("wq-lossq") == "Failed" })
	exits := e.workerExits("wq-lossq")
	t.Logf("worker exit codes: %v", exits)
	for _, code := range exits {
		if code == "0" {
			t.Errorf("a worker exited 0 although Redis lost its queue: %v", exits)
			break
		}
	}
	if !strings.Contains(strings.Join(exits, " "), "4") {
		t.Errorf("no worker exited 4 (queue lost): %v", exits)
	}
}

// (c) Killing the Redis container, not the pod, keeps even an emptyDir: Redis
// restarts in the same pod, replays its append-only file, and nothing is lost.
func TestDurabilityRedisContainerKilledKeepsItsAOF(t *testing.T) {
	t.Parallel()
	requireCommands(t, "init", "seed", "run", "status")
	ctr, sock := containerRuntime(t)
	e := newEnv(t, "aof")
	e.initRedis("--ephemeral")
	run := startDurableRun(e, "lossq")
	e.waitDone("lossq", durableAfter)
	pod, restarts := e.redisPod()
	id := e.mustKubectl("get", "pod", pod, "-o", "jsonpath={.status.containerStatuses[0].containerID}").stdout
	id = strings.TrimPrefix(strings.TrimSpace(id), "containerd://")
	if out, err := exec.Command(ctr, "--address", sock, "-n", "k8s.io", "tasks", "kill", "--signal", "SIGKILL", id).CombinedOutput(); err != nil {
		t.Fatalf("killing the Redis container %s: %v: %s", id, err, out)
	}
	killed := time.Now()

	r := run.wait()
	t.Logf("run: exit %d, %v after the Redis container was killed, %v in all", r.code, time.Since(killed).Round(100*time.Millisecond), r.took.Round(100*time.Millisecond))
	if r.code != 0 {
		t.Fatalf("run after the Redis container was killed:\n%v", r)
	}
	if st := e.status("lossq"); st.Done != durableItems || st.Pending+st.Processing+st.Failed != 0 {
		t.Errorf("status after the run: %+v, want %d done, 0 lost", st, durableItems)
	}
	if now, n := e.redisPod(); now != pod || n == restarts {
		t.Errorf("Redis is pod %s with %s restarts; want %s restarted (was %s)", now, n, pod, restarts)
	}
}

// containerRuntime is ctr and the socket of the local cluster's containerd,
// which kills a container the way the kernel's OOM killer would.
func containerRuntime(t *testing.T) (ctr, sock string) {
	t.Helper()
	sock = envOr("WQ_E2E_CONTAINERD", "/run/localk8s/containerd/containerd.sock")
	ctr, err := exec.LookPath("ctr")
	if err != nil {
		t.Fatalf("this test kills a container through containerd's ctr, which is not on PATH: %v", err)
	}
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("this test kills a container through the local cluster's containerd (WQ_E2E_CONTAINERD): %v", err)
	}
	return ctr, sock
}

func lastLine(s string) string {
	lines := nonEmptyLines(s)
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}

package cmd

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// onJobCreated runs f once the Job appears, as the Job controller would
// start its pods then.
func onJobCreated(t *testing.T, kube *fake.Clientset, ns string, f func(job *batchv1.Job)) {
	t.Helper()
	w, err := kube.BatchV1().Jobs(ns).Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { w.Stop(); <-done })
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			if job, ok := ev.Object.(*batchv1.Job); ok {
				f(job)
				return
			}
		}
	}()
}

// statsReads counts the queue.Stats calls Redis has served (each reads the
// counters with one HGETALL).
func statsReads(t *testing.T, rdb *redis.Client) int {
	t.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Error(err)
		return 0
	}
	for _, l := range strings.Split(info, "\n") {
		if rest, ok := strings.CutPrefix(l, "cmdstat_hgetall:calls="); ok {
			n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
			return n
		}
	}
	return 0
}

// waitForStatsRead returns once wait has read the queue again.
func waitForStatsRead(t *testing.T, rdb *redis.Client) {
	t.Helper()
	before := statsReads(t, rdb)
	redistest.WaitFor(t, 10*time.Second, "wait to read the queue", func() bool { return statsReads(t, rdb) > before })
}

// A Redis that loses its data while the Job runs (here: FLUSHALL) ends the
// wait at once with exit status 4 and the counts, though the Job never
// fails: waiting longer could only end in a Complete that did nothing.
func TestRunExitsItemsLostWhenRedisLosesTheQueue(t *testing.T) {
	redisClient(t)             // skips without redis-server
	addr := redistest.Start(t) // FLUSHALL must not touch the other tests' queues
	url, q := "--redis-url=redis://"+addr, redistest.QueueName(t)
	mustRun(t, "", url, "seed", q, "a", "b", "c", "d", "e")
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()

	kube := fake.NewClientset()
	onJobCreated(t, kube, "ns", func(*batchv1.Job) {
		// Two items done, then Redis comes back empty.
		w := queue.New(rdb, q)
		items, err := w.Lease(context.Background(), 2, time.Minute, 0)
		if err == nil {
			_, err = w.Complete(context.Background(), items...)
		}
		if err != nil {
			t.Error(err)
		}
		waitForStatsRead(t, rdb) // wait sees the two done
		if err := rdb.FlushAll(context.Background()).Err(); err != nil {
			t.Error(err)
		}
	})
	begin := time.Now()
	r := runKube(t, kube, url, "-n", "ns", "run", q, "--image", "worker:v1", "--quiet")
	if got := ExitCode(r.err); got != ExitItemsLost {
		t.Fatalf("exit status %d, want %d: %v\n%s", got, ExitItemsLost, r.err, r.errOut)
	}
	for _, want := range []string{"Redis lost queue " + q, "3 of 5 items unaccounted for", "kubectl delete job"} {
		if !strings.Contains(r.err.Error(), want) {
			t.Errorf("error %q does not say %q", r.err, want)
		}
	}
	if d := time.Since(begin); d > 20*time.Second {
		t.Errorf("took %v to notice", d)
	}
}

// A Redis restarted with its data (its append-only file) is the same queue:
// the wait goes on, and a Job that completes afterwards is a success.
func TestRunRidesOutARedisRestartThatKeepsItsData(t *testing.T) {
	redisClient(t) // skips without redis-server
	dir := t.TempDir()
	persistent := []string{"--appendonly", "yes", "--appendfsync", "everysec"}
	addr, stop, err := redistest.Launch(dir, persistent...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop() })
	_, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	url, q := "--redis-url=redis://"+addr, redistest.QueueName(t)
	mustRun(t, "", url, "seed", q, "a", "b", "c")

	kube := fake.NewClientset()
	onJobCreated(t, kube, "ns", func(job *batchv1.Job) {
		before := redis.NewClient(&redis.Options{Addr: addr})
		waitForStatsRead(t, before) // wait is connected
		before.Close()
		stop()
		if addr, stop, err = redistest.LaunchAt(dir, port, persistent...); err != nil {
			t.Error(err)
			return
		}
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		defer rdb.Close()
		w := queue.New(rdb, q)
		items, err := w.Lease(context.Background(), 10, time.Minute, 0)
		if err == nil {
			_, err = w.Complete(context.Background(), items...)
		}
		if err != nil || len(items) != 3 {
			t.Errorf("after the restart: leased %d: %v", len(items), err)
		}
		job = job.DeepCopy()
		job.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
		if _, err := kube.BatchV1().Jobs("ns").UpdateStatus(context.Background(), job, metav1.UpdateOptions{}); err != nil {
			t.Error(err)
		}
	})
	r := runKube(t, kube, url, "-n", "ns", "run", q, "--image", "worker:v1", "--quiet")
	if r.err != nil || !strings.Contains(r.out, "3 items done") {
		t.Fatalf("%v\nstdout: %s\nstderr: %s", r.err, r.out, r.errOut)
	}
}

// A seed that fills Redis up to its maxmemory says how many items made it
// and how to give Redis more memory.
func TestSeedSaysWhenRedisIsFull(t *testing.T) {
	redisClient(t) // skips without redis-server
	addr := redistest.Start(t, "--maxmemory", "4mb", "--maxmemory-policy", "noeviction")
	q := redistest.QueueName(t)
	items := make([]string, 2000)
	for i := range items {
		items[i] = fmt.Sprintf("%06d-%s", i, strings.Repeat("x", 10000))
	}
	r := run(t, strings.Join(items, "\n"), "--redis-url=redis://"+addr, "seed", q, "-f", "-", "--batch-size", "10")
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	n := rdb.LLen(context.Background(), q).Val()
	if n == 0 || n == int64(len(items)) {
		t.Fatalf("queue holds %d items", n)
	}
	if want := fmt.Sprintf("Redis is full after %d items: kubectl workqueue init --memory SIZE", n); r.err == nil || !strings.HasPrefix(r.err.Error(), want) {
		t.Fatalf("error %v, want it to start %q", r.err, want)
	}
}

// status says what it can tell of lost items.
func TestStatusWarnsOfLostItems(t *testing.T) {
	redisClient(t) // skips without redis-server
	evicting := redistest.Start(t, "--maxmemory", "100mb", "--maxmemory-policy", "allkeys-lru")
	q := redistest.QueueName(t)
	mustRun(t, "", "--redis-url=redis://"+evicting, "seed", q, "a")
	r := mustRun(t, "", "--redis-url=redis://"+evicting, "status", q)
	if !strings.Contains(r.errOut, "Warning: Redis deletes keys when it is full (maxmemory-policy allkeys-lru): evicted items are lost items") {
		t.Errorf("no warning of the eviction policy:\n%s", r.errOut)
	}

	url := redisURL(t)
	rdb := redisClient(t)
	mustRun(t, "", url, "seed", q, "a", "b")
	rdb.Del(context.Background(), q+":stats")
	r = mustRun(t, "", url, "status", q)
	if !strings.Contains(r.errOut, "has lost its counters") || strings.Contains(r.errOut, "maxmemory-policy") {
		t.Errorf("counters gone:\n%s", r.errOut)
	}

	// A queue Redis no longer has, though run started a Job on it.
	gone := redistest.QueueName(t) + "-gone"
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "wq-gone", Namespace: "ns",
		Labels:      map[string]string{manifest.LabelQueue: manifest.QueueLabelValue(gone)},
		Annotations: map[string]string{manifest.AnnotationQueue: gone, manifest.AnnotationQueueEpoch: "1", manifest.AnnotationQueueSeeded: "300"}}}
	r = runKube(t, fake.NewClientset(job), url, "-n", "ns", "status", gone)
	if r.err != nil || !strings.Contains(r.errOut, "Redis no longer has queue \""+gone+"\", which job wq-gone (300 items) was started on") {
		t.Errorf("%v\n%s", r.err, r.errOut)
	}
	r = runKube(t, fake.NewClientset(), url, "-n", "ns", "status", gone)
	if !strings.Contains(r.errOut, "never seeded") {
		t.Errorf("no Job: %s", r.errOut)
	}
}

package cmd

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// wait follows the queue it started on, and notices when the one in Redis
// is another.
func TestQueueRefFollowsOneQueue(t *testing.T) {
	var r queueRef
	for i, tc := range []struct {
		st   queue.Stats
		same bool
	}{
		{queue.Stats{}, true},                                // not seeded yet (run --allow-empty)
		{queue.Stats{Epoch: "e1", Seeded: 5}, true},          // seeded: this is the queue
		{queue.Stats{Epoch: "e1", Seeded: 9, Done: 2}, true}, // seeded more
		{queue.Stats{Epoch: "e1", Seeded: 7}, false},         // fewer than before
		{queue.Stats{}, false},                               // gone
		{queue.Stats{Epoch: "e2", Seeded: 9}, false},         // another one
		{queue.Stats{Epoch: "e1", Seeded: 9, Done: 9}, true},
	} {
		if got := r.observe(&tc.st); got != tc.same {
			t.Errorf("step %d, %+v: observe = %v, want %v", i, tc.st, got, tc.same)
		}
	}
	if r.Epoch != "e1" || r.Seeded != 9 || r.Last.Done != 9 {
		t.Errorf("ref %+v", r)
	}
}

func TestSettleSaysWhatIsMissingAndPicksTheExitStatus(t *testing.T) {
	base := finish{Job: "wq-thumbs", Namespace: "ns", Elapsed: 90 * time.Second, Complete: true,
		Pods: "pods: 0 active, 4 succeeded, 0 failed", Queue: "thumbs"}
	with := func(mut func(*finish)) finish {
		f := base
		mut(&f)
		return f
	}
	for _, tc := range []struct {
		name string
		f    finish
		exit int
		want []string
	}{
		{"every item done", with(func(f *finish) { f.Stats = &queue.Stats{Done: 300} }), 0,
			[]string{"job.batch/wq-thumbs complete in 1m30s", "300 items done"}},
		{"failed items", with(func(f *finish) { f.Stats = &queue.Stats{Done: 297, Failed: 3} }), ExitItemsFailed,
			[]string{"wq-thumbs complete in 1m30s: 297 done, 3 failed", "kubectl workqueue items thumbs -n ns", "kubectl workqueue retry thumbs -n ns --all"}},
		{"items left in the queue", with(func(f *finish) { f.Stats = &queue.Stats{Done: 5, Pending: 2} }), ExitItemsFailed,
			[]string{"5 done, 2 not done (2 pending, 0 processing)", "drained", "kubectl workqueue items thumbs -n ns --state pending"}},
		{"items held by a vanished worker", with(func(f *finish) { f.Stats = &queue.Stats{Done: 5, Processing: 1} }), ExitItemsFailed,
			[]string{"--state processing"}},
		{"queue unreadable", with(func(f *finish) { f.StatsErr = errors.New("connection refused") }), ExitError,
			[]string{"could not be read", "connection refused", "kubectl workqueue status thumbs -n ns"}},
		{"a Job not made by run", with(func(f *finish) { f.Queue = "" }), 0,
			[]string{"job.batch/wq-thumbs complete in 1m30s: pods: 0 active, 4 succeeded"}},
		{"failed Job with failed items", with(func(f *finish) {
			f.Complete, f.Reason = false, "BackoffLimitExceeded"
			f.Stats = &queue.Stats{Done: 10, Failed: 2, Pending: 5}
		}), ExitError, []string{`job "wq-thumbs" failed after 1m30s: BackoffLimitExceeded (10/17 items done`, "2 items in the failed list: kubectl workqueue items thumbs -n ns"}},
		// Lost outranks everything: a Complete Job whose queue vanished from
		// Redis did not do its items.
		{"queue vanished, Job complete", with(func(f *finish) {
			f.Expected = queueRef{Epoch: "e1", Seeded: 300, Last: &queue.Stats{Epoch: "e1", Seeded: 300, Done: 108, Pending: 190, Processing: 2}}
			f.Stats = &queue.Stats{}
			f.Storage = "Redis kept its data in an emptyDir (init --ephemeral), which a new Redis pod starts without"
		}), ExitItemsLost, []string{"Redis lost queue thumbs", "192 of 300 items unaccounted for", "emptyDir (init --ephemeral)", "completed all the same"}},
		{"queue vanished mid-run", with(func(f *finish) {
			f.Complete = false
			f.Expected = queueRef{Epoch: "e1", Seeded: 300, Last: &queue.Stats{Epoch: "e1", Seeded: 300, Done: 100, Failed: 8}}
			f.Stats = &queue.Stats{}
		}), ExitItemsLost, []string{"Redis lost queue thumbs", "192 of 300 items unaccounted for", "kubectl delete job wq-thumbs -n ns"}},
		{"queue vanished before wait saw it", with(func(f *finish) {
			f.Complete = false
			f.Expected = queueRef{Epoch: "e1", Seeded: 300}
			f.Stats = &queue.Stats{}
		}), ExitItemsLost, []string{"300 of 300 items unaccounted for"}},
		{"queue replaced by another", with(func(f *finish) {
			f.Expected = queueRef{Epoch: "e1", Seeded: 10, Last: &queue.Stats{Epoch: "e1", Seeded: 10, Done: 4}}
			f.Stats = &queue.Stats{Epoch: "e2", Seeded: 5, Done: 5}
		}), ExitItemsLost, []string{"another one", "6 of 10 items unaccounted for"}},
		{"items rolled back", with(func(f *finish) {
			f.Expected = queueRef{Epoch: "e1", Seeded: 300, Last: &queue.Stats{Epoch: "e1", Seeded: 300, Done: 250}}
			f.Stats = &queue.Stats{Epoch: "e1", Seeded: 280, Done: 280}
		}), ExitItemsLost, []string{"lost items of queue thumbs", "counts 280 seeded, the Job was started with 300", "20 of 300 items unaccounted for"}},
		{"lost outranks failed", with(func(f *finish) {
			f.Expected = queueRef{Epoch: "e1", Seeded: 10}
			f.Stats = &queue.Stats{Epoch: "e2", Seeded: 10, Failed: 10}
		}), ExitItemsLost, []string{"10 of 10 items unaccounted for"}},
		{"vanished after every item was done", with(func(f *finish) {
			f.Expected = queueRef{Epoch: "e1", Seeded: 300, Last: &queue.Stats{Epoch: "e1", Seeded: 300, Done: 300}}
			f.Stats = &queue.Stats{}
		}), 0, []string{"complete in 1m30s"}},
		{"same queue, every item done", with(func(f *finish) {
			f.Expected = queueRef{Epoch: "e1", Seeded: 300}
			f.Stats = &queue.Stats{Epoch: "e1", Seeded: 300, Done: 300}
		}), 0, []string{"300 items done"}},
		{"a queue first seen without an epoch", with(func(f *finish) {
			f.Stats = &queue.Stats{Done: 3}
		}), 0, []string{"3 items done"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line, err := settle(tc.f)
			if got := ExitCode(err); got != tc.exit {
				t.Errorf("exit status %d, want %d (error %v)", got, tc.exit, err)
			}
			msg := line
			if err != nil {
				msg = err.Error()
				if line != "" {
					t.Errorf("a success line %q besides the error", line)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q does not say %q", msg, w)
				}
			}
			if strings.Contains(strings.TrimSpace(msg), "\n") && tc.f.Stats != nil {
				t.Errorf("not one line: %q", msg)
			}
			if strings.HasSuffix(msg, ErrItemsFailed.Error()) {
				t.Errorf("the line ends in the exit status' name: %q", msg)
			}
		})
	}
}

// workQueue plays the workers: it leases every item of the queue, fails
// those in fail (once, with max attempts 1, so they are dead-lettered) and
// completes the rest. It may run in a goroutine of its own.
func workQueue(t *testing.T, name string, fail ...string) {
	t.Helper()
	ctx := context.Background()
	q := queue.New(redisClient(t), name)
	bad := map[string]bool{}
	for _, f := range fail {
		bad[f] = true
	}
	for {
		items, err := q.Lease(ctx, 100, time.Minute, 0)
		if err != nil {
			t.Error(err)
			return
		}
		if len(items) == 0 {
			return
		}
		for _, it := range items {
			if bad[string(it.Value)] {
				if _, err := q.Fail(ctx, it, 1, "exit status 3: boom on "+string(it.Value)); err != nil {
					t.Error(err)
				}
			} else if _, err := q.Complete(ctx, it); err != nil {
				t.Error(err)
			}
		}
	}
}

func TestRunExitsItemsFailedWhenTheJobCompletesWithFailedItems(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	mustRun(t, "", url, "seed", q, "a", "b", "c", "d")
	workQueue(t, q, "b", "d")
	kube := fake.NewClientset()
	finishJobWhenCreated(t, kube, "ns", batchv1.JobComplete, "CompletionsReached")
	r := runKube(t, kube, url, "-n", "ns", "run", q, "--image", "worker:v1", "--quiet", "--allow-empty")
	if got := ExitCode(r.err); got != ExitItemsFailed {
		t.Fatalf("exit status %d, want %d: %v", got, ExitItemsFailed, r.err)
	}
	msg := r.err.Error()
	for _, w := range []string{"complete", "2 done, 2 failed", "kubectl workqueue items " + q, "kubectl workqueue retry " + q + " -n ns --all"} {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not say %q", msg, w)
		}
	}
	if strings.Contains(r.out, " complete in ") {
		t.Errorf("a success line on stdout besides the error: %q", r.out)
	}
}

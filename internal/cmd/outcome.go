package cmd

import (
	"fmt"
	"strings"
	"time"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/plural"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// finish is what wait knows once the Job has finished, or once its queue is
// lost: the Job's outcome and the statistics of its queue.
type finish struct {
	Job       string
	Namespace string
	Elapsed   time.Duration
	// Complete is the Job's Complete condition; false is Failed, with Reason.
	Complete bool
	Reason   string
	// Pods sums up the Job's pods, e.g. "pods: 0 active, 2 succeeded, 0 failed".
	Pods string
	// Queue is the Job's queue; "" for a Job that run did not make, whose
	// items wait cannot know.
	Queue string
	// Stats are the queue's statistics read after the Job finished; nil,
	// with StatsErr, when they could not be read.
	Stats    *queue.Stats
	StatsErr error
	// Expected is the queue the Job was started on, as the Job's annotations
	// and wait's earlier snapshots know it; a queue that no longer matches it
	// lost items, whatever became of the Job.
	Expected queueRef
	// Storage says where Redis keeps its data when that explains a loss, e.g.
	// "Redis kept its data in an emptyDir (init --ephemeral)"; "" if unknown.
	Storage string
}

// queueRef is a queue as wait first knew it: its identity (queue.Stats.Epoch)
// and the most items it was seeded with, and its last snapshot.
type queueRef struct {
	Epoch  string
	Seeded int64
	// Last is the latest snapshot of this queue (same epoch); nil if none.
	Last *queue.Stats
}

// observe follows the queue through st, the latest snapshot: a queue that
// first gets an epoch becomes the expected one. It reports false when st is
// not the expected queue any more (see lost).
func (r *queueRef) observe(st *queue.Stats) bool {
	if r.Epoch == "" && st.Epoch != "" {
		r.Epoch = st.Epoch
	}
	if st.Epoch != r.Epoch || st.Seeded < r.Seeded {
		return false
	}
	r.Seeded, r.Last = st.Seeded, st
	return true
}

// lost says how the queue in st is not the expected one, as the start of
// the line that reports it; "" when it is, or when that cannot be known
// (no epoch was ever seen, or st is nil). Items the last snapshot showed
// done or failed are accounted for; the rest of those seeded are lost.
func (f finish) lost() string {
	exp, st := f.Expected, f.Stats
	if st == nil || exp.Epoch == "" || (st.Epoch == exp.Epoch && st.Seeded >= exp.Seeded) {
		return ""
	}
	seeded, accounted := exp.Seeded, int64(0)
	if l := exp.Last; l != nil {
		seeded, accounted = max(seeded, l.Seeded), l.Done+l.Failed
	}
	var what string
	switch {
	case st.Epoch == "":
		what = fmt.Sprintf("Redis lost queue %s (restarted without its data, or the queue was deleted)", f.Queue)
	case st.Epoch != exp.Epoch:
		what = fmt.Sprintf("Redis lost queue %s: the queue there now is another one (deleted, or lost with Redis' data, and seeded again)", f.Queue)
	default:
		what = fmt.Sprintf("Redis lost items of queue %s: it counts %d seeded, the Job was started with %d (Redis restarted with part of its data?)",
			f.Queue, st.Seeded, exp.Seeded)
		accounted = max(accounted, st.Done+st.Failed+st.Pending+st.Processing)
	}
	unaccounted := seeded - accounted
	if unaccounted <= 0 {
		return "" // every item was done before the queue went: nothing lost
	}
	what += fmt.Sprintf(": %d of %d items unaccounted for", unaccounted, seeded)
	if f.Storage != "" {
		what += "; " + f.Storage
	}
	return what
}

// settle is wait's last word on a finished Job, or on a Job whose queue was
// lost, as one line: with a nil error the line is the success to print;
// otherwise the error is that line, and wraps ErrItemsLost when the queue
// lost items (which outranks everything else: the Job may even be
// complete), or ErrItemsFailed when the Job completed with items not done,
// so that the exit status tells a script that work is missing.
func settle(f finish) (string, error) {
	if lost := f.lost(); lost != "" {
		job := "job " + f.Job + " left as it is: kubectl delete job " + f.Job + " -n " + f.Namespace
		if f.Complete {
			job = "job " + f.Job + " completed all the same"
		}
		return "", fmt.Errorf("%s; %s: %w", lost, job, ErrItemsLost)
	}

	if !f.Complete {
		msg := fmt.Sprintf("job %q failed after %v: %s (%s)", f.Job, f.Elapsed, f.Reason, f.progress())
		if st := f.Stats; st != nil && st.Failed > 0 {
			msg += fmt.Sprintf("; %s in the failed list: %s", plural.Count(int(st.Failed), "item"), f.itemsHint("failed"))
		}
		return "", fmt.Errorf("%s", msg)
	}
	if f.Queue == "" {
		return fmt.Sprintf("job.batch/%s complete in %v: %s", f.Job, f.Elapsed, f.Pods), nil
	}
	st := f.Stats
	if st == nil {
		return "", fmt.Errorf("job %q complete in %v, but its queue %q could not be read to tell whether every item is done: %w\n  Look:  kubectl workqueue status %s -n %s",
			f.Job, f.Elapsed, f.Queue, f.StatsErr, f.Queue, f.Namespace)
	}
	left := st.Pending + st.Processing
	switch {
	case st.Failed > 0:
		msg := fmt.Sprintf("%s complete in %v: %d done, %d failed", f.Job, f.Elapsed, st.Done, st.Failed)
		if left > 0 {
			msg += fmt.Sprintf(", %d not done (%d pending, %d processing)", left, st.Pending, st.Processing)
		}
		return "", withStatus(ErrItemsFailed, "%s: see %s; retry with kubectl workqueue retry %s -n %s --all",
			msg, f.itemsHint("failed"), f.Queue, f.Namespace)
	case left > 0:
		state := "pending"
		if st.Pending == 0 {
			state = "processing"
		}
		return "", withStatus(ErrItemsFailed, "%s complete in %v: %d done, %d not done (%d pending, %d processing): the workers stopped before the queue was drained; see %s",
			f.Job, f.Elapsed, st.Done, left, st.Pending, st.Processing, f.itemsHint(state))
	}
	return fmt.Sprintf("job.batch/%s complete in %v: %s; %s", f.Job, f.Elapsed, plural.Count(int(st.Done), "item")+" done", f.Pods), nil
}

// progress is the items and pods counts for a failed Job's message.
func (f finish) progress() string {
	if st := f.Stats; st != nil {
		return fmt.Sprintf("%d/%d items done; %s", st.Done, st.Done+st.Pending+st.Processing+st.Failed, f.Pods)
	}
	return f.Pods
}

// itemsHint is the command that lists the queue's items in state.
func (f finish) itemsHint(state string) string {
	cmd := []string{"kubectl workqueue items", f.Queue, "-n", f.Namespace}
	if state != "failed" {
		cmd = append(cmd, "--state", state)
	}
	return strings.Join(cmd, " ")
}

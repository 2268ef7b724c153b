package cmd

import (
	"fmt"
	"strings"
	"time"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/plural"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// finish is what wait knows once the Job has finished: its outcome and the
// final statistics of its queue.
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
}

// settle is wait's last word on a finished Job, as one line: with a nil
// error the line is the success to print; otherwise the error is that line,
// and wraps ErrItemsFailed when the Job completed with items not done, so
// that the exit status tells a script that work is missing.
func settle(f finish) (string, error) {
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

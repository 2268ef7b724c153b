package cmd

import (
	"strings"
	"testing"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
)

// "run -n NS --image IMG -- echo hi" forgets QUEUE: the usage error, as
// without "--", and no panic.
func TestRunWithoutQueueBeforeTheCommandIsAUsageError(t *testing.T) {
	noCluster(t)
	for _, args := range [][]string{
		{"run", "--image", "busybox:1.36", "--", "echo", "hi"},
		{"run", "--image", "busybox:1.36", "--"},
		{"run", "--image", "busybox:1.36"},
	} {
		r := run(t, "", args...)
		if r.err == nil || !strings.Contains(r.err.Error(), "QUEUE is required: kubectl workqueue run QUEUE") {
			t.Errorf("%q: error %v", args, r.err)
		}
	}
}

// A queue name that is another queue's key is refused by every command,
// before anything is pushed or read.
func TestCommandsRefuseQueueNamesThatAreAnotherQueuesKeys(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	mustRun(t, "", url, "seed", q, "item0")
	for _, args := range [][]string{
		{"seed", q + ":processing", "item1"},
		{"seed", q + ":failed", "poison"},
		{"seed", q + ":seed:x", "item1"},
		{"status", q + ":stats"},
		{"status", ""},
		{"seed", "", "a"},
		{"delete", q + ":holders", "--yes"},
		{"items", q + ":failed"},
		{"retry", q + ":leased_at", "--all"},
		{"run", q + ":processing", "--image", "x", "--dry-run=client"},
	} {
		r := run(t, "", append([]string{url}, args...)...)
		if r.err == nil || !strings.Contains(r.err.Error(), "invalid queue name") {
			t.Errorf("%q: error %v", args, r.err)
		}
	}
	r := mustRun(t, "", url, "status", q, "-o", "json")
	if !strings.Contains(r.out, `"pending": 1,`) || !strings.Contains(r.out, `"processing": 0,`) || !strings.Contains(r.out, `"failed": 0,`) {
		t.Fatalf("queue %s changed:\n%s", q, r.out)
	}
}

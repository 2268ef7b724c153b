package cmd

import (
	"context"
	"strings"
	"testing"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
)

func TestDeleteNeedsConfirmationWhenNotAtATerminal(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	mustRun(t, "", url, "seed", q, "a", "b")
	r := run(t, "y\n", url, "delete", q)
	if r.err == nil || !strings.Contains(r.err.Error(), "--yes") {
		t.Fatalf("delete without --yes: %v", r.err)
	}
	if n := redisClient(t).LLen(context.Background(), q).Val(); n != 2 {
		t.Fatal("deleted without confirmation")
	}
	r = mustRun(t, "", url, "delete", q, "--yes")
	if !strings.Contains(r.out, "deleted") {
		t.Fatalf("stdout %q", r.out)
	}
	if n := redisClient(t).Exists(context.Background(), q, q+":stats").Val(); n != 0 {
		t.Fatal("keys left after delete")
	}
}

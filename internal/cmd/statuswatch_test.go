package cmd

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
)

// status --watch rides out Redis going away and coming back where it was
// (its pod replaced): it says so, reconnects, and goes on printing.
func TestStatusWatchReconnectsWhenRedisComesBack(t *testing.T) {
	redisURL(t) // skips without redis-server
	dir := t.TempDir()
	keep := []string{"--appendonly", "yes", "--appendfsync", "always"}
	addr, stop, err := redistest.Launch(dir, keep...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { stop() }()
	_, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	url := "--redis-url=redis://" + addr
	q := redistest.QueueName(t)
	mustRun(t, "", url, "seed", q, "a", "b")

	var out, errOut redistest.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		cmd := newRootCmd(newFactory(), genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
		cmd.SetArgs([]string{url, "status", q, "--watch", "--interval", "50ms"})
		done <- cmd.ExecuteContext(ctx)
	}()
	rows := func() int { return strings.Count(out.String(), "\n"+q) }
	wait := func(what string, cond func() bool) {
		t.Helper()
		redistest.WaitFor(t, 20*time.Second, what, func() bool {
			select {
			case err := <-done:
				t.Fatalf("status --watch ended while waiting for %s: %v\nstdout:\n%s\nstderr:\n%s", what, err, &out, &errOut)
			default:
			}
			return cond()
		})
	}
	wait("two rows", func() bool { return rows() >= 2 })
	stop()
	wait("the warning", func() bool { return strings.Contains(errOut.String(), "Warning: lost Redis, reconnecting every 50ms") })
	if addr, stop, err = redistest.LaunchAt(dir, port, keep...); err != nil {
		t.Fatal(err)
	}
	n := rows()
	wait("rows again", func() bool { return strings.Contains(errOut.String(), "Connected to Redis again") && rows() > n })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("status --watch: %v", err)
	}
	if n := strings.Count(errOut.String(), "Warning: lost Redis"); n != 1 {
		t.Errorf("%d warnings for one outage:\n%s", n, &errOut)
	}
}

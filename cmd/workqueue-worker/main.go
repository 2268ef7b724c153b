// Command workqueue-worker runs a command once per item of a Redis work
// queue until the queue is drained. It is the in-pod worker that
// `kubectl workqueue run QUEUE --image IMG -- COMMAND` injects into the
// user's image, so that image needs no queue code.
//
// It is a small static binary: it must not import Kubernetes packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/plural"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redisclient"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/version"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/worker"
)

const name = "workqueue-worker"

// Exit statuses besides 128+N (stopped by signal N before the queue was
// drained), as the usage documents them.
const (
	// exitOK: the queue is drained, or --max-items are done. Also when this
	// worker dead-lettered items, unless --failed-exit-code says otherwise:
	// in a Job, a non-zero exit makes the controller restart the pod and
	// count a failure toward the backoff limit, so failed items would turn
	// into a failed Job; the queue keeps them, and run/wait report them with
	// their own exit status.
	exitOK    = 0
	exitError = 1 // Redis failed for good
	exitUsage = 2 // bad flags or configuration
	// exitQueueLost: the queue is not in Redis: it vanished while the worker
	// ran (Redis restarted without its data), or was never seeded. The same
	// number as kubectl-workqueue's exit status for lost items.
	exitQueueLost = 4
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr *os.File) int {
	var c config
	if err := c.parse(args, os.LookupEnv, stderr); err != nil {
		if errors.Is(err, errHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitUsage
	}
	switch {
	case c.version:
		fmt.Fprintln(stdout, version.Version)
		return 0
	case c.install != "":
		path, err := install(c.install)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return exitError
		}
		fmt.Fprintf(stderr, "%s: installed %s\n", name, path)
		return 0
	}
	if err := c.validate(); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitUsage
	}
	return work(&c, stdout, stderr)
}

// work runs the command on the queue's items until it is drained or a
// signal stops it.
func work(c *config, stdout, stderr *os.File) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	var got os.Signal
	sigDone := make(chan struct{})
	go func() {
		defer close(sigDone)
		select {
		case got = <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()

	out := newStreams(stdout, stderr, c.concurrency > 1)
	log := newLogger(out.stderr)
	redis.SetLogger(quietRedis{})
	cl, err := connect(ctx, c)
	if err != nil {
		if got != nil && errors.Is(err, context.Canceled) {
			<-sigDone
			sig := got.(syscall.Signal)
			fmt.Fprintf(out.stderr, "%s: stopped by %s while connecting to Redis\n", name, signalName(sig))
			return 128 + int(sig)
		}
		fmt.Fprintf(out.stderr, "%s: queue %s: %v\n", name, c.queue, explain(err, c))
		return exitError
	}
	defer cl.Redis.Close()
	q := queue.New(cl.Redis, c.queue).WithWorker(c.worker)
	if err := q.Check(); err != nil {
		fmt.Fprintf(out.stderr, "%s: %v\n", name, err)
		return exitUsage
	}

	cmd := &commander{args: c.command, env: os.Environ(), out: out, stopping: ctx.Done(),
		timeout: c.itemTimeout, killGrace: c.shutdownGrace}
	sum, err := worker.Run(ctx, q, cmd.handle, worker.Options{
		Lease:         c.lease,
		MaxAttempts:   c.maxAttempts,
		Concurrency:   c.concurrency,
		MaxItems:      c.maxItems,
		Prefetch:      c.prefetch,
		ReclaimGrace:  c.reclaimGrace,
		ShutdownGrace: c.shutdownGrace,
		RedisTimeout:  c.redisTimeout,
		WaitForSeed:   c.waitForSeed,
		Log:           log,
	})
	cancel()
	<-sigDone
	counts := summarize(sum)
	done := exitOK
	if sum.DeadLettered > 0 {
		counts += fmt.Sprintf("; see them with: kubectl workqueue items %s", c.queue)
		done = c.failedExit
	}
	switch {
	case err == nil && sum.Drained:
		fmt.Fprintf(out.stderr, "%s: queue %s drained: %s\n", name, c.queue, counts)
		return done
	case err == nil:
		fmt.Fprintf(out.stderr, "%s: stopping after %s (--max-items): %s\n", name, plural.Count(c.maxItems, "item"), counts)
		return done
	case errors.Is(err, worker.ErrQueueLost) || errors.Is(err, worker.ErrNeverSeeded):
		// The error names the queue and what became of it, in one line.
		fmt.Fprintf(out.stderr, "%s: %v (%s)\n", name, err, counts)
		return exitQueueLost
	case got != nil && errors.Is(err, context.Canceled):
		sig := got.(syscall.Signal)
		fmt.Fprintf(out.stderr, "%s: stopped by %s before queue %s was drained: %s\n", name, signalName(sig), c.queue, counts)
		return 128 + int(sig)
	default:
		fmt.Fprintf(out.stderr, "%s: queue %s: %v (%s)\n", name, c.queue, explain(err, c), counts)
		return exitError
	}
}

func summarize(s worker.Summary) string {
	out := fmt.Sprintf("%d done, %d failed", s.Done, s.Failed)
	if s.Failed > 0 {
		out += fmt.Sprintf(" (%d retried, %d dead-lettered)", s.Failed-s.DeadLettered, s.DeadLettered)
	}
	if s.Released > 0 {
		out += fmt.Sprintf(", %d released to the queue", s.Released)
	}
	if s.Lost > 0 {
		out += fmt.Sprintf(", %d taken over by other workers", s.Lost)
	}
	return out
}

// connect reaches Redis, retrying for --redis-timeout while it cannot be
// reached, as the worker does once it runs: a pod may start before Redis is
// ready.
// unresolvedTimeout is worker.UnresolvedTimeout; a variable for the tests.
var unresolvedTimeout = worker.UnresolvedTimeout

func connect(ctx context.Context, c *config) (*redisclient.Client, error) {
	begin, limit := time.Now(), c.redisTimeout
	deadline := begin.Add(limit)
	backoff := 50 * time.Millisecond
	var cause error // the last failure that says more than "out of time"
	for {
		cctx, cancel := context.WithDeadline(ctx, deadline)
		cl, err := redisclient.ConnectEndpoint(cctx, c.endpoint, *c.redis)
		cancel()
		if err != nil && (cause == nil || !errors.Is(err, context.DeadlineExceeded)) {
			cause = err
		}
		if worker.Unresolved(err) && unresolvedTimeout < limit {
			// No such Service: no restart will bring it (see worker.UnresolvedTimeout).
			limit = unresolvedTimeout
			deadline = begin.Add(limit)
		}
		switch {
		case err == nil:
			return cl, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case !transient(err):
			return nil, err
		case time.Now().Add(backoff).After(deadline):
			return nil, fmt.Errorf("%w: failing for %v: %w", worker.ErrRedisUnreachable, limit, cause)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// transient tells the failures to connect that may pass (Redis starting,
// loading or failing over) from those of configuration.
func transient(err error) bool {
	if errors.Is(err, redisclient.ErrSentinelAuth) || errors.Is(err, redisclient.ErrUnknownMaster) {
		return false
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		return redis.IsLoadingError(err) || redis.IsTryAgainError(err) || redis.IsMasterDownError(err) || redis.IsClusterDownError(err)
	}
	return !redisclient.IsTLSProblem(err) && !errors.Is(err, context.Canceled)
}

// explain names the fix for errors of configuration that Redis reports.
func explain(err error, c *config) error {
	addr := c.endpoint.Describe()
	if e := redisclient.ExplainTLS(err, addr, c.endpoint.TLS); e != nil && redisclient.IsTLSProblem(err) {
		return e
	}
	switch {
	case redis.IsAuthError(err) && c.redis.Password == "" && c.endpoint.Options.Password == "":
		return fmt.Errorf("Redis at %s wants a password: set %s (and %s for an ACL user) or put it in the URL: %w", addr, envPassword, envUsername, err)
	case redis.IsAuthError(err):
		return fmt.Errorf("Redis at %s rejected the password from %s: %w", addr, c.passwordFrom, err)
	case errors.Is(err, worker.ErrRedisUnreachable):
		return fmt.Errorf("cannot reach Redis at %s: %w", addr, err)
	}
	return err
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	}
	return s.String()
}

// quietRedis silences go-redis' own log lines; the worker reports the
// errors that matter.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

package worker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// errStopped ends a call that has become pointless because the worker stops.
var errStopped = errors.New("stopped")

// health tracks how long Redis has been failing, across all of a Run's calls.
type health struct {
	mu      sync.Mutex
	failing time.Time // start of the first failing call of the current run of failures; zero when healthy
	reached bool      // Redis has answered since the Run began
	// cause is the last failure that says more than that a call ran out of
	// time: "connection refused" rather than the deadline that cut its
	// retries short.
	cause error
}

// UnresolvedTimeout bounds the wait for a Redis whose address does not
// resolve and that has not answered yet: in a cluster, a Service's name
// resolves as long as the Service exists, whatever its pods do, so this is a
// missing Service (no 'kubectl workqueue init' in the namespace), not a
// restart. Run applies it (with RedisTimeout, if shorter); so should a
// caller that connects before it.
const UnresolvedTimeout = 10 * time.Second

// Unresolved says whether err is an address that does not resolve.
func Unresolved(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) && dnsErr.IsNotFound
}

// call runs op until it succeeds. Connection errors and timeouts are retried
// with backoff until Redis has failed for RedisTimeout in a row, counted from
// the start of the first failing call, and no call outlasts that: a dial or a
// read that hangs (a Service without endpoints drops the packets) is cut off
// with it. Then, or at once for errors that retrying cannot mend (a key of
// the wrong type, a rejected password), the Run fails. The error is then
// returned to every call, which give up at once.
func (r *runner) call(op func(ctx context.Context) error) error {
	backoff := 50 * time.Millisecond
	for {
		select {
		case <-r.fatal:
			return r.fatalErr()
		default:
		}
		began := time.Now()
		ctx, cancel := context.WithDeadline(r.bg, r.deadline(began))
		err := op(ctx)
		cancel()
		if err == nil {
			r.recovered()
			return nil
		}
		if errors.Is(err, errStopped) {
			return err
		}
		if !retryable(err, r.q.Cluster()) {
			return r.setFatal(err)
		}
		since, limit, cause := r.failed(err, began)
		if time.Since(since) >= limit {
			return r.setFatal(fmt.Errorf("%w: failing for %v: %w", ErrRedisUnreachable, limit, cause))
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-r.fatal:
			t.Stop()
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// deadline is when a call that began at began must end: RedisTimeout after
// the start of the current run of failures, or after began.
func (r *runner) deadline(began time.Time) time.Time {
	r.health.mu.Lock()
	defer r.health.mu.Unlock()
	start := r.health.failing
	if start.IsZero() {
		start = began
	}
	return start.Add(r.o.RedisTimeout)
}

// failed records that a call that began at began failed with err, and
// returns when Redis started failing, how long it may go on, and the failure
// to report if it goes on longer.
func (r *runner) failed(err error, began time.Time) (since time.Time, limit time.Duration, cause error) {
	r.health.mu.Lock()
	defer r.health.mu.Unlock()
	if r.health.cause == nil || !errors.Is(err, context.DeadlineExceeded) {
		r.health.cause = err
	}
	limit = r.o.RedisTimeout
	if !r.health.reached && Unresolved(err) {
		limit = min(limit, UnresolvedTimeout)
	}
	if r.health.failing.IsZero() {
		r.health.failing = began
		r.log.Warn("redis failed; retrying for up to "+limit.String(), "queue", r.q.Name(), "error", err.Error())
	}
	return r.health.failing, limit, r.health.cause
}

func (r *runner) recovered() {
	r.health.mu.Lock()
	defer r.health.mu.Unlock()
	r.health.reached, r.health.cause = true, nil
	if !r.health.failing.IsZero() {
		r.log.Info("redis answers again after "+time.Since(r.health.failing).Round(time.Millisecond).String(), "queue", r.q.Name())
		r.health.failing = time.Time{}
	}
}

// setFatal ends the Run with err: no more leases, handlers cancelled.
func (r *runner) setFatal(err error) error {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
		close(r.fatal)
	}
	err = r.err
	r.mu.Unlock()
	r.stopLeasing()
	r.hcancel()
	return err
}

func (r *runner) fatalErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// retryable tells errors that may pass (the connection, a server that is
// loading or failing over, a Redis Cluster moving the queue's slot) from
// those that will not. cluster says whether the client follows a Redis
// Cluster's redirections.
func retryable(err error, cluster bool) bool {
	if errors.Is(err, queue.ErrWrongType) || errors.Is(err, queue.ErrNoHashTag) || errors.Is(err, context.Canceled) {
		return false
	}
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return true // network errors and timeouts
	}
	// A full Redis (maxmemory, noeviction) refuses some of a worker's writes
	// (renewing a lease, marking an item for reclaim), while leasing and
	// completing, which free memory as the queue drains, still pass: wait.
	return redis.IsLoadingError(err) || redis.IsTryAgainError(err) || redis.IsMasterDownError(err) ||
		redis.IsClusterDownError(err) || redis.IsReadOnlyError(err) || redis.IsMaxClientsError(err) ||
		cluster && redirected(err) ||
		redis.HasErrorPrefix(err, "BUSY") || redis.HasErrorPrefix(err, "NOREPLICAS") || redis.HasErrorPrefix(err, "OOM")
}

// redirected: a Redis Cluster moves the queue's slot. go-redis follows
// MOVED and ASK (and waits out TRYAGAIN) up to MaxRedirects times per
// command, then returns the last of them: while keys migrate one MIGRATE at
// a time, and until every node knows the new owner, a script meets several
// in a row. Nothing ran; the next try goes where the refreshed slot map says.
// A client that is not a cluster's never follows them: for it they are a
// mistake (a cluster node given as a single Redis), not a passing state.
func redirected(err error) bool {
	_, moved := redis.IsMovedError(err)
	_, ask := redis.IsAskError(err)
	return moved || ask
}

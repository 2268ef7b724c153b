package worker

import (
	"context"
	"errors"
	"fmt"
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
	failing time.Time // first failure of the current run of failures; zero when healthy
}

// call runs op until it succeeds. Connection errors and timeouts are retried
// with backoff until Redis has failed for RedisTimeout in a row; then, or at
// once for errors that retrying cannot mend (a key of the wrong type, a
// rejected password), the Run fails. The error is then returned to every
// call, which give up at once.
func (r *runner) call(op func(ctx context.Context) error) error {
	backoff := 50 * time.Millisecond
	for {
		select {
		case <-r.fatal:
			return r.fatalErr()
		default:
		}
		err := op(r.bg)
		if err == nil {
			r.recovered()
			return nil
		}
		if errors.Is(err, errStopped) {
			return err
		}
		if !retryable(err) {
			return r.setFatal(err)
		}
		if since := r.failed(err); time.Since(since) >= r.o.RedisTimeout {
			return r.setFatal(fmt.Errorf("%w: failing for %v: %w", ErrRedisUnreachable, r.o.RedisTimeout, err))
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

func (r *runner) failed(err error) time.Time {
	r.health.mu.Lock()
	defer r.health.mu.Unlock()
	if r.health.failing.IsZero() {
		r.health.failing = time.Now()
		r.log.Warn("redis failed; retrying for up to "+r.o.RedisTimeout.String(), "queue", r.q.Name(), "error", err.Error())
	}
	return r.health.failing
}

func (r *runner) recovered() {
	r.health.mu.Lock()
	defer r.health.mu.Unlock()
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
// loading or failing over) from those that will not.
func retryable(err error) bool {
	if errors.Is(err, queue.ErrWrongType) || errors.Is(err, queue.ErrNoHashTag) || errors.Is(err, context.Canceled) {
		return false
	}
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return true // network errors and timeouts
	}
	return redis.IsLoadingError(err) || redis.IsTryAgainError(err) || redis.IsMasterDownError(err) ||
		redis.IsClusterDownError(err) || redis.IsReadOnlyError(err) || redis.IsMaxClientsError(err) ||
		redis.HasErrorPrefix(err, "BUSY") || redis.HasErrorPrefix(err, "NOREPLICAS")
}

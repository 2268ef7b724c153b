// Package worker runs a Go function on the items of a work queue (package
// queue) until the queue is drained.
//
// Run leases items, hands each to a Handler, completes it when the handler
// returns nil and fails it otherwise (queued again, and dead-lettered after
// MaxAttempts), renews the leases while handlers run, reclaims the items of
// workers that died, and returns once nothing is pending or in progress
// anywhere. A queue that vanishes meanwhile (Redis restarted without its
// data) is not drained: Run stops with ErrQueueLost. Delivery is at least once: a handler may see an item that
// another worker already worked on, if that worker lost its lease.
//
//	sum, err := worker.Run(ctx, queue.New(rdb, "job2"), func(ctx context.Context, item []byte) error {
//		return process(ctx, item)
//	}, worker.Options{Concurrency: 4})
package worker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// Handler works on one item. A nil error completes the item; an error fails
// this attempt. item is the handler's own copy. ctx is not cancelled when
// Run's context is, but only once the shutdown grace has passed (see
// Options.ShutdownGrace); a handler should return promptly then.
type Handler func(ctx context.Context, item []byte) error

// Options tune Run. The zero value is usable: every field has a default.
type Options struct {
	// Lease is how long an item is held without renewal; Run renews the
	// leases of its items every Lease/3 while they are worked on, so another
	// worker reclaims them only once this one has stopped. Default
	// queue.DefaultLease.
	Lease time.Duration
	// MaxAttempts is how often an item may fail before it moves to the
	// dead-letter list. Default 3.
	MaxAttempts int
	// Concurrency is how many handlers run at once. Default 1.
	Concurrency int
	// MaxItems makes Run return after that many items have left the queue
	// through it (completed or dead-lettered; a failed attempt that is
	// queued again does not count). 0: no limit.
	MaxItems int
	// Prefetch is how many items one lease round trip takes, for each
	// handler slot; more than 1 saves round trips when items are quick, but
	// holds items that other workers could be working on. 0 (the default)
	// adapts: one item at a time while items take long, up to 16 while they
	// take less than a few milliseconds, where round trips dominate.
	Prefetch int
	// ReclaimGrace is how long an item must be seen without a lease and
	// without a live worker before it is reclaimed (see queue.Reclaim).
	// Default 10s.
	ReclaimGrace time.Duration
	// ShutdownGrace is how long running handlers may go on once Run's
	// context is cancelled. After it, their context is cancelled and their
	// items go back to the queue at once. 0: at once.
	ShutdownGrace time.Duration
	// PollInterval is how often an idle worker looks for new or reclaimable
	// items while it waits for other workers to finish. Default 1s.
	PollInterval time.Duration
	// RedisTimeout is how long Redis may keep failing (connection errors,
	// timeouts, loading its data after a restart) before Run gives up with
	// ErrRedisUnreachable, counted from the start of the first call that
	// failed. No call outlasts it: Run's calls carry it as their context's
	// deadline, which bounds dialling, and reads too with a client whose
	// ContextTimeoutEnabled is set (otherwise a read may overrun it by the
	// client's ReadTimeout). An address that does not resolve before Redis
	// first answered ends the Run after UnresolvedTimeout, if that is
	// shorter. Default DefaultRedisTimeout, long enough for a Redis pod to
	// be rescheduled and to reload its data.
	RedisTimeout time.Duration
	// WaitForSeed makes Run wait for a queue that was never seeded to be
	// seeded, rather than fail with ErrNeverSeeded: for workers started
	// before their items.
	WaitForSeed bool
	// Log receives the worker's messages: failed items, lost leases, Redis
	// trouble, shutdown. Default slog.Default().
	Log *slog.Logger
}

// DefaultMaxAttempts is how often an item may fail unless Options say otherwise.
const DefaultMaxAttempts = 3

// DefaultRedisTimeout is how long Redis may fail before Run gives up,
// unless Options say otherwise.
const DefaultRedisTimeout = 5 * time.Minute

func (o Options) withDefaults() Options {
	if o.Lease <= 0 {
		o.Lease = queue.DefaultLease
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 1
	}
	if o.MaxItems < 0 {
		o.MaxItems = 0
	}
	if o.Prefetch < 0 {
		o.Prefetch = 0
	}
	if o.ReclaimGrace <= 0 {
		o.ReclaimGrace = queue.DefaultReclaimGrace
	}
	if o.ShutdownGrace < 0 {
		o.ShutdownGrace = 0
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.RedisTimeout <= 0 {
		o.RedisTimeout = DefaultRedisTimeout
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o
}

// Summary counts what one Run did.
type Summary struct {
	// Done items were completed.
	Done int
	// Failed attempts: the handler returned an error. Each was queued again
	// or, the last time, dead-lettered.
	Failed int
	// DeadLettered of the failed items moved to the dead-letter list.
	DeadLettered int
	// Released items went back to the queue unfinished at shutdown.
	Released int
	// Lost items had passed to another worker (this one's lease had
	// lapsed) by the time their outcome was recorded; it was not.
	Lost int
	// Drained is set when Run returned because the queue was empty, with
	// nothing in progress anywhere.
	Drained bool
}

var (
	// ErrRedisUnreachable is returned when Redis has failed for longer than
	// Options.RedisTimeout.
	ErrRedisUnreachable = errors.New("redis unreachable")
	// ErrQueueLost is returned when the queue vanished from Redis, or was
	// replaced by another of the same name, while Run worked on it (its
	// epoch, see queue.Stats, vanished or changed): Redis restarted without
	// its data, was flushed, or the queue was deleted. Its items are gone;
	// the queue was not drained.
	ErrQueueLost = errors.New("queue lost")
	// ErrNeverSeeded is returned when the queue holds nothing and never
	// did, unless Options.WaitForSeed: the name is wrong, or Redis lost the
	// queue before this worker started (a worker restarted after the loss
	// must not report the queue drained).
	ErrNeverSeeded = errors.New("queue never seeded")
)

// Run works on q's items with h until the queue is drained (nil error,
// Summary.Drained), MaxItems items are through (nil error), ctx is
// cancelled (ctx.Err()), the queue is lost (ErrQueueLost) or not there
// (ErrNeverSeeded), or Redis fails for good (ErrRedisUnreachable). A queue
// name that queue.ValidateName refuses, or Queue.Check (no hash tag on a
// Redis Cluster), is an error at once.
//
// Cancelling ctx stops leasing at once and gives the items not yet started
// back to the queue; running handlers get Options.ShutdownGrace to finish.
// An error a handler returns after ctx was cancelled releases its item
// rather than failing it, as the handler was most likely interrupted.
func Run(ctx context.Context, q *queue.Queue, h Handler, o Options) (Summary, error) {
	if err := queue.ValidateName(q.Name()); err != nil {
		return Summary{}, err
	}
	if err := q.Check(); err != nil {
		return Summary{}, err
	}
	r := newRunner(ctx, q, h, o.withDefaults())
	defer r.hcancel()
	// The queue's identity now, to tell later whether it is still the same.
	if err := r.call(func(ctx context.Context) (err error) {
		r.epoch, err = q.Epoch(ctx)
		return err
	}); err != nil {
		return r.sum, err
	}

	var slots sync.WaitGroup
	for range r.o.Concurrency {
		slots.Add(1)
		go func() {
			defer slots.Done()
			r.slot()
		}()
	}
	finished := make(chan struct{})
	var aux sync.WaitGroup
	for _, f := range []func(<-chan struct{}){r.monitor, r.heartbeat, r.shutdown} {
		aux.Add(1)
		go func() {
			defer aux.Done()
			f(finished)
		}()
	}
	slots.Wait()
	close(finished)
	aux.Wait()
	// A worker that has stopped is no longer one of the queue's workers
	// (unless Redis cannot be told: the bound on that is already spent).
	if !errors.Is(r.fatalErr(), ErrRedisUnreachable) {
		leaveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = q.Leave(leaveCtx)
		cancel()
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.err != nil:
		return r.sum, r.err
	case r.sum.Drained || r.o.MaxItems > 0 && r.taken >= r.o.MaxItems:
		return r.sum, nil
	default:
		return r.sum, ctx.Err()
	}
}

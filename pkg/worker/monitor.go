package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/plural"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// monitor reclaims the items of dead workers and, when every slot is idle,
// decides between waking them (items pending), returning (drained), and
// waiting for the items other workers hold (they may die and their items
// come back).
func (r *runner) monitor(finished <-chan struct{}) {
	tick := time.NewTicker(r.o.PollInterval)
	defer tick.Stop()
	// Reclaiming needs two looks at least ReclaimGrace apart; while the
	// slots are busy, look about that often, so that a busy worker takes a
	// dead worker's items early without scanning the processing list on
	// every tick.
	busyReclaim := max(r.o.PollInterval, r.o.ReclaimGrace)
	var lastReclaim time.Time
	var waitingFor int64 = -1
	for {
		select {
		case <-finished:
			return
		case <-r.stop:
			return
		case <-r.allIdle:
		case <-tick.C:
		}
		idle := r.slotsIdle()
		if idle || time.Since(lastReclaim) >= busyReclaim {
			lastReclaim = time.Now()
			var n int
			if err := r.call(func(ctx context.Context) (err error) {
				n, err = r.q.Reclaim(ctx, r.o.ReclaimGrace)
				return err
			}); err != nil {
				return
			}
			if n > 0 {
				r.log.Info("reclaimed "+plural.Count(n, "item")+" of workers that stopped", "queue", r.q.Name())
				r.wakeAll()
				continue
			}
		}
		if !idle {
			// Busy slots lease and complete without looking at the queue's
			// identity: look on every tick, so that a queue lost meanwhile
			// stops the leasing within a PollInterval.
			var epoch string
			if err := r.call(func(ctx context.Context) (err error) {
				epoch, err = r.q.Epoch(ctx)
				return err
			}); err != nil || !r.sameQueue(epoch, nil) {
				return
			}
			continue
		}
		var st *queue.Stats
		if err := r.call(func(ctx context.Context) (err error) {
			st, err = r.q.Stats(ctx)
			return err
		}); err != nil {
			return
		}
		if !r.sameQueue(st.Epoch, st) {
			return
		}
		switch {
		case st.Pending > 0:
			r.wakeAll()
		case st.Processing == 0 && neverSeeded(st) && r.doneSoFar() == 0:
			if !r.o.WaitForSeed {
				r.setFatal(lostError{sentinel: ErrNeverSeeded, msg: fmt.Sprintf("queue %s is not in Redis: it was never seeded "+
					"(is the name right?), or Redis lost it, restarted without its data", r.q.Name())})
				return
			}
			if !r.waitingForSeed {
				r.waitingForSeed = true
				r.log.Info("the queue was never seeded; waiting for its first items", "queue", r.q.Name())
			}
		case st.Processing == 0:
			r.mu.Lock()
			r.sum.Drained = true
			r.mu.Unlock()
			r.stopLeasing()
			return
		case st.Processing != waitingFor:
			waitingFor = st.Processing
			r.log.Info("nothing pending; waiting for "+plural.Count(int(st.Processing), "item")+" in progress elsewhere",
				"queue", r.q.Name(), "expired", st.Expired, "reclaim_grace", r.o.ReclaimGrace.String())
		}
	}
}

// sameQueue reports whether the queue is still the one this worker started
// on: same epoch, and (when st is given) counters that have not gone back
// below what this worker alone completed. A queue first seeded after the
// worker started becomes its queue. Otherwise the Run ends with
// ErrQueueLost.
func (r *runner) sameQueue(epoch string, st *queue.Stats) bool {
	var lost error
	switch {
	case r.epoch == "" && epoch != "":
		r.epoch = epoch
	case epoch == "" && r.epoch != "":
		lost = fmt.Errorf("queue %s vanished from Redis: it was restarted without its data?", r.q.Name())
	case epoch != r.epoch:
		lost = fmt.Errorf("queue %s was replaced in Redis by another of the same name (deleted and seeded again, "+
			"or Redis restarted without its data and was seeded again)", r.q.Name())
	case st != nil && st.Completed < int64(r.doneSoFar()):
		// A queue filled by other tools has no epoch; its counters tell.
		lost = fmt.Errorf("queue %s vanished from Redis: it counts %d items completed, this worker alone completed %d: "+
			"Redis was restarted without its data?", r.q.Name(), st.Completed, r.doneSoFar())
	}
	if lost == nil {
		return true
	}
	r.setFatal(lostError{msg: lost.Error(), sentinel: ErrQueueLost})
	return false
}

// neverSeeded: the queue holds nothing and shows no sign of ever holding anything.
func neverSeeded(st *queue.Stats) bool {
	return st.Epoch == "" && st.Pending == 0 && st.Processing == 0 && st.Failed == 0 &&
		st.Seeded == 0 && st.Completed == 0
}

func (r *runner) doneSoFar() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sum.Done
}

// lostError is an error whose message stands alone: it wraps its sentinel
// without repeating the sentinel's words.
type lostError struct {
	msg      string
	sentinel error
}

func (e lostError) Error() string { return e.msg }
func (e lostError) Unwrap() error { return e.sentinel }

// heartbeat renews the leases of the held items every Lease/3.
func (r *runner) heartbeat(finished <-chan struct{}) {
	tick := time.NewTicker(max(r.o.Lease/3, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-finished:
			return
		case <-r.fatal:
			return
		case <-tick.C:
		}
		r.mu.Lock()
		var es []*entry
		for e := range r.held {
			if !e.settling && !e.lost {
				es = append(es, e)
			}
		}
		r.mu.Unlock()
		if len(es) == 0 {
			// Holding nothing, let this worker's liveness lapse, so that
			// an item leased by a call whose reply never arrived, and that
			// was not sent again (the worker stopped first), is reclaimed.
			continue
		}
		var held []bool
		if err := r.call(func(ctx context.Context) (err error) {
			held, err = r.q.Extend(ctx, r.o.Lease, itemsOf(es)...)
			return err
		}); err != nil {
			return
		}
		for i, ok := range held {
			if ok || i >= len(es) {
				continue
			}
			r.mu.Lock()
			// An item completed meanwhile is gone for a good reason.
			lost := r.held[es[i]] && !es[i].settling
			es[i].lost = lost
			r.mu.Unlock()
			if !lost {
				continue
			}
			r.log.Warn("lost the lease on an item: another worker may work on it too", "queue", r.q.Name(), "item", show(es[i].item.Value))
		}
	}
}

// shutdown stops leasing when Run's context is cancelled, releases the items
// not yet started, and once the grace has passed cancels the handlers and
// releases their items.
func (r *runner) shutdown(finished <-chan struct{}) {
	select {
	case <-finished:
		return
	case <-r.ctx.Done():
	}
	r.stopLeasing()
	s := r.newStream()
	r.releaseHeld(s, waiting)
	r.mu.Lock()
	n := 0
	for e := range r.held {
		if e.state == running {
			n++
		}
	}
	r.mu.Unlock()
	if n > 0 {
		r.log.Info("stopping: no new items; "+plural.Count(n, "running item")+" may finish within "+r.o.ShutdownGrace.String(), "queue", r.q.Name())
	}
	grace := time.NewTimer(r.o.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-finished:
		return
	case <-grace.C:
	}
	r.hcancel()
	r.releaseHeld(s, running)
}

package worker

import (
	"context"
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
			continue
		}
		var st *queue.Stats
		if err := r.call(func(ctx context.Context) (err error) {
			st, err = r.q.Stats(ctx)
			return err
		}); err != nil {
			return
		}
		switch {
		case st.Pending > 0:
			r.wakeAll()
		case st.Processing == 0:
			if st.Seeded == 0 && st.Completed == 0 && st.Failed == 0 {
				r.log.Warn("the queue is empty and was never seeded: is the name right?", "queue", r.q.Name())
			}
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
			// an item leased by a reply that never arrived is reclaimed.
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
	r.releaseHeld(waiting)
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
	r.releaseHeld(running)
}

package worker

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/plural"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// runner is the state of one Run: Concurrency slots, each leasing and
// working on its own items, and the goroutines that renew leases (heartbeat),
// reclaim and watch for the drained queue (monitor), and time the shutdown.
type runner struct {
	q   *queue.Queue
	h   Handler
	o   Options
	log *slog.Logger
	ctx context.Context // Run's context: cancelled, the worker stops
	bg  context.Context // Run's context without its cancellation, for Redis

	hctx    context.Context // the handlers' context: cancelled after the grace
	hcancel context.CancelFunc

	stop     chan struct{} // closed: lease no more (shutdown, drained, fatal error)
	stopOnce sync.Once
	fatal    chan struct{} // closed with err set: give up
	health   health
	// epoch is the queue's identity (queue.Stats.Epoch) when Run started, or
	// when it was first seeded afterwards; "" until then. Only the monitor
	// uses it once the slots run.
	epoch          string
	waitingForSeed bool // said so in the log

	mu       sync.Mutex
	held     map[*entry]bool // items this worker holds
	sum      Summary
	err      error
	taken    int           // items leased and not given back, toward MaxItems
	active   int           // slots still running
	idle     int           // slots waiting for work
	wake     chan struct{} // closed to wake the idle slots
	progress bool          // an item was settled since the slots were last all idle
	allIdle  chan struct{} // signals the monitor that all slots are idle after progress
}

// entry is an item this worker holds.
type entry struct {
	item     queue.Item
	state    state
	lost     bool // an Extend found it held by another worker
	settling bool // its outcome is being sent: no more renewals
}

type state int

const (
	waiting  state = iota // leased, its handler not started
	running               // its handler runs
	finished              // its handler returned nil; to be completed
	released              // given back at shutdown: nothing more to do
)

func newRunner(ctx context.Context, q *queue.Queue, h Handler, o Options) *runner {
	r := &runner{
		q:        q,
		h:        h,
		o:        o,
		log:      o.Log,
		ctx:      ctx,
		bg:       context.WithoutCancel(ctx),
		stop:     make(chan struct{}),
		fatal:    make(chan struct{}),
		held:     map[*entry]bool{},
		active:   o.Concurrency,
		wake:     make(chan struct{}),
		progress: true,
		allIdle:  make(chan struct{}, 1),
	}
	r.hctx, r.hcancel = context.WithCancel(r.bg)
	return r
}

func (r *runner) stopLeasing() { r.stopOnce.Do(func() { close(r.stop) }) }

func (r *runner) stopped() bool {
	if r.ctx.Err() != nil {
		return true
	}
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

// slot leases items and works on them one by one. Completions are sent with
// the next lease in one round trip, or on their own once the oldest has
// waited PollInterval (a long item behind quick ones).
func (r *runner) slot() {
	defer r.slotDone()
	s := r.newStream()
	var done []*entry
	var doneSince time.Time
	defer func() { r.complete(s, done) }()
	batch := newPrefetch(r.o.Prefetch)
	for !r.stopped() {
		n := r.reserve(batch.size)
		if n == 0 {
			return // MaxItems are leased; the slots holding them finish them
		}
		got, items, err := r.completeAndLease(s, done, n)
		if err != nil {
			r.giveBack(n)
			return
		}
		r.settledDone(done, got)
		done = nil
		r.giveBack(n - len(items))
		if len(items) == 0 {
			if !r.waitForWork() {
				return
			}
			continue
		}
		es := r.hold(items)
		start := time.Now()
		for i, e := range es {
			if r.stopped() {
				r.releaseIn(s, waiting, es[i:])
				break
			}
			if !r.begin(e) {
				continue // released at shutdown
			}
			err := r.handle(e)
			switch outcome := r.end(e, err); {
			case outcome == released:
			case err == nil:
				if len(done) == 0 {
					doneSince = time.Now()
				}
				done = append(done, e)
				if time.Since(doneSince) >= r.o.PollInterval {
					r.complete(s, done)
					done = nil
				}
			case r.ctx.Err() != nil:
				// Stopped mid-item: not the item's fault, so no attempt
				// counts. The shutdown may be releasing it at this moment
				// (its grace ended as the handler returned): releaseIn
				// lets only one of the two do so.
				r.log.Info("item interrupted by shutdown goes back to the queue", "queue", r.q.Name(), "error", err)
				r.releaseIn(s, running, []*entry{e})
			default:
				r.fail(s, e, err)
			}
		}
		batch.observe(len(es), time.Since(start))
	}
}

// reserve claims up to want of the items this worker may still take.
func (r *runner) reserve(want int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := want
	if r.o.MaxItems > 0 {
		n = max(0, min(n, r.o.MaxItems-r.taken))
	}
	r.taken += n
	return n
}

func (r *runner) giveBack(n int) {
	r.mu.Lock()
	r.taken -= n
	r.mu.Unlock()
}

func (r *runner) slotDone() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.active--
	if r.active > 0 && r.idle == r.active {
		r.signalIdle()
	}
}

// waitForWork parks an idle slot until the monitor finds items pending. It
// reports false when the worker is stopping.
func (r *runner) waitForWork() bool {
	r.mu.Lock()
	r.idle++
	wake := r.wake
	if r.idle == r.active && r.progress {
		r.progress = false
		r.signalIdle()
	}
	r.mu.Unlock()
	select {
	case <-wake:
		return !r.stopped()
	case <-r.stop:
		return false
	}
}

func (r *runner) signalIdle() {
	select {
	case r.allIdle <- struct{}{}:
	default:
	}
}

// wakeAll sends the idle slots back to leasing.
func (r *runner) wakeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.idle > 0 {
		close(r.wake)
		r.wake = make(chan struct{})
		r.idle = 0
	}
}

// slotsIdle reports whether every slot waits for work.
func (r *runner) slotsIdle() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.active > 0 && r.idle == r.active
}

func (r *runner) hold(items []queue.Item) []*entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	es := make([]*entry, len(items))
	for i, it := range items {
		es[i] = &entry{item: it}
		r.held[es[i]] = true
	}
	return es
}

func (r *runner) begin(e *entry) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.state != waiting {
		return false
	}
	e.state = running
	return true
}

// end records that e's handler returned, unless the shutdown released e
// meanwhile; it returns e's state.
func (r *runner) end(e *entry, err error) state {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.state == released {
		return released
	}
	if err == nil {
		e.state = finished
	}
	return e.state
}

func (r *runner) handle(e *entry) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return r.h(r.hctx, bytes.Clone(e.item.Value))
}

func (r *runner) drop(es ...*entry) {
	for _, e := range es {
		delete(r.held, e)
	}
}

// settle marks es as about to leave: the heartbeat no longer renews them
// and, should it find them gone meanwhile, knows why.
func (r *runner) settle(es []*entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range es {
		e.settling = true
	}
}

// completeAndLease completes done and leases up to n items, or at shutdown
// only completes done. A call that failed is sent again as it was, so that
// the stream answers it once (see queue.Stream): leases that ran but whose
// replies were lost are then this worker's, not items held by it unknown.
func (r *runner) completeAndLease(s *queue.Stream, done []*entry, n int) (int, []queue.Item, error) {
	r.settle(done)
	var got int
	var items []queue.Item
	stopping := r.stopped()
	err := r.call(func(ctx context.Context) error {
		if stopping || len(done) == 0 && r.stopped() {
			if len(done) == 0 {
				// A lease sent before may have run: this worker leaves
				// the queue, so reclaim returns its items once its grace
				// has passed.
				return errStopped
			}
			// Complete only: no new items at shutdown.
			c, err := s.Complete(ctx, itemsOf(done)...)
			got = c
			return err
		}
		c, its, err := s.CompleteAndLease(ctx, itemsOf(done), n, r.o.Lease)
		if err != nil && len(its) > 0 {
			// Leased, but rediswq.py's lease keys were not set: our own
			// holder record protects the items all the same.
			r.log.Debug("setting lease keys failed", "queue", r.q.Name(), "error", err)
			err = nil
		}
		got, items = c, its
		return err
	})
	if err == errStopped {
		return 0, nil, nil
	}
	return got, items, err
}

func (r *runner) complete(s *queue.Stream, done []*entry) {
	if len(done) == 0 {
		return
	}
	r.settle(done)
	var got int
	err := r.call(func(ctx context.Context) (err error) {
		got, err = s.Complete(ctx, itemsOf(done)...)
		return err
	})
	if err == nil {
		r.settledDone(done, got)
	}
}

// settledDone counts got of done as completed, and the rest as lost.
func (r *runner) settledDone(done []*entry, got int) {
	if len(done) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drop(done...)
	r.sum.Done += got
	r.sum.Lost += len(done) - got
	r.taken -= len(done) - got
	r.progress = true
}

func (r *runner) fail(s *queue.Stream, e *entry, cause error) {
	r.settle([]*entry{e})
	var out queue.FailOutcome
	err := r.call(func(ctx context.Context) (err error) {
		out, err = s.Fail(ctx, e.item, r.o.MaxAttempts, cause.Error())
		return err
	})
	if err != nil {
		return
	}
	r.mu.Lock()
	r.drop(e)
	r.progress = true
	switch out {
	case queue.Retried:
		r.sum.Failed++
		r.taken--
	case queue.DeadLettered:
		r.sum.Failed++
		r.sum.DeadLettered++
	default:
		r.sum.Lost++
		r.taken--
	}
	r.mu.Unlock()
	switch out {
	case queue.Retried:
		r.log.Warn("item failed; queued again", "queue", r.q.Name(), "item", show(e.item.Value), "error", cause.Error())
	case queue.DeadLettered:
		r.log.Warn("item failed "+strconv.Itoa(r.o.MaxAttempts)+" times; moved to the dead-letter list",
			"queue", r.q.Name(), "item", show(e.item.Value), "error", cause.Error())
	default:
		r.log.Warn("item failed, but another worker holds it now", "queue", r.q.Name(), "item", show(e.item.Value), "error", cause.Error())
	}
}

// release gives es back to the queue at once. Call it through releaseIn,
// which picks the items still in a state, so that each is released once.
func (r *runner) release(s *queue.Stream, es ...*entry) {
	if len(es) == 0 {
		return
	}
	r.mu.Lock()
	for _, e := range es {
		e.state = released
		e.settling = true
	}
	r.mu.Unlock()
	items := itemsOf(es)
	var got int
	err := r.call(func(ctx context.Context) (err error) {
		got, err = s.Release(ctx, items...)
		return err
	})
	if err != nil {
		return
	}
	r.mu.Lock()
	r.drop(es...)
	r.sum.Released += got
	r.sum.Lost += len(es) - got
	r.taken -= len(es)
	r.mu.Unlock()
	r.log.Info("released "+plural.Count(got, "item")+" to the queue", "queue", r.q.Name())
}

// releaseHeld releases all held items in state st.
func (r *runner) releaseHeld(s *queue.Stream, st state) {
	r.mu.Lock()
	es := make([]*entry, 0, len(r.held))
	for e := range r.held {
		es = append(es, e)
	}
	r.mu.Unlock()
	r.releaseIn(s, st, es)
}

// releaseIn releases those of es that are in state st. The state is
// checked and changed under the lock, so of a slot and the shutdown only one
// releases an item.
func (r *runner) releaseIn(s *queue.Stream, st state, es []*entry) {
	r.mu.Lock()
	var mine []*entry
	for _, e := range es {
		if e.state == st {
			e.state = released
			mine = append(mine, e)
		}
	}
	r.mu.Unlock()
	r.release(s, mine...)
}

// newStream is a stream for one goroutine's calls that settle items. Its
// replies are kept as long as a call may be retried (RedisTimeout), and a
// while more.
func (r *runner) newStream() *queue.Stream {
	return r.q.NewStream(r.o.RedisTimeout + time.Minute)
}

func itemsOf(es []*entry) []queue.Item {
	items := make([]queue.Item, len(es))
	for i, e := range es {
		items[i] = e.item
	}
	return items
}

// show shortens an item for a log line.
func show(item []byte) string {
	const maxShown = 80
	if len(item) > maxShown {
		return string(item[:maxShown]) + "..."
	}
	return string(item)
}

// prefetch sizes a slot's leases. A fixed size is kept as it is; an
// adaptive one doubles while items take under fastItem each (the round trip
// then costs more than the work) and drops back to one as soon as they take
// longer than slowItem, so that slow items are never hoarded.
type prefetch struct {
	size     int
	adaptive bool
}

const (
	maxAdaptivePrefetch = 16
	fastItem            = 5 * time.Millisecond
	slowItem            = 50 * time.Millisecond
)

func newPrefetch(fixed int) *prefetch {
	if fixed > 0 {
		return &prefetch{size: fixed}
	}
	return &prefetch{size: 1, adaptive: true}
}

func (p *prefetch) observe(items int, took time.Duration) {
	if !p.adaptive || items == 0 {
		return
	}
	switch per := took / time.Duration(items); {
	case per < fastItem:
		p.size = min(p.size*2, maxAdaptivePrefetch)
	case per > slowItem:
		p.size = 1
	}
}

package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// SeedOptions tune a Seeder.
type SeedOptions struct {
	// BatchSize is how many items at the most go into one atomic push
	// (default 1000); a batch also ends once its items fill MaxBatchBytes.
	BatchSize int
	// Window is how many batches at the most go to Redis in one round trip
	// (default 32). While one window is in flight, the next one fills.
	Window int
	// Force seeds a queue even when it has drained (see ErrDrained).
	Force bool
}

// MaxBatchBytes ends a batch early when its items are large, which bounds
// the memory of a run (the queued batches, a window and a batch being
// filled: about 10 MiB at the most) and keeps each push well inside Redis'
// limits on one argument.
const MaxBatchBytes = 256 << 10

// maxWindowBytes ends a window early when its batches are large: go-redis
// must write a whole window within its write timeout (3 s by default), also
// through a slow port-forward.
const maxWindowBytes = 1 << 20

// progressTTL is how long a run's progress key outlives its last batch.
const progressTTL = time.Hour

// settleTimeout bounds asking Redis which batches of a broken-off window
// landed.
const settleTimeout = 5 * time.Second

// Seeder pushes items so that workers take them in the order they were
// added. Batches are atomic: each is pushed entirely or not at all, and at
// most once, even when a lost reply makes the client send it again.
//
// A goroutine of the Seeder's own sends the batches, one window of them per
// round trip, so that reading and encoding the next items overlaps with the
// window in flight. Add, Flush and Close belong to one goroutine; Pushed may
// be called from any.
type Seeder struct {
	q     *Queue
	opts  SeedOptions
	token string
	keys  []string

	// The caller's side.
	cur     seedBatch  // the batch being filled
	held    *seedBatch // sealed, but its hand-off to the sender was cancelled
	seq     int64
	started bool
	closed  bool
	queued  chan *seedBatch
	free    chan []byte
	done    chan struct{} // closed when the sender has returned
	cancel  context.CancelFunc

	pushed atomic.Int64

	// The sender's side; others read them only after done is closed.
	inflight []*seedBatch // the batches whose replies are missing
	err      error
}

type seedBatch struct {
	seq  int64
	n    int64
	data []byte // the items as MessagePack strings, back to back
}

// NewSeeder starts a seeding run.
func (q *Queue) NewSeeder(opts SeedOptions) *Seeder {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.Window <= 0 {
		opts.Window = 32
	}
	s := &Seeder{
		q:      q,
		opts:   opts,
		token:  uuid.NewString(),
		queued: make(chan *seedBatch, opts.Window),
		free:   make(chan []byte, 2*opts.Window+2),
		done:   make(chan struct{}),
	}
	s.keys = []string{q.name, q.processingKey(), q.statsKey(), s.progressKey(), q.metaKey()}
	return s
}

// Pushed is how many items are known to be in Redis.
func (s *Seeder) Pushed() int64 { return s.pushed.Load() }

// Add queues item for pushing; it is sent once its batch is full. The bytes
// are copied: the caller may reuse item. ctx bounds waiting for room while
// two windows are on their way.
func (s *Seeder) Add(ctx context.Context, item []byte) error {
	s.cur.data = appendMsgpackString(s.cur.data, item)
	s.cur.n++
	if s.cur.n < int64(s.opts.BatchSize) && len(s.cur.data) < MaxBatchBytes {
		return nil
	}
	return s.Flush(ctx)
}

// Flush sends the items added so far without waiting for their batch to
// fill, for input that arrives slowly. It does not wait for Redis.
func (s *Seeder) Flush(ctx context.Context) error {
	for {
		if s.held == nil {
			if s.cur.n == 0 {
				return nil
			}
			s.seq++
			s.held = &seedBatch{seq: s.seq, n: s.cur.n, data: s.cur.data}
			s.cur = seedBatch{data: s.buffer()}
		}
		if err := s.handOff(ctx); err != nil {
			return err
		}
	}
}

// Close pushes what is left and reports the first error; when ctx ends
// first, the run stops there. After an error, Pushed says exactly how many
// items made it (see SeedError).
func (s *Seeder) Close(ctx context.Context) error {
	ferr := s.Flush(ctx)
	if !s.started {
		return ferr
	}
	if !s.closed {
		close(s.queued)
		s.closed = true
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		s.cancel()
		<-s.done
	}
	s.cancel()
	if s.err != nil {
		return s.err
	}
	if ferr != nil {
		return &SeedError{Pushed: s.Pushed(), Err: ferr}
	}
	return nil
}

func (s *Seeder) handOff(ctx context.Context) error {
	if !s.started {
		sendCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		s.cancel, s.started = cancel, true
		go s.send(sendCtx)
	}
	select {
	case <-s.done:
		return s.err
	default:
	}
	select {
	case s.queued <- s.held:
		s.held = nil
		return nil
	case <-s.done:
		return s.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Seeder) buffer() []byte {
	select {
	case b := <-s.free:
		return b[:0]
	default:
		return make([]byte, 0, 32<<10)
	}
}

func (s *Seeder) progressKey() string { return s.q.name + ":seed:" + s.token }

// send pushes the queued batches, a window per round trip: the first batch
// alone (it carries the drained-queue guard, and nothing may land after a
// refusal), then whatever has queued up meanwhile, up to Window batches or
// maxWindowBytes.
func (s *Seeder) send(ctx context.Context) {
	defer close(s.done)
	if err := seedScript.Load(ctx, s.q.rdb).Err(); err != nil {
		s.err = &SeedError{Err: s.q.explain(err)}
		return
	}
	window := make([]*seedBatch, 0, s.opts.Window)
	for {
		var b *seedBatch
		select {
		case b = <-s.queued:
		default:
			select {
			case b = <-s.queued:
			case <-ctx.Done():
				s.err = &SeedError{Pushed: s.Pushed(), Err: ctx.Err()}
				return
			}
		}
		if b == nil {
			return
		}
		window = append(window[:0], b)
		size := len(b.data)
	fill:
		for b.seq > 1 && len(window) < s.opts.Window && size < maxWindowBytes {
			select {
			case next := <-s.queued:
				if next == nil {
					break fill
				}
				window = append(window, next)
				size += len(next.data)
			default:
				break fill
			}
		}
		if err := s.push(ctx, window); err != nil {
			// Ask which batches of the window landed, while the connection
			// may still answer (it does when only ctx ended).
			s.err = err
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
			s.settle(sctx, s.q.rdb)
			cancel()
			return
		}
	}
}

// push sends one window and counts what landed. When replies are lost, the
// window's batches from the first unconfirmed one on stay in s.inflight.
func (s *Seeder) push(ctx context.Context, window []*seedBatch) error {
	reloaded := false
	for {
		pipe := s.q.rdb.Pipeline()
		cmds := make([]*redis.Cmd, len(window))
		for i, b := range window {
			guard := "0"
			if b.seq == 1 && !s.opts.Force {
				guard = "1"
			}
			cmds[i] = seedScript.EvalSha(ctx, pipe, s.keys, guard, b.seq, int64(progressTTL/time.Second), b.data)
		}
		_, _ = pipe.Exec(ctx) // each command carries its own error
		i := 0
		for ; i < len(cmds) && cmds[i].Err() == nil; i++ {
			s.pushed.Add(window[i].n)
			s.recycle(window[i].data)
		}
		if i == len(cmds) {
			return nil
		}
		window = window[i:]
		err := cmds[i].Err()
		var rerr redis.Error
		switch {
		case isNoScript(err) && !reloaded:
			// The script cache was flushed mid-run. Sending the rest again is
			// safe: the script skips batches that already landed.
			reloaded = true
			if lerr := seedScript.Load(ctx, s.q.rdb).Err(); lerr != nil {
				return &SeedError{Pushed: s.Pushed(), Err: s.q.explain(lerr)}
			}
			continue
		case strings.HasPrefix(err.Error(), "DRAINED"):
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(err.Error(), "DRAINED")), 10, 64)
			return fmt.Errorf("%w: queue %q is empty after %d items were worked on, and workers that found it empty may be exiting, so new items could be stranded; seed, then start new workers (kubectl workqueue run), passing --force to seed anyway", ErrDrained, s.q.name, n)
		case errors.As(err, &rerr):
			// Redis refused this batch, and the script refuses the ones
			// after it: nothing of the window is uncertain.
			return &SeedError{Pushed: s.Pushed(), Err: s.q.explain(err)}
		}
		s.inflight = window
		return &SeedError{Pushed: s.Pushed(), Uncertain: s.inflightItems(), Err: s.q.explain(err)}
	}
}

func (s *Seeder) recycle(b []byte) {
	select {
	case s.free <- b:
	default:
	}
}

// Settle finds out, through rdb, which of the batches in flight when the
// seeding broke off landed, so that the SeedError says exactly how many items
// were pushed. Use it with a new connection when the one that broke (a
// port-forward, say) cannot be used again; it is a no-op when nothing is
// uncertain. It returns the (updated) error of the run. Call it after Close
// returned an error.
func (s *Seeder) Settle(ctx context.Context, rdb redis.UniversalClient) error {
	if s.started {
		<-s.done
	}
	return s.settle(ctx, rdb)
}

// settle works as Settle does, on the sender's goroutine or after it ended.
func (s *Seeder) settle(ctx context.Context, rdb redis.UniversalClient) error {
	var se *SeedError
	if !errors.As(s.err, &se) || se.Uncertain == 0 {
		return s.err
	}
	// Each batch records its sequence number atomically with its items, and
	// batches land in order. Stopping the run makes the answer final: a batch
	// still on its way through the broken connection cannot land after it.
	applied, err := seedStopScript.Run(ctx, rdb, []string{s.progressKey()}, int64(progressTTL/time.Second)).Int64()
	if err != nil {
		return s.err
	}
	for _, b := range s.inflight {
		if b.seq <= applied {
			s.pushed.Add(b.n)
		}
	}
	s.inflight = nil
	se.Pushed, se.Uncertain = s.Pushed(), 0
	return s.err
}

func (s *Seeder) inflightItems() int64 {
	var n int64
	for _, b := range s.inflight {
		n += b.n
	}
	return n
}

// appendMsgpackString appends item as a MessagePack str, which the seed
// script decodes with Redis' built-in cmsgpack; str, unlike bin, is decoded
// by every Redis version, and a Lua string holds any bytes.
func appendMsgpackString(b, item []byte) []byte {
	switch n := len(item); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n < 1<<8:
		b = append(b, 0xd9, byte(n))
	case n < 1<<16:
		b = append(b, 0xda, byte(n>>8), byte(n))
	default:
		b = append(b, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, item...)
}

// SeedError reports a seeding run that broke off.
type SeedError struct {
	// Pushed items are in Redis, in order; nothing after them is.
	Pushed int64
	// Uncertain items may or may not have been pushed (Redis could not be
	// asked afterwards); they follow the Pushed ones, in whole batches.
	Uncertain int64
	Err       error
}

func (e *SeedError) Error() string {
	if e.Uncertain > 0 {
		return fmt.Sprintf("seeding stopped after %d items were pushed (up to %d more may have been pushed; check with 'kubectl workqueue status'): %v", e.Pushed, e.Uncertain, e.Err)
	}
	return fmt.Sprintf("seeding stopped after %d items were pushed (no partial batch): %v", e.Pushed, e.Err)
}

func (e *SeedError) Unwrap() error { return e.Err }

func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

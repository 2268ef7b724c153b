package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// SeedOptions tune a Seeder.
type SeedOptions struct {
	// BatchSize is how many items go into one atomic push (default 1000).
	BatchSize int
	// Window is how many batches are sent before waiting for their replies (default 16).
	Window int
	// Force seeds a queue even when it has drained (see ErrDrained).
	Force bool
}

// Seeder pushes items so that workers take them in the order they were
// added. Batches are atomic: each is pushed entirely or not at all.
type Seeder struct {
	q      *Queue
	opts   SeedOptions
	token  string
	seq    int64
	batch  [][]byte
	window []seedBatch
	pushed int64
	err    error
}

type seedBatch struct {
	seq   int64
	items [][]byte
}

// NewSeeder starts a seeding run.
func (q *Queue) NewSeeder(opts SeedOptions) *Seeder {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.Window <= 0 {
		opts.Window = 16
	}
	return &Seeder{q: q, opts: opts, token: uuid.NewString()}
}

// Pushed is how many items are known to be in Redis.
func (s *Seeder) Pushed() int64 { return s.pushed }

// Add queues item for pushing; it is sent once a window of batches is full.
// The item's bytes are not copied: the caller must not change them.
func (s *Seeder) Add(ctx context.Context, item []byte) error {
	if s.err != nil {
		return s.err
	}
	s.batch = append(s.batch, item)
	if len(s.batch) < s.opts.BatchSize {
		return nil
	}
	s.seal()
	if len(s.window) < s.opts.Window {
		return nil
	}
	return s.flush(ctx)
}

// Close pushes what is left and reports the first error. After an error,
// Pushed says exactly how many items made it.
func (s *Seeder) Close(ctx context.Context) error {
	if s.err != nil {
		return s.err
	}
	s.seal()
	return s.flush(ctx)
}

func (s *Seeder) seal() {
	if len(s.batch) == 0 {
		return
	}
	s.seq++
	s.window = append(s.window, seedBatch{seq: s.seq, items: s.batch})
	s.batch = make([][]byte, 0, s.opts.BatchSize)
}

func (s *Seeder) progressKey() string { return s.q.name + ":seed:" + s.token }

func (s *Seeder) flush(ctx context.Context) error {
	if len(s.window) == 0 {
		return nil
	}
	q := s.q
	keys := []string{q.name, q.processingKey(), q.statsKey(), s.progressKey()}
	pipe := q.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(s.window))
	for i, b := range s.window {
		guard := "0"
		if b.seq == 1 && !s.opts.Force {
			guard = "1"
		}
		args := make([]any, 0, 3+len(b.items))
		args = append(args, guard, b.seq, int64(time.Hour/time.Second))
		for _, it := range b.items {
			args = append(args, it)
		}
		cmds[i] = seedScript.EvalSha(ctx, pipe, keys, args...)
	}
	_, err := pipe.Exec(ctx)
	if err != nil && isNoScript(err) {
		// First use on this server: load the script once, then resend.
		if lerr := seedScript.Load(ctx, q.rdb).Err(); lerr != nil {
			return s.fail(ctx, q.explain(lerr))
		}
		return s.flush(ctx)
	}
	for i, c := range cmds {
		if c.Err() == nil {
			continue
		}
		if i == 0 && s.window[0].seq == 1 && strings.HasPrefix(c.Err().Error(), "DRAINED") {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(c.Err().Error(), "DRAINED")), 10, 64)
			s.err = fmt.Errorf("%w: queue %q is empty after %d items were worked on, and workers that found it empty may be exiting, so new items could be stranded; seed, then start new workers (kubectl workqueue run), passing --force to seed anyway", ErrDrained, q.name, n)
			return s.err
		}
		return s.fail(ctx, q.explain(c.Err()))
	}
	if err != nil {
		return s.fail(ctx, q.explain(err))
	}
	s.pushed += s.windowItems()
	s.window = s.window[:0]
	return nil
}

// fail settles how many items were pushed when replies were lost: each batch
// records its sequence number atomically with its items, so the progress key
// tells exactly which batches of the window landed.
func (s *Seeder) fail(ctx context.Context, cause error) error {
	s.err = &SeedError{Pushed: s.pushed, Uncertain: s.windowItems(), Err: cause}
	_ = s.Settle(ctx, s.q.rdb)
	return s.err
}

// Settle finds out, through rdb, which of the batches in flight when the
// seeding broke off landed, so that the SeedError says exactly how many items
// were pushed. Use it with a new connection when the one that broke (a
// port-forward, say) cannot be used again; it is a no-op when nothing is
// uncertain. It returns the (updated) error of the run.
func (s *Seeder) Settle(ctx context.Context, rdb redis.UniversalClient) error {
	var se *SeedError
	if !errors.As(s.err, &se) || se.Uncertain == 0 {
		return s.err
	}
	applied, err := rdb.Get(ctx, s.progressKey()).Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return s.err
	}
	for _, b := range s.window {
		if b.seq <= applied {
			s.pushed += int64(len(b.items))
		}
	}
	s.window = nil
	se.Pushed, se.Uncertain = s.pushed, 0
	return s.err
}

func (s *Seeder) windowItems() int64 {
	var n int64
	for _, b := range s.window {
		n += int64(len(b.items))
	}
	return n
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

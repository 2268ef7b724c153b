package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redisconn"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

const seedExample = `  # Three items, worked on in this order
  kubectl workqueue seed job2 apple banana cherry

  # One item per line of a file, or of stdin
  kubectl workqueue seed job2 -f items.txt
  seq 1 100000 | kubectl workqueue seed job2 -f -

  # Items that contain newlines, NUL-separated
  find data -type f -print0 | kubectl workqueue seed job2 -0 -f -

  # Continue a run that stopped (Ctrl-C, a broken connection) after 176000 items
  kubectl workqueue seed job2 -f items.txt --skip 176000`

// seedIdleFlush is how long seed waits for more input before it pushes a
// partial batch, so that items from a slow pipe reach the queue soon after
// they were written. A variable for the tests.
var seedIdleFlush = 500 * time.Millisecond

// seedFinishTimeout bounds pushing what was read once the input is done or
// Ctrl-C stopped reading it.
const seedFinishTimeout = 30 * time.Second

// SeedOptions are the options of `kubectl workqueue seed`.
type SeedOptions struct {
	f *factory
	genericiooptions.IOStreams

	Queue     string
	Items     []string
	Filename  string
	Null      bool
	Unique    bool
	Force     bool
	BatchSize int
	Skip      int64

	// progress is where the live progress line goes; nil when not a terminal.
	progress io.Writer
}

// NewCmdSeed builds `kubectl workqueue seed`.
func NewCmdSeed(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &SeedOptions{f: f, IOStreams: streams, BatchSize: 1000}
	cmd := &cobra.Command{
		Use:   "seed QUEUE [ITEM...] [-f FILE]",
		Short: "Push work items onto a queue",
		Long: `Push work items onto a queue, in batches, through a port-forward to the Redis
Service (or directly with --redis-url). Workers take the items in the order
given. Each batch is pushed entirely or not at all; if the connection breaks,
seed says exactly how many items were pushed. Input that pauses for half a
second is pushed as far as it was read.

Ctrl-C stops reading, pushes the items read so far and says how many there
are; seed exits with status 130. To continue a run that stopped, run the
same command with --skip and the count it printed.

A queue that has run empty after being worked on is refused: its workers may
be exiting and would leave new items behind. So is a queue that a --per-item
Job works on: it runs one pod per item it found when it started. Pass --force
to seed it anyway.`,
		Example:           seedExample,
		Args:              nameArg("QUEUE", false),
		RunE:              runOptions(o),
		ValidArgsFunction: completeQueues(f),
	}
	cmd.Flags().StringVarP(&o.Filename, "filename", "f", "", "read items from FILE, one per line ('-' for stdin)")
	cmd.Flags().BoolVarP(&o.Null, "null", "0", false, "items in the input end with NUL instead of newline, so they may contain newlines")
	cmd.Flags().BoolVar(&o.Unique, "unique", false, "skip items that repeat earlier ones, or that the queue holds already (pending, in progress or failed); keeps every item in memory")
	cmd.Flags().BoolVar(&o.Force, "force", false, "seed even if no worker may take the new items: the queue has drained and its workers may be exiting, or a --per-item Job works on it")
	cmd.Flags().IntVar(&o.BatchSize, "batch-size", o.BatchSize, "items per atomic push (a batch also ends at 256 KiB)")
	cmd.Flags().Int64Var(&o.Skip, "skip", 0, "do not push the first N items that the input would push: continues a run that stopped after N")
	return cmd
}

// Complete fills in the queue and items from the arguments.
func (o *SeedOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Queue, o.Items = args[0], args[1:]
	if isTerminal(o.ErrOut) {
		o.progress = o.ErrOut
	}
	return nil
}

// Validate checks the input before anything is pushed.
func (o *SeedOptions) Validate() error {
	if err := queue.ValidateName(o.Queue); err != nil {
		return err
	}
	if len(o.Items) > 0 && o.Filename != "" {
		return errors.New("give items as arguments or with -f, not both")
	}
	if len(o.Items) == 0 && o.Filename == "" {
		return errors.New("no items given: pass them as arguments, or with -f FILE (-f - for stdin)")
	}
	if o.Null && o.Filename == "" {
		return errors.New("-0 reads NUL-separated items from -f FILE; arguments cannot hold NUL")
	}
	if o.BatchSize < 1 || o.BatchSize > 100000 {
		return fmt.Errorf("--batch-size %d: must be between 1 and 100000", o.BatchSize)
	}
	if o.Skip < 0 {
		return fmt.Errorf("--skip %d: must not be negative", o.Skip)
	}
	return nil
}

// Run pushes the items.
func (o *SeedOptions) Run(ctx context.Context) error {
	in, nul, closeInput, err := o.input()
	if err != nil {
		return err
	}
	defer closeInput()
	if err := o.checkPerItemJob(ctx); err != nil {
		return err
	}

	conn, q, err := o.f.connectQueue(ctx, o.IOStreams, o.Queue)
	if err != nil {
		return err
	}
	defer conn.Close()

	ir := newItemReader(in, nul)
	defer ir.close()
	// Once the input is read, or Ctrl-C stopped reading it, what was read
	// is pushed whatever happens to ctx.
	finish, cancel := context.WithTimeout(context.WithoutCancel(ctx), seedFinishTimeout)
	defer cancel()
	var queued map[string]struct{}
	if o.Unique {
		// Unique in the queue, not only in this input: equal items are
		// separate items to the workers, each worked on.
		queued = map[string]struct{}{}
		if err := q.EachValue(ctx, func(v string) { queued[v] = struct{}{} }); err != nil {
			return explainRedis(conn, err)
		}
	}
	r := &seedRun{
		s:      q.NewSeeder(queue.SeedOptions{BatchSize: o.BatchSize, Force: o.Force}),
		ir:     ir,
		dups:   newDedup(o.Unique),
		unique: o.Unique,
		queued: queued,
		skip:   o.Skip,
		ctx:    ctx,
		finish: finish,
		prog:   newProgressLine(o.progress, "seeding "+o.Queue),
	}
	readErr := r.run(ctx)
	err = r.s.Close(finish)
	r.prog.done()
	pushed := r.s.Pushed()
	if err != nil {
		return o.settle(finish, r, conn, err)
	}
	if readErr != nil {
		return fmt.Errorf("%w (%d items pushed before it%s)", readErr, pushed, o.continueHint(r.consumed(pushed)))
	}
	st, err := q.Stats(finish)
	if err != nil {
		return explainRedis(conn, err)
	}
	if r.interrupted {
		fmt.Fprintf(o.ErrOut, "Interrupted: seeded %d items into queue %q (%d pending) before the end of the input.\n", pushed, o.Queue, st.Pending)
		if n := o.Skip + r.consumed(pushed); n > 0 {
			fmt.Fprintf(o.ErrOut, "To seed the rest, run the same command with --skip %d.\n", n)
		}
		return ErrInterrupted
	}
	if w := r.dups.warning(); w != "" {
		fmt.Fprintln(o.ErrOut, w)
	}
	if pushed == 0 {
		switch {
		case r.skip > 0:
			return fmt.Errorf("--skip %d: the input has only %d items to push: nothing was seeded", o.Skip, o.Skip-r.skip)
		case o.Skip > 0:
			fmt.Fprintf(o.Out, "nothing left to seed: --skip %d skipped all the items of the input\n", o.Skip)
			return nil
		}
		return errors.New("no items in the input: nothing was seeded")
	}
	msg := fmt.Sprintf("seeded %d items into queue %q (%d pending)", pushed, o.Queue, st.Pending)
	if o.Skip > 0 {
		msg += fmt.Sprintf(", after skipping %d", o.Skip)
	}
	if r.skippedDups > 0 {
		msg += fmt.Sprintf(", skipped %d duplicates", r.skippedDups)
	}
	if r.skippedQueued > 0 {
		msg += fmt.Sprintf(", skipped %d already in the queue", r.skippedQueued)
	}
	fmt.Fprintln(o.Out, msg)
	return nil
}

// continueHint tells how to continue a run that stopped after consuming
// that many items of the input (see seedRun.consumed).
func (o *SeedOptions) continueHint(consumed int64) string {
	if o.Skip+consumed == 0 {
		return ""
	}
	return fmt.Sprintf("; to seed the rest, run the same command with --skip %d", o.Skip+consumed)
}

// seedRun feeds the items of the input to the Seeder.
type seedRun struct {
	s           *queue.Seeder
	ir          *itemReader
	dups        *dedup
	unique      bool
	skip        int64 // what is left of --skip
	skippedDups int64
	// queued holds the items in the queue when seeding began (--unique);
	// skippedQueued counts the input's items found there.
	queued        map[string]struct{}
	skippedQueued int64
	// added counts the items given to the Seeder; queuedAt, for each item
	// found in the queue, how many had been added before it.
	added    int64
	queuedAt []int64
	prog     *progressLine

	// ctx bounds waiting for the Seeder: the command's until Ctrl-C, then
	// finish.
	ctx         context.Context
	finish      context.Context
	interrupted bool
}

// run reads the input to its end, or until ctx ends; from then on it takes
// only what the reader has handed over already. It returns why reading
// failed, or the Seeder's error.
func (r *seedRun) run(ctx context.Context) error {
	idle := time.NewTimer(seedIdleFlush)
	idle.Stop()
	defer idle.Stop()
	for {
		var chunk []byte
		var ok bool
		if r.interrupted {
			select {
			case chunk, ok = <-r.ir.chunks:
			default:
				return nil
			}
		} else {
			select {
			case chunk, ok = <-r.ir.chunks:
			case <-idle.C:
				if err := r.s.Flush(r.ctx); err != nil && !r.interrupt(err) {
					return err
				}
				continue
			case <-ctx.Done():
				r.interrupt(ctx.Err())
				continue
			}
		}
		if !ok {
			// Ctrl-C after the whole input was read interrupted nothing.
			r.interrupted = r.interrupted && !r.ir.eof
			return r.ir.err
		}
		if err := r.take(chunk); err != nil {
			return err
		}
		r.prog.update(r.s.Pushed())
		idle.Reset(seedIdleFlush)
	}
}

func (r *seedRun) take(chunk []byte) error {
	defer r.ir.release(chunk)
	return r.ir.each(chunk, func(item []byte) error {
		if r.dups.seen(item) && r.unique {
			r.skippedDups++
			return nil
		}
		if r.skip > 0 {
			r.skip--
			return nil
		}
		// After --skip, which counts what an earlier run of the same input
		// pushed: those items may well be in the queue still.
		if _, ok := r.queued[string(item)]; ok {
			r.skippedQueued++
			r.queuedAt = append(r.queuedAt, r.added)
			return nil
		}
		r.added++
		if err := r.s.Add(r.ctx, item); err != nil && !r.interrupt(err) {
			return err
		}
		return nil
	})
}

// consumed is how many items of the input (after --skip, not counting
// repeats within it) are settled once pushed of the added ones are in
// Redis: those, and the ones found in the queue before the next added one.
// --skip counts the same way, so a run continued with it neither pushes an
// item twice nor leaves one out.
func (r *seedRun) consumed(pushed int64) int64 {
	return pushed + int64(sort.Search(len(r.queuedAt), func(i int) bool { return r.queuedAt[i] > pushed }))
}

// interrupt reports whether err is Ctrl-C ending the command's context; if
// so, reading stops and the Seeder gets what was read under finish.
func (r *seedRun) interrupt(err error) bool {
	if r.ctx.Err() == nil || !errors.Is(err, r.ctx.Err()) {
		return false
	}
	if !r.interrupted {
		r.interrupted = true
		r.ctx = r.finish
		r.ir.close()
	}
	return true
}

// settle makes a broken-off seeding say exactly how many items were pushed.
// When the connection that broke cannot tell (a killed connection also ends
// its port-forward), it asks again through a new one.
func (o *SeedOptions) settle(ctx context.Context, r *seedRun, conn *redisconn.Conn, err error) error {
	var se *queue.SeedError
	if errors.As(err, &se) && se.Uncertain > 0 {
		if again, cerr := o.f.connectRedis(ctx, o.IOStreams); cerr == nil {
			err = r.s.Settle(ctx, again.Client)
			again.Close()
		}
	}
	err = explainRedis(conn, err)
	if errors.As(err, &se) && se.Uncertain == 0 {
		err = fmt.Errorf("%w%s", err, o.continueHint(r.consumed(se.Pushed)))
	}
	return err
}

// explainRedis words connection-level failures for the user; the queue's own
// errors already say what to do and pass through.
func explainRedis(conn *redisconn.Conn, err error) error {
	var se *queue.SeedError
	switch {
	case errors.Is(err, queue.ErrDrained), errors.Is(err, queue.ErrWrongType), errors.Is(err, queue.ErrNoHashTag):
		return err
	case errors.As(err, &se) && redis.HasErrorPrefix(se.Err, "OOM"):
		return &fullError{se}
	case errors.As(err, &se):
		se.Err = conn.Explain(se.Err)
		return se
	}
	return conn.Explain(err)
}

// fullError is a seeding that Redis stopped because it is full: its
// maxmemory is reached, and it refuses new items rather than evict any.
type fullError struct{ *queue.SeedError }

func (e *fullError) Error() string {
	return fmt.Sprintf("Redis is full after %d items: kubectl workqueue init --memory SIZE gives it more "+
		"(Redis takes items up to %d%% of it, then refuses them rather than evict any); or seed the rest once workers have drained some",
		e.Pushed, manifest.MaxMemoryPercent)
}

func (e *fullError) Unwrap() error { return e.SeedError }

// input is where the items come from: the file, stdin, or the arguments
// (NUL-separated, as arguments cannot hold NUL).
func (o *SeedOptions) input() (r io.Reader, nul bool, closeInput func(), err error) {
	switch o.Filename {
	case "":
		return strings.NewReader(strings.Join(o.Items, "\x00")), true, func() {}, nil
	case "-":
		return o.In, o.Null, func() {}, nil
	}
	file, err := os.Open(o.Filename)
	if err != nil {
		return nil, false, nil, fmt.Errorf("-f: %w", err)
	}
	return file, o.Null, func() { file.Close() }, nil
}

// progressLine redraws one line with a count and a rate, at most every
// 200ms, on a terminal; with a nil writer it does nothing.
type progressLine struct {
	line  liveLine
	what  string
	start time.Time
	last  time.Time
}

func newProgressLine(w io.Writer, what string) *progressLine {
	now := time.Now()
	return &progressLine{line: liveLine{w: w}, what: what, start: now, last: now}
}

func (p *progressLine) update(n int64) {
	if p.line.w == nil {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	rate := float64(n) / now.Sub(p.start).Seconds()
	p.line.draw(fmt.Sprintf("%s: %d items (%.0f/s)", p.what, n, rate))
}

func (p *progressLine) done() { p.line.clear() }

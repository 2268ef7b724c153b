package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redisconn"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

const seedExample = `  # Three items, worked on in this order
  kubectl workqueue seed job2 apple banana cherry

  # One item per line of a file, or of stdin
  kubectl workqueue seed job2 -f items.txt
  seq 1 100000 | kubectl workqueue seed job2 -f -

  # Items that contain newlines, NUL-separated
  find data -type f -print0 | kubectl workqueue seed job2 -0 -f -`

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
seed says exactly how many items were pushed.

A queue that has run empty after being worked on is refused: its workers may
be exiting and would leave new items behind. Pass --force to seed it anyway.`,
		Example: seedExample,
		Args:    nameArg("QUEUE", false),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
		ValidArgsFunction: completeQueues(f),
	}
	cmd.Flags().StringVarP(&o.Filename, "filename", "f", "", "read items from FILE, one per line ('-' for stdin)")
	cmd.Flags().BoolVarP(&o.Null, "null", "0", false, "items in the input end with NUL instead of newline, so they may contain newlines")
	cmd.Flags().BoolVar(&o.Unique, "unique", false, "skip items that repeat earlier ones")
	cmd.Flags().BoolVar(&o.Force, "force", false, "seed a queue even if it has drained and its workers may be exiting")
	cmd.Flags().IntVar(&o.BatchSize, "batch-size", o.BatchSize, "items per atomic push")
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
	if o.Queue == "" {
		return errors.New("the queue name must not be empty")
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
	return nil
}

// Run pushes the items.
func (o *SeedOptions) Run(ctx context.Context) error {
	next, closeInput, err := o.input()
	if err != nil {
		return err
	}
	defer closeInput()

	conn, err := o.f.connectRedis(ctx, o.IOStreams)
	if err != nil {
		return err
	}
	defer conn.Close()
	q := queue.New(conn.Client, o.Queue)

	dups := newDedup(o.Unique)
	s := q.NewSeeder(queue.SeedOptions{BatchSize: o.BatchSize, Force: o.Force})
	prog := newProgressLine(o.progress, "seeding "+o.Queue)
	var skipped int64
	for {
		item, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.Close(ctx)
			prog.done()
			return fmt.Errorf("reading items (%d pushed before the error): %w", s.Pushed(), err)
		}
		if dups.seen(item) && o.Unique {
			skipped++
			continue
		}
		if err := s.Add(ctx, item); err != nil {
			prog.done()
			return o.settle(ctx, s, conn, err)
		}
		prog.update(s.Pushed())
	}
	if err := s.Close(ctx); err != nil {
		prog.done()
		return o.settle(ctx, s, conn, err)
	}
	prog.done()
	if w := dups.warning(); w != "" {
		fmt.Fprintln(o.ErrOut, w)
	}
	if s.Pushed() == 0 {
		return errors.New("no items in the input: nothing was seeded")
	}
	st, err := q.Stats(ctx)
	if err != nil {
		return explainRedis(conn, err)
	}
	msg := fmt.Sprintf("seeded %d items into queue %q (%d pending)", s.Pushed(), o.Queue, st.Pending)
	if skipped > 0 {
		msg += fmt.Sprintf(", skipped %d duplicates", skipped)
	}
	fmt.Fprintln(o.Out, msg)
	return nil
}

// settle makes a broken-off seeding say exactly how many items were pushed.
// When the connection that broke cannot tell (a killed connection also ends
// its port-forward), it asks again through a new one.
func (o *SeedOptions) settle(ctx context.Context, s *queue.Seeder, conn *redisconn.Conn, err error) error {
	var se *queue.SeedError
	if errors.As(err, &se) && se.Uncertain > 0 {
		if again, cerr := o.f.connectRedis(ctx, o.IOStreams); cerr == nil {
			err = s.Settle(ctx, again.Client)
			again.Close()
		}
	}
	return explainRedis(conn, err)
}

// explainRedis words connection-level failures for the user; the queue's own
// errors already say what to do and pass through.
func explainRedis(conn *redisconn.Conn, err error) error {
	var se *queue.SeedError
	switch {
	case errors.Is(err, queue.ErrDrained), errors.Is(err, queue.ErrWrongType):
		return err
	case errors.As(err, &se):
		se.Err = conn.Explain(se.Err)
		return se
	}
	return conn.Explain(err)
}

// input yields the items from the arguments or the file.
func (o *SeedOptions) input() (next func() ([]byte, error), closeInput func(), err error) {
	if o.Filename == "" {
		i := 0
		return func() ([]byte, error) {
			for i < len(o.Items) {
				i++
				if o.Items[i-1] != "" {
					return []byte(o.Items[i-1]), nil
				}
			}
			return nil, io.EOF
		}, func() {}, nil
	}
	var r io.Reader = o.In
	closeInput = func() {}
	if o.Filename != "-" {
		file, err := os.Open(o.Filename)
		if err != nil {
			return nil, nil, fmt.Errorf("-f: %w", err)
		}
		r, closeInput = file, func() { file.Close() }
	}
	return newItemReader(r, o.Null).next, closeInput, nil
}

// progressLine redraws one line with a count and a rate, at most every
// 200ms, on a terminal; with a nil writer it does nothing.
type progressLine struct {
	w     io.Writer
	what  string
	start time.Time
	last  time.Time
	drawn bool
}

func newProgressLine(w io.Writer, what string) *progressLine {
	now := time.Now()
	return &progressLine{w: w, what: what, start: now, last: now}
}

func (p *progressLine) update(n int64) {
	if p.w == nil {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	rate := float64(n) / now.Sub(p.start).Seconds()
	fmt.Fprintf(p.w, "\r\033[K%s: %d items (%.0f/s)", p.what, n, rate)
	p.drawn = true
}

func (p *progressLine) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

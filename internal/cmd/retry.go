package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/plural"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

const retryExample = `  # Put every failed item back into the queue
  kubectl workqueue retry thumbs --all

  # Some of them: by name, from a file, or by a regular expression
  kubectl workqueue retry thumbs img-0042.png img-0043.png
  kubectl workqueue retry thumbs -f failed.txt
  kubectl workqueue retry thumbs --match '\.png$'

  # What would move, moving nothing
  kubectl workqueue retry thumbs --all --dry-run`

// RetryOptions are the options of `kubectl workqueue retry`.
type RetryOptions struct {
	f *factory
	genericiooptions.IOStreams

	Queue    string
	All      bool
	Items    []string
	Filename string
	Null     bool
	Match    string
	DryRun   string

	match *regexp.Regexp
	// named are the items given by name or file, and whether each was found.
	named map[string]bool
}

// NewCmdRetry builds `kubectl workqueue retry`.
func NewCmdRetry(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &RetryOptions{f: f, IOStreams: streams, DryRun: "none"}
	cmd := &cobra.Command{
		Use:   "retry QUEUE (--all | ITEM... | -f FILE | --match REGEX)",
		Short: "Put failed items back into the queue, their attempts reset",
		Long: `Move items from the queue's failed list back into the queue, behind the
pending items, with their attempts reset: they get --max-attempts tries
again. The errors of their earlier attempts are kept ('kubectl workqueue
items'). Each item moves atomically: it is in the failed list or in the
queue, never in both or neither, while workers run.

Choose the items with exactly one of --all, ITEM arguments, -f FILE (one item
per line, or NUL-separated with -0; '-' for stdin) or --match REGEX (a Go
regular expression matched against each item). Items named that are not in the
failed list are reported, and the exit status is then 1; the others move.

A queue whose workers have finished can be retried: then run workers again
('kubectl workqueue run QUEUE --replace ...').`,
		Example:           retryExample,
		Args:              nameArg("QUEUE", false),
		RunE:              runOptions(o),
		ValidArgsFunction: completeRetry(f),
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.All, "all", false, "retry every failed item")
	fl.StringVarP(&o.Filename, "filename", "f", "", "retry the items listed in FILE, one per line ('-' for stdin)")
	fl.BoolVarP(&o.Null, "null", "0", false, "items in the file end with NUL instead of newline")
	fl.StringVar(&o.Match, "match", "", "retry the failed items that match this regular expression")
	fl.StringVar(&o.DryRun, "dry-run", o.DryRun, `"client": list the items that would move and move nothing; "none": move them`)
	fl.Lookup("dry-run").NoOptDefVal = "client"
	_ = cmd.RegisterFlagCompletionFunc("dry-run", fixedCompletions("none", "client"))
	return cmd
}

// Complete takes the queue and the items named.
func (o *RetryOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Queue, o.Items = args[0], args[1:]
	return nil
}

// Validate checks the queue name and the selection before anything is read
// or moved.
func (o *RetryOptions) Validate() error {
	if err := queue.ValidateName(o.Queue); err != nil {
		return err
	}
	chosen := 0
	for _, set := range []bool{o.All, len(o.Items) > 0, o.Filename != "", o.Match != ""} {
		if set {
			chosen++
		}
	}
	switch {
	case chosen == 0:
		return fmt.Errorf("which items? pass --all, ITEM..., -f FILE or --match REGEX: kubectl workqueue retry %s --all", o.Queue)
	case chosen > 1:
		return errors.New("choose the items one way: --all, ITEM..., -f FILE or --match REGEX")
	case o.Null && o.Filename == "":
		return errors.New("-0 reads NUL-separated items from -f FILE")
	}
	switch o.DryRun {
	case "none", "client":
	default:
		return fmt.Errorf(`--dry-run %q: must be "none" or "client"`, o.DryRun)
	}
	if o.Match != "" {
		re, err := regexp.Compile(o.Match)
		if err != nil {
			return fmt.Errorf("--match: %w", err)
		}
		o.match = re
	}
	return nil
}

// Run moves the items, or says which would move.
func (o *RetryOptions) Run(ctx context.Context) error {
	if err := o.readNamed(); err != nil {
		return err
	}
	conn, q, err := o.f.connectQueue(ctx, o.IOStreams, o.Queue)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Also the check that the queue's keys are what we think they are.
	if _, err := q.Stats(ctx); err != nil {
		return explainRedis(conn, err)
	}

	dry := o.DryRun == "client"
	ro := queue.RetryOptions{Select: o.selects(), DryRun: dry, Moved: func(item []byte) error {
		if o.named != nil {
			o.named[string(item)] = true
		}
		if dry {
			_, err := fmt.Fprintln(o.Out, showItem(item, 1<<20))
			return err
		}
		return nil
	}}
	n, err := q.Retry(ctx, ro)
	if err != nil {
		if n > 0 {
			fmt.Fprintf(o.ErrOut, "%s moved back to queue %q before the error\n", plural.Count(int(n), "item"), o.Queue)
		}
		return explainRedis(conn, err)
	}

	st, err := q.Stats(ctx)
	if err != nil {
		return explainRedis(conn, err)
	}
	switch {
	case dry:
		fmt.Fprintf(o.Out, "%s would be retried in queue %q (dry run)\n", plural.Count(int(n), "failed item"), o.Queue)
	case n == 0:
		fmt.Fprintf(o.Out, "no failed items retried in queue %q (%d in its failed list)\n", o.Queue, st.Failed)
	default:
		fmt.Fprintf(o.Out, "retried %s in queue %q: %d pending, %d still failed\n", plural.Count(int(n), "failed item"), o.Queue, st.Pending, st.Failed)
		if st.Workers == 0 {
			fmt.Fprintf(o.ErrOut, "No workers are running on queue %q: start them again, e.g. kubectl workqueue run %s --replace --image IMAGE [-- COMMAND...]\n", o.Queue, o.Queue)
		}
	}
	return o.missing(ctx, q)
}

// readNamed reads the items given by name or in the file.
func (o *RetryOptions) readNamed() error {
	switch {
	case len(o.Items) > 0:
		o.named = map[string]bool{}
		for _, it := range o.Items {
			o.named[it] = false
		}
	case o.Filename != "":
		var in io.Reader = o.In
		if o.Filename != "-" {
			f, err := os.Open(o.Filename)
			if err != nil {
				return fmt.Errorf("-f: %w", err)
			}
			defer f.Close()
			in = f
		}
		o.named = map[string]bool{}
		ir := newItemReader(in, o.Null)
		defer ir.close()
		for chunk := range ir.chunks {
			_ = ir.each(chunk, func(item []byte) error {
				o.named[string(item)] = false
				return nil
			})
			ir.release(chunk)
		}
		if ir.err != nil {
			return fmt.Errorf("-f %s: %w", o.Filename, ir.err)
		}
		if len(o.named) == 0 {
			return fmt.Errorf("no items in %s", o.Filename)
		}
	}
	return nil
}

func (o *RetryOptions) selects() func([]byte) bool {
	switch {
	case o.match != nil:
		return o.match.Match
	case o.named != nil:
		return func(item []byte) bool {
			_, ok := o.named[string(item)]
			return ok
		}
	}
	return nil
}

// maxWhere bounds how many missing items are looked for elsewhere in the queue.
const maxWhere = 10

// missing reports the items named that were not in the failed list, and
// where they are instead.
func (o *RetryOptions) missing(ctx context.Context, q *queue.Queue) error {
	var lost []string
	for it, found := range o.named {
		if !found {
			lost = append(lost, it)
		}
	}
	if len(lost) == 0 {
		return nil
	}
	slices.Sort(lost)
	var b strings.Builder
	for i, it := range lost {
		if i == maxWhere {
			fmt.Fprintf(&b, "\n  ... and %d more", len(lost)-maxWhere)
			break
		}
		where := "not in the queue (done, or never seeded)"
		if st, err := q.Where(ctx, []byte(it)); err == nil && st != "" {
			where = string(st)
		}
		fmt.Fprintf(&b, "\n  %s: %s", showItem([]byte(it), maxShownItem), where)
	}
	verb := "are"
	if len(lost) == 1 {
		verb = "is"
	}
	return fmt.Errorf("%d of the %d items named %s not in the failed list of queue %q and did not move:%s",
		len(lost), len(o.named), verb, o.Queue, b.String())
}

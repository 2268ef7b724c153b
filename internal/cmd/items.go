package cmd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

const itemsExample = `  # Which items failed, and why
  kubectl workqueue items thumbs

  # All of them, with the errors of their last attempts, for scripts
  kubectl workqueue items thumbs -o json
  kubectl workqueue items thumbs -o json | jq -r '.[].item'

  # Who works on what, and for how long; what comes next
  kubectl workqueue items thumbs --state processing
  kubectl workqueue items thumbs --state pending --limit 20`

// defaultItemsLimit is how many items the table shows unless told.
const defaultItemsLimit = 100

// maxShownItem and maxShownError cut long items and errors in the table;
// -o json|yaml has them whole.
const (
	maxShownItem  = 60
	maxShownError = 100
)

// ItemsOptions are the options of `kubectl workqueue items`.
type ItemsOptions struct {
	f *factory
	genericiooptions.IOStreams

	Queue  string
	State  string
	Limit  int64
	Output string

	limitSet bool
}

// NewCmdItems builds `kubectl workqueue items`.
func NewCmdItems(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ItemsOptions{f: f, IOStreams: streams, State: string(queue.Failed)}
	cmd := &cobra.Command{
		Use:   "items QUEUE [--state failed|pending|processing]",
		Short: "List a queue's failed, pending or processing items, with why they failed",
		Long: `List the items of a queue in one state.

failed (the default): the items that failed --max-attempts times, oldest
failure first, with their attempts and last error (the exit status and the
command's last line on stderr), when it failed and on which worker (pod).
-o json|yaml adds the errors of their last attempts. 'kubectl workqueue
retry QUEUE' puts them back into the queue.

processing: the items workers hold, oldest first: which worker (pod), for how
long, and how long its lease has left. An item whose worker is gone (no lease,
no heartbeat) is shown as such: workqueue-worker reclaims it after its
--reclaim-grace; the docs' rediswq.py workers never do.

pending: the items waiting, in the order workers will take them.

Items are shown safely: an item with control characters, or that is not
UTF-8, is quoted with escapes; the table cuts long items, -o json|yaml has them
whole (non-UTF-8 items also as itemBase64). The table shows --limit items
(default 100); -o json|yaml shows all of them unless --limit is given. Items
are read a page at a time, so a queue of millions is never held in memory.`,
		Example:           itemsExample,
		Args:              nameArg("QUEUE", true),
		RunE:              runOptions(o),
		ValidArgsFunction: completeQueues(f),
	}
	cmd.Flags().StringVar(&o.State, "state", o.State, "which items: failed, pending or processing")
	cmd.Flags().Int64Var(&o.Limit, "limit", 0, "show at most this many items (default 100 in the table, all with -o json|yaml)")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "output format: json or yaml (default: a table)")
	_ = cmd.RegisterFlagCompletionFunc("state", fixedCompletions("failed", "pending", "processing"))
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletions("json", "yaml"))
	return cmd
}

// Complete takes the queue and notes whether --limit was given.
func (o *ItemsOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Queue = args[0]
	o.limitSet = cmd.Flags().Changed("limit")
	return nil
}

// Validate checks the queue name and the flags before Redis is contacted.
func (o *ItemsOptions) Validate() error {
	if err := queue.ValidateName(o.Queue); err != nil {
		return err
	}
	switch queue.State(o.State) {
	case queue.Failed, queue.Pending, queue.Processing:
	default:
		return fmt.Errorf("--state %q: must be failed, pending or processing", o.State)
	}
	switch o.Output {
	case "", "json", "yaml":
	default:
		return fmt.Errorf("--output %q: must be json or yaml", o.Output)
	}
	if o.limitSet && o.Limit < 1 {
		return fmt.Errorf("--limit %d: must be at least 1", o.Limit)
	}
	return nil
}

// Run lists the items.
func (o *ItemsOptions) Run(ctx context.Context) error {
	conn, q, err := o.f.connectQueue(ctx, o.IOStreams, o.Queue)
	if err != nil {
		return err
	}
	defer conn.Close()
	st, err := q.Stats(ctx)
	if err != nil {
		return explainRedis(conn, err)
	}
	state := queue.State(o.State)
	total := map[queue.State]int64{queue.Failed: st.Failed, queue.Pending: st.Pending, queue.Processing: st.Processing}[state]
	limit := o.Limit
	if !o.limitSet && o.Output == "" {
		limit = defaultItemsLimit
	}

	p := newItemsPrinter(o.Out, o.Output, state, st.Time)
	if err := q.Items(ctx, state, queue.ListOptions{Limit: limit}, p.print); err != nil {
		return explainRedis(conn, err)
	}
	if err := p.close(); err != nil {
		return err
	}

	switch {
	case p.n == 0 && o.Output == "":
		if st.Seeded == 0 && st.Pending+st.Processing+st.Failed+st.Done == 0 {
			fmt.Fprintf(o.ErrOut, "Warning: queue %q is empty and was never seeded: is the name right?\n", o.Queue)
		} else {
			fmt.Fprintf(o.ErrOut, "No %s items in queue %q.\n", state, o.Queue)
		}
	case total > p.n && limit > 0:
		fmt.Fprintf(o.ErrOut, "Showing %d of %d %s items: --limit N shows more, -o json all of them.\n", p.n, total, state)
	}
	if p.gone > 0 {
		what := fmt.Sprintf("%d items are", p.gone)
		if p.gone == 1 {
			what = "1 item is"
		}
		fmt.Fprintf(o.ErrOut, "%s held by no live worker (no lease, no heartbeat): its worker died. workqueue-worker reclaims such items after its --reclaim-grace; the docs' rediswq.py workers never do.\n", what)
	}
	return nil
}

// itemsPrinter writes items as they come: a table, or a JSON or YAML list
// written element by element, so that nothing is held but the current page.
type itemsPrinter struct {
	w      io.Writer
	format string
	state  queue.State
	now    time.Time
	tab    *table
	rows   [][]string
	n      int64
	gone   int64 // processing items whose worker is gone
}

func newItemsPrinter(w io.Writer, format string, state queue.State, now time.Time) *itemsPrinter {
	return &itemsPrinter{w: w, format: format, state: state, now: now}
}

func (p *itemsPrinter) print(it *queue.ItemInfo) error {
	p.n++
	if it.State == queue.Processing && !it.Held() {
		p.gone++
	}
	switch p.format {
	case "json":
		b, err := json.MarshalIndent(p.object(it), "  ", "  ")
		if err != nil {
			return err
		}
		sep := ",\n  "
		if p.n == 1 {
			sep = "[\n  "
		}
		_, err = fmt.Fprintf(p.w, "%s%s", sep, b)
		return err
	case "yaml":
		b, err := yaml.Marshal([]itemObject{p.object(it)})
		if err != nil {
			return err
		}
		_, err = p.w.Write(b)
		return err
	}
	if p.tab == nil {
		p.tab = newTable(p.w)
		p.rows = append(p.rows, p.columns())
	}
	p.rows = append(p.rows, p.row(it))
	// The table lines up a page of rows at a time rather than hold them all.
	if p.n%queue.DefaultPageSize == 0 {
		return p.flush()
	}
	return nil
}

func (p *itemsPrinter) flush() error {
	err := p.tab.print(p.rows...)
	p.rows = p.rows[:0]
	return err
}

func (p *itemsPrinter) close() error {
	switch {
	case p.format == "json" && p.n == 0:
		_, err := io.WriteString(p.w, "[]\n")
		return err
	case p.format == "json":
		_, err := io.WriteString(p.w, "\n]\n")
		return err
	case p.format == "yaml" && p.n == 0:
		_, err := io.WriteString(p.w, "[]\n")
		return err
	case p.tab != nil:
		return p.flush()
	}
	return nil
}

func (p *itemsPrinter) columns() []string {
	switch p.state {
	case queue.Pending:
		return []string{"POSITION", "ITEM", "ATTEMPTS", "LAST ERROR"}
	case queue.Processing:
		return []string{"ITEM", "ATTEMPT", "WORKER", "HELD FOR", "LEASE LEFT"}
	}
	return []string{"ITEM", "ATTEMPTS", "FAILED", "WORKER", "ERROR"}
}

func (p *itemsPrinter) row(it *queue.ItemInfo) []string {
	item := showItem(it.Value, maxShownItem)
	last := lastError(it)
	switch p.state {
	case queue.Pending:
		return []string{strconv.FormatInt(it.Position, 10), item, strconv.Itoa(it.Attempts), orDash(showText(last.Error, maxShownError))}
	case queue.Processing:
		worker, lease := orDash(showText(it.Worker(), maxShownItem)), "-"
		switch {
		case it.LeaseSession != "":
			lease = duration.HumanDuration(it.LeaseLeft)
		case it.Alive:
			lease = "renewing"
		default:
			worker, lease = "none (gone)", "none"
		}
		held := "-"
		if !it.LeasedAt.IsZero() {
			held = duration.HumanDuration(p.now.Sub(it.LeasedAt))
		}
		return []string{item, strconv.Itoa(it.Attempts + 1), worker, held, lease}
	}
	when := "-"
	if !last.At.IsZero() {
		when = duration.HumanDuration(p.now.Sub(last.At)) + " ago"
	}
	return []string{item, strconv.Itoa(it.Attempts), when, orDash(showText(last.Worker, maxShownItem)), orDash(showText(last.Error, maxShownError))}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func lastError(it *queue.ItemInfo) queue.Attempt {
	if len(it.Errors) == 0 {
		return queue.Attempt{}
	}
	return it.Errors[len(it.Errors)-1]
}

// itemObject is one item of -o json|yaml. The names are a stable interface.
type itemObject struct {
	// Item is the item's text; an item that is not UTF-8 has its other
	// bytes written as \xNN here, and exactly in ItemBase64.
	Item       string `json:"item"`
	ItemBase64 string `json:"itemBase64,omitempty"`
	State      string `json:"state"`
	// Position counts from 1 in the listing's order.
	Position int64 `json:"position"`
	// Attempts that failed since the item was seeded or last retried.
	Attempts int `json:"attempts"`
	// Error is the last attempt's error, "" when none failed.
	Error string `json:"error"`
	// FailedAt and Worker are when and where the last attempt failed; for a
	// processing item, Worker is the one holding it.
	FailedAt *time.Time `json:"failedAt,omitempty"`
	Worker   string     `json:"worker,omitempty"`
	// Errors of the last attempts, oldest first.
	Errors []queue.Attempt `json:"errors"`
	// Of processing items: whether a live worker holds it, since when, and
	// how long its lease has left.
	Held                  *bool      `json:"held,omitempty"`
	LeasedAt              *time.Time `json:"leasedAt,omitempty"`
	LeaseRemainingSeconds *float64   `json:"leaseRemainingSeconds,omitempty"`
}

func (p *itemsPrinter) object(it *queue.ItemInfo) itemObject {
	obj := itemObject{
		Item: string(it.Value), State: string(it.State), Position: it.Position,
		Attempts: it.Attempts, Errors: it.Errors,
	}
	if obj.Errors == nil {
		obj.Errors = []queue.Attempt{}
	}
	if !utf8.Valid(it.Value) {
		obj.Item = queue.EscapeInvalidUTF8(string(it.Value))
		obj.ItemBase64 = base64.StdEncoding.EncodeToString(it.Value)
	}
	last := lastError(it)
	obj.Error = last.Error
	if it.State == queue.Processing {
		held := it.Held()
		obj.Held = &held
		obj.Worker = it.Worker()
		if !it.LeasedAt.IsZero() {
			t := it.LeasedAt.UTC()
			obj.LeasedAt = &t
		}
		if it.LeaseSession != "" {
			s := it.LeaseLeft.Seconds()
			obj.LeaseRemainingSeconds = &s
		}
		return obj
	}
	obj.Worker = last.Worker
	if !last.At.IsZero() {
		t := last.At.UTC()
		obj.FailedAt = &t
	}
	return obj
}

// showItem is an item as a table cell: quoted with Go's escapes (\n, \x00,
// \xff, \u200b) unless it prints plainly, and cut to max runes.
func showItem(b []byte, max int) string { return cut(cell(string(b)), max) }

// showText is an error message or a worker's name as a table cell.
func showText(s string, max int) string { return cut(cell(s), max) }

func cut(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// fixedCompletions completes a flag's value from a fixed list.
func fixedCompletions(values ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

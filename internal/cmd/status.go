package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	yaml "go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redisconn"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

const statusExample = `  # How far along is queue job2?
  kubectl workqueue status job2

  # Every queue in the Redis
  kubectl workqueue status

  # As JSON, for scripts
  kubectl workqueue status job2 -o json

  # Follow it, with rate and ETA, every 2 seconds
  kubectl workqueue status job2 --watch`

// StatusOptions are the options of `kubectl workqueue status`.
type StatusOptions struct {
	f *factory
	genericiooptions.IOStreams

	Queue    string
	All      bool // no QUEUE given: every queue
	Output   string
	Watch    bool
	Interval time.Duration
}

// NewCmdStatus builds `kubectl workqueue status`.
func NewCmdStatus(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &StatusOptions{f: f, IOStreams: streams, Interval: 2 * time.Second}
	cmd := &cobra.Command{
		Use:               "status [QUEUE]",
		Short:             "Show a queue's pending, processing, done and failed items and its workers (without QUEUE: every queue's)",
		Example:           statusExample,
		Args:              optionalNameArg("QUEUE"),
		RunE:              runOptions(o),
		ValidArgsFunction: completeQueues(f),
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "output format: json or yaml (default: a table)")
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletions("json", "yaml"))
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", false, "keep printing the status, with rate and ETA, until interrupted")
	cmd.Flags().DurationVar(&o.Interval, "interval", o.Interval, "time between updates with --watch")
	return cmd
}

// Complete takes the queue from the arguments, if one is given.
func (o *StatusOptions) Complete(_ *cobra.Command, args []string) error {
	if len(args) == 0 {
		o.All = true
		return nil
	}
	o.Queue = args[0]
	return nil
}

// Validate checks the queue name and the flags.
func (o *StatusOptions) Validate() error {
	switch {
	case o.All && o.Watch:
		return errors.New("--watch follows one queue: kubectl workqueue status QUEUE --watch")
	case !o.All:
		if err := queue.ValidateName(o.Queue); err != nil {
			return err
		}
	}
	switch o.Output {
	case "", "json", "yaml":
	default:
		return fmt.Errorf("--output %q: must be json or yaml", o.Output)
	}
	if o.Interval <= 0 {
		return fmt.Errorf("--interval %v: must be positive", o.Interval)
	}
	return nil
}

// Run prints the status, once or until the context ends.
func (o *StatusOptions) Run(ctx context.Context) error {
	if o.All {
		return o.runAll(ctx)
	}
	// wait's reader: with --watch, a connection that breaks (the Redis pod
	// replaced, its port-forward gone) is made again on the next tick.
	r := &queueReader{f: o.f, streams: o.IOStreams, name: o.Queue, redis: o.f.redis}
	defer r.close()
	st, err := r.stats(ctx)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
	o.warnLoss(ctx, r.conn, st)

	p := newStatusPrinter(o.Out, o.Output, o.Watch)
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	broken := false
	for {
		if st != nil {
			if err := p.print(st); err != nil {
				return err
			}
		}
		if !o.Watch {
			if st.Failed > 0 && o.Output == "" {
				fmt.Fprintf(o.ErrOut, "Why they failed: kubectl workqueue items %s; put them back: kubectl workqueue retry %s --all\n", o.Queue, o.Queue)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		prev := p.prev
		st, err = r.stats(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && !reconnectable(err):
			return err
		case err != nil:
			if !broken {
				fmt.Fprintf(o.ErrOut, "Warning: lost Redis, reconnecting every %v: %v\n", o.Interval, err)
				broken = true
			}
		case r.reconnected():
			broken = false
			fmt.Fprintf(o.ErrOut, "Connected to Redis again\n")
			if prev != nil && prev.Epoch != "" && st.Epoch != prev.Epoch {
				fmt.Fprintf(o.ErrOut, "Warning: Redis came back without queue %q as it was (its identity changed): its items are lost\n", o.Queue)
			}
		}
	}
}

// runAll prints every queue of the Redis once, as kubectl get does without
// a name: a table, or a list ({"items": [...]}) of the same objects as for
// one queue.
func (o *StatusOptions) runAll(ctx context.Context) error {
	conn, err := o.f.connectRedis(ctx, o.IOStreams)
	if err != nil {
		return err
	}
	defer conn.Close()
	names, err := queue.List(ctx, conn.Client)
	if err != nil {
		return explainRedis(conn, err)
	}
	all := make([]*queue.Stats, 0, len(names))
	for _, name := range names {
		q, err := openQueue(conn, name)
		if err != nil {
			return err
		}
		st, err := q.Stats(ctx)
		if err != nil {
			return fmt.Errorf("queue %q: %w", name, explainRedis(conn, err))
		}
		all = append(all, st)
	}
	o.warnEviction(ctx, conn)
	anyFailed := false
	for _, st := range all {
		o.warnLostCounters(st)
		anyFailed = anyFailed || st.Failed > 0
	}
	switch o.Output {
	case "json", "yaml":
		return newStatusPrinter(o.Out, o.Output, false).printList(all)
	}
	if len(all) == 0 {
		fmt.Fprintln(o.ErrOut, "No queues found in Redis.")
		return nil
	}
	if err := newStatusPrinter(o.Out, "", false).printRows(all...); err != nil {
		return err
	}
	if anyFailed {
		fmt.Fprintln(o.ErrOut, "Why items failed: kubectl workqueue items QUEUE; put them back: kubectl workqueue retry QUEUE --all")
	}
	return nil
}

// reconnectable says whether err may pass once Redis is back: anything but
// Redis' own refusal (a key of the wrong type, a rejected password), and
// Redis loading its data after a restart.
func reconnectable(err error) bool {
	var rerr redis.Error
	return !errors.As(err, &rerr) || redis.IsLoadingError(err)
}

// warnLoss says, once, what the first snapshot tells of items that are or
// may be lost: a queue that Redis no longer has though a Job was started on
// it, counters gone while the queue's identity remains (keys evicted or
// deleted), and a Redis that evicts keys when full.
func (o *StatusOptions) warnLoss(ctx context.Context, conn *redisconn.Conn, st *queue.Stats) {
	o.warnEviction(ctx, conn)
	switch {
	case o.warnLostCounters(st):
	case st.Epoch == "" && st.Seeded == 0 && st.Pending+st.Processing+st.Failed+st.Done == 0:
		if job := o.jobStartedOn(ctx); job != "" {
			fmt.Fprintf(o.ErrOut, "Warning: Redis no longer has queue %q, which %s was started on: Redis restarted without its data, or the queue was deleted\n", o.Queue, job)
		} else {
			fmt.Fprintf(o.ErrOut, "Warning: queue %q is empty and was never seeded: is the name right?\n", o.Queue)
		}
	}
}

func (o *StatusOptions) warnEviction(ctx context.Context, conn *redisconn.Conn) {
	if policy, err := queue.EvictionPolicy(ctx, conn.Client); err == nil && policy != "" && policy != "noeviction" {
		fmt.Fprintf(o.ErrOut, "Warning: Redis deletes keys when it is full (maxmemory-policy %s): evicted items are lost items. "+
			"Set maxmemory-policy noeviction (kubectl workqueue init does)\n", policy)
	}
}

// warnLostCounters says whether st's queue lost its counters, and warns if so.
func (o *StatusOptions) warnLostCounters(st *queue.Stats) bool {
	if st.Epoch == "" || st.Seeded != 0 {
		return false
	}
	fmt.Fprintf(o.ErrOut, "Warning: queue %q has lost its counters (%s:stats) but not its identity: its keys were evicted or deleted; items may be lost\n", st.Queue, st.Queue)
	return true
}

// jobStartedOn names a Job of the namespace that run started on the queue
// when it had been seeded (run records that), e.g. "job wq-q (300 items)";
// "" if there is none, or Kubernetes cannot be asked.
func (o *StatusOptions) jobStartedOn(ctx context.Context) string {
	kube, err := o.f.kubeClient()
	if err != nil {
		return ""
	}
	ns, err := o.f.namespace()
	if err != nil {
		return ""
	}
	// A hint only: a cluster that does not answer soon does not hold status up.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	jobs, err := kube.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: manifest.LabelQueue + "=" + manifest.QueueLabelValue(o.Queue)})
	if err != nil {
		return ""
	}
	for _, j := range jobs.Items {
		if j.Annotations[manifest.AnnotationQueue] == o.Queue && j.Annotations[manifest.AnnotationQueueEpoch] != "" {
			return fmt.Sprintf("job %s (%s items)", j.Name, j.Annotations[manifest.AnnotationQueueSeeded])
		}
	}
	return ""
}

// statusPrinter prints snapshots as a table (with rate and ETA once there
// are two to compare), or as JSON or YAML documents.
type statusPrinter struct {
	w      io.Writer
	format string
	rates  bool
	table  *table // nil until the header is printed
	prev   *queue.Stats
}

func newStatusPrinter(w io.Writer, format string, rates bool) *statusPrinter {
	return &statusPrinter{w: w, format: format, rates: rates}
}

func (p *statusPrinter) print(st *queue.Stats) error {
	defer func() { p.prev = st }()
	switch p.format {
	case "json":
		b, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(p.w, "%s\n", b)
		return err
	case "yaml":
		b, err := orderedYAML(st)
		if err != nil {
			return err
		}
		if p.prev != nil {
			fmt.Fprintln(p.w, "---")
		}
		_, err = p.w.Write(b)
		return err
	}
	return p.printRows(st)
}

// printRows prints one table row a snapshot, lined up together.
func (p *statusPrinter) printRows(sts ...*queue.Stats) error {
	var rows [][]string
	if p.table == nil {
		// Room for counts to grow under --watch without shifting the columns.
		p.table = newTable(p.w, 0, 10, 10, 10, 10, 10)
		cols := []string{"QUEUE", "PENDING", "PROCESSING", "DONE", "FAILED", "WORKERS"}
		if p.rates {
			cols = append(cols, "RATE", "ETA")
		}
		rows = append(rows, cols)
	}
	for _, st := range sts {
		rows = append(rows, p.row(st))
	}
	return p.table.print(rows...)
}

func (p *statusPrinter) row(st *queue.Stats) []string {
	processing := fmt.Sprint(st.Processing)
	if st.Expired > 0 {
		processing += fmt.Sprintf(" (%d expired)", st.Expired)
	}
	cols := []string{cell(st.Queue), fmt.Sprint(st.Pending), processing, fmt.Sprint(st.Done), fmt.Sprint(st.Failed), fmt.Sprint(st.Workers)}
	if p.rates {
		rate, eta := "-", "-"
		if p.prev != nil {
			if r, left, ok := throughput(p.prev, st); ok {
				rate = fmt.Sprintf("%.1f/s", r)
				switch {
				case st.Pending+st.Processing == 0:
					eta = "done"
				case left > 0:
					eta = left.String()
				}
			}
		}
		cols = append(cols, rate, eta)
	}
	return cols
}

// printList prints snapshots as one JSON or YAML document, {"items": [...]},
// as kubectl prints a list.
func (p *statusPrinter) printList(sts []*queue.Stats) error {
	list := struct {
		Items []*queue.Stats `json:"items"`
	}{sts}
	if p.format == "json" {
		b, err := json.MarshalIndent(list, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(p.w, "%s\n", b)
		return err
	}
	b, err := orderedYAML(list)
	if err != nil {
		return err
	}
	_, err = p.w.Write(b)
	return err
}

// orderedYAML is v as YAML with the fields in the order of its JSON, so
// that -o yaml lists them as -o json does (sigs.k8s.io/yaml sorts them).
func orderedYAML(v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(j, &doc); err != nil {
		return nil, err
	}
	blockStyle(&doc)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// blockStyle drops the flow style and quotes that JSON gave n.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

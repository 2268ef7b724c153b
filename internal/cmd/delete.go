package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// DeleteOptions are the options of `kubectl workqueue delete`.
type DeleteOptions struct {
	f *factory
	genericiooptions.IOStreams

	Queue string
	Yes   bool
}

// NewCmdDelete builds `kubectl workqueue delete`.
func NewCmdDelete(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DeleteOptions{f: f, IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "delete QUEUE",
		Short: "Delete a queue: its pending, processing and failed items, leases and counters",
		Example: `  kubectl workqueue delete job2
  kubectl workqueue delete job2 --yes`,
		Args:              nameArg("QUEUE", true),
		RunE:              runOptions(o),
		ValidArgsFunction: completeQueues(f),
	}
	cmd.Flags().BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

// Complete takes the queue from the arguments.
func (o *DeleteOptions) Complete(_ *cobra.Command, args []string) error {
	o.Queue = args[0]
	return nil
}

// Validate checks the queue name.
func (o *DeleteOptions) Validate() error {
	if err := queue.ValidateName(o.Queue); err != nil {
		return err
	}
	return nil
}

// Run asks, unless --yes, then deletes every key of the queue.
func (o *DeleteOptions) Run(ctx context.Context) error {
	conn, q, err := o.f.connectQueue(ctx, o.IOStreams, o.Queue)
	if err != nil {
		return err
	}
	defer conn.Close()
	st, err := q.Stats(ctx)
	if err != nil {
		return explainRedis(conn, err)
	}
	if !o.Yes {
		if !isTerminal(o.In) {
			return fmt.Errorf("delete queue %q (%d pending, %d processing, %d failed items): pass --yes to confirm when not at a terminal", o.Queue, st.Pending, st.Processing, st.Failed)
		}
		fmt.Fprintf(o.ErrOut, "Delete queue %q with %d pending, %d processing and %d failed items? [y/N] ", o.Queue, st.Pending, st.Processing, st.Failed)
		answer, _ := bufio.NewReader(o.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return errors.New("not deleted")
		}
	}
	n, err := q.Delete(ctx)
	if err != nil {
		return explainRedis(conn, err)
	}
	if n == 0 {
		fmt.Fprintf(o.Out, "queue %q had no keys: nothing to delete\n", o.Queue)
		return nil
	}
	fmt.Fprintf(o.Out, "queue %q deleted (%d keys)\n", o.Queue, n)
	return nil
}

// Command kubectl-workqueue is the kubectl plugin "kubectl workqueue".
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/cmd"
)

func main() {
	// Ctrl-C cancels the command's context, so long work ends cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	err := cmd.NewCmdWorkqueue(streams).ExecuteContext(ctx)
	stop()
	if err != nil && !errors.Is(err, cmd.ErrInterrupted) {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
	}
	os.Exit(cmd.ExitCode(err))
}

// Command kubectl-workqueue is the kubectl plugin "kubectl workqueue".
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/cmd"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	if err := cmd.NewCmdWorkqueue(streams).Execute(); err != nil {
		os.Exit(1)
	}
}

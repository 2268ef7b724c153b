// Package cmd holds the cobra commands of kubectl-workqueue. Each subcommand
// lives in its own file as NewCmdX + XOptions with Complete, Validate and Run;
// the engines they drive live in their own packages and know nothing of cobra.
package cmd

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// NewCmdWorkqueue builds the root command with every subcommand.
func NewCmdWorkqueue(streams genericiooptions.IOStreams) *cobra.Command {
	f := newFactory()
	cmd := &cobra.Command{
		Use:   "kubectl-workqueue",
		Short: "Fill, run and inspect Redis work-queue Jobs",
		Long: `kubectl workqueue turns Kubernetes' "fine parallel processing using a work queue"
pattern into one tool: deploy Redis (init), fill a queue (seed), run a Job of
workers that drains it (run), watch it (status, wait) and read every worker's
logs (logs).`,
		SilenceUsage:  true,
		SilenceErrors: false,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl workqueue",
		},
	}
	f.addFlags(cmd)
	cmd.AddCommand(
		NewCmdVersion(streams),
	)
	return cmd
}

// factory carries the flags every subcommand shares: kubectl's standard
// connection flags and how to reach Redis.
type factory struct {
	configFlags *genericclioptions.ConfigFlags
	redis       redisFlags
}

func newFactory() *factory {
	return &factory{configFlags: genericclioptions.NewConfigFlags(true)}
}

func (f *factory) addFlags(cmd *cobra.Command) {
	f.configFlags.AddFlags(cmd.PersistentFlags())
	f.redis.addFlags(cmd)
}

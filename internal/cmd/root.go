// Package cmd holds the cobra commands of kubectl-workqueue. Each subcommand
// lives in its own file as NewCmdX + XOptions with Complete, Validate and Run;
// the engines they drive live in their own packages and know nothing of cobra.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redisconn"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// NewCmdWorkqueue builds the root command with every subcommand.
func NewCmdWorkqueue(streams genericiooptions.IOStreams) *cobra.Command {
	return newRootCmd(newFactory(), streams)
}

func newRootCmd(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kubectl-workqueue",
		Short: "Fill, run and inspect Redis work-queue Jobs",
		Long: `kubectl workqueue turns Kubernetes' "fine parallel processing using a work queue"
pattern into one tool: deploy Redis (init), fill a queue (seed), run a Job of
workers that drains it (run), watch it (status, wait), read every worker's
logs (logs), see which items failed and why (items) and put them back (retry).`,
		Example: `  kubectl workqueue init
  kubectl workqueue seed job2 apple banana cherry
  kubectl workqueue run job2 --image busybox:1.36 --parallelism 2 -- sh -c 'echo "$WORKQUEUE_ITEM"'
  kubectl workqueue status job2
  kubectl workqueue logs wq-job2`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl workqueue",
		},
	}
	f.addFlags(cmd)
	// Help, usage and shell completions go through the streams too.
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	cmd.AddCommand(
		NewCmdInit(f, streams),
		NewCmdSeed(f, streams),
		NewCmdRun(f, streams),
		NewCmdWait(f, streams),
		NewCmdScale(f, streams),
		NewCmdLogs(f, streams),
		NewCmdStatus(f, streams),
		NewCmdItems(f, streams),
		NewCmdRetry(f, streams),
		NewCmdDelete(f, streams),
		NewCmdVersion(streams),
		NewCmdCompletion(streams),
	)
	return cmd
}

// options is kubectl's command shape, which every subcommand has: Complete
// resolves what the flags and arguments leave open, Validate rejects bad
// input before anything is changed, Run does the work.
type options interface {
	Complete(cmd *cobra.Command, args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// runOptions is the RunE of every subcommand: o's Complete, Validate, Run.
func runOptions(o options) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(cmd, args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run(cmd.Context())
	}
}

// nameArg checks that a command got its QUEUE or JOB, and with only, no
// other arguments; the errors say what was expected, with the usage line.
func nameArg(what string, only bool) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return fmt.Errorf("%s is required: kubectl workqueue %s", what, cmd.Use)
		case only && len(args) > 1:
			return fmt.Errorf("one %s expected, got %d arguments %q: kubectl workqueue %s", what, len(args), args, cmd.Use)
		}
		return nil
	}
}

// optionalNameArg allows at most one argument, the what (e.g. QUEUE).
func optionalNameArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > 1 {
			return nameArg(what, true)(cmd, args)
		}
		return nil
	}
}

// factory carries what every subcommand shares: kubectl's standard
// connection flags, how to reach Redis, and the clients made from them.
type factory struct {
	configFlags *genericclioptions.ConfigFlags
	redis       redisFlags

	// kube, when set (tests), is used instead of a clientset from configFlags.
	kube kubernetes.Interface
	// connect, when set (tests), reaches Redis instead of the --redis-* flags.
	connect func(ctx context.Context, streams genericiooptions.IOStreams) (*redisconn.Conn, error)
}

func newFactory() *factory {
	return &factory{configFlags: genericclioptions.NewConfigFlags(true)}
}

func (f *factory) addFlags(cmd *cobra.Command) {
	f.configFlags.AddFlags(cmd.PersistentFlags())
	f.redis.addFlags(cmd)
}

// namespace is the namespace of -n, the kubeconfig's context, or "default".
func (f *factory) namespace() (string, error) {
	ns, _, err := f.configFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", fmt.Errorf("reading the namespace from kubeconfig: %w", err)
	}
	return ns, nil
}

func (f *factory) restConfig() (*rest.Config, error) {
	// Without this, client-go falls back to localhost:8080 and the user
	// reads "connection refused" (inside a pod, the in-cluster config is used).
	if raw, err := f.configFlags.ToRawKubeConfigLoader().RawConfig(); err == nil && len(raw.Clusters) == 0 &&
		(f.configFlags.APIServer == nil || *f.configFlags.APIServer == "") && os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
		return nil, errors.New("no Kubernetes cluster configured: set KUBECONFIG or pass --kubeconfig (or reach Redis directly with --redis-url)")
	}
	c, err := f.configFlags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	// client-go's default of 5 requests/s (burst 10) would make reading the
	// logs of a 50-pod Job take 8 s; what bounds the load on the API server
	// is the commands' own concurrency (logs --max-requests).
	c.QPS, c.Burst = 100, 200
	return c, nil
}

// namespacedClient is the namespace a command works in and the client that
// works there: what the commands about a Job (wait, logs, scale) resolve.
func (f *factory) namespacedClient() (string, kubernetes.Interface, error) {
	ns, err := f.namespace()
	if err != nil {
		return "", nil, err
	}
	kube, err := f.kubeClient()
	return ns, kube, err
}

func (f *factory) kubeClient() (kubernetes.Interface, error) {
	if f.kube != nil {
		return f.kube, nil
	}
	c, err := f.restConfig()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(c)
}

// openQueue is the queue called name in conn's Redis, once it is known that
// it can work there: in a Redis Cluster its name needs a hash tag, which must
// be said before anything is written.
func openQueue(conn *redisconn.Conn, name string) (*queue.Queue, error) {
	q := queue.New(conn.Client, name)
	return q, q.Check()
}

// connectQueue connects to the queue's Redis (connectRedis) and opens the
// queue called name in it (openQueue). The caller closes the connection.
func (f *factory) connectQueue(ctx context.Context, streams genericiooptions.IOStreams, name string) (*redisconn.Conn, *queue.Queue, error) {
	conn, err := f.connectRedis(ctx, streams)
	if err != nil {
		return nil, nil, err
	}
	q, err := openQueue(conn, name)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, q, nil
}

// connectRedis reaches the queue's Redis as the --redis-* flags say: directly
// with --redis-url(-secret), else through a port-forward to the Service.
// Kubernetes is only used when a Secret is to be read or a port-forward made.
func (f *factory) connectRedis(ctx context.Context, streams genericiooptions.IOStreams) (*redisconn.Conn, error) {
	return f.connectRedisAs(ctx, streams, f.redis)
}

// connectRedisAs is connectRedis with other --redis-* flags: those a Job's
// workers were given, say.
func (f *factory) connectRedisAs(ctx context.Context, streams genericiooptions.IOStreams, r redisFlags) (*redisconn.Conn, error) {
	if f.connect != nil {
		return f.connect(ctx, streams)
	}
	o := r.options("")
	if !o.NeedsKubernetes() {
		return redisconn.Connect(ctx, o, nil, nil, streams.ErrOut)
	}
	ns, err := f.namespace()
	if err != nil {
		return nil, err
	}
	o.Namespace = ns
	var config *rest.Config
	if o.URL == "" && o.URLSecret == "" { // a port-forward
		if config, err = f.restConfig(); err != nil {
			return nil, err
		}
	}
	kube, err := f.kubeClient()
	if err != nil {
		return nil, err
	}
	return redisconn.Connect(ctx, o, kube, config, streams.ErrOut)
}

package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/jobwatch"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/podlogs"
)

const logsExample = `  # Every line of every pod of the Job, finished pods included
  kubectl workqueue logs wq-job2

  # Follow: new pods are picked up; ends when the Job finishes
  kubectl workqueue logs wq-job2 -f

  # The last 20 lines of each pod, with timestamps, as JSON objects
  kubectl workqueue logs wq-job2 --tail 20 --timestamps -o json`

// LogsOptions are the options of `kubectl workqueue logs`.
type LogsOptions struct {
	f *factory
	genericiooptions.IOStreams

	Job           string
	Follow        bool
	Since         time.Duration
	Tail          int64
	Timestamps    bool
	Container     string
	AllContainers bool
	Previous      bool
	MaxRequests   int
	Output        string

	namespace string
	kube      kubernetes.Interface
}

// NewCmdLogs builds `kubectl workqueue logs`.
func NewCmdLogs(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &LogsOptions{f: f, IOStreams: streams, Tail: -1, MaxRequests: podlogs.DefaultMaxRequests}
	cmd := &cobra.Command{
		Use:   "logs JOB",
		Short: "Print the logs of every pod of a Job, each line prefixed with its pod",
		Long: `Print the logs of every pod with the Job's job-name label, finished ones
included, each line prefixed with its pod (and container, with several). The
pods are read concurrently, at most --max-requests at a time; lines are never
cut or interleaved, and each pod's lines stay in order. Pods whose logs are
gone are reported on stderr, not skipped in silence.`,
		Example:           logsExample,
		Args:              nameArg("JOB", true),
		ValidArgsFunction: completeJobs(f),
		RunE:              runOptions(o),
	}
	fl := cmd.Flags()
	fl.BoolVarP(&o.Follow, "follow", "f", false, "keep streaming, pick up new pods, and stop when the Job finishes")
	fl.DurationVar(&o.Since, "since", 0, "only lines newer than this, e.g. 5m")
	fl.Int64Var(&o.Tail, "tail", o.Tail, "lines of each container's end to show (-1: all)")
	fl.BoolVar(&o.Timestamps, "timestamps", false, "prefix each line with its time")
	fl.StringVarP(&o.Container, "container", "c", "", "only this container")
	fl.BoolVar(&o.AllContainers, "all-containers", false, "include init containers")
	fl.BoolVarP(&o.Previous, "previous", "p", false, "the previous instance of each container (after restarts)")
	fl.IntVar(&o.MaxRequests, "max-requests", o.MaxRequests, "log streams open at once")
	fl.StringVarP(&o.Output, "output", "o", "", "json: one object per line with pod, container, timestamp and line")
	_ = cmd.RegisterFlagCompletionFunc("container", completeLogsContainer(f))
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletions("json"))
	return cmd
}

// Complete resolves the namespace and client.
func (o *LogsOptions) Complete(_ *cobra.Command, args []string) error {
	o.Job = args[0]
	var err error
	o.namespace, o.kube, err = o.f.namespacedClient()
	return err
}

// Validate checks the flags.
func (o *LogsOptions) Validate() error {
	if o.Output != "" && o.Output != "json" {
		return fmt.Errorf("--output %q: only json is supported (default: prefixed lines)", o.Output)
	}
	if o.Follow && o.Previous {
		return fmt.Errorf("--follow and --previous cannot be combined")
	}
	if o.MaxRequests < 1 {
		return fmt.Errorf("--max-requests %d: must be at least 1", o.MaxRequests)
	}
	if o.Tail < -1 {
		return fmt.Errorf("--tail %d: must be -1 (all lines) or more", o.Tail)
	}
	if o.Since < 0 {
		return fmt.Errorf("--since %s: must not be negative", o.Since)
	}
	return nil
}

// Run streams the logs.
func (o *LogsOptions) Run(ctx context.Context) error {
	job, err := getJob(ctx, o.kube, o.namespace, o.Job)
	if err != nil {
		return err
	}
	if err := o.checkContainer(job); err != nil {
		return err
	}
	o.warnGonePods(ctx, job)
	var sink podlogs.Sink
	if o.Output == "json" {
		sink = podlogs.NewJSONPrinter(o.Out, o.ErrOut)
	} else {
		showContainer := o.AllContainers || (o.Container == "" && len(job.Spec.Template.Spec.Containers) > 1)
		sink = podlogs.NewPrefixPrinter(o.Out, o.ErrOut, colorFor(o.Out), showContainer)
	}
	opts := podlogs.Options{
		Namespace: o.namespace, Selector: "job-name=" + o.Job, Container: o.Container, AllContainers: o.AllContainers,
		Follow: o.Follow, Since: o.Since, Tail: o.Tail, Timestamps: o.Timestamps, ParseTimes: o.Output == "json",
		Previous: o.Previous, MaxRequests: o.MaxRequests,
	}
	if o.Follow {
		finished := make(chan struct{})
		opts.Done = finished
		watchCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		// Following ends with the Job (or when it cannot be watched any more).
		go func() {
			defer close(finished)
			events := make(chan jobwatch.Event)
			go func() {
				defer close(events)
				_ = jobwatch.Watch(watchCtx, o.kube, jobwatch.Options{Namespace: o.namespace, Name: o.Job}, events)
			}()
			for ev := range events {
				if ev.Done != nil {
					cancel()
				}
			}
		}()
	}
	err = podlogs.Stream(ctx, o.kube, opts, sink)
	if ctx.Err() != nil {
		return nil // Ctrl-C while following
	}
	return err
}

// checkContainer refuses a -c that no pod of the Job has, rather than a
// warning per pod and exit 0.
func (o *LogsOptions) checkContainer(job *batchv1.Job) error {
	if o.Container == "" {
		return nil
	}
	spec := job.Spec.Template.Spec
	var names []string
	for _, cs := range [][]corev1.Container{spec.Containers, spec.InitContainers} {
		for _, c := range cs {
			if c.Name == o.Container {
				return nil
			}
			names = append(names, c.Name)
		}
	}
	return fmt.Errorf("-c %s: job %q's pods have no such container; they have %s", o.Container, o.Job, strings.Join(names, ", "))
}

// warnGonePods says when the Job counts more pods than still exist: their
// logs went with them (deleted by hand, by the Job's pod GC, or evicted), and
// a silent gap in the output would look like pods that printed nothing.
func (o *LogsOptions) warnGonePods(ctx context.Context, job *batchv1.Job) {
	pods, err := o.kube.CoreV1().Pods(o.namespace).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + o.Job})
	if err != nil {
		return
	}
	counted := int(job.Status.Active + job.Status.Succeeded + job.Status.Failed)
	if gone := counted - len(pods.Items); gone > 0 {
		fmt.Fprintf(o.ErrOut, "Warning: job %q counts %d pods but only %d exist: the logs of %d deleted pods are gone\n", o.Job, counted, len(pods.Items), gone)
	}
}

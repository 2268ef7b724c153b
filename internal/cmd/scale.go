package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
)

// ScaleOptions are the options of `kubectl workqueue scale`.
type ScaleOptions struct {
	f *factory
	genericiooptions.IOStreams

	PrintFlags *genericclioptions.PrintFlags

	Job         string
	Parallelism int32
	DryRun      string

	parallelismSet bool
	namespace      string
	kube           kubernetes.Interface
}

// NewCmdScale builds `kubectl workqueue scale`.
func NewCmdScale(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ScaleOptions{f: f, IOStreams: streams, DryRun: "none",
		PrintFlags: genericclioptions.NewPrintFlags("scaled").WithTypeSetter(scheme.Scheme)}
	cmd := &cobra.Command{
		Use:   "scale JOB --parallelism N",
		Short: "Change the parallelism of a running work-queue Job; 0 pauses it",
		Long: `Change how many pods of a work-queue Job (made by 'kubectl workqueue run') run
at once, as 'kubectl scale' did for Jobs.

0 pauses the Job: the Job controller deletes its pods, and each worker stops
leasing; its running item has the pod's grace period to finish, and otherwise
goes back to the queue at once. No pod starts until the parallelism is raised
again. 'kubectl workqueue wait' shows the new figure, and "paused" at 0.

Never more pods than items: a parallelism above the items left in the queue
(pending and processing) is lowered to that number, with one line saying so.

--dry-run=client shows the change and makes none; --dry-run=server has the
API server validate the change and saves nothing. -o json|yaml prints the Job
as it is (or would be) after the change.`,
		Example: `  kubectl workqueue scale wq-job2 --parallelism 8
  kubectl workqueue scale wq-job2 --parallelism 0     # pause
  kubectl workqueue scale wq-job2 --parallelism 4     # resume
  kubectl workqueue scale wq-job2 -p 8 --dry-run -o yaml`,
		Args:              nameArg("JOB", true),
		ValidArgsFunction: completeJobs(f),
		RunE:              runOptions(o),
	}
	fl := cmd.Flags()
	fl.Int32VarP(&o.Parallelism, "parallelism", "p", 0, "pods running at once (0 pauses the Job)")
	fl.StringVar(&o.DryRun, "dry-run", o.DryRun, `"none", "client" (show the change, make none) or "server" (have the API server validate it, save nothing)`)
	fl.Lookup("dry-run").NoOptDefVal = "client"
	o.PrintFlags.AddFlags(cmd)
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletions(o.PrintFlags.AllowedFormats()...))
	_ = cmd.RegisterFlagCompletionFunc("dry-run", fixedCompletions("none", "client", "server"))
	return cmd
}

// Complete resolves the Job, the namespace and the client.
func (o *ScaleOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Job = args[0]
	o.parallelismSet = cmd.Flags().Changed("parallelism")
	var err error
	o.namespace, o.kube, err = o.f.namespacedClient()
	return err
}

// Validate checks the flags.
func (o *ScaleOptions) Validate() error {
	if !o.parallelismSet {
		return errors.New("--parallelism is required: the number of pods to run at once (0 pauses the Job)")
	}
	if o.Parallelism < 0 {
		return fmt.Errorf("--parallelism %d: must not be negative (0 pauses the Job)", o.Parallelism)
	}
	switch o.DryRun {
	case "none", "client", "server":
	default:
		return fmt.Errorf(`--dry-run %q: must be "none", "client" or "server"`, o.DryRun)
	}
	if o.DryRun != "none" {
		o.PrintFlags.Complete("%s" + dryRunNote(o.DryRun))
	}
	if _, err := o.PrintFlags.ToPrinter(); err != nil {
		return err
	}
	return nil
}

// Run patches the Job's parallelism.
func (o *ScaleOptions) Run(ctx context.Context) error {
	job, err := getJob(ctx, o.kube, o.namespace, o.Job)
	if err != nil {
		return err
	}
	queueName := job.Annotations[manifest.AnnotationQueue]
	if queueName == "" {
		return fmt.Errorf("job %q was not made by kubectl workqueue run (it has no %s annotation): change it with kubectl patch job %s -n %s -p '{\"spec\":{\"parallelism\":%d}}'",
			o.Job, manifest.AnnotationQueue, o.Job, o.namespace, o.Parallelism)
	}
	if c := finishedCondition(job); c != "" {
		return fmt.Errorf("job %q has already finished (%s): there is nothing to scale", o.Job, c)
	}
	want := o.capAtItemsLeft(ctx, job, queueName)
	was := ptr.Deref(job.Spec.Parallelism, 1)
	scaled, err := o.patch(ctx, job, want)
	if err != nil {
		return err
	}
	if *o.PrintFlags.OutputFormat != "" {
		p, err := o.PrintFlags.ToPrinter()
		if err != nil {
			return err
		}
		return p.PrintObj(scaled, o.Out)
	}
	ref, note := "job.batch/"+o.Job, dryRunNote(o.DryRun)
	switch {
	case want == 0:
		fmt.Fprintf(o.Out, "%s paused%s: parallelism 0 (was %d); resume with: kubectl workqueue scale %s -n %s --parallelism N\n", ref, note, was, o.Job, o.namespace)
	case isSuspended(job):
		fmt.Fprintf(o.Out, "%s scaled%s: parallelism %d (was %d); the Job is suspended, and starts pods once it is resumed\n", ref, note, want, was)
	default:
		fmt.Fprintf(o.Out, "%s scaled%s: parallelism %d (was %d)\n", ref, note, want, was)
	}
	return nil
}

// patch sets job's parallelism to want and returns the Job as it is after:
// as the API server returned it, or, for a client dry run, job changed here
// alone.
func (o *ScaleOptions) patch(ctx context.Context, job *batchv1.Job, want int32) (*batchv1.Job, error) {
	if o.DryRun == "client" {
		scaled := job.DeepCopy()
		scaled.Spec.Parallelism = ptr.To(want)
		return scaled, nil
	}
	opts := metav1.PatchOptions{FieldManager: manifest.FieldManager}
	if o.DryRun == "server" {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	patch := fmt.Sprintf(`{"spec":{"parallelism":%d}}`, want)
	scaled, err := o.kube.BatchV1().Jobs(o.namespace).Patch(ctx, o.Job, types.MergePatchType, []byte(patch), opts)
	if err != nil {
		return nil, fmt.Errorf("scaling job %q: %w", o.Job, err)
	}
	return scaled, nil
}

// capAtItemsLeft lowers --parallelism to the items left in the queue: pods
// beyond them would find nothing to do. Without the queue, it says so and
// keeps the figure asked for.
func (o *ScaleOptions) capAtItemsLeft(ctx context.Context, job *batchv1.Job, queueName string) int32 {
	if o.Parallelism == 0 {
		return 0
	}
	r := newQueueReader(o.f, o.IOStreams, queueName, job)
	defer r.close()
	st, err := r.stats(ctx)
	if err != nil {
		fmt.Fprintf(o.ErrOut, "Warning: cannot read queue %q to keep the pods within its items: %v\n", queueName, err)
		return o.Parallelism
	}
	left := st.Pending + st.Processing
	if left < 1 || int64(o.Parallelism) <= left {
		return o.Parallelism
	}
	fmt.Fprintf(o.ErrOut, "parallelism %d lowered to %d: queue %q has %d items left (%d pending, %d processing)\n",
		o.Parallelism, left, queueName, left, st.Pending, st.Processing)
	return int32(left)
}

// isSuspended says whether job is suspended (spec.suspend), e.g. waiting for
// Kueue to admit it.
func isSuspended(job *batchv1.Job) bool { return ptr.Deref(job.Spec.Suspend, false) }

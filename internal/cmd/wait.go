package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/jobwatch"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/plural"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/podlogs"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/podstatus"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redisconn"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

const defaultStuckGrace = jobwatch.DefaultStuckGrace

// WaitOptions are the options of `kubectl workqueue wait`, and of run's wait.
type WaitOptions struct {
	f *factory
	genericiooptions.IOStreams

	Job        string
	Timeout    time.Duration
	StuckGrace time.Duration
	Quiet      bool
	Logs       bool

	namespace string
	kube      kubernetes.Interface
}

// NewCmdWait builds `kubectl workqueue wait`.
func NewCmdWait(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &WaitOptions{f: f, IOStreams: streams, StuckGrace: defaultStuckGrace}
	cmd := &cobra.Command{
		Use:   "wait JOB",
		Short: "Wait for a work-queue Job to complete, with live progress",
		Long: `Wait for a Job to complete, showing the progress of its queue and pods.

Exit status:
  0  the Job is Complete and every item of its queue is done
  3  the Job is Complete, but items are not done: they failed (see them with
     'kubectl workqueue items QUEUE', put them back with 'kubectl workqueue
     retry QUEUE --all') or the workers left them in the queue
  1  the Job failed (with the reason and the last lines of the failed pods'
     logs), its pods cannot run (image pull and configuration errors at once,
     unschedulable or crash-looping pods, or pods that keep failing, after
     --stuck-grace), or its queue could not be read
  130  interrupted (Ctrl-C); the Job goes on
Unlike 'kubectl wait --for=condition=complete', it does not sit until the
timeout when the Job cannot succeed.

A Job paused by 'kubectl workqueue scale JOB --parallelism 0', or suspended
(run --suspend, or waiting for Kueue to admit it), is waited for: the
progress says so, and the time suspended does not count against
--stuck-grace.`,
		Example: `  kubectl workqueue wait wq-job2
  kubectl workqueue wait wq-job2 --timeout 30m --logs`,
		Args:              nameArg("JOB", true),
		ValidArgsFunction: completeJobs(f),
		RunE:              runOptions(o),
	}
	o.addFlags(cmd)
	return cmd
}

// Complete resolves the Job, the namespace and the client.
func (o *WaitOptions) Complete(_ *cobra.Command, args []string) error {
	o.Job = args[0]
	var err error
	o.namespace, o.kube, err = o.f.namespacedClient()
	return err
}

// Validate checks the flags; run calls it for its own wait too.
func (o *WaitOptions) Validate() error {
	if o.Timeout < 0 {
		return fmt.Errorf("--timeout %s: must not be negative (0 = no limit)", o.Timeout)
	}
	if o.StuckGrace <= 0 {
		return fmt.Errorf("--stuck-grace %s: must be greater than zero", o.StuckGrace)
	}
	return nil
}

func (o *WaitOptions) addFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.DurationVar(&o.Timeout, "timeout", 0, "give up waiting after this long (0 = no limit)")
	fl.DurationVar(&o.StuckGrace, "stuck-grace", o.StuckGrace, "how long pods may be unschedulable, crash-looping or failing one after another before waiting fails")
	fl.BoolVarP(&o.Quiet, "quiet", "q", false, "no progress output")
	fl.BoolVar(&o.Logs, "logs", false, "stream the logs of every pod of the Job while waiting")
}

// Run waits for the Job to finish.
func (o *WaitOptions) Run(ctx context.Context) error {
	job, err := getJob(ctx, o.kube, o.namespace, o.Job)
	if err != nil {
		return err
	}
	start := time.Now()
	if job.Status.StartTime != nil {
		start = job.Status.StartTime.Time
	}

	waitCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var timeout <-chan time.Time
	if o.Timeout > 0 {
		t := time.NewTimer(o.Timeout)
		defer t.Stop()
		timeout = t.C
	}

	events := make(chan jobwatch.Event, 16)
	watchErr := make(chan error, 1)
	go func() {
		watchErr <- jobwatch.Watch(waitCtx, o.kube, jobwatch.Options{Namespace: o.namespace, Name: o.Job, StuckGrace: o.StuckGrace}, events)
	}()

	finished := make(chan struct{})
	logsDone := make(chan error, 1)
	if o.Logs {
		go func() {
			logsDone <- podlogs.Stream(ctx, o.kube, podlogs.Options{
				Namespace: o.namespace, Selector: "job-name=" + o.Job, Follow: true, Done: finished, Tail: -1,
			}, podlogs.NewPrefixPrinter(o.Out, o.ErrOut, colorFor(o.Out), false))
		}()
	}

	prog := newJobProgress(o.ErrOut, o.Job, start, o.Quiet, o.Logs)
	prog.kueueQueue = job.Labels[manifest.LabelKueueQueue]
	defer prog.stop()
	var reader *queueReader
	if name := job.Annotations[manifest.AnnotationQueue]; name != "" {
		reader = newQueueReader(o.f, o.IOStreams, name, job)
		defer reader.close()
	}
	expected := jobQueueRef(job)
	stats, warnings := o.queueStats(waitCtx, reader)

	for {
		select {
		case ev := <-events:
			switch {
			case ev.Progress != nil:
				prog.pods, prog.havePods = *ev.Progress, true
				prog.draw(false)
			case ev.Stuck != nil:
				prog.clear()
				close(finished)
				return o.stuck(ctx, ev.Stuck)
			case ev.Done != nil:
				prog.pods = ev.Done.Progress
				cancel()
				prog.refreshQueue(stats)
				prog.clear()
				close(finished)
				if o.Logs {
					<-logsDone
				}
				return o.done(ctx, ev.Done, prog, reader, expected)
			}
		case st := <-stats:
			if !expected.observe(st) {
				// Not the queue the Job was started on: unless every item
				// was done before it went, waiting longer cannot end well.
				f := o.finish(prog, reader, false, time.Time{})
				f.Stats, f.Expected = st, expected
				if f.lost() != "" {
					prog.clear()
					close(finished)
					f.Storage = o.storageHint(ctx, reader)
					_, err := settle(f)
					return err
				}
				continue
			}
			prog.queue = st
			prog.draw(false)
		case msg := <-warnings:
			prog.warn(msg)
		case err := <-watchErr:
			if ctx.Err() == nil && err != nil {
				prog.clear()
				return err
			}
		case <-prog.tick():
			prog.draw(true)
		case <-timeout:
			prog.clear()
			return fmt.Errorf("timed out after %v waiting for job %q; it keeps running: %s", o.Timeout, o.Job, prog.summary())
		case <-ctx.Done():
			prog.clear()
			fmt.Fprintf(o.ErrOut, "Stopped waiting; job %q keeps running (%s).\n  Wait again:  kubectl workqueue wait %s -n %s\n  Read logs:   kubectl workqueue logs %s -n %s\n",
				o.Job, prog.summary(), o.Job, o.namespace, o.Job, o.namespace)
			return ErrInterrupted
		}
	}
}

// getJob gets the Job that wait and logs are about, with an error that says
// which one is missing.
func getJob(ctx context.Context, kube kubernetes.Interface, namespace, name string) (*batchv1.Job, error) {
	job, err := kube.BatchV1().Jobs(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("job %q not found in namespace %q", name, namespace)
	}
	if err != nil {
		return nil, fmt.Errorf("getting job %q: %w", name, err)
	}
	return job, nil
}

// queueReader reads the Job's queue through one connection, made on first
// use: every two seconds for the progress while the Job runs, and once more
// for the final account when it has finished.
type queueReader struct {
	f       *factory
	streams genericiooptions.IOStreams
	name    string
	redis   redisFlags // the flags, or the Redis the Job's workers were given

	mu      sync.Mutex
	conn    *redisconn.Conn
	dropped bool // a connection failed and was closed
	again   bool // and one was made again since
}

// newQueueReader reads the queue called name of job: in the Redis of the
// --redis-* flags, or, without them, the one the Job's workers were given.
func newQueueReader(f *factory, streams genericiooptions.IOStreams, name string, job *batchv1.Job) *queueReader {
	return &queueReader{f: f, streams: streams, name: name, redis: f.redis.forJob(job)}
}

// stats reads the queue once. A connection that fails is dropped, so that
// the next call connects again: through a new port-forward, to the Redis
// pod that replaced the one that went away.
func (r *queueReader) stats(ctx context.Context) (*queue.Stats, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil {
		conn, err := r.f.connectRedisAs(ctx, r.streams, r.redis)
		if err != nil {
			return nil, err
		}
		r.conn, r.again = conn, r.dropped
		r.dropped = false
	}
	q, err := openQueue(r.conn, r.name)
	if err != nil {
		return nil, err
	}
	st, err := q.Stats(ctx)
	if err != nil {
		err = explainRedis(r.conn, err)
		var rerr redis.Error
		if !errors.As(err, &rerr) && ctx.Err() == nil {
			// Not Redis' own answer (LOADING, say): the connection broke.
			r.conn.Close()
			r.conn, r.dropped = nil, true
		}
		return nil, err
	}
	return st, nil
}

// reclaimGrace is how long wait must see an item without a lease and without
// a live worker before it takes the item back; a variable for the tests.
var reclaimGrace = queue.DefaultReclaimGrace

// reclaim takes back the items of workers that died: no lease and no live
// worker for reclaimGrace. workqueue-worker and pkg/worker do
// this themselves, but the docs' rediswq.py workers never do: without it,
// one of them that crashes holding an item leaves the others looping on a
// queue that is never empty, and the Job never completes. Reclaim marks an
// item the first time it sees it so and moves it a grace later, so it is
// called on every round of the progress while such items exist.
func (r *queueReader) reclaim(ctx context.Context) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil {
		return 0, nil
	}
	q, err := openQueue(r.conn, r.name)
	if err != nil {
		return 0, err
	}
	n, err := q.Reclaim(ctx, reclaimGrace)
	if err != nil {
		return 0, explainRedis(r.conn, err)
	}
	return n, nil
}

// reconnected reports, once, that the connection was made again after one
// broke.
func (r *queueReader) reconnected() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	again := r.again
	r.again = false
	return again
}

// retryInterval is how often a broken connection to the queue is retried.
const retryInterval = time.Second

// statsUntil reads the queue, trying again while it fails, until ctx ends.
func (r *queueReader) statsUntil(ctx context.Context) (*queue.Stats, error) {
	for {
		st, err := r.stats(ctx)
		if err == nil || ctx.Err() != nil {
			return st, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(retryInterval):
		}
	}
}

func (r *queueReader) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn != nil {
		r.conn.Close()
		r.conn = nil
	}
}

// queueStats streams the Job's queue statistics every two seconds, for as
// long as ctx lasts, also with --quiet: they tell a lost queue. Without a
// reachable queue the progress shows the pods alone, after one warning; a
// connection that breaks (Redis restarted, its pod replaced) is made again.
// Items whose workers died are taken back on the way (queueReader.reclaim).
func (o *WaitOptions) queueStats(ctx context.Context, r *queueReader) (<-chan *queue.Stats, <-chan string) {
	out := make(chan *queue.Stats, 1)
	warnings := make(chan string, 4)
	if r == nil {
		return out, warnings
	}
	warn := func(msg string) {
		select {
		case warnings <- msg:
		default: // the wait is busy ending: drop it
		}
	}
	go func() {
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		warned, reclaimFailed := false, false
		for {
			st, err := r.stats(ctx)
			switch {
			case err == nil:
				if r.reconnected() {
					warn("queue progress: connected to Redis again")
				}
				warned = false
				if st.Expired > 0 && !reclaimFailed {
					n, err := r.reclaim(ctx)
					switch {
					case err != nil && ctx.Err() == nil:
						// Not fatal: the workers may still take them back.
						warn("cannot take back the items of workers that died: " + err.Error())
						reclaimFailed = true
					case n > 0:
						warn(fmt.Sprintf("took back %s of workers that died (no lease, no live worker for %v): pending again",
							plural.Count(n, "item"), reclaimGrace))
					}
				}
				select {
				case out <- st:
				case <-ctx.Done():
					return
				}
			case ctx.Err() == nil && !warned:
				warn("queue progress unavailable, retrying: " + err.Error())
				warned = true
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return out, warnings
}

func (o *WaitOptions) stuck(ctx context.Context, s *jobwatch.Stuck) error {
	var msg, closer string
	switch {
	case s.Reason == jobwatch.ReasonPodsFailing:
		// The failed pods are still there, with their logs.
		o.printFailedPodLogs(ctx)
		msg, closer = "its pods keep failing", fmt.Sprintf("kubectl describe job %s -n %s", o.Job, o.namespace)
		if s.Pod != "" {
			closer = fmt.Sprintf("kubectl logs %s -n %s", s.Pod, o.namespace)
		}
	case s.Pod == "":
		// FailedCreate: the Job controller could not make a pod, so there
		// is no pod to describe; the Job's events say why.
		msg, closer = "the job controller: "+s.Reason, fmt.Sprintf("kubectl describe job %s -n %s", o.Job, o.namespace)
	default:
		if s.Kind == podstatus.CrashLoop {
			// Why it crashed is usually in the last lines it wrote.
			o.printCrashedLogs(ctx, s.Pod, s.Container)
		}
		msg, closer = "pod "+s.Pod+": "+s.Reason, lookCloser(o.namespace, s.Pod, podstatus.Problem{Kind: s.Kind, Container: s.Container})
	}
	if s.Message != "" {
		msg += ": " + s.Message
	}
	return fmt.Errorf("job %q cannot run: %s\n  The Job is left as it is. Look closer: %s\n  Remove it:  kubectl delete job %s -n %s",
		o.Job, msg, closer, o.Job, o.namespace)
}

// finalStatsTimeout bounds the last read of the queue once the Job has finished.
const finalStatsTimeout = 30 * time.Second

// done reports the finished Job: the final account of its queue decides
// between success and what is missing.
func (o *WaitOptions) done(ctx context.Context, out *jobwatch.Outcome, prog *jobProgress, reader *queueReader, expected queueRef) error {
	f := o.finish(prog, reader, out.Complete, out.Finished)
	f.Expected = expected
	if reader != nil {
		readCtx, cancel := context.WithTimeout(ctx, finalStatsTimeout)
		f.Stats, f.StatsErr = reader.statsUntil(readCtx)
		cancel()
	}
	if f.lost() != "" {
		f.Storage = o.storageHint(ctx, reader)
	}
	if !out.Complete {
		o.printFailedPodLogs(ctx)
		f.Reason = out.Reason
		if out.Message != "" {
			f.Reason += ": " + out.Message
		}
	}
	line, err := settle(f)
	if err != nil {
		return err
	}
	fmt.Fprintln(o.Out, line)
	return nil
}

// ranFor is how long a Job that started at start ran until finished, or
// until now when its status says no more (or says nonsense).
func ranFor(start, finished time.Time) time.Duration {
	end := time.Now()
	if !finished.IsZero() && !finished.Before(start) && finished.Before(end) {
		end = finished
	}
	return end.Sub(start).Round(100 * time.Millisecond)
}

// finish is what wait knows of the Job, finished at finished (zero: not, or
// not known), for settle.
func (o *WaitOptions) finish(prog *jobProgress, reader *queueReader, complete bool, finished time.Time) finish {
	f := finish{
		Job: o.Job, Namespace: o.namespace, Complete: complete,
		Elapsed: ranFor(prog.start, finished),
		Pods:    prog.podSummary(),
	}
	if reader != nil {
		f.Queue = reader.name
	}
	return f
}

// jobQueueRef is the queue the Job was started on, as run recorded it.
func jobQueueRef(job *batchv1.Job) queueRef {
	seeded, _ := strconv.ParseInt(job.Annotations[manifest.AnnotationQueueSeeded], 10, 64)
	return queueRef{Epoch: job.Annotations[manifest.AnnotationQueueEpoch], Seeded: seeded}
}

// storageHint says, for a lost queue, that Redis keeps its data where a
// new pod does not find it; "" when it does not (or that is unknown, e.g.
// for a Redis reached by URL).
func (o *WaitOptions) storageHint(ctx context.Context, reader *queueReader) string {
	if reader == nil || reader.redis.url != "" || reader.redis.urlSecret != "" || o.kube == nil {
		return ""
	}
	d, err := o.kube.AppsV1().Deployments(o.namespace).Get(ctx, reader.redis.service, metav1.GetOptions{})
	if err != nil || dataVolume(d) != "" {
		return ""
	}
	return "Redis kept its data in an emptyDir (init --ephemeral), which a new Redis pod starts without"
}

// printFailedPodLogs shows the last lines of each failed pod's logs, which
// is usually where the reason is.
func (o *WaitOptions) printFailedPodLogs(ctx context.Context) {
	pods, err := o.kube.CoreV1().Pods(o.namespace).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + o.Job})
	if err != nil {
		return
	}
	failed := map[string]bool{}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodFailed || restartedAfterFailure(&p) {
			failed[p.Name] = true
		}
	}
	if len(failed) == 0 {
		return
	}
	fmt.Fprintf(o.ErrOut, "Last log lines of the failed pods:\n")
	sink := podFilter{only: failed, Sink: podlogs.NewPrefixPrinter(o.ErrOut, o.ErrOut, false, false)}
	_ = podlogs.Stream(ctx, o.kube, podlogs.Options{Namespace: o.namespace, Selector: "job-name=" + o.Job, Tail: 10}, sink)
}

// printCrashedLogs shows the last lines of the instance of a crash-looping
// container that crashed last.
func (o *WaitOptions) printCrashedLogs(ctx context.Context, pod, container string) {
	// The kubelet serves that instance as the container's current log while
	// the container is terminated or waiting to restart, and as its previous
	// log only once a new instance runs. Asking for the previous one in the
	// moment between a crash and the back-off (kubectl shows "Error") reads
	// the instance before, which the kubelet may have removed already: CI
	// got "unable to retrieve container logs for containerd://…" so.
	previous := false
	if p, err := o.kube.CoreV1().Pods(o.namespace).Get(ctx, pod, metav1.GetOptions{}); err == nil {
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == container && cs.State.Running != nil {
				previous = true
			}
		}
	}
	var lines bytes.Buffer
	sink := podFilter{only: map[string]bool{pod: true}, Sink: podlogs.NewPrefixPrinter(&lines, io.Discard, false, false)}
	_ = podlogs.Stream(ctx, o.kube, podlogs.Options{Namespace: o.namespace, Selector: "job-name=" + o.Job,
		Container: container, Previous: previous, Tail: 10}, sink)
	if lines.Len() > 0 {
		fmt.Fprintf(o.ErrOut, "Last log lines of pod %s before it crashed:\n%s", pod, lines.String())
	}
}

func restartedAfterFailure(p *corev1.Pod) bool {
	for _, cs := range p.Status.ContainerStatuses {
		if t := cs.LastTerminationState.Terminated; t != nil && t.ExitCode != 0 {
			return true
		}
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			return true
		}
	}
	return false
}

type podFilter struct {
	podlogs.Sink
	only map[string]bool
}

func (f podFilter) Line(l podlogs.Line) error {
	if !f.only[l.Pod] {
		return nil
	}
	return f.Sink.Line(l)
}

func (f podFilter) PodGone(pod, reason string) {
	if f.only[pod] {
		f.Sink.PodGone(pod, reason)
	}
}

// jobProgress renders the wait's progress: a line redrawn in place on a
// terminal, a plain line every few seconds otherwise.
type jobProgress struct {
	w     io.Writer
	job   string
	start time.Time
	quiet bool
	tty   bool
	pods  jobwatch.Progress
	// havePods is false until the first Progress: a zero parallelism
	// before it does not mean paused.
	havePods bool
	// kueueQueue is the LocalQueue of a Job made for Kueue.
	kueueQueue string
	queue      *queue.Stats
	first      *queue.Stats
	ticker     *time.Ticker
	line       liveLine // on a terminal
	lastOut    string
}

func newJobProgress(w io.Writer, job string, start time.Time, quiet, plain bool) *jobProgress {
	p := &jobProgress{w: w, job: job, start: start, quiet: quiet, tty: isTerminal(w) && !plain}
	if p.tty {
		p.line.w = w
	}
	every := 5 * time.Second
	if p.tty {
		every = time.Second
	}
	if !quiet {
		p.ticker = time.NewTicker(every)
	}
	return p
}

func (p *jobProgress) tick() <-chan time.Time {
	if p.ticker == nil {
		return nil
	}
	return p.ticker.C
}

func (p *jobProgress) refreshQueue(stats <-chan *queue.Stats) {
	select {
	case st := <-stats:
		p.queue = st
	default:
	}
}

func (p *jobProgress) podSummary() string {
	return fmt.Sprintf("pods: %d active, %d succeeded, %d failed", p.pods.Active, p.pods.Succeeded, p.pods.Failed)
}

// state says why a Job runs no pods, when it is paused or suspended.
func (p *jobProgress) state() string {
	switch {
	case !p.havePods:
		return ""
	case p.pods.Suspended && p.kueueQueue != "":
		return "suspended: waiting for admission (Kueue LocalQueue " + p.kueueQueue + ")"
	case p.pods.Suspended:
		return "suspended: waiting for spec.suspend=false"
	case p.pods.Parallelism == 0:
		return "paused: parallelism 0 (resume with kubectl workqueue scale " + p.job + " --parallelism N)"
	}
	return ""
}

func (p *jobProgress) summary() string {
	s := p.podSummary()
	state := p.state()
	if state != "" {
		s = state + "; " + s
	} else if p.havePods {
		s += fmt.Sprintf("; parallelism %d", p.pods.Parallelism)
	}
	st := p.queue
	if st == nil {
		return s
	}
	total := st.Done + st.Pending + st.Processing + st.Failed
	q := fmt.Sprintf("%d/%d items done", st.Done, total)
	if st.Failed > 0 {
		q += fmt.Sprintf(", %d failed", st.Failed)
	}
	if p.first == nil {
		p.first = st
	}
	if rate, eta, ok := throughput(p.first, st); ok && rate > 0 && state == "" {
		q += fmt.Sprintf(", %.1f/s", rate)
		if eta > 0 {
			q += ", ETA " + eta.String()
		}
	}
	return q + "; " + s
}

// draw shows the progress: on a terminal at every change, otherwise only
// on the ticker (periodic) and when something changed since the last line.
func (p *jobProgress) draw(periodic bool) {
	if p.quiet {
		return
	}
	line := fmt.Sprintf("%s: %s (%v)", p.job, p.summary(), time.Since(p.start).Round(time.Second))
	if p.tty {
		p.line.draw(line)
		return
	}
	if periodic && line != p.lastOut {
		fmt.Fprintln(p.w, line)
		p.lastOut = line
	}
}

func (p *jobProgress) warn(msg string) {
	if p.quiet {
		return
	}
	p.clear()
	fmt.Fprintln(p.w, "Warning: "+msg)
}

func (p *jobProgress) clear() { p.line.clear() }

func (p *jobProgress) stop() {
	p.clear()
	if p.ticker != nil {
		p.ticker.Stop()
	}
}

// colorFor says whether to colour output to w: on a terminal, unless the
// user set NO_COLOR (https://no-color.org).
func colorFor(w io.Writer) bool {
	return isTerminal(w) && strings.TrimSpace(os.Getenv("NO_COLOR")) == ""
}

package cmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/itemcmd"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/jobwatch"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/plural"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redisclient"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redisconn"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/version"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/worker"
)

const runExample = `  # The docs' pattern: the image's own program talks to the queue
  kubectl workqueue run job2 --image gcr.io/myproject/job-wq-2 --parallelism 2

  # Any command per item, no queue code in the image: the item is on stdin,
  # in $WORKQUEUE_ITEM, and in place of {}
  kubectl workqueue run job2 --image busybox:1.36 --parallelism 4 -- sh -c 'echo "processing $WORKQUEUE_ITEM"'

  # One pod per item (the coarse-parallel pattern)
  kubectl workqueue run job2 --image myimage:v1 --per-item -- /process {}

  # Your own Job (e.g. the docs' job.yaml) as the base: run adds the queue
  kubectl workqueue run job2 -f job.yaml

  # What no flag covers, as a patch of the generated Job (its container is "worker")
  kubectl workqueue run job2 --image myimage:v1 --patch-file gpu.yaml -- /process {}

  # As many pods as pending items, at most 20; for Kueue to admit
  kubectl workqueue run job2 --image myimage:v1 -p auto --max-parallelism 20 --kueue-queue team-a -- /process {}

  # Print the Job instead of running it
  kubectl workqueue run job2 --image myimage:v1 --dry-run=client -o yaml`

// RunOptions are the options of `kubectl workqueue run`.
type RunOptions struct {
	f *factory
	genericiooptions.IOStreams
	PrintFlags *genericclioptions.PrintFlags

	Queue          string
	Command        []string
	Name           string
	Image          string
	WorkerImage    string
	PerItem        bool
	Restart        string
	BackoffLimit   int32
	ActiveDeadline time.Duration
	TTLAfter       time.Duration
	Requests       string
	Limits         string
	Env            []string
	ServiceAccount string
	PullSecrets    []string
	Labels         string
	Restricted     bool
	Lease          time.Duration
	MaxAttempts    int
	ItemTimeout    time.Duration
	RedisTimeout   time.Duration
	DryRun         string
	Replace        bool
	AllowEmpty     bool
	Wait           bool
	workload       workloadFlags
	// waitOptions are the flags of the wait that follows, unless --wait=false.
	waitOptions WaitOptions

	flagsSet  func(string) bool
	namespace string
	// queue is the queue as run read it before making the Job; nil if not read.
	queue *queue.Stats
	// explicitNS: -n was given. As kubectl create's, a client dry run's
	// manifest names a namespace only then, so that it applies anywhere.
	explicitNS bool
	kube       kubernetes.Interface
}

// NewCmdRun builds `kubectl workqueue run`.
func NewCmdRun(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &RunOptions{
		f: f, IOStreams: streams,
		PrintFlags: genericclioptions.NewPrintFlags("created").WithTypeSetter(scheme.Scheme),
		Restart:    "Never", BackoffLimit: 6, Lease: queue.DefaultLease, MaxAttempts: 3,
		Wait: true, DryRun: "none",
	}
	o.workload.Parallelism.n = 1
	o.waitOptions = WaitOptions{f: f, IOStreams: streams, StuckGrace: defaultStuckGrace}
	cmd := &cobra.Command{
		Use:   "run QUEUE --image IMAGE [--parallelism N] [-- COMMAND [ARGS...]]",
		Short: "Run a Job of workers that drains a queue, and wait for it",
		Long: `Run a batch/v1 Job whose pods drain QUEUE, then wait for it to complete with
live progress. The Job is applied server-side; its pods find Redis through
the Service and the password Secret made by 'kubectl workqueue init'.

Without a command, the image's own entrypoint runs and talks to the queue
itself, as in the Kubernetes docs (rediswq.py). With "-- COMMAND ARGS", a
small worker binary is injected into the pod and runs COMMAND once per item,
with the item on stdin, in $WORKQUEUE_ITEM and in place of {}: exit 0
completes the item, anything else fails it (retried up to --max-attempts,
then kept in the queue's failed list). {} is replaced as text: inside a shell
script (sh -c '...') use "$WORKQUEUE_ITEM", quoted, as {} there would run an
item such as 'a; rm -rf ~' as code; run refuses it, and {} in the code of
python3 -c, perl -e, ruby -e and node -e too.

Waiting ends with the Job's Complete condition or its failure, as 'kubectl
workqueue wait' does: exit 0 only when every item is done; 3 when the Job
completed but items failed (listed by 'kubectl workqueue items QUEUE') or
were left in the queue; 1 when the Job failed (with the reason and the last
log lines of failed pods). Pods that cannot run (image pull errors, bad
config) fail the wait at once, naming the pod; unschedulable or crash-looping
ones after --stuck-grace.`,
		Example:           runExample,
		Args:              runArgs,
		ValidArgsFunction: completeQueues(f),
		RunE:              runOptions(o),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Image, "image", "", "image of the worker container (required without -f)")
	fl.StringVar(&o.Name, "name", "", "name of the Job (default: derived from the queue, e.g. wq-job2)")
	fl.StringVar(&o.WorkerImage, "worker-image", version.WorkerImage(), "image holding the workqueue-worker binary, used with -- COMMAND (no default in a development build)")
	fl.BoolVar(&o.PerItem, "per-item", false, "one pod per pending item (completions = pending items): a pod exits once one item has left the queue, done or failed --max-attempts times; a pod whose item failed and went back to the queue takes the next one")
	fl.StringVar(&o.Restart, "restart", o.Restart, "the pods' restartPolicy: Never (a pod disruption then does not count against --backoff-limit) or OnFailure")
	fl.Int32Var(&o.BackoffLimit, "backoff-limit", o.BackoffLimit, "failed pods before the Job is marked failed")
	fl.DurationVar(&o.ActiveDeadline, "active-deadline", 0, "fail the Job if it runs longer than this (e.g. 1h; 0 = no limit)")
	fl.DurationVar(&o.TTLAfter, "ttl-after-finished", 0, "delete the finished Job after this long (0 = keep it)")
	fl.StringVar(&o.Requests, "requests", "", "resource requests of the worker container, e.g. cpu=100m,memory=128Mi")
	fl.StringVar(&o.Limits, "limits", "", "resource limits of the worker container, e.g. cpu=1,memory=512Mi")
	fl.StringArrayVarP(&o.Env, "env", "e", nil, "environment variable NAME=VALUE for the workers (repeatable)")
	fl.StringVar(&o.ServiceAccount, "service-account", "", "service account of the worker pods (without one they get no API token)")
	fl.StringArrayVar(&o.PullSecrets, "image-pull-secret", nil, "image pull Secret for the worker pods (repeatable)")
	fl.StringVarP(&o.Labels, "labels", "l", "", "labels for the Job and its pods, e.g. team=data,run=7")
	fl.BoolVar(&o.Restricted, "restricted", false, "make the pods pass the \"restricted\" Pod Security Standard (the image must run as non-root)")
	fl.DurationVar(&o.Lease, "lease", o.Lease, "how long a worker holds an item before others may take it over (renewed while it works)")
	fl.IntVar(&o.MaxAttempts, "max-attempts", o.MaxAttempts, "failures before an item moves to the failed list (with -- COMMAND)")
	fl.DurationVar(&o.ItemTimeout, "item-timeout", 0, "fail an attempt when COMMAND runs longer than this on one item: SIGTERM, then SIGKILL after the worker's grace (with -- COMMAND; 0 = no limit)")
	fl.StringVar(&o.DryRun, "dry-run", o.DryRun, `"none", "client" (print the Job, contact nothing) or "server" (validate it with the API server)`)
	fl.Lookup("dry-run").NoOptDefVal = "client"
	fl.BoolVar(&o.Replace, "replace", false, "delete an existing Job of the same name first")
	fl.BoolVar(&o.AllowEmpty, "allow-empty", false, "start even if the queue has no pending items; workers wait for a queue that was never seeded")
	fl.DurationVar(&o.RedisTimeout, "redis-timeout", 0, "how long the workers ride out an unreachable Redis (restarting, its pod rescheduled) before they give up (with -- COMMAND; default "+worker.DefaultRedisTimeout.String()+")")
	fl.BoolVar(&o.Wait, "wait", o.Wait, "wait for the Job to finish, showing progress")
	o.workload.addFlags(cmd)
	o.waitOptions.addFlags(cmd)
	o.PrintFlags.AddFlags(cmd)
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletions(o.PrintFlags.AllowedFormats()...))
	_ = cmd.RegisterFlagCompletionFunc("dry-run", fixedCompletions("none", "client", "server"))
	return cmd
}

// runArgs wants QUEUE before "--": with "run --image IMG -- CMD" the first
// word of the command is no queue name.
func runArgs(cmd *cobra.Command, args []string) error {
	if cmd.ArgsLenAtDash() == 0 {
		return nameArg("QUEUE", false)(cmd, nil)
	}
	return nameArg("QUEUE", false)(cmd, args)
}

// Complete resolves the command, namespace and clients.
func (o *RunOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Queue = args[0]
	if i := cmd.ArgsLenAtDash(); i >= 0 {
		if i != 1 {
			return fmt.Errorf("unexpected arguments before --: %q; the command goes after --", args[1:i])
		}
		o.Command = args[1:]
	} else if len(args) > 1 {
		return fmt.Errorf("unexpected arguments %q: put the worker's command after --, e.g. run %s --image IMG -- %s", args[1:], o.Queue, strings.Join(args[1:], " "))
	}
	o.flagsSet = func(name string) bool { return cmd.Flags().Changed(name) }
	if err := o.workload.complete(o.In); err != nil {
		return err
	}
	ns, err := o.f.namespace()
	if err != nil {
		return err
	}
	o.namespace = ns
	o.explicitNS = o.f.configFlags.Namespace != nil && *o.f.configFlags.Namespace != ""
	return nil
}

// Validate checks the flags before anything touches the cluster.
func (o *RunOptions) Validate() error {
	if err := queue.ValidateName(o.Queue); err != nil {
		return err
	}
	switch o.DryRun {
	case "none", "client", "server":
	default:
		return fmt.Errorf(`--dry-run %q: must be "none", "client" or "server"`, o.DryRun)
	}
	if o.Image == "" && o.workload.base == nil {
		return errors.New("--image is required: the image of the worker container (or give your own Job with -f)")
	}
	if err := o.workload.validate(); err != nil {
		return err
	}
	if o.Wait {
		if err := o.waitOptions.Validate(); err != nil {
			return err
		}
	}
	// The Job counts whole seconds; a negative value would be dropped.
	if o.ActiveDeadline < 0 || (o.ActiveDeadline > 0 && o.ActiveDeadline < time.Second) {
		return fmt.Errorf("--active-deadline %s: must be at least 1s (or 0 for no limit)", o.ActiveDeadline)
	}
	if o.TTLAfter < 0 {
		return fmt.Errorf("--ttl-after-finished %s: must not be negative (0 keeps the finished Job)", o.TTLAfter)
	}
	// 0 would mean "the worker's default" to the generator: say so instead
	// of silently running with 3 attempts or a 60s lease.
	if o.Lease < time.Second {
		return fmt.Errorf("--lease %s: must be at least 1s", o.Lease)
	}
	if o.MaxAttempts < 1 {
		return fmt.Errorf("--max-attempts %d: must be at least 1", o.MaxAttempts)
	}
	if err := itemcmd.CheckScript(o.Command); err != nil {
		return fmt.Errorf("-- %s: %w", strings.Join(o.Command, " "), err)
	}
	if len(o.Command) > 0 && o.WorkerImage == "" && version.WorkerImage() == "" {
		// Better than a default that names an image nobody ever pushed, which
		// would fail only later, in the pods, with ErrImagePull.
		return fmt.Errorf("-- COMMAND needs --worker-image: this kubectl-workqueue (%s) is a development build, for which no worker image is published; "+
			"pass --worker-image %s:<release tag>, or an image of your own built with build/worker/build-image.sh", version.Version, version.WorkerImageRepo)
	}
	if o.RedisTimeout < 0 {
		return fmt.Errorf("--redis-timeout %s: must be positive (0: the worker's default)", o.RedisTimeout)
	}
	_, err := o.job(-1)
	return err
}

// job builds the Job for pending items (-1: not known): one pod per item
// with --per-item, and as many as --parallelism auto allows.
//
// With -f, the file is the base and only the flags given explicitly
// override it; without, every flag counts with its default.
func (o *RunOptions) job(pending int64) (*batchv1.Job, error) {
	w := &o.workload
	given := func(flag string) bool { return w.base == nil || o.flagsSet(flag) }
	jo := manifest.JobOptions{
		Base: w.base, Container: w.Container, Patches: w.patches, KueueQueue: w.KueueQueue,
		Name: o.Name, Queue: o.Queue, Image: o.Image, Command: o.Command,
		WorkerImage: o.WorkerImage, PerItem: o.PerItem,
		ServiceAccount: o.ServiceAccount, ImagePullSecrets: o.PullSecrets, Restricted: o.Restricted,
		RedisService: o.f.redis.service, ItemTimeout: o.ItemTimeout,
		RedisTimeout: o.RedisTimeout, WaitForSeed: o.AllowEmpty,
	}
	if st := o.queue; st != nil {
		// On the Job, outside Redis: wait tells by them a queue that Redis lost.
		jo.QueueEpoch, jo.QueueSeeded = st.Epoch, st.Seeded
	}
	switch {
	case w.Parallelism.auto && pending >= 0:
		jo.Parallelism = ptr.To(int32(max(1, min(int64(w.MaxParallelism), pending))))
	case w.Parallelism.auto:
		jo.Parallelism = ptr.To(w.MaxParallelism)
	case given("parallelism"):
		jo.Parallelism = ptr.To(w.Parallelism.n)
	}
	if given("restart") {
		jo.RestartPolicy = corev1.RestartPolicy(o.Restart)
	}
	if given("backoff-limit") {
		jo.BackoffLimit = &o.BackoffLimit
	}
	if given("lease") {
		jo.Lease = o.Lease
	}
	if given("max-attempts") {
		jo.MaxAttempts = o.MaxAttempts
	}
	if o.flagsSet("suspend") {
		jo.Suspend = &w.Suspend
	}
	if o.explicitNS || o.DryRun != "client" {
		jo.Namespace = o.namespace
	}
	if o.PerItem {
		c := int32(max(1, min(pending, 1<<30)))
		jo.Completions = &c
	}
	if o.ActiveDeadline > 0 {
		s := int64(o.ActiveDeadline.Seconds())
		jo.ActiveDeadlineSeconds = &s
	}
	if o.TTLAfter > 0 {
		s := int32(o.TTLAfter.Seconds())
		jo.TTLSecondsAfterFinished = &s
	}
	port, err := strconv.ParseInt(o.f.redis.port, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("--redis-port %q: run needs the Service's port number, which the workers connect to", o.f.redis.port)
	}
	jo.RedisPort = int32(port)
	if jo.Resources.Requests, err = parseResources("--requests", o.Requests); err != nil {
		return nil, err
	}
	if jo.Resources.Limits, err = parseResources("--limits", o.Limits); err != nil {
		return nil, err
	}
	for _, e := range o.Env {
		k, v, ok := strings.Cut(e, "=")
		if !ok {
			return nil, fmt.Errorf("--env %q: must be NAME=VALUE", e)
		}
		jo.Env = append(jo.Env, corev1.EnvVar{Name: k, Value: v})
	}
	if jo.Labels, err = parseLabels(o.Labels); err != nil {
		return nil, err
	}
	if err := o.redisOptions(&jo); err != nil {
		return nil, err
	}
	job, err := manifest.Job(jo)
	return job, inFlagTerms(err, w.flagNames())
}

// redisOptions point the workers at the Redis the CLI reaches: the URL
// Secret, or the Service; the password Secret (and its ACL user); the TLS
// Secret, or the CA of an 'init --tls' Redis if there is one. Only Secrets
// reach the pods: files given to the CLI (--redis-ca) and a literal
// --redis-url stay on this machine.
func (o *RunOptions) redisOptions(jo *manifest.JobOptions) error {
	r := &o.f.redis
	var err error
	if jo.PasswordSecret, err = o.passwordSecret(); err != nil {
		return err
	}
	if r.passwordSecret != "" {
		// A basic-auth Secret's user; none in the Secret: the default user.
		jo.UsernameSecret = &corev1.SecretKeySelector{LocalObjectReference: jo.PasswordSecret.LocalObjectReference,
			Key: manifest.UsernameSecretKey, Optional: ptr.To(true)}
	}
	if r.urlSecret != "" {
		ref, err := redisconn.ParseURLSecretRef(r.urlSecret)
		if err != nil {
			return err
		}
		jo.URLSecret = &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: ref.Name}, Key: ref.Key}
	}
	switch {
	case r.tlsSecret != "":
		jo.TLSSecret = r.tlsSecret
	case (r.ca != "" || r.cert != "") && r.urlSecret != "":
		flag, file := "--redis-ca", r.ca
		if file == "" {
			flag, file = "--redis-cert", r.cert
		}
		return fmt.Errorf("%s %s is a file on this machine, which the pods cannot read: put the certificates in a Secret (kubectl create secret generic NAME --from-file=ca.crt=CA.pem [--from-file=tls.crt=CERT.pem --from-file=tls.key=KEY.pem]) and pass --redis-tls-secret NAME", flag, file)
	case r.urlSecret == "" && len(jo.Command) > 0:
		// Our worker reaches init's Redis through its Service: with TLS if
		// init --tls left its CA, which the pods then trust. (The docs'
		// workers speak no TLS.)
		jo.TLSSecret, jo.TLSSecretOptional = manifest.CASecretName(r.service), true
	}
	jo.InsecureSkipTLSVerify = r.insecureSkipVerify
	return nil
}

// loopbackURL reports whether a Redis URL names this machine, which is how
// one reaches the Service's Redis through one's own kubectl port-forward.
func loopbackURL(rawURL string) bool {
	ep, err := redisclient.Parse(rawURL)
	if err != nil || ep.Mode == redisclient.Sentinel {
		return false
	}
	host, _, err := net.SplitHostPort(ep.Options.Addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// checkRedisSecrets makes sure the Secrets that the workers will read
// exist, so that a typo fails here rather than as pods that cannot start.
// checkRedisService refuses to start workers that would find no Redis: the
// Service they reach it through does not exist (no 'init' in the namespace),
// and they would crash-loop. For run --allow-empty, which reads no queue:
// otherwise the port-forward to the Service would have failed already. A
// name with a dot may be another namespace's, workers given a URL need none,
// and a CLI given --redis-url may not be reaching that Service at all;
// anything but "not found" is left to the workers.
func (o *RunOptions) checkRedisService(ctx context.Context) error {
	svc := o.f.redis.service
	if o.f.redis.urlSecret != "" || o.f.redis.url != "" || strings.Contains(svc, ".") {
		return nil
	}
	_, err := o.kube.CoreV1().Services(o.namespace).Get(ctx, svc, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("service %q not found in namespace %q, and the workers reach Redis through it: create it with 'kubectl workqueue init -n %s', or name yours with --redis-service",
			svc, o.namespace, o.namespace)
	}
	return nil
}

func (o *RunOptions) checkRedisSecrets(ctx context.Context) error {
	r := &o.f.redis
	check := func(flag, name, key string) error {
		secret, err := o.kube.CoreV1().Secrets(o.namespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return fmt.Errorf("%s: secret %q not found in namespace %q, and the workers would read it", flag, name, o.namespace)
		case err != nil:
			return fmt.Errorf("%s: reading secret %q: %w", flag, name, err)
		case key != "" && secret.Data[key] == nil:
			return fmt.Errorf("%s: secret %q in namespace %q has no key %q", flag, name, o.namespace, key)
		}
		return nil
	}
	if r.urlSecret != "" {
		ref, err := redisconn.ParseURLSecretRef(r.urlSecret)
		if err != nil {
			return err
		}
		if err := check("--redis-url-secret", ref.Name, ref.Key); err != nil {
			return err
		}
	}
	if r.tlsSecret != "" {
		return check("--redis-tls-secret", r.tlsSecret, "")
	}
	return nil
}

// passwordSecret points the workers at Redis' password. The Secret made by
// init is optional: without it (Redis made with --no-auth, or not by us) the
// variable is simply unset, and the Job can be generated with no cluster.
func (o *RunOptions) passwordSecret() (*corev1.SecretKeySelector, error) {
	ref := redisconn.SecretRef{Name: manifest.PasswordSecretName(o.f.redis.service), Key: manifest.PasswordSecretKey}
	explicit := o.f.redis.passwordSecret != ""
	if explicit {
		var err error
		if ref, err = redisconn.ParseSecretRef(o.f.redis.passwordSecret); err != nil {
			return nil, err
		}
	}
	return &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: ref.Name}, Key: ref.Key, Optional: ptr.To(!explicit)}, nil
}

// Run applies the Job (or prints it) and waits for it.
func (o *RunOptions) Run(ctx context.Context) error {
	if o.DryRun == "client" {
		job, err := o.job(-1)
		if err != nil {
			return err
		}
		if o.PerItem {
			// One pod per pending item: how many, only the queue knows.
			job.Spec.Completions = nil
			fmt.Fprintf(o.ErrOut, "Warning: --per-item: completions (one per pending item) are set from the queue when the Job is created; "+
				"this client dry run reads no queue and leaves them out (--dry-run=server reads it)\n")
		}
		return o.print(job)
	}
	kube, err := o.f.kubeClient()
	if err != nil {
		return err
	}
	o.kube = kube
	if err := o.checkRedisSecrets(ctx); err != nil {
		return err
	}
	if o.f.redis.url != "" && o.f.redis.urlSecret == "" && !loopbackURL(o.f.redis.url) {
		fmt.Fprintf(o.ErrOut, "Warning: --redis-url is how this command reaches Redis; the workers reach it through the Service %s:%s. To give them the same URL, put it in a Secret and pass --redis-url-secret NAME instead.\n",
			o.f.redis.service, o.f.redis.port)
	}

	pending := int64(-1)
	if o.AllowEmpty && !o.PerItem && !o.workload.Parallelism.auto {
		if err := o.checkRedisService(ctx); err != nil {
			return err
		}
	} else {
		st, err := o.queueStats(ctx)
		if err != nil {
			return err
		}
		if err := o.checkWork(st); err != nil {
			return err
		}
		o.queue = st
		// Items whose workers are gone come back to the queue once the
		// new workers reclaim them: they need pods too.
		pending = st.Pending + st.Expired
	}
	job, err := o.job(pending)
	if err != nil {
		return err
	}
	o.capParallelism(job, pending)
	if err := o.checkExisting(ctx, job.Name); err != nil {
		return err
	}
	res, err := applyObject(ctx, kube, o.namespace, job, applyOptions{DryRun: o.DryRun == "server"})
	if err != nil {
		return err
	}
	applied := res.Object.(*batchv1.Job)
	if err := o.print(applied); err != nil {
		return err
	}
	if o.DryRun == "server" || !o.Wait {
		return nil
	}
	w := o.waitOptions
	w.Job, w.namespace, w.kube = applied.Name, o.namespace, kube
	return w.Run(ctx)
}

// checkWork refuses to start workers with nothing to do, unless
// --allow-empty. Items in progress whose workers are gone (expired) are work:
// only workers reclaim them, so the new ones will.
func (o *RunOptions) checkWork(st *queue.Stats) error {
	switch {
	case st.Expired > 0:
		fmt.Fprintf(o.ErrOut, "Queue %q: %s in progress without a live worker; the new workers take them back after the reclaim grace\n",
			o.Queue, plural.Count(int(st.Expired), "item"))
	case st.Pending > 0 || o.AllowEmpty:
	case st.Processing > 0:
		return fmt.Errorf("queue %q has no pending items, and live workers (of another Job?) hold the %s in progress: "+
			"no new workers are needed; to start some anyway, pass --allow-empty", o.Queue, plural.Count(int(st.Processing), "item"))
	default:
		return fmt.Errorf("queue %q has no pending items: seed it first (kubectl workqueue seed %s ITEM...), or pass --allow-empty", o.Queue, o.Queue)
	}
	return nil
}

func (o *RunOptions) queueStats(ctx context.Context) (*queue.Stats, error) {
	conn, err := o.f.connectRedis(ctx, o.IOStreams)
	if err != nil {
		return nil, fmt.Errorf("%w (to start without looking at the queue, pass --allow-empty)", err)
	}
	defer conn.Close()
	q, err := openQueue(conn, o.Queue)
	if err != nil {
		return nil, err
	}
	st, err := q.Stats(ctx)
	if err != nil {
		return nil, explainRedis(conn, err)
	}
	return st, nil
}

// capParallelism starts no more pods than there are pending items, and
// says so.
func (o *RunOptions) capParallelism(job *batchv1.Job, pending int64) {
	if o.workload.Parallelism.auto {
		fmt.Fprintf(o.ErrOut, "parallelism auto: %d pods for %d pending items (--max-parallelism %d)\n",
			ptr.Deref(job.Spec.Parallelism, 1), pending, o.workload.MaxParallelism)
	}
	if was, capped := manifest.CapParallelism(job, pending); capped {
		fmt.Fprintf(o.ErrOut, "parallelism %d lowered to %d: the queue has %d pending items, and a pod without an item would only exit\n",
			was, *job.Spec.Parallelism, pending)
	}
}

// checkExisting refuses to clobber a Job of the same name, unless --replace.
func (o *RunOptions) checkExisting(ctx context.Context, name string) error {
	jobs := o.kube.BatchV1().Jobs(o.namespace)
	old, err := jobs.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("looking for an existing job %q: %w", name, err)
	}
	if !o.Replace {
		state := "is still running"
		if c := finishedCondition(old); c != "" {
			state = "has already finished (" + c + ")"
		}
		return fmt.Errorf("job %q %s in namespace %q: pass --replace to delete and recreate it, or --name to run another", name, state, o.namespace)
	}
	if o.DryRun == "server" {
		return nil
	}
	return jobwatch.Delete(ctx, o.kube, o.namespace, name, 2*time.Minute)
}

func finishedCondition(job *batchv1.Job) string {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return string(c.Type)
		}
	}
	return ""
}

func (o *RunOptions) print(job *batchv1.Job) error {
	if o.DryRun != "none" {
		o.PrintFlags.Complete("%s" + dryRunNote(o.DryRun))
	}
	p, err := o.PrintFlags.ToPrinter()
	if err != nil {
		return err
	}
	return p.PrintObj(job, o.Out)
}

func parseResources(flag, s string) (corev1.ResourceList, error) {
	if s == "" {
		return nil, nil
	}
	out := corev1.ResourceList{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("%s %q: want NAME=QUANTITY[,NAME=QUANTITY], e.g. cpu=100m,memory=128Mi", flag, s)
		}
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return nil, fmt.Errorf("%s %s=%s: %v", flag, k, v, err)
		}
		if _, dup := out[corev1.ResourceName(k)]; dup {
			return nil, fmt.Errorf("%s %q: %s is given more than once", flag, s, k)
		}
		out[corev1.ResourceName(k)] = q
	}
	return out, nil
}

func parseLabels(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--labels %q: want KEY=VALUE[,KEY=VALUE]", s)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("--labels %q: %s is given more than once", s, k)
		}
		out[k] = v
	}
	return out, nil
}

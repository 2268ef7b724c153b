package cmd

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes"
	kubescheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/certgen"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/deploywatch"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redisconn"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/workerenv"
)

const initExample = `  # Redis with a generated password, its data on a 1Gi volume of the default StorageClass
  kubectl workqueue init

  # More room: a 5Gi volume of class fast-ssd, and 2Gi of memory for Redis
  kubectl workqueue init --storage 5Gi --storage-class fast-ssd --memory 2Gi

  # Data in an emptyDir, lost with the pod (for throw-away queues)
  kubectl workqueue init --ephemeral

  # Encrypt every connection: TLS only, with a CA made for this Redis
  kubectl workqueue init --tls

  # Print the manifests, contacting no cluster (e.g. for GitOps)
  kubectl workqueue init --dry-run=client -o yaml`

// InitOptions are the options of `kubectl workqueue init`.
type InitOptions struct {
	f *factory
	genericiooptions.IOStreams
	PrintFlags *genericclioptions.PrintFlags

	Image          string
	NoAuth         bool
	TLS            bool
	Storage        string
	StorageClass   string
	Ephemeral      bool
	Memory         string
	Appendfsync    string
	Recreate       bool
	DryRun         string
	Timeout        time.Duration
	Wait           bool
	ForceConflicts bool

	// Resolved by Complete.
	namespace  string
	explicitNS bool // -n given (or set in the kubeconfig's context)
	service    string
	kube       kubernetes.Interface
	// appendfsyncSet: --appendfsync was given; otherwise a rerun keeps the
	// running Redis' policy, so that "always" is never dropped unasked.
	appendfsyncSet bool
	// Resolved by Run: Redis' certificate with --tls.
	cert *manifest.RedisTLS
}

// NewCmdInit builds `kubectl workqueue init`.
func NewCmdInit(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &InitOptions{
		f: f, IOStreams: streams,
		PrintFlags: &genericclioptions.PrintFlags{
			OutputFormat:       new(string),
			JSONYamlPrintFlags: genericclioptions.NewJSONYamlPrintFlags(),
			NamePrintFlags:     genericclioptions.NewNamePrintFlags(""),
			TypeSetterPrinter:  printers.NewTypeSetter(kubescheme.Scheme),
		},
		Image:   manifest.DefaultRedisImage,
		DryRun:  "none",
		Timeout: 2 * time.Minute,
		Wait:    true,
	}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Deploy the queue's Redis into the namespace",
		Long: `Deploy the Redis that holds the queues: a Deployment of one pod and a Service
named by --redis-service, applied server-side, then wait until Redis is ready.

By default Redis requires a password, generated at random into the Secret
<service>-auth, where every other command and the workers of 'run' find it.
Running init again keeps that password, changes nothing that has not changed,
and says so for each object. --no-auth runs Redis without a password.

--tls encrypts every connection: init makes a CA and a certificate for the
Service's names (<service>, <service>.<namespace>.svc, ...), keeps them in the
Secret <service>-tls (which only Redis mounts) and the CA's certificate in
<service>-ca, where seed, status, wait and the workers of 'run' find it. Redis
then takes TLS only. Running init again keeps the certificate; to renew it,
delete both Secrets and run init --tls again.

Redis appends every write to a file (appendonly, flushed every second, or
before each write is answered with --appendfsync always), on a
PersistentVolumeClaim (--storage, 1Gi by default) of the cluster's default
StorageClass or of --storage-class, so that the queues survive the pod being
deleted, evicted or moved. Without a default StorageClass, or with
--ephemeral, the file is in an emptyDir: it survives Redis restarting in its
pod, not the pod itself. Running init again keeps the storage and the
appendfsync policy Redis has (only a flag changes them), and refuses to
replace a pod whose data is in an emptyDir (new settings, image or storage)
unless --recreate.

Redis may use --memory (512Mi by default) and stops taking new items at 80%
of it (maxmemory, noeviction) rather than be killed for memory or evict
items. The password is read from a file of the Secret, not from the command
line. The pod passes the "restricted" Pod Security Standard.

--dry-run=client prints what would be applied without contacting the cluster
(its Secret holds a new random password each time); --dry-run=server has the
API server validate and admit the objects without saving them.`,
		Example: initExample,
		Args:    cobra.NoArgs,
		RunE:    runOptions(o),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Image, "image", o.Image, "Redis image")
	fl.BoolVar(&o.NoAuth, "no-auth", false, "run Redis without a password (anyone who reaches the Service can use it)")
	fl.BoolVar(&o.TLS, "tls", false, "run Redis with TLS only, with a certificate from a CA made for it (Secrets <service>-tls and <service>-ca), which the other commands and run's workers trust by themselves")
	fl.StringVar(&o.Storage, "storage", "", "size of the PersistentVolumeClaim that keeps Redis' data (default "+defaultStorage+", or the existing claim's size)")
	fl.StringVar(&o.StorageClass, "storage-class", "", "storage class of the claim (default: the cluster's default class)")
	fl.BoolVar(&o.Ephemeral, "ephemeral", false, "keep Redis' data in an emptyDir, lost with the pod, instead of a claim")
	fl.StringVar(&o.Memory, "memory", manifest.DefaultRedisMemory, "memory limit of Redis' container; Redis takes new items up to 80% of it")
	fl.StringVar(&o.Appendfsync, "appendfsync", manifest.FsyncEverySec, `when Redis flushes its file to disk: "everysec" (a node crash loses up to a second of writes) or "always" (before answering each write: nothing lost, each write waits for the disk); a rerun without it keeps the running Redis' policy`)
	fl.BoolVar(&o.Recreate, "recreate", false, "let init replace a Redis pod whose data is in an emptyDir (the queues it holds are lost)")
	fl.StringVar(&o.DryRun, "dry-run", o.DryRun, `"none", "client" (print the objects, contact nothing) or "server" (have the API server validate them, save nothing)`)
	fl.Lookup("dry-run").NoOptDefVal = "client"
	fl.DurationVar(&o.Timeout, "timeout", o.Timeout, "how long to wait for Redis to be ready")
	fl.BoolVar(&o.Wait, "wait", o.Wait, "wait until Redis is ready")
	fl.BoolVar(&o.ForceConflicts, "force-conflicts", false, "take back fields of the objects that someone else changed since (kubectl scale, set image, edit...)")
	o.PrintFlags.AddFlags(cmd)
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletions(o.PrintFlags.AllowedFormats()...))
	_ = cmd.RegisterFlagCompletionFunc("dry-run", fixedCompletions("none", "client", "server"))
	_ = cmd.RegisterFlagCompletionFunc("appendfsync", fixedCompletions(manifest.FsyncEverySec, manifest.FsyncAlways))
	return cmd
}

// Complete resolves the namespace, the Service name and, unless
// --dry-run=client, the Kubernetes client.
func (o *InitOptions) Complete(cmd *cobra.Command, args []string) error {
	ns, explicit, err := o.f.configFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return fmt.Errorf("reading the namespace from kubeconfig: %w", err)
	}
	o.namespace, o.explicitNS, o.service = ns, explicit, o.f.redis.service
	o.appendfsyncSet = cmd.Flags().Changed("appendfsync")
	if o.DryRun == "client" {
		return nil // --dry-run=client never talks to the cluster
	}
	o.kube, err = o.f.kubeClient()
	return err
}

// Validate checks the flags before anything is applied.
func (o *InitOptions) Validate() error {
	switch o.DryRun {
	case "none", "client", "server":
	default:
		return fmt.Errorf(`--dry-run %q: must be "none", "client" or "server"`, o.DryRun)
	}
	if _, err := o.PrintFlags.ToPrinter(); err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	if o.Wait && o.DryRun == "none" && o.Timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be greater than zero (or pass --wait=false)", o.Timeout)
	}
	if s := o.f.redis.passwordSecret; s != "" {
		ref, err := redisconn.ParseSecretRef(s)
		if err != nil {
			return err
		}
		if ref.Name != manifest.PasswordSecretName(o.service) {
			return fmt.Errorf("--redis-password-secret %q: init keeps the password in the Secret %s, which the other commands find by themselves; drop the flag",
				s, manifest.PasswordSecretName(o.service))
		}
	}
	if o.Ephemeral && (o.Storage != "" || o.StorageClass != "") {
		return errors.New("--ephemeral keeps Redis' data in an emptyDir, --storage and --storage-class on a claim: choose one")
	}
	// The generators check the rest (--storage, --storage-class, --memory, the names).
	_, err := manifest.Redis(o.redisOptions("validate", o.flagStorage()))
	return inFlagTerms(err, redisOptionFlags)
}

// flagStorage is the storage the flags ask for, for a Redis that does not
// exist yet, in a cluster that can provision claims.
func (o *InitOptions) flagStorage() storagePlan {
	if o.Ephemeral {
		return storagePlan{}
	}
	return storagePlan{size: o.sizeOr(defaultStorage), class: o.StorageClass}
}

func (o *InitOptions) redisOptions(password string, storage storagePlan) manifest.RedisOptions {
	ro := manifest.RedisOptions{
		Name:         o.service,
		Image:        o.Image,
		Password:     password,
		Storage:      storage.size,
		StorageClass: storage.class,
		Memory:       o.Memory,
		TLS:          o.cert,
		Appendfsync:  o.Appendfsync,
	}
	if o.explicitNS {
		// As kubectl create: the manifests name a namespace only when asked to.
		ro.Namespace = o.namespace
	}
	if o.NoAuth {
		ro.Password = ""
	}
	return ro
}

// Run applies the objects, prints what changed and waits for Redis.
func (o *InitOptions) Run(ctx context.Context) error {
	if o.DryRun == "client" {
		password, err := newRedisPassword()
		if err != nil {
			return err
		}
		if o.TLS {
			if o.cert, err = newRedisCert(o.service, o.namespace); err != nil {
				return err
			}
		}
		objs, err := manifest.Redis(o.redisOptions(password, o.flagStorage()))
		if err != nil {
			return err
		}
		return o.print(opCreated, objs.Objects())
	}

	password, err := o.password(ctx)
	if err != nil {
		return err
	}
	if o.cert, err = o.certificate(ctx); err != nil {
		return err
	}
	existing, err := o.existingRedis(ctx)
	if err != nil {
		return err
	}
	storage, err := o.planStorage(ctx, existing)
	if err != nil {
		return err
	}
	if p := appendfsyncOf(existing); p != "" && !o.appendfsyncSet {
		o.Appendfsync = p
	}
	objs, err := manifest.Redis(o.redisOptions(password, storage))
	if err != nil {
		return err
	}
	replaced := existing != nil && existing.Annotations[manifest.AnnotationPodTemplateHash] != objs.Deployment.Annotations[manifest.AnnotationPodTemplateHash]
	emptyDirLost := replaced && dataVolume(existing) == ""
	if emptyDirLost && !o.Recreate && o.DryRun == "none" {
		return errors.New("init would replace the Redis pod (its settings, image or storage change), and its data is in an emptyDir: " +
			"the queues it holds would be lost. Let them finish first (kubectl workqueue status QUEUE), then pass --recreate")
	}
	for _, n := range storage.notes {
		fmt.Fprintln(o.ErrOut, n)
	}
	deploy, err := o.apply(ctx, objs)
	if err != nil || o.DryRun == "server" {
		return err
	}
	if emptyDirLost && deploy.Op == opConfigured {
		fmt.Fprintln(o.ErrOut, "Warning: the Redis pod is being replaced (--recreate); its data was in an emptyDir, so the queues it held are lost")
	}
	return o.wait(ctx, deploy.Object.(*appsv1.Deployment))
}

// appendfsyncOf is the --appendfsync of the Redis that d runs, or "" for
// none (or no d).
func appendfsyncOf(d *appsv1.Deployment) string {
	if d == nil {
		return ""
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		if i := slices.Index(c.Args, "--appendfsync"); i >= 0 && i+1 < len(c.Args) {
			return c.Args[i+1]
		}
	}
	return ""
}

// existingRedis is the Redis Deployment of an earlier init, or nil.
func (o *InitOptions) existingRedis(ctx context.Context) (*appsv1.Deployment, error) {
	d, err := o.kube.AppsV1().Deployments(o.namespace).Get(ctx, o.service, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading deployment/%s: %w", o.service, err)
	}
	return d, nil
}

// apply applies objs in order, printing each outcome (or, with -o json|yaml,
// the objects), and returns the Deployment's outcome.
func (o *InitOptions) apply(ctx context.Context, objs *manifest.RedisObjects) (applied, error) {
	var results []applied
	var deploy applied
	for _, obj := range objs.Objects() {
		res, err := applyObject(ctx, o.kube, o.namespace, obj, applyOptions{DryRun: o.DryRun == "server", Force: o.ForceConflicts})
		if err != nil {
			_ = o.printResults(results)
			if apierrors.IsConflict(err) {
				err = fmt.Errorf("%w\nSomeone changed these fields since the last init; rerun with --force-conflicts to set them back", err)
			}
			return applied{}, err
		}
		results = append(results, res)
		if _, ok := res.Object.(*appsv1.Deployment); ok {
			deploy = res
		}
		if !o.structuredOutput() {
			if err := o.print(res.Op, []runtime.Object{res.Object}); err != nil {
				return applied{}, err
			}
		}
	}
	return deploy, o.printResults(results)
}

// wait waits for Redis unless --wait=false, then says how to use it.
func (o *InitOptions) wait(ctx context.Context, d *appsv1.Deployment) error {
	msg := o.messages()
	if !o.Wait {
		fmt.Fprintf(msg, "Redis is starting; follow it with: kubectl rollout status deployment/%s -n %s\n", o.service, o.namespace)
		return nil
	}
	pod, err := deploywatch.WaitReady(ctx, o.kube, deploywatch.Options{
		Namespace: o.namespace, Deployment: d, Timeout: o.Timeout,
		NotReadyYet: func() {
			fmt.Fprintf(o.ErrOut, "Waiting for deployment/%s in namespace %s to be ready (timeout %s)...\n", o.service, o.namespace, o.Timeout)
		},
	})
	if err != nil && ctx.Err() != nil {
		fmt.Fprintf(o.ErrOut, "Stopped waiting; Redis keeps starting: kubectl rollout status deployment/%s -n %s\n", o.service, o.namespace)
		return ErrInterrupted
	}
	if err != nil {
		return o.notReady(err)
	}
	fmt.Fprintf(msg, "Redis is ready (pod %s). Fill a queue and run workers that drain it:\n", pod)
	flags := ""
	if o.explicitNS {
		flags += " -n " + o.namespace
	}
	if o.service != manifest.DefaultRedisName {
		flags += " --redis-service " + o.service
	}
	fmt.Fprintf(msg, "  kubectl workqueue seed%s QUEUE ITEM...\n", flags)
	fmt.Fprintf(msg, "  kubectl workqueue run%s QUEUE --image IMAGE\n", flags)
	return nil
}

// notReady words why Redis is not ready, with the command that shows more.
func (o *InitOptions) notReady(err error) error {
	var cannot *deploywatch.CannotStartError
	var timeout *deploywatch.TimeoutError
	switch {
	case errors.As(err, &cannot):
		return fmt.Errorf("Redis cannot start: pod %s: %s\nKubernetes keeps retrying; see: %s",
			cannot.Pod, cannot.Problem, lookCloser(o.namespace, cannot.Pod, cannot.Problem))
	case errors.As(err, &timeout) && timeout.Pod != "":
		return fmt.Errorf("%w\nSee: %s", err, lookCloser(o.namespace, timeout.Pod, timeout.Problem))
	case errors.As(err, &timeout):
		return fmt.Errorf("%w\nSee: kubectl describe deployment %s -n %s", err, timeout.Deployment, o.namespace)
	}
	return err
}

// password is the one in the existing Secret, so that running init again
// never locks out the workers and commands using it; a new random one when
// there is none. With --no-auth, an existing Secret is refused: deleting it
// behind the users' backs would break them as surely as rotating it.
func (o *InitOptions) password(ctx context.Context) (string, error) {
	name := manifest.PasswordSecretName(o.service)
	secret, err := o.kube.CoreV1().Secrets(o.namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if o.NoAuth {
			return "", nil
		}
		return newRedisPassword()
	case err != nil:
		return "", fmt.Errorf("looking for the Redis password in secret %s: %w", name, err)
	case o.NoAuth:
		return "", fmt.Errorf("--no-auth: secret/%s exists in namespace %s, so this Redis requires a password that workers and commands use; "+
			"drop --no-auth to keep it, or delete it first (kubectl delete secret %s -n %s) to run Redis without one",
			name, o.namespace, name, o.namespace)
	}
	if p := string(secret.Data[manifest.PasswordSecretKey]); p != "" {
		return p, nil
	}
	return newRedisPassword() // a Secret of that name without our key: add it
}

// structuredOutput is true for -o json|yaml, whose output must parse.
func (o *InitOptions) structuredOutput() bool {
	f := *o.PrintFlags.OutputFormat
	return f != "" && f != "name"
}

// messages is where the words for people go: stdout, unless it carries -o output.
func (o *InitOptions) messages() io.Writer {
	if *o.PrintFlags.OutputFormat != "" {
		return o.ErrOut
	}
	return o.Out
}

func (o *InitOptions) printResults(results []applied) error {
	if !o.structuredOutput() || len(results) == 0 {
		return nil
	}
	objs := make([]runtime.Object, len(results))
	for i, r := range results {
		objs[i] = r.Object
	}
	return o.print(opCreated, objs)
}

// print prints objs as -o asks: by default "kind/name operation" per object,
// as kubectl does; -o yaml a stream of documents, which kubectl apply -f and
// GitOps tools read; -o json a v1 List, so that the output is one document.
func (o *InitOptions) print(op applyOp, objs []runtime.Object) error {
	pf := *o.PrintFlags
	pf.NamePrintFlags = genericclioptions.NewNamePrintFlags(string(op))
	if o.DryRun != "none" {
		_ = pf.Complete("%s" + dryRunNote(o.DryRun))
	}
	p, err := pf.ToPrinter()
	if err != nil {
		return err
	}
	if *pf.OutputFormat == "json" && len(objs) > 1 {
		list := &corev1.List{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "List"}}
		for _, obj := range objs {
			list.Items = append(list.Items, runtime.RawExtension{Object: obj})
		}
		return p.PrintObj(list, o.Out)
	}
	for _, obj := range objs {
		if err := p.PrintObj(obj, o.Out); err != nil {
			return err
		}
	}
	return nil
}

// newRedisPassword returns 32 random letters and digits (190 bits).
// certificate is Redis' certificate for --tls: the one init made before
// (kept in its Secret, so that clients keep trusting it), or a new one.
// Without --tls, an existing certificate is an error: commands and workers
// use TLS once it exists.
func (o *InitOptions) certificate(ctx context.Context) (*manifest.RedisTLS, error) {
	name := manifest.TLSSecretName(o.service)
	secret, err := o.kube.CoreV1().Secrets(o.namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if !o.TLS {
			return nil, nil
		}
		return newRedisCert(o.service, o.namespace)
	case err != nil:
		return nil, fmt.Errorf("looking for Redis' certificate in secret %s: %w", name, err)
	case !o.TLS:
		ca := manifest.CASecretName(o.service)
		return nil, fmt.Errorf("secret/%s exists in namespace %s, so this Redis speaks TLS, which the commands and workers use: "+
			"pass --tls to keep it, or delete it and secret/%s first (kubectl delete secret %s %s -n %s) to run Redis without TLS",
			name, o.namespace, ca, name, ca, o.namespace)
	}
	cert := &manifest.RedisTLS{
		CACert: secret.Data[workerenv.TLSCAFile],
		Cert:   secret.Data[workerenv.TLSCertFile],
		Key:    secret.Data[workerenv.TLSKeyFile],
	}
	if len(cert.CACert) == 0 || len(cert.Cert) == 0 || len(cert.Key) == 0 {
		return newRedisCert(o.service, o.namespace) // a Secret of that name without our keys: fill it
	}
	return cert, nil
}

// redisCertValidity is how long init's CA and certificate last. The CA's key
// is thrown away once the certificate is signed, so a long life costs no
// exposure; renewing is deleting the Secrets and running init --tls again.
const redisCertValidity = 10 * 365 * 24 * time.Hour

// newRedisCert makes a CA and a certificate for the names by which pods
// reach the Service.
func newRedisCert(service, namespace string) (*manifest.RedisTLS, error) {
	ca, err := certgen.NewCA(fmt.Sprintf("kubectl-workqueue Redis CA %s/%s", namespace, service), redisCertValidity)
	if err != nil {
		return nil, err
	}
	pair, err := ca.Server(redisCertValidity, service, service+"."+namespace, service+"."+namespace+".svc", service+"."+namespace+".svc.cluster.local")
	if err != nil {
		return nil, err
	}
	return &manifest.RedisTLS{CACert: ca.CertPEM, Cert: pair.CertPEM, Key: pair.KeyPEM}, nil
}

func newRedisPassword() (string, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	const n = 32
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("generating the Redis password: %w", err)
		}
		for _, b := range buf {
			// 248 = 4*62: rejecting the rest keeps every character equally likely.
			if b < 248 && len(out) < n {
				out = append(out, alphabet[b%62])
			}
		}
	}
	return string(out), nil
}

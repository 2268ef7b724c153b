package manifest

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/objpatch"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/workerenv"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
)

const (
	// WorkerContainer is the name of the Job's main container.
	WorkerContainer = "worker"
	// InstallWorkerContainer is the init container that copies the worker binary
	// into WorkerBinDir when the user gives a command.
	InstallWorkerContainer = "install-worker"
	// WorkerTLSVolume is the TLS Secret of Redis (JobOptions.TLSSecret),
	// mounted in the worker container at WorkerTLSDir.
	WorkerTLSVolume = "workqueue-redis-tls"
	WorkerTLSDir    = "/etc/workqueue/redis-tls"
	// WorkerBinVolume is the emptyDir shared by the two.
	WorkerBinVolume = "workqueue-bin"
	// WorkerBinDir is where WorkerBinVolume is mounted.
	WorkerBinDir = "/workqueue/bin"
	// WorkerImageBinary is the worker binary inside the worker image; run with
	// "--install DIR" it copies itself to DIR/workqueue-worker.
	WorkerImageBinary = "/workqueue-worker"
	// WorkerInstalledBinary is the worker binary as the main container runs it.
	WorkerInstalledBinary = WorkerBinDir + "/workqueue-worker"
	// WorkerUID is the non-root uid of the worker image.
	WorkerUID = 65532

	// DefaultRedisService and DefaultRedisPort are where workers find Redis.
	DefaultRedisService = DefaultRedisName
	DefaultRedisPort    = RedisPort

	// EnvPrefix is reserved for the variables in pkg/workerenv: Job rejects user
	// variables that start with it.
	EnvPrefix = "WORKQUEUE_"
)

// JobOptions describe the Job of 'kubectl workqueue run'.
//
// Without Base, the Job is built from the options alone. With Base (the
// user's own Job manifest), the Job is Base with the queue's additions; an
// option that is set (non-zero, non-nil) overrides Base's field, and an unset
// one keeps it.
type JobOptions struct {
	// Base is the user's Job to build on; nil builds one from the options.
	Base *UserJob
	// Name of the Job; default Base's name, else JobName(Queue).
	Name string
	// Namespace of the Job; "" leaves it unset.
	Namespace string
	// Queue is the exact queue name (required).
	Queue string
	// Container names the worker container: the one that gets the queue's
	// environment, Image, Command, Resources and Env. Without Base it is the
	// name of the one container (default WorkerContainer); with Base it picks
	// one of its containers, and may be empty when Base has only one.
	Container string
	// Image of the worker container; required unless Base's container has one.
	Image string
	// Command is the user's command after "--". Empty runs the image's own
	// entrypoint, which then talks to the queue itself (the docs' case); set, the
	// worker binary is injected and runs Command once per item.
	Command []string
	// WorkerImage holds /workqueue-worker; required when Command is set, unused otherwise.
	WorkerImage string
	// Parallelism is the number of pods running at once (at least 1); nil
	// keeps Base's, or 1.
	Parallelism *int32
	// Completions is unset by default: the Job is done when a pod exits 0 and
	// the others have finished (the docs' work-queue semantics).
	Completions *int32
	// PerItem gives each item a pod of its own: a pod exits once one item
	// has left the queue (WORKQUEUE_MAX_ITEMS=1: done, or dead-lettered; an
	// item that failed and went back to the queue does not count, so its pod
	// takes the next one). The caller sets Completions to the number of
	// pending items.
	PerItem bool
	// RestartPolicy is Never (default) or OnFailure. With Never, the Job gets
	// DefaultPodFailurePolicy unless Base has a podFailurePolicy of its own.
	RestartPolicy corev1.RestartPolicy
	// BackoffLimit, ActiveDeadlineSeconds and TTLSecondsAfterFinished are the
	// Job's fields of those names; nil leaves them to Base or the API server.
	BackoffLimit            *int32
	ActiveDeadlineSeconds   *int64
	TTLSecondsAfterFinished *int32
	// Suspend creates the Job suspended (spec.suspend); nil keeps Base's,
	// or suspends when KueueQueue is set.
	Suspend *bool
	// KueueQueue is the Kueue LocalQueue that admits the Job (LabelKueueQueue).
	KueueQueue string
	// Resources of the worker container, added to Base's.
	Resources corev1.ResourceRequirements
	// Env is added to the worker container after the worker variables, so it may
	// refer to them as $(WORKQUEUE_QUEUE). Names starting with EnvPrefix are rejected.
	Env []corev1.EnvVar
	// ServiceAccount of the pods; "" is Base's or the namespace's default.
	// Without one the pods get no API token (automountServiceAccountToken:
	// false): workers talk to Redis, not to the API server.
	ServiceAccount string
	// ImagePullSecrets are Secret names.
	ImagePullSecrets []string
	// Labels are added to the Job and its pods.
	Labels map[string]string
	// Restricted makes the pods pass the "restricted" Pod Security Standard
	// (the image must then run as a numeric non-root user).
	Restricted bool
	// RedisService and RedisPort are where workers reach Redis; default
	// DefaultRedisService and DefaultRedisPort.
	RedisService string
	RedisPort    int32
	// PasswordSecret holds Redis' password; nil means Redis has no password.
	PasswordSecret *corev1.SecretKeySelector
	// UsernameSecret holds the ACL user of that password; nil: the default user.
	UsernameSecret *corev1.SecretKeySelector
	// URLSecret holds Redis' URL (password included, if any); the workers then
	// use it, not RedisService and RedisPort.
	URLSecret *corev1.SecretKeySelector
	// TLSSecret is mounted read-only at WorkerTLSDir in the worker container:
	// ca.crt (the CA to trust) and, for mutual TLS, tls.crt and tls.key.
	// TLSSecretOptional lets the pods start without it (the CA that only an
	// 'init --tls' Redis has).
	TLSSecret         string
	TLSSecretOptional bool
	// InsecureSkipTLSVerify makes the workers accept any certificate from Redis.
	InsecureSkipTLSVerify bool
	// Lease is how long a worker holds an item; 0 leaves it to the worker.
	Lease time.Duration
	// MaxAttempts is how often an item may fail; 0 leaves it to the worker.
	MaxAttempts int
	// RedisTimeout is how long workers retry while Redis is unreachable; 0
	// leaves it to the worker.
	RedisTimeout time.Duration
	// WaitForSeed makes workers wait for a queue that was never seeded
	// rather than fail (run --allow-empty).
	WaitForSeed bool
	// QueueEpoch and QueueSeeded are the queue's identity and seeded count
	// when the Job is made (queue.Stats), recorded as annotations; "" and 0
	// when unknown.
	QueueEpoch  string
	QueueSeeded int64
	// Patches apply in order to the Job built from everything above. A patch
	// may change anything but what the workers need (see Job).
	Patches []objpatch.Patch
	// ItemTimeout bounds one run of Command on an item; 0: no limit. Only
	// with Command: the image's own program decides for itself.
	ItemTimeout time.Duration
}

// reservedEnv maps each worker variable to the options that set it, for
// error messages.
var reservedEnv = map[string][]string{
	workerenv.Queue:         {"queue"},
	workerenv.RedisAddr:     {"redisService", "redisPort"},
	workerenv.RedisPassword: {"passwordSecret"},
	workerenv.RedisUsername: {"usernameSecret"},
	workerenv.RedisURL:      {"urlSecret"},
	workerenv.RedisTLSDir:   {"tlsSecret"},
	workerenv.RedisCA:       {"tlsSecret"},
	workerenv.RedisCert:     {"tlsSecret"},
	workerenv.RedisKey:      {"tlsSecret"},

	workerenv.RedisInsecureSkipTLSVerify: {"insecureSkipTLSVerify"},
	workerenv.Lease:                      {"lease"},
	workerenv.MaxAttempts:                {"maxAttempts"},
	workerenv.MaxItems:                   {"perItem"},
	workerenv.RedisTimeout:               {"redisTimeout"},
	workerenv.WaitForSeed:                {"waitForSeed"},
	workerenv.Item:                       nil, // the worker, per item
	workerenv.ItemTimeout:                {"itemTimeout"},
}

// reservedPodLabels are set by the plugin or the Job controller.
var reservedPodLabels = []string{
	LabelManagedBy, LabelQueue,
	batchv1.JobNameLabel, batchv1.ControllerUidLabel, "job-name", "controller-uid",
}

// DefaultPodFailurePolicy keeps pod disruptions (eviction, preemption, a
// node drained: the DisruptionTarget condition) from counting against the
// Job's backoffLimit: the disrupted pod's item goes back to the queue, and
// the Job replaces the pod. Kubernetes allows a podFailurePolicy only with
// restartPolicy Never.
func DefaultPodFailurePolicy() *batchv1.PodFailurePolicy {
	return &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
		Action: batchv1.PodFailurePolicyActionIgnore,
		OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{
			Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
		}},
	}}}
}

// WorkerExitQueueLost is workqueue-worker's exit status when its queue is
// not in Redis: it vanished (Redis restarted without its data) or was never
// seeded.
const WorkerExitQueueLost = 4

// queueLostRule fails the Job at once when the injected worker in container
// exits WorkerExitQueueLost: its items are gone, and pods started in its
// place would find nothing but a missing queue.
func queueLostRule(container string) batchv1.PodFailurePolicyRule {
	return batchv1.PodFailurePolicyRule{
		Action: batchv1.PodFailurePolicyActionFailJob,
		OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
			ContainerName: ptr.To(container),
			Operator:      batchv1.PodFailurePolicyOnExitCodesOpIn,
			Values:        []int32{WorkerExitQueueLost},
		},
	}
}

// Job returns the Job whose pods work through o.Queue. Invalid options are
// FieldErrors; problems of Base or of a patch are *objpatch.Errors naming
// their Source. o is not modified, and the Job shares no memory with it.
//
// Each patch applies to the result of the previous one, and must keep what
// the workers need: the worker container, its WORKQUEUE_* variables, the
// injected worker's command, volumes and init container, the labels and
// annotation that tie the Job to its queue, the namespace and completions.
func Job(o JobOptions) (*batchv1.Job, error) {
	if o.RedisService == "" {
		o.RedisService = DefaultRedisService
	}
	if o.RedisPort == 0 {
		o.RedisPort = DefaultRedisPort
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	job, worker, err := o.build()
	if err != nil {
		return nil, err
	}
	return o.patch(job, worker)
}

// build returns Base, or a Job of one container, with the options applied,
// and the name of the worker container.
func (o *JobOptions) build() (*batchv1.Job, string, error) {
	job, err := o.start()
	if err != nil {
		return nil, "", err
	}
	var fe fieldErrors
	ci := o.workerIndex(job, &fe)
	if err := fe.err(); err != nil {
		return nil, "", err
	}
	job.TypeMeta = metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}
	if o.Name != "" {
		job.Name = o.Name
	} else if job.Name == "" {
		job.Name = JobName(o.Queue)
	}
	if o.Namespace != "" {
		job.Namespace = o.Namespace
	}
	ours := map[string]string{LabelManagedBy: ManagedByValue, LabelQueue: QueueLabelValue(o.Queue)}
	job.Labels = mergeLabels(ours, mergeLabels(o.Labels, job.Labels))
	if o.KueueQueue != "" {
		job.Labels[LabelKueueQueue] = o.KueueQueue
	}
	if job.Annotations == nil {
		job.Annotations = map[string]string{}
	}
	job.Annotations[AnnotationQueue] = o.Queue
	if o.QueueEpoch != "" {
		job.Annotations[AnnotationQueueEpoch] = o.QueueEpoch
		job.Annotations[AnnotationQueueSeeded] = strconv.FormatInt(o.QueueSeeded, 10)
	}

	spec := &job.Spec
	spec.Template.Labels = mergeLabels(ours, mergeLabels(o.Labels, spec.Template.Labels))
	switch {
	case o.Parallelism != nil:
		spec.Parallelism = copyPtr(o.Parallelism)
	case spec.Parallelism == nil:
		spec.Parallelism = ptr.To[int32](1)
	}
	if o.Completions != nil {
		spec.Completions = copyPtr(o.Completions)
	}
	setIf(&spec.BackoffLimit, o.BackoffLimit)
	setIf(&spec.ActiveDeadlineSeconds, o.ActiveDeadlineSeconds)
	setIf(&spec.TTLSecondsAfterFinished, o.TTLSecondsAfterFinished)
	switch {
	case o.Suspend != nil:
		spec.Suspend = copyPtr(o.Suspend)
	case o.KueueQueue != "":
		// Kueue's webhook suspends a Job with its label on creation too; a
		// Job created suspended cannot start pods before Kueue admits it.
		spec.Suspend = ptr.To(true)
	}

	pod := &spec.Template.Spec
	if o.RestartPolicy != "" {
		pod.RestartPolicy = o.RestartPolicy
	} else if pod.RestartPolicy == "" {
		pod.RestartPolicy = corev1.RestartPolicyNever
	}
	if o.ServiceAccount != "" {
		pod.ServiceAccountName = o.ServiceAccount
	}
	if pod.ServiceAccountName == "" && pod.DeprecatedServiceAccount == "" && pod.AutomountServiceAccountToken == nil {
		pod.AutomountServiceAccountToken = ptr.To(false)
	}
	for _, s := range o.ImagePullSecrets {
		if !slices.Contains(pod.ImagePullSecrets, corev1.LocalObjectReference{Name: s}) {
			pod.ImagePullSecrets = append(pod.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
		}
	}
	c := &pod.Containers[ci]
	if spec.PodFailurePolicy == nil && pod.RestartPolicy == corev1.RestartPolicyNever {
		spec.PodFailurePolicy = DefaultPodFailurePolicy()
		if len(o.Command) > 0 {
			spec.PodFailurePolicy.Rules = append(spec.PodFailurePolicy.Rules, queueLostRule(c.Name))
		}
	}

	if o.Image != "" {
		c.Image = o.Image
	}
	if strings.TrimSpace(c.Image) == "" {
		fe.add("image", nil, "is required")
		return nil, "", fe.err()
	}
	c.Env = mergeEnv(o.workerEnv(), c.Env, deepCopyEnv(o.Env))
	for name, q := range o.Resources.Requests {
		if c.Resources.Requests == nil {
			c.Resources.Requests = corev1.ResourceList{}
		}
		c.Resources.Requests[name] = q.DeepCopy()
	}
	for name, q := range o.Resources.Limits {
		if c.Resources.Limits == nil {
			c.Resources.Limits = corev1.ResourceList{}
		}
		c.Resources.Limits[name] = q.DeepCopy()
	}
	o.mountTLS(pod, ci)
	if o.Restricted {
		restrict(pod)
	}
	if len(o.Command) > 0 {
		injectWorker(pod, ci, o.WorkerImage, o.Command)
	}
	return job, c.Name, nil
}

// start is the Job that build fills in: a copy of Base, checked, or a Job of
// one container.
func (o *JobOptions) start() (*batchv1.Job, error) {
	if o.Base == nil {
		name := o.Container
		if name == "" {
			name = WorkerContainer
		}
		return &batchv1.Job{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:            name,
				ImagePullPolicy: corev1.PullIfNotPresent,
				SecurityContext: restrictedContainerContext(),
			}},
		}}}}, nil
	}
	return o.Base.start(o)
}

// workerIndex is the index of the worker container in job.
func (o *JobOptions) workerIndex(job *batchv1.Job, errs *fieldErrors) int {
	cs := job.Spec.Template.Spec.Containers
	var names []string
	for i, c := range cs {
		if c.Name == o.Container || (o.Container == "" && len(cs) == 1) {
			return i
		}
		names = append(names, c.Name)
	}
	has := fmt.Sprintf("%%s has %d containers: %s", len(cs), strings.Join(names, ", "))
	if o.Container == "" {
		errs.add("container", nil, "is required: "+has+"; name the one that works through the queue", "base")
	} else {
		errs.add("container", o.Container, "no such container: "+has, "base")
	}
	return -1
}

// mergeEnv is the worker's variables, then the container's own variables,
// then the options' (which replace the container's of the same name).
func mergeEnv(worker, own, options []corev1.EnvVar) []corev1.EnvVar {
	skip := map[string]bool{}
	for _, e := range worker {
		skip[e.Name] = true
	}
	for _, e := range options {
		skip[e.Name] = true
	}
	env := worker
	for _, e := range own {
		if !skip[e.Name] {
			env = append(env, e)
		}
	}
	return append(env, options...)
}

// restrict makes every container of pod, and the pod, pass the "restricted"
// Pod Security Standard, keeping what already does.
func restrict(pod *corev1.PodSpec) {
	if pod.SecurityContext == nil {
		pod.SecurityContext = &corev1.PodSecurityContext{}
	}
	psc := pod.SecurityContext
	psc.RunAsNonRoot = ptr.To(true)
	if psc.SeccompProfile == nil {
		psc.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	}
	for _, cs := range [][]corev1.Container{pod.InitContainers, pod.Containers} {
		for i := range cs {
			sc := cs[i].SecurityContext
			if sc == nil {
				sc = &corev1.SecurityContext{}
				cs[i].SecurityContext = sc
			}
			sc.AllowPrivilegeEscalation = ptr.To(false)
			if sc.Capabilities == nil {
				sc.Capabilities = &corev1.Capabilities{}
			}
			sc.Capabilities.Drop = []corev1.Capability{"ALL"}
			sc.Capabilities.Add = slices.DeleteFunc(sc.Capabilities.Add, func(c corev1.Capability) bool { return c != "NET_BIND_SERVICE" })
		}
	}
}

func setIf[T any](field **T, v *T) {
	if v != nil {
		*field = copyPtr(v)
	}
}

// CapParallelism lowers job's parallelism to pending when it is higher:
// pods beyond the pending items would start only to find nothing to do. An
// empty queue (pending 0) leaves it alone. It returns the parallelism before,
// and whether it changed.
func CapParallelism(job *batchv1.Job, pending int64) (was int32, capped bool) {
	was = ptr.Deref(job.Spec.Parallelism, 1)
	if pending < 1 || int64(was) <= pending {
		return was, false
	}
	job.Spec.Parallelism = ptr.To(int32(pending))
	return was, true
}

// workerEnv is the environment of pkg/workerenv for the main container.
func (o *JobOptions) workerEnv() []corev1.EnvVar {
	env := []corev1.EnvVar{{Name: workerenv.Queue, Value: o.Queue}}
	if o.URLSecret != nil {
		env = append(env, corev1.EnvVar{
			Name:      workerenv.RedisURL,
			ValueFrom: &corev1.EnvVarSource{SecretKeyRef: o.URLSecret.DeepCopy()},
		})
	} else {
		env = append(env, corev1.EnvVar{Name: workerenv.RedisAddr, Value: o.RedisService + ":" + strconv.Itoa(int(o.RedisPort))})
	}
	// So that the queue records which pod held or failed an item.
	env = append(env, corev1.EnvVar{Name: workerenv.Pod, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}})
	if o.Lease != 0 {
		env = append(env, corev1.EnvVar{Name: workerenv.Lease, Value: o.Lease.String()})
	}
	if o.MaxAttempts != 0 {
		env = append(env, corev1.EnvVar{Name: workerenv.MaxAttempts, Value: strconv.Itoa(o.MaxAttempts)})
	}
	if o.ItemTimeout != 0 {
		env = append(env, corev1.EnvVar{Name: workerenv.ItemTimeout, Value: o.ItemTimeout.String()})
	}
	if o.PerItem {
		env = append(env, corev1.EnvVar{Name: workerenv.MaxItems, Value: "1"})
	}
	if o.RedisTimeout != 0 {
		env = append(env, corev1.EnvVar{Name: workerenv.RedisTimeout, Value: o.RedisTimeout.String()})
	}
	if o.WaitForSeed {
		env = append(env, corev1.EnvVar{Name: workerenv.WaitForSeed, Value: "true"})
	}
	if o.PasswordSecret != nil {
		env = append(env, corev1.EnvVar{
			Name:      workerenv.RedisPassword,
			ValueFrom: &corev1.EnvVarSource{SecretKeyRef: o.PasswordSecret.DeepCopy()},
		})
	}
	if o.UsernameSecret != nil {
		env = append(env, corev1.EnvVar{
			Name:      workerenv.RedisUsername,
			ValueFrom: &corev1.EnvVarSource{SecretKeyRef: o.UsernameSecret.DeepCopy()},
		})
	}
	if o.TLSSecret != "" {
		env = append(env, corev1.EnvVar{Name: workerenv.RedisTLSDir, Value: WorkerTLSDir})
	}
	if o.InsecureSkipTLSVerify {
		env = append(env, corev1.EnvVar{Name: workerenv.RedisInsecureSkipTLSVerify, Value: "true"})
	}
	return env
}

// mountTLS mounts the TLS Secret of Redis into container ci, where the
// worker's WORKQUEUE_REDIS_TLS_DIR points.
func (o *JobOptions) mountTLS(pod *corev1.PodSpec, ci int) {
	if o.TLSSecret == "" {
		return
	}
	secret := &corev1.SecretVolumeSource{SecretName: o.TLSSecret, DefaultMode: ptr.To[int32](0o444)}
	if o.TLSSecretOptional {
		secret.Optional = ptr.To(true)
	}
	pod.Volumes = setByName(pod.Volumes, corev1.Volume{
		Name:         WorkerTLSVolume,
		VolumeSource: corev1.VolumeSource{Secret: secret},
	}, func(v corev1.Volume) string { return v.Name })
	c := &pod.Containers[ci]
	c.VolumeMounts = setByName(c.VolumeMounts, corev1.VolumeMount{
		Name: WorkerTLSVolume, MountPath: WorkerTLSDir, ReadOnly: true,
	}, func(m corev1.VolumeMount) string { return m.Name })
}

// injectWorker makes container ci run the user's command under the worker
// binary, which an init container copies from workerImage. It replaces what
// an earlier injection left (a Base printed by run --dry-run).
func injectWorker(pod *corev1.PodSpec, ci int, workerImage string, command []string) {
	pod.Volumes = setByName(pod.Volumes, corev1.Volume{
		Name:         WorkerBinVolume,
		VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
	}, func(v corev1.Volume) string { return v.Name })
	sc := restrictedContainerContext()
	sc.RunAsNonRoot = ptr.To(true)
	sc.RunAsUser = ptr.To[int64](WorkerUID)
	sc.RunAsGroup = ptr.To[int64](WorkerUID)
	sc.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	pod.InitContainers = setByName(pod.InitContainers, corev1.Container{
		Name:            InstallWorkerContainer,
		Image:           workerImage,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         []string{WorkerImageBinary, "--install", WorkerBinDir},
		VolumeMounts:    []corev1.VolumeMount{{Name: WorkerBinVolume, MountPath: WorkerBinDir}},
		SecurityContext: sc,
	}, func(c corev1.Container) string { return c.Name })
	main := &pod.Containers[ci]
	main.Command = append([]string{WorkerInstalledBinary, "--"}, command...)
	main.Args = nil
	main.VolumeMounts = setByName(main.VolumeMounts, corev1.VolumeMount{
		Name: WorkerBinVolume, MountPath: WorkerBinDir, ReadOnly: true,
	}, func(m corev1.VolumeMount) string { return m.Name })
}

// setByName replaces the element of list named as v, or appends v.
func setByName[T any](list []T, v T, name func(T) string) []T {
	for i := range list {
		if name(list[i]) == name(v) {
			list[i] = v
			return list
		}
	}
	return append(list, v)
}

func (o *JobOptions) validate() error {
	var errs fieldErrors
	if o.Queue == "" {
		errs.add("queue", nil, "is required")
	}
	if o.Name != "" {
		errs.jobName("name", o.Name)
	}
	errs.namespace(o.Namespace)
	if o.Base == nil && strings.TrimSpace(o.Image) == "" {
		errs.add("image", nil, "is required")
	}
	if o.Container != "" {
		errs.invalid("container", o.Container, content.IsDNS1123Label(o.Container))
	}
	if len(o.Command) > 0 && o.WorkerImage == "" {
		errs.add("workerImage", nil, "is required with a command")
	}
	if o.Parallelism != nil && *o.Parallelism < 1 {
		errs.add("parallelism", *o.Parallelism, "must be at least 1")
	}
	if o.Completions != nil && *o.Completions < 1 {
		errs.add("completions", *o.Completions, "must be at least 1")
	}
	if o.PerItem && o.Completions == nil {
		errs.add("completions", nil, "is required with %s (one pod per pending item)", "perItem")
	}
	if rp := o.RestartPolicy; rp != "" && rp != corev1.RestartPolicyOnFailure && rp != corev1.RestartPolicyNever {
		errs.add("restartPolicy", string(o.RestartPolicy), "must be OnFailure or Never")
	}
	if o.BackoffLimit != nil && *o.BackoffLimit < 0 {
		errs.add("backoffLimit", *o.BackoffLimit, "must not be negative")
	}
	if o.ActiveDeadlineSeconds != nil && *o.ActiveDeadlineSeconds < 1 {
		errs.add("activeDeadlineSeconds", *o.ActiveDeadlineSeconds, "must be at least 1 second")
	}
	if o.TTLSecondsAfterFinished != nil && *o.TTLSecondsAfterFinished < 0 {
		errs.add("ttlSecondsAfterFinished", *o.TTLSecondsAfterFinished, "must not be negative")
	}
	errs.resources(o.Resources)
	errs.env(o.Env)
	if o.ServiceAccount != "" {
		errs.dns1123Subdomain("serviceAccount", o.ServiceAccount)
	}
	for _, s := range o.ImagePullSecrets {
		errs.dns1123Subdomain("imagePullSecrets", s)
	}
	errs.labels(o.Labels, reservedPodLabels...)
	errs.dns1123Subdomain("redisService", o.RedisService)
	if o.RedisPort < 1 || o.RedisPort > 65535 {
		errs.add("redisPort", o.RedisPort, "must be between 1 and 65535")
	}
	for _, s := range []struct {
		field string
		ref   *corev1.SecretKeySelector
	}{{"passwordSecret", o.PasswordSecret}, {"usernameSecret", o.UsernameSecret}, {"urlSecret", o.URLSecret}} {
		if s.ref != nil {
			errs.dns1123Subdomain(s.field+".name", s.ref.Name)
			errs.invalid(s.field+".key", s.ref.Key, validation.IsConfigMapKey(s.ref.Key))
		}
	}
	if o.TLSSecret != "" {
		errs.dns1123Subdomain("tlsSecret", o.TLSSecret)
	}
	if o.Lease < 0 || (o.Lease > 0 && o.Lease < time.Second) {
		errs.add("lease", o.Lease, "must be at least 1s")
	}
	if o.MaxAttempts < 0 {
		errs.add("maxAttempts", o.MaxAttempts, "must not be negative")
	}
	if o.KueueQueue != "" {
		errs.dns1123Subdomain("kueueQueue", o.KueueQueue)
		errs.invalid("kueueQueue", o.KueueQueue, content.IsLabelValue(o.KueueQueue))
	}
	switch {
	case o.ItemTimeout < 0:
		errs.add("itemTimeout", o.ItemTimeout, "must not be negative")
	case o.ItemTimeout > 0 && len(o.Command) == 0:
		errs.add("itemTimeout", o.ItemTimeout, "is only for a command run per item (the image's own program decides how long its items take)")
	}
	return errs.err()
}

// env rejects invalid and duplicate names, and names in the worker's
// reserved namespace: the Job's queue, Redis address and password must match
// its label, annotation and Secret, so they are set only through their options.
func (errs *fieldErrors) env(env []corev1.EnvVar) {
	seen := map[string]bool{}
	for _, e := range env {
		if msgs := validation.IsEnvVarName(e.Name); len(msgs) > 0 {
			errs.invalid("env", e.Name, msgs)
			continue
		}
		if strings.HasPrefix(e.Name, EnvPrefix) {
			related, ok := reservedEnv[e.Name]
			switch {
			case !ok:
				errs.add("env", e.Name, "names starting with "+EnvPrefix+" are reserved for the worker")
			case len(related) == 0:
				errs.add("env", e.Name, "is set by the worker for each item")
			default:
				errs.add("env", e.Name, "is set by kubectl-workqueue; use "+strings.TrimPrefix(strings.Repeat(" and %s", len(related)), " and "), related...)
			}
			continue
		}
		if seen[e.Name] {
			errs.add("env", e.Name, "is given more than once")
		}
		seen[e.Name] = true
	}
}

// resources rejects what the API server would reject only at apply time:
// names a container cannot ask for, negative quantities, requests above
// their limits.
func (errs *fieldErrors) resources(r corev1.ResourceRequirements) {
	for _, list := range []struct {
		field string
		l     corev1.ResourceList
	}{{"resources.requests", r.Requests}, {"resources.limits", r.Limits}} {
		for _, name := range sortedResourceNames(list.l) {
			q := list.l[name]
			if !containerResource(string(name)) {
				errs.add(list.field, string(name), "is no resource of a container: cpu, memory, ephemeral-storage, hugepages-<size>, or an extended resource such as example.com/gpu")
			} else if q.Sign() < 0 {
				errs.add(list.field, string(name)+"="+q.String(), "must not be negative")
			}
		}
	}
	for _, name := range sortedResourceNames(r.Requests) {
		req := r.Requests[name]
		if lim, ok := r.Limits[name]; ok && req.Cmp(lim) > 0 {
			errs.add("resources.requests", string(name)+"="+req.String(), "must not exceed its limit ("+lim.String()+")")
		}
	}
}

// containerResource says whether a container may request name: one of the
// standard resources, or an extended one (a domain-prefixed name outside
// kubernetes.io), as the API server's validation has it.
func containerResource(name string) bool {
	switch corev1.ResourceName(name) {
	case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
		return true
	}
	if size, ok := strings.CutPrefix(name, corev1.ResourceHugePagesPrefix); ok {
		_, err := resource.ParseQuantity(size)
		return err == nil
	}
	return strings.Contains(name, "/") && !strings.Contains(name, "kubernetes.io/") &&
		len(validation.IsQualifiedName("requests."+name)) == 0
}

func sortedResourceNames(l corev1.ResourceList) []corev1.ResourceName {
	m := make(map[string]string, len(l))
	for k := range l {
		m[string(k)] = ""
	}
	var names []corev1.ResourceName
	for _, k := range slices.Sorted(maps.Keys(m)) {
		names = append(names, corev1.ResourceName(k))
	}
	return names
}

func deepCopyEnv(env []corev1.EnvVar) []corev1.EnvVar {
	var out []corev1.EnvVar
	for i := range env {
		out = append(out, *env[i].DeepCopy())
	}
	return out
}

func copyPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// PerItemQueue returns the queue of a Job that Job made with PerItem, and
// whether it is one: its completions were counted from the queue when it
// was made, so it starts no pods for items added later.
func PerItemQueue(job *batchv1.Job) (string, bool) {
	queue, ok := job.Annotations[AnnotationQueue]
	if !ok || job.Spec.Completions == nil {
		return "", false
	}
	for _, c := range job.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == workerenv.MaxItems && e.Value != "" && e.Value != "0" {
				return queue, true
			}
		}
	}
	return "", false
}

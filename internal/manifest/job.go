package manifest

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/workerenv"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
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
type JobOptions struct {
	// Name of the Job; default JobName(Queue).
	Name string
	// Namespace of the Job; "" leaves it unset.
	Namespace string
	// Queue is the exact queue name (required).
	Queue string
	// Image of the main container (required).
	Image string
	// Command is the user's command after "--". Empty runs the image's own
	// entrypoint, which then talks to the queue itself (the docs' case); set, the
	// worker binary is injected and runs Command once per item.
	Command []string
	// WorkerImage holds /workqueue-worker; required when Command is set, unused otherwise.
	WorkerImage string
	// Parallelism is the number of pods running at once (at least 1).
	Parallelism int32
	// Completions is unset by default: the Job is done when a pod exits 0 and
	// the others have finished (the docs' work-queue semantics).
	Completions *int32
	// PerItem makes each pod take exactly one item (WORKQUEUE_MAX_ITEMS=1);
	// the caller sets Completions to the number of pending items.
	PerItem bool
	// RestartPolicy is OnFailure (default) or Never.
	RestartPolicy corev1.RestartPolicy
	// BackoffLimit, ActiveDeadlineSeconds and TTLSecondsAfterFinished are the
	// Job's fields of those names; nil leaves them to the API server.
	BackoffLimit            *int32
	ActiveDeadlineSeconds   *int64
	TTLSecondsAfterFinished *int32
	// Resources of the main container.
	Resources corev1.ResourceRequirements
	// Env is added to the main container after the worker variables, so it may
	// refer to them as $(WORKQUEUE_QUEUE). Names starting with EnvPrefix are rejected.
	Env []corev1.EnvVar
	// ServiceAccount of the pods; "" is the namespace's default.
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
	// Lease is how long a worker holds an item; 0 leaves it to the worker.
	Lease time.Duration
	// MaxAttempts is how often an item may fail; 0 leaves it to the worker.
	MaxAttempts int
}

// reservedEnv maps each worker variable to the options that set it, for
// error messages.
var reservedEnv = map[string][]string{
	workerenv.Queue:         {"queue"},
	workerenv.RedisAddr:     {"redisService", "redisPort"},
	workerenv.RedisPassword: {"passwordSecret"},
	workerenv.Lease:         {"lease"},
	workerenv.MaxAttempts:   {"maxAttempts"},
	workerenv.MaxItems:      {"perItem"},
	workerenv.Item:          nil, // the worker, per item
}

// reservedPodLabels are set by the plugin or the Job controller.
var reservedPodLabels = []string{
	LabelManagedBy, LabelQueue,
	batchv1.JobNameLabel, batchv1.ControllerUidLabel, "job-name", "controller-uid",
}

// Job returns the Job whose pods work through o.Queue. Invalid options are
// FieldErrors. o is not modified, and the Job shares no memory with it.
func Job(o JobOptions) (*batchv1.Job, error) {
	if o.Name == "" {
		o.Name = JobName(o.Queue)
	}
	if o.RestartPolicy == "" {
		o.RestartPolicy = corev1.RestartPolicyOnFailure
	}
	if o.RedisService == "" {
		o.RedisService = DefaultRedisService
	}
	if o.RedisPort == 0 {
		o.RedisPort = DefaultRedisPort
	}
	if err := o.validate(); err != nil {
		return nil, err
	}

	labels := mergeLabels(map[string]string{
		LabelManagedBy: ManagedByValue,
		LabelQueue:     QueueLabelValue(o.Queue),
	}, o.Labels)

	main := corev1.Container{
		Name:            WorkerContainer,
		Image:           o.Image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Env:             append(o.workerEnv(), deepCopyEnv(o.Env)...),
		Resources:       *o.Resources.DeepCopy(),
		SecurityContext: restrictedContainerContext(),
	}
	pod := corev1.PodSpec{
		RestartPolicy:      o.RestartPolicy,
		ServiceAccountName: o.ServiceAccount,
		Containers:         []corev1.Container{main},
	}
	for _, s := range o.ImagePullSecrets {
		pod.ImagePullSecrets = append(pod.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
	}
	if o.Restricted {
		pod.SecurityContext = &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		}
	}
	if len(o.Command) > 0 {
		injectWorker(&pod, o.WorkerImage, o.Command)
	}

	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        o.Name,
			Namespace:   o.Namespace,
			Labels:      copyLabels(labels),
			Annotations: map[string]string{AnnotationQueue: o.Queue},
		},
		Spec: batchv1.JobSpec{
			Parallelism:             ptr.To(o.Parallelism),
			Completions:             copyPtr(o.Completions),
			BackoffLimit:            copyPtr(o.BackoffLimit),
			ActiveDeadlineSeconds:   copyPtr(o.ActiveDeadlineSeconds),
			TTLSecondsAfterFinished: copyPtr(o.TTLSecondsAfterFinished),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: copyLabels(labels)},
				Spec:       pod,
			},
		},
	}, nil
}

// workerEnv is the environment of pkg/workerenv for the main container.
func (o *JobOptions) workerEnv() []corev1.EnvVar {
	env := []corev1.EnvVar{
		{Name: workerenv.Queue, Value: o.Queue},
		{Name: workerenv.RedisAddr, Value: o.RedisService + ":" + strconv.Itoa(int(o.RedisPort))},
	}
	if o.Lease != 0 {
		env = append(env, corev1.EnvVar{Name: workerenv.Lease, Value: o.Lease.String()})
	}
	if o.MaxAttempts != 0 {
		env = append(env, corev1.EnvVar{Name: workerenv.MaxAttempts, Value: strconv.Itoa(o.MaxAttempts)})
	}
	if o.PerItem {
		env = append(env, corev1.EnvVar{Name: workerenv.MaxItems, Value: "1"})
	}
	if o.PasswordSecret != nil {
		env = append(env, corev1.EnvVar{
			Name:      workerenv.RedisPassword,
			ValueFrom: &corev1.EnvVarSource{SecretKeyRef: o.PasswordSecret.DeepCopy()},
		})
	}
	return env
}

// injectWorker makes the main container run the user's command under the
// worker binary, which an init container copies from workerImage.
func injectWorker(pod *corev1.PodSpec, workerImage string, command []string) {
	pod.Volumes = append(pod.Volumes, corev1.Volume{
		Name:         WorkerBinVolume,
		VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
	})
	sc := restrictedContainerContext()
	sc.RunAsNonRoot = ptr.To(true)
	sc.RunAsUser = ptr.To[int64](WorkerUID)
	sc.RunAsGroup = ptr.To[int64](WorkerUID)
	sc.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	pod.InitContainers = append(pod.InitContainers, corev1.Container{
		Name:            InstallWorkerContainer,
		Image:           workerImage,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         []string{WorkerImageBinary, "--install", WorkerBinDir},
		VolumeMounts:    []corev1.VolumeMount{{Name: WorkerBinVolume, MountPath: WorkerBinDir}},
		SecurityContext: sc,
	})
	main := &pod.Containers[0]
	main.Command = append([]string{WorkerInstalledBinary, "--"}, command...)
	main.VolumeMounts = append(main.VolumeMounts, corev1.VolumeMount{
		Name: WorkerBinVolume, MountPath: WorkerBinDir, ReadOnly: true,
	})
}

func (o *JobOptions) validate() error {
	var errs fieldErrors
	if o.Queue == "" {
		errs.add("queue", nil, "is required")
	}
	if msgs := content.IsDNS1123Subdomain(o.Name); len(msgs) > 0 {
		errs.invalid("name", o.Name, msgs)
	} else if len(o.Name) > maxNameLen {
		errs.add("name", o.Name, fmt.Sprintf("must be no more than %d characters (the Job controller puts it in a label)", maxNameLen))
	}
	errs.namespace(o.Namespace)
	if strings.TrimSpace(o.Image) == "" {
		errs.add("image", nil, "is required")
	}
	if len(o.Command) > 0 && o.WorkerImage == "" {
		errs.add("workerImage", nil, "is required with a command")
	}
	if o.Parallelism < 1 {
		errs.add("parallelism", o.Parallelism, "must be at least 1")
	}
	if o.Completions != nil && *o.Completions < 1 {
		errs.add("completions", *o.Completions, "must be at least 1")
	}
	if o.PerItem && o.Completions == nil {
		errs.add("completions", nil, "is required with %s (one pod per pending item)", "perItem")
	}
	if o.RestartPolicy != corev1.RestartPolicyOnFailure && o.RestartPolicy != corev1.RestartPolicyNever {
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
	if s := o.PasswordSecret; s != nil {
		errs.dns1123Subdomain("passwordSecret.name", s.Name)
		errs.invalid("passwordSecret.key", s.Key, validation.IsConfigMapKey(s.Key))
	}
	if o.Lease < 0 || (o.Lease > 0 && o.Lease < time.Second) {
		errs.add("lease", o.Lease, "must be at least 1s")
	}
	if o.MaxAttempts < 0 {
		errs.add("maxAttempts", o.MaxAttempts, "must not be negative")
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

// resources rejects requests above their limits, which the API server would
// reject only at apply time.
func (errs *fieldErrors) resources(r corev1.ResourceRequirements) {
	for _, name := range sortedResourceNames(r.Requests) {
		req := r.Requests[name]
		if lim, ok := r.Limits[name]; ok && req.Cmp(lim) > 0 {
			errs.add("resources.requests", string(name)+"="+req.String(), "must not exceed its limit ("+lim.String()+")")
		}
	}
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

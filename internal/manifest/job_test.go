package manifest

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/workerenv"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

const testWorkerImage = "ghcr.io/kubectl-workqueue/workqueue-worker:v0.1.0"

func mustJob(t *testing.T, o JobOptions) *batchv1.Job {
	t.Helper()
	j, err := Job(o)
	if err != nil {
		t.Fatalf("Job(%+v): %v", o, err)
	}
	return j
}

// docsJob is the Kubernetes docs' case: the image talks to the queue itself.
func docsJob() JobOptions {
	return JobOptions{Namespace: "default", Queue: "job2", Image: "gcr.io/myproject/job-wq-2", Parallelism: ptr.To[int32](2)}
}

// commandJob runs the user's command under the injected worker, with most options set.
func commandJob() JobOptions {
	return JobOptions{
		Namespace:               "work",
		Queue:                   "images:resize",
		Image:                   "docker.io/library/python:3.13-slim",
		Command:                 []string{"python3", "/app/resize.py", "--quality", "90"},
		WorkerImage:             testWorkerImage,
		Parallelism:             ptr.To[int32](4),
		BackoffLimit:            ptr.To[int32](6),
		ActiveDeadlineSeconds:   ptr.To[int64](3600),
		TTLSecondsAfterFinished: ptr.To[int32](86400),
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
		},
		Env:              []corev1.EnvVar{{Name: "BUCKET", Value: "s3://images"}, {Name: "QUEUE_COPY", Value: "$(WORKQUEUE_QUEUE)"}},
		ServiceAccount:   "resizer",
		ImagePullSecrets: []string{"regcred"},
		Labels:           map[string]string{"team": "media"},
		PasswordSecret: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: PasswordSecretName("redis")}, Key: PasswordSecretKey,
		},
		Lease:       90 * time.Second,
		MaxAttempts: 3,
		ItemTimeout: 10 * time.Minute,
	}
}

func perItemJob() JobOptions {
	o := docsJob()
	o.Queue = "renders"
	o.Command = []string{"sh", "-c", "render \"$WORKQUEUE_ITEM\""}
	o.WorkerImage = testWorkerImage
	o.PerItem = true
	o.Completions = ptr.To[int32](8)
	o.Parallelism = ptr.To[int32](3)
	o.RestartPolicy = corev1.RestartPolicyNever
	return o
}

func restrictedJob() JobOptions {
	o := commandJob()
	o.Restricted = true
	return o
}

// managedRedisJob reaches a Redis outside the cluster's control: URL, ACL
// user and TLS Secret (run --redis-url-secret --redis-password-secret
// --redis-tls-secret).
func managedRedisJob() JobOptions {
	secret := func(name, key string, optional bool) *corev1.SecretKeySelector {
		return &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: ptr.To(optional)}
	}
	return JobOptions{
		Namespace:      "work",
		Queue:          "{thumbs}",
		Image:          "docker.io/library/busybox:1.36",
		Command:        []string{"sh", "-c", "echo $WORKQUEUE_ITEM"},
		WorkerImage:    testWorkerImage,
		Parallelism:    ptr.To[int32](8),
		URLSecret:      secret("redis-url", URLSecretKey, false),
		PasswordSecret: secret("redis-user", PasswordSecretKey, false),
		UsernameSecret: secret("redis-user", UsernameSecretKey, true),
		TLSSecret:      "redis-tls",
	}
}

func TestJobGolden(t *testing.T) {
	for name, o := range map[string]JobOptions{
		"job-managed-redis": managedRedisJob(),
		"job-docs":          docsJob(),
		"job-command":       commandJob(),
		"job-per-item":      perItemJob(),
		"job-restricted":    restrictedJob(),
	} {
		t.Run(name, func(t *testing.T) {
			assertGolden(t, name, mustJob(t, o))
		})
	}
}

func envMap(t *testing.T, c corev1.Container) map[string]corev1.EnvVar {
	t.Helper()
	m := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		if _, dup := m[e.Name]; dup {
			t.Errorf("container %s: env %s set twice", c.Name, e.Name)
		}
		m[e.Name] = e
	}
	return m
}

func TestJobDocsDefaults(t *testing.T) {
	j := mustJob(t, JobOptions{Queue: "Job_2", Image: "img", Parallelism: ptr.To[int32](2)})
	if j.APIVersion != "batch/v1" || j.Kind != "Job" {
		t.Errorf("TypeMeta = %+v", j.TypeMeta)
	}
	if j.Name != JobName("Job_2") || j.Namespace != "" {
		t.Errorf("name %q namespace %q", j.Name, j.Namespace)
	}
	s := j.Spec
	if s.Completions != nil {
		t.Errorf("completions = %d, want unset (work-queue semantics)", *s.Completions)
	}
	if *s.Parallelism != 2 {
		t.Errorf("parallelism = %d", *s.Parallelism)
	}
	if s.BackoffLimit != nil || s.ActiveDeadlineSeconds != nil || s.TTLSecondsAfterFinished != nil {
		t.Errorf("optional fields set: %+v", s)
	}
	// As kubectl create job: Never, which lets disruptions not count as failures.
	if !reflect.DeepEqual(s.PodFailurePolicy, DefaultPodFailurePolicy()) {
		t.Errorf("podFailurePolicy = %+v, want DisruptionTarget ignored", s.PodFailurePolicy)
	}
	if s.Suspend != nil || j.Labels[LabelKueueQueue] != "" {
		t.Errorf("suspend %v, labels %v: want neither suspended nor for Kueue", s.Suspend, j.Labels)
	}
	pod := s.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy = %q", pod.RestartPolicy)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("automountServiceAccountToken = %v, want false: workers need no API token", pod.AutomountServiceAccountToken)
	}
	if len(pod.InitContainers) != 0 || len(pod.Volumes) != 0 || pod.SecurityContext != nil {
		t.Errorf("docs job has init containers %v, volumes %v or pod security context %v", pod.InitContainers, pod.Volumes, pod.SecurityContext)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("containers = %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Name != "worker" || c.Image != "img" || c.Command != nil || c.Args != nil || len(c.VolumeMounts) != 0 {
		t.Errorf("main container = %+v, want the image's own entrypoint", c)
	}
	if c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("imagePullPolicy = %q", c.ImagePullPolicy)
	}
	want := []corev1.EnvVar{
		{Name: workerenv.Queue, Value: "Job_2"},
		{Name: workerenv.RedisAddr, Value: "redis:6379"},
		{Name: workerenv.Pod, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
	}
	if !reflect.DeepEqual(c.Env, want) {
		t.Errorf("env = %+v, want %+v", c.Env, want)
	}
}

func TestJobLabelsAndAnnotation(t *testing.T) {
	o := docsJob()
	o.Queue = "a:b"
	o.Labels = map[string]string{"team": "x"}
	j := mustJob(t, o)
	want := map[string]string{LabelManagedBy: ManagedByValue, LabelQueue: QueueLabelValue("a:b"), "team": "x"}
	if !reflect.DeepEqual(j.Labels, want) {
		t.Errorf("job labels = %v, want %v", j.Labels, want)
	}
	if !reflect.DeepEqual(j.Spec.Template.Labels, want) {
		t.Errorf("pod labels = %v, want %v", j.Spec.Template.Labels, want)
	}
	if got := j.Annotations[AnnotationQueue]; got != "a:b" {
		t.Errorf("annotation %s = %q, want the exact queue", AnnotationQueue, got)
	}
	if j.Spec.Selector != nil || j.Spec.ManualSelector != nil {
		t.Error("selector must be left to the Job controller")
	}
}

func TestJobAllFields(t *testing.T) {
	o := commandJob()
	j := mustJob(t, o)
	s := j.Spec
	if *s.Parallelism != 4 || *s.BackoffLimit != 6 || *s.ActiveDeadlineSeconds != 3600 || *s.TTLSecondsAfterFinished != 86400 {
		t.Errorf("spec = %+v", s)
	}
	pod := s.Template.Spec
	if pod.ServiceAccountName != "resizer" || !reflect.DeepEqual(pod.ImagePullSecrets, []corev1.LocalObjectReference{{Name: "regcred"}}) {
		t.Errorf("serviceAccount %q imagePullSecrets %v", pod.ServiceAccountName, pod.ImagePullSecrets)
	}
	c := pod.Containers[0]
	if !reflect.DeepEqual(c.Resources, o.Resources) {
		t.Errorf("resources = %+v", c.Resources)
	}

	env := envMap(t, c)
	for name, want := range map[string]string{
		workerenv.Queue:       "images:resize",
		workerenv.RedisAddr:   "redis:6379",
		workerenv.Lease:       "1m30s",
		workerenv.MaxAttempts: "3",
		workerenv.ItemTimeout: "10m0s",
		"BUCKET":              "s3://images",
	} {
		if env[name].Value != want {
			t.Errorf("env %s = %q, want %q", name, env[name].Value, want)
		}
	}
	if _, ok := env[workerenv.MaxItems]; ok {
		t.Error("MaxItems set without PerItem")
	}
	if pod := env[workerenv.Pod].ValueFrom; pod == nil || pod.FieldRef == nil || pod.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("%s = %+v, want the pod's name from the downward API", workerenv.Pod, env[workerenv.Pod])
	}
	pw := env[workerenv.RedisPassword]
	if pw.Value != "" || pw.ValueFrom == nil || pw.ValueFrom.SecretKeyRef == nil ||
		pw.ValueFrom.SecretKeyRef.Name != "redis-auth" || pw.ValueFrom.SecretKeyRef.Key != "password" {
		t.Errorf("password env = %+v, want a secretKeyRef", pw)
	}
	// The worker's variables come first, so user values may refer to them.
	if c.Env[0].Name != workerenv.Queue || c.Env[len(c.Env)-1].Name != "QUEUE_COPY" {
		t.Errorf("env order = %+v", c.Env)
	}
}

func TestJobRedisAddress(t *testing.T) {
	o := docsJob()
	o.RedisService, o.RedisPort = "queue-redis", 6380
	c := mustJob(t, o).Spec.Template.Spec.Containers[0]
	if got := envMap(t, c)[workerenv.RedisAddr].Value; got != "queue-redis:6380" {
		t.Errorf("redis addr = %q", got)
	}
	if _, ok := envMap(t, c)[workerenv.RedisPassword]; ok {
		t.Error("password env without PasswordSecret")
	}
}

func TestJobWorkerInjection(t *testing.T) {
	j := mustJob(t, commandJob())
	pod := j.Spec.Template.Spec
	wantVol := []corev1.Volume{{Name: "workqueue-bin", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	if !reflect.DeepEqual(pod.Volumes, wantVol) {
		t.Errorf("volumes = %+v", pod.Volumes)
	}
	if len(pod.InitContainers) != 1 {
		t.Fatalf("init containers = %+v", pod.InitContainers)
	}
	ic := pod.InitContainers[0]
	if ic.Name != "install-worker" || ic.Image != testWorkerImage || ic.ImagePullPolicy != corev1.PullIfNotPresent ||
		!reflect.DeepEqual(ic.Command, []string{"/workqueue-worker", "--install", "/workqueue/bin"}) || ic.Args != nil ||
		!reflect.DeepEqual(ic.VolumeMounts, []corev1.VolumeMount{{Name: "workqueue-bin", MountPath: "/workqueue/bin"}}) {
		t.Errorf("init container = %+v", ic)
	}
	if sc := ic.SecurityContext; sc == nil || !ptr.Deref(sc.RunAsNonRoot, false) || ptr.Deref(sc.RunAsUser, 0) != 65532 ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("init container security context = %+v, want restricted-compatible, uid 65532", sc)
	}
	c := pod.Containers[0]
	wantCmd := []string{"/workqueue/bin/workqueue-worker", "--", "python3", "/app/resize.py", "--quality", "90"}
	if c.Name != "worker" || !reflect.DeepEqual(c.Command, wantCmd) || c.Args != nil {
		t.Errorf("main container command %q args %q, want %q", c.Command, c.Args, wantCmd)
	}
	if !reflect.DeepEqual(c.VolumeMounts, []corev1.VolumeMount{{Name: "workqueue-bin", MountPath: "/workqueue/bin", ReadOnly: true}}) {
		t.Errorf("main mounts = %+v", c.VolumeMounts)
	}
	if len(envMap(t, ic)) != 0 {
		t.Errorf("init container env = %+v, want none (no password there)", ic.Env)
	}
}

func TestJobPerItem(t *testing.T) {
	j := mustJob(t, perItemJob())
	if c := j.Spec.Completions; c == nil || *c != 8 {
		t.Errorf("completions = %v, want 8", c)
	}
	if got := envMap(t, j.Spec.Template.Spec.Containers[0])[workerenv.MaxItems].Value; got != "1" {
		t.Errorf("%s = %q, want 1", workerenv.MaxItems, got)
	}
	if j.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy = %q", j.Spec.Template.Spec.RestartPolicy)
	}
}

func TestJobCompletionsWithoutPerItem(t *testing.T) {
	o := docsJob()
	o.Completions = ptr.To[int32](5)
	j := mustJob(t, o)
	if *j.Spec.Completions != 5 {
		t.Errorf("completions = %d", *j.Spec.Completions)
	}
	if _, ok := envMap(t, j.Spec.Template.Spec.Containers[0])[workerenv.MaxItems]; ok {
		t.Error("MaxItems set without PerItem")
	}
}

func TestJobSharesNoMemory(t *testing.T) {
	o := commandJob()
	o.Completions = ptr.To[int32](3)
	j := mustJob(t, o)
	before := toYAML(t, j)
	o.Command[0] = "changed"
	o.Env[0].Value = "changed"
	o.Labels["team"] = "changed"
	*o.Completions = 99
	*o.BackoffLimit = 99
	o.PasswordSecret.Name = "changed"
	o.ImagePullSecrets[0] = "changed"
	o.Resources.Limits[corev1.ResourceMemory] = resource.MustParse("1Ti")
	if after := toYAML(t, j); after != before {
		t.Errorf("the Job changed with its options:\n%s", after)
	}
	j.Labels["mutated"] = "yes"
	if _, ok := j.Spec.Template.Labels["mutated"]; ok {
		t.Error("Job and pod template share their label map")
	}
}

// fieldError returns the FieldError about field in err, failing the test
// if err holds none.
func fieldError(t *testing.T, err error, field string) *FieldError {
	t.Helper()
	var errs FieldErrors
	if !errors.As(err, &errs) {
		t.Fatalf("error %v (%T), want FieldErrors", err, err)
	}
	for _, e := range errs {
		if e.Field == field {
			return e
		}
	}
	t.Fatalf("error %q has nothing about %s", err, field)
	return nil
}

func TestJobEnvRules(t *testing.T) {
	for _, tc := range []struct {
		env  []corev1.EnvVar
		want string
	}{
		{[]corev1.EnvVar{{Name: workerenv.Queue, Value: "other"}}, `env "WORKQUEUE_QUEUE": is set by kubectl-workqueue; use queue`},
		{[]corev1.EnvVar{{Name: workerenv.RedisAddr, Value: "x:1"}}, `env "WORKQUEUE_REDIS_ADDR": is set by kubectl-workqueue; use redisService and redisPort`},
		{[]corev1.EnvVar{{Name: workerenv.RedisPassword, Value: "literal"}}, `env "WORKQUEUE_REDIS_PASSWORD": is set by kubectl-workqueue; use passwordSecret`},
		{[]corev1.EnvVar{{Name: workerenv.Lease, Value: "1s"}}, "use lease"},
		{[]corev1.EnvVar{{Name: workerenv.MaxAttempts, Value: "1"}}, "use maxAttempts"},
		{[]corev1.EnvVar{{Name: workerenv.MaxItems, Value: "5"}}, "use perItem"},
		{[]corev1.EnvVar{{Name: workerenv.Item, Value: "x"}}, `env "WORKQUEUE_ITEM": is set by the worker for each item`},
		{[]corev1.EnvVar{{Name: "WORKQUEUE_FUTURE", Value: "x"}}, `env "WORKQUEUE_FUTURE": names starting with WORKQUEUE_ are reserved`},
		{[]corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "A", Value: "2"}}, `env "A": is given more than once`},
		{[]corev1.EnvVar{{Name: "1BAD=", Value: "1"}}, `env "1BAD=": `},
		{[]corev1.EnvVar{{Name: "", Value: "1"}}, `env "": `},
	} {
		o := docsJob()
		o.Env = tc.env
		_, err := Job(o)
		if e := fieldError(t, err, "env"); !strings.Contains(e.Error(), tc.want) {
			t.Errorf("env %+v: error = %v, want it to contain %q", tc.env, e, tc.want)
		}
	}
	o := docsJob()
	o.Env = []corev1.EnvVar{{Name: "my.env-name", Value: "1"}, {Name: "WORKQUEUE", Value: "not the prefix"}}
	if _, err := Job(o); err != nil {
		t.Errorf("valid env rejected: %v", err)
	}
}

// The generators know no flags: each error names the option it is about,
// and In words it as the caller's flags.
func TestJobValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*JobOptions)
		field  string
		want   string
	}{
		{"no queue", func(o *JobOptions) { o.Queue = ""; o.Name = "x" }, "queue", "queue is required"},
		{"no image", func(o *JobOptions) { o.Image = "" }, "image", "image is required"},
		{"blank image", func(o *JobOptions) { o.Image = "  " }, "image", "image is required"},
		{"bad name", func(o *JobOptions) { o.Name = "My_Job" }, "name", `name "My_Job": `},
		{"long name", func(o *JobOptions) { o.Name = strings.Repeat("a", 64) }, "name", "must be no more than 63 characters"},
		{"bad namespace", func(o *JobOptions) { o.Namespace = "a.b" }, "namespace", `namespace "a.b": `},
		{"parallelism 0", func(o *JobOptions) { o.Parallelism = ptr.To[int32](0) }, "parallelism", "parallelism 0: must be at least 1"},
		{"parallelism -1", func(o *JobOptions) { o.Parallelism = ptr.To[int32](-1) }, "parallelism", "parallelism -1: must be at least 1"},
		{"completions 0", func(o *JobOptions) { o.Completions = ptr.To[int32](0) }, "completions", "completions 0: must be at least 1"},
		{"per-item without completions", func(o *JobOptions) { o.PerItem = true }, "completions", "completions is required with perItem"},
		{"restart Always", func(o *JobOptions) { o.RestartPolicy = corev1.RestartPolicyAlways }, "restartPolicy", `restartPolicy "Always": must be OnFailure or Never`},
		{"backoff", func(o *JobOptions) { o.BackoffLimit = ptr.To[int32](-1) }, "backoffLimit", "backoffLimit -1: must not be negative"},
		{"deadline", func(o *JobOptions) { o.ActiveDeadlineSeconds = ptr.To[int64](0) }, "activeDeadlineSeconds", "activeDeadlineSeconds 0: must be at least 1 second"},
		{"ttl", func(o *JobOptions) { o.TTLSecondsAfterFinished = ptr.To[int32](-5) }, "ttlSecondsAfterFinished", "ttlSecondsAfterFinished -5: must not be negative"},
		{"command without worker image", func(o *JobOptions) { o.Command = []string{"true"} }, "workerImage", "workerImage is required with a command"},
		{"service account", func(o *JobOptions) { o.ServiceAccount = "Bad SA" }, "serviceAccount", `serviceAccount "Bad SA": `},
		{"pull secret", func(o *JobOptions) { o.ImagePullSecrets = []string{"ok", "Not_OK"} }, "imagePullSecrets", `imagePullSecrets "Not_OK": `},
		{"reserved label", func(o *JobOptions) { o.Labels = map[string]string{LabelQueue: "x"} }, "labels", `labels "workqueue.kubectl.io/queue": is set by kubectl-workqueue`},
		{"job-name label", func(o *JobOptions) { o.Labels = map[string]string{"batch.kubernetes.io/job-name": "x"} }, "labels", `"batch.kubernetes.io/job-name": is set`},
		{"bad label", func(o *JobOptions) { o.Labels = map[string]string{"k": "a b"} }, "labels", `labels "k=a b": invalid label value`},
		{"redis service", func(o *JobOptions) { o.RedisService = "Redis!" }, "redisService", `redisService "Redis!": `},
		{"redis port", func(o *JobOptions) { o.RedisPort = 70000 }, "redisPort", "redisPort 70000: must be between 1 and 65535"},
		{"secret name", func(o *JobOptions) { o.PasswordSecret = &corev1.SecretKeySelector{Key: "password"} }, "passwordSecret.name", `passwordSecret.name "": `},
		{"secret key", func(o *JobOptions) {
			o.PasswordSecret = &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "a/b"}
		}, "passwordSecret.key", `passwordSecret.key "a/b": `},
		{"lease", func(o *JobOptions) { o.Lease = 500 * time.Millisecond }, "lease", "lease 500ms: must be at least 1s"},
		{"negative lease", func(o *JobOptions) { o.Lease = -time.Second }, "lease", "lease -1s"},
		{"max attempts", func(o *JobOptions) { o.MaxAttempts = -1 }, "maxAttempts", "maxAttempts -1"},
		{"item timeout without a command", func(o *JobOptions) { o.ItemTimeout = time.Minute }, "itemTimeout", "itemTimeout 1m0s: is only for a command run per item"},
		{"negative item timeout", func(o *JobOptions) { o.ItemTimeout = -time.Second }, "itemTimeout", "itemTimeout -1s: must not be negative"},
		{"request above limit", func(o *JobOptions) {
			o.Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
			}
		}, "resources.requests", `resources.requests "memory=1Gi": must not exceed its limit (512Mi)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := docsJob()
			tc.mutate(&o)
			j, err := Job(o)
			if e := fieldError(t, err, tc.field); !strings.Contains(e.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", e, tc.want)
			}
			if j != nil {
				t.Error("a Job returned with an error")
			}
		})
	}
}

func TestJobValidationReportsAllErrors(t *testing.T) {
	_, err := Job(JobOptions{Queue: "q", Parallelism: ptr.To[int32](0)})
	fieldError(t, err, "image")
	fieldError(t, err, "parallelism")
}

func TestFieldErrorsInTheCallersTerms(t *testing.T) {
	o := docsJob()
	o.Parallelism = ptr.To[int32](0)
	o.Env = []corev1.EnvVar{{Name: workerenv.Lease, Value: "1s"}}
	_, err := Job(o)
	var errs FieldErrors
	if !errors.As(err, &errs) {
		t.Fatalf("error %v", err)
	}
	flags := map[string]string{"parallelism": "--parallelism", "env": "--env", "lease": "--lease"}
	got := errs.In(func(field string) string { return flags[field] })
	want := "--parallelism 0: must be at least 1\n--env \"WORKQUEUE_LEASE\": is set by kubectl-workqueue; use --lease"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

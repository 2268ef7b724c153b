package manifest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/objpatch"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/workerenv"
)

// userJobYAML is a Job as a user with a GPU batch writes it: a data volume,
// a results claim, a scratch disk, a sidecar, node selection and tolerations,
// a priority class, a pod failure policy of its own.
const userJobYAML = `apiVersion: batch/v1
kind: Job
metadata:
  name: render-frames
  labels: {team: vfx}
  annotations: {owner: alice}
spec:
  parallelism: 5
  backoffLimit: 2
  activeDeadlineSeconds: 7200
  ttlSecondsAfterFinished: 600
  podFailurePolicy:
    rules:
    - action: FailJob
      onExitCodes: {containerName: render, operator: In, values: [42]}
  template:
    metadata:
      labels: {app: render}
      annotations: {prometheus.io/scrape: "true"}
    spec:
      restartPolicy: Never
      priorityClassName: batch-low
      nodeSelector: {accelerator: nvidia-a100}
      tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
      terminationGracePeriodSeconds: 120
      initContainers:
      - name: fetch-model
        image: registry.example/fetch:v1
        args: [--to, /models]
        volumeMounts: [{name: models, mountPath: /models}]
      containers:
      - name: render
        image: registry.example/render:v7
        imagePullPolicy: Always
        command: [/bin/render]
        args: [--frames-from-queue]
        workingDir: /work
        env:
        - {name: MODEL_DIR, value: /models}
        - {name: WORKQUEUE_LEASE, value: 10m}
        resources:
          limits: {nvidia.com/gpu: "1", memory: 16Gi}
          requests: {cpu: "4"}
        volumeMounts:
        - {name: models, mountPath: /models, readOnly: true}
        - {name: results, mountPath: /results}
        - {name: scratch, mountPath: /scratch}
      - name: log-shipper
        image: registry.example/shipper:v2
      volumes:
      - {name: models, emptyDir: {}}
      - {name: results, persistentVolumeClaim: {claimName: frames-out}}
      - {name: scratch, emptyDir: {medium: Memory, sizeLimit: 1Gi}}
`

func userJob(t *testing.T) *UserJob {
	t.Helper()
	u, err := DecodeJob("job.yaml", []byte(userJobYAML))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func baseOptions(t *testing.T) JobOptions {
	return JobOptions{
		Base: userJob(t), Namespace: "vfx", Queue: "frames", Container: "render",
		PasswordSecret: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "redis-auth"}, Key: PasswordSecretKey, Optional: ptr.To(true),
		},
	}
}

// missingFrom lists what of want (a decoded manifest) is not in got with
// the same value. Lists of objects with a name match by name, other lists by
// position: got may have more elements.
func missingFrom(want, got any, path string) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{path + ": not an object"}
		}
		var out []string
		for k, v := range w {
			out = append(out, missingFrom(v, g[k], path+"."+k)...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{path + ": not a list"}
		}
		var out []string
		for i, v := range w {
			p := fmt.Sprintf("%s[%d]", path, i)
			m, _ := v.(map[string]any)
			if name, ok := m["name"]; ok {
				j := slices.IndexFunc(g, func(e any) bool { m, _ := e.(map[string]any); return m["name"] == name })
				if j < 0 {
					out = append(out, fmt.Sprintf("%s[name=%v]: gone", path, name))
					continue
				}
				out = append(out, missingFrom(v, g[j], p)...)
			} else if i >= len(g) {
				out = append(out, p+": gone")
			} else {
				out = append(out, missingFrom(v, g[i], p)...)
			}
		}
		return out
	}
	if !reflect.DeepEqual(want, got) {
		return []string{fmt.Sprintf("%s: %v, want %v", path, got, want)}
	}
	return nil
}

func unstructured(t *testing.T, obj any) map[string]any {
	t.Helper()
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestJobFromBaseKeepsEverything(t *testing.T) {
	o := baseOptions(t)
	j := mustJob(t, o)
	if miss := missingFrom(unstructured(t, o.Base.Job), unstructured(t, j), ""); len(miss) > 0 {
		t.Errorf("fields of job.yaml lost or changed:\n  %s", strings.Join(miss, "\n  "))
	}
	// What run adds.
	if j.Name != "render-frames" || j.Namespace != "vfx" || j.Annotations[AnnotationQueue] != "frames" ||
		j.Labels[LabelManagedBy] != ManagedByValue || j.Spec.Template.Labels[LabelQueue] != "frames" {
		t.Errorf("metadata %+v, template labels %v: want the queue's labels and annotation added", j.ObjectMeta, j.Spec.Template.Labels)
	}
	c := j.Spec.Template.Spec.Containers[0]
	env := envMap(t, c)
	if env[workerenv.Queue].Value != "frames" || env[workerenv.RedisAddr].Value != "redis:6379" ||
		env[workerenv.RedisPassword].ValueFrom.SecretKeyRef.Name != "redis-auth" || env[workerenv.Lease].Value != "10m" {
		t.Errorf("worker env = %+v", c.Env)
	}
	if c.Env[0].Name != workerenv.Queue {
		t.Errorf("env order %+v: the worker's variables come first, so the file's may refer to them", c.Env)
	}
	if len(j.Spec.Template.Spec.Containers[1].Env) != 0 {
		t.Errorf("the sidecar got env %+v: only the worker container gets the queue's", j.Spec.Template.Spec.Containers[1].Env)
	}
	// The file's own pod failure policy and restart policy stay; the file
	// names no service account, so the pods get no token.
	if j.Spec.PodFailurePolicy.Rules[0].Action != batchv1.PodFailurePolicyActionFailJob || len(j.Spec.PodFailurePolicy.Rules) != 1 {
		t.Errorf("podFailurePolicy = %+v, want the file's", j.Spec.PodFailurePolicy)
	}
	if a := j.Spec.Template.Spec.AutomountServiceAccountToken; a == nil || *a {
		t.Errorf("automountServiceAccountToken = %v, want false", a)
	}
	if o.Base.Job.Spec.Template.Spec.Containers[0].Env[0].Name != "MODEL_DIR" || o.Base.Job.Labels[LabelManagedBy] != "" {
		t.Error("Job modified its Base")
	}
}

func TestJobFromBaseFlagsOverride(t *testing.T) {
	o := baseOptions(t)
	o.Name = "render-2"
	o.Image = "registry.example/render:v8"
	o.Parallelism = ptr.To[int32](9)
	o.RestartPolicy = corev1.RestartPolicyOnFailure
	o.BackoffLimit = ptr.To[int32](7)
	o.Labels = map[string]string{"team": "lighting"}
	o.Env = []corev1.EnvVar{{Name: "MODEL_DIR", Value: "/other"}}
	o.Lease = 0
	o.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Gi")}
	o.ServiceAccount = "renderer"
	o.Command = []string{"/bin/render", "{}"}
	o.WorkerImage = testWorkerImage
	j := mustJob(t, o)
	s := j.Spec
	pod := s.Template.Spec
	c := pod.Containers[0]
	if j.Name != "render-2" || *s.Parallelism != 9 || *s.BackoffLimit != 7 || pod.RestartPolicy != corev1.RestartPolicyOnFailure ||
		j.Labels["team"] != "lighting" || s.Template.Labels["team"] != "lighting" || c.Image != "registry.example/render:v8" ||
		pod.ServiceAccountName != "renderer" || pod.AutomountServiceAccountToken != nil {
		t.Errorf("options did not override the file: %s", toYAML(t, j))
	}
	if got := envMap(t, c)["MODEL_DIR"].Value; got != "/other" {
		t.Errorf("MODEL_DIR = %q, want --env's value", got)
	}
	mem := c.Resources.Limits[corev1.ResourceMemory]
	if mem.String() != "32Gi" || c.Resources.Limits.Name("nvidia.com/gpu", resource.DecimalSI).String() != "1" {
		t.Errorf("limits %v: want memory overridden and the GPU kept", c.Resources.Limits)
	}
	if c.Command[0] != WorkerInstalledBinary || c.Args != nil || pod.InitContainers[0].Name != "fetch-model" || pod.InitContainers[1].Name != InstallWorkerContainer {
		t.Errorf("command %q args %q init %v: want the worker injected after the file's init containers", c.Command, c.Args, pod.InitContainers)
	}
}

// run --dry-run -o yaml > job.yaml; edit; run -f job.yaml: the printed Job
// builds into itself.
func TestJobFromItsOwnOutput(t *testing.T) {
	for name, o := range map[string]JobOptions{"docs": docsJob(), "command": commandJob(), "per-item": perItemJob(), "restricted": restrictedJob()} {
		t.Run(name, func(t *testing.T) {
			first := mustJob(t, o)
			u, err := DecodeJob("out.yaml", []byte(toYAML(t, first)))
			if err != nil {
				t.Fatal(err)
			}
			o.Base = u
			if again := toYAML(t, mustJob(t, o)); again != toYAML(t, first) {
				t.Errorf("built on its own output, the Job differs:\n%s\n--- first\n%s", again, toYAML(t, first))
			}
		})
	}
}

// A Job read back from a cluster (kubectl get job -o yaml) carries the
// controller's selector, labels and status: they go, the rest stays.
func TestJobFromClusterCopy(t *testing.T) {
	y := strings.Replace(userJobYAML, "metadata:\n  name: render-frames\n", `metadata:
  name: render-frames
  uid: 0b3b7a4e-2a7c-4a5e-9d64-1ad4a8e2c1f0
  resourceVersion: "4711"
  creationTimestamp: "2026-11-30T10:00:00Z"
  generation: 1
`, 1)
	y = strings.Replace(y, "spec:\n  parallelism: 5\n", `spec:
  selector:
    matchLabels: {batch.kubernetes.io/controller-uid: 0b3b7a4e-2a7c-4a5e-9d64-1ad4a8e2c1f0}
  parallelism: 5
`, 1)
	y = strings.Replace(y, "      labels: {app: render}\n", "      labels: {app: render, batch.kubernetes.io/controller-uid: 0b3b7a4e-2a7c-4a5e-9d64-1ad4a8e2c1f0, controller-uid: 0b3b7a4e-2a7c-4a5e-9d64-1ad4a8e2c1f0, batch.kubernetes.io/job-name: render-frames, job-name: render-frames}\n", 1)
	y += "status:\n  active: 3\n"
	u, err := DecodeJob("got.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	o := baseOptions(t)
	o.Base = u
	j := mustJob(t, o)
	if j.UID != "" || j.ResourceVersion != "" || j.Generation != 0 || !j.CreationTimestamp.IsZero() || j.Spec.Selector != nil || j.Status.Active != 0 {
		t.Errorf("server-set fields kept: %s", toYAML(t, j))
	}
	if l := j.Spec.Template.Labels; l["app"] != "render" || l["controller-uid"] != "" || l[batchv1.JobNameLabel] != "" {
		t.Errorf("template labels = %v, want the controller's gone and the user's kept", l)
	}
}

func TestJobBaseKueueAndSuspend(t *testing.T) {
	o := baseOptions(t)
	o.KueueQueue = "team-a"
	j := mustJob(t, o)
	if j.Labels[LabelKueueQueue] != "team-a" || !ptr.Deref(j.Spec.Suspend, false) {
		t.Errorf("labels %v suspend %v: want the LocalQueue label and the Job created suspended", j.Labels, j.Spec.Suspend)
	}
	o.Suspend = ptr.To(false)
	if j := mustJob(t, o); ptr.Deref(j.Spec.Suspend, true) {
		t.Error("Suspend false did not override the Kueue default")
	}
	o = docsJob()
	o.Suspend = ptr.To(true)
	if j := mustJob(t, o); !ptr.Deref(j.Spec.Suspend, false) || j.Labels[LabelKueueQueue] != "" {
		t.Errorf("--suspend alone: suspend %v labels %v", j.Spec.Suspend, j.Labels)
	}
	o.KueueQueue = "Not A Queue"
	_, err := Job(o)
	fieldError(t, err, "kueueQueue")
}

func TestJobBaseErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		yaml   string
		mutate func(*JobOptions)
		field  string
		want   string
	}{
		{"completions", strings.Replace(userJobYAML, "  parallelism: 5\n", "  parallelism: 5\n  completions: 5\n", 1), nil,
			"base", "sets spec.completions (5), which a work-queue Job does not have"},
		{"other namespace", strings.Replace(userJobYAML, "  name: render-frames\n", "  name: render-frames\n  namespace: prod\n", 1), nil,
			"base", `is for namespace "prod", not "vfx"`},
		{"restart Always", strings.Replace(userJobYAML, "restartPolicy: Never", "restartPolicy: Always", 1), nil,
			"base", `restartPolicy "Always"`},
		{"generateName", strings.Replace(userJobYAML, "  name: render-frames\n", "  generateName: render-\n", 1), nil,
			"base", "generateName"},
		{"bad name", strings.Replace(userJobYAML, "name: render-frames", "name: Render_Frames", 1), nil,
			"base", `metadata.name "Render_Frames"`},
		{"no container chosen", userJobYAML, func(o *JobOptions) { o.Container = "" },
			"container", "is required: base has 2 containers: render, log-shipper"},
		{"unknown container", userJobYAML, func(o *JobOptions) { o.Container = "gpu" },
			"container", `"gpu": no such container: base has 2 containers: render, log-shipper`},
		{"no image", strings.Replace(userJobYAML, "image: registry.example/render:v7", "workingDir: /x", 1), nil,
			"image", "image is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := DecodeJob("job.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			o := baseOptions(t)
			o.Base = u
			if tc.mutate != nil {
				tc.mutate(&o)
			}
			_, err = Job(o)
			if e := fieldError(t, err, tc.field); !strings.Contains(e.Error(), tc.want) {
				t.Errorf("error %q, want it to say %q", e, tc.want)
			}
		})
	}
	// The one container of a Job needs no name.
	u, err := DecodeJob("job.yaml", []byte("apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: x:v1}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	j := mustJob(t, JobOptions{Base: u, Queue: "job2"})
	if j.Name != JobName("job2") || envMap(t, j.Spec.Template.Spec.Containers[0])[workerenv.Queue].Value != "job2" ||
		j.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever || *j.Spec.Parallelism != 1 {
		t.Errorf("minimal Job: %s", toYAML(t, j))
	}
}

func TestDecodeJobErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		line       int
		want       string
	}{
		{"deployment", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2\n", 0, "job.yaml: is a Deployment (apps/v1), not a batch/v1 Job"},
		{"no kind", "metadata: {name: x}\n", 0, "is an object without apiVersion and kind, not a batch/v1 Job"},
		{"cronjob", "apiVersion: batch/v1\nkind: CronJob\n", 0, "is a CronJob (batch/v1)"},
		{"typo", "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        imag: x\n", 8,
			"spec.template.spec.containers[0].imag: unknown field"},
		{"not yaml", "apiVersion: batch/v1\nkind: Job\nspec: [\n", 3, "not valid YAML"},
		{"two objects", "apiVersion: batch/v1\nkind: Job\n---\napiVersion: batch/v1\nkind: Job\n", 3, "more than one YAML document"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeJob("job.yaml", []byte(tc.yaml))
			var pe *objpatch.Error
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %q", err, tc.want)
			}
			if !errors.As(err, &pe) || pe.Line != tc.line {
				t.Errorf("error %v: want line %d", err, tc.line)
			}
		})
	}
}

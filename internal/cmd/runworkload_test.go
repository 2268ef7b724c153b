package cmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
)

// docsJobYAML is the Kubernetes docs' job.yaml for the work-queue pattern.
const docsJobYAML = `apiVersion: batch/v1
kind: Job
metadata:
  name: job-wq-2
spec:
  parallelism: 2
  template:
    metadata:
      name: job-wq-2
    spec:
      containers:
      - name: c
        image: gcr.io/myproject/job-wq-2
      restartPolicy: OnFailure
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func dryRunJob(t *testing.T, stdin string, args ...string) *batchv1.Job {
	t.Helper()
	noCluster(t)
	r := run(t, stdin, append([]string{"-n", "team", "run", "--dry-run=client", "-o", "yaml"}, args...)...)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.errOut)
	}
	var job batchv1.Job
	if err := yaml.UnmarshalStrict([]byte(r.out), &job); err != nil {
		t.Fatalf("%v\n%s", err, r.out)
	}
	return &job
}

func envOf(job *batchv1.Job, container int) map[string]string {
	env := map[string]string{}
	for _, e := range job.Spec.Template.Spec.Containers[container].Env {
		env[e.Name] = e.Value
	}
	return env
}

func TestRunFileIsTheBase(t *testing.T) {
	path := writeFile(t, "job.yaml", docsJobYAML)
	job := dryRunJob(t, "", "job2", "-f", path)
	c := job.Spec.Template.Spec.Containers[0]
	if job.Name != "job-wq-2" || job.Namespace != "team" || *job.Spec.Parallelism != 2 || c.Name != "c" ||
		c.Image != "gcr.io/myproject/job-wq-2" || job.Spec.Template.Spec.RestartPolicy != "OnFailure" || job.Spec.Completions != nil {
		t.Errorf("the file's fields were not kept:\n%+v", job)
	}
	if env := envOf(job, 0); env["WORKQUEUE_QUEUE"] != "job2" || env["WORKQUEUE_REDIS_ADDR"] != "redis:6379" {
		t.Errorf("env = %v, want the queue's", env)
	}
	if job.Labels[manifest.LabelManagedBy] != manifest.ManagedByValue || job.Annotations[manifest.AnnotationQueue] != "job2" {
		t.Errorf("metadata = %+v", job.ObjectMeta)
	}
	// OnFailure: the API server allows no podFailurePolicy then.
	if job.Spec.PodFailurePolicy != nil {
		t.Errorf("podFailurePolicy = %+v with the file's restartPolicy OnFailure", job.Spec.PodFailurePolicy)
	}

	// Explicit flags override the file; the same from stdin.
	job = dryRunJob(t, docsJobYAML, "job2", "-f", "-", "--parallelism", "5", "--image", "mine:v2", "--restart", "Never", "--", "work", "{}")
	c = job.Spec.Template.Spec.Containers[0]
	if *job.Spec.Parallelism != 5 || c.Image != "mine:v2" || job.Spec.Template.Spec.RestartPolicy != "Never" ||
		c.Command[0] != manifest.WorkerInstalledBinary || job.Spec.PodFailurePolicy == nil {
		t.Errorf("flags did not override the file: %+v", job.Spec)
	}
}

func TestRunPatchFile(t *testing.T) {
	patch := writeFile(t, "gpu.yaml", `spec:
  template:
    spec:
      nodeSelector: {accelerator: a100}
      containers:
      - name: worker
        volumeMounts: [{name: input, mountPath: /input}]
      volumes: [{name: input, configMap: {name: input}}]
`)
	job := dryRunJob(t, "", "job2", "--image", "x:v1", "--patch-file", patch, "--patch", `{"spec":{"template":{"spec":{"priorityClassName":"low"}}}}`, "--", "cat")
	pod := job.Spec.Template.Spec
	// The patch's volume, the worker binary's, and init --tls's CA (optional).
	if pod.NodeSelector["accelerator"] != "a100" || pod.PriorityClassName != "low" || len(pod.Volumes) != 3 || len(pod.Containers[0].VolumeMounts) != 3 {
		t.Errorf("patches not applied: %+v", pod)
	}
	if envOf(job, 0)["WORKQUEUE_QUEUE"] != "job2" || pod.Containers[0].Command[0] != manifest.WorkerInstalledBinary {
		t.Errorf("the patch lost the worker: %+v", pod.Containers[0])
	}
	// A JSON patch, and a worker container of another name.
	job = dryRunJob(t, "", "job2", "--image", "x:v1", "--container", "gpu", "--patch-type", "json",
		"--patch", `[{"op":"add","path":"/spec/template/spec/containers/0/args","value":["--fast"]}]`)
	if c := job.Spec.Template.Spec.Containers[0]; c.Name != "gpu" || c.Args[0] != "--fast" {
		t.Errorf("container = %+v", c)
	}
}

func TestRunKueueAndSuspend(t *testing.T) {
	job := dryRunJob(t, "", "job2", "--image", "x:v1", "--kueue-queue", "team-a")
	if job.Labels[manifest.LabelKueueQueue] != "team-a" || !ptr.Deref(job.Spec.Suspend, false) {
		t.Errorf("labels %v suspend %v", job.Labels, job.Spec.Suspend)
	}
	job = dryRunJob(t, "", "job2", "--image", "x:v1", "--suspend")
	if !ptr.Deref(job.Spec.Suspend, false) {
		t.Errorf("--suspend: suspend %v", job.Spec.Suspend)
	}
	job = dryRunJob(t, "", "job2", "--image", "x:v1")
	if job.Spec.Suspend != nil || job.Spec.Template.Spec.AutomountServiceAccountToken == nil || *job.Spec.Template.Spec.AutomountServiceAccountToken {
		t.Errorf("default: suspend %v, automount %v", job.Spec.Suspend, job.Spec.Template.Spec.AutomountServiceAccountToken)
	}
}

func TestRunWorkloadErrors(t *testing.T) {
	noCluster(t)
	deployment := writeFile(t, "web.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n")
	twoContainers := writeFile(t, "two.yaml", strings.Replace(docsJobYAML, "      restartPolicy: OnFailure\n", "      - {name: sidecar, image: s:v1}\n      restartPolicy: OnFailure\n", 1))
	completions := writeFile(t, "c.yaml", strings.Replace(docsJobYAML, "  parallelism: 2\n", "  parallelism: 2\n  completions: 4\n", 1))
	notYAML := writeFile(t, "bad.yaml", "spec:\n  template: [\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-f", deployment}, deployment + ": is a Deployment (apps/v1), not a batch/v1 Job"},
		{[]string{"-f", filepath.Join(t.TempDir(), "none.yaml")}, "-f: open "},
		{[]string{"-f", twoContainers}, "--container is required: " + twoContainers + " has 2 containers: c, sidecar"},
		{[]string{"-f", twoContainers, "--container", "main"}, `--container "main": no such container`},
		{[]string{"-f", completions}, completions + " sets spec.completions (4), which a work-queue Job does not have"},
		{[]string{"-f", completions}, "or use --per-item"},
		{[]string{"--image", "x", "--patch-file", notYAML}, notYAML + ": line 2: not valid YAML or JSON"},
		{[]string{"--image", "x", "--patch-type", "json", "--patch", `[{"op":"remove","path":"/spec/template/spec/nodeSelector"}]`},
			"--patch: line 1: operation 1 (remove /spec/template/spec/nodeSelector): the path does not exist"},
		{[]string{"--image", "x", "--patch-type", "apply"}, `--patch-type "apply": must be strategic, merge or json`},
		{[]string{"--image", "x", "--patch-type", "merge", "--patch", `{"spec":{"template":{"spec":{"containers":[{"name":"worker","image":"y"}]}}}}`},
			`--patch: undoes what the workers need: removes env WORKQUEUE_QUEUE of container "worker"`},
		{[]string{"--image", "x", "--parallelism", "auto"}, "--parallelism auto needs --max-parallelism"},
		{[]string{"--image", "x", "--max-parallelism", "3"}, "--max-parallelism 3: applies to --parallelism auto only"},
		{[]string{"--image", "x", "--parallelism", "lots"}, `invalid argument "lots" for "-p, --parallelism" flag: want a number of pods or auto`},
		{[]string{"--image", "x", "--kueue-queue", "Team A"}, `--kueue-queue "Team A": `},
	} {
		r := run(t, "", append([]string{"run", "q", "--dry-run=client"}, tc.args...)...)
		if r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, r.err, tc.want)
		}
	}
}

// Bad input changes nothing on the cluster.
func TestRunBadWorkloadAppliesNothing(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	mustRun(t, "", url, "seed", q, "a", "b", "c")
	deployment := writeFile(t, "web.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n")
	kube := fake.NewClientset()
	for _, args := range [][]string{
		{"-f", deployment},
		{"--image", "x", "--patch", "spec: [\n"},
		{"--image", "x", "--patch-type", "json", "--patch", `[{"op":"replace","path":"/spec/nope","value":1}]`},
	} {
		r := runKube(t, kube, append([]string{url, "-n", "ns", "run", q, "--quiet"}, args...)...)
		if r.err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	if jobs, _ := kube.BatchV1().Jobs("ns").List(context.Background(), metav1.ListOptions{}); len(jobs.Items) != 0 {
		t.Errorf("bad input created %d Jobs", len(jobs.Items))
	}
}

func TestRunNeverMorePodsThanItems(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	mustRun(t, "", url, "seed", q, "a", "b", "c")
	kube := fake.NewClientset()
	for _, tc := range []struct {
		args []string
		want int32
		says string
	}{
		{[]string{"--parallelism", "20"}, 3, "parallelism 20 lowered to 3: the queue has 3 pending items"},
		{[]string{"--parallelism", "2"}, 2, ""},
		{[]string{"--parallelism", "auto", "--max-parallelism", "10"}, 3, "parallelism auto: 3 pods for 3 pending items (--max-parallelism 10)"},
		{[]string{"-p", "auto", "--max-parallelism", "2"}, 2, "parallelism auto: 2 pods for 3 pending items"},
	} {
		r := runKube(t, kube, append([]string{url, "-n", "ns", "run", q, "--image", "x", "--wait=false", "--replace"}, tc.args...)...)
		if r.err != nil {
			t.Fatalf("%v: %v", tc.args, r.err)
		}
		job, err := kube.BatchV1().Jobs("ns").Get(context.Background(), manifest.JobName(q), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if *job.Spec.Parallelism != tc.want {
			t.Errorf("%v: parallelism %d, want %d", tc.args, *job.Spec.Parallelism, tc.want)
		}
		if lines := strings.Count(r.errOut, "\n"); (tc.says == "" && lines != 0) || (tc.says != "" && (!strings.Contains(r.errOut, tc.says) || lines != 1)) {
			t.Errorf("%v: stderr %q, want one line saying %q", tc.args, r.errOut, tc.says)
		}
	}
}

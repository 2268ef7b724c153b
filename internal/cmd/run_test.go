package cmd

import (
	"context"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/version"
)

func TestRunDryRunClientPrintsTheJobWithNoClusterOrRedis(t *testing.T) {
	noCluster(t)
	r := run(t, "", "--redis-service=nowhere", "-n", "team", "run", "job2", "--image", "busybox:1.36", "--parallelism", "3",
		"--dry-run=client", "-o", "yaml", "--", "sh", "-c", "echo $WORKQUEUE_ITEM")
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.errOut)
	}
	var job batchv1.Job
	if err := yaml.Unmarshal([]byte(r.out), &job); err != nil {
		t.Fatalf("%v\n%s", err, r.out)
	}
	if job.Name != "wq-job2" || job.Namespace != "team" || *job.Spec.Parallelism != 3 || job.Spec.Completions != nil {
		t.Fatalf("job %s/%s parallelism %v completions %v", job.Namespace, job.Name, job.Spec.Parallelism, job.Spec.Completions)
	}
	c := job.Spec.Template.Spec.Containers[0]
	if strings.Join(c.Command, " ") != "/workqueue/bin/workqueue-worker -- sh -c echo $WORKQUEUE_ITEM" {
		t.Fatalf("command %q", c.Command)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if env["WORKQUEUE_REDIS_ADDR"].Value != "nowhere:6379" || env["WORKQUEUE_QUEUE"].Value != "job2" {
		t.Fatalf("env %+v", c.Env)
	}
	pw := env["WORKQUEUE_REDIS_PASSWORD"].ValueFrom
	if pw == nil || pw.SecretKeyRef.Name != manifest.PasswordSecretName("nowhere") || !*pw.SecretKeyRef.Optional {
		t.Fatalf("password must come from init's Secret, optionally: %+v", env["WORKQUEUE_REDIS_PASSWORD"])
	}
}

// withVersion makes the command believe it is build v.
func withVersion(t *testing.T, v string) {
	old := version.Version
	version.Version = v
	t.Cleanup(func() { version.Version = old })
}

func TestRunWorkerImageIsThisReleasesOrMustBeGiven(t *testing.T) {
	noCluster(t)
	args := []string{"run", "q", "--image", "busybox:1.36", "--dry-run=client", "-o", "yaml", "--", "true"}

	withVersion(t, "v1.2.3")
	r := run(t, "", args...)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.errOut)
	}
	var job batchv1.Job
	if err := yaml.Unmarshal([]byte(r.out), &job); err != nil {
		t.Fatalf("%v\n%s", err, r.out)
	}
	if ic := job.Spec.Template.Spec.InitContainers; len(ic) != 1 || ic[0].Image != version.WorkerImageRepo+":v1.2.3" {
		t.Fatalf("release v1.2.3 must inject its own worker image %s:v1.2.3; init containers: %+v", version.WorkerImageRepo, ic)
	}

	// `go install …@main` and plain `go build` are no release: no image
	// exists under their version, so say so before anything is created.
	for _, v := range []string{"dev", "v0.0.0-20261130053200-cc850a8e1f2b"} {
		withVersion(t, v)
		r = run(t, "", args...)
		if r.err == nil || !strings.Contains(r.err.Error(), "--worker-image "+version.WorkerImageRepo+":<release tag>") {
			t.Errorf("version %s: error %v, want one saying how to pass --worker-image", v, r.err)
		}
		if r.out != "" {
			t.Errorf("version %s: printed a Job:\n%s", v, r.out)
		}
		r = run(t, "", append([]string{"run", "q", "--worker-image", "example.com/w:v1"}, args[2:]...)...)
		if r.err != nil {
			t.Errorf("version %s with --worker-image: %v", v, r.err)
		}
	}
}

func TestRunFlagErrorsNameTheFlag(t *testing.T) {
	noCluster(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "q", "--dry-run=client"}, "--image is required"},
		{[]string{"run", "q", "--image", "x", "extra"}, "after --"},
		{[]string{"run", "q", "--image", "x", "--dry-run=maybe"}, "--dry-run"},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--requests", "cpu"}, "--requests"},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--env", "NOVALUE"}, "--env"},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--restart", "Always"}, "--restart"},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--parallelism", "0"}, "--parallelism"},
		{[]string{"--redis-port", "redis", "run", "q", "--image", "x", "--dry-run=client"}, "--redis-port"},
		// The generator's errors, in run's flags.
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--active-deadline", "-1h"}, "--active-deadline -1h0m0s: must be at least 1s"},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--active-deadline", "500ms"}, "--active-deadline 500ms: must be at least 1s"},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--ttl-after-finished", "-5s"}, "--ttl-after-finished -5s: must not be negative"},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--backoff-limit", "-1"}, "--backoff-limit -1: must not be negative"},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--lease", "10ms"}, "--lease 10ms: must be at least 1s"},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--max-attempts", "-1"}, "--max-attempts -1: must be at least 1"},
		// Values that were silently rewritten, or refused only by the API server.
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--max-attempts", "0"}, "--max-attempts 0: must be at least 1"},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--lease", "0s"}, "--lease 0s: must be at least 1s"},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--limits", "memory=16Mi,memory=32Mi"}, `--limits "memory=16Mi,memory=32Mi": memory is given more than once`},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--labels", "a=1,a=2"}, `--labels "a=1,a=2": a is given more than once`},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--limits", "cpu=-1"}, `--limits "cpu=-1": must not be negative`},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--requests", "foo=1"}, `--requests "foo": is no resource of a container`},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--limits", "kubernetes.io/foo=1"}, `--limits "kubernetes.io/foo": is no resource of a container`},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--name", "My_Job"}, `--name "My_Job": `},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--service-account", "Bad SA"}, `--service-account "Bad SA": `},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--image-pull-secret", "Not_OK"}, `--image-pull-secret "Not_OK": `},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--labels", "workqueue.kubectl.io/queue=x"}, `--labels "workqueue.kubectl.io/queue": is set by kubectl-workqueue`},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--env", "WORKQUEUE_LEASE=1s"}, `--env "WORKQUEUE_LEASE": is set by kubectl-workqueue; use --lease`},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--env", "WORKQUEUE_REDIS_ADDR=x:1"}, "use --redis-service and --redis-port"},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--env", "WORKQUEUE_REDIS_PASSWORD=x"}, "use --redis-password-secret"},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--env", "WORKQUEUE_QUEUE=x"}, "use the QUEUE argument"},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--requests", "memory=1Gi", "--limits", "memory=512Mi"}, `--requests "memory=1Gi": must not exceed its limit (512Mi)`},
		{[]string{"--redis-service", "Redis!", "run", "q", "--image", "x", "--dry-run=client"}, `--redis-service "Redis!": `},
		{[]string{"--redis-password-secret", "creds:", "run", "q", "--image", "x", "--dry-run=client"}, `--redis-password-secret "creds:": want NAME or NAME:KEY`},
		{[]string{"--redis-password-secret", "s:a/b", "run", "q", "--image", "x", "--dry-run=client"}, `--redis-password-secret KEY "a/b": `},
		{[]string{"run", "q", "--image", "x", "--dry-run=client", "--redis-timeout", "-1s"}, "--redis-timeout"},
	} {
		r := run(t, "", tc.args...)
		if r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one naming %s", tc.args, r.err, tc.want)
		}
		// Flags run does not have.
		for _, wrong := range []string{"--active-deadline-seconds", "--ttl-seconds-after-finished", "--completions"} {
			if r.err != nil && strings.Contains(r.err.Error(), wrong) {
				t.Errorf("%v: error %q names %s, which run does not have", tc.args, r.err, wrong)
			}
		}
	}
}

func TestRunRefusesAnEmptyQueue(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	kube := fake.NewClientset()
	r := runKube(t, kube, url, "-n", "ns", "run", q, "--image", "x")
	if r.err == nil || !strings.Contains(r.err.Error(), "no pending items") || !strings.Contains(r.err.Error(), "--allow-empty") {
		t.Fatalf("error %v", r.err)
	}
	if jobs, _ := kube.BatchV1().Jobs("ns").List(context.Background(), metav1.ListOptions{}); len(jobs.Items) != 0 {
		t.Fatal("a Job was created for an empty queue")
	}
}

// finishJobWhenCreated plays the Job controller: it waits (by watching)
// for the Job to appear, runs its pods (work), and marks it Complete or Failed.
func finishJobWhenCreated(t *testing.T, kube *fake.Clientset, ns string, cond batchv1.JobConditionType, reason string, work ...func()) {
	w, err := kube.BatchV1().Jobs(ns).Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			job, ok := ev.Object.(*batchv1.Job)
			if !ok || len(job.Status.Conditions) > 0 {
				continue
			}
			for _, w := range work {
				w()
			}
			job = job.DeepCopy()
			job.Status.Succeeded = 2
			job.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue, Reason: reason, Message: "from the test"}}
			kube.BatchV1().Jobs(ns).UpdateStatus(context.Background(), job, metav1.UpdateOptions{})
			return
		}
	}()
}

func TestRunAppliesTheJobAndWaitsForComplete(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	mustRun(t, "", url, "seed", q, "a", "b", "c")
	kube := fake.NewClientset()
	finishJobWhenCreated(t, kube, "ns", batchv1.JobComplete, "CompletionsReached", func() { workQueue(t, q) })
	r := runKube(t, kube, url, "-n", "ns", "run", q, "--image", "worker:v1", "--parallelism", "2", "--quiet")
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.errOut)
	}
	name := manifest.JobName(q)
	if !strings.Contains(r.out, "job.batch/"+name+" created\n") || !strings.Contains(r.out, "job.batch/"+name+" complete") {
		t.Fatalf("stdout %q", r.out)
	}
	job, err := kube.BatchV1().Jobs("ns").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if job.Annotations[manifest.AnnotationQueue] != q || job.ManagedFields[0].Manager != manifest.FieldManager {
		t.Fatalf("job not tied to its queue or not applied by us: %v %v", job.Annotations, job.ManagedFields)
	}
	// The queue's identity and size are on the Job, where a Redis that loses
	// its data cannot lose them.
	if job.Annotations[manifest.AnnotationQueueEpoch] == "" || job.Annotations[manifest.AnnotationQueueSeeded] != "3" {
		t.Fatalf("job does not record the queue's identity and size: %v", job.Annotations)
	}

	// Once more: the Job exists and has finished.
	r = runKube(t, kube, url, "-n", "ns", "run", q, "--image", "worker:v1", "--allow-empty")
	if r.err == nil || !strings.Contains(r.err.Error(), "already finished (Complete)") || !strings.Contains(r.err.Error(), "--replace") {
		t.Fatalf("second run: %v", r.err)
	}
}

// Workers started before their items (--allow-empty) wait for the first
// seed; others take a queue that was never seeded for a lost one.
func TestRunAllowEmptyMakesWorkersWaitForTheSeed(t *testing.T) {
	noCluster(t)
	for _, tc := range []struct {
		args []string
		want map[string]string
	}{
		{[]string{"--allow-empty"}, map[string]string{"WORKQUEUE_WAIT_FOR_SEED": "true"}},
		{[]string{"--redis-timeout", "10m"}, map[string]string{"WORKQUEUE_WAIT_FOR_SEED": "", "WORKQUEUE_REDIS_TIMEOUT": "10m0s"}},
	} {
		args := append([]string{"run", "q", "--image", "x", "--worker-image", "example.com/w:v1", "--dry-run=client", "-o", "yaml"}, tc.args...)
		r := run(t, "", append(args, "--", "true")...)
		if r.err != nil {
			t.Fatalf("%v: %v", tc.args, r.err)
		}
		var job batchv1.Job
		if err := yaml.Unmarshal([]byte(r.out), &job); err != nil {
			t.Fatal(err)
		}
		env := map[string]string{}
		for _, e := range job.Spec.Template.Spec.Containers[0].Env {
			env[e.Name] = e.Value
		}
		for k, v := range tc.want {
			if env[k] != v {
				t.Errorf("%v: %s=%q, want %q", tc.args, k, env[k], v)
			}
		}
	}
}

// A dry run says so in kubectl's words, so that nobody takes it for a Job
// that was created.
func TestRunClientDryRunSaysSo(t *testing.T) {
	noCluster(t)
	r := run(t, "", "run", "q", "--image", "busybox:1.36", "--dry-run=client")
	if r.err != nil || r.out != "job.batch/wq-q created (dry run)\n" {
		t.Fatalf("%v, stdout %q", r.err, r.out)
	}
}

package cmd

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
)

// noCluster points kubectl's loading rules at a kubeconfig that does not exist.
func noCluster(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	t.Setenv("HOME", t.TempDir())
}

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
	} {
		r := run(t, "", tc.args...)
		if r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one naming %s", tc.args, r.err, tc.want)
		}
	}
}

func TestRunRefusesAnEmptyQueue(t *testing.T) {
	url, q := redisURL(t), queueName(t)
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
	url, q := redisURL(t), queueName(t)
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

	// Once more: the Job exists and has finished.
	r = runKube(t, kube, url, "-n", "ns", "run", q, "--image", "worker:v1", "--allow-empty")
	if r.err == nil || !strings.Contains(r.err.Error(), "already finished (Complete)") || !strings.Contains(r.err.Error(), "--replace") {
		t.Fatalf("second run: %v", r.err)
	}
}

func TestWaitReportsAFailedJobWithItsReason(t *testing.T) {
	kube := fake.NewClientset(&batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "wq-x", Namespace: "ns"},
		Status: batchv1.JobStatus{Failed: 7, Conditions: []batchv1.JobCondition{{
			Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"}}},
	})
	r := runKube(t, kube, "-n", "ns", "wait", "wq-x", "--quiet")
	if r.err == nil || !strings.Contains(r.err.Error(), "BackoffLimitExceeded") || !strings.Contains(r.err.Error(), "7 failed") {
		t.Fatalf("error %v", r.err)
	}
}

func TestWaitFailsFastWhenAPodCannotPullItsImage(t *testing.T) {
	kube := fake.NewClientset(
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "wq-x", Namespace: "ns"}, Status: batchv1.JobStatus{Active: 1}},
		&corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "wq-x-abcde", Namespace: "ns", Labels: map[string]string{"job-name": "wq-x"}},
			Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
				Name: "worker", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "127.0.0.1:5/none:v1"`}}}}},
		},
	)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := newFactory()
	f.kube = kube
	r := runWith(t, ctx, f, "", "-n", "ns", "wait", "wq-x", "--quiet")
	if r.err == nil || !strings.Contains(r.err.Error(), "wq-x-abcde") || !strings.Contains(r.err.Error(), "ImagePullBackOff") {
		t.Fatalf("error %v", r.err)
	}
}

func TestWaitForAMissingJob(t *testing.T) {
	r := runKube(t, fake.NewClientset(), "-n", "ns", "wait", "nope")
	if r.err == nil || r.err.Error() != `job "nope" not found in namespace "ns"` {
		t.Fatalf("error %v", r.err)
	}
}

func TestWaitInterruptedLeavesTheJobAndSaysHowToResume(t *testing.T) {
	kube := fake.NewClientset(&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "wq-x", Namespace: "ns"}, Status: batchv1.JobStatus{Active: 2}})
	// The user pressed Ctrl-C: the command's context is cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := newFactory()
	f.kube = kube
	r := runWith(t, ctx, f, "", "-n", "ns", "wait", "wq-x", "--quiet")
	if r.err != ErrInterrupted || !strings.Contains(r.errOut, "kubectl workqueue wait wq-x -n ns") {
		t.Fatalf("error %v, stderr %q", r.err, r.errOut)
	}
	if _, err := kube.BatchV1().Jobs("ns").Get(context.Background(), "wq-x", metav1.GetOptions{}); err != nil {
		t.Fatal("the Job was touched")
	}
}

func TestLogsPrefixesEveryPodsLinesFinishedPodsIncluded(t *testing.T) {
	pod := func(name string, phase corev1.PodPhase) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"job-name": "wq-x"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "worker"}}},
			Status: corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{
				Name: "worker", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}}}},
		}
	}
	kube := fake.NewClientset(
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "wq-x", Namespace: "ns"}, Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "worker"}}}}}},
		pod("wq-x-a", corev1.PodSucceeded), pod("wq-x-b", corev1.PodFailed),
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "ns", Labels: map[string]string{"job-name": "other"}}},
	)
	r := runKube(t, kube, "-n", "ns", "logs", "wq-x")
	if r.err != nil {
		t.Fatal(r.err)
	}
	// The fake clientset answers every log request with "fake logs".
	if r.out != "[wq-x-a] fake logs\n[wq-x-b] fake logs\n" && r.out != "[wq-x-b] fake logs\n[wq-x-a] fake logs\n" {
		t.Fatalf("stdout %q", r.out)
	}
	if r.errOut != "" {
		t.Fatalf("stderr %q", r.errOut)
	}
	// The Job counts a third pod that has been deleted since.
	job, _ := kube.BatchV1().Jobs("ns").Get(context.Background(), "wq-x", metav1.GetOptions{})
	job.Status.Succeeded, job.Status.Failed = 2, 1
	kube.BatchV1().Jobs("ns").UpdateStatus(context.Background(), job, metav1.UpdateOptions{})
	r = runKube(t, kube, "-n", "ns", "logs", "wq-x")
	if !strings.Contains(r.errOut, "counts 3 pods but only 2 exist") {
		t.Fatalf("no word of the deleted pod: stderr %q", r.errOut)
	}
	if r := runKube(t, kube, "-n", "ns", "logs", "nope"); r.err == nil || !strings.Contains(r.err.Error(), "not found") {
		t.Fatalf("missing job: %v", r.err)
	}
	if r := runKube(t, kube, "-n", "ns", "logs", "wq-x", "-o", "yaml"); r.err == nil || !strings.Contains(r.err.Error(), "json") {
		t.Fatalf("-o yaml: %v", r.err)
	}
}

func TestCommandsNameWhatIsMissing(t *testing.T) {
	noCluster(t)
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"logs"}, "JOB is required: kubectl workqueue logs JOB"},
		{[]string{"wait", "a", "b"}, "one JOB expected"},
		{[]string{"status"}, "QUEUE is required"},
		{[]string{"seed"}, "QUEUE is required"},
		{[]string{"status", "job2"}, "no Kubernetes cluster configured"},
	} {
		r := run(t, "", tc.args...)
		if r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, r.err, tc.want)
		}
	}
}

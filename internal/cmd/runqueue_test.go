package cmd

import (
	"context"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

func clientDryRun(t *testing.T, args ...string) (*batchv1.Job, result) {
	t.Helper()
	r := run(t, "", args...)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.errOut)
	}
	var job batchv1.Job
	if err := yaml.Unmarshal([]byte(r.out), &job); err != nil {
		t.Fatalf("%v\n%s", err, r.out)
	}
	return &job, r
}

// As kubectl create's: without -n the manifest names no namespace, so that
// "kubectl apply -n X -f -" puts it into X.
func TestRunClientDryRunNamesANamespaceOnlyWithN(t *testing.T) {
	noCluster(t)
	job, _ := clientDryRun(t, "run", "job2", "--image", "x:v1", "--dry-run=client", "-o", "yaml")
	if job.Namespace != "" {
		t.Errorf("namespace %q without -n", job.Namespace)
	}
	job, _ = clientDryRun(t, "-n", "team", "run", "job2", "--image", "x:v1", "--dry-run=client", "-o", "yaml")
	if job.Namespace != "team" {
		t.Errorf("namespace %q with -n team", job.Namespace)
	}
}

// A client dry run reads no queue, so it cannot know --per-item's
// completions: it leaves them out and says so, rather than print 1.
func TestRunPerItemClientDryRunLeavesCompletionsOut(t *testing.T) {
	noCluster(t)
	job, r := clientDryRun(t, "run", "job2", "--image", "x:v1", "--per-item", "--dry-run=client", "-o", "yaml", "--", "true")
	if job.Spec.Completions != nil {
		t.Errorf("completions %d", *job.Spec.Completions)
	}
	if !strings.Contains(r.errOut, "Warning: --per-item: completions (one per pending item) are set from the queue") {
		t.Errorf("stderr %q", r.errOut)
	}
}

// An item whose worker died stays in progress until a worker reclaims it:
// run starts the workers that will, rather than call the queue empty.
func TestRunStartsWorkersForItemsWhoseWorkerIsGone(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	mustRun(t, "", url, "seed", q, "a", "b")
	ctx := context.Background()
	dead := queue.New(redisClient(t), q)
	if _, err := dead.Lease(ctx, 2, time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	// The worker and its leases are gone.
	if err := dead.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	for _, it := range []string{"a", "b"} {
		redisClient(t).Del(ctx, dead.LeaseKey([]byte(it)))
	}
	kube := fake.NewClientset()
	r := runKube(t, kube, url, "-n", "ns", "run", q, "--image", "x:v1", "--per-item", "--wait=false", "--", "true")
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.errOut)
	}
	if !strings.Contains(r.errOut, "2 items in progress without a live worker; the new workers take them back") {
		t.Errorf("stderr %q", r.errOut)
	}
	job, err := kube.BatchV1().Jobs("ns").Get(ctx, manifest.JobName(q), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := job.Spec.Completions; c == nil || *c != 2 {
		t.Errorf("completions %v, want 2", c)
	}
}

// Items held by live workers need no new ones: run says so, not "seed it first".
func TestRunRefusesAQueueWhoseItemsAreAllHeldByLiveWorkers(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	mustRun(t, "", url, "seed", q, "a")
	if _, err := queue.New(redisClient(t), q).Lease(context.Background(), 1, time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	r := runKube(t, fake.NewClientset(), url, "-n", "ns", "run", q, "--image", "x:v1")
	if r.err == nil || !strings.Contains(r.err.Error(), "live workers (of another Job?) hold the 1 item in progress") {
		t.Fatalf("error %v", r.err)
	}
}

// {} inside a shell script runs an item such as "a; echo INJECTED" as code:
// run refuses it and says to use $WORKQUEUE_ITEM.
func TestRunRefusesBracesInsideAShellScript(t *testing.T) {
	noCluster(t)
	r := run(t, "", "run", "q", "--image", "busybox:1.36", "--dry-run=client", "--", "sh", "-c", "echo processing {}")
	if r.err == nil || !strings.Contains(r.err.Error(), `-- sh -c echo processing {}: sh -c: {} in the script is replaced by the item as text`) ||
		!strings.Contains(r.err.Error(), `"$WORKQUEUE_ITEM"`) {
		t.Fatalf("error %v", r.err)
	}
	clientDryRun(t, "run", "q", "--image", "busybox:1.36", "--dry-run=client", "-o", "yaml", "--", "sh", "-c", `echo processing "$1"`, "sh", "{}")
}

// run --allow-empty reads no queue; in a namespace without init its workers
// would crash-loop for minutes, so run looks for their Service first.
func TestRunAllowEmptyRefusesANamespaceWithoutTheRedisService(t *testing.T) {
	noCluster(t)
	args := []string{"-n", "ns", "run", "q", "--image", "x:v1", "--allow-empty", "--wait=false", "--", "true"}
	kube := fake.NewClientset()
	r := runKube(t, kube, args...)
	if r.err == nil || !strings.Contains(r.err.Error(), `service "redis" not found in namespace "ns", and the workers reach Redis through it: create it with 'kubectl workqueue init -n ns'`) {
		t.Fatalf("error %v", r.err)
	}
	if jobs, _ := kube.BatchV1().Jobs("ns").List(context.Background(), metav1.ListOptions{}); len(jobs.Items) != 0 {
		t.Fatal("a Job was created")
	}
	kube = fake.NewClientset(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "redis", Namespace: "ns"}})
	if r := runKube(t, kube, args...); r.err != nil {
		t.Fatalf("with the Service: %v\n%s", r.err, r.errOut)
	}
}

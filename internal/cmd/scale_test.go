package cmd

import (
	"context"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
)

func workQueueJob(name, queueName string, parallelism int32) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns",
			Labels:      map[string]string{manifest.LabelManagedBy: manifest.ManagedByValue},
			Annotations: map[string]string{manifest.AnnotationQueue: queueName}},
		Spec:   batchv1.JobSpec{Parallelism: ptr.To(parallelism)},
		Status: batchv1.JobStatus{Active: parallelism},
	}
}

func parallelismOf(t *testing.T, kube *fake.Clientset, name string) int32 {
	t.Helper()
	job, err := kube.BatchV1().Jobs("ns").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return *job.Spec.Parallelism
}

func TestScale(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	mustRun(t, "", url, "seed", q, "a", "b", "c", "d", "e")
	kube := fake.NewClientset(workQueueJob("wq-x", q, 1))

	r := runKube(t, kube, url, "-n", "ns", "scale", "wq-x", "--parallelism", "3")
	if r.err != nil || parallelismOf(t, kube, "wq-x") != 3 || r.out != "job.batch/wq-x scaled: parallelism 3 (was 1)\n" {
		t.Fatalf("scale to 3: %v, stdout %q, parallelism %d", r.err, r.out, parallelismOf(t, kube, "wq-x"))
	}
	r = runKube(t, kube, url, "-n", "ns", "scale", "wq-x", "-p", "0")
	if r.err != nil || parallelismOf(t, kube, "wq-x") != 0 || !strings.Contains(r.out, "job.batch/wq-x paused: parallelism 0 (was 3); resume with: kubectl workqueue scale wq-x -n ns --parallelism N") {
		t.Fatalf("pause: %v, stdout %q", r.err, r.out)
	}
	// Never more pods than items left.
	r = runKube(t, kube, url, "-n", "ns", "scale", "wq-x", "-p", "50")
	if r.err != nil || parallelismOf(t, kube, "wq-x") != 5 || !strings.Contains(r.errOut, "parallelism 50 lowered to 5: queue \""+q+"\" has 5 items left") {
		t.Fatalf("scale to 50: %v, stderr %q, parallelism %d", r.err, r.errOut, parallelismOf(t, kube, "wq-x"))
	}
}

func TestScaleErrors(t *testing.T) {
	notOurs := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "etl", Namespace: "ns"}, Spec: batchv1.JobSpec{Parallelism: ptr.To[int32](2)}}
	done := workQueueJob("wq-done", "q", 1)
	done.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
	kube := fake.NewClientset(notOurs, done)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"scale", "etl", "--parallelism", "3"}, `job "etl" was not made by kubectl workqueue run (it has no workqueue.kubectl.io/queue annotation): change it with kubectl patch job etl -n ns -p '{"spec":{"parallelism":3}}'`},
		{[]string{"scale", "wq-done", "--parallelism", "3"}, `job "wq-done" has already finished (Complete)`},
		{[]string{"scale", "nope", "--parallelism", "3"}, `job "nope" not found in namespace "ns"`},
		{[]string{"scale", "etl"}, "--parallelism is required"},
		{[]string{"scale", "etl", "--parallelism", "-1"}, "--parallelism -1: must not be negative"},
		{[]string{"scale"}, "JOB is required"},
	} {
		r := runKube(t, kube, append([]string{"-n", "ns"}, tc.args...)...)
		if r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, r.err, tc.want)
		}
	}
	if p := parallelismOf(t, kube, "etl"); p != 2 {
		t.Errorf("a Job not made by us was scaled to %d", p)
	}
}

// --dry-run=client changes nothing and says what it would; --dry-run=server
// sends the change for the API server to validate, marked to be saved
// nowhere; -o prints the Job as it is after the change.
func TestScaleDryRunAndOutput(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	mustRun(t, "", url, "seed", q, "a", "b", "c", "d", "e")

	kube := fake.NewClientset(workQueueJob("wq-x", q, 1))
	r := runKube(t, kube, url, "-n", "ns", "scale", "wq-x", "-p", "3", "--dry-run")
	if r.err != nil || r.out != "job.batch/wq-x scaled (dry run): parallelism 3 (was 1)\n" {
		t.Fatalf("client dry run: %v, stdout %q", r.err, r.out)
	}
	if p := parallelismOf(t, kube, "wq-x"); p != 1 || len(patches(kube)) != 0 {
		t.Fatalf("a client dry run changed the Job: parallelism %d, patches %v", p, patches(kube))
	}

	r = runKube(t, kube, url, "-n", "ns", "scale", "wq-x", "-p", "0", "--dry-run=server")
	ps := patches(kube)
	if r.err != nil || !strings.HasPrefix(r.out, "job.batch/wq-x paused (server dry run): parallelism 0 (was 1)") ||
		len(ps) != 1 || !slices.Equal(ps[0].PatchOptions.DryRun, []string{metav1.DryRunAll}) {
		t.Fatalf("server dry run: %v, stdout %q, patches %+v", r.err, r.out, ps)
	}

	kube = fake.NewClientset(workQueueJob("wq-x", q, 1))
	r = runKube(t, kube, url, "-n", "ns", "scale", "wq-x", "-p", "50", "--dry-run", "-o", "yaml")
	var job batchv1.Job
	if err := yaml.UnmarshalStrict([]byte(r.out), &job); r.err != nil || err != nil {
		t.Fatalf("-o yaml: %v, %v, stdout %q", r.err, err, r.out)
	}
	if job.Kind != "Job" || job.Name != "wq-x" || *job.Spec.Parallelism != 5 || parallelismOf(t, kube, "wq-x") != 1 {
		t.Fatalf("-o yaml printed %s/%s with parallelism %d (want Job/wq-x, 5: capped at the items left)", job.Kind, job.Name, *job.Spec.Parallelism)
	}

	r = runKube(t, kube, url, "-n", "ns", "scale", "wq-x", "-p", "2", "-o", "name")
	if r.err != nil || r.out != "job.batch/wq-x\n" || parallelismOf(t, kube, "wq-x") != 2 {
		t.Fatalf("-o name: %v, stdout %q, parallelism %d", r.err, r.out, parallelismOf(t, kube, "wq-x"))
	}

	for _, args := range [][]string{{"--dry-run=maybe"}, {"-o", "wide"}} {
		r = runKube(t, kube, append([]string{"-n", "ns", "scale", "wq-x", "-p", "4"}, args...)...)
		if r.err == nil || parallelismOf(t, kube, "wq-x") != 2 {
			t.Errorf("%v: error %v, parallelism %d", args, r.err, parallelismOf(t, kube, "wq-x"))
		}
	}
}

func patches(kube *fake.Clientset) []k8stesting.PatchActionImpl {
	var out []k8stesting.PatchActionImpl
	for _, a := range kube.Actions() {
		if p, ok := a.(k8stesting.PatchActionImpl); ok {
			out = append(out, p)
		}
	}
	return out
}

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

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/jobwatch"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

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

// A Job whose pods cannot even be created has no pod to describe: wait
// points at the Job, whose events say why.
func TestWaitForAJobWhosePodsCannotBeCreatedPointsAtTheJob(t *testing.T) {
	kube := fake.NewClientset(
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "wq-x", Namespace: "ns", UID: "u1"}},
		&corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: "wq-x.1", Namespace: "ns"},
			InvolvedObject: corev1.ObjectReference{Kind: "Job", Name: "wq-x", Namespace: "ns", UID: "u1"},
			Type:           corev1.EventTypeWarning, Reason: "FailedCreate",
			Message: `pods "wq-x-abcde" is forbidden: violates PodSecurity "restricted:latest"`,
		},
	)
	r := runKube(t, kube, "-n", "ns", "wait", "wq-x", "--quiet")
	if r.err == nil || !strings.Contains(r.err.Error(), "the job controller: FailedCreate: pods \"wq-x-abcde\" is forbidden") {
		t.Fatalf("error %v", r.err)
	}
	if !strings.Contains(r.err.Error(), "Look closer: kubectl describe job wq-x -n ns\n") || strings.Contains(r.err.Error(), "describe pod ") {
		t.Fatalf("error %q, want it to point at kubectl describe job", r.err)
	}
}

// A crash-looping worker's reason is in its last run's logs.
func TestWaitForACrashLoopingPodPointsAtItsPreviousLogs(t *testing.T) {
	kube := fake.NewClientset(
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "wq-x", Namespace: "ns"}, Status: batchv1.JobStatus{Active: 1}},
		&corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "wq-x-abcde", Namespace: "ns", Labels: map[string]string{"job-name": "wq-x"}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
				Name: "worker", RestartCount: 4, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}},
		},
	)
	r := runKube(t, kube, "-n", "ns", "wait", "wq-x", "--quiet", "--stuck-grace", "1ms")
	if r.err == nil || !strings.Contains(r.err.Error(), "pod wq-x-abcde: CrashLoopBackOff: restarted 4 times") ||
		!strings.Contains(r.err.Error(), "Look closer: kubectl logs wq-x-abcde -c worker -n ns --previous\n") {
		t.Fatalf("error %v", r.err)
	}
}

func TestWaitFlagErrorsNameTheFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--timeout", "-1s"}, "--timeout -1s: must not be negative"},
		{[]string{"--stuck-grace", "0s"}, "--stuck-grace 0s: must be greater than zero"},
	} {
		kube := fake.NewClientset(&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "wq-x", Namespace: "ns"}})
		r := runKube(t, kube, append([]string{"-n", "ns", "wait", "wq-x", "--quiet"}, tc.args...)...)
		if r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, r.err, tc.want)
		}
	}
}

// The progress line says why a Job runs no pods, and shows the parallelism
// that scale changes.
func TestWaitProgressShowsParallelismPausedAndSuspended(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pods  jobwatch.Progress
		kueue string
		want  string
	}{
		{"running", jobwatch.Progress{Active: 3, Parallelism: 3}, "",
			"wq-x: 2/10 items done; pods: 3 active, 0 succeeded, 0 failed; parallelism 3"},
		{"paused", jobwatch.Progress{Parallelism: 0}, "",
			"wq-x: 2/10 items done; paused: parallelism 0 (resume with kubectl workqueue scale wq-x --parallelism N); pods: 0 active"},
		{"kueue", jobwatch.Progress{Parallelism: 2, Suspended: true}, "team-a",
			"wq-x: 2/10 items done; suspended: waiting for admission (Kueue LocalQueue team-a); pods: 0 active"},
		{"suspended", jobwatch.Progress{Parallelism: 2, Suspended: true}, "",
			"wq-x: 2/10 items done; suspended: waiting for spec.suspend=false; pods: 0 active"},
	} {
		var out strings.Builder
		p := newJobProgress(&out, "wq-x", time.Now(), false, false)
		p.pods, p.havePods, p.kueueQueue = tc.pods, true, tc.kueue
		p.queue = &queue.Stats{Done: 2, Pending: 8, Time: time.Now()}
		p.draw(true)
		p.stop()
		if !strings.HasPrefix(out.String(), tc.want) {
			t.Errorf("%s: progress %q, want it to start %q", tc.name, out.String(), tc.want)
		}
	}
}

// With restartPolicy Never, a crashing container is a pod that fails and is
// replaced, later each time: after --stuck-grace without an active pod,
// wait says so instead of sitting through the Job's back-off.
func TestWaitForPodsThatKeepFailing(t *testing.T) {
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "wq-x", Namespace: "ns"},
		Spec:       batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever}}},
		Status:     batchv1.JobStatus{Failed: 2},
	}
	pod := func(name string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"job-name": "wq-x"}},
			Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{
				Name: "worker", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}}},
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := newFactory()
	f.kube = fake.NewClientset(job, pod("wq-x-a"), pod("wq-x-b"))
	r := runWith(t, ctx, f, "", "-n", "ns", "wait", "wq-x", "--quiet", "--stuck-grace", "10ms")
	want := `job "wq-x" cannot run: its pods keep failing: 2 pods failed and none succeeded; the Job waits longer before each new one; the last exited with code 1 (Error)`
	if r.err == nil || !strings.HasPrefix(r.err.Error(), want) || !strings.Contains(r.err.Error(), "Look closer: kubectl logs wq-x-b -n ns") {
		t.Fatalf("error %v, want %q", r.err, want)
	}
}

// The docs' rediswq.py workers never take back the item of one of them that
// crashed: the others loop on a queue that is never empty, and the Job never
// completes. wait does it for them.
func TestWaitTakesBackTheItemOfAWorkerThatDied(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	mustRun(t, "", url, "seed", q, "a", "b")
	rdb := redisClient(t)
	// A docs worker's lease, then its death before it set its lease key or
	// after that key ran out: the item is in processing, held by nobody.
	if err := rdb.RPopLPush(context.Background(), q, q+":processing").Err(); err != nil {
		t.Fatal(err)
	}
	old := reclaimGrace
	reclaimGrace = 50 * time.Millisecond
	t.Cleanup(func() { reclaimGrace = old })

	kube := fake.NewClientset(&batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "wq-x", Namespace: "ns", Annotations: map[string]string{manifest.AnnotationQueue: q}},
		Status:     batchv1.JobStatus{Active: 2},
	})
	f := newFactory()
	f.kube = kube
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 1)
	go func() { done <- runWith(t, ctx, f, "", url, "-n", "ns", "wait", "wq-x") }()
	redistest.WaitFor(t, 15*time.Second, "the dead worker's item to be pending again", func() bool {
		n, err := rdb.LLen(context.Background(), q+":processing").Result()
		return err == nil && n == 0
	})
	cancel()
	r := <-done
	if got, _ := rdb.LRange(context.Background(), q, 0, -1).Result(); len(got) != 2 {
		t.Errorf("pending %q, want both items", got)
	}
	if !strings.Contains(r.errOut, "took back 1 item of workers that died") {
		t.Errorf("stderr %q does not say so", r.errOut)
	}
}

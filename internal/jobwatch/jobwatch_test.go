package jobwatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/kubetest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/podstatus"
)

const (
	ns      = "wq"
	jobName = "wq-job"
	jobUID  = types.UID("job-uid")
)

func testJob(status batchv1.JobStatus) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: jobName, Namespace: ns, UID: jobUID},
		Spec: batchv1.JobSpec{Selector: &metav1.LabelSelector{
			MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": string(jobUID)},
		}},
		Status: status,
	}
}

func testPod(name string, mutate func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, UID: types.UID("uid-" + name),
			Labels: map[string]string{"batch.kubernetes.io/controller-uid": string(jobUID), "job-name": jobName},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "batch/v1", Kind: "Job", Name: jobName, UID: jobUID, Controller: ptr.To(true),
			}},
		},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "worker", Image: "worker:1"}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending},
	}
	if mutate != nil {
		mutate(p)
	}
	return p
}

func waitingPod(name, reason, message string) *corev1.Pod {
	return testPod(name, func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{
			Name:  "worker",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}},
		}}
	})
}

func unschedulablePod(name string, since time.Time) *corev1.Pod {
	return testPod(name, func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
			Message: "0/1 nodes are available: 1 Insufficient cpu.", LastTransitionTime: metav1.NewTime(since),
		}}
	})
}

// watching is a Watch running in the background.
type watching struct {
	t      *testing.T
	kube   *fake.Clientset
	events chan Event
	result chan error
}

// startWatch runs Watch over objs and returns once its watches are open (the
// fake's watch, unlike the API server's, does not replay deletions made
// between a list and a watch).
func startWatch(t *testing.T, o Options, objs ...runtime.Object) *watching {
	t.Helper()
	w := &watching{t: t, kube: fake.NewClientset(objs...), events: make(chan Event, 100), result: make(chan error, 1)}
	opened := kubetest.WatchesOpened(w.kube)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	o.Namespace, o.Name = ns, jobName
	go func() { w.result <- Watch(ctx, w.kube, o, w.events) }()
	seen := map[string]bool{}
	for len(seen) < 3 {
		select {
		case r := <-opened:
			seen[r] = true
		case err := <-w.result:
			t.Fatalf("Watch returned before watching: %v", err)
		case <-time.After(kubetest.Deadline):
			t.Fatalf("timed out waiting for the watches, have %v", seen)
		}
	}
	return w
}

// next returns the next event.
func (w *watching) next() Event {
	w.t.Helper()
	select {
	case ev := <-w.events:
		return ev
	case err := <-w.result:
		// Watch may return right after sending its last event.
		w.result <- err
		select {
		case ev := <-w.events:
			return ev
		default:
			w.t.Fatalf("Watch returned %v while an event was expected", err)
		}
	case <-time.After(kubetest.Deadline):
		w.t.Fatal("timed out waiting for an event")
	}
	panic("unreachable")
}

// nextStuck skips Progress events up to the next Stuck.
func (w *watching) nextStuck() *Stuck {
	w.t.Helper()
	for {
		ev := w.next()
		switch {
		case ev.Stuck != nil:
			return ev.Stuck
		case ev.Done != nil:
			w.t.Fatalf("Done %+v while waiting for Stuck", ev.Done)
		}
	}
}

func (w *watching) wantProgress(want Progress) {
	w.t.Helper()
	ev := w.next()
	if ev.Progress == nil || *ev.Progress != want {
		w.t.Fatalf("got %s, want Progress %+v", describe(ev), want)
	}
}

func (w *watching) wantNoStuckYet() {
	w.t.Helper()
	for {
		select {
		case ev := <-w.events:
			if ev.Progress == nil {
				w.t.Fatalf("got %s before the grace period ended", describe(ev))
			}
		default:
			return
		}
	}
}

func (w *watching) wantResult(want error) {
	w.t.Helper()
	select {
	case err := <-w.result:
		if !errors.Is(err, want) {
			w.t.Fatalf("Watch returned %v, want %v", err, want)
		}
	case <-time.After(kubetest.Deadline):
		w.t.Fatal("timed out waiting for Watch to return")
	}
}

func (w *watching) setJobStatus(status batchv1.JobStatus) {
	w.t.Helper()
	if _, err := w.kube.BatchV1().Jobs(ns).UpdateStatus(context.Background(), testJob(status), metav1.UpdateOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *watching) createPod(p *corev1.Pod) {
	w.t.Helper()
	if _, err := w.kube.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

func describe(ev Event) string {
	switch {
	case ev.Progress != nil:
		return fmt.Sprintf("Progress %+v", *ev.Progress)
	case ev.Done != nil:
		return fmt.Sprintf("Done %+v", *ev.Done)
	case ev.Stuck != nil:
		return fmt.Sprintf("Stuck %+v", *ev.Stuck)
	}
	return "empty event"
}

func condition(t batchv1.JobConditionType, reason, message string) batchv1.JobCondition {
	return batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: message}
}

func TestWatchReportsProgressUntilComplete(t *testing.T) {
	w := startWatch(t, Options{}, testJob(batchv1.JobStatus{Active: 2}))
	w.wantProgress(Progress{Active: 2, Parallelism: 1})

	w.setJobStatus(batchv1.JobStatus{Active: 2, Ready: ptr.To[int32](2)})
	w.wantProgress(Progress{Active: 2, Ready: 2, Parallelism: 1})
	w.setJobStatus(batchv1.JobStatus{Active: 1, Ready: ptr.To[int32](1), Succeeded: 1})
	w.wantProgress(Progress{Active: 1, Ready: 1, Succeeded: 1, Parallelism: 1})

	// Every pod is done, the controller says SuccessCriteriaMet first: not
	// the end yet.
	w.setJobStatus(batchv1.JobStatus{Succeeded: 2, Ready: ptr.To[int32](0),
		Conditions: []batchv1.JobCondition{condition(batchv1.JobSuccessCriteriaMet, "CompletionsReached", "")}})
	w.wantProgress(Progress{Succeeded: 2, Parallelism: 1})
	w.setJobStatus(batchv1.JobStatus{Succeeded: 2, Ready: ptr.To[int32](0), Conditions: []batchv1.JobCondition{
		condition(batchv1.JobSuccessCriteriaMet, "CompletionsReached", ""),
		condition(batchv1.JobComplete, "CompletionsReached", "Reached expected number of succeeded pods"),
	}})
	ev := w.next()
	if ev.Done == nil || !ev.Done.Complete || ev.Done.Progress != (Progress{Succeeded: 2, Parallelism: 1}) {
		t.Fatalf("got %s, want Done Complete", describe(ev))
	}
	w.wantResult(nil)
}

func TestWatchReportsFailureWithReason(t *testing.T) {
	w := startWatch(t, Options{}, testJob(batchv1.JobStatus{Active: 1}))
	w.wantProgress(Progress{Active: 1, Parallelism: 1})

	// FailureTarget: the Job will fail once its pods have terminated.
	target := condition(batchv1.JobFailureTarget, "BackoffLimitExceeded", "Job has reached the specified backoff limit")
	w.setJobStatus(batchv1.JobStatus{Active: 1, Failed: 4, Conditions: []batchv1.JobCondition{target}})
	w.wantProgress(Progress{Active: 1, Failed: 4, Parallelism: 1})
	w.setJobStatus(batchv1.JobStatus{Failed: 5, Conditions: []batchv1.JobCondition{target}})
	w.wantProgress(Progress{Failed: 5, Parallelism: 1})

	w.setJobStatus(batchv1.JobStatus{Failed: 5, Conditions: []batchv1.JobCondition{
		target, condition(batchv1.JobFailed, "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
	}})
	ev := w.next()
	if ev.Done == nil || ev.Done.Complete || ev.Done.Reason != "BackoffLimitExceeded" ||
		ev.Done.Message != "Job has reached the specified backoff limit" || ev.Done.Progress.Failed != 5 {
		t.Fatalf("got %s, want Done Failed BackoffLimitExceeded", describe(ev))
	}
	w.wantResult(nil)
}

func TestWatchFinishedJob(t *testing.T) {
	job := testJob(batchv1.JobStatus{Failed: 1, Conditions: []batchv1.JobCondition{
		condition(batchv1.JobFailed, "DeadlineExceeded", "Job was active longer than specified deadline"),
	}})
	events := make(chan Event, 10)
	err := Watch(context.Background(), fake.NewClientset(job), Options{Namespace: ns, Name: jobName}, events)
	if err != nil {
		t.Fatal(err)
	}
	close(events)
	var got []string
	for ev := range events {
		got = append(got, describe(ev))
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], "Progress") || !strings.Contains(got[1], "DeadlineExceeded") {
		t.Errorf("events %q, want Progress then Done DeadlineExceeded", got)
	}
}

func TestWatchJobNotFound(t *testing.T) {
	other := testJob(batchv1.JobStatus{})
	other.Name = "other"
	err := Watch(context.Background(), fake.NewClientset(other), Options{Namespace: ns, Name: jobName}, make(chan Event, 1))
	if err == nil || err.Error() != `job "wq-job" not found in namespace "wq"` {
		t.Errorf("Watch = %v", err)
	}
}

func TestWatchJobDeleted(t *testing.T) {
	w := startWatch(t, Options{}, testJob(batchv1.JobStatus{Active: 1}))
	w.wantProgress(Progress{Active: 1, Parallelism: 1})
	if err := w.kube.BatchV1().Jobs(ns).Delete(context.Background(), jobName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-w.result:
		if err == nil || !strings.Contains(err.Error(), "was deleted") {
			t.Errorf("Watch = %v, want job deleted", err)
		}
	case <-time.After(kubetest.Deadline):
		t.Fatal("timed out")
	}
}

func TestWatchEndsWithContext(t *testing.T) {
	kube := fake.NewClientset(testJob(batchv1.JobStatus{Active: 1}))
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan Event) // unbuffered and never read: Watch blocks sending
	result := make(chan error, 1)
	go func() { result <- Watch(ctx, kube, Options{Namespace: ns, Name: jobName}, events) }()
	cancel()
	select {
	case err := <-result:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Watch = %v, want context.Canceled", err)
		}
	case <-time.After(kubetest.Deadline):
		t.Fatal("Watch did not return after cancel")
	}
}

func TestWatchReportsImageAndConfigErrorsAtOnce(t *testing.T) {
	// A leftover pod of an earlier Job of the same name is not ours.
	foreign := waitingPod("wq-job-old", "ImagePullBackOff", "")
	foreign.OwnerReferences[0].UID = "old-uid"
	w := startWatch(t, Options{StuckGrace: time.Hour}, testJob(batchv1.JobStatus{Active: 2}), foreign)
	w.wantProgress(Progress{Active: 2, Parallelism: 1})

	w.createPod(waitingPod("wq-job-a", "ImagePullBackOff", `Back-off pulling image "worker:1"`))
	got := w.nextStuck()
	want := Stuck{Pod: "wq-job-a", Container: "worker", Reason: "ImagePullBackOff", Message: `Back-off pulling image "worker:1"`, Kind: podstatus.ImageError}
	if *got != want {
		t.Fatalf("got %+v, want %+v", *got, want)
	}

	// The same problem under its other name is not reported again...
	p := waitingPod("wq-job-a", "ErrImagePull", "pull access denied")
	if _, err := w.kube.CoreV1().Pods(ns).UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// ...so the next report is about the next pod.
	w.createPod(waitingPod("wq-job-b", "CreateContainerConfigError", `secret "redis-auth" not found`))
	got = w.nextStuck()
	if got.Pod != "wq-job-b" || got.Reason != "CreateContainerConfigError" || !strings.Contains(got.Message, "redis-auth") {
		t.Fatalf("got %+v, want wq-job-b CreateContainerConfigError", *got)
	}
}

func TestWatchReportsUnschedulableAfterGrace(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	w := startWatch(t, Options{StuckGrace: time.Minute, Clock: fc},
		testJob(batchv1.JobStatus{Active: 1}), unschedulablePod("wq-job-a", fc.Now().Add(-10*time.Second)))
	w.wantProgress(Progress{Active: 1, Parallelism: 1})
	kubetest.WaitForTimer(t, fc)
	w.wantNoStuckYet()

	fc.Step(40 * time.Second) // 50s unschedulable
	if !fc.HasWaiters() {
		t.Fatal("timer fired before the grace period ended")
	}
	fc.Step(10 * time.Second) // 60s
	got := w.nextStuck()
	if got.Pod != "wq-job-a" || got.Reason != "Unschedulable" || !strings.Contains(got.Message, "Insufficient cpu") {
		t.Fatalf("got %+v", *got)
	}
}

func TestWatchReportsUnschedulableLongAgoAtOnce(t *testing.T) {
	w := startWatch(t, Options{StuckGrace: time.Minute},
		testJob(batchv1.JobStatus{Active: 1}), unschedulablePod("wq-job-a", time.Now().Add(-time.Hour)))
	if got := w.nextStuck(); got.Reason != "Unschedulable" {
		t.Fatalf("got %+v", *got)
	}
}

func TestWatchReportsUnschedulableWithRealClock(t *testing.T) {
	const grace = 50 * time.Millisecond
	start := time.Now()
	w := startWatch(t, Options{StuckGrace: grace},
		testJob(batchv1.JobStatus{Active: 1}), unschedulablePod("wq-job-a", time.Time{}))
	got := w.nextStuck()
	if got.Reason != "Unschedulable" {
		t.Fatalf("got %+v", *got)
	}
	if elapsed := time.Since(start); elapsed < grace {
		t.Errorf("reported after %v, before the %v grace", elapsed, grace)
	}
}

func TestWatchReportsCrashLoopAfterGrace(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	crashing := testPod("wq-job-a", func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{
			Name: "worker", RestartCount: 3,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 1, Reason: "Error", Message: "cannot reach redis"}},
		}}
	})
	w := startWatch(t, Options{StuckGrace: 30 * time.Second, Clock: fc}, testJob(batchv1.JobStatus{Active: 1}), crashing)
	w.wantProgress(Progress{Active: 1, Parallelism: 1})
	kubetest.WaitForTimer(t, fc)
	w.wantNoStuckYet()
	fc.Step(30 * time.Second)
	got := w.nextStuck()
	want := Stuck{Pod: "wq-job-a", Container: "worker", Reason: "CrashLoopBackOff",
		Message: "restarted 3 times, last exit code 1 (Error): cannot reach redis", Kind: podstatus.CrashLoop}
	if *got != want {
		t.Fatalf("got %+v, want %+v", *got, want)
	}
}

func TestWatchReportsFailedCreate(t *testing.T) {
	w := startWatch(t, Options{}, testJob(batchv1.JobStatus{}))
	w.wantProgress(Progress{Parallelism: 1})
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "wq-job.1", Namespace: ns},
		InvolvedObject: corev1.ObjectReference{Kind: "Job", Name: jobName, Namespace: ns, UID: jobUID},
		Type:           corev1.EventTypeWarning, Reason: "FailedCreate",
		Message: `Error creating: pods "wq-job-x" is forbidden: violates PodSecurity "restricted:latest"`,
	}
	if _, err := w.kube.CoreV1().Events(ns).Create(context.Background(), ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := w.nextStuck()
	if got.Reason != "FailedCreate" || got.Pod != "" || !strings.Contains(got.Message, "PodSecurity") {
		t.Fatalf("got %+v", *got)
	}
}

// A suspended Job (waiting for Kueue's admission, or preempted) runs no
// pods: what its pods do then is not a problem, and the grace of a problem
// starts when the Job is resumed.
func TestWatchSuspendedTimeDoesNotCount(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	crashing := testPod("wq-job-a", func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{
			Name: "worker", RestartCount: 3,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		}}
	})
	job := testJob(batchv1.JobStatus{})
	job.Spec.Suspend = ptr.To(true)
	w := startWatch(t, Options{StuckGrace: 30 * time.Second, Clock: fc}, job, crashing)
	w.wantProgress(Progress{Parallelism: 1, Suspended: true})
	fc.Step(time.Hour)
	w.wantNoStuckYet()

	job = job.DeepCopy()
	job.Spec.Suspend = ptr.To(false)
	job.Status.Active = 1
	if _, err := w.kube.BatchV1().Jobs(ns).Update(context.Background(), job, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.wantProgress(Progress{Active: 1, Parallelism: 1})
	kubetest.WaitForTimer(t, fc)
	w.wantNoStuckYet()
	fc.Step(30 * time.Second)
	if got := w.nextStuck(); got.Reason != "CrashLoopBackOff" {
		t.Fatalf("got %+v", *got)
	}
}

func TestWatchReportsParallelism(t *testing.T) {
	job := testJob(batchv1.JobStatus{Active: 1})
	job.Spec.Parallelism = ptr.To[int32](1)
	w := startWatch(t, Options{}, job)
	w.wantProgress(Progress{Active: 1, Parallelism: 1})
	job = job.DeepCopy()
	job.Spec.Parallelism = ptr.To[int32](0)
	if _, err := w.kube.BatchV1().Jobs(ns).Update(context.Background(), job, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.wantProgress(Progress{Active: 1, Parallelism: 0})
}

// With restartPolicy Never a crashing container does not loop in its pod:
// the Job replaces the pod, waiting longer each time. Two failed pods, none
// succeeded, and no active pod for the grace period: reported, naming the
// last pod that failed.
// failedPod is a pod of the Job whose worker exited with code 2 at at.
func failedPod(name string, at time.Time, opts ...func(*corev1.Pod)) *corev1.Pod {
	return testPod(name, func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodFailed
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "worker", State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error", FinishedAt: metav1.NewTime(at)}}}}
		for _, o := range opts {
			o(p)
		}
	})
}

func TestWatchReportsPodsThatKeepFailing(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	failed := func(name string, at time.Time) *corev1.Pod { return failedPod(name, at) }
	job := testJob(batchv1.JobStatus{Failed: 2})
	job.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	w := startWatch(t, Options{StuckGrace: 30 * time.Second, Clock: fc}, job,
		failed("wq-job-b", fc.Now().Add(-5*time.Second)), failed("wq-job-a", fc.Now().Add(-20*time.Second)))
	w.wantProgress(Progress{Failed: 2, Parallelism: 1})
	kubetest.WaitForTimer(t, fc)
	fc.Step(20 * time.Second)

	// The Job starts another pod, which fails too: the grace runs on from
	// the second failure (new pods that fail 30 s in must not reset it).
	update := func(st batchv1.JobStatus) {
		j := job.DeepCopy()
		j.Status = st
		if _, err := w.kube.BatchV1().Jobs(ns).UpdateStatus(context.Background(), j, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	update(batchv1.JobStatus{Failed: 2, Active: 1})
	w.wantProgress(Progress{Failed: 2, Active: 1, Parallelism: 1})
	if _, err := w.kube.CoreV1().Pods(ns).Create(context.Background(), failed("wq-job-0", fc.Now().Add(-time.Minute)), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	update(batchv1.JobStatus{Failed: 3, Active: 1})
	w.wantProgress(Progress{Failed: 3, Active: 1, Parallelism: 1})
	w.wantNoStuckYet()
	kubetest.WaitForTimer(t, fc)
	fc.Step(10 * time.Second)
	got := w.nextStuck()
	if got.Reason != ReasonPodsFailing || got.Pod != "wq-job-b" || got.Container != "worker" ||
		got.Message != "3 pods failed and none succeeded; the Job waits longer before each new one; the last exited with code 2 (Error)" {
		t.Fatalf("got %+v", *got)
	}
}

// A pod that runs through the grace after two failed ones, with no failure
// since, is not a Job whose pods keep failing.
func TestWatchSparesAJobWhosePodRunsAfterTwoFailures(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	job := testJob(batchv1.JobStatus{Failed: 2, Active: 1})
	job.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	fresh := testPod("wq-job-c", func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "worker",
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(fc.Now())}}}}
	})
	w := startWatch(t, Options{StuckGrace: 30 * time.Second, Clock: fc}, job, fresh,
		failedPod("wq-job-a", fc.Now().Add(-time.Minute)), failedPod("wq-job-b", fc.Now().Add(-time.Minute)))
	w.wantProgress(Progress{Failed: 2, Active: 1, Parallelism: 1})
	kubetest.WaitForTimer(t, fc)
	fc.Step(31 * time.Second)
	w.wantNoStuckYet()
}

// Pods that were deleted (by a user, a drain, a chaos test) or evicted count
// as failed in the Job's status, but their workers did not crash: only the
// pods that failed on their own count towards "its pods keep failing".
func TestWatchCountsOnlyPodsThatFailedOnTheirOwn(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	job := testJob(batchv1.JobStatus{Failed: 3})
	job.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	deleted := func(p *corev1.Pod) {
		p.DeletionTimestamp = &metav1.Time{Time: fc.Now()}
		p.Finalizers = []string{"batch.kubernetes.io/job-tracking"}
		p.Status.ContainerStatuses[0].State.Terminated.ExitCode = 143
	}
	evicted := func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "EvictionByEvictionAPI"}}
	}
	w := startWatch(t, Options{StuckGrace: 30 * time.Second, Clock: fc}, job,
		failedPod("wq-job-a", fc.Now(), deleted), failedPod("wq-job-b", fc.Now(), deleted), failedPod("wq-job-c", fc.Now(), evicted))
	w.wantProgress(Progress{Failed: 3, Parallelism: 1})
	for _, name := range []string{"wq-job-d", "wq-job-e"} {
		if _, err := w.kube.CoreV1().Pods(ns).Create(context.Background(), failedPod(name, fc.Now()), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	kubetest.WaitForTimer(t, fc)
	fc.Step(30 * time.Second)
	got := w.nextStuck()
	if got.Reason != ReasonPodsFailing || !strings.HasPrefix(got.Message, "2 pods failed and none succeeded") || (got.Pod != "wq-job-d" && got.Pod != "wq-job-e") {
		t.Fatalf("got %+v, want the 2 pods that crashed, not the deleted or evicted ones", *got)
	}
}

// A container that crashes every 30 s is running again most of the time:
// its crash loop counts from the first crash seen, and is reported once the
// grace has passed and it has crashed again.
func TestWatchReportsACrashLoopThatIsRunningAgain(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	status := func(restarts int32, waiting bool) []corev1.ContainerStatus {
		cs := corev1.ContainerStatus{Name: "worker", RestartCount: restarts,
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 1, Reason: "Error", Message: "cannot reach redis"}}}
		if waiting {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}
		} else {
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(fc.Now())}
		}
		return []corev1.ContainerStatus{cs}
	}
	pod := testPod("wq-job-a", func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = status(1, true)
	})
	w := startWatch(t, Options{StuckGrace: 30 * time.Second, Clock: fc}, testJob(batchv1.JobStatus{Active: 1}), pod)
	w.wantProgress(Progress{Active: 1, Parallelism: 1})
	kubetest.WaitForTimer(t, fc)
	setStatus := func(restarts int32, waiting bool) {
		p := pod.DeepCopy()
		p.Status.ContainerStatuses = status(restarts, waiting)
		if _, err := w.kube.CoreV1().Pods(ns).UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	fc.Step(10 * time.Second)
	setStatus(1, false) // restarted, running
	fc.Step(15 * time.Second)
	setStatus(2, true) // crashed again, backing off
	fc.Step(3 * time.Second)
	setStatus(2, false) // running again when the grace ends
	w.wantNoStuckYet()
	kubetest.WaitForTimer(t, fc)
	fc.Step(2 * time.Second)
	got := w.nextStuck()
	if got.Pod != "wq-job-a" || got.Kind != podstatus.CrashLoop || got.Message != "restarted 2 times, last exit code 1 (Error): cannot reach redis" {
		t.Fatalf("got %+v", *got)
	}
}

func TestOutcomeOf(t *testing.T) {
	for _, tc := range []struct {
		name  string
		conds []batchv1.JobCondition
		want  *Outcome
	}{
		{"running", nil, nil},
		{"success criteria met only", []batchv1.JobCondition{condition(batchv1.JobSuccessCriteriaMet, "x", "")}, nil},
		{"failure target only", []batchv1.JobCondition{condition(batchv1.JobFailureTarget, "DeadlineExceeded", "")}, nil},
		{"complete", []batchv1.JobCondition{condition(batchv1.JobComplete, "", "")}, &Outcome{Complete: true, Progress: Progress{Parallelism: 1}}},
		{"failed", []batchv1.JobCondition{condition(batchv1.JobFailed, "PodFailurePolicy", "m")}, &Outcome{Reason: "PodFailurePolicy", Message: "m", Progress: Progress{Parallelism: 1}}},
		{"failed without reason", []batchv1.JobCondition{
			condition(batchv1.JobFailureTarget, "DeadlineExceeded", "too slow"), condition(batchv1.JobFailed, "", ""),
		}, &Outcome{Reason: "DeadlineExceeded", Message: "too slow", Progress: Progress{Parallelism: 1}}},
		{"condition not true", []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionFalse}}, nil},
	} {
		got := outcomeOf(testJob(batchv1.JobStatus{Conditions: tc.conds}))
		if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

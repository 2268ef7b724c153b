package cmd

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// wait on a Job that finished long ago reports how long it ran, not its
// age, and its queue's items.
func TestWaitOnALongFinishedJobReportsItsRunTimeAndItems(t *testing.T) {
	url, q := redisURL(t), redistest.QueueName(t)
	mustRun(t, "", url, "seed", q, "a", "b", "c")
	ctx := context.Background()
	w := queue.New(redisClient(t), q)
	its, err := w.Lease(ctx, 3, time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Complete(ctx, its...); err != nil {
		t.Fatal(err)
	}
	started := time.Now().Add(-17 * time.Minute)
	kube := fake.NewClientset(&batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "wq-x", Namespace: "ns", Annotations: map[string]string{manifest.AnnotationQueue: q}},
		Status: batchv1.JobStatus{
			Succeeded:      1,
			StartTime:      &metav1.Time{Time: started},
			CompletionTime: &metav1.Time{Time: started.Add(4 * time.Second)},
			Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue,
				LastTransitionTime: metav1.Time{Time: started.Add(4 * time.Second)}}},
		},
	})
	r := runKube(t, kube, url, "-n", "ns", "wait", "wq-x", "--quiet")
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.errOut)
	}
	if !strings.Contains(r.out, "job.batch/wq-x complete in 4s: 3 items done") {
		t.Fatalf("stdout %q", r.out)
	}
}

// A crash-looping pod's report carries the last lines the crashed
// container wrote, which usually say why ("cannot reach Redis at ...").
func TestWaitShowsTheLastLinesOfACrashLoopingContainer(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "wq-x-abcde", Namespace: "ns", Labels: map[string]string{"job-name": "wq-x"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "worker"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "worker", RestartCount: 2,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}},
		}}},
	}
	kube := fake.NewClientset(&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "wq-x", Namespace: "ns"}, Status: batchv1.JobStatus{Active: 1}}, pod)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := newFactory()
	f.kube = kube
	r := runWith(t, ctx, f, "", "-n", "ns", "wait", "wq-x", "--quiet", "--stuck-grace", "1ms")
	if r.err == nil || !strings.Contains(r.err.Error(), "CrashLoopBackOff") {
		t.Fatalf("error %v", r.err)
	}
	// The fake clientset serves "fake logs" as every container's log.
	if !strings.Contains(r.errOut, "Last log lines of pod wq-x-abcde before it crashed:\n") || !strings.Contains(r.errOut, "fake logs") {
		t.Fatalf("stderr %q", r.errOut)
	}
}

// The lines shown are those of the instance that crashed last: the
// container's previous log only while a new instance runs; its current log
// while it is terminated or waiting to restart, when its previous log is
// the instance before, which the kubelet may have removed.
func TestCrashedLogsAreTheInstanceThatCrashedLast(t *testing.T) {
	crashed := &corev1.ContainerStateTerminated{ExitCode: 127, Reason: "Error"}
	for _, tc := range []struct {
		name         string
		state        corev1.ContainerState
		wantPrevious bool
	}{
		{"running again", corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}, true},
		{"just crashed", corev1.ContainerState{Terminated: crashed}, false},
		{"backing off", corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "wq-x-abcde", Namespace: "ns", Labels: map[string]string{"job-name": "wq-x"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "worker"}}},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
					Name: "worker", RestartCount: 2, State: tc.state,
					LastTerminationState: corev1.ContainerState{Terminated: crashed},
				}}},
			}
			kube := fake.NewClientset(pod)
			streams, _, _, errOut := genericiooptions.NewTestIOStreams()
			o := &WaitOptions{IOStreams: streams, Job: "wq-x", namespace: "ns", kube: kube}
			o.printCrashedLogs(context.Background(), pod.Name, "worker")

			var asked []bool
			for _, a := range kube.Actions() {
				if a.GetSubresource() == "log" {
					asked = append(asked, a.(k8stesting.GenericAction).GetValue().(*corev1.PodLogOptions).Previous)
				}
			}
			if !slices.Equal(asked, []bool{tc.wantPrevious}) {
				t.Errorf("log requests with previous = %v, want [%v]", asked, tc.wantPrevious)
			}
			if !strings.Contains(errOut.String(), "[wq-x-abcde] fake logs") {
				t.Errorf("stderr %q", errOut)
			}
		})
	}
}

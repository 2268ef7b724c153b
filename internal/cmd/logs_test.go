package cmd

import (
	"context"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

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

// Values kubectl logs refuses are refused, not read as "all" or "no limit".
func TestLogsRefusesNegativeTailAndSince(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"logs", "j", "--tail", "-5"}, "--tail -5: must be -1 (all lines) or more"},
		{[]string{"logs", "j", "--since", "-5m"}, "--since -5m0s: must not be negative"},
	} {
		r := runKube(t, fake.NewClientset(), tc.args...)
		if r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.args, r.err, tc.want)
		}
	}
}

// -c naming a container that no pod of the Job has is an error, once, not a
// warning per pod and exit 0.
func TestLogsRefusesAContainerTheJobsPodsDoNotHave(t *testing.T) {
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "wq-x", Namespace: "ns"}}
	job.Spec.Template.Spec.Containers = []corev1.Container{{Name: "worker"}}
	job.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "install-worker"}}
	r := runKube(t, fake.NewClientset(job), "-n", "ns", "logs", "wq-x", "-c", "nope")
	if r.err == nil || r.err.Error() != `-c nope: job "wq-x"'s pods have no such container; they have worker, install-worker` {
		t.Fatalf("error %v\nstderr %s", r.err, r.errOut)
	}
	if r := runKube(t, fake.NewClientset(job), "-n", "ns", "logs", "wq-x", "-c", "install-worker"); r.err != nil {
		t.Fatalf("an init container: %v", r.err)
	}
}

package jobwatch

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/kubetest"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestDeleteMissingJobIsDone(t *testing.T) {
	if err := Delete(context.Background(), fake.NewClientset(), ns, jobName, time.Hour); err != nil {
		t.Fatal(err)
	}
}

func TestDeleteRemovesTheJobInTheForeground(t *testing.T) {
	kube := fake.NewClientset(testJob(batchv1.JobStatus{}))
	var policy *metav1.DeletionPropagation
	kube.PrependReactor("delete", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		policy = a.(k8stesting.DeleteActionImpl).DeleteOptions.PropagationPolicy
		return false, nil, nil
	})
	if err := Delete(context.Background(), kube, ns, jobName, time.Hour); err != nil {
		t.Fatal(err)
	}
	if policy == nil || *policy != metav1.DeletePropagationForeground {
		t.Errorf("propagation policy %v, want Foreground: the pods must be gone with the Job", policy)
	}
	if _, err := kube.BatchV1().Jobs(ns).Get(context.Background(), jobName, metav1.GetOptions{}); err == nil {
		t.Error("the Job still exists")
	}
}

// heldJob is a cluster where deleting the Job only marks it, as a finalizer
// (the foreground deletion's own, while pods remain) does; watchOpened gets
// a value once the Job is watched.
func heldJob(t *testing.T) (kube *fake.Clientset, watchOpened <-chan string) {
	kube = fake.NewClientset(testJob(batchv1.JobStatus{}))
	kube.PrependReactor("delete", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, nil
	})
	return kube, kubetest.WatchesOpened(kube)
}

func TestDeleteWaitsUntilTheJobIsGone(t *testing.T) {
	kube, watchOpened := heldJob(t)
	done := make(chan error, 1)
	go func() { done <- Delete(context.Background(), kube, ns, jobName, time.Hour) }()
	select {
	case <-watchOpened:
	case err := <-done:
		t.Fatalf("Delete returned %v while the Job still existed", err)
	case <-time.After(kubetest.Deadline):
		t.Fatal("Delete did not watch the Job")
	}
	// The finalizer is done.
	if err := kube.Tracker().Delete(batchv1.SchemeGroupVersion.WithResource("jobs"), ns, jobName); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(kubetest.Deadline):
		t.Fatal("Delete did not return once the Job was gone")
	}
}

func TestDeleteGivesUpAfterTheTimeout(t *testing.T) {
	kube, _ := heldJob(t)
	err := Delete(context.Background(), kube, ns, jobName, 20*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "was not deleted within 20ms (finalizers?)") {
		t.Fatalf("got %v", err)
	}
}

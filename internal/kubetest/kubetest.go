// Package kubetest helps the tests of engines that run against client-go's
// fake clientset (jobwatch, deploywatch, podlogs, listwatch).
package kubetest

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

// Deadline bounds every wait of a test; none of them sleeps.
const Deadline = 10 * time.Second

// WatchesOpened makes kube report the resource ("pods", "jobs", ...) of every
// watch opened from now on. The fake's watch, unlike the API server's, does
// not replay what changed between a List and the Watch that follows it, so a
// test waits for the watches before it changes anything.
func WatchesOpened(kube *fake.Clientset) <-chan string {
	opened := make(chan string, 100)
	kube.PrependWatchReactor("*", func(action k8stesting.Action) (bool, watch.Interface, error) {
		wa := action.(k8stesting.WatchActionImpl)
		w, err := kube.Tracker().Watch(wa.GetResource(), wa.GetNamespace(), wa.ListOptions)
		select {
		case opened <- wa.GetResource().Resource:
		default: // nobody is counting any more
		}
		return true, w, err
	})
	return opened
}

// Recv returns the next value from ch, failing the test after Deadline.
func Recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(Deadline):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// WaitForTimer polls, with a deadline, until the engine has set a timer on
// fc: it has then evaluated what it was sent and found a problem still within
// its grace, and a step of fc past that grace will wake it.
func WaitForTimer(t testing.TB, fc *clocktesting.FakeClock) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, Deadline, true,
		func(context.Context) (bool, error) { return fc.HasWaiters(), nil })
	if err != nil {
		t.Fatal("no timer was set")
	}
}

package listwatch

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/kubetest"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

const (
	ns       = "wq"
	selector = "job-name=wq-job"
	listRV   = "100"
)

func testPod(name, rv string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: ns, ResourceVersion: rv, Labels: map[string]string{"job-name": "wq-job"},
	}}
}

// opened is one call of Watch: the resourceVersion it was asked for, and the
// watcher the test drives (nil when the call failed).
type opened struct {
	rv string
	w  *watch.FakeWatcher
}

// running is Pods(…).Run in the background, against a fake clientset whose
// List and Watch the test observes and drives.
type running struct {
	t       *testing.T
	clock   *clocktesting.FakeClock
	lists   chan struct{}
	watches chan opened
	out     chan Change[*corev1.Pod]
	cancel  context.CancelFunc
	done    chan struct{}
}

// start runs from rv; the first Watch calls fail with watchErrs, in order.
func start(t *testing.T, rv string, watchErrs ...error) *running {
	t.Helper()
	r := &running{
		t: t, clock: clocktesting.NewFakeClock(time.Now()),
		lists: make(chan struct{}, 10), watches: make(chan opened, 10),
		out: make(chan Change[*corev1.Pod]), done: make(chan struct{}),
	}
	kube := fake.NewClientset()
	kube.PrependReactor("list", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if got := action.(k8stesting.ListActionImpl).GetListRestrictions().Labels.String(); got != selector {
			t.Errorf("List with selector %q, want %q", got, selector)
		}
		r.lists <- struct{}{}
		return true, &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: listRV}, Items: []corev1.Pod{*testPod("a", "99")}}, nil
	})
	kube.PrependWatchReactor("pods", func(action k8stesting.Action) (bool, watch.Interface, error) {
		wr := action.(k8stesting.WatchActionImpl).GetWatchRestrictions()
		if got := wr.Labels.String(); got != selector {
			t.Errorf("Watch with selector %q, want %q", got, selector)
		}
		if len(watchErrs) > 0 {
			err := watchErrs[0]
			watchErrs = watchErrs[1:]
			r.watches <- opened{rv: wr.ResourceVersion}
			return true, nil, err
		}
		fw := watch.NewFakeWithChanSize(10, false)
		r.watches <- opened{rv: wr.ResourceVersion, w: fw}
		return true, fw, nil
	})
	lw := Pods(kube, ns, selector)
	lw.clock = r.clock
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(kubetest.Deadline):
			t.Error("Run did not return after the context ended")
		}
	})
	go func() {
		defer close(r.done)
		lw.Run(ctx, rv, r.out)
	}()
	return r
}

// watch returns the next Watch call, which must ask for rv.
func (r *running) watch(rv string) opened {
	r.t.Helper()
	o := kubetest.Recv(r.t, r.watches, "a watch")
	if o.rv != rv {
		r.t.Fatalf("watching from resourceVersion %q, want %q", o.rv, rv)
	}
	return o
}

// change returns the next change, which must be of type typ.
func (r *running) change(typ watch.EventType) Change[*corev1.Pod] {
	r.t.Helper()
	c := kubetest.Recv(r.t, r.out, "a change")
	if c.Type != typ {
		r.t.Fatalf("got a change of type %q, want %q", c.Type, typ)
	}
	return c
}

// backingOff polls, with a deadline, until Run pauses on its clock.
func (r *running) backingOff() {
	r.t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, kubetest.Deadline, true,
		func(context.Context) (bool, error) { return r.clock.HasWaiters(), nil })
	if err != nil {
		r.t.Fatal("timed out waiting for Run to back off")
	}
}

// backOff waits until Run pauses and ends the pause.
func (r *running) backOff() {
	r.t.Helper()
	r.backingOff()
	r.clock.Step(maxBackoff)
}

func (r *running) noList() {
	r.t.Helper()
	select {
	case <-r.lists:
		r.t.Fatal("listed again; want a watch from the last resourceVersion")
	default:
	}
}

func (r *running) stopped() {
	r.t.Helper()
	kubetest.Recv(r.t, r.done, "Run to return")
}

func TestRunReopensAClosedWatchFromTheLastVersion(t *testing.T) {
	r := start(t, "5")
	w := r.watch("5")
	w.w.Add(testPod("a", "6"))
	if c := r.change(watch.Added); c.Object.Name != "a" {
		t.Fatalf("Added %s, want a", c.Object.Name)
	}
	w.w.Delete(testPod("a", "7"))
	r.change(watch.Deleted)
	w.w.Action(watch.Bookmark, testPod("", "8"))
	w.w.Stop() // the API server ends watches now and then

	r.backOff()
	r.watch("8")
	r.noList()
}

func TestRunRetriesAFailedWatchFromTheSameVersion(t *testing.T) {
	r := start(t, "5", apierrors.NewInternalError(errors.New("etcd is sad")))
	r.watch("5")
	r.backOff()
	r.watch("5")
	r.noList()
}

func TestRunRelistsWhenTheVersionIsGone(t *testing.T) {
	for _, tc := range []struct {
		name string
		// watchErr fails the Watch call; without it, the watch sends event.
		watchErr error
		event    *metav1.Status
	}{
		{name: "410 Gone from Watch", watchErr: apierrors.NewGone("too old resource version: 5 (90)")},
		{name: "Expired from Watch", watchErr: apierrors.NewResourceExpired("too old resource version: 5 (90)")},
		{name: "410 Gone event", event: &apierrors.NewGone("too old resource version: 5 (90)").ErrStatus},
		{name: "Expired event", event: &apierrors.NewResourceExpired("too old resource version: 5 (90)").ErrStatus},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r *running
			if tc.watchErr != nil {
				r = start(t, "5", tc.watchErr)
				r.watch("5")
			} else {
				r = start(t, "5")
				r.watch("5").w.Error(tc.event)
			}
			r.backOff()
			kubetest.Recv(t, r.lists, "a list")
			c := r.change("")
			if len(c.Relist) != 1 || c.Relist[0].Name != "a" {
				t.Fatalf("Relist = %v, want pod a", c.Relist)
			}
			r.watch(listRV)
		})
	}
}

func TestRunListsFirstWithoutAVersion(t *testing.T) {
	r := start(t, "")
	kubetest.Recv(t, r.lists, "a list")
	r.change("")
	r.watch(listRV)
}

func TestRunStopsWhenTheContextEnds(t *testing.T) {
	t.Run("while watching", func(t *testing.T) {
		r := start(t, "5")
		w := r.watch("5")
		r.cancel()
		r.stopped()
		if !w.w.IsStopped() {
			t.Error("the watch was left open")
		}
	})
	t.Run("while nobody reads the changes", func(t *testing.T) {
		r := start(t, "5")
		w := r.watch("5")
		w.w.Add(testPod("a", "6"))
		r.cancel()
		r.stopped()
		if !w.w.IsStopped() {
			t.Error("the watch was left open")
		}
	})
	t.Run("while backing off", func(t *testing.T) {
		r := start(t, "5", apierrors.NewServiceUnavailable("try later"))
		r.watch("5")
		r.backingOff()
		r.cancel()
		r.stopped()
		select {
		case o := <-r.watches:
			t.Fatalf("watched again from %q after the context ended", o.rv)
		default:
		}
	})
}

func TestPointers(t *testing.T) {
	items := []corev1.Pod{*testPod("a", "1"), *testPod("b", "2")}
	got := Pointers(items)
	if len(got) != 2 || got[0] != &items[0] || got[1] != &items[1] {
		t.Fatalf("Pointers = %v, want pointers into the slice", got)
	}
}

func TestKeyTellsAPodFromItsNamesakeByUID(t *testing.T) {
	a := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "1"}}
	b := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "2"}}
	if Key(a) == Key(b) {
		t.Error("a pod created again under the same name has the same key")
	}
	if got := Key(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}}); got != "ns/p" {
		t.Errorf("Key without UID = %q, want ns/p", got)
	}
}

package podlogs

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/kubetest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// following runs Stream with Follow in the background.
type following struct {
	t      *testing.T
	kube   *fake.Clientset
	logs   *fakeLogs
	rec    *recorder
	done   chan struct{}
	result chan error
	cancel context.CancelFunc
}

func startFollowing(t *testing.T, o Options, pods ...*corev1.Pod) *following {
	t.Helper()
	f := &following{t: t, kube: fake.NewClientset(), logs: newFakeLogs(), rec: newRecorder(t),
		done: make(chan struct{}), result: make(chan error, 1)}
	for _, p := range pods {
		f.create(p)
	}
	f.logs.pipes = true
	o.Namespace, o.Selector, o.Follow, o.Done, o.openLog = testNS, testSel, true, f.done, f.logs.open
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	t.Cleanup(cancel)
	watching := kubetest.WatchesOpened(f.kube)
	go func() { f.result <- Stream(ctx, f.kube, o, f.rec) }()
	kubetest.Recv(t, watching, "the pod watch")
	return f
}

func (f *following) create(p *corev1.Pod) {
	f.t.Helper()
	if _, err := f.kube.CoreV1().Pods(testNS).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *following) update(p *corev1.Pod) {
	f.t.Helper()
	if _, err := f.kube.CoreV1().Pods(testNS).UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *following) write(o opened, text string) {
	f.t.Helper()
	if _, err := io.WriteString(o.w, text); err != nil {
		f.t.Fatal(err)
	}
}

func (f *following) wantLine(pod, text string) {
	f.t.Helper()
	l := kubetest.Recv(f.t, f.rec.lineCh, "line "+text)
	if l.Pod != pod || string(l.Text) != text {
		f.t.Fatalf("got line %s %q, want %s %q", l.Pod, l.Text, pod, text)
	}
}

func (f *following) wantGone(pod, reason string) {
	f.t.Helper()
	got := kubetest.Recv(f.t, f.rec.goneCh, "PodGone "+pod)
	if !strings.HasPrefix(got, pod+": ") || !strings.Contains(got, reason) {
		f.t.Fatalf("PodGone %q, want %s: …%s…", got, pod, reason)
	}
}

func (f *following) noOpens() {
	f.t.Helper()
	select {
	case o := <-f.logs.opened:
		f.t.Fatalf("unexpected stream of %s", o.key)
	default:
	}
}

func TestFollowPicksUpNewPodsAndEndsWhenDone(t *testing.T) {
	f := startFollowing(t, Options{Tail: -1}, testPod("wq-job-a", corev1.PodRunning, running("worker")))

	a := kubetest.Recv(t, f.logs.opened, "stream of wq-job-a")
	if a.key != "wq-job-a/worker" || !a.opts.Follow {
		t.Fatalf("opened %s with %+v", a.key, a.opts)
	}
	f.write(a, "a1\n")
	f.wantLine("wq-job-a", "a1")

	// A pod created later, still creating its container: nothing to read yet.
	b := testPod("wq-job-b", corev1.PodPending, waiting("worker", "ContainerCreating"))
	f.create(b)
	// A pod that cannot pull its image is reported at once; being created
	// after b, it also proves b was seen without being streamed.
	f.create(testPod("wq-job-c", corev1.PodPending, waiting("worker", "ImagePullBackOff")))
	f.wantGone("wq-job-c", "container worker is waiting: ImagePullBackOff")
	f.noOpens()

	// b's container starts: its stream opens.
	b.Status = corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{running("worker")}}
	f.update(b)
	ob := kubetest.Recv(t, f.logs.opened, "stream of wq-job-b")
	if ob.key != "wq-job-b/worker" {
		t.Fatalf("opened %s, want wq-job-b/worker", ob.key)
	}
	f.write(ob, "b1\n")
	f.wantLine("wq-job-b", "b1")
	if err := ob.w.Close(); err != nil {
		t.Fatal(err)
	}

	// The Job is done: no new pods, but open streams are read to their end.
	close(f.done)
	f.write(a, "a2\n")
	f.wantLine("wq-job-a", "a2")
	if err := a.w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := kubetest.Recv(t, f.result, "Stream to return"); err != nil {
		t.Fatalf("Stream: %v", err)
	}
	got := f.rec.byPod()
	if strings.Join(got["wq-job-a/worker"], ",") != "a1,a2" || strings.Join(got["wq-job-b/worker"], ",") != "b1" {
		t.Errorf("lines: %v", got)
	}
	// c never started: reported once, not again at the end.
	if r := f.rec.goneReasons("wq-job-c"); strings.Count(r, "ImagePullBackOff") != 1 {
		t.Errorf("PodGone(wq-job-c) = %q, want one report", r)
	}
}

func TestFollowReportsPodsThatNeverRan(t *testing.T) {
	f := startFollowing(t, Options{Tail: -1})
	f.create(testPod("wq-job-deleted", corev1.PodPending, waiting("worker", "ContainerCreating")))
	if err := f.kube.CoreV1().Pods(testNS).Delete(context.Background(), "wq-job-deleted", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	f.wantGone("wq-job-deleted", "deleted before its logs could be read")

	f.create(testPod("wq-job-slow", corev1.PodPending, waiting("worker", "ContainerCreating")))
	// Still creating when the Job ends: reported when Done closes.
	f.create(testPod("wq-job-marker", corev1.PodPending, waiting("worker", "CreateContainerConfigError")))
	f.wantGone("wq-job-marker", "CreateContainerConfigError")
	close(f.done)
	f.wantGone("wq-job-slow", "container worker is waiting: ContainerCreating")
	if err := kubetest.Recv(t, f.result, "Stream to return"); err != nil {
		t.Fatalf("Stream: %v", err)
	}
	f.noOpens()
}

func TestFollowStreamsRestartedContainerAgain(t *testing.T) {
	p := testPod("wq-job-a", corev1.PodRunning, running("worker"))
	f := startFollowing(t, Options{Tail: 5}, p)
	first := kubetest.Recv(t, f.logs.opened, "first instance")
	if first.opts.TailLines == nil || *first.opts.TailLines != 5 {
		t.Errorf("first instance TailLines = %v, want 5", first.opts.TailLines)
	}
	f.write(first, "before crash\n")
	f.wantLine("wq-job-a", "before crash")

	// The container restarts as a new instance; the old stream ends.
	st := running("worker")
	st.ContainerID, st.RestartCount = "containerd://worker-2", 1
	st.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, ContainerID: "containerd://worker-1"}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{st}
	f.update(p)
	if err := first.w.Close(); err != nil {
		t.Fatal(err)
	}
	second := kubetest.Recv(t, f.logs.opened, "second instance")
	if second.opts.TailLines != nil {
		t.Errorf("restarted instance read with TailLines %d; want its whole log", *second.opts.TailLines)
	}
	f.write(second, "after restart\n")
	f.wantLine("wq-job-a", "after restart")
	if err := second.w.Close(); err != nil {
		t.Fatal(err)
	}
	close(f.done)
	if err := kubetest.Recv(t, f.result, "Stream to return"); err != nil {
		t.Fatal(err)
	}
}

func TestFollowEndsWithContext(t *testing.T) {
	f := startFollowing(t, Options{Tail: -1}, testPod("wq-job-a", corev1.PodRunning, running("worker")))
	kubetest.Recv(t, f.logs.opened, "stream of wq-job-a")
	f.cancel()
	if err := kubetest.Recv(t, f.result, "Stream to return"); !errors.Is(err, context.Canceled) {
		t.Errorf("Stream = %v, want context.Canceled", err)
	}
}

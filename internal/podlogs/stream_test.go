package podlogs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/kubetest"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestStreamReadsEveryPodInOrder(t *testing.T) {
	pods := []*corev1.Pod{
		testPod("wq-job-a", corev1.PodRunning, running("worker")),
		testPod("wq-job-b", corev1.PodSucceeded, terminated("worker", 0)),
		testPod("wq-job-c", corev1.PodFailed, terminated("worker", 1)),
	}
	other := testPod("other", corev1.PodRunning, running("worker"))
	other.Labels = map[string]string{"job-name": "other"}
	kube := fake.NewClientset(pods[0], pods[1], pods[2], other)

	logs := newFakeLogs()
	want := map[string][]string{}
	for _, p := range pods {
		key := p.Name + "/worker"
		want[key] = numbered(p.Name, 500)
		logs.logs[key] = strings.Join(want[key], "\n") + "\n"
	}
	rec := newRecorder(t)
	err := Stream(context.Background(), kube, Options{
		Namespace: testNS, Selector: testSel, Tail: -1, openLog: logs.open,
	}, rec)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	got := rec.byPod()
	if len(got) != len(want) {
		t.Fatalf("got logs of %d containers, want %d: %v", len(got), len(want), keys(got))
	}
	for key, lines := range want {
		if strings.Join(got[key], "\n") != strings.Join(lines, "\n") {
			t.Errorf("%s: lines missing, reordered or mangled (got %d lines, want %d)", key, len(got[key]), len(lines))
		}
	}
	for _, o := range logs.opens {
		if o.opts.TailLines != nil || o.opts.SinceSeconds != nil || o.opts.Follow || o.opts.Timestamps {
			t.Errorf("%s: unexpected log options %+v", o.key, o.opts)
		}
	}
}

func keys(m map[string][]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestStreamPassesTailSinceAndContainer(t *testing.T) {
	p := testPod("wq-job-a", corev1.PodRunning, running("worker"), running("sidecar"))
	p.Spec.InitContainers = []corev1.Container{{Name: "setup"}}
	p.Status.InitContainerStatuses = []corev1.ContainerStatus{terminated("setup", 0)}
	kube := fake.NewClientset(p)

	for _, tc := range []struct {
		name string
		o    Options
		want []string
	}{
		{"one container", Options{Container: "sidecar"}, []string{"wq-job-a/sidecar"}},
		{"app containers", Options{}, []string{"wq-job-a/worker", "wq-job-a/sidecar"}},
		{"all containers", Options{AllContainers: true}, []string{"wq-job-a/setup", "wq-job-a/worker", "wq-job-a/sidecar"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := newFakeLogs()
			o := tc.o
			o.Namespace, o.Selector, o.openLog = testNS, testSel, logs.open
			o.Tail, o.Since = 10, 1500*time.Millisecond
			if err := Stream(context.Background(), kube, o, newRecorder(t)); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, op := range logs.opens {
				got = append(got, op.key)
				if op.opts.TailLines == nil || *op.opts.TailLines != 10 {
					t.Errorf("%s: TailLines = %v, want 10", op.key, op.opts.TailLines)
				}
				if op.opts.SinceSeconds == nil || *op.opts.SinceSeconds != 2 {
					t.Errorf("%s: SinceSeconds = %v, want 2 (rounded up)", op.key, op.opts.SinceSeconds)
				}
			}
			if !sameSet(got, tc.want) {
				t.Errorf("streams %v, want %v", got, tc.want)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		if seen[s]--; seen[s] < 0 {
			return false
		}
	}
	return true
}

func TestStreamBoundsConcurrentRequests(t *testing.T) {
	var objs []runtime.Object
	logs := newFakeLogs()
	logs.gate = make(chan struct{})
	for _, name := range []string{"a", "b", "c", "d", "e", "f"} {
		objs = append(objs, testPod(name, corev1.PodRunning, running("worker")))
		logs.logs[name+"/worker"] = name + " says hello\n"
	}
	kube := fake.NewClientset(objs...)
	rec := newRecorder(t)
	done := make(chan error, 1)
	go func() {
		done <- Stream(context.Background(), kube, Options{
			Namespace: testNS, Selector: testSel, Tail: -1, MaxRequests: 2, openLog: logs.open,
		}, rec)
	}()
	// Two streams open and block in Read; the other four must wait for them.
	kubetest.Recv(t, logs.opened, "first open")
	kubetest.Recv(t, logs.opened, "second open")
	close(logs.gate)
	if err := kubetest.Recv(t, done, "Stream to return"); err != nil {
		t.Fatal(err)
	}
	if got := logs.maxConcurrent(); got != 2 {
		t.Errorf("max concurrent streams = %d, want 2", got)
	}
	if got := len(rec.byPod()); got != 6 {
		t.Errorf("got logs of %d pods, want 6", got)
	}
}

func TestStreamReportsPodsWithoutLogs(t *testing.T) {
	unscheduled := testPod("wq-job-unscheduled", corev1.PodPending)
	unscheduled.Spec.Containers = []corev1.Container{{Name: "worker"}}
	unscheduled.Status.Conditions = []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available",
	}}
	kube := fake.NewClientset(
		testPod("wq-job-ok", corev1.PodSucceeded, terminated("worker", 0)),
		testPod("wq-job-deleted", corev1.PodSucceeded, terminated("worker", 0)),
		testPod("wq-job-pull", corev1.PodPending, waiting("worker", "ImagePullBackOff")),
		unscheduled,
	)
	logs := newFakeLogs()
	logs.logs["wq-job-ok/worker"] = "done\n"
	logs.errs["wq-job-deleted/worker"] = apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "wq-job-deleted")
	rec := newRecorder(t)
	err := Stream(context.Background(), kube, Options{Namespace: testNS, Selector: testSel, Tail: -1, openLog: logs.open}, rec)
	if err != nil {
		t.Fatalf("Stream: %v (gone pods and waiting containers are not errors)", err)
	}
	if got := rec.byPod()["wq-job-ok/worker"]; len(got) != 1 || got[0] != "done" {
		t.Errorf("wq-job-ok: %q", got)
	}
	for pod, want := range map[string]string{
		"wq-job-deleted":     "no longer exists",
		"wq-job-pull":        "container worker is waiting: ImagePullBackOff",
		"wq-job-unscheduled": "not scheduled: Unschedulable (0/1 nodes are available)",
		"wq-job-ok":          "",
	} {
		got := rec.goneReasons(pod)
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("PodGone(%s) = %q, want it to say %q", pod, got, want)
		}
	}
}

func TestStreamFailsAfterUnexpectedErrors(t *testing.T) {
	kube := fake.NewClientset(
		testPod("wq-job-a", corev1.PodRunning, running("worker")),
		testPod("wq-job-b", corev1.PodRunning, running("worker")),
	)
	logs := newFakeLogs()
	logs.logs["wq-job-a/worker"] = "a\n"
	logs.errs["wq-job-b/worker"] = errors.New("connection refused")
	rec := newRecorder(t)
	err := Stream(context.Background(), kube, Options{Namespace: testNS, Selector: testSel, Tail: -1, openLog: logs.open}, rec)
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "wq-job-b") {
		t.Errorf("Stream error = %v, want one naming wq-job-b and the cause", err)
	}
	if len(rec.byPod()["wq-job-a/worker"]) != 1 {
		t.Error("the healthy pod's log was not read")
	}
	if !strings.Contains(rec.goneReasons("wq-job-b"), "connection refused") {
		t.Errorf("PodGone(wq-job-b) = %q", rec.goneReasons("wq-job-b"))
	}
}

func TestStreamStopsOnSinkError(t *testing.T) {
	kube := fake.NewClientset(testPod("wq-job-a", corev1.PodRunning, running("worker")))
	logs := newFakeLogs()
	logs.logs["wq-job-a/worker"] = strings.Join(numbered("a", 100), "\n")
	rec := newRecorder(t)
	rec.failAfter = 3
	err := Stream(context.Background(), kube, Options{Namespace: testNS, Selector: testSel, Tail: -1, openLog: logs.open}, rec)
	if !errors.Is(err, errSinkFull) {
		t.Errorf("Stream error = %v, want the sink's", err)
	}
	if n := len(rec.byPod()["wq-job-a/worker"]); n != 3 {
		t.Errorf("sink got %d lines after failing at 3", n)
	}
}

func TestStreamLongLines(t *testing.T) {
	long := strings.Repeat("x", 2*MaxLineBytes+10)
	kube := fake.NewClientset(testPod("wq-job-a", corev1.PodRunning, running("worker")))
	logs := newFakeLogs()
	logs.logs["wq-job-a/worker"] = "short\n" + long + "\nafter"
	rec := newRecorder(t)
	if err := Stream(context.Background(), kube, Options{Namespace: testNS, Selector: testSel, Tail: -1, openLog: logs.open}, rec); err != nil {
		t.Fatal(err)
	}
	got := rec.byPod()["wq-job-a/worker"]
	if len(got) != 5 || got[0] != "short" || got[4] != "after" {
		t.Fatalf("got %d lines, want short, 3 pieces, after", len(got))
	}
	for _, piece := range got[1:4] {
		if len(piece) > MaxLineBytes {
			t.Errorf("piece of %d bytes exceeds MaxLineBytes", len(piece))
		}
	}
	if strings.Join(got[1:4], "") != long {
		t.Error("pieces do not add up to the long line")
	}
}

func TestStreamParsesTimestamps(t *testing.T) {
	kube := fake.NewClientset(testPod("wq-job-a", corev1.PodRunning, running("worker")))
	logs := newFakeLogs()
	logs.logs["wq-job-a/worker"] = "2026-01-02T03:04:05.123456789Z hello world\n2026-01-02T03:04:06Z \nno timestamp\n"
	rec := newRecorder(t)
	if err := Stream(context.Background(), kube, Options{Namespace: testNS, Selector: testSel, Tail: -1, ParseTimes: true, openLog: logs.open}, rec); err != nil {
		t.Fatal(err)
	}
	if !logs.opens[0].opts.Timestamps {
		t.Error("ParseTimes did not request timestamps from the API")
	}
	want := []struct {
		time time.Time
		text string
	}{
		{time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC), "hello world"},
		{time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC), ""},
		{time.Time{}, "no timestamp"},
	}
	if len(rec.lines) != len(want) {
		t.Fatalf("got %d lines, want %d", len(rec.lines), len(want))
	}
	for i, w := range want {
		l := rec.lines[i]
		if !l.Time.Equal(w.time) || string(l.Text) != w.text {
			t.Errorf("line %d = (%v, %q), want (%v, %q)", i, l.Time, l.Text, w.time, w.text)
		}
	}
}

func TestStreamRejectsBadOptions(t *testing.T) {
	kube := fake.NewClientset()
	if err := Stream(context.Background(), kube, Options{Selector: "job-name in (", Tail: -1}, newRecorder(t)); err == nil || !strings.Contains(err.Error(), "invalid selector") {
		t.Errorf("bad selector: %v", err)
	}
	if err := Stream(context.Background(), kube, Options{Tail: -1}, newRecorder(t)); err == nil {
		t.Error("empty selector: no error")
	}
	if err := Stream(context.Background(), kube, Options{Selector: testSel, Follow: true, Previous: true}, newRecorder(t)); err == nil {
		t.Error("Follow with Previous: no error")
	}
}

// TestStreamThroughFakeClientset uses the fake clientset's own GetLogs, whose
// output a reactor can replace since client-go v0.36, to cover the API path.
func TestStreamThroughFakeClientset(t *testing.T) {
	kube := fake.NewClientset(
		testPod("wq-job-a", corev1.PodSucceeded, terminated("worker", 0)),
		testPod("wq-job-gone", corev1.PodSucceeded, terminated("worker", 0)),
	)
	kube.PrependReactor("get", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.GetSubresource() != "log" {
			return false, nil, nil
		}
		opts := action.(k8stesting.GenericAction).GetValue().(*corev1.PodLogOptions)
		if opts.TailLines != nil && *opts.TailLines == 1 {
			// The reactor cannot tell pods apart; Tail 1 marks the gone one.
			return true, nil, apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "wq-job-gone")
		}
		return true, &runtime.Unknown{Raw: []byte("one\ntwo\n")}, nil
	})
	rec := newRecorder(t)
	if err := Stream(context.Background(), kube, Options{Namespace: testNS, Selector: "job-name=wq-job", Tail: -1}, rec); err != nil {
		t.Fatal(err)
	}
	if got := rec.byPod(); strings.Join(got["wq-job-a/worker"], ",") != "one,two" {
		t.Errorf("lines = %v", got)
	}

	rec = newRecorder(t)
	err := Stream(context.Background(), kube, Options{Namespace: testNS, Selector: "job-name=wq-job", Tail: 1}, rec)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if !strings.Contains(rec.goneReasons("wq-job-gone"), "no longer exists") {
		t.Errorf("PodGone(wq-job-gone) = %q", rec.goneReasons("wq-job-gone"))
	}
}

package podlogs

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func startedAt(p *corev1.Pod, t time.Time) *corev1.Pod {
	p.Status.StartTime = &metav1.Time{Time: t}
	return p
}

// The logs of a finished Job come out pod by pod, in the order the pods
// started, then by name, whichever stream delivers first: the same output
// from one run to the next.
func TestStreamHandsOnLogsPodByPodInTheOrderThePodsStarted(t *testing.T) {
	t0 := time.Now().Add(-time.Hour)
	pods := []*corev1.Pod{
		startedAt(testPod("wq-job-a", corev1.PodSucceeded, terminated("worker", 0)), t0.Add(2*time.Second)),
		startedAt(testPod("wq-job-b", corev1.PodSucceeded, terminated("worker", 0)), t0),
		startedAt(testPod("wq-job-d", corev1.PodSucceeded, terminated("worker", 0)), t0.Add(time.Second)),
		startedAt(testPod("wq-job-c", corev1.PodSucceeded, terminated("worker", 0)), t0.Add(time.Second)),
	}
	kube := fake.NewClientset(pods[0], pods[1], pods[2], pods[3])
	logs := newFakeLogs()
	logs.pipes = true
	rec := newRecorder(t)
	done := make(chan error, 1)
	go func() {
		done <- Stream(context.Background(), kube, Options{Namespace: testNS, Selector: testSel, Tail: -1, openLog: logs.open}, rec)
	}()
	writers := map[string]*opened{}
	for range pods {
		o := <-logs.opened
		writers[o.key] = &o
	}
	// The last to start delivers first, the first last.
	for _, name := range []string{"wq-job-a", "wq-job-d", "wq-job-c", "wq-job-b"} {
		w := writers[name+"/worker"].w
		w.Write([]byte(strings.Join(numbered(name, 3), "\n") + "\n"))
		w.Close()
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range rec.lines {
		got = append(got, string(l.Text))
	}
	var want []string
	for _, name := range []string{"wq-job-b", "wq-job-c", "wq-job-d", "wq-job-a"} {
		want = append(want, numbered(name, 3)...)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Streams that have kept all they may wait for their turn; the one whose
// turn it is always has a request slot, so reading never stalls.
func TestStreamKeepsBoundedLogsWhileWaitingForTheirTurn(t *testing.T) {
	defer func(old int) { maxKept = old }(maxKept)
	maxKept = 100
	var objs []*corev1.Pod
	logs := newFakeLogs()
	var want []string
	for _, name := range []string{"wq-job-a", "wq-job-b", "wq-job-c", "wq-job-d", "wq-job-e"} {
		objs = append(objs, testPod(name, corev1.PodSucceeded, terminated("worker", 0)))
		lines := numbered(name, 200)
		logs.logs[name+"/worker"] = strings.Join(lines, "\n") + "\n"
		want = append(want, lines...)
	}
	kube := fake.NewClientset(objs[0], objs[1], objs[2], objs[3], objs[4])
	rec := newRecorder(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := Stream(ctx, kube, Options{Namespace: testNS, Selector: testSel, Tail: -1, MaxRequests: 2, openLog: logs.open}, rec); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range rec.lines {
		got = append(got, string(l.Text))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %d lines, out of order or missing", len(got))
	}
}

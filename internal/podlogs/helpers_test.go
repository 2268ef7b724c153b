package podlogs

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const (
	testNS  = "wq"
	testSel = "job-name=wq-job"
)

// testPod builds a pod of the test Job with one container per status.
func testPod(name string, phase corev1.PodPhase, statuses ...corev1.ContainerStatus) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: testNS,
			UID:       types.UID("uid-" + name),
			Labels:    map[string]string{"job-name": "wq-job"},
		},
		Status: corev1.PodStatus{Phase: phase, ContainerStatuses: statuses},
	}
	for _, st := range statuses {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: st.Name, Image: "busybox"})
	}
	return p
}

func running(name string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, ContainerID: "containerd://" + name + "-1",
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
}

func terminated(name string, code int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, ContainerID: "containerd://" + name + "-1",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, ContainerID: "containerd://" + name + "-1"}}}
}

func waiting(name, reason string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
}

// recorder is a Sink that keeps everything and fails the test if it is
// ever called from two goroutines at once.
type recorder struct {
	t      *testing.T
	inside atomic.Int32

	mu    sync.Mutex
	lines []Line
	gone  map[string][]string

	// lineCh and goneCh, when set, receive every call.
	lineCh chan Line
	goneCh chan string
	// failAfter makes Line fail once that many lines arrived.
	failAfter int
}

func newRecorder(t *testing.T) *recorder {
	return &recorder{t: t, gone: map[string][]string{}, lineCh: make(chan Line, 10000), goneCh: make(chan string, 100)}
}

func (r *recorder) enter() {
	if r.inside.Add(1) != 1 {
		r.t.Error("sink called from two goroutines at once")
	}
}

func (r *recorder) Line(l Line) error {
	r.enter()
	defer r.inside.Add(-1)
	l.Text = append([]byte(nil), l.Text...)
	r.mu.Lock()
	r.lines = append(r.lines, l)
	n := len(r.lines)
	r.mu.Unlock()
	select {
	case r.lineCh <- l:
	default:
	}
	if r.failAfter > 0 && n >= r.failAfter {
		return errSinkFull
	}
	return nil
}

var errSinkFull = fmt.Errorf("sink is full")

func (r *recorder) PodGone(pod, reason string) {
	r.enter()
	defer r.inside.Add(-1)
	r.mu.Lock()
	r.gone[pod] = append(r.gone[pod], reason)
	r.mu.Unlock()
	select {
	case r.goneCh <- pod + ": " + reason:
	default:
	}
}

// byPod returns the texts received per pod/container.
func (r *recorder) byPod() map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]string{}
	for _, l := range r.lines {
		k := l.Pod + "/" + l.Container
		out[k] = append(out[k], string(l.Text))
	}
	return out
}

func (r *recorder) goneReasons(pod string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.gone[pod], "; ")
}

// fakeLogs is the test double of the log API: fixed contents, errors, or
// (with pipes) a pipe per open whose writer the test gets.
type fakeLogs struct {
	mu       sync.Mutex
	logs     map[string]string // by "pod/container"
	errs     map[string]error
	cur, max int
	opens    []opened

	// gate, when set, holds every read until closed.
	gate chan struct{}
	// pipes makes open return a pipe and send its writer on opened.
	pipes  bool
	opened chan opened
}

type opened struct {
	key  string
	opts *corev1.PodLogOptions
	w    *io.PipeWriter
}

func newFakeLogs() *fakeLogs {
	return &fakeLogs{logs: map[string]string{}, errs: map[string]error{}, opened: make(chan opened, 100)}
}

func (f *fakeLogs) open(ctx context.Context, namespace, pod string, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
	key := pod + "/" + opts.Container
	f.mu.Lock()
	if err := f.errs[key]; err != nil {
		f.mu.Unlock()
		return nil, err
	}
	f.cur++
	f.max = max(f.max, f.cur)
	content := f.logs[key]
	f.mu.Unlock()

	rc := &fakeStream{f: f}
	o := opened{key: key, opts: opts}
	if f.pipes {
		pr, pw := io.Pipe()
		rc.r, o.w = pr, pw
		rc.close = pr.Close
	} else {
		rc.r = strings.NewReader(content)
	}
	f.mu.Lock()
	f.opens = append(f.opens, o)
	f.mu.Unlock()
	f.opened <- o
	return rc, nil
}

func (f *fakeLogs) maxConcurrent() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.max
}

type fakeStream struct {
	f     *fakeLogs
	r     io.Reader
	close func() error
	once  sync.Once
}

func (s *fakeStream) Read(p []byte) (int, error) {
	if s.f.gate != nil {
		<-s.f.gate
	}
	return s.r.Read(p)
}

func (s *fakeStream) Close() error {
	s.once.Do(func() {
		s.f.mu.Lock()
		s.f.cur--
		s.f.mu.Unlock()
	})
	if s.close != nil {
		return s.close()
	}
	return nil
}

// numbered returns n lines "<prefix> i".
func numbered(prefix string, n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("%s line %d", prefix, i)
	}
	return lines
}

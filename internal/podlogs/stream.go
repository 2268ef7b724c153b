// Package podlogs streams the logs of many pods (the pods of a Job) at once:
// one stream per pod and container, a bound on concurrent requests, complete
// lines handed to a Sink one at a time, and optionally following pods that are
// created later. It knows nothing of cobra; printers for text and JSON output
// live in printer.go.
package podlogs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

const (
	// DefaultMaxRequests bounds concurrent log streams when Options.MaxRequests is 0.
	DefaultMaxRequests = 20
	// MaxLineBytes is the longest line handed to a Sink; longer lines arrive in
	// pieces of at most this size, so memory stays bounded whatever the log.
	MaxLineBytes = 1 << 20
)

// Options selects the pods and containers whose logs Stream reads.
type Options struct {
	Namespace string
	// Selector is a label selector, e.g. "job-name=wq-job2".
	Selector string
	// Container names one container; "" means every app container of a pod.
	Container string
	// AllContainers adds init containers (ignored when Container is set).
	AllContainers bool

	// Follow keeps streaming and picks up pods created later; Stream returns
	// once Done is closed and every stream has ended, or when ctx ends.
	Follow bool
	// Done, with Follow, says the pods' owner has finished: no new pods are
	// picked up after one last look at the pods, and Stream returns when every
	// stream has ended by itself (a finished container's stream does).
	Done <-chan struct{}

	// Since returns only lines newer than this; 0 means no limit.
	Since time.Duration
	// Tail returns only the last Tail lines of each container; negative means
	// all lines (the caller's default should be -1; 0 is taken literally, as
	// kubectl's --tail=0 is).
	Tail int64
	// Timestamps asks the API for timestamps; they are parsed into Line.Time
	// and stripped from Line.Text.
	Timestamps bool
	// ParseTimes does the same as Timestamps, for callers that want Line.Time
	// (JSON output) without asking the user for --timestamps.
	ParseTimes bool
	// Previous reads the previous instance of each container. It cannot be
	// combined with Follow.
	Previous bool

	// MaxRequests bounds concurrent log streams; 0 means DefaultMaxRequests.
	// With Follow, streams beyond the bound start when earlier ones end.
	MaxRequests int

	// openLog replaces the API call in tests.
	openLog logOpener
}

// Line is one line of one container's log.
type Line struct {
	Pod, Container string
	// Time is set when Options.Timestamps or Options.ParseTimes is.
	Time time.Time
	// Text is the line without its newline. It is only valid during the
	// Sink.Line call. A line longer than MaxLineBytes arrives in pieces.
	Text []byte
}

// Sink receives lines and problems. Stream calls it from one goroutine at a
// time, so implementations need no locking; a Line error stops Stream.
type Sink interface {
	Line(Line) error
	// PodGone says that logs of pod cannot be read, and why: the pod was
	// deleted, a container never started, the request failed.
	PodGone(pod string, reason string)
}

// logOpener opens one container's log; the default calls the API.
type logOpener func(ctx context.Context, namespace, pod string, opts *corev1.PodLogOptions) (io.ReadCloser, error)

func apiOpener(kube kubernetes.Interface) logOpener {
	return func(ctx context.Context, namespace, pod string, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
		return kube.CoreV1().Pods(namespace).GetLogs(pod, opts).Stream(ctx)
	}
}

// Stream reads the logs of every container selected by o and hands their
// lines to sink. Without Follow it returns when every log has been read.
// Problems with single pods go to sink.PodGone; if a request failed for a
// reason other than a gone pod or a container that never started, Stream
// still reads the rest and then returns an error saying so.
func Stream(ctx context.Context, kube kubernetes.Interface, o Options, sink Sink) error {
	if o.Selector == "" {
		return errors.New("a label selector is required")
	}
	sel, err := labels.Parse(o.Selector)
	if err != nil {
		return fmt.Errorf("invalid selector %q: %w", o.Selector, err)
	}
	if o.Follow && o.Previous {
		return errors.New("logs of previous containers cannot be followed")
	}
	if o.MaxRequests <= 0 {
		o.MaxRequests = DefaultMaxRequests
	}
	open := o.openLog
	if open == nil {
		open = apiOpener(kube)
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s := &streamer{
		o:      o,
		sel:    sel,
		open:   open,
		sink:   sink,
		sem:    make(chan struct{}, o.MaxRequests),
		cancel: cancel,
		active: map[string]int{},
	}
	if o.Follow {
		err = s.follow(ctx, kube)
	} else {
		err = s.once(ctx, kube)
	}
	s.wg.Wait()
	if err == nil {
		// Cancelled while streams were running: they ended early.
		err = ctx.Err()
	}
	return s.result(err)
}

// streamer is the state of one Stream call.
type streamer struct {
	o    Options
	sel  labels.Selector
	open logOpener
	sem  chan struct{}
	wg   sync.WaitGroup

	cancel context.CancelCauseFunc

	// mu serialises sink calls and guards the fields below.
	mu        sync.Mutex
	sink      Sink
	sinkErr   error
	failed    int
	firstFail error

	// activeMu guards active: running streams by target key, for follow.
	activeMu sync.Mutex
	active   map[string]int
	// ended is notified when a stream ends, for follow.
	ended chan struct{}

	// order, without follow, hands the logs to the sink target by target;
	// guarded by mu.
	order *order
}

func (s *streamer) result(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.sinkErr != nil:
		return s.sinkErr
	case err != nil:
		return err
	case s.failed > 0:
		return fmt.Errorf("reading logs failed for %d container(s); first error: %w", s.failed, s.firstFail)
	}
	return nil
}

// once lists the pods and reads each selected container's log to its end.
// The logs are read at once, as many as MaxRequests allows, and handed to
// the sink whole and in the order of the pods (see list) and of their
// containers, the same from one run to the next.
func (s *streamer) once(ctx context.Context, kube kubernetes.Interface) error {
	pods, err := s.list(ctx, kube)
	if err != nil {
		return err
	}
	var targets []target
	for i := range pods {
		pod := &pods[i]
		for _, c := range s.containers(pod) {
			if c.missing {
				s.gone(pod.Name, fmt.Sprintf("pod has no container %q", c.name))
				continue
			}
			if _, ok, why := logState(pod, c, s.o.Previous); !ok {
				s.gone(pod.Name, why)
				continue
			}
			targets = append(targets, target{pod: pod.Name, container: c.name, first: true, index: len(targets)})
		}
	}
	s.mu.Lock()
	s.order = newOrder(len(targets), &s.mu)
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.order.wake.Broadcast()
	})
	defer stop()
	// Streams take their slots in the order of the targets: the one whose
	// lines go to the sink next always has one, so the others, which wait
	// for it once they have buffered enough, cannot starve it.
	for _, t := range targets {
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.sem }()
			s.read(ctx, t)
			s.mu.Lock()
			s.order.finish(t.index, s.handOn)
			s.mu.Unlock()
		}()
	}
	return nil
}

// list returns the selected pods of every phase, in the order they
// started, then by name (pods that have not started last).
func (s *streamer) list(ctx context.Context, kube kubernetes.Interface) ([]corev1.Pod, error) {
	list, err := kube.CoreV1().Pods(s.o.Namespace).List(ctx, metav1.ListOptions{LabelSelector: s.o.Selector})
	if err != nil {
		return nil, fmt.Errorf("listing pods with selector %q in namespace %q: %w", s.o.Selector, s.o.Namespace, err)
	}
	pods := list.Items[:0]
	for _, p := range list.Items {
		if s.sel.Matches(labels.Set(p.Labels)) {
			pods = append(pods, p)
		}
	}
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i].Status.StartTime, pods[j].Status.StartTime
		switch {
		case a == nil || b == nil:
			if (a == nil) != (b == nil) {
				return b == nil
			}
		case !a.Equal(b):
			return a.Before(b)
		}
		return pods[i].Name < pods[j].Name
	})
	return pods, nil
}

// target is one log stream: a container of a pod.
type target struct {
	pod, container string
	// key identifies the container across pod updates, for follow.
	key string
	// first is false for later instances of a restarted container, whose
	// logs are read whole regardless of Tail and Since.
	first bool
	// index is the target's place in the output, without follow.
	index int
}

// start reads t's log in a new goroutine once the semaphore admits it.
func (s *streamer) start(ctx context.Context, t target) {
	s.activeMu.Lock()
	s.active[t.key]++
	s.activeMu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.streamEnded(t)
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-s.sem }()
		s.read(ctx, t)
	}()
}

func (s *streamer) streamEnded(t target) {
	s.activeMu.Lock()
	if s.active[t.key]--; s.active[t.key] <= 0 {
		delete(s.active, t.key)
	}
	s.activeMu.Unlock()
	if s.ended != nil {
		notify(s.ended)
	}
}

func (s *streamer) isActive(key string) bool {
	s.activeMu.Lock()
	defer s.activeMu.Unlock()
	return s.active[key] > 0
}

func (s *streamer) logOptions(t target) *corev1.PodLogOptions {
	opts := &corev1.PodLogOptions{
		Container:  t.container,
		Follow:     s.o.Follow,
		Previous:   s.o.Previous,
		Timestamps: s.o.Timestamps || s.o.ParseTimes,
	}
	if t.first {
		if s.o.Tail >= 0 {
			tail := s.o.Tail
			opts.TailLines = &tail
		}
		if s.o.Since > 0 {
			secs := int64(math.Ceil(s.o.Since.Seconds()))
			opts.SinceSeconds = &secs
		}
	}
	return opts
}

// read streams one container's log into the sink.
func (s *streamer) read(ctx context.Context, t target) {
	opts := s.logOptions(t)
	rc, err := s.open(ctx, s.o.Namespace, t.pod, opts)
	if err != nil {
		s.streamFailed(ctx, t, err)
		return
	}
	// Closing the body unblocks a read waiting on a quiet followed stream.
	stop := context.AfterFunc(ctx, func() { _ = rc.Close() })
	defer stop()
	defer func() { _ = rc.Close() }()

	var ts time.Time
	err = splitLines(rc, MaxLineBytes, func(b []byte, cont bool) error {
		if opts.Timestamps && !cont {
			ts, b = splitTimestamp(b)
		}
		return s.emit(ctx, t, Line{Pod: t.pod, Container: t.container, Time: ts, Text: b})
	})
	if err != nil && ctx.Err() == nil {
		s.streamFailed(ctx, t, fmt.Errorf("log stream ended early: %w", err))
	}
}

// emit hands one line of t to the sink, or keeps it until t's turn (see
// order); a sink error stops every stream.
func (s *streamer) emit(ctx context.Context, t target, l Line) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.order != nil {
		kept, err := s.order.keep(ctx, t.index, l, func() error { return s.sinkErr })
		if kept || err != nil {
			return err
		}
	}
	return s.handOn(l)
}

// handOn gives l to the sink; s.mu is held.
func (s *streamer) handOn(l Line) error {
	if s.sinkErr != nil {
		return s.sinkErr
	}
	if err := s.sink.Line(l); err != nil {
		s.sinkErr = err
		s.cancel(err)
		if s.order != nil {
			s.order.wake.Broadcast()
		}
		return err
	}
	return nil
}

func (s *streamer) gone(pod, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sinkErr == nil {
		s.sink.PodGone(pod, reason)
	}
}

// streamFailed reports a stream that could not be read. A gone pod or a
// container that is not running is reported only; anything else also makes
// Stream fail at the end.
func (s *streamer) streamFailed(ctx context.Context, t target, err error) {
	if ctx.Err() != nil {
		return
	}
	switch {
	case apierrors.IsNotFound(err):
		s.gone(t.pod, "pod no longer exists; its logs are gone")
		return
	case apierrors.IsBadRequest(err):
		// The kubelet's answer for a container that is not running, e.g.
		// `container "worker" in pod "x" is waiting to start: ContainerCreating`.
		s.gone(t.pod, err.Error())
		return
	}
	s.gone(t.pod, fmt.Sprintf("container %s: %v", t.container, err))
	s.mu.Lock()
	if s.failed++; s.firstFail == nil {
		s.firstFail = fmt.Errorf("pod %s container %s: %w", t.pod, t.container, err)
	}
	s.mu.Unlock()
}

// notify wakes a loop waiting on ch without ever blocking.
func notify(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

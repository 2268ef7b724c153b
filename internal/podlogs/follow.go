package podlogs

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/listwatch"
)

// containerTrack is what follow remembers about one container of one pod.
type containerTrack struct {
	// streamed holds the container instances already streamed.
	streamed map[string]bool
	// reported is the problem reported through PodGone, if any.
	reported string
}

// follower is the state of follow's loop; only that loop touches it.
type follower struct {
	*streamer
	pods   map[string]*corev1.Pod
	tracks map[string]*containerTrack
}

// follow lists and watches the selected pods and streams every container as
// soon as it has a log, again after it restarts, until Done is closed (then
// it takes one last look with a fresh List) or ctx ends.
func (s *streamer) follow(ctx context.Context, kube kubernetes.Interface) error {
	lw := listwatch.Pods(kube, s.o.Namespace, s.o.Selector)
	items, rv, err := lw.List(ctx)
	if err != nil {
		return fmt.Errorf("listing pods with selector %q in namespace %q: %w", s.o.Selector, s.o.Namespace, err)
	}
	changes := make(chan listwatch.Change[*corev1.Pod])
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		lw.Run(watchCtx, rv, changes)
	}()
	defer func() {
		stopWatch()
		<-watchDone
	}()

	s.ended = make(chan struct{}, 1)
	f := &follower{streamer: s, pods: map[string]*corev1.Pod{}, tracks: map[string]*containerTrack{}}
	f.replace(ctx, items)
	for {
		select {
		case c := <-changes:
			switch c.Type {
			case "":
				f.replace(ctx, c.Relist)
			case watch.Deleted:
				delete(f.pods, listwatch.Key(c.Object))
				f.forget(c.Object)
			default:
				f.pods[listwatch.Key(c.Object)] = c.Object
				f.scan(ctx, c.Object, false)
			}
		case <-s.ended:
			// A restarted container's next instance waits for the
			// previous stream to end.
			for _, pod := range f.pods {
				f.scan(ctx, pod, false)
			}
		case <-s.o.Done:
			// The owner finished: its pods are all there and their
			// containers ended. Read what was not read yet, from a
			// consistent List rather than a view that may lag.
			pods, err := s.list(ctx, kube)
			if err != nil {
				for _, pod := range f.pods {
					f.scan(ctx, pod, true)
				}
				return nil
			}
			for i := range pods {
				f.scan(ctx, &pods[i], true)
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// replace makes pods the complete view after a (re-)list.
func (f *follower) replace(ctx context.Context, pods []*corev1.Pod) {
	next := make(map[string]*corev1.Pod, len(pods))
	for _, pod := range pods {
		next[listwatch.Key(pod)] = pod
	}
	for key, pod := range f.pods {
		if next[key] == nil {
			f.forget(pod)
		}
	}
	f.pods = next
	for _, pod := range pods {
		f.scan(ctx, pod, false)
	}
}

// scan starts streams for pod's containers whose current instance has a
// log that was not streamed yet, and reports containers that cannot start.
// With final, every container never streamed is reported.
func (f *follower) scan(ctx context.Context, pod *corev1.Pod, final bool) {
	if !f.sel.Matches(labels.Set(pod.Labels)) {
		return
	}
	for _, c := range f.containers(pod) {
		key := listwatch.Key(pod) + "/" + c.name
		tr := f.tracks[key]
		if tr == nil {
			tr = &containerTrack{streamed: map[string]bool{}}
			f.tracks[key] = tr
		}
		if c.missing {
			f.report(pod.Name, tr, fmt.Sprintf("pod has no container %q", c.name))
			continue
		}
		instance, ok, why := logState(pod, c, false)
		switch {
		case ok && !tr.streamed[instance]:
			// A restarted container's previous stream ends when that
			// instance exits; start the next one after it.
			if f.isActive(key) {
				continue
			}
			tr.streamed[instance] = true
			f.start(ctx, target{pod: pod.Name, container: c.name, key: key, first: len(tr.streamed) == 1})
		case ok:
			// Already streamed.
		case final && len(tr.streamed) == 0:
			f.report(pod.Name, tr, why)
		case cannotStart(pod, c):
			f.report(pod.Name, tr, why)
		}
	}
}

// report calls PodGone once per container: a container failing to pull its
// image flips between ErrImagePull and ImagePullBackOff, which is one problem.
func (f *follower) report(pod string, tr *containerTrack, why string) {
	if tr.reported != "" {
		return
	}
	tr.reported = why
	f.gone(pod, why)
}

// forget drops a deleted pod, reporting it if nothing of it was read or
// reported.
func (f *follower) forget(pod *corev1.Pod) {
	if !f.sel.Matches(labels.Set(pod.Labels)) {
		return
	}
	silent := true
	for _, c := range f.containers(pod) {
		key := listwatch.Key(pod) + "/" + c.name
		if tr := f.tracks[key]; tr != nil {
			if len(tr.streamed) > 0 || tr.reported != "" {
				silent = false
			}
			delete(f.tracks, key)
		}
	}
	if silent {
		f.gone(pod.Name, "pod was deleted before its logs could be read")
	}
}

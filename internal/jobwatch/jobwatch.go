// Package jobwatch watches a Job and its pods and reports what a user waiting
// for the Job needs to know: progress, the outcome, and pods that cannot run.
// It uses watches, never polls; a timer re-checks problems that must last a
// grace period before they count.
package jobwatch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/alarm"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/listwatch"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/podstatus"
)

// ReasonPodsFailing is the Reason of a Stuck Job whose pods keep failing
// with restartPolicy Never: the Job's own crash loop (see Stuck).
const ReasonPodsFailing = "PodsFailing"

// DefaultStuckGrace is how long a pod may stay unschedulable or crash-looping
// before it is reported, when Options.StuckGrace is 0.
const DefaultStuckGrace = podstatus.DefaultGrace

// Event is one of Progress, Done or Stuck.
type Event struct {
	Progress *Progress
	Done     *Outcome
	Stuck    *Stuck
}

// Progress holds the pod counts of the Job's status, and what decides how
// many pods it may run. Watch sends it first and then whenever it changes.
type Progress struct {
	Active, Ready, Succeeded, Failed int32
	// Parallelism is the Job's spec.parallelism: 0 pauses it.
	Parallelism int32
	// Suspended is the Job's spec.suspend: no pods run until it is resumed
	// (by Kueue's admission, or by hand). Pod problems are not looked for
	// meanwhile, so that the time suspended does not count against the
	// stuck grace.
	Suspended bool
}

// Outcome is how the Job ended.
type Outcome struct {
	// Complete is true for the Complete condition, false for Failed.
	Complete bool
	// Reason and Message come from the condition, e.g. BackoffLimitExceeded
	// or DeadlineExceeded for a failed Job.
	Reason, Message string
	// Progress holds the final counts.
	Progress Progress
	// Finished is when the Job finished, as its status says (zero when it
	// does not): a Job that finished long before the watch began ran until
	// then, not until now.
	Finished time.Time
}

// Stuck reports something that keeps the Job's pods from running. Each pod
// and container is reported once per kind of problem.
type Stuck struct {
	// Pod is empty for FailedCreate: the Job controller could not create a
	// pod at all (quota, admission, PodSecurity).
	Pod, Container string
	// Reason is FailedCreate, or the reason of a pod's problem that
	// podstatus calls Fatal (e.g. ImagePullBackOff,
	// CreateContainerConfigError) or Stuck past the grace period
	// (Unschedulable, CrashLoopBackOff), or ReasonPodsFailing: with
	// restartPolicy Never a crashing container does not loop in its pod;
	// the Job replaces the pod, after a delay that doubles with each
	// failure. When two or more pods have failed, none succeeded, and the
	// Job has had no active pod for the grace period, Pod is the last one
	// that failed.
	Reason  string
	Message string
	// Kind is podstatus' kind of the pod's problem; Starting for FailedCreate.
	Kind podstatus.Kind
}

// Options says which Job to watch.
type Options struct {
	Namespace, Name string
	// StuckGrace is how long a pod may be Unschedulable or in
	// CrashLoopBackOff before it is reported; image and configuration
	// errors are reported at once (podstatus has the rules). 0 means
	// DefaultStuckGrace.
	StuckGrace time.Duration
	// Clock replaces the real clock in tests.
	Clock clock.Clock
}

// Watch reports the Job's progress, stuck pods and outcome on events until
// the Job ends: it returns nil after sending Done, ctx's error when ctx ends,
// and an error if the Job does not exist or is deleted or replaced before it
// ends. It never closes events.
func Watch(ctx context.Context, kube kubernetes.Interface, o Options, events chan<- Event) error {
	if o.Name == "" {
		return errors.New("no job name given")
	}
	if o.Namespace == "" {
		o.Namespace = metav1.NamespaceDefault
	}
	if o.StuckGrace <= 0 {
		o.StuckGrace = DefaultStuckGrace
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}

	jobLW := jobListWatch(kube, o)
	jobs, jobRV, err := jobLW.List(ctx)
	if err != nil {
		return fmt.Errorf("getting job %q in namespace %q: %w", o.Name, o.Namespace, err)
	}
	if len(jobs) == 0 {
		return fmt.Errorf("job %q not found in namespace %q", o.Name, o.Namespace)
	}
	job := jobs[0]
	sel, err := podSelector(job)
	if err != nil {
		return err
	}
	podLW := listwatch.Pods(kube, o.Namespace, sel.String())
	pods, podRV, err := podLW.List(ctx)
	if err != nil {
		return fmt.Errorf("listing pods of job %q: %w", o.Name, err)
	}
	// Events explain pods the Job controller could not create. Reading
	// them is optional: without permission, go without.
	evLW := eventListWatch(kube, job)
	evs, evRV, evErr := evLW.List(ctx)

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	jobCh := make(chan listwatch.Change[*batchv1.Job])
	podCh := make(chan listwatch.Change[*corev1.Pod])
	wg.Go(func() { jobLW.Run(ctx, jobRV, jobCh) })
	wg.Go(func() { podLW.Run(ctx, podRV, podCh) })
	var evCh chan listwatch.Change[*corev1.Event]
	if evErr == nil {
		evCh = make(chan listwatch.Change[*corev1.Event])
		wg.Go(func() { evLW.Run(ctx, evRV, evCh) })
	}

	w := &watcher{o: o, events: events, job: job, sel: sel, pods: map[string]*corev1.Pod{}, states: map[string]*podState{}, failedCreate: map[string]bool{},
		crashed: map[string]bool{}, alarm: alarm.Alarm{Clock: o.Clock}}
	defer w.alarm.Stop()
	w.replacePods(pods)
	w.addEvents(evs)
	for {
		finished, err := w.evaluate(ctx)
		if finished || err != nil {
			return err
		}
		select {
		case c := <-jobCh:
			if err := w.applyJob(c); err != nil {
				return err
			}
		case c := <-podCh:
			switch c.Type {
			case "":
				w.replacePods(c.Relist)
			case watch.Deleted:
				w.removePod(c.Object)
			default:
				w.setPod(c.Object)
			}
		case c := <-evCh:
			if c.Type == "" {
				w.addEvents(c.Relist)
			} else if c.Type != watch.Deleted {
				w.addEvents([]*corev1.Event{c.Object})
			}
		case <-w.alarm.C():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func jobListWatch(kube kubernetes.Interface, o Options) listwatch.ListWatch[*batchv1.Job] {
	jobs := kube.BatchV1().Jobs(o.Namespace)
	byName := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", o.Name).String()}
	return listwatch.For(jobs.List, jobs.Watch, byName, func(l *batchv1.JobList) []*batchv1.Job {
		items := []*batchv1.Job{}
		for i := range l.Items {
			// Filtered again: not every client honours field selectors.
			if l.Items[i].Name == o.Name {
				items = append(items, &l.Items[i])
			}
		}
		return items
	})
}

// podSelector is the Job's own selector, as its controller uses it. The API
// server always sets one; without it, the job-name label every Kubernetes
// version puts on a Job's pods.
func podSelector(job *batchv1.Job) (labels.Selector, error) {
	if job.Spec.Selector == nil {
		return labels.SelectorFromSet(labels.Set{"job-name": job.Name}), nil
	}
	sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("job %q has an invalid selector: %w", job.Name, err)
	}
	return sel, nil
}

func eventListWatch(kube kubernetes.Interface, job *batchv1.Job) listwatch.ListWatch[*corev1.Event] {
	events := kube.CoreV1().Events(job.Namespace)
	about := metav1.ListOptions{FieldSelector: fields.Set{"involvedObject.kind": "Job", "involvedObject.name": job.Name}.String()}
	return listwatch.For(events.List, events.Watch, about,
		func(l *corev1.EventList) []*corev1.Event { return listwatch.Pointers(l.Items) })
}

// watcher is the state of Watch's loop; only that loop touches it.
type watcher struct {
	o      Options
	events chan<- Event

	job  *batchv1.Job
	sel  labels.Selector
	pods map[string]*corev1.Pod // by listwatch.Key
	// states remembers, per pod, when graced problems were first seen and
	// which problems were reported.
	states       map[string]*podState
	failedCreate map[string]bool // messages of FailedCreate events, true once reported

	sentProgress *Progress
	// alarm wakes the loop when the grace of a problem ends.
	alarm alarm.Alarm
	// crashed holds the pods seen failed on their own, by listwatch.Key,
	// also after they are gone.
	crashed map[string]bool
	// failingSince is when the Job was first seen backing off from pods
	// that keep failing, with failedThen pods crashed; zero when it is not.
	failingSince    time.Time
	failedThen      int
	failingReported bool
}

type podState struct {
	firstSeen map[string]time.Time
	reported  map[string]bool
	// restarts holds a crash-looping container's restart count when its
	// crash loop was first seen, by problem key.
	restarts map[string]int32
}

func (w *watcher) applyJob(c listwatch.Change[*batchv1.Job]) error {
	if c.Type == "" {
		if len(c.Relist) == 0 {
			return fmt.Errorf("job %q in namespace %q was deleted before it finished", w.o.Name, w.o.Namespace)
		}
		c.Object = c.Relist[0]
	} else if c.Object.Name != w.o.Name {
		return nil
	}
	switch {
	case c.Type == watch.Deleted:
		return fmt.Errorf("job %q in namespace %q was deleted before it finished", w.o.Name, w.o.Namespace)
	case w.job.UID != "" && c.Object.UID != w.job.UID:
		return fmt.Errorf("job %q in namespace %q was replaced by a new Job before it finished", w.o.Name, w.o.Namespace)
	}
	w.job = c.Object
	return nil
}

// owned says whether pod belongs to the Job: it matches the selector and is
// not controlled by something else (e.g. a previous Job of the same name).
func (w *watcher) owned(pod *corev1.Pod) bool {
	if !w.sel.Matches(labels.Set(pod.Labels)) {
		return false
	}
	ref := metav1.GetControllerOf(pod)
	return ref == nil || w.job.UID == "" || ref.UID == w.job.UID
}

func (w *watcher) setPod(pod *corev1.Pod) {
	if w.owned(pod) {
		w.pods[listwatch.Key(pod)] = pod
		if crashedOnItsOwn(pod) {
			w.crashed[listwatch.Key(pod)] = true
		}
	}
}

// crashedOnItsOwn says whether pod failed by itself: not because it was
// deleted (a user, a node drain, a chaos test; its containers are killed
// with SIGTERM and it counts as failed in the Job's status) or disrupted
// (eviction, preemption). Only such failures say the Job's pods cannot run.
func crashedOnItsOwn(pod *corev1.Pod) bool {
	if pod.Status.Phase != corev1.PodFailed || pod.DeletionTimestamp != nil {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue {
			return false
		}
	}
	return true
}

func (w *watcher) removePod(pod *corev1.Pod) {
	delete(w.pods, listwatch.Key(pod))
	delete(w.states, listwatch.Key(pod))
}

func (w *watcher) replacePods(pods []*corev1.Pod) {
	w.pods = map[string]*corev1.Pod{}
	for _, pod := range pods {
		w.setPod(pod)
	}
	for key := range w.states {
		if w.pods[key] == nil {
			delete(w.states, key)
		}
	}
}

func (w *watcher) addEvents(evs []*corev1.Event) {
	for _, ev := range evs {
		if ev.Reason != "FailedCreate" || ev.Type != corev1.EventTypeWarning || ev.InvolvedObject.Kind != "Job" ||
			ev.InvolvedObject.Name != w.job.Name || (w.job.UID != "" && ev.InvolvedObject.UID != w.job.UID) {
			continue
		}
		if _, seen := w.failedCreate[ev.Message]; !seen {
			w.failedCreate[ev.Message] = false
		}
	}
}

func (w *watcher) send(ctx context.Context, ev Event) error {
	select {
	case w.events <- ev:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// evaluate sends what changed since the last call and sets the alarm for
// the next graced problem. It returns true once Done was sent.
func (w *watcher) evaluate(ctx context.Context) (bool, error) {
	if p := progressOf(w.job); w.sentProgress == nil || *w.sentProgress != p {
		if err := w.send(ctx, Event{Progress: &p}); err != nil {
			return false, err
		}
		w.sentProgress = &p
	}
	if out := outcomeOf(w.job); out != nil {
		return true, w.send(ctx, Event{Done: out})
	}
	if ptr.Deref(w.job.Spec.Suspend, false) {
		// No pod may run until the Job is resumed: what is left of its pods
		// is going away, and the grace of their problems starts afresh.
		w.states = map[string]*podState{}
		w.alarm.Stop()
		return false, nil
	}

	for _, msg := range slices.Sorted(maps.Keys(w.failedCreate)) {
		if w.failedCreate[msg] {
			continue
		}
		w.failedCreate[msg] = true
		if err := w.send(ctx, Event{Stuck: &Stuck{Reason: "FailedCreate", Message: msg}}); err != nil {
			return false, err
		}
	}

	now := w.o.Clock.Now()
	stuck, next := w.podsFailing(now)
	if stuck != nil {
		if err := w.send(ctx, Event{Stuck: stuck}); err != nil {
			return false, err
		}
	}
	pods := make([]*corev1.Pod, 0, len(w.pods))
	for _, pod := range w.pods {
		pods = append(pods, pod)
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	for _, pod := range pods {
		st := w.states[listwatch.Key(pod)]
		if st == nil {
			st = &podState{firstSeen: map[string]time.Time{}, reported: map[string]bool{}, restarts: map[string]int32{}}
			w.states[listwatch.Key(pod)] = st
		}
		present := map[string]bool{}
		for _, p := range podstatus.Problems(pod) {
			key := p.Container + "/" + p.Kind.String()
			present[key] = true
			if st.reported[key] {
				continue
			}
			seen, ok := st.firstSeen[key]
			if !ok {
				seen = now
				if p.Kind == podstatus.CrashLoop {
					st.restarts[key] = restartCount(pod, p.Container)
				}
			}
			due, ok := p.Due(seen, w.o.StuckGrace)
			if !ok {
				continue // still starting
			}
			st.firstSeen[key] = seen
			if now.Before(due) {
				if next.IsZero() || due.Before(next) {
					next = due
				}
				continue
			}
			st.reported[key] = true
			stuck := &Stuck{Pod: pod.Name, Container: p.Container, Reason: p.Reason, Message: p.Message, Kind: p.Kind}
			if err := w.send(ctx, Event{Stuck: stuck}); err != nil {
				return false, err
			}
		}
		stuck, due := w.stillCrashing(now, pod, st, present)
		if stuck != nil {
			if err := w.send(ctx, Event{Stuck: stuck}); err != nil {
				return false, err
			}
		}
		if !due.IsZero() && (next.IsZero() || due.Before(next)) {
			next = due
		}
	}
	w.alarm.Set(next)
	return false, nil
}

// stillCrashing reports a container whose crash loop began at least a
// grace ago and that has crashed again since, though it is running (or
// starting) again at this moment: the grace counts from the first crash,
// not from the last restart, or a container that crashes every 30 s would
// never be reported. It returns when to look again otherwise.
func (w *watcher) stillCrashing(now time.Time, pod *corev1.Pod, st *podState, present map[string]bool) (*Stuck, time.Time) {
	for key, seen := range st.firstSeen {
		container, kind, _ := strings.Cut(key, "/")
		if kind != podstatus.CrashLoop.String() || st.reported[key] || present[key] {
			continue
		}
		if due := seen.Add(w.o.StuckGrace); now.Before(due) {
			return nil, due
		}
		for _, cs := range podstatus.ContainerStatuses(pod) {
			if cs.Name == container && cs.RestartCount > st.restarts[key] {
				st.reported[key] = true
				return &Stuck{Pod: pod.Name, Container: container, Reason: "CrashLoopBackOff", Message: podstatus.CrashMessage(cs), Kind: podstatus.CrashLoop}, time.Time{}
			}
		}
	}
	return nil, time.Time{}
}

// runningFor says whether a pod of the Job has had all its containers
// running for at least d.
func (w *watcher) runningFor(now time.Time, d time.Duration) bool {
	for _, pod := range w.pods {
		if pod.Status.Phase != corev1.PodRunning || len(pod.Status.ContainerStatuses) == 0 {
			continue
		}
		steady := true
		for _, cs := range pod.Status.ContainerStatuses {
			if r := cs.State.Running; r == nil || now.Sub(r.StartedAt.Time) < d {
				steady = false
			}
		}
		if steady {
			return true
		}
	}
	return false
}

// restartCount is how often container of pod has restarted.
func restartCount(pod *corev1.Pod, container string) int32 {
	for _, cs := range podstatus.ContainerStatuses(pod) {
		if cs.Name == container {
			return cs.RestartCount
		}
	}
	return 0
}

// podsFailing reports a Job backing off from pods that keep failing (see
// Stuck), or returns when to look again.
func (w *watcher) podsFailing(now time.Time) (*Stuck, time.Time) {
	j, st := w.job, w.job.Status
	// The Job's own count of failed pods includes the deleted ones.
	crashed := len(w.crashed)
	// A pod the Job made anew after the last failure does not reset the
	// clock, or pods that fail 30 s in would never be reported; one that
	// has run for a grace without failing does.
	if w.failingReported || j.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever ||
		crashed < 2 || st.Succeeded > 0 || w.runningFor(now, w.o.StuckGrace) || ptr.Deref(j.Spec.Parallelism, 1) == 0 {
		w.failingSince = time.Time{}
		return nil, time.Time{}
	}
	if w.failingSince.IsZero() {
		w.failingSince, w.failedThen = now, crashed
	}
	if due := w.failingSince.Add(w.o.StuckGrace); now.Before(due) {
		return nil, due
	}
	if st.Active > 0 && crashed == w.failedThen {
		// None failed during the grace, and a pod runs: it may be the one
		// that works. Its failure, or a grace of running, will tell.
		return nil, time.Time{}
	}
	w.failingReported = true
	stuck := &Stuck{Reason: ReasonPodsFailing, Kind: podstatus.CrashLoop,
		Message: fmt.Sprintf("%d pods failed and none succeeded; the Job waits longer before each new one", crashed)}
	var last *corev1.Pod
	var lastEnd time.Time
	for key, pod := range w.pods {
		if !w.crashed[key] {
			continue
		}
		end := pod.CreationTimestamp.Time
		for _, cs := range pod.Status.ContainerStatuses {
			if t := cs.State.Terminated; t != nil && t.FinishedAt.After(end) {
				end = t.FinishedAt.Time
			}
		}
		if last == nil || end.After(lastEnd) || (end.Equal(lastEnd) && pod.Name > last.Name) {
			last, lastEnd = pod, end
		}
	}
	if last != nil {
		stuck.Pod = last.Name
		for _, cs := range last.Status.ContainerStatuses {
			if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
				stuck.Container = cs.Name
				stuck.Message += fmt.Sprintf("; the last exited with code %d", t.ExitCode)
				if t.Reason != "" {
					stuck.Message += " (" + t.Reason + ")"
				}
				break
			}
		}
	}
	return stuck, time.Time{}
}

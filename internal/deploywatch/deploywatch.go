// Package deploywatch waits for a Deployment to be rolled out with a ready
// pod, as `kubectl rollout status` does, and says why not when it cannot be:
// a pod that cannot start (podstatus' rules: Fatal problems at once, Stuck
// ones after the grace period) ends the wait early, and on timeout it names
// the pod that holds the Deployment up and its reason.
package deploywatch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/alarm"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/listwatch"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/podstatus"
)

// Options says which Deployment to wait for, and how long.
type Options struct {
	Namespace string
	// Deployment is the Deployment as applied: its name, selector and pod
	// template.
	Deployment *appsv1.Deployment
	// Timeout bounds the wait (required).
	Timeout time.Duration
	// Grace is how long a pod may be Unschedulable or crash-looping before
	// the wait fails; 0 means podstatus.DefaultGrace.
	Grace time.Duration
	// NotReadyYet, if set, is called once when the Deployment is first seen
	// not rolled out, e.g. to say that the wait begins.
	NotReadyYet func()
	// Clock replaces the real clock of the grace period in tests.
	Clock clock.Clock
}

// CannotStartError is a pod of the Deployment's current template that will
// not become ready without someone fixing something.
type CannotStartError struct {
	Deployment, Namespace, Pod string
	Problem                    podstatus.Problem
}

func (e *CannotStartError) Error() string {
	return fmt.Sprintf("pod %s of deployment/%s cannot start: %s", e.Pod, e.Deployment, e.Problem)
}

// TimeoutError says what kept the Deployment from being ready in time: a pod
// and its problem, or, when no pod has one, the Deployment's ReplicaFailure
// condition (e.g. a quota that forbids the pod).
type TimeoutError struct {
	Deployment, Namespace string
	Timeout               time.Duration
	// Pod is "" when no pod of the Deployment has a problem to show.
	Pod     string
	Problem podstatus.Problem
	// ReplicaFailure is "Reason: Message" of the condition, if True.
	ReplicaFailure string
}

func (e *TimeoutError) Error() string {
	msg := fmt.Sprintf("timed out after %s waiting for deployment/%s in namespace %s to be ready", e.Timeout, e.Deployment, e.Namespace)
	if e.Pod != "" {
		return fmt.Sprintf("%s: pod %s: %s", msg, e.Pod, e.Problem)
	}
	msg += ": no pod of it exists"
	if e.ReplicaFailure != "" {
		msg += ": " + e.ReplicaFailure
	}
	return msg
}

// WaitReady waits until the Deployment's rollout is complete and one of its
// pods is ready, and returns that pod's name. It returns a
// *CannotStartError when a pod of the current template cannot start, a
// *TimeoutError after o.Timeout, and ctx's error, wrapped, when ctx ends.
func WaitReady(ctx context.Context, kube kubernetes.Interface, o Options) (string, error) {
	d := o.Deployment
	if d.Spec.Selector == nil {
		return "", fmt.Errorf("deployment/%s has no selector", d.Name)
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return "", fmt.Errorf("deployment/%s has an invalid selector: %w", d.Name, err)
	}
	if o.Grace <= 0 {
		o.Grace = podstatus.DefaultGrace
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	w := &waiter{o: o, kube: kube, ns: o.Namespace, name: d.Name, sel: sel, deploy: d,
		pods: map[string]*corev1.Pod{}, firstSeen: map[string]time.Time{}, alarm: alarm.Alarm{Clock: o.Clock}}

	deployLW := deploymentListWatch(kube, w.ns, w.name)
	deploys, deployRV, err := deployLW.List(ctx)
	if err != nil {
		return "", w.failed(ctx, "deployment/"+w.name, err)
	}
	podLW := listwatch.Pods(kube, w.ns, sel.String())
	pods, podRV, err := podLW.List(ctx)
	if err != nil {
		return "", w.failed(ctx, "the pods of deployment/"+w.name, err)
	}

	var wg sync.WaitGroup
	watchCtx, stop := context.WithCancel(ctx)
	defer func() {
		stop()
		wg.Wait()
		w.alarm.Stop()
	}()
	deployCh := make(chan listwatch.Change[*appsv1.Deployment])
	podCh := make(chan listwatch.Change[*corev1.Pod])
	wg.Go(func() { deployLW.Run(watchCtx, deployRV, deployCh) })
	wg.Go(func() { podLW.Run(watchCtx, podRV, podCh) })

	if err := w.replaceDeployments(deploys); err != nil {
		return "", err
	}
	w.replacePods(pods)
	told := false
	for {
		if pod, err := w.evaluate(); pod != "" || err != nil {
			return pod, err
		}
		if !told && !rolloutDone(w.deploy) && o.NotReadyYet != nil {
			told = true
			o.NotReadyYet()
		}
		select {
		case <-ctx.Done():
			return "", w.timedOut(ctx)
		case c := <-deployCh:
			switch c.Type {
			case "":
				err = w.replaceDeployments(c.Relist)
			case watch.Deleted:
				if c.Object.Name == w.name {
					err = w.deleted()
				}
			default:
				if c.Object.Name == w.name {
					w.deploy = c.Object
				}
			}
			if err != nil {
				return "", err
			}
		case c := <-podCh:
			switch c.Type {
			case "":
				w.replacePods(c.Relist)
			case watch.Deleted:
				delete(w.pods, listwatch.Key(c.Object))
			default:
				w.setPod(c.Object)
			}
		case <-w.alarm.C():
		}
	}
}

// deploymentListWatch lists the Deployment with a Get, not a List:
// docs/rbac.yaml grants get and watch on Deployments, all that waiting for
// one needs.
func deploymentListWatch(kube kubernetes.Interface, ns, name string) listwatch.ListWatch[*appsv1.Deployment] {
	deploys := kube.AppsV1().Deployments(ns)
	byName := fields.OneTermEqualSelector("metadata.name", name).String()
	return listwatch.ListWatch[*appsv1.Deployment]{
		List: func(ctx context.Context) ([]*appsv1.Deployment, string, error) {
			d, err := deploys.Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return []*appsv1.Deployment{}, "", nil
			}
			if err != nil {
				return nil, "", err
			}
			return []*appsv1.Deployment{d}, d.ResourceVersion, nil
		},
		Watch: func(ctx context.Context, rv string) (watch.Interface, error) {
			return deploys.Watch(ctx, metav1.ListOptions{FieldSelector: byName, ResourceVersion: rv, AllowWatchBookmarks: true})
		},
	}
}

// waiter is the state of WaitReady's loop; only that loop touches it.
type waiter struct {
	o        Options
	kube     kubernetes.Interface
	ns, name string
	sel      labels.Selector
	deploy   *appsv1.Deployment
	pods     map[string]*corev1.Pod // by listwatch.Key
	// firstSeen is when each pod's Stuck problem was first seen, by
	// pod/container/kind.
	firstSeen map[string]time.Time
	// alarm wakes the loop when the grace of a problem ends.
	alarm alarm.Alarm
}

// replaceDeployments takes the Deployment from a list; a list without it
// means it was deleted. Filtered by name again (here and for events): not
// every client honours field selectors.
func (w *waiter) replaceDeployments(ds []*appsv1.Deployment) error {
	for _, d := range ds {
		if d.Name == w.name {
			w.deploy = d
			return nil
		}
	}
	return w.deleted()
}

func (w *waiter) deleted() error {
	return fmt.Errorf("deployment/%s in namespace %s was deleted while waiting for it", w.name, w.ns)
}

func (w *waiter) replacePods(pods []*corev1.Pod) {
	w.pods = map[string]*corev1.Pod{}
	for _, p := range pods {
		w.setPod(p)
	}
}

func (w *waiter) setPod(p *corev1.Pod) {
	if w.sel.Matches(labels.Set(p.Labels)) {
		w.pods[listwatch.Key(p)] = p
	}
}

// evaluate returns a ready pod's name once the rollout is done, or an error
// once the rollout failed or a pod cannot start; else it sets the alarm for
// the next Stuck problem that may become due.
func (w *waiter) evaluate() (string, error) {
	if err := rolloutFailed(w.deploy); err != nil {
		return "", err
	}
	if rolloutDone(w.deploy) {
		for _, p := range w.sortedPods() {
			if p.DeletionTimestamp == nil && podstatus.Ready(p) {
				return p.Name, nil
			}
		}
	}
	// Until the controller has seen the current spec, its pods may be of
	// the template before.
	if w.deploy.Generation > w.deploy.Status.ObservedGeneration {
		return "", nil
	}
	now := w.o.Clock.Now()
	var next time.Time
	for _, p := range w.sortedPods() {
		if p.DeletionTimestamp != nil || !fromTemplate(p, w.deploy) {
			continue // on its way out
		}
		for _, pr := range podstatus.Problems(p) {
			key := listwatch.Key(p) + "/" + pr.Container + "/" + pr.Kind.String()
			seen, ok := w.firstSeen[key]
			if !ok {
				seen = now
			}
			due, ok := pr.Due(seen, w.o.Grace)
			if !ok {
				continue
			}
			w.firstSeen[key] = seen
			if !now.Before(due) {
				return "", &CannotStartError{Deployment: w.name, Namespace: w.ns, Pod: p.Name, Problem: pr}
			}
			if next.IsZero() || due.Before(next) {
				next = due
			}
		}
	}
	w.alarm.Set(next)
	return "", nil
}

// sortedPods are the pods by name, so that errors name the same pod each time.
func (w *waiter) sortedPods() []*corev1.Pod {
	pods := slices.Collect(maps.Values(w.pods))
	slices.SortFunc(pods, func(a, b *corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return pods
}

// timedOut says what keeps the Deployment from being ready, from a fresh
// list of its pods (the watch may lag behind): a pod of the current template
// first, else one of an earlier template.
func (w *waiter) timedOut(ctx context.Context) error {
	if err := context.Cause(ctx); !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("waiting for deployment/%s: %w", w.name, err) // interrupted
	}
	e := &TimeoutError{Deployment: w.name, Namespace: w.ns, Timeout: w.o.Timeout}
	lctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if list, err := w.kube.CoreV1().Pods(w.ns).List(lctx, metav1.ListOptions{LabelSelector: w.sel.String()}); err == nil {
		w.replacePods(listwatch.Pointers(list.Items))
	}
	for _, current := range []bool{true, false} {
		for _, p := range w.sortedPods() {
			if (p.DeletionTimestamp == nil && fromTemplate(p, w.deploy)) != current {
				continue
			}
			if problems := podstatus.Problems(p); len(problems) > 0 {
				e.Pod, e.Problem = p.Name, problems[0]
				return e
			}
		}
	}
	for _, c := range w.deploy.Status.Conditions {
		if c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue {
			e.ReplicaFailure = c.Reason + ": " + c.Message
		}
	}
	return e
}

// failed is the error of a List that failed, a timeout if time ran out.
func (w *waiter) failed(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return w.timedOut(ctx)
	}
	return fmt.Errorf("reading %s to see it become ready: %w", what, err)
}

// rolloutDone is kubectl rollout status' test: the controller has seen the
// current spec, every replica is updated and available, no old one is left.
func rolloutDone(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	return d.Generation <= s.ObservedGeneration &&
		s.UpdatedReplicas >= want && s.Replicas <= s.UpdatedReplicas && s.AvailableReplicas >= s.UpdatedReplicas
}

func rolloutFailed(d *appsv1.Deployment) error {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return fmt.Errorf("deployment/%s made no progress: %s\nSee: kubectl describe deployment %s -n %s", d.Name, c.Message, d.Name, d.Namespace)
		}
	}
	return nil
}

// fromTemplate tells the pods of the Deployment's current template from
// those of an earlier one by their containers' images and arguments.
func fromTemplate(p *corev1.Pod, d *appsv1.Deployment) bool {
	tc, pc := d.Spec.Template.Spec.Containers, p.Spec.Containers
	if len(tc) != len(pc) {
		return false
	}
	for i := range tc {
		if tc[i].Image != pc[i].Image || !reflect.DeepEqual(tc[i].Args, pc[i].Args) {
			return false
		}
	}
	return true
}

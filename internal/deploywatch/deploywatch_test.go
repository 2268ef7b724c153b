package deploywatch

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/kubetest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/podstatus"
)

const (
	ns = "ns"
)

func testDeployment(mutate func(*appsv1.Deployment)) *appsv1.Deployment {
	labels := map[string]string{"app": "redis"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "redis", Namespace: ns, Generation: 1},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "redis", Image: "redis:2", Args: []string{"--port", "6379"}}}},
			},
		},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1},
	}
	if mutate != nil {
		mutate(d)
	}
	return d
}

func rolledOut(d *appsv1.Deployment) {
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}
}

func testPod(name string, mutate func(*corev1.Pod)) *corev1.Pod {
	d := testDeployment(nil)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: d.Spec.Template.Labels},
		Spec:       *d.Spec.Template.Spec.DeepCopy(),
		Status:     corev1.PodStatus{Phase: corev1.PodPending},
	}
	if mutate != nil {
		mutate(p)
	}
	return p
}

func ready(p *corev1.Pod) {
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
}

func waitingFor(reason, message string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "redis",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}}}
	}
}

func crashLooping(p *corev1.Pod) {
	p.Status.Phase = corev1.PodRunning
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name: "redis", RestartCount: 2,
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}},
	}}
}

// waiting is a WaitReady running in the background.
type waiting struct {
	t    *testing.T
	kube *fake.Clientset
	told chan struct{}
	done chan result
}

type result struct {
	pod string
	err error
}

// start runs WaitReady for the Deployment of objs (the first object) and
// returns once its watches are open.
func start(t *testing.T, o Options, objs ...runtime.Object) *waiting {
	t.Helper()
	w := &waiting{t: t, kube: fake.NewClientset(objs...), told: make(chan struct{}, 2), done: make(chan result, 1)}
	opened := kubetest.WatchesOpened(w.kube)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	o.Namespace, o.Deployment = ns, objs[0].(*appsv1.Deployment)
	if o.Timeout == 0 {
		o.Timeout = time.Hour
	}
	o.NotReadyYet = func() { w.told <- struct{}{} }
	go func() {
		pod, err := WaitReady(ctx, w.kube, o)
		w.done <- result{pod, err}
	}()
	seen := map[string]bool{}
	for len(seen) < 2 {
		select {
		case r := <-opened:
			seen[r] = true
		case r := <-w.done:
			w.done <- r
			return w // it ended before watching: fine, result() tells
		case <-time.After(kubetest.Deadline):
			t.Fatalf("timed out waiting for the watches, have %v", seen)
		}
	}
	return w
}

func (w *waiting) result() result {
	w.t.Helper()
	select {
	case r := <-w.done:
		w.done <- r
		return r
	case <-time.After(kubetest.Deadline):
		w.t.Fatal("WaitReady did not return")
	}
	return result{}
}

func (w *waiting) wantRunning() {
	w.t.Helper()
	select {
	case r := <-w.done:
		w.t.Fatalf("WaitReady returned %q, %v; want it still waiting", r.pod, r.err)
	default:
	}
}

func (w *waiting) updatePod(p *corev1.Pod) {
	w.t.Helper()
	if _, err := w.kube.CoreV1().Pods(ns).UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *waiting) updateDeployment(d *appsv1.Deployment) {
	w.t.Helper()
	if _, err := w.kube.AppsV1().Deployments(ns).UpdateStatus(context.Background(), d, metav1.UpdateOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

func TestReadyAtOnce(t *testing.T) {
	w := start(t, Options{}, testDeployment(rolledOut), testPod("redis-a", ready))
	if r := w.result(); r.err != nil || r.pod != "redis-a" {
		t.Fatalf("got %q, %v", r.pod, r.err)
	}
	if len(w.told) != 0 {
		t.Error("NotReadyYet called for a Deployment that was ready")
	}
}

func TestWaitsForTheRolloutAndAReadyPod(t *testing.T) {
	w := start(t, Options{}, testDeployment(nil), testPod("redis-a", waitingFor("ContainerCreating", "")))
	select {
	case <-w.told:
	case <-time.After(kubetest.Deadline):
		t.Fatal("NotReadyYet not called")
	}
	w.updatePod(testPod("redis-a", ready))
	w.wantRunning() // the rollout is not complete yet
	w.updateDeployment(testDeployment(rolledOut))
	if r := w.result(); r.err != nil || r.pod != "redis-a" {
		t.Fatalf("got %q, %v", r.pod, r.err)
	}
	if len(w.told) != 0 {
		t.Error("NotReadyYet called more than once")
	}
}

func TestFatalProblemsFailAtOnce(t *testing.T) {
	for _, tc := range []struct{ reason, message string }{
		{"ErrImagePull", "not found"},
		{"ImagePullBackOff", `Back-off pulling image "redis:2"`},
		{"CreateContainerConfigError", `secret "redis-auth" not found`},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			w := start(t, Options{Grace: time.Hour}, testDeployment(nil), testPod("redis-a", nil))
			w.updatePod(testPod("redis-a", waitingFor(tc.reason, tc.message)))
			var cannot *CannotStartError
			if r := w.result(); !errors.As(r.err, &cannot) || cannot.Pod != "redis-a" ||
				cannot.Problem.Reason != tc.reason || cannot.Problem.Message != tc.message {
				t.Fatalf("got %v, want a CannotStartError for redis-a", r.err)
			}
		})
	}
}

func TestSecretCacheNotSyncedYetIsStillStarting(t *testing.T) {
	w := start(t, Options{Grace: time.Hour}, testDeployment(nil),
		testPod("redis-a", waitingFor("CreateContainerConfigError", "failed to sync secret cache: timed out waiting for the condition")))
	w.updatePod(testPod("redis-a", ready))
	w.updateDeployment(testDeployment(rolledOut))
	if r := w.result(); r.err != nil || r.pod != "redis-a" {
		t.Fatalf("got %q, %v", r.pod, r.err)
	}
}

func TestCrashLoopFailsAfterTheGrace(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	w := start(t, Options{Grace: time.Minute, Clock: fc}, testDeployment(nil), testPod("redis-a", crashLooping))
	kubetest.WaitForTimer(t, fc)
	fc.Step(59 * time.Second)
	w.wantRunning()
	fc.Step(time.Second)
	var cannot *CannotStartError
	r := w.result()
	if !errors.As(r.err, &cannot) || cannot.Problem.Kind != podstatus.CrashLoop ||
		cannot.Problem.String() != "CrashLoopBackOff: restarted 2 times, last exit code 1 (Error)" {
		t.Fatalf("got %v", r.err)
	}
}

func TestPodsOfAnEarlierTemplateDoNotFailTheWait(t *testing.T) {
	old := testPod("redis-old", waitingFor("ImagePullBackOff", ""))
	old.Spec.Containers[0].Image = "redis:1"
	w := start(t, Options{}, testDeployment(nil), old, testPod("redis-new", nil))
	w.updatePod(testPod("redis-new", ready))
	w.updateDeployment(testDeployment(rolledOut))
	if r := w.result(); r.err != nil || r.pod != "redis-new" {
		t.Fatalf("got %q, %v", r.pod, r.err)
	}
}

func TestTimeoutNamesThePodAndItsProblem(t *testing.T) {
	unschedulable := testPod("redis-a", func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
			Reason: "Unschedulable", Message: "0/1 nodes are available: 1 Insufficient memory."}}
	})
	w := start(t, Options{Timeout: 50 * time.Millisecond}, testDeployment(nil), unschedulable)
	var timeout *TimeoutError
	r := w.result()
	if !errors.As(r.err, &timeout) || timeout.Pod != "redis-a" ||
		!strings.Contains(r.err.Error(), "timed out after 50ms waiting for deployment/redis in namespace ns to be ready: pod redis-a: Unschedulable: 0/1 nodes") {
		t.Fatalf("got %v", r.err)
	}
}

func TestTimeoutWithoutPodsSaysWhyThereAreNone(t *testing.T) {
	d := testDeployment(func(d *appsv1.Deployment) {
		d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue,
			Reason: "FailedCreate", Message: `pods "redis-x" is forbidden: exceeded quota`}}
	})
	w := start(t, Options{Timeout: 20 * time.Millisecond}, d)
	var timeout *TimeoutError
	if r := w.result(); !errors.As(r.err, &timeout) || timeout.Pod != "" ||
		!strings.HasSuffix(r.err.Error(), `: no pod of it exists: FailedCreate: pods "redis-x" is forbidden: exceeded quota`) {
		t.Fatalf("got %v", r.err)
	}
}

func TestRolloutThatMadeNoProgressFails(t *testing.T) {
	w := start(t, Options{}, testDeployment(nil))
	w.updateDeployment(testDeployment(func(d *appsv1.Deployment) {
		d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
			Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "redis-1" has timed out progressing.`}}
	}))
	if r := w.result(); r.err == nil || !strings.Contains(r.err.Error(), "deployment/redis made no progress") {
		t.Fatalf("got %v", r.err)
	}
}

func TestDeletedDeploymentEndsTheWait(t *testing.T) {
	w := start(t, Options{}, testDeployment(nil))
	if err := w.kube.AppsV1().Deployments(ns).Delete(context.Background(), "redis", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := w.result(); r.err == nil || !strings.Contains(r.err.Error(), "was deleted while waiting for it") {
		t.Fatalf("got %v", r.err)
	}
}

func TestInterruptedIsNotATimeout(t *testing.T) {
	kube := fake.NewClientset(testDeployment(nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := WaitReady(ctx, kube, Options{Namespace: ns, Deployment: testDeployment(nil), Timeout: time.Hour})
	var timeout *TimeoutError
	if err == nil || errors.As(err, &timeout) || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// docs/rbac.yaml grants get and watch on Deployments, not list.
func TestNeedsOnlyGetAndWatchOnTheDeployment(t *testing.T) {
	kube := fake.NewClientset(testDeployment(rolledOut), testPod("redis-a", ready))
	kube.PrependReactor("list", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(appsv1.Resource("deployments"), "", errors.New("the Role grants get and watch"))
	})
	pod, err := WaitReady(context.Background(), kube, Options{Namespace: ns, Deployment: testDeployment(nil), Timeout: time.Hour})
	if err != nil || pod != "redis-a" {
		t.Fatalf("got %q, %v", pod, err)
	}
}

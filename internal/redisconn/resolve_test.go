package redisconn

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
)

const ns = "jobs"

var (
	t0       = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	selector = map[string]string{"app": "redis"}
)

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func service(name string, sel map[string]string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       corev1.ServiceSpec{Selector: sel, Ports: ports},
	}
}

func svcPort(name string, port int32, target intstr.IntOrString) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: port, TargetPort: target, Protocol: corev1.ProtocolTCP}
}

type podOpt func(*corev1.Pod)

// pod is a running, ready pod behind the test Service unless opts say otherwise.
func pod(name string, age time.Duration, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, Labels: selector,
			CreationTimestamp: metav1.NewTime(t0.Add(-age)),
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name:  "redis",
			Ports: []corev1.ContainerPort{{Name: "redis", ContainerPort: 6379}},
		}}},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func notReady(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }

func terminating(p *corev1.Pod) {
	now := metav1.NewTime(t0)
	p.DeletionTimestamp = &now
	p.Finalizers = []string{"test/keep"} // the fake tracker rejects a deletionTimestamp without one
}

func pending(reason string) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Status.Conditions[0].Status = corev1.ConditionFalse
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{
			Name: "redis", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}},
		}}
	}
}

func otherLabels(p *corev1.Pod) { p.Labels = map[string]string{"app": "other"} }

func containerPorts(ports ...corev1.ContainerPort) podOpt {
	return func(p *corev1.Pod) { p.Spec.Containers[0].Ports = ports }
}

func TestResolvePod(t *testing.T) {
	std := service("redis", selector, svcPort("redis", 6379, intstr.FromInt32(6379)))
	for _, tc := range []struct {
		name     string
		objects  []runtime.Object
		service  string // default "redis"
		port     string // default "6379"
		wantPod  string
		wantPort int32
		wantErr  string
	}{
		{
			name:    "namespace missing",
			objects: nil,
			wantErr: `namespace "jobs" not found`,
		},
		{
			name:    "service missing",
			objects: []runtime.Object{namespace(ns)},
			wantErr: `service "redis" not found in namespace "jobs": create it with 'kubectl workqueue init' or pass --redis-service/--redis-url`,
		},
		{
			name:    "other service name",
			objects: []runtime.Object{namespace(ns), std, service("cache", selector, svcPort("", 7000, intstr.FromInt32(6379))), pod("redis-a", time.Hour)},
			service: "cache", port: "7000",
			wantPod: "redis-a", wantPort: 6379,
		},
		{
			name:    "no selector",
			objects: []runtime.Object{namespace(ns), service("redis", nil, svcPort("redis", 6379, intstr.FromInt32(6379)))},
			wantErr: `service "redis" in namespace "jobs" has no selector, so there is no pod to port-forward to: pass --redis-url instead`,
		},
		{
			name:    "port number not found",
			objects: []runtime.Object{namespace(ns), service("redis", selector, svcPort("redis", 6379, intstr.FromInt32(6379)), svcPort("", 9121, intstr.FromInt32(9121))), pod("redis-a", time.Hour)},
			port:    "6380",
			wantErr: `service "redis" in namespace "jobs" has no port "6380" (ports: 6379 (redis), 9121): pass --redis-port`,
		},
		{
			name:    "port name not found",
			objects: []runtime.Object{namespace(ns), std, pod("redis-a", time.Hour)},
			port:    "metrics",
			wantErr: `service "redis" in namespace "jobs" has no port "metrics" (ports: 6379 (redis)): pass --redis-port`,
		},
		{
			name:    "port by name",
			objects: []runtime.Object{namespace(ns), service("redis", selector, svcPort("metrics", 9121, intstr.FromInt32(9121)), svcPort("redis", 16379, intstr.FromInt32(6379))), pod("redis-a", time.Hour)},
			port:    "redis",
			wantPod: "redis-a", wantPort: 6379,
		},
		{
			name:    "numeric targetPort",
			objects: []runtime.Object{namespace(ns), service("redis", selector, svcPort("redis", 80, intstr.FromInt32(6380))), pod("redis-a", time.Hour)},
			port:    "80",
			wantPod: "redis-a", wantPort: 6380,
		},
		{
			name:    "targetPort unset means the service port",
			objects: []runtime.Object{namespace(ns), service("redis", selector, corev1.ServicePort{Port: 6379}), pod("redis-a", time.Hour)},
			wantPod: "redis-a", wantPort: 6379,
		},
		{
			name: "named targetPort resolved through the pod's container ports",
			objects: []runtime.Object{namespace(ns), service("redis", selector, svcPort("", 6379, intstr.FromString("tcp-redis"))),
				pod("redis-a", time.Hour, containerPorts(corev1.ContainerPort{Name: "metrics", ContainerPort: 9121}, corev1.ContainerPort{Name: "tcp-redis", ContainerPort: 7777}))},
			wantPod: "redis-a", wantPort: 7777,
		},
		{
			name:    "named targetPort not in the pod",
			objects: []runtime.Object{namespace(ns), service("redis", selector, svcPort("", 6379, intstr.FromString("tcp-redis"))), pod("redis-a", time.Hour)},
			wantErr: `pod "redis-a" in namespace "jobs" has no container port named "tcp-redis" (the targetPort of service "redis" port 6379)`,
		},
		{
			name: "headless service ignores targetPort",
			objects: []runtime.Object{namespace(ns), func() *corev1.Service {
				s := service("redis", selector, svcPort("", 6379, intstr.FromString("nope")))
				s.Spec.ClusterIP = corev1.ClusterIPNone
				return s
			}(), pod("redis-a", time.Hour)},
			wantPod: "redis-a", wantPort: 6379,
		},
		{
			name:    "no pods",
			objects: []runtime.Object{namespace(ns), std, pod("unrelated", time.Hour, otherLabels)},
			wantErr: `no pod matches the selector app=redis of service "redis" in namespace "jobs"; is Redis deployed?`,
		},
		{
			name: "no ready pods",
			objects: []runtime.Object{namespace(ns), std,
				pod("redis-b", time.Minute, pending("ImagePullBackOff")),
				pod("redis-a", time.Hour, notReady),
				pod("redis-c", 2*time.Hour, terminating),
			},
			wantErr: `no ready pod behind service "redis" in namespace "jobs": redis-a Running (not ready), redis-b Pending (ImagePullBackOff), redis-c Terminating`,
		},
		{
			name: "many unready pods are cut short",
			objects: []runtime.Object{namespace(ns), std,
				pod("p1", 0, notReady), pod("p2", 0, notReady), pod("p3", 0, notReady), pod("p4", 0, notReady),
				pod("p5", 0, notReady), pod("p6", 0, notReady), pod("p7", 0, notReady)},
			wantErr: `no ready pod behind service "redis" in namespace "jobs": p1 Running (not ready), p2 Running (not ready), p3 Running (not ready), p4 Running (not ready), p5 Running (not ready), and 2 more`,
		},
		{
			name: "terminating pods are skipped",
			objects: []runtime.Object{namespace(ns), std,
				pod("redis-new-terminating", time.Minute, terminating),
				pod("redis-old", time.Hour),
			},
			wantPod: "redis-old", wantPort: 6379,
		},
		{
			name: "a ready pod beats a newer unready one",
			objects: []runtime.Object{namespace(ns), std,
				pod("redis-new", time.Minute, notReady),
				pod("redis-pending", 0, pending("ContainerCreating")),
				pod("redis-old", time.Hour),
			},
			wantPod: "redis-old", wantPort: 6379,
		},
		{
			name: "the newest ready pod wins",
			objects: []runtime.Object{namespace(ns), std,
				pod("redis-old", time.Hour),
				pod("redis-new", time.Minute),
				pod("redis-older", 2*time.Hour),
			},
			wantPod: "redis-new", wantPort: 6379,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			service, port := tc.service, tc.port
			if service == "" {
				service = "redis"
			}
			if port == "" {
				port = "6379"
			}
			kube := fake.NewClientset(tc.objects...)
			gotPod, gotPort, err := ResolvePod(context.Background(), kube, ns, service, port)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v\nwant   %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if gotPod != tc.wantPod || gotPort != tc.wantPort {
				t.Fatalf("got pod %q port %d, want pod %q port %d", gotPod, gotPort, tc.wantPod, tc.wantPort)
			}
		})
	}
}

// A user who may not read namespaces still gets the service message.
func TestResolvePodNamespaceForbidden(t *testing.T) {
	kube := fake.NewClientset() // namespace "jobs" absent, but the user cannot tell
	kube.PrependReactor("get", "namespaces", forbidden)
	_, _, err := ResolvePod(context.Background(), kube, ns, "redis", "6379")
	if err == nil || !strings.HasPrefix(err.Error(), `service "redis" not found in namespace "jobs"`) {
		t.Fatalf("err = %v, want the service-not-found message", err)
	}
}

package redisconn

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/podstatus"
)

// maxPodsInError bounds how many pods a "no ready pod" error lists.
const maxPodsInError = 5

// ResolvePod finds where `kubectl port-forward svc/SERVICE :PORT` would go: a
// running, ready pod behind the Service and the pod port that the Service port
// (given by number or name) targets.
func ResolvePod(ctx context.Context, kube kubernetes.Interface, namespace, service, port string) (podName string, podPort int32, err error) {
	svc, err := kube.CoreV1().Services(namespace).Get(ctx, service, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		// Only now look at the namespace: a missing namespace is the better
		// message, and users who may not read namespaces still get this far.
		if _, nsErr := kube.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{}); apierrors.IsNotFound(nsErr) {
			return "", 0, fmt.Errorf("namespace %q not found", namespace)
		}
		return "", 0, fmt.Errorf("service %q not found in namespace %q: create it with 'kubectl workqueue init' or pass --redis-service/--redis-url", service, namespace)
	}
	if err != nil {
		return "", 0, fmt.Errorf("getting service %q in namespace %q: %w", service, namespace, err)
	}

	svcPort, err := findServicePort(svc, port)
	if err != nil {
		return "", 0, err
	}
	if len(svc.Spec.Selector) == 0 {
		return "", 0, fmt.Errorf("service %q in namespace %q has no selector, so there is no pod to port-forward to: pass --redis-url instead", service, namespace)
	}

	selector := labels.SelectorFromSet(svc.Spec.Selector).String()
	pods, err := kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return "", 0, fmt.Errorf("listing pods of service %q in namespace %q: %w", service, namespace, err)
	}
	pod := pickPod(pods.Items)
	if pod == nil {
		return "", 0, noReadyPodError(svc, selector, pods.Items)
	}

	podPort, err = targetPort(svc, svcPort, pod)
	if err != nil {
		return "", 0, err
	}
	return pod.Name, podPort, nil
}

// findServicePort finds the Service port by number or, failing that, by name.
func findServicePort(svc *corev1.Service, port string) (corev1.ServicePort, error) {
	num, numErr := strconv.ParseInt(port, 10, 32)
	for _, p := range svc.Spec.Ports {
		if (numErr == nil && int64(p.Port) == num) || (numErr != nil && p.Name == port) {
			return p, nil
		}
	}
	have := make([]string, 0, len(svc.Spec.Ports))
	for _, p := range svc.Spec.Ports {
		s := strconv.Itoa(int(p.Port))
		if p.Name != "" {
			s += " (" + p.Name + ")"
		}
		have = append(have, s)
	}
	if len(have) == 0 {
		have = append(have, "none")
	}
	return corev1.ServicePort{}, fmt.Errorf("service %q in namespace %q has no port %q (ports: %s): pass --redis-port",
		svc.Name, svc.Namespace, port, strings.Join(have, ", "))
}

// pickPod returns the newest running, ready pod that is not being deleted, or nil.
func pickPod(pods []corev1.Pod) *corev1.Pod {
	var ready []*corev1.Pod
	for i := range pods {
		if usable(&pods[i]) {
			ready = append(ready, &pods[i])
		}
	}
	if len(ready) == 0 {
		return nil
	}
	sort.Slice(ready, func(i, j int) bool {
		ti, tj := ready[i].CreationTimestamp, ready[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return tj.Before(&ti)
		}
		return ready[i].Name < ready[j].Name
	})
	return ready[0]
}

func usable(pod *corev1.Pod) bool {
	return pod.DeletionTimestamp == nil && pod.Status.Phase == corev1.PodRunning && podstatus.Ready(pod)
}

func noReadyPodError(svc *corev1.Service, selector string, pods []corev1.Pod) error {
	if len(pods) == 0 {
		return fmt.Errorf("no pod matches the selector %s of service %q in namespace %q; is Redis deployed?", selector, svc.Name, svc.Namespace)
	}
	sorted := append([]corev1.Pod(nil), pods...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var states []string
	for i, pod := range sorted {
		if i == maxPodsInError {
			states = append(states, fmt.Sprintf("and %d more", len(sorted)-i))
			break
		}
		states = append(states, pod.Name+" "+podstatus.Summary(&pod))
	}
	return fmt.Errorf("no ready pod behind service %q in namespace %q: %s", svc.Name, svc.Namespace, strings.Join(states, ", "))
}

// targetPort maps a Service port to the port on pod, as kubectl does: a
// headless Service or an unset targetPort means the Service port itself; a
// named targetPort is looked up among the pod's container ports.
func targetPort(svc *corev1.Service, sp corev1.ServicePort, pod *corev1.Pod) (int32, error) {
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return sp.Port, nil
	}
	tp := sp.TargetPort
	if tp.Type == intstr.Int {
		if tp.IntVal == 0 {
			return sp.Port, nil
		}
		return tp.IntVal, nil
	}
	containers := append(append([]corev1.Container(nil), pod.Spec.Containers...), pod.Spec.InitContainers...)
	for _, c := range containers {
		for _, cp := range c.Ports {
			if cp.Name == tp.StrVal {
				return cp.ContainerPort, nil
			}
		}
	}
	return 0, fmt.Errorf("pod %q in namespace %q has no container port named %q (the targetPort of service %q port %d)",
		pod.Name, pod.Namespace, tp.StrVal, svc.Name, sp.Port)
}

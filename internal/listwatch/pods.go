package listwatch

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// Pods lists and watches the pods in namespace that match the label
// selector ("" for every pod).
func Pods(kube kubernetes.Interface, namespace, selector string) ListWatch[*corev1.Pod] {
	pods := kube.CoreV1().Pods(namespace)
	return ListWatch[*corev1.Pod]{
		List: func(ctx context.Context) ([]*corev1.Pod, string, error) {
			list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: selector})
			if err != nil {
				return nil, "", err
			}
			return Pointers(list.Items), list.ResourceVersion, nil
		},
		Watch: func(ctx context.Context, rv string) (watch.Interface, error) {
			return pods.Watch(ctx, metav1.ListOptions{LabelSelector: selector, ResourceVersion: rv, AllowWatchBookmarks: true})
		},
	}
}

// Pointers returns pointers to the items of a List's result, for a List func.
func Pointers[E any](items []E) []*E {
	out := make([]*E, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

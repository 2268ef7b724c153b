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
	return For(pods.List, pods.Watch, metav1.ListOptions{LabelSelector: selector},
		func(l *corev1.PodList) []*corev1.Pod { return Pointers(l.Items) })
}

// For is the ListWatch of a typed client's List and Watch (e.g.
// kube.BatchV1().Jobs(ns)) with the selectors of opts; items takes the
// objects out of a list.
func For[T metav1.Object, L metav1.ListInterface](
	list func(context.Context, metav1.ListOptions) (L, error),
	watchFunc func(context.Context, metav1.ListOptions) (watch.Interface, error),
	opts metav1.ListOptions, items func(L) []T,
) ListWatch[T] {
	return ListWatch[T]{
		List: func(ctx context.Context) ([]T, string, error) {
			l, err := list(ctx, opts)
			if err != nil {
				return nil, "", err
			}
			return items(l), l.GetResourceVersion(), nil
		},
		Watch: func(ctx context.Context, rv string) (watch.Interface, error) {
			o := opts
			o.ResourceVersion, o.AllowWatchBookmarks = rv, true
			return watchFunc(ctx, o)
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

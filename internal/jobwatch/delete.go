package jobwatch

import (
	"context"
	"fmt"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/listwatch"
)

// Delete deletes the Job with its pods and returns once it is gone, so that
// a Job of the same name can be created; it gives up after timeout (e.g.
// when a finalizer holds the Job).
func Delete(ctx context.Context, kube kubernetes.Interface, namespace, name string, timeout time.Duration) error {
	o := Options{Namespace: namespace, Name: name}
	lw := jobListWatch(kube, o)
	found, rv, err := lw.List(ctx)
	if err != nil {
		return fmt.Errorf("looking for job %q: %w", name, err)
	}
	if len(found) == 0 {
		return nil
	}
	uid := found[0].UID
	jobs := kube.BatchV1().Jobs(namespace)
	// Foreground: the Job is gone only once its pods are, so that they
	// cannot be counted by a new Job of the same name.
	fg := metav1.DeletePropagationForeground
	if err := jobs.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("deleting job %q: %w", name, err)
	}
	if _, err := jobs.Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		return nil
	}

	wctx, cancel := context.WithTimeout(ctx, timeout)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	changes := make(chan listwatch.Change[*batchv1.Job])
	// From the List's version: the deletion is among the events that follow.
	wg.Go(func() { lw.Run(wctx, rv, changes) })
	gone := func(j *batchv1.Job) bool { return j.UID != uid }
	for {
		select {
		case c := <-changes:
			switch {
			case c.Type == "" && (len(c.Relist) == 0 || gone(c.Relist[0])):
				return nil
			case c.Type == watch.Deleted && c.Object.Name == name:
				return nil
			case c.Type == watch.Added && c.Object.Name == name && gone(c.Object):
				return nil // already replaced by someone else's Job
			}
		case <-wctx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("job %q was not deleted within %s (finalizers?): check kubectl get job %s -n %s -o yaml", name, timeout, name, namespace)
		}
	}
}

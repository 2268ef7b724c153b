package cmd

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/plural"
)

// runningPerItemJob names a Job of the namespace that works on queue one
// pod per item (run --per-item) and has not finished; "" when there is none,
// or when the Jobs cannot be listed (the check is a safeguard, not a
// requirement of seeding).
func runningPerItemJob(ctx context.Context, kube kubernetes.Interface, namespace, queue string) (name string, completions int32) {
	sel := labels.SelectorFromSet(labels.Set{
		manifest.LabelManagedBy: manifest.ManagedByValue,
		manifest.LabelQueue:     manifest.QueueLabelValue(queue),
	})
	jobs, err := kube.BatchV1().Jobs(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return "", 0
	}
	for i := range jobs.Items {
		job := &jobs.Items[i]
		if q, ok := manifest.PerItemQueue(job); ok && q == queue && finishedCondition(job) == "" {
			return job.Name, *job.Spec.Completions
		}
	}
	return "", 0
}

// checkPerItemJob refuses to seed a queue that a --per-item Job is working
// on, unless --force: the Job runs as many pods as the queue had items when
// it started, so new items would be left behind when it completes. With
// --redis-url no Kubernetes is involved, and nothing is checked.
func (o *SeedOptions) checkPerItemJob(ctx context.Context) error {
	if o.Force || o.f.redis.url != "" {
		return nil
	}
	kube, err := o.f.kubeClient()
	if err != nil {
		return nil // connecting to Redis will say what is wrong
	}
	ns, err := o.f.namespace()
	if err != nil {
		return nil
	}
	job, completions := runningPerItemJob(ctx, kube, ns, o.Queue)
	if job == "" {
		return nil
	}
	return fmt.Errorf("job %q is working on queue %q one pod per item (run --per-item): it runs %s, counted when it started, "+
		"so items seeded now would be left in the queue when it completes. Seed once it has finished and run again, "+
		"or pass --force and start workers for the new items yourself (kubectl workqueue run %s --name ...)",
		job, o.Queue, plural.Count(int(completions), "pod"), o.Queue)
}

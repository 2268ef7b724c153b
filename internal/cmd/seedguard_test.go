package cmd

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
)

func perItemJob(t *testing.T, queue string, perItem bool, cond batchv1.JobConditionType) *batchv1.Job {
	t.Helper()
	three := int32(3)
	o := manifest.JobOptions{Namespace: "ns", Queue: queue, Image: "x:v1", Command: []string{"true"}, WorkerImage: "w:v1"}
	if perItem {
		o.PerItem, o.Completions = true, &three
	}
	job, err := manifest.Job(o)
	if err != nil {
		t.Fatal(err)
	}
	if cond != "" {
		job.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue}}
	}
	return job
}

// A --per-item Job counted its pods when it started: items seeded while it
// runs would be stranded, so seed refuses them unless --force.
func TestSeedRefusesAQueueThatARunningPerItemJobWorksOn(t *testing.T) {
	noCluster(t)
	q := "pil"
	kube := fake.NewClientset(perItemJob(t, q, true, ""))
	r := runKube(t, kube, "-n", "ns", "seed", q, "d", "e")
	if r.err == nil || !strings.Contains(r.err.Error(), `job "wq-pil" is working on queue "pil" one pod per item (run --per-item): it runs 3 pods`) ||
		!strings.Contains(r.err.Error(), "--force") {
		t.Fatalf("error %v", r.err)
	}
	// Not a per-item Job, a finished one, another queue's, or --force: seed
	// goes on (and here, with no cluster to port-forward through, fails
	// for that reason).
	for _, tc := range []struct {
		job  *batchv1.Job
		args []string
	}{
		{perItemJob(t, q, false, ""), nil},
		{perItemJob(t, q, true, batchv1.JobComplete), nil},
		{perItemJob(t, "other", true, ""), nil},
		{perItemJob(t, q, true, ""), []string{"--force"}},
	} {
		r := runKube(t, fake.NewClientset(tc.job), append([]string{"-n", "ns", "seed", q, "d"}, tc.args...)...)
		if r.err == nil || strings.Contains(r.err.Error(), "one pod per item") {
			t.Errorf("%s %v: error %v", tc.job.Annotations[manifest.AnnotationQueue], tc.args, r.err)
		}
	}
}

package manifest

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/objpatch"
)

// UserJob is a Job manifest the user wrote (such as the Kubernetes docs'
// job.yaml), for Job to build on: JobOptions.Base.
type UserJob struct {
	// Source names the manifest in errors, e.g. its file name.
	Source string
	Job    *batchv1.Job
}

// DecodeJob reads the user's Job manifest (YAML or JSON). Anything but one
// batch/v1 Job, or a field a Job does not have, is an *objpatch.Error naming
// source, and the line when it can.
func DecodeJob(source string, data []byte) (*UserJob, error) {
	tm, err := objpatch.TypeOf(source, data)
	if err != nil {
		return nil, err
	}
	if tm.APIVersion != "batch/v1" || tm.Kind != "Job" {
		what := "an object without apiVersion and kind"
		if tm.Kind != "" || tm.APIVersion != "" {
			what = fmt.Sprintf("a %s (%s)", tm.Kind, tm.APIVersion)
		}
		return nil, &objpatch.Error{Source: source, Err: fmt.Errorf("is %s, not a batch/v1 Job", what)}
	}
	var job batchv1.Job
	if err := objpatch.Decode(source, data, &job); err != nil {
		return nil, err
	}
	return &UserJob{Source: source, Job: &job}, nil
}

// start is a copy of the user's Job without what the API server and the Job
// controller set (so that a Job read back from a cluster can be run again),
// checked for what a Job of run cannot be. Its problems are FieldErrors of
// "base".
func (u *UserJob) start(o *JobOptions) (*batchv1.Job, error) {
	job := u.Job.DeepCopy()
	job.Status = batchv1.JobStatus{}
	job.ObjectMeta = metav1.ObjectMeta{
		Name: job.Name, GenerateName: job.GenerateName, Namespace: job.Namespace,
		Labels: job.Labels, Annotations: job.Annotations,
		OwnerReferences: job.OwnerReferences, Finalizers: job.Finalizers,
	}
	if !ptr.Deref(job.Spec.ManualSelector, false) {
		job.Spec.Selector = nil
		for _, l := range []string{batchv1.ControllerUidLabel, batchv1.JobNameLabel, "controller-uid", "job-name"} {
			delete(job.Spec.Template.Labels, l)
		}
	}

	var errs fieldErrors
	bad := func(detail string, related ...string) { errs.add("base", nil, detail, related...) }
	if job.Name != "" && o.Name == "" {
		var name fieldErrors
		name.jobName("name", job.Name)
		for _, e := range name {
			bad(fmt.Sprintf("metadata.name %q: %s", job.Name, e.Detail))
		}
	}
	if job.Name == "" && o.Name == "" && job.GenerateName != "" {
		bad("sets metadata.generateName, which an applied Job cannot use: give metadata.name, or no name for one after the queue")
	}
	job.GenerateName = ""
	if job.Namespace != "" && o.Namespace != "" && job.Namespace != o.Namespace {
		bad(fmt.Sprintf("is for namespace %q, not %q: remove metadata.namespace, or run it in %s", job.Namespace, o.Namespace, job.Namespace))
	}
	if job.Spec.Completions != nil && o.Completions == nil {
		bad(fmt.Sprintf("sets spec.completions (%d), which a work-queue Job does not have: each pod works until the queue is empty; "+
			"remove it, or use %%s for one pod per item", *job.Spec.Completions), "perItem")
	}
	pod := job.Spec.Template.Spec
	if rp := pod.RestartPolicy; rp != "" && rp != corev1.RestartPolicyOnFailure && rp != corev1.RestartPolicyNever {
		bad(fmt.Sprintf("sets spec.template.spec.restartPolicy %q: a Job's pods restart OnFailure or Never", rp))
	}
	if len(pod.Containers) == 0 {
		bad("has no containers (spec.template.spec.containers)")
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return job, nil
}

package jobwatch

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// progressOf returns the pod counts of job's status.
func progressOf(job *batchv1.Job) Progress {
	p := Progress{
		Active:      job.Status.Active,
		Succeeded:   job.Status.Succeeded,
		Failed:      job.Status.Failed,
		Parallelism: ptr.Deref(job.Spec.Parallelism, 1),
		Suspended:   ptr.Deref(job.Spec.Suspend, false),
	}
	if job.Status.Ready != nil {
		p.Ready = *job.Status.Ready
	}
	return p
}

// outcomeOf returns job's outcome once it has one. Only the terminal
// conditions count: SuccessCriteriaMet and FailureTarget are set while the
// Job's last pods are still terminating, and Complete or Failed follows.
func outcomeOf(job *batchv1.Job) *Outcome {
	var target *batchv1.JobCondition
	for i := range job.Status.Conditions {
		c := &job.Status.Conditions[i]
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			out := &Outcome{Complete: true, Reason: c.Reason, Message: c.Message, Progress: progressOf(job), Finished: c.LastTransitionTime.Time}
			if t := job.Status.CompletionTime; t != nil {
				out.Finished = t.Time
			}
			return out
		case batchv1.JobFailed:
			out := &Outcome{Reason: c.Reason, Message: c.Message, Progress: progressOf(job), Finished: c.LastTransitionTime.Time}
			if out.Reason == "" && target != nil {
				out.Reason, out.Message = target.Reason, target.Message
			}
			return out
		case batchv1.JobFailureTarget:
			target = c
		}
	}
	return nil
}

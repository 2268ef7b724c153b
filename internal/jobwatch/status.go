package jobwatch

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/podstatus"
)

// progressOf returns the pod counts of job's status.
func progressOf(job *batchv1.Job) Progress {
	p := Progress{
		Active:    job.Status.Active,
		Succeeded: job.Status.Succeeded,
		Failed:    job.Status.Failed,
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
			return &Outcome{Complete: true, Reason: c.Reason, Message: c.Message, Progress: progressOf(job)}
		case batchv1.JobFailed:
			out := &Outcome{Reason: c.Reason, Message: c.Message, Progress: progressOf(job)}
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

// problem is one reason a pod cannot run.
type problem struct {
	container, reason, message string
	// class groups reasons that are one problem (ErrImagePull and
	// ImagePullBackOff alternate); a pod's container reports a class once.
	class string
	// graced problems are reported only after lasting the grace period,
	// counted from since (zero: from when the watch first saw it).
	graced bool
	since  time.Time
}

// podProblems returns why pod cannot run, if it cannot.
func podProblems(pod *corev1.Pod) []problem {
	if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return nil
	}
	var out []problem
	if c, ok := podstatus.NotScheduled(pod); ok && c.Reason == corev1.PodReasonUnschedulable {
		out = append(out, problem{reason: c.Reason, message: c.Message, class: "schedule", graced: true, since: c.LastTransitionTime.Time})
	}
	for _, st := range podstatus.ContainerStatuses(pod) {
		w := st.State.Waiting
		if w == nil {
			continue
		}
		// Image and configuration errors will not go away by themselves and
		// are reported at once; a crash loop after the grace period.
		switch podstatus.ClassifyWaiting(w.Reason, w.Message) {
		case podstatus.ImageError:
			out = append(out, problem{container: st.Name, reason: w.Reason, message: w.Message, class: "image"})
		case podstatus.ConfigError:
			out = append(out, problem{container: st.Name, reason: w.Reason, message: w.Message, class: "create"})
		case podstatus.CrashLoop:
			out = append(out, problem{container: st.Name, reason: w.Reason, message: crashMessage(st), class: "crash", graced: true})
		}
	}
	return out
}

// crashMessage says how a crash-looping container last ended.
func crashMessage(st corev1.ContainerStatus) string {
	msg := fmt.Sprintf("restarted %d times", st.RestartCount)
	if t := st.LastTerminationState.Terminated; t != nil {
		msg += fmt.Sprintf(", last exit code %d", t.ExitCode)
		if t.Reason != "" {
			msg += " (" + t.Reason + ")"
		}
		if t.Message != "" {
			msg += ": " + t.Message
		}
	}
	return msg
}

// Package podstatus is the project's one answer to "why isn't this pod
// running?". init (waiting for Redis), jobwatch (waiting for a Job), podlogs
// (following logs) and redisconn (finding a pod to port-forward to) all ask
// it, so that they agree on what is a problem and when to say so.
//
// The semantics, for anyone waiting for a pod:
//
//   - Fatal, reported at once: the pod will not start until someone changes
//     something. An image that cannot be pulled (ErrImagePull, the first
//     failure, as well as ImagePullBackOff, InvalidImageName,
//     ErrImageNeverPull): the kubelet keeps retrying, but a retry succeeds
//     only once the image, the registry or the pull credentials are fixed.
//     A container that cannot be created from its spec
//     (CreateContainerConfigError, e.g. a missing Secret or key;
//     CreateContainerError).
//   - Stuck, reported once it has lasted a grace period (DefaultGrace unless
//     the caller says otherwise): it may end by itself but usually does not.
//     Unschedulable (an autoscaler may add a node), counted from the
//     PodScheduled condition's transition; CrashLoopBackOff (a dependency may
//     come up), counted from when the waiter first saw it.
//   - Starting, never a failure, named only when a wait times out: everything
//     else that is not ready. No reason yet, ContainerCreating,
//     PodInitializing, Pending, a running pod whose readiness probe has not
//     passed yet, a terminating pod, and reasons not named above (such as
//     RunContainerError, which the kubelet retries and turns into
//     CrashLoopBackOff if it persists). Also the kubelet's transient
//     CreateContainerConfigError "failed to sync secret cache": right after
//     a pod starts, the kubelet may not have its Secrets in its cache yet, and
//     retries by itself.
//
// It decides nothing by itself: callers act on Problems and Due.
package podstatus

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// DefaultGrace is how long a Stuck problem may last before it is reported,
// when the caller has no grace of its own.
const DefaultGrace = time.Minute

// Kind is what kind of problem keeps a pod from running.
type Kind int

const (
	// Starting is a pod or container on its way, or not known to be stuck.
	Starting Kind = iota
	// Unschedulable is a pod for which the scheduler finds no node.
	Unschedulable
	// CrashLoop is a container that keeps exiting (CrashLoopBackOff).
	CrashLoop
	// ImageError is an image that cannot be pulled.
	ImageError
	// ConfigError is a container that cannot be created from its spec.
	ConfigError
)

// Fatal says whether problems of kind k are reported at once.
func (k Kind) Fatal() bool { return k == ImageError || k == ConfigError }

// Stuck says whether problems of kind k are reported after a grace period.
func (k Kind) Stuck() bool { return k == Unschedulable || k == CrashLoop }

// String names the kind, e.g. for de-duplicating reports: ErrImagePull and
// ImagePullBackOff alternate, and are one ImageError.
func (k Kind) String() string {
	switch k {
	case Unschedulable:
		return "unschedulable"
	case CrashLoop:
		return "crash-loop"
	case ImageError:
		return "image"
	case ConfigError:
		return "config"
	}
	return "starting"
}

// Problem is one reason a pod is not running, or not ready.
type Problem struct {
	Kind Kind
	// Container is the container it is about; "" for the pod as a whole.
	Container string
	// Reason is the API's word for it, e.g. ImagePullBackOff, Unschedulable,
	// ContainerCreating, Terminating.
	Reason  string
	Message string
	// Since is when the problem began, when the API says so (a condition's
	// transition time); zero otherwise.
	Since time.Time
}

func (p Problem) String() string {
	if p.Message == "" {
		return p.Reason
	}
	return p.Reason + ": " + p.Message
}

// Due says when someone who first saw p at seen should report it, given
// grace for Stuck problems: at once (seen) for Fatal ones, grace after Since
// (or after seen) for Stuck ones. ok is false for Starting problems, which
// are never due.
func (p Problem) Due(seen time.Time, grace time.Duration) (due time.Time, ok bool) {
	switch {
	case p.Kind.Fatal():
		return seen, true
	case p.Kind.Stuck():
		since := p.Since
		if since.IsZero() {
			since = seen
		}
		return since.Add(grace), true
	}
	return time.Time{}, false
}

// ClassifyWaiting says what the reason (and message) of a container's
// waiting state mean.
func ClassifyWaiting(reason, message string) Kind {
	switch reason {
	case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
		return ImageError
	case "CreateContainerConfigError":
		if strings.Contains(message, "failed to sync") {
			return Starting // the kubelet's Secret/ConfigMap cache lags; it retries
		}
		return ConfigError
	case "CreateContainerError":
		return ConfigError
	case "CrashLoopBackOff":
		return CrashLoop
	}
	return Starting
}

// Problems returns why pod is not running and ready, the most telling first:
// Fatal problems, then Stuck ones, then the rest. It returns nil for a
// running, ready pod. Each container with a problem appears once.
func Problems(pod *corev1.Pod) []Problem {
	if pod.DeletionTimestamp != nil {
		return []Problem{{Reason: "Terminating", Message: "the pod is being deleted"}}
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return []Problem{ended(pod)}
	}
	var fatal, stuck, starting []Problem
	add := func(p Problem) {
		switch {
		case p.Kind.Fatal():
			fatal = append(fatal, p)
		case p.Kind.Stuck():
			stuck = append(stuck, p)
		default:
			starting = append(starting, p)
		}
	}
	if c, ok := NotScheduled(pod); ok {
		p := Problem{Reason: c.Reason, Message: c.Message, Since: c.LastTransitionTime.Time}
		if c.Reason == corev1.PodReasonUnschedulable {
			p.Kind = Unschedulable
		}
		if p.Reason == "" {
			p.Reason = "NotScheduled"
		}
		add(p)
	}
	for _, st := range ContainerStatuses(pod) {
		w := st.State.Waiting
		if w == nil {
			continue
		}
		p := Problem{Kind: ClassifyWaiting(w.Reason, w.Message), Container: st.Name, Reason: w.Reason, Message: w.Message}
		if p.Kind == CrashLoop {
			p.Message = CrashMessage(st)
		}
		if p.Reason == "" {
			p.Reason = "Waiting"
		}
		add(p)
	}
	out := append(append(fatal, stuck...), starting...)
	if len(out) > 0 || Ready(pod) {
		return out
	}
	if pod.Status.Phase == corev1.PodRunning {
		return []Problem{{Reason: "NotReady", Message: "running, but its readiness probe has not passed yet"}}
	}
	phase := string(pod.Status.Phase)
	if phase == "" {
		phase = string(corev1.PodPending)
	}
	return []Problem{{Reason: phase, Message: pod.Status.Message}}
}

// ended is why a pod that ran to its end is not running: the pod's own
// reason (e.g. Evicted), else the first container's (Error, OOMKilled,
// Completed), else its phase.
func ended(pod *corev1.Pod) Problem {
	p := Problem{Reason: pod.Status.Reason, Message: pod.Status.Message}
	for _, st := range ContainerStatuses(pod) {
		if t := st.State.Terminated; t != nil && p.Reason == "" && t.Reason != "" {
			p.Container, p.Reason = st.Name, t.Reason
			if p.Message == "" {
				p.Message = t.Message
			}
		}
	}
	if p.Reason == "" {
		p.Reason = string(pod.Status.Phase)
	}
	return p
}

// CrashMessage says how a crash-looping container last ended, e.g.
// "restarted 2 times, last exit code 1 (Error)".
func CrashMessage(st corev1.ContainerStatus) string {
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

// Summary says in a few words what state pod is in, for lists of pods:
// "Running", "Pending (ImagePullBackOff)", "Running (not ready)",
// "Terminating".
func Summary(pod *corev1.Pod) string {
	if pod.DeletionTimestamp != nil {
		return "Terminating"
	}
	state := string(pod.Status.Phase)
	if state == "" {
		state = "Unknown"
	}
	problems := Problems(pod)
	if len(problems) == 0 {
		return state
	}
	reason := problems[0].Reason
	switch reason {
	case "NotReady":
		reason = "not ready"
	case string(pod.Status.Phase):
		return state
	}
	return state + " (" + reason + ")"
}

// ContainerStatuses returns the statuses of pod's init containers, then of
// its app containers, in a new slice.
func ContainerStatuses(pod *corev1.Pod) []corev1.ContainerStatus {
	return append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
}

// NotScheduled returns pod's PodScheduled condition if it is False: the
// scheduler has found no node for the pod (yet).
func NotScheduled(pod *corev1.Pod) (corev1.PodCondition, bool) {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return c, true
		}
	}
	return corev1.PodCondition{}, false
}

// Ready reports whether pod's Ready condition is True.
func Ready(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

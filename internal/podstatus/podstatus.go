// Package podstatus reads what a pod's status says about why it is not
// running: which reasons of a waiting container mean it is on its way, and
// which that it needs someone to fix its image or configuration. It decides
// nothing; jobwatch, podlogs and init each act on it in their own way.
package podstatus

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Waiting is what the reason of a waiting container says about it.
type Waiting int

const (
	// Starting is a container on its way: no reason yet, ContainerCreating
	// or PodInitializing.
	Starting Waiting = iota
	// Other is any reason not named below.
	Other
	// ImageError is an image that cannot be pulled: ErrImagePull (the first
	// failure), ImagePullBackOff, InvalidImageName, ErrImageNeverPull. Only
	// a change of the image or the registry credentials gets out of it.
	ImageError
	// ConfigError is a container that cannot be created from its spec:
	// CreateContainerConfigError (e.g. a missing Secret or key),
	// CreateContainerError.
	ConfigError
	// CrashLoop is CrashLoopBackOff: the container keeps exiting.
	CrashLoop
)

// ClassifyWaiting says what reason, of a container's waiting state, means.
func ClassifyWaiting(reason, message string) Waiting {
	// Right after a pod starts, the kubelet may not have the Secrets and
	// ConfigMaps it refers to in its cache yet ("failed to sync secret
	// cache: timed out waiting for the condition"); it retries by itself.
	if reason == "CreateContainerConfigError" && strings.Contains(message, "failed to sync") {
		return Starting
	}
	switch reason {
	case "", "ContainerCreating", "PodInitializing":
		return Starting
	case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
		return ImageError
	case "CreateContainerConfigError", "CreateContainerError":
		return ConfigError
	case "CrashLoopBackOff":
		return CrashLoop
	}
	return Other
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

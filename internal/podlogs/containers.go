package podlogs

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/podstatus"
)

// container is one selected container of a pod.
type container struct {
	name    string
	init    bool
	missing bool
}

// containers returns the containers of pod that o selects.
func (s *streamer) containers(pod *corev1.Pod) []container {
	if s.o.Container != "" {
		for _, c := range pod.Spec.Containers {
			if c.Name == s.o.Container {
				return []container{{name: c.Name}}
			}
		}
		for _, c := range pod.Spec.InitContainers {
			if c.Name == s.o.Container {
				return []container{{name: c.Name, init: true}}
			}
		}
		return []container{{name: s.o.Container, missing: true}}
	}
	var cs []container
	if s.o.AllContainers {
		for _, c := range pod.Spec.InitContainers {
			cs = append(cs, container{name: c.Name, init: true})
		}
	}
	for _, c := range pod.Spec.Containers {
		cs = append(cs, container{name: c.Name})
	}
	return cs
}

// logState says whether c's log can be read now; instance identifies the
// container instance the kubelet would serve, so that a restarted container
// is streamed again; why explains a log that cannot be read.
func logState(pod *corev1.Pod, c container, previous bool) (instance string, ok bool, why string) {
	statuses := pod.Status.ContainerStatuses
	if c.init {
		statuses = pod.Status.InitContainerStatuses
	}
	var st *corev1.ContainerStatus
	for i := range statuses {
		if statuses[i].Name == c.name {
			st = &statuses[i]
			break
		}
	}
	if st == nil {
		return "", false, notStarted(pod, c.name)
	}
	last := st.LastTerminationState.Terminated
	switch {
	case previous:
		if last == nil {
			return "", false, fmt.Sprintf("container %s has no previous instance", c.name)
		}
		return last.ContainerID, true, ""
	case st.State.Running != nil:
		return st.ContainerID, true, ""
	case st.State.Terminated != nil:
		return st.State.Terminated.ContainerID, true, ""
	case last != nil:
		// Waiting to restart: the kubelet serves the last instance.
		return last.ContainerID, true, ""
	case st.State.Waiting != nil && st.State.Waiting.Reason != "":
		w := st.State.Waiting
		if w.Message != "" {
			return "", false, fmt.Sprintf("container %s is waiting: %s (%s)", c.name, w.Reason, w.Message)
		}
		return "", false, fmt.Sprintf("container %s is waiting: %s", c.name, w.Reason)
	}
	return "", false, notStarted(pod, c.name)
}

// notStarted explains a container without status: the pod is not scheduled
// or not yet running.
func notStarted(pod *corev1.Pod, name string) string {
	if cond, ok := podstatus.NotScheduled(pod); ok {
		why := fmt.Sprintf("container %s has not started: pod is not scheduled", name)
		if cond.Reason != "" {
			why += ": " + cond.Reason
		}
		if cond.Message != "" {
			why += " (" + cond.Message + ")"
		}
		return why
	}
	phase := pod.Status.Phase
	if phase == "" {
		phase = corev1.PodPending
	}
	return fmt.Sprintf("container %s has not started (pod %s)", name, phase)
}

// cannotStart says whether c waits for something that will not go away
// without someone changing the pod (podstatus: a Fatal problem, such as an
// image that cannot be pulled). Follow reports these at once instead of only
// when Done closes.
func cannotStart(pod *corev1.Pod, c container) bool {
	for _, p := range podstatus.Problems(pod) {
		if p.Container == c.name && p.Kind.Fatal() {
			return true
		}
	}
	return false
}

package cmd

import (
	"fmt"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/podstatus"
)

// lookCloser is the kubectl command that shows more about a pod's problem:
// the last run's logs of a crash-looping container, else the pod's events.
func lookCloser(namespace, pod string, p podstatus.Problem) string {
	if p.Kind == podstatus.CrashLoop {
		c := ""
		if p.Container != "" {
			c = " -c " + p.Container
		}
		return fmt.Sprintf("kubectl logs %s%s -n %s --previous", pod, c, namespace)
	}
	return fmt.Sprintf("kubectl describe pod %s -n %s", pod, namespace)
}

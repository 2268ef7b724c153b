package podstatus

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestClassifyWaiting(t *testing.T) {
	for reason, want := range map[string]Waiting{
		"":                           Starting,
		"ContainerCreating":          Starting,
		"PodInitializing":            Starting,
		"ErrImagePull":               ImageError,
		"ImagePullBackOff":           ImageError,
		"InvalidImageName":           ImageError,
		"ErrImageNeverPull":          ImageError,
		"CreateContainerConfigError": ConfigError,
		"CreateContainerError":       ConfigError,
		"CrashLoopBackOff":           CrashLoop,
		"RunContainerError":          Other,
	} {
		if got := ClassifyWaiting(reason, "some message"); got != want {
			t.Errorf("ClassifyWaiting(%q) = %d, want %d", reason, got, want)
		}
	}
}

func TestContainerStatusesInitFirst(t *testing.T) {
	pod := &corev1.Pod{Status: corev1.PodStatus{
		InitContainerStatuses: []corev1.ContainerStatus{{Name: "init"}},
		ContainerStatuses:     []corev1.ContainerStatus{{Name: "app"}, {Name: "sidecar"}},
	}}
	got := ContainerStatuses(pod)
	if len(got) != 3 || got[0].Name != "init" || got[1].Name != "app" || got[2].Name != "sidecar" {
		t.Fatalf("ContainerStatuses = %+v, want init, app, sidecar", got)
	}
	got[0].Name = "changed"
	if pod.Status.InitContainerStatuses[0].Name != "init" {
		t.Error("ContainerStatuses shares its slice with the pod")
	}
}

func TestConditions(t *testing.T) {
	cond := func(typ corev1.PodConditionType, status corev1.ConditionStatus) corev1.PodCondition {
		return corev1.PodCondition{Type: typ, Status: status, Reason: "r"}
	}
	for _, tc := range []struct {
		name                string
		conds               []corev1.PodCondition
		ready, notScheduled bool
	}{
		{name: "no conditions"},
		{name: "unschedulable", conds: []corev1.PodCondition{cond(corev1.PodScheduled, corev1.ConditionFalse)}, notScheduled: true},
		{name: "scheduled, not ready", conds: []corev1.PodCondition{
			cond(corev1.PodScheduled, corev1.ConditionTrue), cond(corev1.PodReady, corev1.ConditionFalse)}},
		{name: "ready", conds: []corev1.PodCondition{
			cond(corev1.PodScheduled, corev1.ConditionTrue), cond(corev1.PodReady, corev1.ConditionTrue)}, ready: true},
	} {
		pod := &corev1.Pod{Status: corev1.PodStatus{Conditions: tc.conds}}
		if got := Ready(pod); got != tc.ready {
			t.Errorf("%s: Ready = %v, want %v", tc.name, got, tc.ready)
		}
		c, got := NotScheduled(pod)
		if got != tc.notScheduled || (got && c.Reason != "r") {
			t.Errorf("%s: NotScheduled = %+v, %v, want %v", tc.name, c, got, tc.notScheduled)
		}
	}
}

// The kubelet's Secret cache lags a pod that starts right after its Secret
// was created; that error goes away by itself and must not fail a wait.
func TestSecretCacheNotSyncedYetIsStillStarting(t *testing.T) {
	if got := ClassifyWaiting("CreateContainerConfigError", "failed to sync secret cache: timed out waiting for the condition"); got != Starting {
		t.Fatalf("got %d, want Starting", got)
	}
	if got := ClassifyWaiting("CreateContainerConfigError", `secret "redis-auth" not found`); got != ConfigError {
		t.Fatalf("a missing Secret: got %d, want ConfigError", got)
	}
}

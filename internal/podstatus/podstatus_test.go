package podstatus

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestClassifyWaiting(t *testing.T) {
	for _, tc := range []struct {
		reason, message string
		want            Kind
	}{
		{"", "", Starting},
		{"ContainerCreating", "", Starting},
		{"PodInitializing", "", Starting},
		{"RunContainerError", "exec: not found", Starting},
		{"ErrImagePull", "pull access denied", ImageError},
		{"ImagePullBackOff", `Back-off pulling image "x"`, ImageError},
		{"InvalidImageName", "", ImageError},
		{"ErrImageNeverPull", "", ImageError},
		{"CreateContainerConfigError", `secret "redis-auth" not found`, ConfigError},
		{"CreateContainerError", "", ConfigError},
		{"CrashLoopBackOff", "back-off 10s", CrashLoop},
		// The kubelet's Secret cache lags a pod that starts right after its
		// Secret was created; that goes away by itself.
		{"CreateContainerConfigError", "failed to sync secret cache: timed out waiting for the condition", Starting},
		{"CreateContainerConfigError", "failed to sync configmap cache: timed out waiting for the condition", Starting},
	} {
		if got := ClassifyWaiting(tc.reason, tc.message); got != tc.want {
			t.Errorf("ClassifyWaiting(%q, %q) = %s, want %s", tc.reason, tc.message, got, tc.want)
		}
	}
}

func TestWhatFailsAtOnceAfterAGraceOrNever(t *testing.T) {
	seen := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	const grace = time.Minute
	for _, tc := range []struct {
		p      Problem
		want   time.Time
		wantOK bool
	}{
		{Problem{Kind: ImageError}, seen, true},
		{Problem{Kind: ConfigError}, seen, true},
		{Problem{Kind: CrashLoop}, seen.Add(grace), true},
		{Problem{Kind: Unschedulable}, seen.Add(grace), true},
		{Problem{Kind: Unschedulable, Since: seen.Add(-time.Hour)}, seen.Add(-time.Hour + grace), true},
		{Problem{Kind: Starting}, time.Time{}, false},
	} {
		got, ok := tc.p.Due(seen, grace)
		if !got.Equal(tc.want) || ok != tc.wantOK {
			t.Errorf("%s: Due = %v, %v, want %v, %v", tc.p.Kind, got, ok, tc.want, tc.wantOK)
		}
	}
}

func waiting(name, reason, message string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}}
}

func condition(typ corev1.PodConditionType, status corev1.ConditionStatus, reason, message string) corev1.PodCondition {
	return corev1.PodCondition{Type: typ, Status: status, Reason: reason, Message: message}
}

func TestProblems(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		name    string
		status  corev1.PodStatus
		deleted bool
		want    []Problem
		summary string
	}{
		{
			name: "running and ready",
			status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
				condition(corev1.PodReady, corev1.ConditionTrue, "", "")}},
			summary: "Running",
		},
		{
			name:    "running, readiness probe not passed",
			status:  corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "c"}}},
			want:    []Problem{{Reason: "NotReady", Message: "running, but its readiness probe has not passed yet"}},
			summary: "Running (not ready)",
		},
		{
			name:    "just created",
			status:  corev1.PodStatus{Phase: corev1.PodPending},
			want:    []Problem{{Reason: "Pending"}},
			summary: "Pending",
		},
		{
			name:    "creating",
			status:  corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{waiting("c", "ContainerCreating", "")}},
			want:    []Problem{{Container: "c", Reason: "ContainerCreating"}},
			summary: "Pending (ContainerCreating)",
		},
		{
			name:    "deleted",
			status:  corev1.PodStatus{Phase: corev1.PodRunning},
			deleted: true,
			want:    []Problem{{Reason: "Terminating", Message: "the pod is being deleted"}},
			summary: "Terminating",
		},
		{
			name:    "evicted",
			status:  corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", Message: "low on memory"},
			want:    []Problem{{Reason: "Evicted", Message: "low on memory"}},
			summary: "Failed (Evicted)",
		},
		{
			name: "failed container",
			status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{Name: "c",
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}}}}},
			want:    []Problem{{Container: "c", Reason: "OOMKilled"}},
			summary: "Failed (OOMKilled)",
		},
		{
			name: "unschedulable",
			status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
				Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable",
				Message: "0/1 nodes are available", LastTransitionTime: now}}},
			want:    []Problem{{Kind: Unschedulable, Reason: "Unschedulable", Message: "0/1 nodes are available", Since: now.Time}},
			summary: "Pending (Unschedulable)",
		},
		{
			name: "crash loop",
			status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
				Name: "c", RestartCount: 3,
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: 1, Reason: "Error", Message: "cannot reach redis"}},
			}}},
			want: []Problem{{Kind: CrashLoop, Container: "c", Reason: "CrashLoopBackOff",
				Message: "restarted 3 times, last exit code 1 (Error): cannot reach redis"}},
			summary: "Running (CrashLoopBackOff)",
		},
		{
			name: "fatal first: an init container that cannot pull its image, the app container waiting",
			status: corev1.PodStatus{Phase: corev1.PodPending,
				InitContainerStatuses: []corev1.ContainerStatus{waiting("init", "ErrImagePull", "not found")},
				ContainerStatuses:     []corev1.ContainerStatus{waiting("app", "PodInitializing", "")}},
			want: []Problem{
				{Kind: ImageError, Container: "init", Reason: "ErrImagePull", Message: "not found"},
				{Container: "app", Reason: "PodInitializing"},
			},
			summary: "Pending (ErrImagePull)",
		},
		{
			name: "secret cache not synced yet",
			status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{
				waiting("c", "CreateContainerConfigError", "failed to sync secret cache: timed out waiting for the condition")}},
			want: []Problem{{Container: "c", Reason: "CreateContainerConfigError",
				Message: "failed to sync secret cache: timed out waiting for the condition"}},
			summary: "Pending (CreateContainerConfigError)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Status: tc.status}
			if tc.deleted {
				pod.DeletionTimestamp = &now
			}
			got := Problems(pod)
			if len(got) != len(tc.want) {
				t.Fatalf("Problems = %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("Problems[%d] = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
			if s := Summary(pod); s != tc.summary {
				t.Errorf("Summary = %q, want %q", s, tc.summary)
			}
		})
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
	for _, tc := range []struct {
		name                string
		conds               []corev1.PodCondition
		ready, notScheduled bool
	}{
		{name: "no conditions"},
		{name: "unschedulable", conds: []corev1.PodCondition{condition(corev1.PodScheduled, corev1.ConditionFalse, "r", "")}, notScheduled: true},
		{name: "scheduled, not ready", conds: []corev1.PodCondition{
			condition(corev1.PodScheduled, corev1.ConditionTrue, "r", ""), condition(corev1.PodReady, corev1.ConditionFalse, "r", "")}},
		{name: "ready", conds: []corev1.PodCondition{
			condition(corev1.PodScheduled, corev1.ConditionTrue, "r", ""), condition(corev1.PodReady, corev1.ConditionTrue, "r", "")}, ready: true},
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

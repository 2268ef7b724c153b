//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestInitImagePullFailsFast: init with an image that cannot be pulled (a
// closed loopback port, so nothing leaves the machine) stops waiting as soon
// as the kubelet says so, as wait does, naming the pod and where to look;
// it does not sit until its --timeout.
func TestInitImagePullFailsFast(t *testing.T) {
	requireCommands(t, "init")
	e := newEnv(t, "initpull")
	r := e.wqT(4*time.Minute, "init", "--image", "127.0.0.1:5/none:v1", "--timeout", "3m")
	if r.code == 0 {
		t.Fatalf("init exited 0 with an image that cannot be pulled:\n%v", r)
	}
	for _, want := range []string{"Redis cannot start: pod redis-", "kubectl describe pod redis-"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%v", want, r)
		}
	}
	if !strings.Contains(r.stderr, "ErrImagePull") && !strings.Contains(r.stderr, "ImagePullBackOff") {
		t.Errorf("the error does not name ErrImagePull/ImagePullBackOff:\n%v", r)
	}
	t.Logf("failed after %v", r.took.Round(100*time.Millisecond))
}

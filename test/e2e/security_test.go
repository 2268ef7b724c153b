//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRestrictedNamespace: in a namespace that enforces the "restricted" Pod
// Security Standard, the Redis pod of init and the worker pods of
// run --restricted are admitted and do their work.
func TestRestrictedNamespace(t *testing.T) {
	requireCommands(t, "init", "seed", "run", "status")
	e := newEnv(t, "psa",
		"pod-security.kubernetes.io/enforce=restricted",
		"pod-security.kubernetes.io/warn=restricted")

	// Control: the namespace really enforces it.
	r := e.kubectl("run", "probe", "--image", userImage, "--restart=Never", "--dry-run=server", "--", "true")
	if r.code == 0 || !strings.Contains(r.stderr, "violates PodSecurity") {
		t.Fatalf("a plain pod was not refused: is Pod Security admission on?\n%v", r)
	}

	r = e.initRedis()
	if strings.Contains(r.combined(), "PodSecurity") {
		t.Errorf("init got Pod Security warnings:\n%v", r)
	}
	phases := e.mustKubectl("get", "pods", "-l", "app.kubernetes.io/instance=redis", "-o", "jsonpath={.items[*].status.phase}").stdout
	if strings.TrimSpace(phases) != "Running" {
		t.Errorf("Redis pods after init: %q, want one Running", phases)
	}

	const n = 10
	_, r = e.seedFile("sec", "item", n)
	if r.code != 0 {
		t.Fatalf("seed:\n%v", r)
	}
	// The docs' image runs as uid 65534, and has sh.
	r = e.wqT(5*time.Minute, "run", "sec", "--restricted", "--image", exampleImage, "--parallelism", "2",
		"--", "sh", "-c", `echo "processed $WORKQUEUE_ITEM"`)
	if r.code != 0 {
		t.Fatalf("run --restricted in a restricted namespace:\n%v", r)
	}
	if strings.Contains(r.combined(), "PodSecurity") {
		t.Errorf("run --restricted got Pod Security warnings:\n%v", r)
	}
	if st := e.status("sec"); st.Done != n || st.Failed != 0 {
		t.Errorf("status: %+v, want %d done", st, n)
	}
}

// TestRBACRoleIsEnough: a user bound only to docs/rbac.yaml's Role can use
// every command.
func TestRBACRoleIsEnough(t *testing.T) {
	requireCommands(t, "init", "seed", "status", "run", "wait", "logs", "delete", "scale")
	e := newEnv(t, "rbac")
	const user = "wq-e2e-user"
	e.mustKubectl("apply", "-f", filepath.Join(repoRoot, "docs", "rbac.yaml"))
	e.mustKubectl("create", "rolebinding", "kubectl-workqueue", "--role=kubectl-workqueue", "--user="+user)

	// The user has that Role and nothing else.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"auth", "can-i", "--as", user, "create", "pods", "--subresource=portforward"}, "yes"},
		{[]string{"auth", "can-i", "--as", user, "create", "pods"}, "no"},
		{[]string{"auth", "can-i", "--as", user, "create", "pods", "--subresource=exec"}, "no"},
		{[]string{"auth", "can-i", "--as", user, "list", "secrets"}, "no"},
		{[]string{"auth", "can-i", "--as", user, "get", "pods", "-n", "default"}, "no"},
	} {
		r := e.kubectl(c.args...)
		if got := strings.TrimSpace(r.stdout); got != c.want {
			t.Errorf("kubectl %s: %q, want %q", strings.Join(c.args, " "), got, c.want)
		}
	}

	e.as = user
	steps := [][]string{
		{"init", "--image", redisImage},
		{"init", "--image", redisImage}, // idempotent, and still allowed
		{"seed", "rbac", "a", "b", "c", "d"},
		{"status", "rbac"},
		{"run", "rbac", "--image", userImage, "--parallelism", "2", "--", "sh", "-c", `echo "processed $WORKQUEUE_ITEM"`},
		{"wait", "wq-rbac"},
		{"logs", "wq-rbac"},
		{"seed", "rbac", "e", "f", "--force"},
		{"run", "rbac", "--replace", "--suspend", "--wait=false", "--image", userImage, "--", "sh", "-c", `echo "processed $WORKQUEUE_ITEM"`},
		{"scale", "wq-rbac", "--parallelism", "2"},
		{"kubectl", "patch", "job", "wq-rbac", "--type", "merge", "-p", `{"spec":{"suspend":false}}`},
		{"wait", "wq-rbac"},
		{"status", "rbac", "-o", "json"},
		{"delete", "rbac", "--yes"},
	}
	for _, s := range steps {
		var r result
		if s[0] == "kubectl" {
			r = e.kubectl(append([]string{"--as", user}, s[1:]...)...)
		} else {
			r = e.wq(s...)
		}
		if r.code != 0 {
			t.Fatalf("as %s:\n%v", user, r)
		}
		if out := strings.ToLower(r.combined()); strings.Contains(out, "forbidden") {
			t.Errorf("as %s: something was forbidden:\n%v", user, r)
		}
	}
	e.as = ""
	if got := e.redisInt("EXISTS", "rbac"); got != 0 {
		t.Errorf("queue rbac still exists after delete")
	}
}

package redistest

import (
	"os"
	"os/exec"
	"testing"
)

// Python returns a python3 that can import redis (Debian's python3-redis
// serves /usr/bin/python3, which need not be the python3 first on PATH), for
// running the Kubernetes docs' rediswq.py workers. It skips the test when
// there is none, except under CI=true, where it fails.
func Python(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if path, err := exec.LookPath(p); err == nil && exec.Command(path, "-c", "import redis").Run() == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no python3 with the redis module (apt-get install python3-redis; hack/install-deps.sh does)")
	}
	t.Skip("no python3 with the redis module")
	return ""
}

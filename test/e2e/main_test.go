//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	// redisImage is what `init --image` deploys; the default (docker.io) cannot
	// be pulled on the test bed.
	redisImage = envOr("WQ_E2E_REDIS_IMAGE", "localhost/lk8s/redis:7.0.15")
	// userImage runs the user's command under the injected worker: it has sh
	// and redis-cli (which the tests use to record what was processed).
	userImage = envOr("WQ_E2E_IMAGE", "localhost/lk8s/pyredis:bookworm")
	// exampleImage is the docs' worker (rediswq.py, own entrypoint), uid 65534.
	exampleImage = envOr("WQ_E2E_EXAMPLE_IMAGE", "localhost/kubectl-workqueue/rediswq-worker:v1")
	// keep leaves the namespaces behind.
	keep = os.Getenv("WQ_E2E_KEEP") == "1"

	// pluginBin is the binary under test; kubectl finds it on PATH as
	// kubectl-workqueue.
	pluginBin string
	// repoRoot is the module's root directory.
	repoRoot string
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// TestMain checks, before any test, that the binary exists and the cluster
// answers, and puts the binary on PATH for kubectl's plugin mechanism. A
// missing cluster or binary fails the run: nothing is skipped silently.
func TestMain(m *testing.M) {
	if err := setup(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func setup() error {
	root, err := filepath.Abs("../..")
	if err != nil {
		return err
	}
	repoRoot = root
	pluginBin = envOr("WQ_E2E_BIN", filepath.Join(root, "bin", "kubectl-workqueue"))
	if pluginBin, err = filepath.Abs(pluginBin); err != nil {
		return err
	}
	if _, err := os.Stat(pluginBin); err != nil {
		return fmt.Errorf("the plugin binary is missing (%v): run `make build`, or set WQ_E2E_BIN", err)
	}
	// kubectl finds plugins on PATH by name: a directory with just ours, first.
	dir, err := os.MkdirTemp("", "wq-e2e-path-")
	if err != nil {
		return err
	}
	if err := os.Symlink(pluginBin, filepath.Join(dir, "kubectl-workqueue")); err != nil {
		return err
	}
	os.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	// No colours and no terminal tricks in what the tests read.
	os.Setenv("NO_COLOR", "1")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "kubectl", "get", "--raw", "/readyz").CombinedOutput()
	if err != nil {
		return fmt.Errorf("no reachable cluster (KUBECONFIG=%q): kubectl get --raw /readyz: %v: %s\n"+
			"start the local one with: eval \"$(hack/localcluster/ensure.sh)\"", os.Getenv("KUBECONFIG"), err, strings.TrimSpace(string(out)))
	}
	out, err = exec.CommandContext(ctx, "kubectl", "workqueue", "version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("kubectl workqueue version: %v: %s", err, out)
	}
	fmt.Fprintf(os.Stderr, "e2e: %s; images: redis %s, worker %s, example %s\n",
		strings.TrimSpace(string(out)), redisImage, userImage, exampleImage)
	return nil
}

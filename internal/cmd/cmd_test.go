package cmd

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/version"
)

// redisAddr is the one redis-server of this package's tests.
var redisAddr string

func TestMain(m *testing.M) {
	// The commands run as a release does, whatever stamped this test binary;
	// the tests of a development build say so (withVersion).
	version.Version = "v0.0.0-cmdtest"
	redistest.Main(m, &redisAddr)
}

type result struct {
	out, errOut string
	err         error
}

// run executes the plugin's root command with args and stdin, as a user would.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return runWith(t, context.Background(), newFactory(), stdin, args...)
}

// runKube is run against a (fake) cluster.
func runKube(t *testing.T, kube kubernetes.Interface, args ...string) result {
	t.Helper()
	f := newFactory()
	f.kube = kube
	return runWith(t, context.Background(), f, "", args...)
}

func runWith(t *testing.T, ctx context.Context, f *factory, stdin string, args ...string) result {
	t.Helper()
	streams, in, out, errOut := genericiooptions.NewTestIOStreams()
	in.WriteString(stdin)
	cmd := newRootCmd(f, streams)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	return result{out: out.String(), errOut: errOut.String(), err: err}
}

// redisURL gives the test the shared redis-server, skipping when there is none.
func redisURL(t *testing.T) string {
	t.Helper()
	if redisAddr == "" {
		t.Skip("redis-server not installed")
	}
	return "--redis-url=redis://" + redisAddr
}

func mustRun(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	r := run(t, stdin, args...)
	if r.err != nil {
		t.Fatalf("%s: %v\nstderr: %s", strings.Join(args, " "), r.err, r.errOut)
	}
	return r
}

// noCluster points kubectl's loading rules at a kubeconfig that does not exist.
func noCluster(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	t.Setenv("HOME", t.TempDir())
}

func TestCommandsNameWhatIsMissing(t *testing.T) {
	noCluster(t)
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"logs"}, "JOB is required: kubectl workqueue logs JOB"},
		{[]string{"wait", "a", "b"}, "one JOB expected"},
		{[]string{"status", "a", "b"}, "one QUEUE expected"},
		{[]string{"seed"}, "QUEUE is required"},
		{[]string{"status", "job2"}, "no Kubernetes cluster configured"},
	} {
		r := run(t, "", tc.args...)
		if r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, r.err, tc.want)
		}
	}
}

func redisClient(t *testing.T) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redisclient"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/workerenv"
)

// seedVia seeds items into the queue name through a client of url.
func seedVia(t *testing.T, url string, tls redisclient.TLS, name string, items ...string) *queue.Queue {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := redisclient.Connect(ctx, redisclient.Config{URL: url, TLS: tls})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Redis.Close() })
	q := queue.New(cl.Redis, name)
	s := q.NewSeeder(queue.SeedOptions{})
	for _, it := range items {
		if err := s.Add(ctx, []byte(it)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return q
}

// tlsDir lays out the server's CA and client certificate as a mounted
// Kubernetes TLS Secret.
func tlsDir(t *testing.T, s *redistest.TLSServer) string {
	t.Helper()
	dir := t.TempDir()
	for src, dst := range map[string]string{s.CAFile: workerenv.TLSCAFile, s.ClientCertFile: workerenv.TLSCertFile, s.ClientKeyFile: workerenv.TLSKeyFile} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// As 'run --redis-url-secret --redis-password-secret --redis-tls-secret'
// sets a pod up: the URL, the ACL user and the TLS Secret's directory from
// the environment, against a TLS-only Redis that requires client
// certificates and lets only that user in.
func TestWorkerTLSAndACLUserFromTheEnvironment(t *testing.T) {
	s := redistest.StartTLS(t, redistest.TLSOptions{RequireClientCert: true},
		"--user", "default", "off", "--user", "worker", "on", ">s3cret", "~*", "&*", "+@all")
	full, err := redisclient.ReadFiles(s.CAFile, s.ClientCertFile, s.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	q := seedVia(t, "rediss://worker:s3cret@"+s.Addr, full, "tq", "a", "b", "c")
	dir := tlsDir(t, s)
	env := []string{"WORKQUEUE_QUEUE=tq", "WORKQUEUE_REDIS_URL=rediss://" + s.Addr,
		"WORKQUEUE_REDIS_USERNAME=worker", "WORKQUEUE_REDIS_PASSWORD=s3cret", "WORKQUEUE_REDIS_TLS_DIR=" + dir}

	code, p := runWorker(t, nil, env, "--", "true")
	if code != 0 || !strings.Contains(p.stderr.String(), "queue tq drained: 3 done") {
		t.Fatalf("exit %d\n%s", code, &p.stderr)
	}
	if st := stats(t, q); st.Completed != 3 {
		t.Errorf("stats %+v", st)
	}

	// Settings that are wrong end the worker at its first try, however long
	// a loaded machine takes to answer it: no --redis-timeout (the default
	// is minutes), so the try is never cut short by one, and a worker that
	// retried such an error instead would not exit in time.
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no CA", env[:4], nil, "presented a certificate signed by an unknown authority: pass the CA's certificate with --redis-ca FILE"},
		{"no client certificate", env[:4], []string{"--redis-ca", s.CAFile}, "did not accept the client certificate"},
		{"wrong user", append(env[:2:2], "WORKQUEUE_REDIS_USERNAME=nobody", "WORKQUEUE_REDIS_PASSWORD=s3cret", "WORKQUEUE_REDIS_TLS_DIR="+dir), nil,
			"rejected the password from $WORKQUEUE_REDIS_PASSWORD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, p := runWorker(t, nil, tc.env, append(tc.args, "--", "true")...)
			if code != exitError || !strings.Contains(p.stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant %q", code, &p.stderr, tc.want)
			}
		})
	}
}

// init --tls's Redis behind its Service: WORKQUEUE_REDIS_ADDR, and a CA in
// the mounted directory means TLS.
func TestWorkerAddressWithACAMeansTLS(t *testing.T) {
	s := redistest.StartTLS(t, redistest.TLSOptions{})
	ca, err := redisclient.ReadFiles(s.CAFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	seedVia(t, "rediss://"+s.Addr, ca, "aq", "x")
	dir := t.TempDir()
	b, _ := os.ReadFile(s.CAFile)
	if err := os.WriteFile(filepath.Join(dir, workerenv.TLSCAFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	code, p := runWorker(t, nil, []string{"WORKQUEUE_QUEUE=aq", "WORKQUEUE_REDIS_ADDR=" + s.Addr, "WORKQUEUE_REDIS_TLS_DIR=" + dir}, "--", "true")
	if code != 0 || !strings.Contains(p.stderr.String(), "drained: 1 done") {
		t.Fatalf("exit %d\n%s", code, &p.stderr)
	}
}

// A Redis Cluster that speaks only TLS, as managed ones do: the worker
// finds the cluster from any node, checks every node's certificate, and
// refuses a queue without a hash tag before touching it.
func TestWorkerOnATLSCluster(t *testing.T) {
	c := redistest.StartTLSCluster(t, 3)
	ca, err := redisclient.ReadFiles(c.TLS.CAFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	seedVia(t, "rediss://"+c.Addrs[0], ca, "{cq}", "a", "b", "c", "d")
	env := []string{"WORKQUEUE_REDIS_CA=" + c.TLS.CAFile}
	code, p := runWorker(t, nil, append(env, "WORKQUEUE_QUEUE={cq}", "WORKQUEUE_REDIS_URL=rediss://"+c.Addrs[2]), "--", "true")
	if code != 0 || !strings.Contains(p.stderr.String(), "drained: 4 done") {
		t.Fatalf("a tagged queue through another node: exit %d\n%s", code, &p.stderr)
	}

	code, p = runWorker(t, nil, append(env, "WORKQUEUE_QUEUE=cq", "WORKQUEUE_REDIS_URL=rediss://"+c.Addrs[1]), "--", "true")
	want := `workqueue-worker: queue name needs a hash tag in a Redis Cluster: queue "cq" would have its keys in different hash slots, so it cannot work in a Redis Cluster: use a hash tag, e.g. {cq}` + "\n"
	if code != exitUsage || p.stderr.String() != want {
		t.Fatalf("an untagged queue: exit %d, stderr %q\nwant %q", code, &p.stderr, want)
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs, TLSConfig: c.TLS.TLSConfig()})
	defer rdb.Close()
	for _, k := range []string{"cq", "cq:workers", "cq:processing", "cq:holders"} {
		if n, err := rdb.Exists(context.Background(), k).Result(); err != nil || n != 0 {
			t.Errorf("key %s of the untagged queue: EXISTS %d, %v", k, n, err)
		}
	}
}

func TestWorkerThroughSentinel(t *testing.T) {
	s := redistest.StartSentinel(t)
	seedVia(t, s.URL(), redisclient.TLS{}, "sq", "a", "b")
	code, p := runWorker(t, nil, []string{"WORKQUEUE_QUEUE=sq", "WORKQUEUE_REDIS_URL=" + s.URL()}, "--", "true")
	if code != 0 || !strings.Contains(p.stderr.String(), "drained: 2 done") {
		t.Fatalf("exit %d\n%s", code, &p.stderr)
	}
}

// Sentinels with a password of their own: the worker gets in with both
// passwords in the URL, and without the Sentinels' it ends at once, saying
// where that password goes, instead of retrying for --redis-timeout.
func TestWorkerThroughAPasswordProtectedSentinel(t *testing.T) {
	s := redistest.StartSentinelWith(t, redistest.SentinelOptions{Password: "data-pw", SentinelPassword: "sentinel-pw"})
	seedVia(t, s.URL(), redisclient.TLS{}, "sq", "a", "b")
	code, p := runWorker(t, nil, []string{"WORKQUEUE_QUEUE=sq", "WORKQUEUE_REDIS_URL=" + s.URL()}, "--", "true")
	if code != 0 || !strings.Contains(p.stderr.String(), "drained: 2 done") {
		t.Fatalf("exit %d\n%s", code, &p.stderr)
	}
	noSentinelPassword := "redis+sentinel://:data-pw@" + s.SentinelAddr + "/" + s.Master
	code, p = runWorker(t, nil, []string{"WORKQUEUE_QUEUE=sq", "WORKQUEUE_REDIS_URL=" + noSentinelPassword}, "--", "true")
	if code != exitError || !strings.Contains(p.stderr.String(), "want a password of their own: add ?sentinel_password=PASSWORD") {
		t.Fatalf("exit %d\n%s", code, &p.stderr)
	}
}

// A Sentinel set that speaks only TLS: the worker finds the master through
// the Sentinel with the CA from the environment and drains the queue.
func TestWorkerThroughATLSSentinel(t *testing.T) {
	s := redistest.StartSentinelWith(t, redistest.SentinelOptions{TLS: true})
	ca, err := redisclient.ReadFiles(s.TLS.CAFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	seedVia(t, s.URL(), ca, "sq", "a", "b")
	code, p := runWorker(t, nil, []string{"WORKQUEUE_QUEUE=sq", "WORKQUEUE_REDIS_URL=" + s.URL(), "WORKQUEUE_REDIS_CA=" + s.TLS.CAFile}, "--", "true")
	if code != 0 || !strings.Contains(p.stderr.String(), "drained: 2 done") {
		t.Fatalf("exit %d\n%s", code, &p.stderr)
	}
}

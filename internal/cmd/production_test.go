package cmd

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/workerenv"
)

// seed and status against a TLS-only Redis with a private CA that lets in
// only an ACL user, as a managed Redis does.
func TestSeedAndStatusOverTLSWithAnACLUser(t *testing.T) {
	s := redistest.StartTLS(t, redistest.TLSOptions{}, "--user", "default", "off", "--user", "app", "on", ">s3cret", "~*", "&*", "+@all")
	url := "--redis-url=rediss://app:s3cret@" + s.Addr
	mustRun(t, "", url, "--redis-ca", s.CAFile, "seed", "tq", "a", "b", "c")
	r := mustRun(t, "", url, "--redis-ca", s.CAFile, "status", "tq", "-o", "json")
	var st struct{ Pending int64 }
	if err := json.Unmarshal([]byte(r.out), &st); err != nil || st.Pending != 3 {
		t.Fatalf("status: %s (%v)", r.out, err)
	}

	r = run(t, "", url, "seed", "tq", "d")
	want := "Redis at " + s.Addr + " presented a certificate signed by an unknown authority: pass the CA's certificate with --redis-ca FILE (or, to test only, --redis-insecure-skip-tls-verify)"
	if r.err == nil || r.err.Error() != want {
		t.Fatalf("without the CA: %v\nwant %s", r.err, want)
	}
	r = run(t, "", "--redis-url=redis://app:s3cret@"+s.Addr, "--redis-ca", s.CAFile, "seed", "tq", "d")
	if r.err == nil || !strings.Contains(r.err.Error(), "use rediss://") {
		t.Fatalf("a CA with a redis:// URL: %v", r.err)
	}
}

// Every command through any node of a Redis Cluster; a queue without a hash
// tag is refused before anything is written, with the fix.
func TestCommandsOnACluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	node := func(i int) string { return "--redis-url=redis://" + c.Addrs[i] }

	r := mustRun(t, "", node(0), "seed", "{jobs}", "a", "b", "c")
	if !strings.Contains(r.out, `seeded 3 items into queue "{jobs}" (3 pending)`) {
		t.Fatalf("seed: %s", r.out)
	}
	r = mustRun(t, "", node(1), "status", "{jobs}", "-o", "json")
	if !strings.Contains(r.out, `"pending": 3`) {
		t.Fatalf("status through another node: %s", r.out)
	}
	if out := complete(t, "status", node(2), ""); !strings.Contains(out, "{jobs}\n") {
		t.Errorf("completion through a third node: %q", out)
	}

	for _, args := range [][]string{{"seed", "jobs", "x"}, {"status", "jobs"}, {"delete", "jobs", "--yes"}} {
		r = run(t, "", append([]string{node(1)}, args...)...)
		want := `queue name needs a hash tag in a Redis Cluster: queue "jobs" would have its keys in different hash slots, so it cannot work in a Redis Cluster: use a hash tag, e.g. {jobs}`
		if r.err == nil || r.err.Error() != want {
			t.Errorf("%s: %v\nwant %s", args[0], r.err, want)
		}
	}
	r = mustRun(t, "", node(2), "delete", "{jobs}", "--yes")
	if !strings.Contains(r.out, `queue "{jobs}" deleted`) {
		t.Fatalf("delete: %s", r.out)
	}
	if out := complete(t, "status", node(0), ""); strings.Contains(out, "jobs") {
		t.Errorf("completion after delete: %q", out)
	}
}

// envFrom is the Secret and key a variable of the worker container comes from.
func envFrom(job *batchv1.Job, name string) *corev1.SecretKeySelector {
	for _, e := range job.Spec.Template.Spec.Containers[0].Env {
		if e.Name == name && e.ValueFrom != nil {
			return e.ValueFrom.SecretKeyRef
		}
	}
	return nil
}

func tlsVolume(job *batchv1.Job) *corev1.SecretVolumeSource {
	for _, v := range job.Spec.Template.Spec.Volumes {
		if v.Name == manifest.WorkerTLSVolume {
			return v.Secret
		}
	}
	return nil
}

// The pods reach the Redis that the Secrets describe, never a literal
// password; without Secrets, init's Service and (if init --tls made one)
// its CA.
func TestRunGivesTheWorkersTheRedisSecrets(t *testing.T) {
	job := dryRunJob(t, "", "{q}", "--image", "x:v1", "--redis-url-secret", "managed:uri", "--redis-password-secret", "app-user",
		"--redis-tls-secret", "managed-tls", "--", "work")
	env := envOf(job, 0)
	if u := envFrom(job, workerenv.RedisURL); u == nil || u.Name != "managed" || u.Key != "uri" || env[workerenv.RedisAddr] != "" {
		t.Errorf("URL from %+v, address %q", u, env[workerenv.RedisAddr])
	}
	if p, u := envFrom(job, workerenv.RedisPassword), envFrom(job, workerenv.RedisUsername); p == nil || p.Name != "app-user" || u == nil || u.Name != "app-user" || u.Key != "username" || !*u.Optional {
		t.Errorf("password from %+v, user from %+v", p, u)
	}
	if v := tlsVolume(job); v == nil || v.SecretName != "managed-tls" || v.Optional != nil || env[workerenv.RedisTLSDir] != manifest.WorkerTLSDir {
		t.Errorf("TLS volume %+v, dir %q", v, env[workerenv.RedisTLSDir])
	}

	job = dryRunJob(t, "", "q", "--image", "x:v1", "--", "work")
	if v := tlsVolume(job); v == nil || v.SecretName != manifest.CASecretName("redis") || !*v.Optional || envOf(job, 0)[workerenv.RedisAddr] != "redis:6379" {
		t.Errorf("init's Redis: TLS volume %+v, env %v", v, envOf(job, 0))
	}
	// The docs' workers speak no TLS: nothing to mount for them.
	if v := tlsVolume(dryRunJob(t, "", "q", "--image", "x:v1")); v != nil {
		t.Errorf("docs' workers get %+v", v)
	}

	noCluster(t)
	r := run(t, "", "run", "q", "--image", "x:v1", "--dry-run=client", "--redis-url-secret", "managed", "--redis-ca", "/tmp/ca.pem", "--", "work")
	want := "--redis-ca /tmp/ca.pem is a file on this machine, which the pods cannot read: put the certificates in a Secret (kubectl create secret generic NAME --from-file=ca.crt=CA.pem [--from-file=tls.crt=CERT.pem --from-file=tls.key=KEY.pem]) and pass --redis-tls-secret NAME"
	if r.err == nil || r.err.Error() != want {
		t.Errorf("a local CA file: %v\nwant %s", r.err, want)
	}
	r = run(t, "", "run", "q", "--image", "x:v1", "--dry-run=client", "--patch", `[{"op":"remove","path":"/spec/template/spec/containers/0/volumeMounts/0"}]`, "--patch-type", "json", "--", "work")
	if r.err == nil || !strings.Contains(r.err.Error(), `removes the mount of volume "workqueue-redis-tls"`) {
		t.Errorf("a patch that removes the CA: %v", r.err)
	}
}

func TestRunChecksTheRedisSecretsFirst(t *testing.T) {
	url := redisURL(t)
	kube := fake.NewClientset()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--redis-url-secret", "managed"}, `--redis-url-secret: secret "managed" not found in namespace "ns", and the workers would read it`},
		{[]string{"--redis-tls-secret", "tls"}, `--redis-tls-secret: secret "tls" not found in namespace "ns", and the workers would read it`},
	} {
		r := runKube(t, kube, append([]string{url, "-n", "ns", "run", "q", "--image", "x:v1", "--allow-empty"}, tc.args...)...)
		if r.err == nil || r.err.Error() != tc.want {
			t.Errorf("%v: %v\nwant %s", tc.args, r.err, tc.want)
		}
	}
	if jobs, _ := kube.BatchV1().Jobs("ns").List(context.Background(), metav1.ListOptions{}); len(jobs.Items) != 0 {
		t.Fatal("a Job was created")
	}
}

// A --redis-url that is not this machine (where one's own port-forward to
// the Service would be) is not where the workers go: say so.
func TestRunWarnsThatALiteralURLStaysWithTheCLI(t *testing.T) {
	for url, warn := range map[string]bool{"redis://redis.example.com:6379": true, "redis://127.0.0.1:6379": false, "redis://localhost:6379": false} {
		r := runKube(t, fake.NewClientset(), "--redis-url="+url, "-n", "ns", "run", "q", "--image", "x:v1", "--allow-empty", "--dry-run=server")
		if r.err != nil {
			t.Fatalf("%s: %v", url, r.err)
		}
		if got := strings.Contains(r.errOut, "Warning: --redis-url is how this command reaches Redis; the workers reach it through the Service redis:6379"); got != warn {
			t.Errorf("%s: stderr %q", url, r.errOut)
		}
	}
}

// wait and scale read the queue where the Job's workers do, unless flags say
// otherwise.
func TestRedisFlagsForAJob(t *testing.T) {
	job := dryRunJob(t, "", "{q}", "--image", "x:v1", "--redis-url-secret", "managed:uri", "--redis-password-secret", "app-user",
		"--redis-tls-secret", "managed-tls", "--", "work")
	got := (&redisFlags{service: "redis", port: "6379"}).forJob(job)
	if got.urlSecret != "managed:uri" || got.passwordSecret != "app-user:password" || got.tlsSecret != "managed-tls" || got.insecureSkipVerify {
		t.Errorf("from the Job: %+v", got)
	}
	given := redisFlags{url: "redis://127.0.0.1:1"}
	if got := given.forJob(job); got != given {
		t.Errorf("flags given: %+v", got)
	}
	// init's Redis: nothing in the Job overrides the flags (its optional CA
	// and password Secret are what the flags find anyway).
	plain := redisFlags{service: "redis", port: "6379"}
	if got := plain.forJob(dryRunJob(t, "", "q", "--image", "x:v1", "--", "work")); got != plain {
		t.Errorf("init's Redis: %+v", got)
	}
}

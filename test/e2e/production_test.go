//go:build e2e

package e2e

import (
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/certgen"
)

// apply runs kubectl apply on manifests given as YAML.
func (e *env) apply(manifests string) {
	e.t.Helper()
	r := run(e.t, cmdTimeout, strings.NewReader(manifests), "kubectl", "-n", e.ns, "apply", "-f", "-")
	if r.code != 0 {
		e.t.Fatalf("kubectl apply:\n%v", r)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// TestManagedTLSRedis: a Redis that kubectl-workqueue did not make, as a
// platform team hands one out: TLS only, a private CA, client certificates
// required (mutual TLS) and an ACL user, described by a URL Secret and a TLS
// Secret. seed, run's workers and status reach it directly, with no
// port-forward, through --redis-url-secret and --redis-tls-secret, and wait
// finds it in the Job; without the CA the error says which flag is missing.
func TestManagedTLSRedis(t *testing.T) {
	requireCommands(t, "seed", "run", "status")
	e := newEnv(t, "tls")

	// The Service first: its ClusterIP goes into the server's certificate,
	// since the CLI on this machine reaches Redis by it, and so do the pods.
	e.apply(`apiVersion: v1
kind: Service
metadata: {name: managed-redis}
spec:
  selector: {app: managed-redis}
  ports: [{port: 6379, targetPort: 6379}]
`)
	ip := strings.TrimSpace(e.mustKubectl("get", "service", "managed-redis", "-o", "jsonpath={.spec.clusterIP}").stdout)
	ca, err := certgen.NewCA("e2e managed Redis CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.Server(time.Hour, ip, "managed-redis", "managed-redis."+e.ns+".svc")
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.Client("e2e workers", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	const password = "e2e-app-password"
	e.apply(fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: managed-redis-server}
data: {tls.crt: %s, tls.key: %s, ca.crt: %s}
---
apiVersion: v1
kind: Secret
metadata: {name: redis-client-tls}
data: {ca.crt: %s, tls.crt: %s, tls.key: %s}
---
apiVersion: v1
kind: Secret
metadata: {name: redis-url}
stringData: {url: "rediss://app:%s@%s:6379"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: managed-redis}
spec:
  selector: {matchLabels: {app: managed-redis}}
  template:
    metadata: {labels: {app: managed-redis}}
    spec:
      containers:
      - name: redis
        image: %s
        imagePullPolicy: IfNotPresent
        command: [redis-server]
        args: [--port, "0", --tls-port, "6379", --bind, 0.0.0.0, --protected-mode, "no", --save, "", --appendonly, "no",
          --tls-cert-file, /tls/tls.crt, --tls-key-file, /tls/tls.key, --tls-ca-cert-file, /tls/ca.crt, --tls-auth-clients, "yes",
          --user, default, "off", --user, app, "on", ">%s", "~*", "&*", "+@all"]
        readinessProbe: {tcpSocket: {port: 6379}, periodSeconds: 1}
        volumeMounts: [{name: tls, mountPath: /tls, readOnly: true}]
      volumes: [{name: tls, secret: {secretName: managed-redis-server, defaultMode: 0444}}]
`, b64(server.CertPEM), b64(server.KeyPEM), b64(ca.CertPEM), b64(ca.CertPEM), b64(client.CertPEM), b64(client.KeyPEM),
		password, ip, redisImage, password))
	e.mustKubectl("rollout", "status", "deployment/managed-redis", "--timeout=2m")
	// A ready pod is not yet a reachable Service: kube-proxy programs the
	// ClusterIP a sync after the EndpointSlice changes, and until then a
	// connection is refused (CI saw this once). The CLI goes to the ClusterIP.
	eventually(t, time.Minute, 100*time.Millisecond, "the Service's ClusterIP to accept connections", func() bool {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, "6379"), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	redis := []string{"--redis-url-secret", "redis-url", "--redis-tls-secret", "redis-client-tls"}
	const n = 30
	items := makeItems("tls", n)
	r := e.wq(append([]string{"seed", "work", "-f", writeItems(t, items)}, redis...)...)
	if r.code != 0 {
		t.Fatalf("seed:\n%v", r)
	}

	// Without the CA: a short error naming the flag.
	r = e.wq("seed", "work", "x", "--redis-url-secret", "redis-url")
	if r.code == 0 || !strings.Contains(r.stderr, "presented a certificate signed by an unknown authority: pass the CA's certificate with --redis-ca FILE") {
		t.Errorf("seed without the CA:\n%v", r)
	}

	e.mustWQ(append(append([]string{"run", "work", "--image", userImage, "--parallelism", "2", "--wait=false"}, redis...),
		"--", "sh", "-c", `echo "processed $WORKQUEUE_ITEM"`)...)
	// wait, with no flag, reads the queue where the Job's workers do.
	r = e.wqT(5*time.Minute, "wait", "wq-work")
	if r.code != 0 {
		t.Fatalf("wait:\n%v", r)
	}
	if strings.Contains(r.combined(), "unavailable") || strings.Contains(r.combined(), "cannot read") {
		t.Errorf("wait did not reach the queue:\n%v", r)
	}
	// The Job holds no password: only references to the Secrets.
	job := e.mustKubectl("get", "job", "wq-work", "-o", "yaml").stdout
	if strings.Contains(job, password) || !strings.Contains(job, "name: redis-url") || !strings.Contains(job, "secretName: redis-client-tls") {
		t.Errorf("the Job:\n%s", job)
	}

	r = e.mustWQ(append([]string{"status", "work", "-o", "json"}, redis...)...)
	if !strings.Contains(r.stdout, `"done": 30`) || !strings.Contains(r.stdout, `"pending": 0`) || !strings.Contains(r.stdout, `"processing": 0`) {
		t.Errorf("status after the Job:\n%s", r.stdout)
	}
	got, _ := logItems(t, e.mustWQ("logs", "wq-work").stdout, e.jobPods("wq-work"), "processed", "tls")
	if len(got) != n {
		t.Errorf("the workers' logs name %d distinct items, want %d", len(got), n)
	}
}

// TestInitTLS: init --tls, then the commands and the workers use TLS
// with no flag at all.
func TestInitTLS(t *testing.T) {
	requireCommands(t, "init", "seed", "run", "status")
	e := newEnv(t, "inittls")
	e.initRedis("--tls")
	const n = 20
	if _, r := e.seedFile("work", "item", n); r.code != 0 {
		t.Fatalf("seed:\n%v", r)
	}
	r := e.wqT(5*time.Minute, "run", "work", "--image", userImage, "--parallelism", "2", "--", "sh", "-c", `echo "processed $WORKQUEUE_ITEM"`)
	if r.code != 0 {
		t.Fatalf("run:\n%v", r)
	}
	if st := e.status("work"); st.Done != n || st.Pending != 0 || st.Processing != 0 {
		t.Errorf("status after the Job: %+v", st)
	}
	// Redis has no plain port left.
	args := e.mustKubectl("get", "deployment", "redis", "-o", "jsonpath={.spec.template.spec.containers[0].args}").stdout
	if !strings.Contains(args, `"--port","0"`) || !strings.Contains(args, `"--tls-port","6379"`) {
		t.Errorf("Redis args: %s", args)
	}
}

package redisconn

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redisclient"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/workerenv"
)

// aclUser makes a server take only the ACL user worker, password s3cret.
var aclUser = []string{"--user", "default", "off", "--user", "worker", "on", ">s3cret", "~*", "&*", "+@all"}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func checkWorks(t *testing.T, conn *Conn) {
	t.Helper()
	ctx := context.Background()
	if err := conn.Client.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
}

// A managed Redis as a platform team hands it out: a URL in one Secret, an
// ACL user's name and password in another, the private CA in a third (the
// same Secrets 'run' gives the workers).
func TestConnectURLFromSecretsWithTLSAndACLUser(t *testing.T) {
	s := redistest.StartTLS(t, redistest.TLSOptions{}, aclUser...)
	kube := fake.NewClientset(
		secret("redis-url", map[string]string{manifest.URLSecretKey: "rediss://" + s.Addr}),
		secret("redis-user", map[string]string{manifest.UsernameSecretKey: "worker", manifest.PasswordSecretKey: "s3cret"}),
		secret("redis-ca", map[string]string{workerenv.TLSCAFile: readFile(t, s.CAFile)}),
		secret("redis-full-url", map[string]string{"uri": "rediss://worker:s3cret@" + s.Addr}),
	)
	for _, tc := range []struct {
		name     string
		o        Options
		wantFrom string
	}{
		{"URL, user and CA from Secrets", Options{URLSecret: "redis-url", PasswordSecret: "redis-user", TLSSecret: "redis-ca"}, "secret jobs/redis-user key password"},
		{"URL with credentials under another key, CA from a file", Options{URLSecret: "redis-full-url:uri", CAFile: s.CAFile}, "the URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Namespace = ns
			conn, err := Connect(context.Background(), tc.o, kube, nil, io.Discard)
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			if conn.Addr != s.Addr || conn.PasswordFrom != tc.wantFrom || !conn.TLS || conn.Mode != redisclient.Standalone {
				t.Errorf("target %+v, mode %s", conn.Target, conn.Mode)
			}
			checkWorks(t, conn)
		})
	}

	for _, tc := range []struct {
		name    string
		o       Options
		wantErr string
	}{
		{"no CA", Options{URLSecret: "redis-url", PasswordSecret: "redis-user"},
			"Redis at " + s.Addr + " presented a certificate signed by an unknown authority: pass the CA's certificate with --redis-ca FILE (or, to test only, --redis-insecure-skip-tls-verify)"},
		{"no user", Options{URLSecret: "redis-url", TLSSecret: "redis-ca"},
			"Redis at " + s.Addr + " requires a password: pass --redis-password-secret NAME[:KEY] or set REDISCLI_AUTH"},
		{"missing key", Options{URLSecret: "redis-url:uri"},
			`secret "redis-url" in namespace "jobs" has no key "uri" (keys: url): pass --redis-url-secret redis-url:KEY`},
		{"a TLS Secret without certificates", Options{URLSecret: "redis-url", TLSSecret: "redis-user"},
			`secret "redis-user" in namespace "jobs" has neither ca.crt nor tls.crt: --redis-tls-secret wants a Secret with the CA's certificate (ca.crt) and/or a client certificate (tls.crt, tls.key)`},
		{"both URLs", Options{URL: "rediss://" + s.Addr, URLSecret: "redis-url"}, "give --redis-url or --redis-url-secret, not both"},
		{"both TLS sources", Options{URLSecret: "redis-url", TLSSecret: "redis-ca", CAFile: s.CAFile},
			"give the TLS files with --redis-ca/--redis-cert/--redis-key or --redis-tls-secret, not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(PasswordEnv, "")
			tc.o.Namespace = ns
			_, err := Connect(context.Background(), tc.o, kube, nil, io.Discard)
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("err = %v\nwant   %s", err, tc.wantErr)
			}
		})
	}
}

func TestConnectMutualTLSFromASecret(t *testing.T) {
	s := redistest.StartTLS(t, redistest.TLSOptions{RequireClientCert: true})
	kube := fake.NewClientset(
		secret("ca-only", map[string]string{workerenv.TLSCAFile: readFile(t, s.CAFile)}),
		secret("client", map[string]string{workerenv.TLSCAFile: readFile(t, s.CAFile),
			workerenv.TLSCertFile: readFile(t, s.ClientCertFile), workerenv.TLSKeyFile: readFile(t, s.ClientKeyFile)}),
	)
	_, err := Connect(context.Background(), Options{URL: "rediss://" + s.Addr, Namespace: ns, TLSSecret: "ca-only"}, kube, nil, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "did not accept the client certificate") || !strings.Contains(err.Error(), "--redis-cert FILE and --redis-key FILE") {
		t.Fatalf("without a client certificate: %v", err)
	}
	conn, err := Connect(context.Background(), Options{URL: "rediss://" + s.Addr, Namespace: ns, TLSSecret: "client"}, kube, nil, io.Discard)
	if err != nil {
		t.Fatalf("with the client certificate: %v", err)
	}
	checkWorks(t, conn)
}

// A Redis that 'init --tls' made: through the port-forward, the CLI trusts
// the CA in init's Secret and checks the Service's name, with no flag.
func TestConnectThroughPortForwardWithInitsTLS(t *testing.T) {
	s := redistest.StartTLS(t, redistest.TLSOptions{Hosts: []string{"redis.jobs.svc"}}, "--requirepass", "s3cret")
	_, config := startFakePortForward(t, s.Addr)
	kube := redisCluster("s3cret")
	if err := kube.Tracker().Add(secret(manifest.CASecretName("redis"), map[string]string{workerenv.TLSCAFile: readFile(t, s.CAFile)})); err != nil {
		t.Fatal(err)
	}
	conn, err := Connect(context.Background(), Options{Namespace: ns}, kube, config, io.Discard)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if !conn.TLS || !conn.PortForward {
		t.Errorf("target %+v", conn.Target)
	}
	checkWorks(t, conn)

	// A certificate for another name is refused.
	wrong := redistest.StartTLS(t, redistest.TLSOptions{Hosts: []string{"other.jobs.svc"}})
	_, config = startFakePortForward(t, wrong.Addr)
	kube = redisCluster("")
	if err := kube.Tracker().Add(secret(manifest.CASecretName("redis"), map[string]string{workerenv.TLSCAFile: readFile(t, wrong.CAFile)})); err != nil {
		t.Fatal(err)
	}
	_, err = Connect(context.Background(), Options{Namespace: ns}, kube, config, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "is not valid for the name connected to") || !strings.Contains(err.Error(), "redis.jobs.svc") {
		t.Fatalf("err = %v", err)
	}
}

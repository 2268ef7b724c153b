package redisclient

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/certgen"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/workerenv"
)

// aclUser is the ACL user of the test servers; the default user is off, so
// only it gets in.
var aclUser = []string{"--user", "default", "off", "--user", "worker", "on", ">s3cret", "~*", "&*", "+@all"}

func connect(t *testing.T, c Config) (*Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	cl, err := Connect(ctx, c)
	if err == nil {
		t.Cleanup(func() { cl.Redis.Close() })
	}
	return cl, err
}

// works checks that the client can write and read back.
func works(t *testing.T, cl *Client) {
	t.Helper()
	ctx := context.Background()
	if err := cl.Redis.Set(ctx, "{k}1", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if v, err := cl.Redis.Get(ctx, "{k}1").Result(); err != nil || v != "v" {
		t.Fatalf("GET = %q, %v", v, err)
	}
}

func caOnly(t *testing.T, s *redistest.TLSServer) TLS {
	t.Helper()
	tl, err := ReadFiles(s.CAFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

func TestConnectTLSWithPrivateCAAndACLUser(t *testing.T) {
	s := redistest.StartTLS(t, redistest.TLSOptions{}, aclUser...)
	port := s.Addr[strings.LastIndexByte(s.Addr, ':'):]
	plain := redistest.Start(t)
	otherCA, err := certgen.NewCA("another CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	otherCAFile := filepath.Join(t.TempDir(), "other.crt")
	if err := os.WriteFile(otherCAFile, otherCA.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	wrongCA, err := ReadFiles(otherCAFile, "", "")
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name    string
		c       Config
		wantErr string // the explained error, with ADDR for the address
	}{
		{name: "user and password in the URL", c: Config{URL: "rediss://worker:s3cret@" + s.Addr, TLS: caOnly(t, s)}},
		{name: "by the name localhost", c: Config{URL: "rediss://worker:s3cret@localhost" + port, TLS: caOnly(t, s)}},
		{name: "user and password from elsewhere", c: Config{URL: "rediss://" + s.Addr, Username: "worker", Password: "s3cret", TLS: caOnly(t, s)}},
		{name: "no verification", c: Config{URL: "rediss://worker:s3cret@" + s.Addr, TLS: TLS{InsecureSkipVerify: true}}},
		{
			name:    "no CA: the system's roots do not know it",
			c:       Config{URL: "rediss://worker:s3cret@" + s.Addr},
			wantErr: "Redis at ADDR presented a certificate signed by an unknown authority: pass the CA's certificate with --redis-ca FILE (or, to test only, --redis-insecure-skip-tls-verify)",
		},
		{
			name:    "wrong CA",
			c:       Config{URL: "rediss://worker:s3cret@" + s.Addr, TLS: wrongCA},
			wantErr: "Redis at ADDR presented a certificate signed by an unknown authority: pass the CA's certificate with --redis-ca FILE (or, to test only, --redis-insecure-skip-tls-verify)",
		},
		{
			name:    "a name the certificate does not hold",
			c:       Config{URL: "rediss://worker:s3cret@" + s.Addr, TLS: TLS{CAPEM: s.CA.CertPEM, ServerName: "redis.example"}},
			wantErr: "the certificate of Redis at ADDR is not valid for the name connected to (x509: certificate is valid for localhost, not redis.example): connect by a name the certificate holds",
		},
		{
			name:    "plain client, TLS server",
			c:       Config{URL: "redis://worker:s3cret@" + s.Addr},
			wantErr: "Redis at ADDR closed the connection at once: if it takes only TLS, use a rediss:// URL",
		},
		{
			name:    "TLS client, plain server",
			c:       Config{URL: "rediss://" + plain, TLS: caOnly(t, s)},
			wantErr: "Redis at ADDR did not complete a TLS handshake in time: if it speaks plain Redis there, use a redis:// URL, not rediss://",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := connect(t, tc.c)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Connect: %v", err)
				}
				if cl.Mode != Standalone {
					t.Errorf("Mode = %s, want %s", cl.Mode, Standalone)
				}
				works(t, cl)
				return
			}
			if err == nil {
				t.Fatal("Connect succeeded")
			}
			addr := strings.TrimPrefix(strings.TrimPrefix(tc.c.URL, "rediss://"), "redis://")
			addr = addr[strings.LastIndexByte(addr, '@')+1:]
			want := strings.ReplaceAll(tc.wantErr, "ADDR", addr)
			got := ExplainTLS(err, addr, strings.HasPrefix(tc.c.URL, "rediss"))
			if got == nil || got.Error() != want {
				t.Fatalf("ExplainTLS(%v)\n= %v\nwant %s", err, got, want)
			}
			if !errors.Is(got, err) {
				t.Error("the explained error does not wrap the cause")
			}
		})
	}
}

func TestConnectWrongACLPasswordIsAnAuthError(t *testing.T) {
	s := redistest.StartTLS(t, redistest.TLSOptions{}, aclUser...)
	_, err := connect(t, Config{URL: "rediss://worker:nope@" + s.Addr, TLS: caOnly(t, s)})
	if err == nil || !strings.HasPrefix(err.Error(), "WRONGPASS") {
		t.Fatalf("err = %v, want WRONGPASS", err)
	}
	if ExplainTLS(err, s.Addr, true) != nil {
		t.Error("a wrong password is explained as a TLS problem")
	}
}

func TestConnectMutualTLS(t *testing.T) {
	s := redistest.StartTLS(t, redistest.TLSOptions{RequireClientCert: true})
	url := "rediss://" + s.Addr

	_, err := connect(t, Config{URL: url, TLS: caOnly(t, s)})
	want := "Redis at " + s.Addr + " did not accept the client certificate (tls: certificate required): pass one its CA signed with --redis-cert FILE and --redis-key FILE"
	if got := ExplainTLS(err, s.Addr, true); got == nil || got.Error() != want {
		t.Fatalf("without a client certificate: %v\nexplained %v\nwant      %s", err, got, want)
	}

	tl, err := ReadFiles(s.CAFile, s.ClientCertFile, s.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := connect(t, Config{URL: url, TLS: tl})
	if err != nil {
		t.Fatalf("with the client certificate: %v", err)
	}
	works(t, cl)

	// The layout of a mounted Kubernetes TLS Secret gives the same.
	dir := t.TempDir()
	for src, dst := range map[string]string{s.CAFile: workerenv.TLSCAFile, s.ClientCertFile: workerenv.TLSCertFile, s.ClientKeyFile: workerenv.TLSKeyFile} {
		b, _ := os.ReadFile(src)
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tl, err = ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	cl, err = connect(t, Config{URL: url, TLS: tl})
	if err != nil {
		t.Fatalf("with the certificate from a directory: %v", err)
	}
	works(t, cl)
}

func TestTLSSettingsNeedATLSURL(t *testing.T) {
	_, err := Connect(context.Background(), Config{URL: "redis://127.0.0.1:1", TLS: TLS{CAPEM: []byte("x"), CAFrom: "--redis-ca x"}})
	want := "TLS settings (--redis-ca, --redis-cert, --redis-key, --redis-insecure-skip-tls-verify) need a TLS URL: use rediss:// (or rediss+sentinel://) instead of redis://"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}

func TestTLSConfigErrorsNameTheFlag(t *testing.T) {
	for _, tc := range []struct {
		tls  TLS
		want string
	}{
		{TLS{CAPEM: []byte("not PEM"), CAFrom: "--redis-ca ca.pem"}, "--redis-ca ca.pem holds no PEM certificate (want the CA's certificate, -----BEGIN CERTIFICATE-----)"},
		{TLS{CertPEM: []byte("x"), CertFrom: "--redis-cert c.pem"}, "client certificate --redis-cert c.pem has no key: give --redis-key too"},
		{TLS{KeyPEM: []byte("x"), KeyFrom: "--redis-key k.pem"}, "client key --redis-key k.pem has no certificate: give --redis-cert too"},
	} {
		if _, err := tc.tls.Config(); err == nil || err.Error() != tc.want {
			t.Errorf("err = %v\nwant %s", err, tc.want)
		}
	}
	if _, err := ReadFiles("/nonexistent/ca.pem", "", ""); err == nil || !strings.HasPrefix(err.Error(), "--redis-ca: open /nonexistent/ca.pem") {
		t.Errorf("ReadFiles: %v", err)
	}
}

// Any node's URL leads to the whole cluster, for the default user and for
// an ACL user who may not run INFO (@dangerous).
func TestConnectDetectsACluster(t *testing.T) {
	c := redistest.StartCluster(t, 3, "--user", "app", "on", ">pw", "~*", "&*", "+@all", "-info")
	for i, addr := range c.Addrs {
		url := "redis://" + addr
		if i == 1 {
			url = "redis://app:pw@" + addr
		}
		cl, err := connect(t, Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		if cl.Mode != Cluster {
			t.Fatalf("Mode = %s via %s, want %s", cl.Mode, url, Cluster)
		}
		// Keys of every node, through any node: no MOVED.
		ctx := context.Background()
		for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
			if err := cl.Redis.Set(ctx, k, addr, 0).Err(); err != nil {
				t.Fatalf("SET %s via %s: %v", k, url, err)
			}
		}
	}
	_, err := connect(t, Config{URL: "redis://" + c.Addrs[0] + "/2"})
	want := "Redis at " + c.Addrs[0] + " is a Redis Cluster node, and a Cluster has only database 0: drop /2 from the URL"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	_, err = connect(t, Config{URL: "redis://" + c.Addrs[0], SingleNode: true})
	if err == nil || !strings.Contains(err.Error(), "is a Redis Cluster node, whose other nodes a port-forward does not reach") {
		t.Fatalf("a cluster node behind a port-forward: %v", err)
	}
}

func TestConnectThroughSentinel(t *testing.T) {
	s := redistest.StartSentinel(t)
	cl, err := connect(t, Config{URL: s.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if cl.Mode != Sentinel || !strings.Contains(cl.Addr, s.Master) {
		t.Fatalf("Mode = %s, Addr = %s", cl.Mode, cl.Addr)
	}
	works(t, cl)
	_, err = connect(t, Config{URL: "redis+sentinel://" + s.SentinelAddr + "/nosuchmaster"})
	if want := `the Sentinel at ` + s.SentinelAddr + ` does not know a master named "nosuchmaster"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("an unknown master: %v, want %q", err, want)
	}
}

// A Redis Cluster that speaks only TLS (as ElastiCache with in-transit
// encryption does): every node's certificate is checked against the address
// the cluster announces for it.
func TestConnectToATLSCluster(t *testing.T) {
	c := redistest.StartTLSCluster(t, 3)
	ca, err := ReadFiles(c.TLS.CAFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := connect(t, Config{URL: "rediss://" + c.Addrs[2], TLS: ca})
	if err != nil {
		t.Fatal(err)
	}
	if cl.Mode != Cluster {
		t.Fatalf("Mode = %s, want %s", cl.Mode, Cluster)
	}
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
		if err := cl.Redis.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
	}
	_, err = connect(t, Config{URL: "rediss://" + c.Addrs[0]})
	if got := ExplainTLS(err, c.Addrs[0], true); got == nil || !strings.Contains(got.Error(), "signed by an unknown authority") {
		t.Fatalf("without the CA: %v", err)
	}
}

// Managed Sentinel setups protect the data servers and the Sentinels, each
// with a password of its own: the master's goes in the URL's user part, the
// Sentinels' in sentinel_password. A missing or wrong one is an error that
// says which.
func TestConnectThroughAPasswordProtectedSentinel(t *testing.T) {
	s := redistest.StartSentinelWith(t, redistest.SentinelOptions{Password: "data-pw", SentinelPassword: "sentinel-pw"})
	cl, err := connect(t, Config{URL: s.URL()})
	if err != nil {
		t.Fatalf("%s: %v", s.URL(), err)
	}
	works(t, cl)

	base := "redis+sentinel://" + s.SentinelAddr + "/" + s.Master
	for _, tc := range []struct {
		url, want string
		sentinel  bool // the Sentinels' refusal, not the master's
	}{
		{"redis+sentinel://:data-pw@" + s.SentinelAddr + "/" + s.Master, "the Sentinels at " + s.SentinelAddr + " want a password of their own: add ?sentinel_password=PASSWORD", true},
		{"redis+sentinel://:data-pw@" + s.SentinelAddr + "/" + s.Master + "?sentinel_password=nope", "rejected the URL's sentinel_password", true},
		{base + "?sentinel_password=sentinel-pw", "NOAUTH", false},
		{"redis+sentinel://:nope@" + s.SentinelAddr + "/" + s.Master + "?sentinel_password=sentinel-pw", "WRONGPASS", false},
	} {
		_, err := connect(t, Config{URL: tc.url})
		if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrSentinelAuth) != tc.sentinel || redis.IsAuthError(err) == tc.sentinel {
			t.Errorf("%s: %v, want an error with %q, of the Sentinels: %v", tc.url, err, tc.want, tc.sentinel)
		}
	}
}

// A Sentinel set that speaks only TLS (rediss+sentinel): the Sentinel and
// the master it names are both checked against the CA, and the client
// follows a failover to the replica, over TLS too. Without the CA, the
// error is the one a TLS server without it gives.
func TestConnectThroughATLSSentinel(t *testing.T) {
	s := redistest.StartSentinelWith(t, redistest.SentinelOptions{TLS: true})
	ca, err := ReadFiles(s.TLS.CAFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := connect(t, Config{URL: s.URL(), TLS: ca})
	if err != nil {
		t.Fatalf("%s: %v", s.URL(), err)
	}
	works(t, cl)
	if now := s.Failover(t); now != s.ReplicaAddr {
		t.Fatalf("new master %s, want the replica %s", now, s.ReplicaAddr)
	}
	redistest.WaitFor(t, 20*time.Second, "the client to write to the new master", func() bool {
		return cl.Redis.Set(context.Background(), "{k}2", "v", 0).Err() == nil
	})
	works(t, cl)

	_, err = connect(t, Config{URL: s.URL()})
	if got := ExplainTLS(err, s.SentinelAddr, true); got == nil || !strings.Contains(got.Error(), "signed by an unknown authority") {
		t.Fatalf("without the CA: %v (%v)", err, got)
	}
}

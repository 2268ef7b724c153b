package redistest

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/certgen"
)

// TLSServer is a redis-server that speaks only TLS, with a private CA.
type TLSServer struct {
	// Addr is 127.0.0.1:port; the server's certificate holds 127.0.0.1 and localhost.
	Addr string
	// PlainAddr is the plain port of a server started with AlsoPlain.
	PlainAddr string
	// CA signed the server's certificate and the client's.
	CA *certgen.CA
	// CAFile, ClientCertFile and ClientKeyFile hold the CA's certificate and
	// a client certificate and key that the server accepts.
	CAFile, ClientCertFile, ClientKeyFile string
}

// TLSOptions tune StartTLS.
type TLSOptions struct {
	// RequireClientCert makes the server require a client certificate
	// signed by its CA (mutual TLS).
	RequireClientCert bool
	// Hosts are names the server's certificate holds besides 127.0.0.1
	// and localhost.
	Hosts []string
	// AlsoPlain opens a plain port too (TLSServer.PlainAddr), to the same
	// data: for benchmarks that compare the two.
	AlsoPlain bool
}

// StartTLS runs a TLS-only redis-server (no plain port) as Start does; args
// are extra redis-server arguments.
func StartTLS(t testing.TB, o TLSOptions, args ...string) *TLSServer {
	t.Helper()
	requireServer(t)
	dir := t.TempDir()
	ca, err := certgen.NewCA("redistest CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.Server(time.Hour, append([]string{"127.0.0.1", "localhost"}, o.Hosts...)...)
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.Client("redistest client", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s := &TLSServer{CA: ca}
	files := map[string][]byte{"ca.crt": ca.CertPEM, "server.crt": server.CertPEM, "server.key": server.KeyPEM,
		"client.crt": client.CertPEM, "client.key": client.KeyPEM}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s.CAFile, s.ClientCertFile, s.ClientKeyFile = filepath.Join(dir, "ca.crt"), filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")

	authClients := "no"
	if o.RequireClientCert {
		authClients = "yes"
	}
	listen := func(free []int) []string {
		plain := "0"
		if o.AlsoPlain {
			plain = strconv.Itoa(free[1])
			s.PlainAddr = net.JoinHostPort("127.0.0.1", plain)
		}
		return []string{"--port", plain, "--tls-port", strconv.Itoa(free[0]),
			"--tls-cert-file", filepath.Join(dir, "server.crt"), "--tls-key-file", filepath.Join(dir, "server.key"),
			"--tls-ca-cert-file", s.CAFile, "--tls-auth-clients", authClients}
	}
	clientCert, err := tls.X509KeyPair(client.CertPEM, client.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	var stop func()
	s.Addr, stop, err = launchRetry(dir, listen, func(addr string) bool {
		return answersPingTLS(addr, s.TLSConfig(), clientCert)
	}, args)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return s
}

// TLSConfig trusts the server's CA; it sends no client certificate.
func (s *TLSServer) TLSConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CA.CertPEM)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

func answersPingTLS(addr string, config *tls.Config, cert tls.Certificate) bool {
	config = config.Clone()
	config.Certificates = []tls.Certificate{cert}
	config.ServerName, _, _ = net.SplitHostPort(addr)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, config)
	if err != nil {
		return false
	}
	return pingConn(conn)
}

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
	s := &TLSServer{}
	f := s.makeFiles(t, dir, o.Hosts)
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
		return append([]string{"--port", plain, "--tls-port", strconv.Itoa(free[0]), "--tls-auth-clients", authClients}, f.serverArgs...)
	}
	var stop func()
	var err error
	s.Addr, stop, err = launchRetry(dir, listen, s.answersPing, args)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return s
}

// tlsFiles are what a TLS server is started with.
type tlsFiles struct {
	serverArgs []string // --tls-cert-file and the rest
}

// makeFiles makes a CA, a server certificate for 127.0.0.1, localhost and
// hosts, and a client certificate, and writes them into dir.
func (s *TLSServer) makeFiles(t testing.TB, dir string, hosts []string) tlsFiles {
	t.Helper()
	ca, err := certgen.NewCA("redistest CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.Server(time.Hour, append([]string{"127.0.0.1", "localhost"}, hosts...)...)
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.Client("redistest client", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"ca.crt": ca.CertPEM, "server.crt": server.CertPEM, "server.key": server.KeyPEM,
		"client.crt": client.CertPEM, "client.key": client.KeyPEM}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s.CA = ca
	s.CAFile, s.ClientCertFile, s.ClientKeyFile = filepath.Join(dir, "ca.crt"), filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	return tlsFiles{serverArgs: []string{"--tls-cert-file", filepath.Join(dir, "server.crt"),
		"--tls-key-file", filepath.Join(dir, "server.key"), "--tls-ca-cert-file", s.CAFile}}
}

// answersPing reports whether the TLS server at addr answers PING, sending
// the client certificate in case the server wants one.
func (s *TLSServer) answersPing(addr string) bool {
	config := s.TLSConfig()
	pair, err := tls.LoadX509KeyPair(s.ClientCertFile, s.ClientKeyFile)
	if err != nil {
		return false
	}
	config.Certificates = []tls.Certificate{pair}
	config.ServerName, _, _ = net.SplitHostPort(addr)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, config)
	if err != nil {
		return false
	}
	return pingConn(conn)
}

// TLSConfig trusts the server's CA; it sends no client certificate.
func (s *TLSServer) TLSConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CA.CertPEM)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

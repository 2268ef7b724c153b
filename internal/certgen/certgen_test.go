package certgen

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"
)

func TestCertificatesVerifyForTheirNamesAndUses(t *testing.T) {
	ca, err := NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca.CertPEM) {
		t.Fatal("the CA's PEM holds no certificate")
	}
	leaf := func(p Pair) *x509.Certificate {
		t.Helper()
		pair, err := tls.X509KeyPair(p.CertPEM, p.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	server, err := ca.Server(time.Hour, "redis", "redis.ns.svc", "10.96.0.7")
	if err != nil {
		t.Fatal(err)
	}
	s := leaf(server)
	for _, name := range []string{"redis", "redis.ns.svc", "10.96.0.7"} {
		if _, err := s.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("server certificate for %s: %v", name, err)
		}
	}
	if _, err := s.Verify(x509.VerifyOptions{DNSName: "other", Roots: roots}); err == nil {
		t.Error("the server certificate verifies for a name it does not hold")
	}
	// Redis presents its server certificate to its peers too.
	if _, err := s.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("server certificate as a client: %v", err)
	}

	client, err := ca.Client("worker", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := leaf(client)
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots}); err == nil {
		t.Error("the client certificate serves as a server's")
	}
	other, _ := NewCA("other CA", time.Hour)
	otherRoots := x509.NewCertPool()
	otherRoots.AppendCertsFromPEM(other.CertPEM)
	if _, err := s.Verify(x509.VerifyOptions{DNSName: "redis", Roots: otherRoots}); err == nil {
		t.Error("another CA's roots accept the certificate")
	}
	if _, err := ca.Server(time.Hour); err == nil {
		t.Error("a server certificate without names was made")
	}
}

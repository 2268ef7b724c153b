package redisclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/workerenv"
)

// TLS is what a client needs beyond the rediss scheme: the CA to trust
// (else the system's), a client certificate for servers that require one,
// and the checks to relax. Each PEM comes with where it came from, for
// messages.
type TLS struct {
	// CAPEM is the CA's certificate; nil trusts the system's roots.
	CAPEM  []byte
	CAFrom string
	// CertPEM and KeyPEM are a client certificate and its key (mutual TLS).
	CertPEM, KeyPEM   []byte
	CertFrom, KeyFrom string
	// InsecureSkipVerify accepts any server certificate: for tests only.
	InsecureSkipVerify bool
	// ServerName is the name the server's certificate must hold; "" is the
	// host dialled, which for a Redis Cluster or Sentinel is each node's own
	// address as the cluster announces it.
	ServerName string
}

// Set reports whether any TLS setting is given, which only a rediss URL can use.
func (t TLS) Set() bool {
	return t.CAPEM != nil || t.CertPEM != nil || t.KeyPEM != nil || t.InsecureSkipVerify
}

// ReadFiles reads the PEM files of the --redis-ca, --redis-cert and
// --redis-key flags; empty names are skipped.
func ReadFiles(ca, cert, key string) (TLS, error) {
	var t TLS
	for _, f := range []struct {
		flag, name string
		pem        *[]byte
		from       *string
	}{
		{"--redis-ca", ca, &t.CAPEM, &t.CAFrom},
		{"--redis-cert", cert, &t.CertPEM, &t.CertFrom},
		{"--redis-key", key, &t.KeyPEM, &t.KeyFrom},
	} {
		if f.name == "" {
			continue
		}
		b, err := os.ReadFile(f.name)
		if err != nil {
			return TLS{}, fmt.Errorf("%s: %w", f.flag, err)
		}
		*f.pem, *f.from = b, f.flag+" "+f.name
	}
	return t, nil
}

// ReadDir reads a directory laid out as a mounted Kubernetes TLS Secret:
// ca.crt, the CA to trust, and tls.crt with tls.key, a client certificate;
// each is optional, but tls.crt and tls.key go together.
func ReadDir(dir string) (TLS, error) {
	var t TLS
	for _, f := range []struct {
		name string
		pem  *[]byte
		from *string
	}{
		{workerenv.TLSCAFile, &t.CAPEM, &t.CAFrom},
		{workerenv.TLSCertFile, &t.CertPEM, &t.CertFrom},
		{workerenv.TLSKeyFile, &t.KeyPEM, &t.KeyFrom},
	} {
		path := filepath.Join(dir, f.name)
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return TLS{}, err
		}
		*f.pem, *f.from = b, path
	}
	return t, nil
}

// Config builds the tls.Config; errors name the flag or file to fix.
func (t TLS) Config() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CAPEM != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(t.CAPEM) {
			return nil, fmt.Errorf("%s holds no PEM certificate (want the CA's certificate, -----BEGIN CERTIFICATE-----)", t.CAFrom)
		}
		c.RootCAs = pool
	}
	switch {
	case t.CertPEM != nil && t.KeyPEM != nil:
		pair, err := tls.X509KeyPair(t.CertPEM, t.KeyPEM)
		if err != nil {
			return nil, fmt.Errorf("client certificate %s with key %s: %w", t.CertFrom, t.KeyFrom, err)
		}
		c.Certificates = []tls.Certificate{pair}
	case t.CertPEM != nil:
		return nil, fmt.Errorf("client certificate %s has no key: give --redis-key too", t.CertFrom)
	case t.KeyPEM != nil:
		return nil, fmt.Errorf("client key %s has no certificate: give --redis-cert too", t.KeyFrom)
	}
	return c, nil
}

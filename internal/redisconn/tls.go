package redisconn

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redisclient"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/workerenv"
)

// tls is the TLS material of the flags: files, or a Secret.
func (o Options) tls(ctx context.Context, kube kubernetes.Interface) (redisclient.TLS, error) {
	var t redisclient.TLS
	var err error
	if o.TLSSecret != "" {
		t, err = tlsFromSecret(ctx, kube, o.Namespace, o.TLSSecret, "--redis-tls-secret")
	} else {
		t, err = redisclient.ReadFiles(o.CAFile, o.CertFile, o.KeyFile)
	}
	t.InsecureSkipVerify = o.InsecureSkipVerify
	return t, err
}

// serviceTLS is the TLS to use through a port-forward: that of the flags,
// else the CA that 'init --tls' left in its Secret; useTLS is false when
// there is neither.
func (o Options) serviceTLS(ctx context.Context, kube kubernetes.Interface, service string) (t redisclient.TLS, useTLS bool, err error) {
	t, err = o.tls(ctx, kube)
	if err != nil || t.Set() {
		return t, err == nil, err
	}
	t, err = tlsFromSecret(ctx, kube, o.Namespace, manifest.CASecretName(service), "init --tls")
	switch {
	case isNotFound(err):
		return redisclient.TLS{}, false, nil
	case err != nil:
		return t, false, fmt.Errorf("%w (init --tls keeps the CA of Redis there; pass --redis-ca FILE to give it yourself)", err)
	}
	return t, true, nil
}

// tlsFromSecret reads ca.crt, tls.crt and tls.key from a Secret, each if
// present; flag names what made the Secret be used, for errors.
func tlsFromSecret(ctx context.Context, kube kubernetes.Interface, namespace, name, flag string) (redisclient.TLS, error) {
	secret, err := getSecret(ctx, kube, namespace, name, "Redis' TLS certificates")
	if err != nil {
		return redisclient.TLS{}, err
	}
	from := func(key string) string { return fmt.Sprintf("secret %s/%s key %s", namespace, name, key) }
	t := redisclient.TLS{
		CAPEM: secret.Data[workerenv.TLSCAFile], CAFrom: from(workerenv.TLSCAFile),
		CertPEM: secret.Data[workerenv.TLSCertFile], CertFrom: from(workerenv.TLSCertFile),
		KeyPEM: secret.Data[workerenv.TLSKeyFile], KeyFrom: from(workerenv.TLSKeyFile),
	}
	if t.CAPEM == nil && t.CertPEM == nil {
		return t, fmt.Errorf("secret %q in namespace %q has neither %s nor %s: %s wants a Secret with the CA's certificate (%s) and/or a client certificate (%s, %s)",
			name, namespace, workerenv.TLSCAFile, workerenv.TLSCertFile, flag, workerenv.TLSCAFile, workerenv.TLSCertFile, workerenv.TLSKeyFile)
	}
	return t, nil
}

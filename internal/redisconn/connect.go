// Package redisconn is how the CLI reaches the queue's Redis: directly at a
// URL (given, or read from a Secret), or, like `kubectl port-forward svc/redis
// :6379`, through a port-forward to a ready pod behind a Service. Passwords,
// ACL users and TLS material come from flags, Secrets or the environment;
// the connection itself is internal/redisclient's, which the worker binary
// shares. It knows nothing of the queue: it hands back a go-redis client.
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redisclient"
)

// Defaults of Options.Service and Options.Port.
const (
	DefaultService = "redis"
	DefaultPort    = "6379"
)

var quietOnce sync.Once

// pingTimeout bounds the first PING that proves the connection works.
const pingTimeout = 5 * time.Second

// Options say how to reach Redis; they mirror the --redis-* flags.
type Options struct {
	// URL is one of redisclient.URLForms. When it (or URLSecret) is set, no
	// port-forward is made.
	URL string
	// URLSecret is NAME[:KEY] of a Secret holding the URL (KEY defaults to
	// manifest.URLSecretKey).
	URLSecret string
	// Namespace of the Service, the pods and the Secrets ("" = "default").
	Namespace string
	// Service in front of Redis ("" = DefaultService).
	Service string
	// Port is the Service's port, by number or name ("" = DefaultPort).
	Port string
	// PasswordSecret is NAME[:KEY] of the Secret holding the password; see
	// ResolvePassword for what "" means.
	PasswordSecret string
	// CAFile, CertFile and KeyFile are PEM files (--redis-ca, --redis-cert,
	// --redis-key); TLSSecret names a Secret holding the same as ca.crt,
	// tls.crt and tls.key (--redis-tls-secret).
	CAFile, CertFile, KeyFile string
	TLSSecret                 string
	// InsecureSkipVerify accepts any server certificate.
	InsecureSkipVerify bool
}

// NeedsKubernetes reports whether Connect needs the Kubernetes clients: for
// a port-forward, or to read a Secret.
func (o Options) NeedsKubernetes() bool {
	return o.URL == "" || o.URLSecret != "" || o.TLSSecret != "" || o.PasswordSecret != ""
}

// Conn is a working connection to Redis.
type Conn struct {
	// Client is go-redis' client: for a Redis Cluster a *redis.ClusterClient.
	Client redis.UniversalClient
	// Mode says whether Client talks to one Redis, a Cluster, or a master
	// found through Sentinel.
	Mode redisclient.Mode
	// Target names what Client talks to, for messages (Conn.Addr).
	Target
	// Close closes Client and stops the port-forward, if any.
	Close func() error

	forwardErr func() error // the port-forward's last error; nil without one
}

// Connect reaches Redis as o says, checks it answers PING, and returns the
// client. kube and restConfig may be nil unless o.NeedsKubernetes(). ctx
// bounds connecting; a port-forward lives on until Conn.Close. errOut
// hears, in one line, of a port-forward that stops after Connect returned.
// Errors are one line and name the fix (see Target.Explain).
//
// Connect turns off go-redis's own logging for the whole process: it would
// print "redis: ... connection pool: failed to dial" lines on stderr, while
// the same errors reach the caller, explained.
func Connect(ctx context.Context, o Options, kube kubernetes.Interface, restConfig *rest.Config, errOut io.Writer) (*Conn, error) {
	quietOnce.Do(logging.Disable)
	if o.NeedsKubernetes() && kube == nil {
		return nil, errors.New("redisconn: a Kubernetes client is needed to read Secrets or port-forward")
	}
	if o.Namespace == "" {
		o.Namespace = metav1.NamespaceDefault
	}
	if o.URL != "" && o.URLSecret != "" {
		return nil, errors.New("give --redis-url or --redis-url-secret, not both")
	}
	if o.TLSSecret != "" && (o.CAFile != "" || o.CertFile != "" || o.KeyFile != "") {
		return nil, errors.New("give the TLS files with --redis-ca/--redis-cert/--redis-key or --redis-tls-secret, not both")
	}
	if o.URL != "" || o.URLSecret != "" {
		return connectURL(ctx, o, kube)
	}
	if restConfig == nil {
		return nil, errors.New("redisconn: a REST config is needed to port-forward")
	}
	return connectService(ctx, o, kube, restConfig, errOut)
}

func connectURL(ctx context.Context, o Options, kube kubernetes.Interface) (*Conn, error) {
	rawURL, flag := o.URL, "--redis-url"
	if o.URLSecret != "" {
		var err error
		if rawURL, err = urlFromSecret(ctx, kube, o.Namespace, o.URLSecret); err != nil {
			return nil, err
		}
		flag = "the URL in --redis-url-secret " + o.URLSecret
	}
	ep, err := redisclient.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("invalid %s: %w", flag, err)
	}
	tls, err := o.tls(ctx, kube)
	if err != nil {
		return nil, err
	}
	t := Target{Addr: ep.Describe(), TLS: ep.TLS}
	cfg := redisclient.Config{TLS: tls}
	switch {
	case ep.Options.Password != "":
		t.PasswordFrom = "the URL"
	case o.PasswordSecret != "":
		creds, err := ResolvePassword(ctx, kube, o.Namespace, o.Service, o.PasswordSecret)
		if err != nil {
			return nil, err
		}
		cfg.Username, cfg.Password, t.PasswordFrom = creds.Username, creds.Password, creds.From
	default:
		creds := envPassword()
		cfg.Password, t.PasswordFrom = creds.Password, creds.From
	}
	return connect(ctx, ep, cfg, t, nil, nil)
}

func connectService(ctx context.Context, o Options, kube kubernetes.Interface, restConfig *rest.Config, errOut io.Writer) (*Conn, error) {
	namespace, service, port := o.Namespace, o.Service, o.Port
	if service == "" {
		service = DefaultService
	}
	if port == "" {
		port = DefaultPort
	}

	pod, podPort, err := ResolvePod(ctx, kube, namespace, service, port)
	if err != nil {
		return nil, err
	}
	creds, err := ResolvePassword(ctx, kube, namespace, service, o.PasswordSecret)
	if err != nil {
		return nil, err
	}
	tls, useTLS, err := o.serviceTLS(ctx, kube, service)
	if err != nil {
		return nil, err
	}
	f, err := startForward(ctx, restConfig, namespace, pod, podPort, errOut)
	if err != nil {
		return nil, err
	}

	scheme := "redis"
	if useTLS {
		scheme = "rediss"
		// The certificate is the Service's, not 127.0.0.1's.
		tls.ServerName = service + "." + namespace + ".svc"
	}
	ep, err := redisclient.Parse(scheme + "://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(int(f.localPort))))
	if err != nil {
		f.stop()
		return nil, err
	}
	t := Target{Addr: fmt.Sprintf("pod %s/%s port %d", namespace, pod, podPort), PasswordFrom: creds.From, PortForward: true, TLS: useTLS}
	cfg := redisclient.Config{Username: creds.Username, Password: creds.Password, TLS: tls, SingleNode: true}
	c, err := connect(ctx, ep, cfg, t, f.errs.err, f.stop)
	if err != nil {
		return nil, err
	}
	f.warn.Store(true)
	return c, nil
}

// connect makes the client and proves it works; stop (if any) ends what
// carries the connection (a port-forward), also when connecting fails.
func connect(ctx context.Context, ep *redisclient.Endpoint, cfg redisclient.Config, t Target, forwardErr func() error, stop func()) (*Conn, error) {
	c := &Conn{Target: t, forwardErr: forwardErr}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	cl, err := redisclient.ConnectEndpoint(pctx, ep, cfg)
	if err != nil {
		if stop != nil {
			stop()
		}
		if e := redisclient.ExplainTLS(err, t.Addr, t.TLS); e != nil && !errors.Is(err, context.Canceled) {
			return nil, e
		}
		return nil, c.Explain(err)
	}
	c.Client, c.Mode = cl.Redis, cl.Mode
	c.Close = func() error {
		err := cl.Redis.Close()
		if stop != nil {
			stop()
		}
		return err
	}
	return c, nil
}

// Explain is Target.Explain, and also, when a port-forward failed (say, Redis
// refused the connection inside the pod), it reports that cause rather than
// the bare EOF the client saw.
func (c *Conn) Explain(err error) error {
	var rerr redis.Error
	if err != nil && c.forwardErr != nil && !errors.As(err, &rerr) && !errors.Is(err, context.Canceled) {
		if ferr := c.forwardErr(); ferr != nil {
			if IsConnRefused(ferr) {
				return c.Target.Explain(ferr)
			}
			return explained(err, "port-forward to %s failed: %v", c.Addr, ferr)
		}
	}
	return c.Target.Explain(err)
}

// urlFromSecret reads the URL of --redis-url-secret NAME[:KEY].
func urlFromSecret(ctx context.Context, kube kubernetes.Interface, namespace, ref string) (string, error) {
	r, err := ParseURLSecretRef(ref)
	if err != nil {
		return "", err
	}
	secret, err := getSecret(ctx, kube, namespace, r.Name, "the Redis URL")
	if err != nil {
		return "", err
	}
	value, err := secretKey(secret, r.Key, "--redis-url-secret")
	if err != nil {
		return "", err
	}
	return string(value), nil
}

// ParseURLSecretRef parses --redis-url-secret's "NAME[:KEY]"; KEY defaults
// to manifest.URLSecretKey.
func ParseURLSecretRef(ref string) (SecretRef, error) {
	return parseRef("--redis-url-secret", ref, manifest.URLSecretKey)
}

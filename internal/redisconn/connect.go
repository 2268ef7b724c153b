// Package redisconn is how the CLI reaches the queue's Redis: directly at a
// URL, or, like `kubectl port-forward svc/redis :6379`, through a port-forward
// to a ready pod behind a Service. It knows nothing of the queue: it hands
// back a go-redis client.
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
	"github.com/redis/go-redis/v9/maintnotifications"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
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
	// URL is redis://[user:password@]host:port[/db]. When set, Kubernetes is
	// not used at all.
	URL string
	// Namespace of the Service, the pods and the password Secret ("" = "default").
	Namespace string
	// Service in front of Redis ("" = DefaultService).
	Service string
	// Port is the Service's port, by number or name ("" = DefaultPort).
	Port string
	// PasswordSecret is NAME[:KEY] of the Secret holding the password; see
	// ResolvePassword for what "" means.
	PasswordSecret string
}

// Conn is a working connection to Redis.
type Conn struct {
	Client *redis.Client
	// Target names what Client talks to, for messages (Conn.Addr).
	Target
	// Close closes Client and stops the port-forward, if any.
	Close func() error

	forwardErr func() error // the port-forward's last error; nil without one
}

// Connect reaches Redis as o says, checks it answers PING, and returns the
// client. In URL mode kube and restConfig are not used and may be nil.
// ctx bounds connecting; a port-forward lives on until Conn.Close. errOut
// hears, in one line, of a port-forward that stops after Connect returned.
// Errors are one line and name the fix (see Target.Explain).
//
// Connect turns off go-redis's own logging for the whole process: it would
// print "redis: ... connection pool: failed to dial" lines on stderr, while
// the same errors reach the caller, explained.
func Connect(ctx context.Context, o Options, kube kubernetes.Interface, restConfig *rest.Config, errOut io.Writer) (*Conn, error) {
	quietOnce.Do(logging.Disable)
	if o.URL != "" {
		return connectURL(ctx, o.URL)
	}
	if kube == nil || restConfig == nil {
		return nil, errors.New("redisconn: a Kubernetes client is needed unless a Redis URL is given")
	}
	return connectService(ctx, o, kube, restConfig, errOut)
}

func connectURL(ctx context.Context, rawURL string) (*Conn, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		// url.Error repeats the URL, password included.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("invalid --redis-url: %w", err)
	}
	t := Target{Addr: opts.Addr}
	switch {
	case opts.Password != "":
		t.PasswordFrom = "the URL"
	case os.Getenv(PasswordEnv) != "":
		opts.Password = os.Getenv(PasswordEnv)
		t.PasswordFrom = "$" + PasswordEnv
	}
	c := &Conn{Client: newClient(opts), Target: t}
	c.Close = c.Client.Close
	if err := c.ping(ctx); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

func connectService(ctx context.Context, o Options, kube kubernetes.Interface, restConfig *rest.Config, errOut io.Writer) (*Conn, error) {
	namespace, service, port := o.Namespace, o.Service, o.Port
	if namespace == "" {
		namespace = metav1.NamespaceDefault
	}
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
	password, from, err := ResolvePassword(ctx, kube, namespace, service, o.PasswordSecret)
	if err != nil {
		return nil, err
	}
	f, err := startForward(ctx, restConfig, namespace, pod, podPort, errOut)
	if err != nil {
		return nil, err
	}

	client := newClient(&redis.Options{
		Addr:     net.JoinHostPort("127.0.0.1", strconv.Itoa(int(f.localPort))),
		Password: password,
	})
	c := &Conn{
		Client:     client,
		Target:     Target{Addr: fmt.Sprintf("pod %s/%s port %d", namespace, pod, podPort), PasswordFrom: from, PortForward: true},
		forwardErr: f.errs.err,
	}
	c.Close = func() error {
		err := client.Close()
		f.stop()
		return err
	}
	if err := c.ping(ctx); err != nil {
		_ = c.Close()
		return nil, err
	}
	f.warn.Store(true)
	return c, nil
}

func newClient(opts *redis.Options) *redis.Client {
	// A single Redis, maybe behind a port-forward: never follow the server
	// to another endpoint.
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return redis.NewClient(opts)
}

func (c *Conn) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	return c.Explain(c.Client.Ping(ctx).Err())
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

package redisconn

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
)

func TestConnectURL(t *testing.T) {
	open := redistest.Start(t)
	locked := redistest.Start(t, "--requirepass", "s3cret")
	refused := closedPort(t)

	for _, tc := range []struct {
		name    string
		url     string
		env     string // $REDISCLI_AUTH
		wantErr string // with ADDR standing for the server's address
	}{
		{name: "no password", url: "redis://" + open},
		{name: "no password, database", url: "redis://" + open + "/3"},
		{name: "password in URL", url: "redis://:s3cret@" + locked, env: "wrong"},
		{name: "password from environment", url: "redis://" + locked, env: "s3cret"},
		{
			name:    "password missing",
			url:     "redis://" + locked,
			wantErr: "Redis at ADDR requires a password: pass --redis-password-secret NAME[:KEY] or set REDISCLI_AUTH",
		},
		{
			name:    "wrong password in URL",
			url:     "redis://:nope@" + locked,
			wantErr: "Redis at ADDR rejected the password from the URL",
		},
		{
			name:    "wrong password in environment",
			url:     "redis://" + locked,
			env:     "nope",
			wantErr: "Redis at ADDR rejected the password from $REDISCLI_AUTH",
		},
		{
			name:    "connection refused",
			url:     "redis://" + refused,
			wantErr: "cannot connect to Redis at ADDR: connection refused; is Redis running and listening there?",
		},
		{
			name:    "not a redis URL",
			url:     "http://" + open,
			wantErr: "invalid --redis-url: redis: invalid URL scheme: http",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(PasswordEnv, tc.env)
			// kube is nil: URL mode must not touch Kubernetes.
			conn, err := Connect(context.Background(), Options{URL: tc.url}, nil, nil, io.Discard)
			host := tc.url[strings.Index(tc.url, "://")+3:]
			host = host[strings.LastIndex(host, "@")+1:]
			host, _, _ = strings.Cut(host, "/")
			if tc.wantErr != "" {
				want := strings.ReplaceAll(tc.wantErr, "ADDR", host)
				if err == nil {
					_ = conn.Close()
					t.Fatalf("Connect succeeded, want error %q", want)
				}
				if err.Error() != want {
					t.Fatalf("err = %v\nwant   %s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			if conn.Addr != host {
				t.Errorf("Addr = %q, want %q", conn.Addr, host)
			}
			ctx := context.Background()
			if err := conn.Client.Set(ctx, "k", "v", 0).Err(); err != nil {
				t.Fatalf("SET: %v", err)
			}
			if got, err := conn.Client.Get(ctx, "k").Result(); err != nil || got != "v" {
				t.Fatalf("GET = %q, %v", got, err)
			}
			if err := conn.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := conn.Client.Ping(ctx).Err(); err == nil {
				t.Fatal("client still works after Close")
			}
		})
	}
}

func TestConnectURLHidesPasswordInParseErrors(t *testing.T) {
	_, err := Connect(context.Background(), Options{URL: "redis://:hunter2@localhost:notaport"}, nil, nil, io.Discard)
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.HasPrefix(err.Error(), "invalid --redis-url: ") {
		t.Fatalf("err = %v, want an invalid-URL error without the password", err)
	}
}

func TestConnectServiceNeedsKubernetes(t *testing.T) {
	_, err := Connect(context.Background(), Options{Namespace: ns}, nil, nil, io.Discard)
	if err == nil {
		t.Fatal("Connect without URL or Kubernetes client succeeded")
	}
}

// The resolution and password errors reach the caller unchanged, before any
// port-forward is tried.
func TestConnectServiceErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		objects []runtime.Object
		opts    Options
		wantErr string
	}{
		{
			name:    "defaults: service redis, port 6379",
			objects: []runtime.Object{namespace(ns)},
			opts:    Options{Namespace: ns},
			wantErr: `service "redis" not found in namespace "jobs": create it with 'kubectl workqueue init' or pass --redis-service/--redis-url`,
		},
		{
			name:    "explicit secret missing",
			objects: []runtime.Object{namespace(ns), service("redis", selector, svcPort("redis", 6379, intstr.FromInt32(6379))), pod("redis-a", 0)},
			opts:    Options{Namespace: ns, PasswordSecret: "creds"},
			wantErr: `secret "creds" not found in namespace "jobs"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kube := fake.NewClientset(tc.objects...)
			_, err := Connect(context.Background(), tc.opts, kube, &rest.Config{Host: "https://127.0.0.1:1"}, io.Discard)
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("err = %v\nwant   %s", err, tc.wantErr)
			}
		})
	}
}

// closedPort returns a loopback address on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

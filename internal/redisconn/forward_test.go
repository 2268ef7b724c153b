package redisconn

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	corev1 "k8s.io/api/core/v1"
	apihttpstream "k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/httpstream/spdy"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
)

// fakePortForward stands in for the API server and kubelet behind
// pods/portforward: it speaks SPDY (not websockets, so the client must fall
// back as it would against an older cluster) and connects every forwarded
// stream to target.
type fakePortForward struct {
	target     string
	stop       chan struct{} // closed by dropAll: drop every port-forward connection
	dropAll    func()
	websockets atomic.Int32 // websocket upgrade attempts seen
	mu         sync.Mutex
	paths      []string
}

func startFakePortForward(t *testing.T, target string) (*fakePortForward, *rest.Config) {
	t.Helper()
	k := &fakePortForward{target: target, stop: make(chan struct{})}
	srv := httptest.NewServer(k)
	var once sync.Once
	k.dropAll = func() { once.Do(func() { close(k.stop) }) }
	t.Cleanup(func() {
		k.dropAll()
		srv.Close()
	})
	return k, &rest.Config{Host: srv.URL}
}

func (k *fakePortForward) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		k.websockets.Add(1)
		http.Error(w, "websockets are not supported here", http.StatusBadRequest)
		return
	}
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/portforward") {
		http.NotFound(w, r)
		return
	}
	k.mu.Lock()
	k.paths = append(k.paths, r.URL.Path)
	k.mu.Unlock()
	if _, err := apihttpstream.Handshake(r, w, []string{"portforward.k8s.io"}); err != nil {
		return
	}
	streams := make(chan apihttpstream.Stream, 16)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(s apihttpstream.Stream, _ <-chan struct{}) error {
		streams <- s
		return nil
	})
	if conn == nil {
		return
	}
	defer conn.Close()
	errorStreams := map[string]apihttpstream.Stream{}
	for {
		select {
		case <-k.stop:
			return
		case <-conn.CloseChan():
			return
		case s := <-streams:
			id := s.Headers().Get(corev1.PortForwardRequestIDHeader)
			switch s.Headers().Get(corev1.StreamType) {
			case corev1.StreamTypeError:
				errorStreams[id] = s
			case corev1.StreamTypeData:
				go k.forward(s, errorStreams[id], s.Headers().Get(corev1.PortHeader))
				delete(errorStreams, id)
			}
		}
	}
}

// forward copies between one data stream and target, reporting a failed dial
// on the error stream the way the kubelet does.
func (k *fakePortForward) forward(data, errStream apihttpstream.Stream, port string) {
	defer data.Close()
	defer errStream.Close()
	c, err := net.Dial("tcp", k.target)
	if err != nil {
		fmt.Fprintf(errStream, "error forwarding port %s to pod redis-a: failed to connect to localhost:%s inside namespace: %v", port, port, err)
		return
	}
	defer c.Close()
	go func() {
		_, _ = io.Copy(c, data)
		_ = c.(*net.TCPConn).CloseWrite()
	}()
	_, _ = io.Copy(data, c)
}

func (k *fakePortForward) requestedPaths() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.paths...)
}

// redisCluster is a namespace with the Service, pod and Secret that 'init'
// makes, the Service's targetPort named as in the pod.
func redisCluster(password string) *fake.Clientset {
	return fake.NewClientset(
		namespace(ns),
		service("redis", selector, svcPort("redis", 6379, intstr.FromString("redis"))),
		pod("redis-a", time.Hour),
		secret(manifest.PasswordSecretName("redis"), map[string]string{manifest.PasswordSecretKey: password}),
	)
}

func TestConnectThroughPortForward(t *testing.T) {
	addr := redistest.Start(t, "--requirepass", "s3cret")
	k, config := startFakePortForward(t, addr)
	errOut := &redistest.SyncBuffer{}

	conn, err := Connect(context.Background(), Options{Namespace: ns}, redisCluster("s3cret"), config, errOut)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer conn.Close()

	want := Target{Addr: "pod jobs/redis-a port 6379", PasswordFrom: "secret jobs/redis-auth key password", PortForward: true}
	if conn.Target != want {
		t.Errorf("Target = %+v, want %+v", conn.Target, want)
	}
	if got := k.requestedPaths(); len(got) != 1 || got[0] != "/api/v1/namespaces/jobs/pods/redis-a/portforward" {
		t.Errorf("port-forward requests = %q", got)
	}
	if k.websockets.Load() == 0 {
		t.Errorf("websockets were not tried first")
	}
	local := conn.Client.(*redis.Client).Options().Addr
	if !strings.HasPrefix(local, "127.0.0.1:") {
		t.Errorf("client address = %q, want 127.0.0.1:<port>", local)
	}

	ctx := context.Background()
	for i := 0; i < 3; i++ { // several commands, over fresh and pooled connections
		if err := conn.Client.Set(ctx, "k", i, 0).Err(); err != nil {
			t.Fatalf("SET through the port-forward: %v", err)
		}
	}
	if got, err := conn.Client.Get(ctx, "k").Result(); err != nil || got != "2" {
		t.Fatalf("GET = %q, %v", got, err)
	}

	if err := conn.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if c, err := net.Dial("tcp", local); err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections after Close", local)
	}
	if s := errOut.String(); s != "" {
		t.Errorf("errOut = %q, want nothing", s)
	}
}

func TestConnectThroughPortForwardSPDYOnly(t *testing.T) {
	t.Setenv("KUBECTL_PORT_FORWARD_WEBSOCKETS", "false")
	addr := redistest.Start(t)
	k, config := startFakePortForward(t, addr)
	conn, err := Connect(context.Background(), Options{Namespace: ns}, redisCluster(""), config, io.Discard)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer conn.Close()
	if n := k.websockets.Load(); n != 0 {
		t.Errorf("%d websocket attempts with KUBECTL_PORT_FORWARD_WEBSOCKETS=false", n)
	}
}

func TestConnectThroughPortForwardErrors(t *testing.T) {
	addr := redistest.Start(t, "--requirepass", "s3cret")
	for _, tc := range []struct {
		name     string
		password string
		target   string // "" = the redis-server
		wantErr  string
	}{
		{
			name:     "wrong password",
			password: "nope",
			wantErr:  "Redis at pod jobs/redis-a port 6379 rejected the password from secret jobs/redis-auth key password",
		},
		{
			name:     "nothing listens in the pod",
			password: "s3cret",
			target:   closedPort(t),
			wantErr:  "cannot connect to Redis at pod jobs/redis-a port 6379: connection refused; is the Redis pod running?",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := tc.target
			if target == "" {
				target = addr
			}
			_, config := startFakePortForward(t, target)
			errOut := &redistest.SyncBuffer{}
			_, err := Connect(context.Background(), Options{Namespace: ns}, redisCluster(tc.password), config, errOut)
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("err = %v\nwant   %s", err, tc.wantErr)
			}
			if s := errOut.String(); s != "" {
				t.Errorf("errOut = %q, want nothing: the error says it all", s)
			}
		})
	}
}

func TestConnectAPIServerUnreachable(t *testing.T) {
	config := &rest.Config{Host: "http://" + closedPort(t)}
	_, err := Connect(context.Background(), Options{Namespace: ns}, redisCluster(""), config, io.Discard)
	const want = "port-forward to pod jobs/redis-a port 6379: error upgrading connection"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %v, want it to start with %q", err, want)
	}
}

func TestPortForwardLostAfterConnect(t *testing.T) {
	addr := redistest.Start(t)
	k, config := startFakePortForward(t, addr)
	errOut := &redistest.SyncBuffer{}
	conn, err := Connect(context.Background(), Options{Namespace: ns}, redisCluster(""), config, errOut)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer conn.Close()

	k.dropAll()
	const want = "warning: port-forward to pod jobs/redis-a port 6379 stopped: lost connection to pod\n"
	redistest.WaitFor(t, 10*time.Second, "the port-forward's error output", func() bool { return errOut.String() != "" })
	if got := errOut.String(); got != want {
		t.Fatalf("errOut = %q, want %q", got, want)
	}

	err = conn.Explain(conn.Client.Ping(context.Background()).Err())
	if err == nil || err.Error() != "port-forward to pod jobs/redis-a port 6379 failed: lost connection to pod" {
		t.Fatalf("Explain(Ping) = %v", err)
	}
}

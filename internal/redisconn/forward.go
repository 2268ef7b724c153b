package redisconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/httpstream"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/klog/v2"
	streamhttp "k8s.io/streaming/pkg/httpstream"
)

// forwarder is a running port-forward from 127.0.0.1:localPort to a pod port.
type forwarder struct {
	localPort uint16
	stop      func() // stops the forward and waits for it to end; idempotent
	errs      *errorSink
	warn      *atomic.Bool // whether to tell errOut when the forward ends on its own
}

// startForward forwards an ephemeral local port on 127.0.0.1 to podPort of
// the pod, like `kubectl port-forward pod/NAME :PORT`, and returns once it
// listens. ctx bounds only the set-up; the forward runs until stop. Once warn
// is set, a forward that ends on its own says so in one line on errOut.
func startForward(ctx context.Context, config *rest.Config, namespace, pod string, podPort int32, errOut io.Writer) (*forwarder, error) {
	core, err := corev1client.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	u := core.RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward").URL()
	dialer, err := newDialer(config, u)
	if err != nil {
		return nil, err
	}

	// client-go reports forwarding errors through the context's logger; keep
	// them for Conn.Explain instead of printing klog lines.
	sink := &errorSink{}
	fctx, cancel := context.WithCancel(klog.NewContext(context.WithoutCancel(ctx), logr.New(sink)))
	ready := make(chan struct{})
	// "Forwarding from ..." and "Handling connection ..." go nowhere.
	pf, err := portforward.NewOnAddressesWithContext(fctx, dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", podPort)}, ready, io.Discard, io.Discard)
	if err != nil {
		cancel()
		return nil, err
	}

	where := fmt.Sprintf("pod %s/%s port %d", namespace, pod, podPort)
	warn := new(atomic.Bool)
	failed := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := pf.ForwardPorts()
		select {
		case <-ready:
			if err != nil && fctx.Err() == nil {
				sink.recordFirst(err)
				if warn.Load() && errOut != nil {
					fmt.Fprintf(errOut, "warning: port-forward to %s stopped: %v\n", where, sink.err())
				}
			}
		default:
			failed <- err
		}
	}()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }

	select {
	case <-ready:
	case err := <-failed:
		stop()
		if err == nil {
			err = errors.New("stopped before it was ready")
		}
		return nil, fmt.Errorf("port-forward to %s: %w", where, err)
	case <-ctx.Done():
		// Dialing takes no context: let it finish in the background; the
		// cancelled forward then stops at once.
		cancel()
		return nil, ctx.Err()
	}
	ports, err := pf.GetPorts()
	if err != nil || len(ports) != 1 {
		stop()
		return nil, fmt.Errorf("port-forward to %s: no local port (%v)", where, err)
	}
	return &forwarder{localPort: ports[0].Local, stop: stop, errs: sink, warn: warn}, nil
}

// newDialer dials like kubectl port-forward: websockets first, falling back to
// SPDY when the server cannot upgrade; KUBECTL_PORT_FORWARD_WEBSOCKETS=false
// means SPDY only, as it does for kubectl.
//
// Since v0.37 client-go's websocket dialer fails with k8s.io/streaming's
// UpgradeFailureError, which apimachinery's httpstream.IsUpgradeFailure does
// not recognize; checking only that one would never fall back.
func newDialer(config *rest.Config, u *url.URL) (httpstream.Dialer, error) {
	transport, upgrader, err := spdy.RoundTripperFor(config)
	if err != nil {
		return nil, err
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	if strings.EqualFold(os.Getenv("KUBECTL_PORT_FORWARD_WEBSOCKETS"), "false") {
		return dialer, nil
	}
	tunneling, err := portforward.NewSPDYOverWebsocketDialer(u, config)
	if err != nil {
		return nil, err
	}
	return portforward.NewFallbackDialer(tunneling, dialer, func(err error) bool {
		return streamhttp.IsUpgradeFailure(err) || httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	}), nil
}

// errorSink is a logr.LogSink that keeps the last error logged and drops the rest.
type errorSink struct {
	mu   sync.Mutex
	last error
}

func (s *errorSink) record(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = err
}

// recordFirst records err unless an error is already recorded.
func (s *errorSink) recordFirst(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.last = err
	}
}

// err returns the last error the port-forward reported, or nil.
func (s *errorSink) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

func (s *errorSink) Init(logr.RuntimeInfo)          {}
func (s *errorSink) Enabled(int) bool               { return false }
func (s *errorSink) Info(int, string, ...any)       {}
func (s *errorSink) WithValues(...any) logr.LogSink { return s }
func (s *errorSink) WithName(string) logr.LogSink   { return s }
func (s *errorSink) Error(err error, msg string, _ ...any) {
	if err == nil {
		err = errors.New(msg)
	}
	s.record(err)
}

package redisconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/go-logr/logr"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
)

// redisReply stands in for an error reply from the server.
type redisReply string

func (e redisReply) Error() string { return string(e) }
func (redisReply) RedisError()     {}

func TestExplain(t *testing.T) {
	refused := fmt.Errorf("dial tcp 127.0.0.1:1: connect: %w", syscall.ECONNREFUSED)
	direct := Target{Addr: "10.0.0.1:6379"}
	viaPod := Target{Addr: "pod jobs/redis-a port 6379", PasswordFrom: "secret jobs/redis-auth key password", PortForward: true}
	for _, tc := range []struct {
		name   string
		target Target
		err    error
		want   string
	}{
		{"refused, direct", direct, refused, "cannot connect to Redis at 10.0.0.1:6379: connection refused; is Redis running and listening there?"},
		{"refused, pod", viaPod, refused, "cannot connect to Redis at pod jobs/redis-a port 6379: connection refused; is the Redis pod running?"},
		{"noauth", viaPod, redisReply("NOAUTH Authentication required."), "Redis at pod jobs/redis-a port 6379 requires a password: pass --redis-password-secret NAME[:KEY] or set REDISCLI_AUTH"},
		{"wrongpass", viaPod, redisReply("WRONGPASS invalid username-password pair or user is disabled."), "Redis at pod jobs/redis-a port 6379 rejected the password from secret jobs/redis-auth key password"},
		{"old redis wrong password", direct, redisReply("ERR invalid password"), "Redis at 10.0.0.1:6379 rejected the password from the client"},
		{"timeout", direct, context.DeadlineExceeded, "Redis at 10.0.0.1:6379 did not answer in time: context deadline exceeded"},
		{"other", direct, redisReply("ERR unknown command"), "redis at 10.0.0.1:6379: ERR unknown command"},
		{"not an auth error in words only", direct, errors.New("NOAUTH lookalike from elsewhere"), "redis at 10.0.0.1:6379: NOAUTH lookalike from elsewhere"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.target.Explain(tc.err)
			if got.Error() != tc.want {
				t.Fatalf("Explain = %q\nwant      %q", got, tc.want)
			}
			if !errors.Is(got, tc.err) {
				t.Errorf("Explain(err) does not wrap err")
			}
		})
	}
	if err := direct.Explain(nil); err != nil {
		t.Errorf("Explain(nil) = %v", err)
	}
	if err := direct.Explain(context.Canceled); err != context.Canceled {
		t.Errorf("Explain(Canceled) = %v, want it unchanged", err)
	}
}

func TestConnExplainUsesPortForwardError(t *testing.T) {
	sink := &errorSink{}
	logger := logr.New(sink)
	c := &Conn{Target: Target{Addr: "pod jobs/redis-a port 6379", PortForward: true}, forwardErr: sink.err}

	if got := c.Explain(io.EOF).Error(); got != "redis at pod jobs/redis-a port 6379: EOF" {
		t.Fatalf("without a forward error: %q", got)
	}

	// What the kubelet says when nothing listens on the port inside the pod,
	// reported the way client-go's port-forward reports it.
	utilruntime.HandleErrorWithLogger(logger, errors.New("error forwarding port 6379 to pod 1234, uid : failed to execute portforward in network namespace \"/var/run/netns/cni-1\": failed to connect to localhost:6379 inside namespace \"1234\", IPv4: dial tcp4 127.0.0.1:6379: connect: connection refused"), "An error occurred forwarding")
	want := "cannot connect to Redis at pod jobs/redis-a port 6379: connection refused; is the Redis pod running?"
	if got := c.Explain(io.EOF).Error(); got != want {
		t.Fatalf("Explain = %q\nwant      %q", got, want)
	}
	// Replies from Redis itself are not the port-forward's fault.
	if got := c.Explain(redisReply("NOAUTH Authentication required.")).Error(); got != "Redis at pod jobs/redis-a port 6379 requires a password: pass --redis-password-secret NAME[:KEY] or set REDISCLI_AUTH" {
		t.Fatalf("Explain(NOAUTH) = %q", got)
	}

	sink.record(errors.New("lost connection to pod"))
	if got := c.Explain(io.EOF).Error(); got != "port-forward to pod jobs/redis-a port 6379 failed: lost connection to pod" {
		t.Fatalf("Explain = %q", got)
	}
}

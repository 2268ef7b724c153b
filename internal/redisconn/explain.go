package redisconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// Target describes the Redis a client talks to, so that errors can name it
// and the fix.
type Target struct {
	// Addr is what we connected to: "host:port", or "pod NS/NAME port N"
	// when Redis is reached through a port-forward.
	Addr string
	// PasswordFrom says where the password came from ("secret NS/NAME key
	// KEY", "$REDISCLI_AUTH", "the URL"); empty when no password is sent.
	PasswordFrom string
	// PortForward is set when Redis is reached through a port-forward to a pod.
	PortForward bool
	// TLS is set when the client speaks TLS.
	TLS bool
}

// Explain turns a connection-level Redis error into a one-line message that
// names the fix: connection refused, missing or rejected password, timeout.
// Other errors are wrapped with the address. The result wraps err, so
// errors.Is and errors.As still see it; nil and context.Canceled pass through.
func (t Target) Explain(err error) error {
	switch {
	case err == nil || errors.Is(err, context.Canceled):
		return err
	case IsNoAuth(err):
		return explained(err, "Redis at %s requires a password: pass --redis-password-secret NAME[:KEY] or set %s", t.Addr, PasswordEnv)
	case IsWrongPass(err):
		from := t.PasswordFrom
		if from == "" {
			from = "the client"
		}
		return explained(err, "Redis at %s rejected the password from %s", t.Addr, from)
	case IsConnRefused(err):
		hint := "is Redis running and listening there?"
		if t.PortForward {
			hint = "is the Redis pod running?"
		}
		return explained(err, "cannot connect to Redis at %s: connection refused; %s", t.Addr, hint)
	case IsTimeout(err):
		return explained(err, "Redis at %s did not answer in time: %v", t.Addr, err)
	default:
		return fmt.Errorf("redis at %s: %w", t.Addr, err)
	}
}

// IsNoAuth reports whether Redis refused a command because no password was sent.
func IsNoAuth(err error) bool { return redisErrorHasPrefix(err, "NOAUTH") }

// IsWrongPass reports whether Redis rejected the password that was sent.
func IsWrongPass(err error) bool {
	return redisErrorHasPrefix(err, "WRONGPASS") || redisErrorHasPrefix(err, "ERR invalid password")
}

// IsConnRefused reports whether the connection to Redis was refused, locally
// or, through a port-forward, inside the pod.
func IsConnRefused(err error) bool {
	return err != nil && (errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(err.Error(), "connection refused"))
}

// IsTimeout reports whether err is a deadline or a network timeout.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func redisErrorHasPrefix(err error, prefix string) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), prefix)
}

// explainedError is a one-line message for the user that still wraps the cause.
type explainedError struct {
	msg string
	err error
}

func explained(err error, format string, args ...any) error {
	return &explainedError{msg: fmt.Sprintf(format, args...), err: err}
}

func (e *explainedError) Error() string { return e.msg }
func (e *explainedError) Unwrap() error { return e.err }

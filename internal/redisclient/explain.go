package redisclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// IsTLSProblem reports whether err is a failure of TLS that trying again
// cannot mend: a certificate that is not trusted, not valid or not for the
// name connected to, a server that does not speak TLS, or a client
// certificate the server refused.
func IsTLSProblem(err error) bool {
	var (
		unknownCA x509.UnknownAuthorityError
		badName   x509.HostnameError
		invalid   x509.CertificateInvalidError
		notTLS    tls.RecordHeaderError
	)
	return err != nil && (errors.As(err, &unknownCA) || errors.As(err, &badName) || errors.As(err, &invalid) ||
		errors.As(err, &notTLS) || refusedClientCert(err.Error()))
}

func refusedClientCert(msg string) bool {
	return strings.Contains(msg, "certificate required") || strings.Contains(msg, "bad certificate") ||
		strings.Contains(msg, "unknown certificate authority") || strings.Contains(msg, "handshake failure")
}

// ExplainTLS words a failure to connect that TLS settings can fix, naming
// the flag to use (the CLI and the worker have the same TLS flags). It
// returns nil when err is not such a failure. tlsUsed says whether the
// client spoke TLS.
func ExplainTLS(err error, addr string, tlsUsed bool) error {
	if err == nil {
		return nil
	}
	var (
		unknownCA x509.UnknownAuthorityError
		badName   x509.HostnameError
		invalid   x509.CertificateInvalidError
		notTLS    tls.RecordHeaderError
	)
	msg := err.Error()
	switch {
	case errors.As(err, &unknownCA):
		return &explained{fmt.Sprintf("Redis at %s presented a certificate signed by an unknown authority: pass the CA's certificate with --redis-ca FILE (or, to test only, --redis-insecure-skip-tls-verify)", addr), err}
	case errors.As(err, &badName):
		return &explained{fmt.Sprintf("the certificate of Redis at %s is not valid for the name connected to (%v): connect by a name the certificate holds", addr, badName.Error()), err}
	case errors.As(err, &invalid):
		return &explained{fmt.Sprintf("the certificate of Redis at %s is not valid: %v", addr, invalid.Error()), err}
	case errors.As(err, &notTLS):
		return &explained{fmt.Sprintf("Redis at %s does not speak TLS: use a redis:// URL, not rediss://", addr), err}
	case tlsUsed && refusedClientCert(msg):
		return &explained{fmt.Sprintf("Redis at %s did not accept the client certificate (%s): pass one its CA signed with --redis-cert FILE and --redis-key FILE", addr, strings.TrimPrefix(msg, "remote error: ")), err}
	case tlsUsed && isTimeout(err):
		// A plain Redis waits for the end of a command line that a TLS
		// handshake never sends.
		return &explained{fmt.Sprintf("Redis at %s did not complete a TLS handshake in time: if it speaks plain Redis there, use a redis:// URL, not rediss://", addr), err}
	case !tlsUsed && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)):
		return &explained{fmt.Sprintf("Redis at %s closed the connection at once: if it takes only TLS, use a rediss:// URL", addr), err}
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// explained is a one-line message for the user that still wraps the cause.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// ErrUnknownMaster is a Sentinel that monitors no master of the URL's name.
var ErrUnknownMaster = errors.New("unknown master")

// ErrSentinelAuth is the Sentinels refusing the client: they may have a
// password of their own, which is not the master's.
var ErrSentinelAuth = errors.New("Sentinel authentication failed")

// explainSentinel words a Sentinel's refusal of the client's password,
// which is not the master's: the two are given in different places of the
// URL. The Redis error is kept as text only, so that callers that word the
// master's password errors (NOAUTH, WRONGPASS) do not take it for one of
// those.
func explainSentinel(err error, ep *Endpoint) error {
	var rerr redis.Error
	if !redis.IsAuthError(err) || !errors.As(err, &rerr) {
		return err
	}
	addrs := strings.Join(ep.SentinelAddrs, ",")
	if ep.SentinelPassword == "" {
		return fmt.Errorf("%w: the Sentinels at %s want a password of their own: add ?sentinel_password=PASSWORD to the URL "+
			"(and &sentinel_username=USER for an ACL user); a password before the @ is the master's (%v)", ErrSentinelAuth, addrs, rerr)
	}
	return fmt.Errorf("%w: the Sentinels at %s rejected the URL's sentinel_password (and sentinel_username, if any) (%v)", ErrSentinelAuth, addrs, rerr)
}

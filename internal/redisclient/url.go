package redisclient

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Mode is the kind of Redis deployment a client talks to.
type Mode string

const (
	// Standalone is one Redis (maybe with replicas the client does not use).
	Standalone Mode = "standalone"
	// Cluster is a Redis Cluster: keys are spread over the masters by hash slot.
	Cluster Mode = "cluster"
	// Sentinel is a master found, and followed across failovers, through Sentinel.
	Sentinel Mode = "sentinel"
)

// Schemes of the Sentinel URL form.
const (
	SentinelScheme    = "redis+sentinel"
	SentinelTLSScheme = "rediss+sentinel"
)

// DefaultSentinelPort is Sentinel's port when a Sentinel URL names none.
const DefaultSentinelPort = "26379"

// URLForms documents the URLs Parse takes, for flag help and errors.
const URLForms = "redis[s]://[[USER]:PASSWORD@]HOST:PORT[/DB] (one Redis, or any node of a Redis Cluster), " +
	"or redis[s]+sentinel://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTER[/DB]"

// Endpoint is a parsed Redis URL.
type Endpoint struct {
	// Mode is Standalone or Sentinel; whether a Standalone endpoint is in
	// fact a node of a Redis Cluster is found out by connecting.
	Mode Mode
	// TLS is set for the rediss schemes.
	TLS bool
	// Options are those of one Redis (Standalone), or those of the master
	// and its replicas (Sentinel; Addr is then unused).
	Options *redis.Options
	// Sentinel mode: the master's name, the Sentinels' addresses and the
	// credentials of the Sentinels themselves (query parameters
	// sentinel_username and sentinel_password).
	Master                             string
	SentinelAddrs                      []string
	SentinelUsername, SentinelPassword string
}

// Parse reads a Redis URL (see URLForms). Its errors never repeat the
// password.
func Parse(rawURL string) (*Endpoint, error) {
	scheme, _, ok := strings.Cut(rawURL, "://")
	if !ok {
		// Without a scheme there is no telling where a password would be.
		return nil, fmt.Errorf("not a Redis URL: want %s", URLForms)
	}
	switch scheme {
	case SentinelScheme, SentinelTLSScheme:
		return parseSentinel(rawURL)
	}
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		// url.Error repeats the URL, password included.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, err
	}
	return &Endpoint{Mode: Standalone, TLS: opts.TLSConfig != nil, Options: opts}, nil
}

// parseSentinel reads redis[s]+sentinel://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]...]/MASTER[/DB].
// The credentials are the master's (and its replicas'), as in the other
// forms; Sentinels that want their own go in the query.
func parseSentinel(rawURL string) (*Endpoint, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, err
	}
	ep := &Endpoint{Mode: Sentinel, TLS: u.Scheme == SentinelTLSScheme, Options: &redis.Options{}}
	if u.User != nil {
		ep.Options.Username = u.User.Username()
		ep.Options.Password, _ = u.User.Password()
	}
	for _, hp := range strings.Split(u.Host, ",") {
		if hp == "" {
			return nil, fmt.Errorf("sentinel URL: empty address in the list of Sentinels")
		}
		host, port, err := net.SplitHostPort(hp)
		if err != nil {
			host, port = hp, DefaultSentinelPort
		}
		if host == "" {
			return nil, fmt.Errorf("sentinel URL: no host in %q", hp)
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return nil, fmt.Errorf("sentinel URL: invalid port in %q", hp)
		}
		ep.SentinelAddrs = append(ep.SentinelAddrs, net.JoinHostPort(host, port))
	}
	parts := strings.FieldsFunc(u.Path, func(r rune) bool { return r == '/' })
	switch len(parts) {
	case 2:
		db, err := strconv.Atoi(parts[1])
		if err != nil || db < 0 {
			return nil, fmt.Errorf("sentinel URL: invalid database number %q", parts[1])
		}
		ep.Options.DB = db
		fallthrough
	case 1:
		ep.Master = parts[0]
	default:
		return nil, fmt.Errorf("sentinel URL: the path must be /MASTER or /MASTER/DB, the name of the master the Sentinels monitor")
	}
	q := u.Query()
	for k, v := range q {
		switch k {
		case "sentinel_username":
			ep.SentinelUsername = v[len(v)-1]
		case "sentinel_password":
			ep.SentinelPassword = v[len(v)-1]
		default:
			return nil, fmt.Errorf("sentinel URL: unknown parameter %q (known: sentinel_username, sentinel_password)", k)
		}
	}
	return ep, nil
}

// Redact returns the URL with its password, if any, replaced by "xxxxx",
// for messages.
func Redact(rawURL string) string { return redact(rawURL) }

func redact(rawURL string) string {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return rawURL
	}
	authority, path, hasPath := strings.Cut(rest, "/")
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		return rawURL
	}
	user, _, hasPassword := strings.Cut(authority[:at], ":")
	if !hasPassword {
		return rawURL
	}
	out := scheme + "://" + user + ":xxxxx" + authority[at:]
	if hasPath {
		out += "/" + path
	}
	return out
}

// Describe names the endpoint for messages: host:port, or the master and
// its Sentinels.
func (ep *Endpoint) Describe() string {
	if ep.Mode == Sentinel {
		return fmt.Sprintf("master %q of the Sentinels at %s", ep.Master, strings.Join(ep.SentinelAddrs, ","))
	}
	return ep.Options.Addr
}

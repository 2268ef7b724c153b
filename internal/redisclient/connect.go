// Package redisclient turns a Redis URL, credentials and TLS material into a
// go-redis client: one Redis, a Redis Cluster (detected by asking the node
// the URL names, so any node's URL works), or a master found and followed
// across failovers through Sentinel. The CLI (internal/redisconn) and the
// worker binary (cmd/workqueue-worker) both connect through it, so they
// accept the same URLs and TLS settings. It imports nothing of Kubernetes.
package redisclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Config says how to reach Redis.
type Config struct {
	// URL is one of URLForms.
	URL string
	// Username and Password are used when the URL holds no password.
	Username, Password string
	// TLS is used with the rediss schemes; giving it with another scheme
	// is an error.
	TLS TLS
	// PoolSize is the most connections per Redis node (0: go-redis' default).
	PoolSize int
	// DialTries is how often a connection is dialled before an error is
	// returned (0: go-redis' default, 5 tries 100 ms apart): 1 for a caller
	// that retries with its own back-off and wants the error itself.
	DialTries int
	// SingleNode refuses a Redis Cluster node rather than following the
	// cluster to its other nodes: for a URL that reaches one pod through a
	// port-forward.
	SingleNode bool
}

// Client is a client that has answered PING.
type Client struct {
	// Redis is go-redis' client: a *redis.ClusterClient for a Cluster, else
	// a *redis.Client. Pass it on as it is (pkg/queue tells a Cluster by
	// its type).
	Redis redis.UniversalClient
	// Mode says what the URL led to.
	Mode Mode
	// Addr names what the client talks to, for messages.
	Addr string
}

// Connect parses c.URL, connects, and finds out whether the node is part of
// a Redis Cluster, in which case it returns a cluster client seeded with
// that node. ctx bounds connecting. Errors from Redis come back as they
// are, for the caller to word with its own flags (ExplainTLS words the TLS
// ones).
func Connect(ctx context.Context, c Config) (*Client, error) {
	ep, err := Parse(c.URL)
	if err != nil {
		return nil, err
	}
	return ConnectEndpoint(ctx, ep, c)
}

// ConnectEndpoint is Connect for an already parsed URL; c.URL is not used.
func ConnectEndpoint(ctx context.Context, ep *Endpoint, c Config) (*Client, error) {
	tlsConfig, err := c.tlsConfig(ep)
	if err != nil {
		return nil, err
	}
	opts := *ep.Options
	if opts.Password == "" && opts.Username == "" {
		opts.Username, opts.Password = c.Username, c.Password
	}
	opts.TLSConfig = tlsConfig
	if c.PoolSize > 0 {
		opts.PoolSize = c.PoolSize
	}
	if c.DialTries > 0 {
		opts.DialerRetries = c.DialTries
	}
	// Follow no server-sent endpoint moves (Redis Enterprise maintenance
	// notifications): a port-forward's 127.0.0.1 must stay where it is.
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}

	if ep.Mode == Sentinel {
		if err := askSentinels(ctx, ep, &opts); err != nil {
			return nil, err
		}
		rdb := redis.NewFailoverClient(universal(&opts, ep).Failover())
		if err := rdb.Ping(ctx).Err(); err != nil {
			rdb.Close()
			return nil, err
		}
		return &Client{Redis: rdb, Mode: Sentinel, Addr: ep.Describe()}, nil
	}

	// Ask in database 0: a cluster node refuses SELECT on every new
	// connection, which would hide the answer.
	probe := opts
	probe.DB = 0
	rdb := redis.NewClient(&probe)
	cluster, err := isClusterNode(ctx, rdb)
	switch {
	case err != nil:
		rdb.Close()
		return nil, err
	case !cluster && opts.DB == 0:
		return &Client{Redis: rdb, Mode: Standalone, Addr: opts.Addr}, nil
	case !cluster:
		rdb.Close()
		rdb = redis.NewClient(&opts)
		if err := rdb.Ping(ctx).Err(); err != nil {
			rdb.Close()
			return nil, err
		}
		return &Client{Redis: rdb, Mode: Standalone, Addr: opts.Addr}, nil
	}
	rdb.Close()
	if c.SingleNode {
		return nil, fmt.Errorf("Redis at %s is a Redis Cluster node, whose other nodes a port-forward does not reach: pass --redis-url with the address of any node", opts.Addr)
	}
	if opts.DB != 0 {
		return nil, fmt.Errorf("Redis at %s is a Redis Cluster node, and a Cluster has only database 0: drop /%d from the URL", opts.Addr, opts.DB)
	}
	cc := redis.NewClusterClient(universal(&opts, ep).Cluster())
	if err := cc.Ping(ctx).Err(); err != nil {
		cc.Close()
		return nil, err
	}
	return &Client{Redis: cc, Mode: Cluster, Addr: opts.Addr}, nil
}

// askSentinels asks the Sentinels, one after the other, where the master
// is, and returns nil once one answers. A failover client asks them again
// and again until its context ends when they refuse it (a certificate the
// client does not trust, a password they want), so that its error says only
// that time ran out; asked once, a Sentinel says why.
func askSentinels(ctx context.Context, ep *Endpoint, opts *redis.Options) error {
	var err error
	for _, addr := range ep.SentinelAddrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr, Username: ep.SentinelUsername, Password: ep.SentinelPassword,
			TLSConfig: opts.TLSConfig, DialTimeout: opts.DialTimeout, DialerRetries: 1, MaxRetries: -1})
		_, err = sc.GetMasterAddrByName(ctx, ep.Master).Result()
		sc.Close()
		switch {
		case err == nil:
			return nil
		case errors.Is(err, redis.Nil):
			err = fmt.Errorf("%w: the Sentinel at %s does not know a master named %q: check the name after the Sentinels' addresses in the URL", ErrUnknownMaster, addr, ep.Master)
		}
	}
	return explainSentinel(err, ep)
}

func (c Config) tlsConfig(ep *Endpoint) (*tls.Config, error) {
	if !ep.TLS {
		if c.TLS.Set() {
			return nil, fmt.Errorf("TLS settings (--redis-ca, --redis-cert, --redis-key, --redis-insecure-skip-tls-verify) need a TLS URL: use rediss:// (or rediss+sentinel://) instead of %s://", schemeOf(c.URL, ep))
		}
		return nil, nil
	}
	t := c.TLS
	// redis.ParseURL's skip_verify=true parameter.
	if ep.Options.TLSConfig != nil && ep.Options.TLSConfig.InsecureSkipVerify {
		t.InsecureSkipVerify = true
	}
	return t.Config()
}

func schemeOf(rawURL string, ep *Endpoint) string {
	if s, _, ok := strings.Cut(rawURL, "://"); ok {
		return s
	}
	if ep.Mode == Sentinel {
		return SentinelScheme
	}
	return "redis"
}

// isClusterNode asks the node whether cluster mode is on. INFO is in ACL
// category @dangerous, which managed Redis users often lack; CLUSTER INFO
// answers only on a cluster node, so it decides then.
func isClusterNode(ctx context.Context, rdb *redis.Client) (bool, error) {
	info, err := rdb.Info(ctx, "cluster").Result()
	if err == nil {
		return strings.Contains(info, "cluster_enabled:1"), nil
	}
	if !isReply(err) || redis.IsAuthError(err) {
		return false, err
	}
	_, err = rdb.ClusterInfo(ctx).Result()
	if err != nil && !isReply(err) {
		return false, err
	}
	return err == nil, nil
}

// isReply tells an error reply of the server from a failure to reach it.
func isReply(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr)
}

// universal carries the options of one Redis (parsed from the URL, with
// credentials and TLS applied) over to go-redis' UniversalOptions, whose
// Cluster and Failover make the options of the other two kinds of client.
func universal(o *redis.Options, ep *Endpoint) *redis.UniversalOptions {
	u := &redis.UniversalOptions{
		Addrs:                    []string{o.Addr},
		ClientName:               o.ClientName,
		Protocol:                 o.Protocol,
		Username:                 o.Username,
		Password:                 o.Password,
		DB:                       o.DB,
		MaxRetries:               o.MaxRetries,
		MinRetryBackoff:          o.MinRetryBackoff,
		MaxRetryBackoff:          o.MaxRetryBackoff,
		DialTimeout:              o.DialTimeout,
		DialerRetries:            o.DialerRetries,
		ReadTimeout:              o.ReadTimeout,
		WriteTimeout:             o.WriteTimeout,
		ContextTimeoutEnabled:    o.ContextTimeoutEnabled,
		PoolSize:                 o.PoolSize,
		PoolTimeout:              o.PoolTimeout,
		MinIdleConns:             o.MinIdleConns,
		MaxIdleConns:             o.MaxIdleConns,
		ConnMaxIdleTime:          o.ConnMaxIdleTime,
		ConnMaxLifetime:          o.ConnMaxLifetime,
		TLSConfig:                o.TLSConfig,
		MaintNotificationsConfig: o.MaintNotificationsConfig,
	}
	if ep.Mode == Sentinel {
		u.Addrs, u.MasterName = ep.SentinelAddrs, ep.Master
		u.SentinelUsername, u.SentinelPassword = ep.SentinelUsername, ep.SentinelPassword
	}
	return u
}

package redistest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelSet is a master, one replica and one Sentinel watching them, on
// loopback.
type SentinelSet struct {
	// Master is the name the Sentinel knows the master by.
	Master string
	// MasterAddr and ReplicaAddr are the servers as started; after a
	// failover their roles are swapped.
	MasterAddr, ReplicaAddr string
	// SentinelAddr is the Sentinel's host:port.
	SentinelAddr string
	// Password is the data servers' (requirepass, masterauth), and
	// SentinelPassword the Sentinel's own; empty for none.
	Password, SentinelPassword string
	// TLS is set for a set that speaks only TLS (StartSentinelWith's TLS):
	// its CA, whose certificate every server's is signed by.
	TLS *TLSServer
}

// SentinelOptions are StartSentinelWith's.
type SentinelOptions struct {
	// Password protects the master and the replica; the Sentinel is told it
	// (sentinel auth-pass), as managed Sentinel setups are.
	Password string
	// SentinelPassword protects the Sentinel itself (its requirepass).
	SentinelPassword string
	// Args are extra redis-server arguments for the two data servers.
	Args []string
	// TLS makes all three speak only TLS, replication and the Sentinel's
	// own links included, with certificates for 127.0.0.1 of one CA.
	TLS bool
}

// StartSentinel runs a master, a replica of it and a Sentinel (quorum 1), and
// returns once the Sentinel knows the replica, so that a failover can
// promote it. args are extra redis-server arguments for the two data
// servers. All three stop when the test ends.
func StartSentinel(t testing.TB, args ...string) *SentinelSet {
	t.Helper()
	return StartSentinelWith(t, SentinelOptions{Args: args})
}

// StartSentinelWith is StartSentinel with passwords for the data servers
// and for the Sentinel.
func StartSentinelWith(t testing.TB, o SentinelOptions) *SentinelSet {
	t.Helper()
	requireServer(t)
	s := &SentinelSet{Master: "wqmaster", Password: o.Password, SentinelPassword: o.SentinelPassword}
	var stop func()
	var err error
	// Either may be master: neither waits the default 5 s for more replicas
	// before a full sync.
	args := append([]string{"--repl-diskless-sync-delay", "0"}, o.Args...)
	if o.Password != "" {
		args = append(args, "--requirepass", o.Password, "--masterauth", o.Password)
	}
	listen, ready := ports(plainPorts), answersPing
	if o.TLS {
		s.TLS = &TLSServer{}
		f := s.TLS.makeFiles(t, t.TempDir(), nil)
		listen = func(free []int) []string {
			return append([]string{"--port", "0", "--tls-port", strconv.Itoa(free[0]), "--tls-auth-clients", "no",
				"--tls-replication", "yes"}, f.serverArgs...)
		}
		ready = s.TLS.answersPing
	}
	s.MasterAddr, stop, err = launchRetry(t.TempDir(), listen, ready, args)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	host, port := splitAddr(t, s.MasterAddr)
	s.ReplicaAddr, stop, err = launchRetry(t.TempDir(), listen, ready, append([]string{"--replicaof", host, strconv.Itoa(port)}, args...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	ctx := context.Background()
	master := redis.NewClient(&redis.Options{Addr: s.MasterAddr, Password: o.Password, TLSConfig: s.tlsConfig()})
	t.Cleanup(func() { master.Close() })
	WaitFor(t, 20*time.Second, "the replica to sync", func() bool {
		info, err := master.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "connected_slaves:1") && strings.Contains(info, "state=online")
	})
	// After a diskless sync the master streams writes to the replica only
	// once the replica has acknowledged an offset, which it does once a
	// second: until then a promoted replica would have nothing. A write
	// and WAIT return once it has.
	must(t, master.Set(ctx, "redistest:sync", 1, 0).Err())
	must(t, master.Del(ctx, "redistest:sync").Err())
	if n, err := master.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT for the replica = %d, %v", n, err)
	}

	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	// Sentinel rewrites its configuration file, so it gets one of its own.
	cfg := fmt.Sprintf("sentinel monitor %s %s %d 1\nsentinel down-after-milliseconds %[1]s 2000\nsentinel failover-timeout %[1]s 10000\n", s.Master, host, port)
	if o.Password != "" {
		cfg += fmt.Sprintf("sentinel auth-pass %s %s\n", s.Master, o.Password)
	}
	if o.SentinelPassword != "" {
		cfg += fmt.Sprintf("requirepass %s\n", o.SentinelPassword)
	}
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s.SentinelAddr, stop, err = launchRetry(dir, listen, ready, []string{conf, "--sentinel"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	sentinel := s.sentinelClient()
	t.Cleanup(func() { sentinel.Close() })
	WaitFor(t, 30*time.Second, "the Sentinel to know the replica", func() bool {
		replicas, err := sentinel.Replicas(ctx, s.Master).Result()
		return err == nil && len(replicas) == 1 && replicas[0]["flags"] == "slave" && replicas[0]["master-link-status"] == "ok"
	})
	return s
}

// URL is the redis+sentinel URL of the set (rediss+sentinel with TLS),
// with its passwords.
func (s *SentinelSet) URL() string {
	u := &url.URL{Scheme: "redis+sentinel", Host: s.SentinelAddr, Path: "/" + s.Master}
	if s.TLS != nil {
		u.Scheme = "rediss+sentinel"
	}
	if s.Password != "" {
		u.User = url.UserPassword("", s.Password)
	}
	if s.SentinelPassword != "" {
		u.RawQuery = url.Values{"sentinel_password": {s.SentinelPassword}}.Encode()
	}
	return u.String()
}

func (s *SentinelSet) sentinelClient() *redis.SentinelClient {
	return redis.NewSentinelClient(&redis.Options{Addr: s.SentinelAddr, Password: s.SentinelPassword, TLSConfig: s.tlsConfig()})
}

// tlsConfig trusts the set's CA, or is nil for a set without TLS.
func (s *SentinelSet) tlsConfig() *tls.Config {
	if s.TLS == nil {
		return nil
	}
	return s.TLS.TLSConfig()
}

// Failover has the Sentinel promote the replica (SENTINEL FAILOVER) and
// returns the new master's address once the Sentinel reports it.
func (s *SentinelSet) Failover(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	sentinel := s.sentinelClient()
	defer sentinel.Close()
	old, err := sentinel.GetMasterAddrByName(ctx, s.Master).Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := sentinel.Failover(ctx, s.Master).Err(); err != nil {
		t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	var now []string
	WaitFor(t, 30*time.Second, "the Sentinel to report a new master", func() bool {
		now, err = sentinel.GetMasterAddrByName(ctx, s.Master).Result()
		return err == nil && now[1] != old[1]
	})
	return now[0] + ":" + now[1]
}

// client is a plain client of addr, closed when the test ends.
func client(t testing.TB, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

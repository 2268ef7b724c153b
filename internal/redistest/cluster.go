package redistest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of masters on loopback, without replicas.
type Cluster struct {
	// Addrs are the masters' host:port, in the order of their slot ranges.
	Addrs []string
	// TLS is set for a cluster that speaks only TLS (StartTLSCluster): its
	// CA and client certificate files.
	TLS *TLSServer
}

// StartCluster runs a Redis Cluster of n masters (cluster-enabled yes, each
// with its own free client and bus ports), splits the 16384 slots evenly
// among them, and returns once every node sees the cluster as ok. args are
// extra redis-server arguments for every node. The nodes stop when the
// test ends.
func StartCluster(t testing.TB, n int, args ...string) *Cluster {
	t.Helper()
	return startCluster(t, n, false, args)
}

// StartTLSCluster is StartCluster for nodes that speak only TLS, to clients
// and to each other (tls-cluster yes), with one private CA; every node's
// certificate holds 127.0.0.1.
func StartTLSCluster(t testing.TB, n int, args ...string) *Cluster {
	t.Helper()
	return startCluster(t, n, true, args)
}

func startCluster(t testing.TB, n int, useTLS bool, args []string) *Cluster {
	t.Helper()
	requireServer(t)
	c := &Cluster{}
	ready := answersPing
	var tlsArgs []string
	if useTLS {
		c.TLS = &TLSServer{}
		tlsArgs = append(c.TLS.makeFiles(t, t.TempDir(), nil).serverArgs, "--tls-cluster", "yes", "--tls-auth-clients", "no")
		ready = c.TLS.answersPing
	}
	var busPorts []int
	nodeArgs := append([]string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
		"--cluster-node-timeout", "5000"}, args...)
	for range n {
		// The bus port is chosen too: the default, port+10000, may be taken
		// or out of range.
		var bus int
		listen := func(free []int) []string {
			bus = free[1]
			if useTLS {
				return append([]string{"--port", "0", "--tls-port", strconv.Itoa(free[0]), "--cluster-port", strconv.Itoa(bus)}, tlsArgs...)
			}
			return []string{"--port", strconv.Itoa(free[0]), "--cluster-port", strconv.Itoa(bus)}
		}
		addr, stop, err := launchRetry(t.TempDir(), listen, ready, nodeArgs)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		c.Addrs = append(c.Addrs, addr)
		busPorts = append(busPorts, bus)
	}

	ctx := context.Background()
	const slots = 16384
	for i, addr := range c.Addrs {
		rdb := c.node(t, addr)
		// Distinct epochs from the start, as redis-cli --cluster create
		// gives them, so that no epoch collision has to be resolved.
		must(t, rdb.Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err())
		must(t, rdb.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", i*slots/n, (i+1)*slots/n-1).Err())
	}
	first := c.node(t, c.Addrs[0])
	for i, addr := range c.Addrs[1:] {
		host, port := splitAddr(t, addr)
		must(t, first.Do(ctx, "CLUSTER", "MEET", host, port, busPorts[i+1]).Err())
	}
	WaitFor(t, 30*time.Second, "the cluster to form", func() bool {
		for _, addr := range c.Addrs {
			info, err := c.node(t, addr).ClusterInfo(ctx).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", n)) {
				return false
			}
		}
		return true
	})
	return c
}

// node is a client of one node alone, closed when the test ends.
func (c *Cluster) node(t testing.TB, addr string) *redis.Client {
	if c.TLS == nil {
		return client(t, addr)
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, TLSConfig: c.TLS.TLSConfig()})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// Owner returns the address of the master that serves slot.
func (c *Cluster) Owner(t testing.TB, slot int) string {
	t.Helper()
	slots, err := c.node(t, c.Addrs[0]).ClusterSlots(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slots {
		if slot >= s.Start && slot <= s.End {
			return s.Nodes[0].Addr
		}
	}
	t.Fatalf("no node serves slot %d", slot)
	return ""
}

// MoveSlot reshards slot to the master at to, as redis-cli --cluster
// reshard does: the slot is marked migrating and importing, its keys move
// one MIGRATE at a time (clients meanwhile get ASK and TRYAGAIN), and then
// every node is told the new owner (clients get MOVED). each is called
// after each key has moved, so that a test can watch clients follow.
func (c *Cluster) MoveSlot(t testing.TB, slot int, to string, each func(key string)) {
	t.Helper()
	ctx := context.Background()
	from := c.Owner(t, slot)
	if from == to {
		t.Fatalf("slot %d is already at %s", slot, to)
	}
	src, dst := c.node(t, from), c.node(t, to)
	srcID, err := src.Do(ctx, "CLUSTER", "MYID").Text()
	must(t, err)
	dstID, err := dst.Do(ctx, "CLUSTER", "MYID").Text()
	must(t, err)
	must(t, dst.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", srcID).Err())
	must(t, src.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", dstID).Err())
	host, port := splitAddr(t, to)
	for {
		keys, err := src.ClusterGetKeysInSlot(ctx, slot, 10).Result()
		must(t, err)
		if len(keys) == 0 {
			break
		}
		for _, k := range keys {
			err := src.Do(ctx, "MIGRATE", host, port, k, 0, 5000, "REPLACE").Err()
			if err != nil && !strings.Contains(err.Error(), "NOKEY") {
				t.Fatalf("MIGRATE %s: %v", k, err)
			}
			if each != nil {
				each(k)
			}
		}
	}
	// The new owner first, then the old one, then the rest, as redis-cli does.
	must(t, dst.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", dstID).Err())
	must(t, src.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", dstID).Err())
	for _, addr := range c.Addrs {
		if addr != from && addr != to {
			must(t, c.node(t, addr).Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", dstID).Err())
		}
	}
}

func splitAddr(t testing.TB, addr string) (host string, port int) {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	port, err := strconv.Atoi(addr[i+1:])
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return addr[:i], port
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

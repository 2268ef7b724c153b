package worker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redisclient"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// A master, a replica and a Sentinel; four workers that found the master
// through the Sentinel drain a queue while SENTINEL FAILOVER promotes the
// replica. Writes the old master took after the promotion are lost with
// it (Redis replicates asynchronously), so an item may be done twice, but
// none may be lost: every item is handled, and the queue ends empty on the
// new master.
func TestRunFollowsASentinelFailover(t *testing.T) {
	s := redistest.StartSentinel(t)
	const name, n = "sq", 2000
	rdb := connectURL(t, s.URL())
	seedN(t, queue.New(rdb, name), n)
	// The subject is a failover mid-drain, not a replica that lags behind
	// the seeding: Redis replicates asynchronously, and a replica promoted
	// before it has the items never had them.
	if got, err := rdb.Do(context.Background(), "WAIT", 1, 5000).Int(); err != nil || got != 1 {
		t.Fatalf("WAIT for the replica: %d, %v", got, err)
	}

	var clients []redis.UniversalClient
	for range 4 {
		cl := connectMode(t, s.URL())
		if cl.Mode != redisclient.Sentinel {
			t.Fatalf("mode %s", cl.Mode)
		}
		clients = append(clients, cl.Redis)
	}
	var sn seen
	var newMaster string
	// A short lease and grace, so that an item whose completion the old
	// master swallowed comes back soon.
	results, before := drainDuring(t, clients, name, n, Options{Lease: time.Second, ReclaimGrace: 200 * time.Millisecond}, func(item []byte) {
		sn.add(item)
		time.Sleep(2 * time.Millisecond)
	}, func() { newMaster = s.Failover(t) })
	if newMaster != s.ReplicaAddr {
		t.Fatalf("the Sentinel reports %s as master, want the former replica %s", newMaster, s.ReplicaAddr)
	}
	t.Logf("%d of %d items handled after the failover", n-before, n)

	for i, r := range results {
		if r.err != nil || !r.sum.Drained {
			t.Errorf("worker %d: %+v, %v", i, r.sum, r.err)
		}
	}
	var lost, twice int
	for i := range n {
		switch c := sn.count(fmt.Sprintf("item-%04d", i)); {
		case c == 0:
			lost++
		case c > 1:
			twice++
		}
	}
	if lost > 0 {
		t.Errorf("%d items were never handled", lost)
		for _, a := range []string{s.MasterAddr, s.ReplicaAddr} {
			c := redis.NewClient(&redis.Options{Addr: a})
			info, _ := c.Info(context.Background(), "replication", "keyspace", "persistence").Result()
			t.Logf("%s:\n%s", a, info)
			c.Close()
		}
	}
	t.Logf("%d items handled more than once", twice)
	direct := redis.NewClient(&redis.Options{Addr: newMaster})
	defer direct.Close()
	st := stats(t, queue.New(direct, name))
	if st.Pending != 0 || st.Processing != 0 || st.Failed != 0 {
		t.Errorf("the new master's queue after the drain: %+v", st)
	}
}

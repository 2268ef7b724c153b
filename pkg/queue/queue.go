// Package queue implements the Redis work-queue protocol of the Kubernetes
// docs' rediswq.py, key for key, plus what that client leaves as TODOs:
// atomic batched leases, lease renewal, retries with a dead-letter list,
// reclaiming the items of dead workers, guarded seeding, statistics and
// deletion, listing items and retrying failed ones. It knows nothing of
// Kubernetes.
//
// A session (a Queue) may carry its worker's name (WithWorker): session ids
// are then "worker/uuid", so that a lease or a failed attempt names the pod
// that made it.
//
// Keys of a queue Q (the first three are rediswq.py's own):
//
//	Q                          list of pending items; workers pop from the right
//	Q:processing               list of leased items (RPOPLPUSH from Q)
//	Q:leased_by_session:<h>    the lease: session id with a TTL, h = sha224 hex of the item
//	Q:holders                  hash item -> the sessions holding its copies, space-separated, for items
//	                           leased through this package (equal items share one field: lua/holders.lua)
//	Q:leased_at                hash item -> when it was leased through this package (unix ms)
//	Q:workers                  sorted set session -> liveness deadline (unix ms)
//	Q:unleased                 hash item -> when reclaim first saw it without a lease
//	Q:attempts                 hash item -> failed attempts since it was seeded or retried
//	Q:errors                   hash item -> its last MaxErrors failed attempts, a JSON array
//	                           of {"at": unix ms, "worker", "attempt", "error"}
//	Q:failed                   list of dead-lettered items, the oldest on the right
//	Q:stats                    hash of counters: seeded, completed, retried, deadlettered, reclaimed,
//	                           requeued (failed items put back by Retry)
//	Q:meta                     hash: epoch, the queue's identity, set with its first seeded items
//	Q:seed:<token>             progress of one seeding run, so a broken connection can be accounted for
//	Q:reply:<stream>           the number and reply of a Stream's last call, with a TTL, so that a call
//	                           sent again (its reply was lost) takes effect once
//
// Redis that restarts without its data (or is flushed) loses a queue whole:
// Q:meta's epoch then vanishes, or changes when the queue is seeded again.
// Workers and the CLI compare it with the epoch they started with, so that a
// lost queue is never mistaken for a drained one (see Stats.Epoch).
//
// Guarantees: an item is never lost (it is always in exactly one of Q,
// Q:processing, Q:failed, or done); delivery is at least once. Reclaim never
// takes an item whose lease key exists or whose leasing worker still
// heartbeats; an item with neither is reclaimed only after reclaim has seen it
// so for at least the grace period. Equal items are items of their own: each
// copy is settled by the worker that leased it (lua/holders.lua). A call
// that changes items takes effect once however often it is sent, when it is
// sent again on the same Stream within the Stream's TTL (see Stream).
package queue

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lua/seed.lua
	seedLua string
	//go:embed lua/seed_stop.lua
	seedStopLua string
	//go:embed lua/lease.lua
	leaseLua string
	//go:embed lua/complete.lua
	completeLua string
	//go:embed lua/fail.lua
	failLua string
	//go:embed lua/release.lua
	releaseLua string
	//go:embed lua/extend.lua
	extendLua string
	//go:embed lua/reclaim.lua
	reclaimLua string
	//go:embed lua/complete_lease.lua
	completeLeaseLua string
	//go:embed lua/retry.lua
	retryLua string
	// Functions that scripts share: Redis runs each script alone, so they
	// are prepended to the scripts that call them.
	//go:embed lua/holders.lua
	holdersLua string
	//go:embed lua/lease_items.lua
	leaseItemsLua string
	//go:embed lua/complete_items.lua
	completeItemsLua string
	//go:embed lua/once.lua
	onceLua string

	seedScript     = newScript(seedLua)
	seedStopScript = newScript(seedStopLua)
	leaseScript    = newScript(holdersLua, onceLua, leaseItemsLua, once(leaseLua))
	completeScript = newScript(holdersLua, onceLua, completeItemsLua, once(completeLua))
	failScript     = newScript(holdersLua, onceLua, once(failLua))
	releaseScript  = newScript(holdersLua, onceLua, once(releaseLua))
	reclaimScript  = newScript(holdersLua, onceLua, once(reclaimLua))
	retryScript    = newScript(onceLua, once(retryLua))
	// Sent twice, it does what it did once (see its comment).
	extendScript = newScript(holdersLua, extendLua)

	completeLeaseScript = newScript(holdersLua, onceLua, completeItemsLua, leaseItemsLua, once(completeLeaseLua))
)

// once makes body, a script that returns its reply, the body of
// lua/once.lua's once: a script that takes effect once per call of a
// Stream, and whose calls carry the stream's record key and the call's
// number (Stream.run).
func once(body string) string {
	return "local function body()\n" + body + "\nend\nreturn once(body)"
}

// scripts are all the scripts of the package, by their source, so that
// tests can check that each declares every key it touches (see
// docs/architecture.md, "Keys and Redis Cluster"). Make every script with
// newScript.
var scripts = map[*redis.Script]string{}

// newScript is the script made of parts, in order.
func newScript(parts ...string) *redis.Script {
	src := strings.Join(parts, "\n")
	s := redis.NewScript(src)
	scripts[s] = src
	return s
}

// DefaultLease is how long a lease lasts unless renewed.
const DefaultLease = 60 * time.Second

// Queue is one named queue in one Redis, seen by one session (worker).
type Queue struct {
	rdb     redis.UniversalClient
	name    string
	session string
	streams *streams
}

// New returns the queue called name. Each Queue gets its own session id, as
// each rediswq.RedisWQ does.
func New(rdb redis.UniversalClient, name string) *Queue {
	return &Queue{rdb: rdb, name: name, session: uuid.NewString(), streams: &streams{}}
}

// WithWorker returns q as seen by a new session of the worker called
// worker (e.g. its pod's name): the leases it holds and the failed attempts
// it records then name that worker, for 'kubectl workqueue items'.
func (q *Queue) WithWorker(worker string) *Queue {
	s := uuid.NewString()
	if worker != "" {
		// Q:holders separates sessions with spaces (lua/holders.lua).
		s = strings.Join(strings.Fields(worker), "_") + sessionSep + s
	}
	return &Queue{rdb: q.rdb, name: q.name, session: s, streams: &streams{}}
}

// sessionSep ends the worker's name in a session id; neither uuids nor pod
// names contain it.
const sessionSep = "/"

// WorkerOf is the name of the worker of a session, or the session itself
// when it names no worker (rediswq.py's sessions are bare uuids).
func WorkerOf(session string) string {
	if i := strings.LastIndex(session, sessionSep); i > 0 {
		return session[:i]
	}
	return session
}

func (q *Queue) workerName() string { return WorkerOf(q.session) }

// Name is the queue's name, which is also the key of its pending list.
func (q *Queue) Name() string { return q.name }

// Session is this worker's session id, the value of its lease keys.
func (q *Queue) Session() string { return q.session }

func (q *Queue) processingKey() string { return q.name + ":processing" }
func (q *Queue) failedKey() string     { return q.name + ":failed" }
func (q *Queue) statsKey() string      { return q.name + ":stats" }
func (q *Queue) holdersKey() string    { return q.name + ":holders" }
func (q *Queue) workersKey() string    { return q.name + ":workers" }
func (q *Queue) unleasedKey() string   { return q.name + ":unleased" }
func (q *Queue) attemptsKey() string   { return q.name + ":attempts" }
func (q *Queue) errorsKey() string     { return q.name + ":errors" }
func (q *Queue) leasedAtKey() string   { return q.name + ":leased_at" }
func (q *Queue) metaKey() string       { return q.name + ":meta" }
func (q *Queue) leasePrefix() string   { return q.name + ":leased_by_session:" }
func (q *Queue) replyPrefix() string   { return q.name + ":reply:" }

// LeaseKey is the key rediswq.py uses for the lease of item.
func (q *Queue) LeaseKey(item []byte) string {
	sum := sha256.Sum224(item)
	return q.leasePrefix() + hex.EncodeToString(sum[:])
}

// Item is a leased item.
type Item struct {
	Value    []byte
	leaseKey string
}

func (q *Queue) item(v string) Item {
	b := []byte(v)
	return Item{Value: b, leaseKey: q.LeaseKey(b)}
}

// ErrDrained is returned when seeding a queue that has run empty after being
// worked on: workers that found it empty may be exiting, so new items could
// be stranded.
var ErrDrained = errors.New("queue has drained")

// ErrWrongType is returned when one of the queue's keys holds another type.
var ErrWrongType = errors.New("wrong type")

// explain turns Redis' replies into errors that name the queue.
func (q *Queue) explain(err error) error {
	if err == nil {
		return nil
	}
	if strings.HasPrefix(err.Error(), "WRONGTYPE") {
		return fmt.Errorf("%w: a key of queue %q is not a list (is %q really a work queue?): %v", ErrWrongType, q.name, q.name, err)
	}
	if strings.HasPrefix(err.Error(), "CROSSSLOT") {
		return fmt.Errorf("%w: %v", q.noHashTag(), err)
	}
	return err
}

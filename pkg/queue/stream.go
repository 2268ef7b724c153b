package queue

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/fnv"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultReplyTTL is how long Redis keeps the reply of a Stream's last call
// unless NewStream says otherwise, and for the Queue's own methods: well
// past go-redis' own retries of a command (MaxRetries reads of ReadTimeout
// each), and short, as a Queue made for one call leaves one record.
const DefaultReplyTTL = time.Minute

// Stream makes calls on the queue one at a time, each of which takes effect
// at most once, however often it is sent. A call whose reply was lost may
// well have run: go-redis then sends it again on a new connection, and a
// worker that retries a failed call sends it again too. Sent twice, a lease
// would lease more items, the first ones held by this session without its
// knowing, and a complete would count its items as taken over by others.
//
// Each call of a stream has a number; Redis keeps the number and the reply
// of the stream's last call that ran (Q:reply:<stream>, for the TTL given
// to NewStream). After a call that failed, the next call with the same
// arguments is that call again: it gets the reply of the one that ran, or
// runs now if none did. A call with other arguments gives up the failed
// one, which may have taken effect or not. A copy of an old call that
// reaches Redis late is refused. So that a worker learns which items its
// lost leases took, it sends a failed call again until it succeeds.
//
// A Stream is safe for concurrent use, but its calls are made one at a time:
// give each goroutine that calls concurrently a Stream of its own. The
// Queue's own Lease, CompleteAndLease, Complete, Fail, Release, Reclaim and
// Retry make their calls on streams of a pool.
type Stream struct {
	q   *Queue
	key string
	ttl time.Duration

	mu     sync.Mutex
	seq    int64  // the number of the last call
	sum    uint64 // its arguments' fingerprint
	failed bool   // it failed: it may or may not have taken effect
}

// streams is a Queue's pool of streams, and the count of those it made.
type streams struct {
	mu   sync.Mutex
	made int
	free []*Stream
}

// NewStream returns a stream of calls on q, whose last reply Redis keeps
// for ttl (DefaultReplyTTL if ttl <= 0): a call sent again after that may
// take effect twice. Make it longer than the call may be retried.
func (q *Queue) NewStream(ttl time.Duration) *Stream {
	if ttl <= 0 {
		ttl = DefaultReplyTTL
	}
	q.streams.mu.Lock()
	q.streams.made++
	n := q.streams.made
	q.streams.mu.Unlock()
	// Sessions hold no spaces (lua/holders.lua) and neither does this.
	return &Stream{q: q, key: q.replyPrefix() + q.session + "#" + strconv.Itoa(n), ttl: ttl}
}

// stream takes a stream of the pool, to give back with put.
func (q *Queue) stream() *Stream {
	q.streams.mu.Lock()
	if n := len(q.streams.free); n > 0 {
		s := q.streams.free[n-1]
		q.streams.free = q.streams.free[:n-1]
		q.streams.mu.Unlock()
		return s
	}
	q.streams.mu.Unlock()
	return q.NewStream(DefaultReplyTTL)
}

func (q *Queue) put(s *Stream) {
	q.streams.mu.Lock()
	defer q.streams.mu.Unlock()
	q.streams.free = append(q.streams.free, s)
}

// run runs script, one of those made with once, as the stream's next call,
// or as its last one again if that failed and had the same arguments.
func (s *Stream) run(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	sum := fingerprint(script, keys, args)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.failed || sum != s.sum {
		s.seq++
		s.sum = sum
	}
	cmd := script.Run(ctx, s.q.rdb, append(keys, s.key), append(args, s.seq, s.ttl.Milliseconds())...)
	s.failed = cmd.Err() != nil
	return cmd
}

// fingerprint tells calls with other scripts, keys or arguments apart.
func fingerprint(script *redis.Script, keys []string, args []any) uint64 {
	h := fnv.New64a()
	field(h, script.Hash())
	for _, k := range keys {
		field(h, k)
	}
	for _, a := range args {
		switch v := a.(type) {
		case string:
			field(h, v)
		case []byte:
			field(h, string(v))
		default:
			field(h, fmt.Sprint(v))
		}
	}
	return h.Sum64()
}

// field writes s with its length, so that no two lists of fields write the
// same bytes.
func field(h hash.Hash64, s string) {
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
	h.Write([]byte(s))
}

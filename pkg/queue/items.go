package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// State is where an item is in the queue.
type State string

const (
	// Pending items wait to be leased.
	Pending State = "pending"
	// Processing items are leased by a worker (or were, by one that died).
	Processing State = "processing"
	// Failed items failed too often and wait in the dead-letter list.
	Failed State = "failed"
)

// States are the states Items lists, in the order of an item's life.
var States = []State{Pending, Processing, Failed}

// Attempt is one failed attempt at an item.
type Attempt struct {
	// At is when it failed; zero if unknown.
	At time.Time `json:"at,omitzero"`
	// Worker is the worker that made it (its pod) or its session id.
	Worker string `json:"worker,omitempty"`
	// Attempt counts the item's attempts since it was seeded or last retried.
	Attempt int    `json:"attempt,omitempty"`
	Error   string `json:"error"`
}

// ItemInfo is one item as Items finds it.
type ItemInfo struct {
	Value []byte
	State State
	// Position counts from 1 in the order Items lists the state: pending
	// items in the order workers will take them, processing items oldest
	// lease first, failed items oldest failure first.
	Position int64
	// Attempts is how many attempts failed since the item was seeded or
	// last retried.
	Attempts int
	// Errors are those of its last failed attempts (at most MaxErrors),
	// oldest first; they survive a retry.
	Errors []Attempt

	// Of processing items: Holder is the session that leased the item
	// through this package ("" for rediswq.py workers, which record none),
	// Alive whether that session still heartbeats, and LeasedAt when it was
	// leased. LeaseSession is the session named by rediswq.py's lease key,
	// and LeaseLeft its time to live: with neither a lease nor a live
	// holder, the item's worker is gone.
	Holder       string
	Alive        bool
	LeasedAt     time.Time
	LeaseSession string
	LeaseLeft    time.Duration
}

// Worker is the name of the worker that holds a processing item ("" when
// none is known).
func (it *ItemInfo) Worker() string {
	switch {
	case it.Holder != "":
		return WorkerOf(it.Holder)
	case it.LeaseSession != "":
		return WorkerOf(it.LeaseSession)
	}
	return ""
}

// Held reports whether a processing item's worker still holds it: it has a
// lease, or its holder heartbeats.
func (it *ItemInfo) Held() bool { return it.LeaseSession != "" || it.Alive }

// ListOptions bound what Items reads.
type ListOptions struct {
	// Limit is how many items to list at most; 0: all of them.
	Limit int64
	// PageSize is how many items one round trip reads; default 1000. Items
	// never holds more than one page in memory.
	PageSize int
}

// DefaultPageSize is how many items Items and Retry read per round trip.
const DefaultPageSize = 1000

// Items calls fn with the items in state, in the order described at
// ItemInfo.Position, a page at a time: a list of a million items is never
// read whole. It reads a moving queue: an item that changes state between
// two pages may be listed twice or not at all. fn must not keep it, which is
// reused. An error from fn stops the listing and is returned.
func (q *Queue) Items(ctx context.Context, state State, o ListOptions, fn func(it *ItemInfo) error) error {
	key := q.listKey(state)
	if key == "" {
		return fmt.Errorf("unknown state %q: want one of %v", state, States)
	}
	page := int64(o.PageSize)
	if page <= 0 {
		page = DefaultPageSize
	}
	var it ItemInfo
	for off := int64(0); o.Limit == 0 || off < o.Limit; {
		n := page
		if o.Limit > 0 {
			n = min(n, o.Limit-off)
		}
		// Each list is read from its right end, where its oldest items
		// are: new ones are pushed on the left, so the pages before do
		// not shift under the listing.
		vals, err := q.rdb.LRange(ctx, key, -(off + n), -(off + 1)).Result()
		if err != nil {
			return fmt.Errorf("list %s items of queue %q: %w", state, q.name, q.explain(err))
		}
		if len(vals) == 0 {
			return nil
		}
		slices.Reverse(vals)
		infos, err := q.describe(ctx, state, vals)
		if err != nil {
			return err
		}
		for i := range infos {
			it = infos[i]
			it.Position = off + int64(i) + 1
			if err := fn(&it); err != nil {
				return err
			}
		}
		if int64(len(vals)) < n {
			return nil
		}
		off += n
	}
	return nil
}

func (q *Queue) listKey(state State) string {
	switch state {
	case Pending:
		return q.name
	case Processing:
		return q.processingKey()
	case Failed:
		return q.failedKey()
	}
	return ""
}

// describe looks up what is known of the items of one page, in one round trip.
func (q *Queue) describe(ctx context.Context, state State, vals []string) ([]ItemInfo, error) {
	fields := make([]string, len(vals))
	copy(fields, vals)
	pipe := q.rdb.Pipeline()
	attempts := pipe.HMGet(ctx, q.attemptsKey(), fields...)
	errs := pipe.HMGet(ctx, q.errorsKey(), fields...)
	var now *redis.TimeCmd
	var holders, leasedAt *redis.SliceCmd
	var workers *redis.ZSliceCmd
	var leases []*redis.StringCmd
	var ttls []*redis.DurationCmd
	if state == Processing {
		now = pipe.Time(ctx)
		holders = pipe.HMGet(ctx, q.holdersKey(), fields...)
		leasedAt = pipe.HMGet(ctx, q.leasedAtKey(), fields...)
		// Liveness deadlines, judged against Redis' clock below; the set
		// holds the workers of the last hour at most.
		workers = pipe.ZRangeWithScores(ctx, q.workersKey(), 0, -1)
		leases = make([]*redis.StringCmd, len(vals))
		ttls = make([]*redis.DurationCmd, len(vals))
		for i, v := range vals {
			k := q.LeaseKey([]byte(v))
			leases[i] = pipe.Get(ctx, k)
			ttls[i] = pipe.PTTL(ctx, k)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, fmt.Errorf("read %s items of queue %q: %w", state, q.name, q.explain(err))
	}
	alive := map[string]bool{}
	if state == Processing {
		ms := float64(now.Val().UnixMilli())
		for _, z := range workers.Val() {
			if z.Score > ms {
				alive[z.Member.(string)] = true
			}
		}
	}
	infos := make([]ItemInfo, len(vals))
	copies := map[string]int{} // equal items: the nth copy is the nth holder's
	for i, v := range vals {
		info := &infos[i]
		info.Value = []byte(v)
		info.State = state
		if s, ok := attempts.Val()[i].(string); ok {
			info.Attempts, _ = strconv.Atoi(s)
		}
		if s, ok := errs.Val()[i].(string); ok {
			info.Errors = parseErrors(s)
		}
		if state != Processing {
			continue
		}
		if s, ok := holders.Val()[i].(string); ok {
			if sessions := holdersOf(s); copies[v] < len(sessions) {
				info.Holder = sessions[copies[v]]
				info.Alive = alive[info.Holder]
			}
			copies[v]++
		}
		if s, ok := leasedAt.Val()[i].(string); ok {
			if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
				info.LeasedAt = time.UnixMilli(ms)
			}
		}
		if s, err := leases[i].Result(); err == nil {
			info.LeaseSession = s
			if d := ttls[i].Val(); d > 0 {
				info.LeaseLeft = d
			}
		}
	}
	return infos, nil
}

// parseErrors reads an item's errors: a JSON array of attempts, or a plain
// string as recorded before the history was kept.
func parseErrors(s string) []Attempt {
	var raw []struct {
		At      int64  `json:"at"`
		Worker  string `json:"worker"`
		Attempt int    `json:"attempt"`
		Error   string `json:"error"`
	}
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return []Attempt{{Error: s}}
	}
	out := make([]Attempt, len(raw))
	for i, r := range raw {
		out[i] = Attempt{Worker: r.Worker, Attempt: r.Attempt, Error: r.Error}
		if r.At > 0 {
			out[i].At = time.UnixMilli(r.At)
		}
	}
	return out
}

// EscapeInvalidUTF8 writes the bytes of s that are not UTF-8 as \xNN: so
// errors keep them in the JSON of an item's errors, and items can be shown.
func EscapeInvalidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = fmt.Appendf(out, `\x%02x`, s[i])
		} else {
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return string(out)
}

// Where tells in which state item is: pending, processing or failed; ""
// when it is in none of them (done, or never seeded). It searches the lists
// whole, so it is for a few items, not for many.
func (q *Queue) Where(ctx context.Context, item []byte) (State, error) {
	pipe := q.rdb.Pipeline()
	pos := make([]*redis.IntCmd, len(States))
	for i, s := range States {
		pos[i] = pipe.LPos(ctx, q.listKey(s), string(item), redis.LPosArgs{})
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return "", fmt.Errorf("look for an item in queue %q: %w", q.name, q.explain(err))
	}
	for i, s := range States {
		if pos[i].Err() == nil {
			return s, nil
		}
	}
	return "", nil
}

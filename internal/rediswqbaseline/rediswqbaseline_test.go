package rediswqbaseline

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
)

func TestLeaseKeyIsTheDocs(t *testing.T) {
	// The docs' key for "apple" is sha224("apple").
	if k := LeaseKey("q", "apple"); k != "q:leased_by_session:b7bbfdf1a1012999b3c466fdeb906a629caa5e3e022428d1eb702281" {
		t.Fatalf("lease key %s", k)
	}
}

// pusher seeds as pkg/queue's Seeder does, from the left, so that
// BRPOPLPUSH takes items first in, first out.
type pusher struct {
	rdb  *redis.Client
	name string
}

func (p pusher) Add(ctx context.Context, item []byte) error {
	return p.rdb.LPush(ctx, p.name, item).Err()
}

func (pusher) Close(context.Context) error { return nil }

func TestDrainWithWorkCompletesEveryItemOnce(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t, redistest.Start(t), 0)
	const name, items = "q", 50
	var got []string
	Drain(t, pusher{rdb, name}, items, 1, func() (int, error) {
		return Work(ctx, rdb, name, 50*time.Millisecond, func(item string) error {
			if ttl := rdb.TTL(ctx, LeaseKey(name, item)).Val(); ttl <= 0 {
				t.Errorf("%s worked on without a lease (TTL %v)", item, ttl)
			}
			got = append(got, item)
			return nil
		})
	})
	if len(got) != items || got[0] != "item-0" || got[items-1] != "item-49" {
		t.Fatalf("worked on %v", got)
	}
	if keys := rdb.Keys(ctx, "*").Val(); len(keys) != 0 {
		t.Fatalf("left %v behind", keys)
	}
}

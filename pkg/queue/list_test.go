package queue

import (
	"context"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestListFindsSeededAndWorkedOnQueues(t *testing.T) {
	rdb := testClient(t)
	ctx := context.Background()

	// Seeded by this package: found through Q:stats, even once drained.
	seeded := newQueue(t, rdb)
	seed(t, seeded, "a", "b")
	// A name with a colon in it keeps the colon.
	colon := New(rdb, seeded.Name()+":part:two")
	seed(t, colon, "c")

	// rediswq.py style: pushed with RPUSH, taken with RPOPLPUSH. Only
	// findable while an item is in Q:processing.
	docs := newQueue(t, rdb)
	if err := rdb.RPush(ctx, docs.Name(), "x", "y").Err(); err != nil {
		t.Fatal(err)
	}
	before := mustList(t, rdb)
	if slices.Contains(before, docs.Name()) {
		t.Errorf("List = %q: includes %q, which only has pending items", before, docs.Name())
	}
	if err := rdb.RPopLPush(ctx, docs.Name(), docs.processingKey()).Err(); err != nil {
		t.Fatal(err)
	}

	// Keys of a queue that are not markers do not make up names.
	other := newQueue(t, rdb)
	if err := rdb.Set(ctx, other.Name()+":seed:token", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, other.LeaseKey([]byte("z")), "session", 0).Err(); err != nil {
		t.Fatal(err)
	}

	got := mustList(t, rdb)
	for _, want := range []string{seeded.Name(), colon.Name(), docs.Name()} {
		if !slices.Contains(got, want) {
			t.Errorf("List = %q: missing %q", got, want)
		}
	}
	for _, name := range got {
		if name == other.Name() || name == other.Name()+":seed:token" {
			t.Errorf("List = %q: includes %q, which is no queue", got, name)
		}
	}
	if !slices.IsSorted(got) {
		t.Errorf("List = %q: not sorted", got)
	}
	if len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("List = %q: has duplicates", got)
	}
}

func TestListOfEmptyDatabase(t *testing.T) {
	testClient(t) // skips without redis-server
	// Database 15 of the shared server is used by no other test.
	rdb := redis.NewClient(&redis.Options{Addr: serverAddr, DB: 15})
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := List(ctx, rdb)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("List of an empty database = %q, want none", got)
	}
}

func mustList(t *testing.T, rdb redis.UniversalClient) []string {
	t.Helper()
	names, err := List(context.Background(), rdb)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

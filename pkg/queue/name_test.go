package queue

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidateNameRefusesNamesThatShareKeysWithAnotherQueue(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"", "must not be empty"},
		{"q3:processing", `"q3:processing" is the key of queue "q3"'s leased items`},
		{"q3:failed", `queue "q3"'s dead-lettered items`},
		{"a:b:stats", `queue "a:b"'s counters`},
		{"{job2}:holders", `queue "{job2}"'s lease holders`},
		{"q3:seed:x", `the keys q3:seed:… are queue "q3"'s seeding runs`},
		{"q3:seed", `pick a name without ":seed"`},
		{"q3:leased_by_session:0a1b", `queue "q3"'s leases`},
	} {
		err := ValidateName(tc.name)
		if !errors.Is(err, ErrInvalidName) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidateName(%q) = %v, want %q", tc.name, err, tc.want)
		}
	}
	for _, name := range []string{"job2", "{job2}", "{job2}:images", "a:b", "processing", "seed", "q:processing:x", "données", "a b"} {
		if err := ValidateName(name); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", name, err)
		}
	}
}

// Every key a queue's life creates is refused as a queue name, so that no
// valid queue can reach into another's keys. Whoever adds a key to the
// protocol without adding it to keySuffixes or keyPrefixes fails this test.
func TestEveryKeyOfAQueueIsRefusedAsAQueueName(t *testing.T) {
	ctx := context.Background()
	rdb := testClient(t)
	q := newQueue(t, rdb)
	seed(t, q, items(6)...)
	its, err := q.Lease(ctx, 4, time.Minute, 0)
	if err != nil || len(its) != 4 {
		t.Fatalf("lease: %v %v", its, err)
	}
	if _, err := q.Extend(ctx, time.Minute, its[3]); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Complete(ctx, its[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Fail(ctx, its[1], 1, "boom"); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Fail(ctx, its[2], 5, "boom"); err != nil {
		t.Fatal(err)
	}
	// An item with neither lease nor holder: reclaim marks it.
	docs := New(rdb, q.Name())
	if err := rdb.RPopLPush(ctx, q.Name(), q.processingKey()).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := docs.Reclaim(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(ctx, escapeGlob(q.Name())+":*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 8 {
		t.Fatalf("only %d keys: %v", len(keys), keys)
	}
	for _, k := range keys {
		if err := ValidateName(k); err == nil {
			t.Errorf("key %q of queue %q is accepted as a queue name", k, q.Name())
		}
	}
}

// Check, which commands and workers call before anything is written,
// refuses such names too.
func TestCheckRefusesANameThatIsAnotherQueuesKey(t *testing.T) {
	if err := New(testClient(t), "q3:processing").Check(); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("Check = %v", err)
	}
}

package redistest

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
)

var queueSeq atomic.Int64

// QueueName returns a queue name of the test's own: the test's name and a
// number new at each call, so that the tests of a package, which share one
// redis-server, never meet in a queue.
func QueueName(t testing.TB) string {
	return fmt.Sprintf("%s-%d", strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()), queueSeq.Add(1))
}

// Seeder is what Seed needs of a queue.Seeder. It is named here because
// pkg/queue's own tests use Seed, and this package cannot import pkg/queue.
type Seeder interface {
	Add(ctx context.Context, item []byte) error
	Close(ctx context.Context) error
	Pushed() int64
}

// Seed pushes items through s and closes it, failing the test unless every
// item was pushed.
func Seed(t testing.TB, s Seeder, items ...string) {
	t.Helper()
	ctx := context.Background()
	for _, it := range items {
		if err := s.Add(ctx, []byte(it)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Pushed() != int64(len(items)) {
		t.Fatalf("pushed %d items, want %d", s.Pushed(), len(items))
	}
}

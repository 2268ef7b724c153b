package redistest

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

// Client returns a client of the redis-server at addr, closed when the test
// ends, with poolSize connections at the most (0: go-redis' default). With
// addr empty, as Main leaves it without a redis-server, it skips the test.
func Client(t testing.TB, addr string, poolSize int) *redis.Client {
	t.Helper()
	if addr == "" {
		t.Skip("redis-server not installed")
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, PoolSize: poolSize})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

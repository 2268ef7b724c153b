// Package workerenv names the environment through which a generated Job tells
// its workers where their queue is. The manifest generator writes these
// variables and the workqueue-worker binary reads them, so both import this
// package and nothing else is shared between them.
package workerenv

const (
	// Queue is the name of the queue (the Redis list key).
	Queue = "WORKQUEUE_QUEUE"
	// RedisAddr is host:port of Redis, e.g. "redis:6379".
	RedisAddr = "WORKQUEUE_REDIS_ADDR"
	// RedisPassword is Redis' password; set from a Secret, never a literal.
	RedisPassword = "WORKQUEUE_REDIS_PASSWORD"
	// Lease is how long a worker holds an item before others may reclaim it, as a Go duration ("60s").
	Lease = "WORKQUEUE_LEASE"
	// MaxAttempts is how often an item may fail before it is dead-lettered.
	MaxAttempts = "WORKQUEUE_MAX_ATTEMPTS"
	// MaxItems makes a worker exit after that many items (1: one pod per item).
	MaxItems = "WORKQUEUE_MAX_ITEMS"
	// Item is set for the user's command: the item's bytes (also on its stdin).
	Item = "WORKQUEUE_ITEM"
)

// Package workerenv names the environment through which a generated Job tells
// its workers where their queue is. The manifest generator writes these
// variables and the workqueue-worker binary reads them, so both import this
// package and nothing else is shared between them.
package workerenv

const (
	// Queue is the name of the queue (the Redis list key).
	Queue = "WORKQUEUE_QUEUE"
	// RedisURL is a Redis URL (redis[s]://, redis[s]+sentinel://); set from a
	// Secret, as it may hold the password. When set, RedisAddr is not used.
	RedisURL = "WORKQUEUE_REDIS_URL"
	// RedisAddr is host:port of Redis, e.g. "redis:6379".
	RedisAddr = "WORKQUEUE_REDIS_ADDR"
	// RedisPassword is Redis' password; set from a Secret, never a literal.
	RedisPassword = "WORKQUEUE_REDIS_PASSWORD"
	// RedisUsername is the ACL user RedisPassword belongs to (unset: the
	// default user); set from the same Secret.
	RedisUsername = "WORKQUEUE_REDIS_USERNAME"
	// RedisCA, RedisCert and RedisKey are PEM files: the CA to trust, and a
	// client certificate with its key (the worker's --redis-ca, --redis-cert
	// and --redis-key).
	RedisCA   = "WORKQUEUE_REDIS_CA"
	RedisCert = "WORKQUEUE_REDIS_CERT"
	RedisKey  = "WORKQUEUE_REDIS_KEY"
	// RedisInsecureSkipTLSVerify = "true" accepts any server certificate.
	RedisInsecureSkipTLSVerify = "WORKQUEUE_REDIS_INSECURE_SKIP_TLS_VERIFY"
	// RedisTLSDir is where a TLS Secret is mounted: TLSCAFile, and TLSCertFile
	// with TLSKeyFile, each used when present. With RedisAddr (no URL), a CA
	// there means Redis speaks TLS.
	RedisTLSDir = "WORKQUEUE_REDIS_TLS_DIR"
	// Lease is how long a worker holds an item before others may reclaim it, as a Go duration ("60s").
	Lease = "WORKQUEUE_LEASE"
	// MaxAttempts is how often an item may fail before it is dead-lettered.
	MaxAttempts = "WORKQUEUE_MAX_ATTEMPTS"
	// MaxItems makes a worker exit after that many items (1: one pod per item).
	MaxItems = "WORKQUEUE_MAX_ITEMS"
	// RedisTimeout is how long Redis may stay unreachable (a restart, a
	// rescheduled pod) before a worker gives up, as a Go duration ("5m").
	RedisTimeout = "WORKQUEUE_REDIS_TIMEOUT"
	// WaitForSeed, when "true", makes workers wait for a queue that was never
	// seeded rather than fail (run --allow-empty).
	WaitForSeed = "WORKQUEUE_WAIT_FOR_SEED"
	// Item is set for the user's command: the item's bytes (also on its stdin).
	Item = "WORKQUEUE_ITEM"
	// Pod is the name of the worker's pod (from the downward API), so that
	// the queue records which pod held or failed an item.
	Pod = "WORKQUEUE_POD"
	// ItemTimeout bounds how long the user's command may run for one item,
	// as a Go duration ("10m"); unset or 0: no limit.
	ItemTimeout = "WORKQUEUE_ITEM_TIMEOUT"
)

// The files of a TLS Secret mounted at RedisTLSDir, which are also its keys
// (a kubernetes.io/tls Secret's, with the CA's certificate as cert-manager
// adds it).
const (
	TLSCAFile   = "ca.crt"
	TLSCertFile = "tls.crt"
	TLSKeyFile  = "tls.key"
)

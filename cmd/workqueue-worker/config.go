package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/itemcmd"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redisclient"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/worker"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/workerenv"
)

const (
	envQueue       = workerenv.Queue
	envURL         = workerenv.RedisURL
	envAddr        = workerenv.RedisAddr
	envPassword    = workerenv.RedisPassword
	envUsername    = workerenv.RedisUsername
	envCA          = workerenv.RedisCA
	envCert        = workerenv.RedisCert
	envKey         = workerenv.RedisKey
	envInsecure    = workerenv.RedisInsecureSkipTLSVerify
	envTLSDir      = workerenv.RedisTLSDir
	envLease       = workerenv.Lease
	envMaxAttempts = workerenv.MaxAttempts
	envMaxItems    = workerenv.MaxItems
	envPod         = workerenv.Pod
	envItemTimeout = workerenv.ItemTimeout
	envTimeout     = workerenv.RedisTimeout
	envWaitForSeed = workerenv.WaitForSeed
)

const usage = `usage: workqueue-worker [flags] -- COMMAND [ARGS...]
       workqueue-worker --install DIR
       workqueue-worker --version

Runs COMMAND once for each item of a Redis work queue, until the queue is
drained: nothing pending, and nothing in progress at any worker.

The item is COMMAND's standard input, byte for byte. It also replaces {}
anywhere in ARGS (as xargs -I does), and is in $WORKQUEUE_ITEM when it is
valid UTF-8 without NUL bytes and at most 64 KiB (else that is unset).
{} is replaced as text, so it is refused inside a shell script (sh -c
'...'), where an item such as 'a; rm -rf ~' would run as code: use
"$WORKQUEUE_ITEM" there, quoted, or pass {} as an argument after the script.
The same goes for the code of python3 -c, perl -e, ruby -e and node -e.
Exit status 0 completes the item; any other fails it ("exit status N" and
COMMAND's last line on stderr are kept as the reason): it is queued again,
and after --max-attempts failures moved to the dead-letter list, where
'kubectl workqueue items QUEUE' shows it with the errors of its last
attempts, and 'kubectl workqueue retry QUEUE' puts it back.
COMMAND's stdout and stderr pass through; with --concurrency above 1 they
are written a whole line at a time, so lines of different items do not mix.

With --item-timeout, COMMAND gets SIGTERM once it has run that long on an
item, and SIGKILL --shutdown-grace later; the attempt fails with "timed out
after D".

On SIGTERM or SIGINT no new items are taken; COMMAND gets SIGTERM and
--shutdown-grace to finish, then SIGKILL, and its item goes back to the
queue at once. The leases of running items are renewed every --lease/3, so
an item is reclaimed by another worker only once this one has died.

While Redis cannot be reached (restarted, its pod rescheduled) every call
is retried for --redis-timeout, counted from the first failure, and no dial
or read outlasts it. An address that does not resolve before Redis ever
answered (in a cluster: no such Service, as in a namespace without 'kubectl
workqueue init') is given 10s. A Redis that comes back with its data is the
same queue, and the work goes on. One that comes back without it has lost
the queue: the worker notices within a second (the queue's identity, set
when it was first seeded, is gone), takes no more items and exits 4. A
queue that was never seeded is not "drained" either: the worker exits 4 at
once, or with --wait-for-seed waits for its first items.

Exit status:
  0      the queue is drained, or --max-items are done, even if this worker
         moved items to the dead-letter list: the queue keeps them, and
         'kubectl workqueue run' and 'wait' report them (a non-zero exit
         would make the Job controller restart the pod and count it against
         the Job's backoff limit, turning failed items into a failed Job)
  N      the same, when items were dead-lettered and --failed-exit-code N
         is set (for use outside a Job)
  1      Redis stayed unreachable for --redis-timeout, or rejected us
  2      bad flags, or a queue that cannot work there (on a Redis Cluster,
         a name without a hash tag)
  4      the queue is not in Redis: it vanished while this worker ran (Redis
         restarted without its data, or the queue was deleted), or it was
         never seeded (unless --wait-for-seed)
  128+N  stopped by signal N before the queue was drained

Redis is one server, any node of a Redis Cluster (found out by asking it),
or a master found and followed across failovers through Sentinel:
  redis[s]://[[USER]:PASSWORD@]HOST:PORT[/DB]
  redis[s]+sentinel://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTER[/DB]
rediss speaks TLS and checks the server's name; --redis-ca gives a private
CA, --redis-cert and --redis-key a client certificate, and --redis-tls-dir a
mounted Kubernetes TLS Secret holding any of ca.crt, tls.crt and tls.key.

Configuration comes from the environment that 'kubectl workqueue run' sets,
and flags override it:
  WORKQUEUE_QUEUE, WORKQUEUE_REDIS_URL, or WORKQUEUE_REDIS_ADDR (host:port;
  TLS when a CA is given), WORKQUEUE_REDIS_USERNAME and
  WORKQUEUE_REDIS_PASSWORD (when the URL has none), WORKQUEUE_REDIS_CA,
  WORKQUEUE_REDIS_CERT, WORKQUEUE_REDIS_KEY, WORKQUEUE_REDIS_TLS_DIR,
  WORKQUEUE_REDIS_INSECURE_SKIP_TLS_VERIFY=true, WORKQUEUE_LEASE (a duration
  such as 60s), WORKQUEUE_MAX_ATTEMPTS, WORKQUEUE_MAX_ITEMS,
  WORKQUEUE_ITEM_TIMEOUT (a duration), WORKQUEUE_POD (this worker's name),
  WORKQUEUE_REDIS_TIMEOUT (a duration), WORKQUEUE_WAIT_FOR_SEED (true or false).

--install DIR copies this binary to DIR/workqueue-worker (for an init
container that puts it into a volume shared with the user's image).

Flags:
`

// errHelp is returned by parse after printing the help.
var errHelp = errors.New("help requested")

// config is the worker's resolved configuration.
type config struct {
	queue    string
	redisURL string
	ca       string
	cert     string
	key      string
	tlsDir   string
	insecure bool
	// redis is how to connect, resolved from the flags and the environment.
	redis         *redisclient.Config
	endpoint      *redisclient.Endpoint
	passwordFrom  string
	lease         time.Duration
	maxAttempts   int
	maxItems      int
	concurrency   int
	prefetch      int
	shutdownGrace time.Duration
	reclaimGrace  time.Duration
	redisTimeout  time.Duration
	itemTimeout   time.Duration
	failedExit    int
	worker        string
	waitForSeed   bool
	install       string
	version       bool
	command       []string
}

// parse reads flags, then the environment for what the flags left unset.
func (c *config) parse(args []string, lookupEnv func(string) (string, bool), stderr io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.queue, "queue", "", "the queue's name (default $"+envQueue+")")
	fs.StringVar(&c.redisURL, "redis-url", "", "Redis' URL, see above (default $"+envURL+", else $"+envAddr+"; without a password in the URL, $"+envUsername+" and $"+envPassword+" are used)")
	fs.StringVar(&c.ca, "redis-ca", "", "PEM `file` of the CA that signed Redis' certificate (default $"+envCA+"; else the system's CAs)")
	fs.StringVar(&c.cert, "redis-cert", "", "PEM `file` of a client certificate for mutual TLS (default $"+envCert+")")
	fs.StringVar(&c.key, "redis-key", "", "PEM `file` of the client certificate's key (default $"+envKey+")")
	fs.StringVar(&c.tlsDir, "redis-tls-dir", "", "`dir`ectory holding ca.crt, tls.crt and tls.key, each if present, as a mounted Kubernetes TLS Secret does (default $"+envTLSDir+"); --redis-ca, --redis-cert and --redis-key take precedence")
	fs.BoolVar(&c.insecure, "redis-insecure-skip-tls-verify", false, "accept any certificate from Redis, for tests only (default $"+envInsecure+")")
	fs.DurationVar(&c.lease, "lease", 0, "how long an item is held without renewal (default $"+envLease+", else "+queue.DefaultLease.String()+")")
	fs.IntVar(&c.maxAttempts, "max-attempts", 0, "failures before an item is dead-lettered (default $"+envMaxAttempts+", else "+strconv.Itoa(worker.DefaultMaxAttempts)+")")
	fs.IntVar(&c.maxItems, "max-items", 0, "exit after this many items are done or dead-lettered; 1 gives one pod per item (default $"+envMaxItems+", else no limit)")
	fs.IntVar(&c.concurrency, "concurrency", 1, "how many items to work on at once")
	fs.IntVar(&c.prefetch, "prefetch", 0, "items leased per round trip to Redis, for each of --concurrency (0: adapt to how long items take)")
	fs.DurationVar(&c.shutdownGrace, "shutdown-grace", 25*time.Second, "after SIGTERM, how long COMMAND may finish its item before it is killed (keep under the pod's terminationGracePeriodSeconds)")
	fs.DurationVar(&c.reclaimGrace, "reclaim-grace", 10*time.Second, "how long an item must be seen without a lease or a live worker before it is reclaimed")
	fs.DurationVar(&c.redisTimeout, "redis-timeout", 0, "how long Redis may stay unreachable (restarting, rescheduled) before the worker gives up (default $"+envTimeout+", else "+worker.DefaultRedisTimeout.String()+")")
	fs.BoolVar(&c.waitForSeed, "wait-for-seed", false, "wait for a queue that was never seeded to get its first items, rather than exit 4 (default $"+envWaitForSeed+")")
	fs.DurationVar(&c.itemTimeout, "item-timeout", 0, "fail an item's attempt when COMMAND runs longer than this on it: SIGTERM, then SIGKILL after --shutdown-grace (default $"+envItemTimeout+", else no limit)")
	fs.IntVar(&c.failedExit, "failed-exit-code", 0, "exit status when the queue is drained but this worker moved items to the dead-letter list (0: like success; the queue keeps the failed items)")
	fs.StringVar(&c.worker, "name", "", "this worker's name, recorded with the items it holds and fails (default $"+envPod+", else the host name)")
	fs.StringVar(&c.install, "install", "", "copy this binary to `DIR`/workqueue-worker and exit")
	fs.BoolVar(&c.version, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return err // the flag package has printed it with the usage
	}
	c.command = fs.Args()
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return c.fromEnv(set, lookupEnv)
}

func (c *config) fromEnv(set map[string]bool, lookupEnv func(string) (string, bool)) error {
	env := func(k string) string {
		v, _ := lookupEnv(k)
		return strings.TrimSpace(v)
	}
	if !set["queue"] {
		c.queue = env(envQueue)
	}
	if !set["name"] {
		c.worker = env(envPod)
		if c.worker == "" {
			c.worker, _ = os.Hostname()
		}
	}
	if !set["item-timeout"] {
		if v := env(envItemTimeout); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return fmt.Errorf("invalid %s %q: want a duration such as 10m", envItemTimeout, v)
			}
			c.itemTimeout = d
		}
	}
	for _, d := range []struct {
		flag, env, example string
		dst                *time.Duration
		def                time.Duration
	}{
		{"lease", envLease, "60s", &c.lease, queue.DefaultLease},
		{"redis-timeout", envTimeout, "5m", &c.redisTimeout, worker.DefaultRedisTimeout},
	} {
		if set[d.flag] {
			continue
		}
		*d.dst = d.def
		if v := env(d.env); v != "" {
			dur, err := time.ParseDuration(v)
			if err != nil || dur <= 0 {
				return fmt.Errorf("invalid %s %q: want a duration such as %s", d.env, v, d.example)
			}
			*d.dst = dur
		}
	}
	if v := env(envWaitForSeed); v != "" && !set["wait-for-seed"] {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("invalid %s %q: want true or false", envWaitForSeed, v)
		}
		c.waitForSeed = b
	}
	for _, n := range []struct {
		flag, env string
		dst       *int
		def       int
	}{
		{"max-attempts", envMaxAttempts, &c.maxAttempts, worker.DefaultMaxAttempts},
		{"max-items", envMaxItems, &c.maxItems, 0},
	} {
		if set[n.flag] {
			continue
		}
		*n.dst = n.def
		if v := env(n.env); v != "" {
			i, err := strconv.Atoi(v)
			if err != nil || i < 0 {
				return fmt.Errorf("invalid %s %q: want a whole number", n.env, v)
			}
			*n.dst = i
		}
	}

	return c.redisFromEnv(set, env)
}

// redisFromEnv resolves how to reach Redis: the URL (else the address), the
// credentials when the URL has none, and the TLS files.
func (c *config) redisFromEnv(set map[string]bool, env func(string) string) error {
	for _, f := range []struct {
		flag, env string
		dst       *string
	}{
		{"redis-url", envURL, &c.redisURL},
		{"redis-ca", envCA, &c.ca},
		{"redis-cert", envCert, &c.cert},
		{"redis-key", envKey, &c.key},
		{"redis-tls-dir", envTLSDir, &c.tlsDir},
	} {
		if !set[f.flag] {
			*f.dst = env(f.env)
		}
	}
	if !set["redis-insecure-skip-tls-verify"] && env(envInsecure) != "" {
		v, err := strconv.ParseBool(env(envInsecure))
		if err != nil {
			return fmt.Errorf("invalid %s %q: want true or false", envInsecure, env(envInsecure))
		}
		c.insecure = v
	}

	var tls redisclient.TLS
	if c.tlsDir != "" {
		var err error
		if tls, err = redisclient.ReadDir(c.tlsDir); err != nil {
			return fmt.Errorf("--redis-tls-dir: %w", err)
		}
	}
	files, err := redisclient.ReadFiles(c.ca, c.cert, c.key)
	if err != nil {
		return err
	}
	if files.CAPEM != nil {
		tls.CAPEM, tls.CAFrom = files.CAPEM, files.CAFrom
	}
	if files.CertPEM != nil || files.KeyPEM != nil {
		tls.CertPEM, tls.CertFrom, tls.KeyPEM, tls.KeyFrom = files.CertPEM, files.CertFrom, files.KeyPEM, files.KeyFrom
	}
	tls.InsecureSkipVerify = c.insecure

	rawURL, from := c.redisURL, "--redis-url"
	if !set["redis-url"] && rawURL != "" {
		from = "$" + envURL
	}
	if rawURL == "" && env(envAddr) != "" {
		// The Service of init's Redis: TLS when it has a CA (init --tls).
		scheme := "redis"
		if tls.CAPEM != nil || tls.InsecureSkipVerify {
			scheme = "rediss"
		}
		rawURL, from = scheme+"://"+env(envAddr), "$"+envAddr
	}
	if rawURL == "" {
		return nil
	}
	ep, err := redisclient.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("invalid %s: %w", from, err)
	}
	c.endpoint = ep
	c.redis = &redisclient.Config{TLS: tls}
	c.passwordFrom = from
	if ep.Options.Password == "" {
		if p := env(envPassword); p != "" {
			c.redis.Username, c.redis.Password, c.passwordFrom = env(envUsername), p, "$"+envPassword
		}
	}
	// Each handler slot holds a connection, and lease renewal, reclaim and
	// progress need theirs.
	c.redis.PoolSize = max(10*runtime.GOMAXPROCS(0), c.concurrency+4)
	// The worker retries failed calls itself, for --redis-timeout, and no
	// call may outlast that: its deadline bounds reads too, not only dials.
	c.redis.DialTries = 1
	ep.Options.ContextTimeoutEnabled = true
	return nil
}

// validate reports what must be fixed before any item is touched.
func (c *config) validate() error {
	switch {
	case c.queue == "":
		return fmt.Errorf("no queue: set --queue or %s", envQueue)
	case c.redis == nil:
		return fmt.Errorf("no Redis: set --redis-url, %s, or %s (host:port)", envURL, envAddr)
	case len(c.command) == 0:
		return errors.New("no command: workqueue-worker [flags] -- COMMAND [ARGS...]")
	case c.lease <= 0:
		return errors.New("--lease must be positive")
	case c.maxAttempts < 1:
		return errors.New("--max-attempts must be at least 1")
	case c.maxItems < 0:
		return errors.New("--max-items must not be negative")
	case c.concurrency < 1:
		return errors.New("--concurrency must be at least 1")
	case c.prefetch < 0:
		return errors.New("--prefetch must be 0 (adapt) or more")
	case c.shutdownGrace < 0 || c.reclaimGrace <= 0 || c.redisTimeout <= 0:
		return errors.New("--shutdown-grace, --reclaim-grace and --redis-timeout must be positive")
	case c.itemTimeout < 0:
		return errors.New("--item-timeout must not be negative (0: no limit)")
	case c.failedExit < 0 || c.failedExit > 125:
		return errors.New("--failed-exit-code must be between 0 and 125")
	case c.failedExit == exitError || c.failedExit == exitUsage || c.failedExit == exitQueueLost:
		return fmt.Errorf("--failed-exit-code %d: that status means something else (see --help); pick another", c.failedExit)
	}
	if err := queue.ValidateName(c.queue); err != nil {
		return err
	}
	if err := itemcmd.CheckScript(c.command); err != nil {
		return err
	}
	if !strings.Contains(c.command[0], itemcmd.Placeholder) {
		if _, err := exec.LookPath(c.command[0]); err != nil {
			return fmt.Errorf("cannot run COMMAND: %w", err)
		}
	}
	return nil
}

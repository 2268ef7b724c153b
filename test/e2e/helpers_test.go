//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
)

// cmdTimeout bounds every command a test runs, unless it says otherwise.
const cmdTimeout = 5 * time.Minute

// result is what a finished command left behind.
type result struct {
	cmd    string
	stdout string
	stderr string
	code   int // -1: killed or not started
	took   time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("%s\n  exit %d after %v\n  stdout: %s\n  stderr: %s", r.cmd, r.code, r.took.Round(time.Millisecond),
		indent(r.stdout), indent(r.stderr))
}

func (r result) combined() string { return r.stdout + r.stderr }

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if len(s) > 6000 {
		s = s[:3000] + "\n    [...]\n" + s[len(s)-3000:]
	}
	if s == "" {
		return "(empty)"
	}
	return strings.ReplaceAll("\n"+s, "\n", "\n    ")
}

func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$;&|<>()*?[]{}\\`!#~") {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		} else {
			q[i] = a
		}
	}
	return strings.Join(q, " ")
}

// proc is a command running in the background.
type proc struct {
	cmd    *exec.Cmd
	line   string
	start  time.Time
	out    redistest.SyncBuffer // read while the command runs
	err    redistest.SyncBuffer
	done   chan struct{}
	res    result
	cancel context.CancelFunc
}

func start(t *testing.T, timeout time.Duration, stdin io.Reader, name string, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	p := &proc{line: name + " " + shellQuote(args), start: time.Now(), done: make(chan struct{}), cancel: cancel}
	p.cmd = exec.CommandContext(ctx, name, args...)
	p.cmd.Stdin = stdin
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.err
	p.cmd.WaitDelay = 10 * time.Second
	t.Logf("+ %s", p.line)
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("%s: %v", p.line, err)
	}
	go func() {
		err := p.cmd.Wait()
		p.res = result{cmd: p.line, stdout: p.out.String(), stderr: p.err.String(), code: p.cmd.ProcessState.ExitCode(), took: time.Since(p.start)}
		if ctx.Err() == context.DeadlineExceeded {
			p.res.stderr += fmt.Sprintf("\n[e2e: killed after the %v timeout]", timeout)
		} else if err != nil && p.res.code == 0 {
			p.res.code = -1
		}
		cancel()
		close(p.done)
	}()
	t.Cleanup(func() { cancel(); <-p.done })
	return p
}

// wait returns the command's result once it has ended.
func (p *proc) wait() result {
	<-p.done
	return p.res
}

func run(t *testing.T, timeout time.Duration, stdin io.Reader, name string, args ...string) result {
	t.Helper()
	r := start(t, timeout, stdin, name, args...).wait()
	if r.code != 0 || testing.Verbose() {
		t.Logf("  exit %d after %v%s", r.code, r.took.Round(time.Millisecond), tail(r.combined(), 15))
	}
	return r
}

// tail is the last n lines of s, indented, for logs.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[%d lines before]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	if len(lines) == 1 && lines[0] == "" {
		return ""
	}
	return "\n    " + strings.Join(lines, "\n    ")
}

// env is one test's namespace, and the user the plugin acts as.
type env struct {
	t  *testing.T
	ns string
	as string // --as for the plugin, "" for the kubeconfig's own user
}

// newEnv creates a namespace named after the test with a random suffix,
// labelled as given, and deletes it when the test ends (dumping what is in
// it first if the test failed).
func newEnv(t *testing.T, short string, labels ...string) *env {
	t.Helper()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	e := &env{t: t, ns: fmt.Sprintf("wq-e2e-%s-%x", short, b)}
	e.mustKubectl("create", "namespace", e.ns)
	if len(labels) > 0 {
		e.mustKubectl(append([]string{"label", "namespace", e.ns}, labels...)...)
	}
	t.Cleanup(func() {
		if t.Failed() {
			e.dump()
		}
		if keep {
			t.Logf("WQ_E2E_KEEP=1: namespace %s kept", e.ns)
			return
		}
		r := run(t, time.Minute, nil, "kubectl", "delete", "namespace", e.ns, "--wait=false")
		if r.code != 0 {
			t.Logf("cleanup: %v", r)
		}
	})
	return e
}

// dump logs what the namespace holds, for a failed test.
func (e *env) dump() {
	for _, args := range [][]string{
		{"get", "all,secrets,events", "-o", "wide"},
		{"logs", "deploy/redis", "--tail=20"},
	} {
		r := start(e.t, time.Minute, nil, "kubectl", append([]string{"-n", e.ns}, args...)...).wait()
		e.t.Logf("%s", tail(r.combined(), 80))
	}
}

// wqArgs are the plugin's arguments with the namespace (and user) in front,
// so that they never land after a "--".
func (e *env) wqArgs(args []string) []string {
	pre := []string{"workqueue", "-n", e.ns}
	if e.as != "" {
		pre = append(pre, "--as", e.as)
	}
	return append(pre, args...)
}

// wq runs `kubectl workqueue -n NS ARGS...`.
func (e *env) wq(args ...string) result {
	e.t.Helper()
	return run(e.t, cmdTimeout, nil, "kubectl", e.wqArgs(args)...)
}

// wqT is wq with its own timeout.
func (e *env) wqT(timeout time.Duration, args ...string) result {
	e.t.Helper()
	return run(e.t, timeout, nil, "kubectl", e.wqArgs(args)...)
}

// wqStart starts `kubectl workqueue ...` in the background.
func (e *env) wqStart(timeout time.Duration, args ...string) *proc {
	e.t.Helper()
	return start(e.t, timeout, nil, "kubectl", e.wqArgs(args)...)
}

// mustWQ is wq that fails the test at once on a non-zero exit.
func (e *env) mustWQ(args ...string) result {
	e.t.Helper()
	r := e.wq(args...)
	if r.code != 0 {
		e.t.Fatalf("command failed:\n%v", r)
	}
	return r
}

func (e *env) kubectl(args ...string) result {
	e.t.Helper()
	return run(e.t, cmdTimeout, nil, "kubectl", append([]string{"-n", e.ns}, args...)...)
}

func (e *env) mustKubectl(args ...string) result {
	e.t.Helper()
	r := e.kubectl(args...)
	if r.code != 0 {
		e.t.Fatalf("command failed:\n%v", r)
	}
	return r
}

// initRedis runs `kubectl workqueue init` with the test bed's Redis image.
func (e *env) initRedis(extra ...string) result {
	e.t.Helper()
	requireCommands(e.t, "init")
	return e.mustWQ(append([]string{"init", "--image", redisImage}, extra...)...)
}

// redisAuth starts a shell script run in the Redis pod: it gives redis-cli
// the password init gave Redis, which Redis reads from its configuration
// file (manifest.RedisConfigFile).
const redisAuth = `conf=/etc/redis-auth/redis.conf
[ -r "$conf" ] && export REDISCLI_AUTH="$(sed -n 's/^requirepass "\(.*\)"$/\1/p' "$conf")"
`

// redisCLI runs redis-cli inside the Redis pod, with the password that init
// gave it, and returns its output.
func (e *env) redisCLI(args ...string) string {
	e.t.Helper()
	script := redisAuth + `exec redis-cli "$@"`
	r := e.mustKubectl(append([]string{"exec", "deploy/redis", "-c", "redis", "--", "sh", "-c", script, "sh"}, args...)...)
	return strings.TrimSpace(r.stdout)
}

func (e *env) redisInt(args ...string) int64 {
	e.t.Helper()
	out := e.redisCLI(args...)
	n, err := strconv.ParseInt(out, 10, 64)
	if err != nil {
		e.t.Fatalf("redis-cli %s: want a number, got %q", strings.Join(args, " "), out)
	}
	return n
}

// stats are the fields of `status -o json` the tests look at.
type stats struct {
	Queue      string `json:"queue"`
	Pending    int64  `json:"pending"`
	Processing int64  `json:"processing"`
	Done       int64  `json:"done"`
	Failed     int64  `json:"failed"`
	Workers    int64  `json:"workers"`
	Seeded     int64  `json:"seeded"`
	Epoch      string `json:"epoch"`
}

func (e *env) status(queue string) stats {
	e.t.Helper()
	r := e.mustWQ("status", queue, "-o", "json")
	var s stats
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		e.t.Fatalf("status -o json: %v\n%v", err, r)
	}
	return s
}

// seedFile seeds queue from a file of n items named prefix-0000001...
func (e *env) seedFile(queue, prefix string, n int, extra ...string) (items []string, r result) {
	e.t.Helper()
	items = makeItems(prefix, n)
	path := writeItems(e.t, items)
	return items, e.wq(append([]string{"seed", queue, "-f", path}, extra...)...)
}

func makeItems(prefix string, n int) []string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf("%s-%07d", prefix, i+1)
	}
	return items
}

func writeItems(t *testing.T, items []string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "items.txt")
	if err := os.WriteFile(path, []byte(strings.Join(items, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// pod is one pod of a Job.
type pod struct{ name, phase string }

func (e *env) jobPods(job string) []pod {
	e.t.Helper()
	r := e.mustKubectl("get", "pods", "-l", "job-name="+job, "-o",
		`jsonpath={range .items[*]}{.metadata.name}{" "}{.status.phase}{"\n"}{end}`)
	var pods []pod
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			pods = append(pods, pod{f[0], f[1]})
		}
	}
	return pods
}

// jobCondition is the type of the Job's true Complete or Failed condition, or "".
func (e *env) jobCondition(job string) string {
	e.t.Helper()
	r := e.mustKubectl("get", "job", job, "-o",
		`jsonpath={range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}`)
	for _, c := range strings.Fields(r.stdout) {
		if c == "Complete" || c == "Failed" {
			return c
		}
	}
	return ""
}

// commandsOnce caches which subcommands the binary has.
var (
	commandsMu sync.Mutex
	commands   = map[string]bool{}
)

// requireCommands fails the test (it does not skip it) when the binary lacks
// a subcommand the test needs: the suite describes the documented behaviour,
// and a missing command is a missing feature.
func requireCommands(t *testing.T, names ...string) {
	t.Helper()
	commandsMu.Lock()
	defer commandsMu.Unlock()
	for _, n := range names {
		ok, seen := commands[n]
		if !seen {
			out, err := exec.Command(pluginBin, n, "--help").CombinedOutput()
			ok = err == nil && !strings.Contains(string(out), "unknown command")
			commands[n] = ok
		}
		if !ok {
			t.Fatalf("`kubectl workqueue %s` does not exist in %s (see its --help): this test needs it", n, pluginBin)
		}
	}
}

// itemPattern finds "<word> <item>" in a log line, e.g. "processed item-0000001".
func itemPattern(word, prefix string) *regexp.Regexp {
	return regexp.MustCompile(regexp.QuoteMeta(word) + ` (` + regexp.QuoteMeta(prefix) + `-\d{7})\b`)
}

// countDuplicates says how many items were recorded more than once, and
// which ones are missing.
func countDuplicates(recorded, want []string) (dups int, missing []string) {
	seen := map[string]int{}
	for _, r := range recorded {
		seen[r]++
	}
	for _, w := range want {
		switch n := seen[w]; {
		case n == 0:
			missing = append(missing, w)
		case n > 1:
			dups += n - 1
		}
	}
	sort.Strings(missing)
	return dups, missing
}

// eventually polls cond every interval until it holds or timeout passes.
func eventually(t *testing.T, timeout, interval time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(interval)
	}
}

// nonEmptyLines are the lines of s with something on them.
func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

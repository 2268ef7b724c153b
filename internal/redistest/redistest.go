// Package redistest starts throw-away redis-server processes for tests: a
// real server on a free loopback port, never a mock. It also holds the small
// helpers such tests share: a client that skips without a server, polling
// with a deadline, and a buffer safe to read while a process writes it.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a redis-server may take to answer PING.
const startTimeout = 10 * time.Second

// Start runs redis-server on a free 127.0.0.1 port with a temporary working
// directory and no persistence, waits until it answers PING, and stops it
// when the test ends. args are extra redis-server arguments, e.g.
// "--requirepass", "secret". It returns the "host:port" address.
//
// Without redis-server on $PATH the test is skipped, except under CI=true,
// where it fails.
func Start(t testing.TB, args ...string) (addr string) {
	t.Helper()
	requireServer(t)
	addr, stop, err := Launch(t.TempDir(), args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return addr
}

// requireServer skips the test without redis-server on $PATH, except under
// CI=true, where it fails.
func requireServer(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is required in CI: %v", err)
		}
		t.Skipf("redis-server not installed: %v", err)
	}
}

// Main runs a package's tests with one redis-server shared by all of them,
// for TestMain: `func TestMain(m *testing.M) { redistest.Main(m, &addr) }`.
// Tests then use *addr; with no redis-server installed *addr stays empty
// (outside CI) and tests should skip.
func Main(m *testing.M, addr *string, args ...string) {
	dir, err := os.MkdirTemp("", "redistest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	stop := func() {}
	if _, lerr := exec.LookPath("redis-server"); lerr == nil || os.Getenv("CI") == "true" {
		*addr, stop, err = Launch(dir, args...)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Launch starts a redis-server with its files in dir and returns its
// address and a function that stops it.
func Launch(dir string, args ...string) (addr string, stop func(), err error) {
	return launchRetry(dir, plainPorts, answersPing, args)
}

// ports turns free ports into the arguments that make redis-server listen
// on them: the first is the address returned.
type ports func(free []int) []string

func plainPorts(free []int) []string { return []string{"--port", strconv.Itoa(free[0])} }

// launchRetry starts redis-server on free ports; a port may be taken before
// redis-server binds it, so it tries again then.
func launchRetry(dir string, listen ports, ready func(addr string) bool, args []string) (addr string, stop func(), err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, fmt.Errorf("redis-server is required (apt-get install redis-server): %w", err)
	}
	for attempt := 0; attempt < 3; attempt++ {
		addr, stop, err = launch(bin, dir, listen, ready, args)
		if !errors.Is(err, errExited) {
			return addr, stop, err
		}
	}
	return "", nil, err
}

// LaunchAt is Launch on the given port: for a test that restarts Redis
// where its clients will look for it again.
func LaunchAt(dir string, port int, args ...string) (addr string, stop func(), err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, fmt.Errorf("redis-server is required (apt-get install redis-server): %w", err)
	}
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	at := func([]int) []string { return []string{"--port", strconv.Itoa(port)} }
	_, stop, err = launch(bin, dir, at, func(string) bool { return answersPing(addr) }, args)
	return addr, stop, err
}

var errExited = errors.New("redis-server exited")

func launch(bin, dir string, listen ports, ready func(string) bool, args []string) (string, func(), error) {
	free, err := freePorts(2)
	if err != nil {
		return "", nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(free[0]))
	var cmdArgs []string
	if len(args) > 0 && strings.HasSuffix(args[0], ".conf") {
		// A configuration file must come first (sentinels need one).
		cmdArgs, args = append(cmdArgs, args[0]), args[1:]
	}
	cmdArgs = append(cmdArgs, listen(free)...)
	cmdArgs = append(cmdArgs,
		"--bind", "127.0.0.1",
		"--dir", dir,
		"--save", "",
		"--appendonly", "no",
	)
	cmdArgs = append(cmdArgs, args...)
	cmd := exec.Command(bin, cmdArgs...)
	var out SyncBuffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("starting redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}

	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(startTimeout)
	for !ready(addr) {
		select {
		case <-exited:
			return "", nil, fmt.Errorf("%w:\n%s", errExited, out.String())
		case <-timeout:
			stop()
			return "", nil, fmt.Errorf("redis-server at %s did not answer PING within %v:\n%s", addr, startTimeout, out.String())
		case <-tick.C:
		}
	}
	return addr, stop, nil
}

// answersPing reports whether a Redis server at addr replies to PING, with
// PONG or, if it wants a password, NOAUTH.
func answersPing(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	return pingConn(conn)
}

func pingConn(conn net.Conn) bool {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && (strings.HasPrefix(line, "+PONG") || strings.HasPrefix(line, "-NOAUTH"))
}

// freePorts returns n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

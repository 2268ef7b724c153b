package redistest

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

func TestStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"open", nil, "+PONG"},
		{"password", []string{"--requirepass", "s3cret"}, "-NOAUTH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := Start(t, tc.args...)
			if got := ping(t, addr); !strings.HasPrefix(got, tc.want) {
				t.Fatalf("PING %s = %q, want %s...", addr, got, tc.want)
			}
		})
	}
}

func TestStartStopsServerAtCleanup(t *testing.T) {
	var addr string
	t.Run("server", func(t *testing.T) { addr = Start(t) })
	if addr == "" {
		t.Skip("no server was started")
	}
	if answersPing(addr) {
		t.Fatalf("redis-server at %s still answers after its test ended", addr)
	}
}

func ping(t *testing.T, addr string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return line
}

func TestQueueNameIsNewAtEachCall(t *testing.T) {
	a, b := QueueName(t), QueueName(t)
	if a == b || !strings.HasPrefix(a, "TestQueueNameIsNewAtEachCall-") {
		t.Fatalf("QueueName gave %q and %q", a, b)
	}
	t.Run("sub test", func(t *testing.T) {
		if n := QueueName(t); strings.ContainsAny(n, "/ ") {
			t.Fatalf("QueueName %q has a slash or a space", n)
		}
	})
}

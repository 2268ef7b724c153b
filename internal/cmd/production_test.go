package cmd

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redistest"
)

// seed and status against a TLS-only Redis with a private CA that lets in
// only an ACL user, as a managed Redis does.
func TestSeedAndStatusOverTLSWithAnACLUser(t *testing.T) {
	s := redistest.StartTLS(t, redistest.TLSOptions{}, "--user", "default", "off", "--user", "app", "on", ">s3cret", "~*", "&*", "+@all")
	url := "--redis-url=rediss://app:s3cret@" + s.Addr
	mustRun(t, "", url, "--redis-ca", s.CAFile, "seed", "tq", "a", "b", "c")
	r := mustRun(t, "", url, "--redis-ca", s.CAFile, "status", "tq", "-o", "json")
	var st struct{ Pending int64 }
	if err := json.Unmarshal([]byte(r.out), &st); err != nil || st.Pending != 3 {
		t.Fatalf("status: %s (%v)", r.out, err)
	}

	r = run(t, "", url, "seed", "tq", "d")
	want := "Redis at " + s.Addr + " presented a certificate signed by an unknown authority: pass the CA's certificate with --redis-ca FILE (or, to test only, --redis-insecure-skip-tls-verify)"
	if r.err == nil || r.err.Error() != want {
		t.Fatalf("without the CA: %v\nwant %s", r.err, want)
	}
	r = run(t, "", "--redis-url=redis://app:s3cret@"+s.Addr, "--redis-ca", s.CAFile, "seed", "tq", "d")
	if r.err == nil || !strings.Contains(r.err.Error(), "use rediss://") {
		t.Fatalf("a CA with a redis:// URL: %v", r.err)
	}
}

// Every command through any node of a Redis Cluster; a queue without a hash
// tag is refused before anything is written, with the fix.
func TestCommandsOnACluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	node := func(i int) string { return "--redis-url=redis://" + c.Addrs[i] }

	r := mustRun(t, "", node(0), "seed", "{jobs}", "a", "b", "c")
	if !strings.Contains(r.out, `seeded 3 items into queue "{jobs}" (3 pending)`) {
		t.Fatalf("seed: %s", r.out)
	}
	r = mustRun(t, "", node(1), "status", "{jobs}", "-o", "json")
	if !strings.Contains(r.out, `"pending": 3`) {
		t.Fatalf("status through another node: %s", r.out)
	}
	if out := complete(t, "status", node(2), ""); !strings.Contains(out, "{jobs}\n") {
		t.Errorf("completion through a third node: %q", out)
	}

	for _, args := range [][]string{{"seed", "jobs", "x"}, {"status", "jobs"}, {"delete", "jobs", "--yes"}} {
		r = run(t, "", append([]string{node(1)}, args...)...)
		want := `queue name needs a hash tag in a Redis Cluster: queue "jobs" would have its keys in different hash slots, so it cannot work in a Redis Cluster: use a hash tag, e.g. {jobs}`
		if r.err == nil || r.err.Error() != want {
			t.Errorf("%s: %v\nwant %s", args[0], r.err, want)
		}
	}
	r = mustRun(t, "", node(2), "delete", "{jobs}", "--yes")
	if !strings.Contains(r.out, `queue "{jobs}" deleted`) {
		t.Fatalf("delete: %s", r.out)
	}
	if out := complete(t, "status", node(0), ""); strings.Contains(out, "jobs") {
		t.Errorf("completion after delete: %q", out)
	}
}

package manifest

import (
	"math/rand"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/validate/content"
)

// oddQueues are queue names that must all get distinct, valid names.
var oddQueues = []string{
	"job2", "Job2", "JOB2", "job_2", "Job_2", "job-2", "job--2", "job.2", "-job2", "job2-",
	"a:b", "a-b", "a_b", "A-B", "a--b", "a::b", "a b", "a/b",
	"", " ", "-", "---", ":", "日本語", "キュー", "über", "caf\u00e9", "\u212Ajob", // Kelvin sign lowercases to 'k'
	strings.Repeat("a", 60), strings.Repeat("a", 61), strings.Repeat("a", 100), strings.Repeat("a", 100) + "b",
	strings.Repeat("a", 48) + "-" + strings.Repeat("b", 20), strings.Repeat("x:", 40),
	"wq-job2", "job2--3a1b2c3d4e",
}

func assertValidName(t *testing.T, queue, name string) {
	t.Helper()
	for what, msgs := range map[string][]string{
		"DNS-1123 label":     content.IsDNS1123Label(name),
		"DNS-1123 subdomain": content.IsDNS1123Subdomain(name),
		"label value":        content.IsLabelValue(name),
	} {
		if len(msgs) > 0 {
			t.Errorf("JobName(%q) = %q: not a %s: %v", queue, name, what, msgs)
		}
	}
	if !strings.HasPrefix(name, "wq-") {
		t.Errorf("JobName(%q) = %q, want prefix wq-", queue, name)
	}
}

func TestJobName(t *testing.T) {
	h := queueHash
	for _, tc := range []struct{ queue, want string }{
		{"job2", "wq-job2"},
		{"a-b", "wq-a-b"},
		{"wq-job2", "wq-wq-job2"},
		{strings.Repeat("a", 60), "wq-" + strings.Repeat("a", 60)},
		// Changed by sanitizing: hashed.
		{"Job2", "wq-job2--" + h("Job2")},
		{"Job_2", "wq-job-2--" + h("Job_2")},
		{"a:b", "wq-a-b--" + h("a:b")},
		{"a--b", "wq-a-b--" + h("a--b")},
		{"-job2", "wq-job2--" + h("-job2")},
		{"job.2", "wq-job-2--" + h("job.2")},
		{"über", "wq-ber--" + h("über")},
		// Nothing usable left.
		{"", "wq--" + h("")},
		{"日本語", "wq--" + h("日本語")},
		{":::", "wq--" + h(":::")},
		// Too long: cut to fit, then hashed.
		{strings.Repeat("a", 61), "wq-" + strings.Repeat("a", 48) + "--" + h(strings.Repeat("a", 61))},
		{strings.Repeat("a", 47) + "-bbbb", "wq-" + strings.Repeat("a", 47) + "-bbbb"},
		{strings.Repeat("a", 47) + "-" + strings.Repeat("b", 20), "wq-" + strings.Repeat("a", 47) + "--" + h(strings.Repeat("a", 47)+"-"+strings.Repeat("b", 20))},
	} {
		got := JobName(tc.queue)
		if got != tc.want {
			t.Errorf("JobName(%q) = %q, want %q", tc.queue, got, tc.want)
		}
		assertValidName(t, tc.queue, got)
	}
	if len(h("x")) != 10 {
		t.Errorf("hash %q, want 10 characters", h("x"))
	}
}

func TestJobNameDistinctAndStable(t *testing.T) {
	seen := map[string]string{}
	for _, q := range oddQueues {
		name := JobName(q)
		assertValidName(t, q, name)
		if JobName(q) != name {
			t.Errorf("JobName(%q) is not deterministic", q)
		}
		if other, ok := seen[name]; ok {
			t.Errorf("JobName(%q) = JobName(%q) = %q", q, other, name)
		}
		seen[name] = q
	}
}

// TestJobNameRandom checks the invariants on many random queue names: valid
// names, and unhashed names (which map one-to-one to their queue) never
// contain "--", which every hashed name does.
func TestJobNameRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	alphabet := []rune("abcxyz019-_.:/ AZé日")
	for i := 0; i < 20000; i++ {
		r := make([]rune, rng.Intn(80))
		for j := range r {
			r[j] = alphabet[rng.Intn(len(alphabet))]
		}
		checkJobNameInvariants(t, string(r))
	}
}

func FuzzJobName(f *testing.F) {
	for _, q := range oddQueues {
		f.Add(q)
	}
	f.Fuzz(checkJobNameInvariants)
}

func checkJobNameInvariants(t *testing.T, queue string) {
	name := JobName(queue)
	assertValidName(t, queue, name)
	if hashed := strings.Contains(name, "--"); hashed == (name == "wq-"+queue) {
		t.Fatalf("JobName(%q) = %q: hashed=%v, but the name is unhashed exactly when it is wq-<queue>", queue, name, hashed)
	}
	if v := QueueLabelValue(queue); len(content.IsLabelValue(v)) > 0 || v == "" {
		t.Fatalf("QueueLabelValue(%q) = %q: not a non-empty label value", queue, v)
	}
}

func TestQueueLabelValue(t *testing.T) {
	h := queueHash
	for _, tc := range []struct{ queue, want string }{
		{"job2", "job2"},
		{"Job_2", "Job_2"},
		{"a.b-c", "a.b-c"},
		{strings.Repeat("a", 63), strings.Repeat("a", 63)},
		{"a:b", "a-b-" + h("a:b")},
		{"a b", "a-b-" + h("a b")},
		{"_x_", "x-" + h("_x_")},
		{"über", "ber-" + h("über")},
		{"", h("")},
		{"日本語", h("日本語")},
		{strings.Repeat("a", 64), strings.Repeat("a", 52) + "-" + h(strings.Repeat("a", 64))},
	} {
		got := QueueLabelValue(tc.queue)
		if got != tc.want {
			t.Errorf("QueueLabelValue(%q) = %q, want %q", tc.queue, got, tc.want)
		}
		if msgs := content.IsLabelValue(got); len(msgs) > 0 {
			t.Errorf("QueueLabelValue(%q) = %q: %v", tc.queue, got, msgs)
		}
	}
	seen := map[string]string{}
	for _, q := range oddQueues {
		v := QueueLabelValue(q)
		if other, ok := seen[v]; ok {
			t.Errorf("QueueLabelValue(%q) = QueueLabelValue(%q) = %q", q, other, v)
		}
		seen[v] = q
	}
}

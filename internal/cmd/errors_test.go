package cmd

import (
	"strings"
	"testing"
)

// Every command's errors reach the user the same way, as main prints them
// ("error: ..."): none is printed by cobra ("Error: ..."), or twice.
func TestNoCommandPrintsItsOwnError(t *testing.T) {
	noCluster(t)
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	for _, args := range [][]string{
		{"seed", "q"},
		{"seed", "q", "-f"},
		{"seed", "q", "--bogus", "a"},
		{"seed", "", "a"},
		{"status", "q", "-o", "wide"},
		{"run", "q"},
		{"wait"},
		{"logs", "j", "--tail", "x"},
		{"delete", "q:stats"},
		{"init", "--dry-run=maybe"},
	} {
		r := run(t, "", args...)
		if r.err == nil {
			t.Errorf("%q: no error", args)
			continue
		}
		if strings.Contains(strings.ToLower(r.errOut), "error") {
			t.Errorf("%q: the command printed its error itself: %q", args, r.errOut)
		}
	}
}

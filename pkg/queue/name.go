package queue

import (
	"errors"
	"fmt"
	"strings"
)

// A queue's keys are its name and the name followed by ":" and one of
// these. A name that ends in one of them, or holds one of the open-ended
// ones, would share keys with another queue: "q3:processing" is where q3
// keeps its leased items, and deleting q3 removes every "q3:seed:…" key.
var (
	// keySuffixes name whole keys: Q:processing, Q:stats, ...
	keySuffixes = map[string]string{
		"processing": "leased items",
		"failed":     "dead-lettered items",
		"stats":      "counters",
		"holders":    "lease holders",
		"workers":    "live workers",
		"unleased":   "items seen without a lease",
		"attempts":   "failed attempts",
		"errors":     "errors of the last attempts",
		"leased_at":  "lease times",
		"meta":       "identity",
	}
	// keyPrefixes begin families of keys: Q:leased_by_session:<h>,
	// Q:seed:<token>, Q:reply:<stream>.
	keyPrefixes = map[string]string{
		"leased_by_session": "leases",
		"seed":              "seeding runs",
		"reply":             "workers' last replies",
	}
)

// ErrInvalidName is wrapped by the errors of ValidateName.
var ErrInvalidName = errors.New("invalid queue name")

// ValidateName refuses names whose keys would overlap another queue's: the
// empty name, a name ending in one of the key suffixes (":processing",
// ":stats", ...), and a name with a ":seed:", ":leased_by_session:" or
// ":reply:" part.
// Any other name is valid, including Redis Cluster hash tags ("{job2}").
// Commands and workers check it before touching Redis; New does not.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: the queue name must not be empty", ErrInvalidName)
	}
	parts := strings.Split(name, ":")
	for i := 1; i < len(parts); i++ {
		owner := strings.Join(parts[:i], ":")
		if what, ok := keyPrefixes[parts[i]]; ok {
			return fmt.Errorf("%w: %q: the keys %s:%s:… are queue %q's %s, and the two queues' keys would overlap: pick a name without %q",
				ErrInvalidName, name, owner, parts[i], owner, what, ":"+parts[i])
		}
		if what, ok := keySuffixes[parts[i]]; ok && i == len(parts)-1 {
			return fmt.Errorf("%w: %q is the key of queue %q's %s, and the two queues' keys would overlap: pick a name that does not end in %q",
				ErrInvalidName, name, owner, what, ":"+parts[i])
		}
	}
	return nil
}

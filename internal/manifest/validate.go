package manifest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"
)

// flagError is a validation error about one flag's value; its message starts
// with the flag, so the user knows what to fix.
func flagError(flag, value string, msgs []string) error {
	return fmt.Errorf("%s %q: %s", flag, value, strings.Join(msgs, "; "))
}

func checkDNS1035Label(flag, value string) error {
	if msgs := validation.IsDNS1035Label(value); len(msgs) > 0 {
		return flagError(flag, value, msgs)
	}
	return nil
}

func checkDNS1123Label(flag, value string) error {
	if msgs := content.IsDNS1123Label(value); len(msgs) > 0 {
		return flagError(flag, value, msgs)
	}
	return nil
}

func checkDNS1123Subdomain(flag, value string) error {
	if msgs := content.IsDNS1123Subdomain(value); len(msgs) > 0 {
		return flagError(flag, value, msgs)
	}
	return nil
}

// checkNamespace accepts "" (the caller's default namespace) or a valid name.
func checkNamespace(ns string) error {
	if ns == "" {
		return nil
	}
	return checkDNS1123Label("--namespace", ns)
}

// checkLabels validates user labels and rejects the keys in reserved, which the
// plugin (or the Job controller) sets itself and selects on.
func checkLabels(flag string, labels map[string]string, reserved ...string) error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		v := labels[k]
		if msgs := content.IsLabelKey(k); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("%s: label key %q: %s", flag, k, strings.Join(msgs, "; ")))
			continue
		}
		if msgs := content.IsLabelValue(v); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("%s: label %s=%q: %s", flag, k, v, strings.Join(msgs, "; ")))
			continue
		}
		for _, r := range reserved {
			if k == r {
				errs = append(errs, fmt.Errorf("%s: label %q is set by kubectl-workqueue and cannot be overridden", flag, k))
			}
		}
	}
	return errors.Join(errs...)
}

// mergeLabels returns a new map: base, then extra (callers have already
// rejected extra keys that would override base).
func mergeLabels(base, extra map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(extra))
	for k, v := range extra {
		out[k] = v
	}
	for k, v := range base {
		out[k] = v
	}
	return out
}

func copyLabels(m map[string]string) map[string]string {
	return mergeLabels(m, nil)
}

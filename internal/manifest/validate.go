package manifest

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"
)

// FieldError is one invalid option of JobOptions or RedisOptions. The
// generators know no flags: Field names the option, and the command that
// filled the options words the error in terms of its own flags.
type FieldError struct {
	// Field is the option's name in lower camel case, e.g. "parallelism",
	// "activeDeadlineSeconds", "passwordSecret.key".
	Field string
	// Value is the invalid value, or nil when a value is missing.
	Value any
	// Detail says what is wrong, e.g. "must be at least 1", "is required".
	// With Related, each %s in it stands for one of those options, in order.
	Detail  string
	Related []string
}

func (e *FieldError) Error() string { return e.In(func(field string) string { return field }) }

// In words e with name(field) for each option it names, e.g. a flag.
func (e *FieldError) In(name func(field string) string) string {
	detail := e.Detail
	if len(e.Related) > 0 {
		related := make([]any, len(e.Related))
		for i, r := range e.Related {
			related[i] = name(r)
		}
		detail = fmt.Sprintf(detail, related...)
	}
	if e.Value == nil {
		return name(e.Field) + " " + detail
	}
	return fmt.Sprintf("%s %s: %s", name(e.Field), FormatValue(e.Value), detail)
}

// FormatValue shows an invalid value: strings quoted, so that an empty or
// blank one is visible.
func FormatValue(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

// FieldErrors are every invalid option of one call, in the order of the
// options.
type FieldErrors []*FieldError

func (errs FieldErrors) Error() string { return errs.In(func(field string) string { return field }) }

// In words every error with name(field) for each option, one per line.
func (errs FieldErrors) In(name func(field string) string) string {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.In(name)
	}
	return strings.Join(msgs, "\n")
}

// fieldErrors collects FieldErrors.
type fieldErrors FieldErrors

func (errs *fieldErrors) add(field string, value any, detail string, related ...string) {
	*errs = append(*errs, &FieldError{Field: field, Value: value, Detail: detail, Related: related})
}

// invalid adds the messages of one of apimachinery's validation functions.
func (errs *fieldErrors) invalid(field string, value any, msgs []string) {
	if len(msgs) > 0 {
		errs.add(field, value, strings.Join(msgs, "; "))
	}
}

// err is nil without errors, so that a nil FieldErrors never becomes a
// non-nil error.
func (errs fieldErrors) err() error {
	if len(errs) == 0 {
		return nil
	}
	return FieldErrors(errs)
}

func (errs *fieldErrors) dns1035Label(field, value string) {
	errs.invalid(field, value, validation.IsDNS1035Label(value))
}

func (errs *fieldErrors) dns1123Subdomain(field, value string) {
	errs.invalid(field, value, content.IsDNS1123Subdomain(value))
}

// jobName checks a Job name, which the Job controller also puts in a label.
func (errs *fieldErrors) jobName(field, name string) {
	if msgs := content.IsDNS1123Subdomain(name); len(msgs) > 0 {
		errs.invalid(field, name, msgs)
	} else if len(name) > maxNameLen {
		errs.add(field, name, fmt.Sprintf("must be no more than %d characters (the Job controller puts it in a label)", maxNameLen))
	}
}

// namespace accepts "" (the caller's default namespace) or a valid name.
func (errs *fieldErrors) namespace(ns string) {
	if ns != "" {
		errs.invalid("namespace", ns, content.IsDNS1123Label(ns))
	}
}

// labels validates user labels and rejects the keys in reserved, which the
// plugin (or the Job controller) sets itself and selects on.
func (errs *fieldErrors) labels(labels map[string]string, reserved ...string) {
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		v := labels[k]
		if msgs := content.IsLabelKey(k); len(msgs) > 0 {
			errs.invalid("labels", k, append([]string{"invalid label key"}, msgs...))
			continue
		}
		if msgs := content.IsLabelValue(v); len(msgs) > 0 {
			errs.invalid("labels", k+"="+v, append([]string{"invalid label value"}, msgs...))
			continue
		}
		if slices.Contains(reserved, k) {
			errs.add("labels", k, "is set by kubectl-workqueue and cannot be overridden")
		}
	}
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

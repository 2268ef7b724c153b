package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
)

const (
	// jobNamePrefix starts every Job name that JobName derives from a queue.
	jobNamePrefix = "wq-"
	// maxNameLen is the longest Job name: the Job controller copies the name into
	// the job-name label of its pods, and label values have at most 63 characters.
	maxNameLen = content.LabelValueMaxLength
	// hashLen hex digits (40 bits) of SHA-256 tell apart queues whose sanitized
	// forms are equal.
	hashLen = 10
)

// JobName is the default Job name for queue: "wq-" and the queue itself when
// the queue is lowercase alphanumerics separated by single '-' and the result
// fits in 63 characters (so "job2" gives "wq-job2"). Any other queue is
// lowercased, each run of other characters becomes one '-', the ends are
// trimmed, the result is cut to fit, and "--" and a hash of the exact queue name
// are appended ("Job_2" gives "wq-job-2--<hash>"; a queue with nothing usable
// gives "wq--<hash>").
//
// The name is a DNS-1123 label, so it is both a valid Job name and a valid label
// value. Two different queues never get the same name: names without a hash map
// one-to-one to their queue, and they never contain "--", which every hashed
// name does.
func JobName(queue string) string {
	s := sanitize(strings.ToLower(queue), isLowerAlnum)
	if s == queue && len(jobNamePrefix)+len(s) <= maxNameLen && s != "" {
		return jobNamePrefix + s
	}
	h := queueHash(queue)
	if s == "" {
		return jobNamePrefix + "-" + h
	}
	s = truncate(s, maxNameLen-len(jobNamePrefix)-2-hashLen, isLowerAlnum)
	return jobNamePrefix + s + "--" + h
}

// QueueLabelValue is the value of LabelQueue for queue. It is the queue itself
// when that is a valid label value (selectors then read naturally); otherwise
// each run of characters a label value may not hold becomes '-', the ends are
// trimmed, the result is cut to fit, and '-' and a hash of the exact queue name
// are appended. A label value can therefore, rarely, be shared by two queues
// (one of them named exactly like another's hashed form): AnnotationQueue holds
// the exact name and is the authority.
func QueueLabelValue(queue string) string {
	if queue != "" && len(content.IsLabelValue(queue)) == 0 {
		return queue
	}
	h := queueHash(queue)
	s := sanitize(queue, isLabelChar)
	s = strings.TrimFunc(s, func(r rune) bool { return !isAlnum(r) })
	if s == "" {
		return h
	}
	s = truncate(s, maxNameLen-1-hashLen, isAlnum)
	return s + "-" + h
}

func queueHash(queue string) string {
	sum := sha256.Sum256([]byte(queue))
	return hex.EncodeToString(sum[:])[:hashLen]
}

// sanitize replaces each run of characters for which ok is false with one '-'
// and trims '-' from both ends.
func sanitize(s string, ok func(rune) bool) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		if ok(r) && r != '-' {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

// truncate cuts the ASCII string s to at most n bytes and trims trailing
// characters for which end is false.
func truncate(s string, n int, end func(rune) bool) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.TrimRightFunc(s, func(r rune) bool { return !end(r) })
}

func isLowerAlnum(r rune) bool { return (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') }

func isAlnum(r rune) bool { return isLowerAlnum(r) || (r >= 'A' && r <= 'Z') }

func isLabelChar(r rune) bool { return isAlnum(r) || r == '_' || r == '.' }

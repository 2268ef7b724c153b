package main

import (
	"bytes"
	"io"
	"os"
	"sync"
)

// maxLine is how much of a line without an end is held back before it is
// written anyway.
const maxLine = 64 << 10

// streams are the worker's stdout and stderr, shared by the commands it
// runs and its own messages.
type streams struct {
	stdoutFile *os.File
	stdout     *lockedWriter
	stderr     *lockedWriter
	// lines: commands run concurrently, so their output is written a whole
	// line at a time. Otherwise it is passed on as it comes, and stdout is
	// the command's own.
	lines bool
}

func newStreams(stdout, stderr *os.File, lines bool) *streams {
	return &streams{stdoutFile: stdout, stdout: &lockedWriter{w: stdout}, stderr: &lockedWriter{w: stderr}, lines: lines}
}

// childOutput is where one command's output goes.
type childOutput interface {
	io.Writer
	Close() error
}

// forChild returns the stdout and stderr for one command. Close them once
// it has exited, to write what is left of a last line.
func (s *streams) forChild() (childOutput, *lineWriter) {
	stderr := &lineWriter{dst: s.stderr, lines: s.lines}
	if !s.lines {
		return nopCloser{s.stdoutFile}, stderr
	}
	return &lineWriter{dst: s.stdout, lines: true}, stderr
}

type nopCloser struct{ *os.File }

func (nopCloser) Close() error { return nil }

// lockedWriter serializes writes: each Write reaches the file whole.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// lineWriter passes a command's output on, whole lines at a time when lines
// is set, and remembers its last line (for the reason of a failure).
// Write errors are dropped: the command's output must not stop it.
type lineWriter struct {
	dst   *lockedWriter
	lines bool
	buf   []byte
	last  lastLine
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.last.add(p)
	if !w.lines {
		_, _ = w.dst.Write(p)
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	if i := bytes.LastIndexByte(w.buf, '\n'); i >= 0 {
		_, _ = w.dst.Write(w.buf[:i+1])
		w.buf = append(w.buf[:0], w.buf[i+1:]...)
	}
	if len(w.buf) >= maxLine {
		_, _ = w.dst.Write(w.buf)
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

// Close writes the rest of an unfinished last line.
func (w *lineWriter) Close() error {
	if len(w.buf) > 0 {
		_, _ = w.dst.Write(w.buf)
		w.buf = nil
	}
	return nil
}

// LastLine is the last line written that is not blank, shortened.
func (w *lineWriter) LastLine() string { return w.last.String() }

// lastLine keeps the last non-blank line of a stream, up to maxReason bytes.
type lastLine struct {
	cur  []byte
	last []byte
}

const maxReason = 512

func (l *lastLine) add(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := maxReason - len(l.cur); room > 0 {
			l.cur = append(l.cur, chunk[:min(room, len(chunk))]...)
		}
		if i < 0 {
			return
		}
		if len(bytes.TrimSpace(l.cur)) > 0 {
			l.last = append(l.last[:0], l.cur...)
		}
		l.cur = l.cur[:0]
		p = p[i+1:]
	}
}

func (l *lastLine) String() string {
	if s := bytes.TrimSpace(l.cur); len(s) > 0 {
		return string(s)
	}
	return string(bytes.TrimSpace(l.last))
}

package main

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// newLogger writes the worker's messages as plain lines,
// "workqueue-worker: MESSAGE key=value ...", at level Info and above.
func newLogger(w io.Writer) *slog.Logger { return slog.New(&lineHandler{w: w}) }

type lineHandler struct {
	w     io.Writer
	attrs []slog.Attr
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(name + ": " + r.Message)
	add := func(a slog.Attr) bool {
		// Every message is about the one queue, named in the summary.
		if a.Key != "queue" {
			b.WriteString(" " + a.Key + "=" + quote(a.Value.String()))
		}
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	b.WriteByte('\n')
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &lineHandler{w: h.w, attrs: append(h.attrs[:len(h.attrs):len(h.attrs)], attrs...)}
}

func (h *lineHandler) WithGroup(string) slog.Handler { return h }

// quote quotes s when it is empty or has spaces, quotes, unprintable bytes
// or bytes that are not UTF-8.
func quote(s string) string {
	if s == "" || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		return r == '"' || r == '=' || unicode.IsSpace(r) || !unicode.IsPrint(r)
	}) {
		return strconv.Quote(s)
	}
	return s
}

package podlogs

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"time"
)

// splitLines reads r and calls emit with every line, without its newline. A
// line longer than limit arrives in pieces of limit bytes; cont is true for the
// pieces after the first. The slice passed to emit is reused afterwards. A
// last line without a newline is emitted at EOF. Memory stays below limit plus
// the reader's buffer whatever the input.
func splitLines(r io.Reader, limit int, emit func(line []byte, cont bool) error) error {
	br := bufio.NewReaderSize(r, min(64<<10, limit))
	var buf []byte
	cont := false
	for {
		chunk, err := br.ReadSlice('\n')
		complete := err == nil
		if complete {
			chunk = chunk[:len(chunk)-1]
		}
		for len(buf)+len(chunk) > limit {
			n := limit - len(buf)
			buf = append(buf, chunk[:n]...)
			chunk = chunk[n:]
			if err := emit(buf, cont); err != nil {
				return err
			}
			buf, cont = buf[:0], true
		}
		buf = append(buf, chunk...)
		switch {
		case complete:
			if err := emit(buf, cont); err != nil {
				return err
			}
			buf, cont = buf[:0], false
		case errors.Is(err, bufio.ErrBufferFull):
		default:
			if len(buf) > 0 {
				if err := emit(buf, cont); err != nil {
					return err
				}
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// splitTimestamp splits the kubelet's "RFC3339Nano-time SP" prefix off a
// line. A line without a valid prefix is returned whole with a zero time.
func splitTimestamp(line []byte) (time.Time, []byte) {
	const longest = len("2006-01-02T15:04:05.999999999-07:00")
	end := bytes.IndexByte(line, ' ')
	rest := []byte{}
	switch {
	case end < 0 && len(line) <= longest:
		end = len(line)
	case end < 0 || end > longest:
		return time.Time{}, line
	default:
		rest = line[end+1:]
	}
	t, err := time.Parse(time.RFC3339Nano, string(line[:end]))
	if err != nil {
		return time.Time{}, line
	}
	return t, rest
}

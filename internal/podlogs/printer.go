package podlogs

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// timeFormat is the kubelet's own: fixed width, so prefixed lines align.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// NewPrefixPrinter returns a Sink that writes "[pod/container] line" to w,
// with the line's time before the text when it has one, and warnings to
// errOut. showContainer adds the container to the prefix; callers set it for
// --all-containers or pods with several containers. With color, each pod's
// prefix gets a colour of its own that stays the same across runs.
func NewPrefixPrinter(w, errOut io.Writer, color, showContainer bool) Sink {
	return &prefixPrinter{w: w, errOut: errOut, color: color, showContainer: showContainer}
}

type prefixPrinter struct {
	w, errOut            io.Writer
	color, showContainer bool
	buf                  []byte
}

func (p *prefixPrinter) Line(l Line) error {
	b := p.buf[:0]
	if p.color {
		b = append(b, podColor(l.Pod)...)
	}
	b = append(b, '[')
	b = append(b, l.Pod...)
	if p.showContainer {
		b = append(b, '/')
		b = append(b, l.Container...)
	}
	b = append(b, ']')
	if p.color {
		b = append(b, colorReset...)
	}
	b = append(b, ' ')
	if !l.Time.IsZero() {
		b = l.Time.UTC().AppendFormat(b, timeFormat)
		b = append(b, ' ')
	}
	b = append(b, l.Text...)
	b = append(b, '\n')
	if cap(b) <= 64<<10 {
		p.buf = b
	}
	_, err := p.w.Write(b)
	return err
}

func (p *prefixPrinter) PodGone(pod, reason string) {
	fmt.Fprintf(p.errOut, "warning: pod/%s: %s\n", pod, reason)
}

// NewJSONPrinter returns a Sink that writes one JSON object per line to w:
// {"pod":…,"container":…,"timestamp":…,"line":…}, timestamp (RFC 3339) only
// when the line has a time. Warnings go to errOut as text.
func NewJSONPrinter(w, errOut io.Writer) Sink {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &jsonPrinter{enc: enc, errOut: errOut}
}

type jsonPrinter struct {
	enc    *json.Encoder
	errOut io.Writer
}

// jsonLine is the JSON printer's object.
type jsonLine struct {
	Pod       string     `json:"pod"`
	Container string     `json:"container"`
	Timestamp *time.Time `json:"timestamp,omitempty"`
	Line      string     `json:"line"`
}

func (p *jsonPrinter) Line(l Line) error {
	out := jsonLine{Pod: l.Pod, Container: l.Container, Line: string(l.Text)}
	if !l.Time.IsZero() {
		t := l.Time.UTC()
		out.Timestamp = &t
	}
	return p.enc.Encode(out)
}

func (p *jsonPrinter) PodGone(pod, reason string) {
	fmt.Fprintf(p.errOut, "warning: pod/%s: %s\n", pod, reason)
}

package podlogs

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestPrefixPrinter(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 60, time.UTC)
	for _, tc := range []struct {
		name          string
		showContainer bool
		line          Line
		want          string
	}{
		{"pod only", false, Line{Pod: "p", Container: "worker", Text: []byte("hello")}, "[p] hello\n"},
		{"with container", true, Line{Pod: "p", Container: "worker", Text: []byte("hello")}, "[p/worker] hello\n"},
		{"with time", false, Line{Pod: "p", Container: "worker", Time: ts, Text: []byte("x")}, "[p] 2026-01-02T03:04:05.000000060Z x\n"},
		{"empty line", false, Line{Pod: "p", Text: nil}, "[p] \n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			p := NewPrefixPrinter(&out, &errOut, false, tc.showContainer)
			if err := p.Line(tc.line); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("got %q, want %q", out.String(), tc.want)
			}
			if strings.Contains(out.String(), "\x1b") {
				t.Error("colour escape written with color=false")
			}
		})
	}
}

func TestPrefixPrinterColours(t *testing.T) {
	var out bytes.Buffer
	p := NewPrefixPrinter(&out, &bytes.Buffer{}, true, false)
	for _, pod := range []string{"wq-job-a", "wq-job-b", "wq-job-a"} {
		if err := p.Line(Line{Pod: pod, Text: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %q", out.String())
	}
	if lines[0] != lines[2] {
		t.Errorf("same pod printed differently: %q vs %q", lines[0], lines[2])
	}
	want := podColor("wq-job-a") + "[wq-job-a]" + colorReset + " x"
	if lines[0] != want {
		t.Errorf("got %q, want %q", lines[0], want)
	}
	// The colour depends on the name only: a fresh printer agrees.
	if podColor("wq-job-a") != podColor(strings.Clone("wq-job-a")) {
		t.Error("colour not stable")
	}
	// Twelve colours spread over many pods.
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		seen[podColor("wq-job-"+strings.Repeat("z", i))] = true
	}
	if len(seen) < len(palette)/2 {
		t.Errorf("only %d colours used for 200 pods", len(seen))
	}
}

func TestPrintersWarnOnGonePods(t *testing.T) {
	for name, mk := range map[string]func(w, errOut *bytes.Buffer) Sink{
		"prefix": func(w, e *bytes.Buffer) Sink { return NewPrefixPrinter(w, e, true, true) },
		"json":   func(w, e *bytes.Buffer) Sink { return NewJSONPrinter(w, e) },
	} {
		var out, errOut bytes.Buffer
		mk(&out, &errOut).PodGone("wq-job-x", "container worker is waiting: ImagePullBackOff")
		if out.Len() != 0 {
			t.Errorf("%s: warning written to the output: %q", name, out.String())
		}
		if got, want := errOut.String(), "warning: pod/wq-job-x: container worker is waiting: ImagePullBackOff\n"; got != want {
			t.Errorf("%s: warning %q, want %q", name, got, want)
		}
	}
}

func TestJSONPrinter(t *testing.T) {
	var out bytes.Buffer
	p := NewJSONPrinter(&out, &bytes.Buffer{})
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))
	if err := p.Line(Line{Pod: "p", Container: "worker", Time: ts, Text: []byte(`say "<hi>"`)}); err != nil {
		t.Fatal(err)
	}
	if err := p.Line(Line{Pod: "p", Container: "worker", Text: []byte("no time")}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one object per line, got %q", out.String())
	}
	if want := `{"pod":"p","container":"worker","timestamp":"2026-01-02T02:04:05.000000006Z","line":"say \"<hi>\""}`; lines[0] != want {
		t.Errorf("got  %s\nwant %s", lines[0], want)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &obj); err != nil {
		t.Fatal(err)
	}
	if _, ok := obj["timestamp"]; ok || obj["line"] != "no time" || len(obj) != 3 {
		t.Errorf("line without time: %v", obj)
	}
}

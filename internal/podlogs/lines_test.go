package podlogs

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestSplitLines(t *testing.T) {
	type piece struct {
		text string
		cont bool
	}
	for _, tc := range []struct {
		name, in string
		want     []piece
	}{
		{"empty", "", nil},
		{"lines", "a\nb\n", []piece{{"a", false}, {"b", false}}},
		{"empty lines kept", "\n\nx\n", []piece{{"", false}, {"", false}, {"x", false}}},
		{"last line without newline", "a\nb", []piece{{"a", false}, {"b", false}}},
		{"exactly the limit", "0123456789\n", []piece{{"0123456789", false}}},
		{"one over the limit", "0123456789X\n", []piece{{"0123456789", false}, {"X", true}}},
		{"twice the limit", "01234567890123456789\nz\n", []piece{{"0123456789", false}, {"0123456789", true}, {"z", false}}},
		{"long line at EOF", "0123456789abc", []piece{{"0123456789", false}, {"abc", true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []piece
			err := splitLines(iotest.OneByteReader(strings.NewReader(tc.in)), 10, func(b []byte, cont bool) error {
				got = append(got, piece{string(b), cont})
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("piece %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestSplitLinesErrors(t *testing.T) {
	boom := errors.New("boom")
	var got []string
	err := splitLines(iotest.DataErrReader(iotest.ErrReader(boom)), 10, func([]byte, bool) error { return nil })
	if !errors.Is(err, boom) {
		t.Errorf("read error = %v, want boom", err)
	}
	err = splitLines(strings.NewReader("a\nb\n"), 10, func(b []byte, _ bool) error {
		got = append(got, string(b))
		return boom
	})
	if !errors.Is(err, boom) || len(got) != 1 {
		t.Errorf("emit error: err %v after %q, want boom after one line", err, got)
	}
}

func TestSplitTimestamp(t *testing.T) {
	for _, tc := range []struct {
		in, text string
		time     time.Time
	}{
		{"2026-03-04T05:06:07.000000001Z hi there", "hi there", time.Date(2026, 3, 4, 5, 6, 7, 1, time.UTC)},
		{"2026-03-04T05:06:07+02:00 x", "x", time.Date(2026, 3, 4, 3, 6, 7, 0, time.UTC)},
		{"2026-03-04T05:06:07Z", "", time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)},
		{"not a time at all", "not a time at all", time.Time{}},
		{"", "", time.Time{}},
		{strings.Repeat("y", 100), strings.Repeat("y", 100), time.Time{}},
	} {
		ts, text := splitTimestamp([]byte(tc.in))
		if !ts.Equal(tc.time) || string(text) != tc.text {
			t.Errorf("splitTimestamp(%q) = (%v, %q), want (%v, %q)", tc.in, ts, text, tc.time, tc.text)
		}
	}
}

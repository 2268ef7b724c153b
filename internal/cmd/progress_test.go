package cmd

import (
	"bytes"
	"testing"
	"time"

	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

func TestLiveLineRedrawsInPlaceAndClearsOnce(t *testing.T) {
	var b bytes.Buffer
	l := liveLine{w: &b}
	l.draw("1 item")
	l.draw("2 items")
	l.clear()
	l.clear()
	if got, want := b.String(), "\r\033[K1 item\r\033[K2 items\r\033[K"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	(&liveLine{}).draw("nowhere") // no terminal: nothing, no panic
}

func TestThroughput(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	snap := func(at time.Duration, done, pending, processing int64) *queue.Stats {
		return &queue.Stats{Time: t0.Add(at), Done: done, Pending: pending, Processing: processing}
	}
	for _, tc := range []struct {
		name     string
		from, to *queue.Stats
		rate     float64
		eta      time.Duration
		ok       bool
	}{
		{"same instant", snap(0, 0, 10, 0), snap(0, 5, 5, 0), 0, 0, false},
		{"10/s, 40 left", snap(0, 0, 60, 0), snap(2*time.Second, 20, 30, 10), 10, 4 * time.Second, true},
		{"nothing done", snap(0, 0, 10, 0), snap(time.Second, 0, 10, 0), 0, 0, true},
		{"all done", snap(0, 0, 10, 0), snap(time.Second, 10, 0, 0), 10, 0, true},
	} {
		rate, eta, ok := throughput(tc.from, tc.to)
		if rate != tc.rate || eta != tc.eta || ok != tc.ok {
			t.Errorf("%s: throughput = %v, %v, %v, want %v, %v, %v", tc.name, rate, eta, ok, tc.rate, tc.eta, tc.ok)
		}
	}
}

package worker

import (
	"testing"
	"time"
)

func TestAdaptivePrefetchGrowsForQuickItemsAndFallsBackForSlowOnes(t *testing.T) {
	p := newPrefetch(0)
	if p.size != 1 {
		t.Fatalf("starts at %d, want 1", p.size)
	}
	for i := 0; i < 10; i++ {
		p.observe(p.size, time.Duration(p.size)*time.Millisecond) // 1 ms an item
	}
	if p.size != maxAdaptivePrefetch {
		t.Fatalf("after quick items: %d, want %d", p.size, maxAdaptivePrefetch)
	}
	p.observe(16, 16*20*time.Millisecond) // 20 ms an item: neither quick nor slow
	if p.size != maxAdaptivePrefetch {
		t.Fatalf("middling items changed the size to %d", p.size)
	}
	p.observe(16, 16*100*time.Millisecond) // slow: stop hoarding at once
	if p.size != 1 {
		t.Fatalf("after slow items: %d, want 1", p.size)
	}
	fixed := newPrefetch(4)
	fixed.observe(4, 0)
	fixed.observe(4, time.Hour)
	if fixed.size != 4 {
		t.Fatalf("a fixed prefetch changed to %d", fixed.size)
	}
}

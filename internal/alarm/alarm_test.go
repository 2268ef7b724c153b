package alarm

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func due(a *Alarm) bool {
	select {
	case <-a.C():
		return true
	default:
		return false
	}
}

func TestAlarm(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	a := &Alarm{Clock: fc}
	if a.C() != nil {
		t.Fatal("an alarm never set has a channel; a select would wake on it")
	}

	a.Set(fc.Now().Add(30 * time.Second))
	fc.Step(29 * time.Second)
	if due(a) {
		t.Fatal("due 1 s early")
	}
	fc.Step(time.Second)
	if !due(a) {
		t.Fatal("not due at its instant")
	}

	a.Set(fc.Now().Add(10 * time.Second))
	a.Set(fc.Now().Add(20 * time.Second))
	fc.Step(10 * time.Second)
	if due(a) {
		t.Fatal("due at the instant it was set to before being set again")
	}

	a.Set(fc.Now().Add(-time.Second))
	if !due(a) || !due(a) {
		t.Fatal("an instant already past is not due at once")
	}
	a.Set(fc.Now())
	if !due(a) {
		t.Fatal("the instant now is not due at once")
	}

	a.Set(fc.Now().Add(time.Second))
	a.Stop()
	fc.Step(time.Hour)
	if a.C() != nil || fc.HasWaiters() {
		t.Fatal("a stopped alarm is still set")
	}
	a.Set(fc.Now().Add(-time.Second))
	a.Set(time.Time{})
	if a.C() != nil {
		t.Fatal("set to zero, the alarm is still due")
	}
}

// A loop sets the alarm from a now it read before blocking elsewhere: the
// alarm must fire at the instant, not that long after it.
func TestAlarmCountsFromTheClockWhenSet(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	a := &Alarm{Clock: fc}
	at := fc.Now().Add(30 * time.Second)
	fc.Step(20 * time.Second) // the loop blocked for 20 s
	a.Set(at)
	fc.Step(10 * time.Second)
	if !due(a) {
		t.Fatal("not due at its instant")
	}
}

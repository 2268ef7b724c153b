// Package alarm is a timer set for an instant rather than a duration, for
// watch loops that look again when the grace of a problem ends.
package alarm

import (
	"time"

	"k8s.io/utils/clock"
)

// An Alarm fires once at the instant it was last set to. Its zero value
// needs a Clock; only one goroutine may use it.
type Alarm struct {
	Clock   clock.Clock
	timer   clock.Timer
	overdue bool
}

// Set makes the alarm fire at at, replacing any earlier setting; a zero at
// stops it. The clock is read when setting, not by the caller earlier: a
// loop that blocked on sending events in between would otherwise be woken
// late by as long. An instant already past is due at once, also when the
// clock passes it while the timer is being set (a fake clock would fire
// that timer only when stepped again).
func (a *Alarm) Set(at time.Time) {
	a.Stop()
	if at.IsZero() {
		return
	}
	a.timer = a.Clock.NewTimer(at.Sub(a.Clock.Now()))
	a.overdue = !a.Clock.Now().Before(at)
}

// Stop stops the alarm.
func (a *Alarm) Stop() {
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	a.overdue = false
}

// C is ready to receive from once the alarm is due, for a select: nil when
// the alarm is not set. An alarm due at once stays ready until Set again,
// so read C again after each Set and Set it after each wake.
func (a *Alarm) C() <-chan time.Time {
	switch {
	case a.overdue:
		return ready
	case a.timer == nil:
		return nil
	}
	return a.timer.C()
}

var ready = func() chan time.Time {
	c := make(chan time.Time)
	close(c)
	return c
}()

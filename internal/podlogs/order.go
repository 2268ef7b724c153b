package podlogs

import (
	"context"
	"sync"
)

// maxKept bounds the bytes of lines kept for one target that is not yet its
// turn; beyond it, its stream waits. With MaxRequests streams, memory stays
// under MaxRequests times this (plus one line). A variable for the tests.
var maxKept = 4 << 20

// order hands the logs of targets 0..n-1 to the sink one target after
// another, whatever order their streams deliver them in: the lines of the
// target whose turn it is go straight on, those of later targets are kept
// until their turn. Its state is guarded by the streamer's mu, which wake
// is bound to.
type order struct {
	turn int // the target whose lines go straight to the sink
	kept []kept
	wake *sync.Cond
}

type kept struct {
	lines []Line
	bytes int
	done  bool
}

func newOrder(n int, mu *sync.Mutex) *order {
	return &order{kept: make([]kept, n), wake: sync.NewCond(mu)}
}

// keep keeps l when it is not target i's turn, and reports so. A target
// that has kept maxKept bytes waits for its turn (or for the end: ctx done,
// or stopped() returning an error, which keep returns).
func (o *order) keep(ctx context.Context, i int, l Line, stopped func() error) (bool, error) {
	for i != o.turn && o.kept[i].bytes >= maxKept {
		if err := stopped(); err != nil {
			return false, err
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		o.wake.Wait()
	}
	if i == o.turn {
		return false, nil
	}
	l.Text = append([]byte(nil), l.Text...) // only valid during the call
	k := &o.kept[i]
	k.lines = append(k.lines, l)
	k.bytes += len(l.Text)
	return true, nil
}

// finish records that target i's stream has ended and, when it was its
// turn, passes the turn on: the kept lines of the following targets go to
// handOn, up to the first one whose stream still runs.
func (o *order) finish(i int, handOn func(Line) error) {
	o.kept[i].done = true
	for o.turn < len(o.kept) && o.kept[o.turn].done {
		o.turn++
		if o.turn == len(o.kept) {
			break
		}
		k := &o.kept[o.turn]
		for _, l := range k.lines {
			if handOn(l) != nil {
				break
			}
		}
		k.lines, k.bytes = nil, 0
	}
	o.wake.Broadcast()
}

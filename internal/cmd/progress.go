package cmd

import (
	"fmt"
	"io"
	"time"

	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/queue"
)

// liveLine is one line of progress at the bottom of a terminal, redrawn in
// place (seed's count, wait's items and pods). Clear it before writing
// anything else to the same terminal. With a nil writer it draws nothing.
type liveLine struct {
	w     io.Writer
	drawn bool
}

func (l *liveLine) draw(s string) {
	if l.w == nil {
		return
	}
	fmt.Fprintf(l.w, "\r\033[K%s", s)
	l.drawn = true
}

func (l *liveLine) clear() {
	if l.drawn {
		fmt.Fprint(l.w, "\r\033[K")
		l.drawn = false
	}
}

// throughput is the rate at which items were done between two snapshots of
// a queue, and how long what is left would take at that rate; ok is false
// when they are not far enough apart to tell.
func throughput(from, to *queue.Stats) (perSecond float64, eta time.Duration, ok bool) {
	dt := to.Time.Sub(from.Time).Seconds()
	if dt <= 0 {
		return 0, 0, false
	}
	perSecond = float64(to.Done-from.Done) / dt
	if left := to.Pending + to.Processing; left > 0 && perSecond > 0 {
		eta = time.Duration(float64(left) / perSecond * float64(time.Second)).Round(time.Second)
	}
	return perSecond, eta, true
}

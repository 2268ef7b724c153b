package cmd

import (
	"errors"
	"fmt"
)

// Exit statuses of kubectl-workqueue. Scripts branch on them
// (`kubectl workqueue run … && next-step`), so each outcome that leaves work
// undone has its own, and none of them is 0.
const (
	ExitOK          = 0
	ExitError       = 1   // bad input, a failed Job, pods that cannot run, Redis unreachable
	ExitItemsFailed = 3   // the Job completed, but items are not done: in the queue's failed list, or left in the queue
	ExitItemsLost   = 4   // the queue lost items: Redis restarted without its data, or items unaccounted for
	ExitInterrupted = 130 // Ctrl-C: what a shell reports for SIGINT; the Job goes on
)

var (
	// ErrInterrupted is returned when the user stopped waiting with Ctrl-C;
	// the Job goes on.
	ErrInterrupted = errors.New("interrupted")
	// ErrItemsFailed is wrapped by errors that report items in the failed
	// list, or left in the queue by workers that stopped, once the Job has
	// completed (settle in outcome.go).
	ErrItemsFailed = errors.New("items failed")
	// ErrItemsLost is wrapped by errors that report items the queue lost.
	ErrItemsLost = errors.New("items lost")
)

// ExitCode is the process' exit status for err, the error a command returned.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrInterrupted):
		return ExitInterrupted
	case errors.Is(err, ErrItemsLost):
		return ExitItemsLost
	case errors.Is(err, ErrItemsFailed):
		return ExitItemsFailed
	}
	return ExitError
}

// withStatus is the error whose message is format with args, alone, and
// whose exit status is that of status (ErrItemsFailed, ErrItemsLost): the
// user reads one line, not one that ends in "items failed".
func withStatus(status error, format string, args ...any) error {
	return &statusError{msg: fmt.Sprintf(format, args...), status: status}
}

type statusError struct {
	msg    string
	status error
}

func (e *statusError) Error() string { return e.msg }
func (e *statusError) Unwrap() error { return e.status }

package cmd

import (
	"errors"
	"fmt"
	"testing"
)

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("job failed"), 1},
		{fmt.Errorf("stopped: %w", ErrInterrupted), 130},
		{fmt.Errorf("wq-x complete: 3 failed: %w", ErrItemsFailed), 3},
		{fmt.Errorf("Redis lost queue x: %w", ErrItemsLost), 4},
		// Lost outranks failed: both can be true, and lost is worse.
		{fmt.Errorf("%w and %w", ErrItemsFailed, ErrItemsLost), 4},
		{withStatus(ErrItemsFailed, "wq-x complete: %d failed", 3), 3},
		{fmt.Errorf("waiting: %w", withStatus(ErrItemsLost, "lost")), 4},
	} {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

package cmd

import (
	"os"

	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal, so that live progress and
// colours go only where a person is watching.
func isTerminal(s any) bool {
	f, ok := s.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Package itemcmd is how an item reaches the user's COMMAND that
// workqueue-worker runs for it: in place of {} in its arguments, as xargs -I
// does, and where that is unsafe. Both the worker and 'kubectl workqueue run'
// use it, so that they agree.
package itemcmd

import (
	"fmt"
	"path"
	"strings"
)

// Placeholder is replaced by the item in COMMAND's arguments.
const Placeholder = "{}"

// Substitute replaces Placeholder in args with item.
func Substitute(args []string, item []byte) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, Placeholder, string(item))
	}
	return out
}

// shells are the programs whose -c argument is a script.
var shells = map[string]bool{"sh": true, "bash": true, "dash": true, "ash": true, "ksh": true, "mksh": true, "zsh": true}

// CheckShellScript refuses {} inside the script of "sh -c SCRIPT" (bash,
// dash, zsh, ... and "busybox sh" alike): it is replaced as text, so an
// item such as `a; rm -rf ~` would run as shell code and one with a quote
// breaks the script. The item is in $WORKQUEUE_ITEM, and {} is safe as an
// argument of its own after the script.
func CheckShellScript(args []string) error {
	if len(args) == 0 {
		return nil
	}
	shell, rest := path.Base(args[0]), args[1:]
	if shell == "busybox" && len(rest) > 0 && shells[rest[0]] {
		shell, rest = rest[0], rest[1:]
	}
	if !shells[shell] {
		return nil
	}
	script, ok := commandString(rest)
	if !ok || !strings.Contains(script, Placeholder) {
		return nil
	}
	return fmt.Errorf(`%s -c: %s in the script is replaced by the item as text, so an item such as 'a; rm -rf ~' would run as shell code: `+
		`use "$WORKQUEUE_ITEM" (quoted) in the script instead, or pass the item as an argument after it: %s -c '... "$1" ...' %s %s`,
		shell, Placeholder, shell, shell, Placeholder)
}

// commandString finds the script of a shell's arguments: the first operand
// when an option cluster holds c (-c, -ec, -xc, ...).
func commandString(args []string) (string, bool) {
	withC := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if withC && i+1 < len(args) {
				return args[i+1], true
			}
			return "", false
		case a == "-o" || a == "+o" || a == "-O" || a == "+O":
			i++ // its option name
		case len(a) > 1 && (a[0] == '-' || a[0] == '+') && !strings.HasPrefix(a, "--"):
			if a[0] == '-' && strings.ContainsRune(a[1:], 'c') {
				withC = true
			}
		case strings.HasPrefix(a, "--"):
			// a long option, e.g. --norc
		default:
			return a, withC
		}
	}
	return "", false
}

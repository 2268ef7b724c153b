// Package itemcmd is how an item reaches the user's COMMAND that
// workqueue-worker runs for it: in place of {} in its arguments, as xargs -I
// does, and where that is unsafe. Both the worker and 'kubectl workqueue run'
// use it, so that they agree.
package itemcmd

import (
	"fmt"
	"path"
	"slices"
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

// CheckScript refuses {} inside code given on the command line: the script
// of "sh -c SCRIPT" (bash, dash, zsh, ... and "busybox sh" alike) and the
// code of "python3 -c", "perl -e", "ruby -e" and "node -e". {} is replaced
// as text, so an item such as `a; rm -rf ~` would run as code, and one with
// a quote breaks it. The item is in $WORKQUEUE_ITEM, and {} is safe as an
// argument of its own after the code.
func CheckScript(args []string) error {
	if len(args) == 0 {
		return nil
	}
	prog, rest := path.Base(args[0]), args[1:]
	if prog == "busybox" && len(rest) > 0 && shells[rest[0]] {
		prog, rest = rest[0], rest[1:]
	}
	if shells[prog] {
		if script, ok := commandString(rest); ok && strings.Contains(script, Placeholder) {
			return fmt.Errorf(`%s -c: %s in the script is replaced by the item as text, so an item such as 'a; rm -rf ~' would run as shell code: `+
				`use "$WORKQUEUE_ITEM" (quoted) in the script instead, or pass the item as an argument after it: %s -c '... "$1" ...' %s %s`,
				prog, Placeholder, prog, prog, Placeholder)
		}
		return nil
	}
	in, ok := interpreterOf(prog)
	if !ok {
		return nil
	}
	for _, c := range in.code(rest) {
		if strings.Contains(c.code, Placeholder) {
			return fmt.Errorf(`%s %s: %s in the code is replaced by the item as text, so an item with a quote in it would run as %s code: `+
				`read the item from the environment instead, %s, or pass it as an argument after the code: %s %s '...' %s (%s)`,
				prog, c.flag, Placeholder, in.lang, in.env, prog, c.flag, Placeholder, in.arg)
		}
	}
	return nil
}

// interpreter says how a language's program takes code on its command line.
type interpreter struct {
	lang     string
	letters  string   // short options whose value is code: "c", "eE"
	long     []string // long options whose value is code: --eval
	withArg  string   // other short options that take a value, which is not code
	stop     string   // short options after which the rest are the program's arguments
	env, arg string   // how the code reads the item from the environment, or as an argument
}

var interpreters = map[string]interpreter{
	"python": {lang: "Python", letters: "c", withArg: "WX", stop: "m",
		env: `os.environ["WORKQUEUE_ITEM"]`, arg: "sys.argv[1]"},
	"perl": {lang: "Perl", letters: "eE", withArg: "IMm",
		env: `$ENV{WORKQUEUE_ITEM}`, arg: "$ARGV[0]"},
	"ruby": {lang: "Ruby", letters: "e", withArg: "IrC",
		env: `ENV["WORKQUEUE_ITEM"]`, arg: "ARGV[0]"},
	"node": {lang: "JavaScript", letters: "ep", long: []string{"--eval", "--print"}, withArg: "r",
		env: "process.env.WORKQUEUE_ITEM", arg: "process.argv[1]"},
}

// interpreterOf knows a program by its name, versions included: python3,
// python3.12, perl5.36, nodejs.
func interpreterOf(prog string) (interpreter, bool) {
	name := strings.TrimRight(prog, "0123456789.")
	if name == "nodejs" {
		name = "node"
	}
	in, ok := interpreters[name]
	return in, ok
}

// codeArg is one piece of code given on the command line, and the option
// that gave it.
type codeArg struct{ flag, code string }

// code finds the code given in args, the program's arguments: the values
// of its code options, up to the first operand (a script file, whose own
// arguments follow) or "--".
func (in interpreter) code(args []string) []codeArg {
	var out []codeArg
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--" || a == "-" || !strings.HasPrefix(a, "-"):
			return out
		case strings.HasPrefix(a, "--"):
			name, value, attached := strings.Cut(a, "=")
			if !slices.Contains(in.long, name) {
				continue
			}
			if attached {
				out = append(out, codeArg{name, value})
			} else if i+1 < len(args) {
				out = append(out, codeArg{name, args[i+1]})
				i++
			}
		default:
			// A cluster of short options: -c CODE, -cCODE, -uc CODE, -le CODE.
			for j := 1; j < len(a); j++ {
				l := a[j]
				if strings.IndexByte(in.letters+in.withArg+in.stop, l) < 0 {
					continue // an option without a value, e.g. -u
				}
				value := a[j+1:]
				if value == "" && i+1 < len(args) {
					i++
					value = args[i]
				}
				if strings.IndexByte(in.letters, l) >= 0 {
					out = append(out, codeArg{"-" + string(l), value})
				}
				if strings.IndexByte(in.stop, l) >= 0 {
					return out
				}
				break
			}
		}
	}
	return out
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

package itemcmd

import (
	"strings"
	"testing"
)

func TestSubstituteReplacesEveryPlaceholder(t *testing.T) {
	got := Substitute([]string{"convert", "{}", "/out/{}.png"}, []byte("a b"))
	if strings.Join(got, "|") != "convert|a b|/out/a b.png" {
		t.Fatalf("%q", got)
	}
}

func TestCheckScriptRefusesBracesInsideAShellScript(t *testing.T) {
	for _, args := range [][]string{
		{"sh", "-c", "echo {}"},
		{"/bin/bash", "-ec", "convert {} out.png"},
		{"bash", "-o", "pipefail", "-c", `echo "{}" | wc -c`},
		{"busybox", "sh", "-c", "echo {}"},
		{"zsh", "-x", "-c", "echo {}"},
		{"dash", "-c", "--", "echo {}"},
	} {
		err := CheckScript(args)
		if err == nil || !strings.Contains(err.Error(), `use "$WORKQUEUE_ITEM" (quoted)`) {
			t.Errorf("%q: %v", args, err)
		}
	}
	for _, args := range [][]string{
		{"sh", "-c", `echo "$WORKQUEUE_ITEM"`},
		{"sh", "-c", `convert "$1" out.png`, "sh", "{}"},
		{"convert", "{}", "/out/{}.png"},
		{"sh", "script-{}.sh"},
		{},
	} {
		if err := CheckScript(args); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
}

// Code given to an interpreter on its command line is code as much as a
// shell's script: an item with a quote in it would run as code.
func TestCheckScriptRefusesBracesInsideInterpretersCode(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"python3", "-c", "print('{}')"}, `python3 -c: {} in the code is replaced by the item as text`},
		{[]string{"/usr/bin/python3.11", "-u", "-c", "open('{}')"}, `os.environ["WORKQUEUE_ITEM"]`},
		{[]string{"python", "-uc", "open('{}')"}, "sys.argv[1]"},
		{[]string{"python3", "-W", "ignore", "-cimport os; os.remove('{}')"}, "python3 -c:"},
		{[]string{"perl", "-le", "print '{}'"}, `perl -e: {} in the code`},
		{[]string{"perl", "-E", "say 1", "-e", "unlink '{}'"}, `$ENV{WORKQUEUE_ITEM}`},
		{[]string{"ruby", "-e", "File.read('{}')"}, `ENV["WORKQUEUE_ITEM"]`},
		{[]string{"node", "-e", "console.log('{}')"}, "process.env.WORKQUEUE_ITEM"},
		{[]string{"nodejs", "--eval=require('fs').rmSync('{}')"}, "nodejs --eval:"},
		{[]string{"node", "--print", "'{}'.length"}, "process.argv[1]"},
	} {
		err := CheckScript(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.args, err, tc.want)
		}
	}
	for _, args := range [][]string{
		{"python3", "-c", `import os; print(os.environ["WORKQUEUE_ITEM"])`},
		{"python3", "-c", "import sys; print(dict().get(sys.argv[1]))", "{}"},
		{"python3", "-c", "import sys; print(sys.argv[1])", "{}"},
		{"python3", "process.py", "{}"},
		{"python3", "-m", "mytool", "--input", "{}"},
		{"python3", "-W", "ignore", "process.py", "-c", "{}"},
		{"perl", "-e", "print $ARGV[0]", "{}"},
		{"perl", "script.pl", "-e", "{}"},
		{"ruby", "-I", "lib", "run.rb", "{}"},
		{"node", "app.js", "-e", "{}"},
		{"pythonista", "-c", "{}"},
	} {
		if err := CheckScript(args); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
}

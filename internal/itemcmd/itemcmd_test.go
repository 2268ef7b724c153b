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

func TestCheckShellScriptRefusesBracesInsideTheScript(t *testing.T) {
	for _, args := range [][]string{
		{"sh", "-c", "echo {}"},
		{"/bin/bash", "-ec", "convert {} out.png"},
		{"bash", "-o", "pipefail", "-c", `echo "{}" | wc -c`},
		{"busybox", "sh", "-c", "echo {}"},
		{"zsh", "-x", "-c", "echo {}"},
		{"dash", "-c", "--", "echo {}"},
	} {
		err := CheckShellScript(args)
		if err == nil || !strings.Contains(err.Error(), `use "$WORKQUEUE_ITEM" (quoted)`) {
			t.Errorf("%q: %v", args, err)
		}
	}
	for _, args := range [][]string{
		{"sh", "-c", `echo "$WORKQUEUE_ITEM"`},
		{"sh", "-c", `convert "$1" out.png`, "sh", "{}"},
		{"convert", "{}", "/out/{}.png"},
		{"sh", "script-{}.sh"},
		{"python3", "-c", "print('{}')"},
		{},
	} {
		if err := CheckShellScript(args); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
}

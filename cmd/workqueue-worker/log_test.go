package main

import "testing"

// Items and errors in the worker's log lines never carry raw control
// characters or bytes that are not UTF-8 to the terminal.
func TestLogQuotesWhatIsNotPlainText(t *testing.T) {
	for in, want := range map[string]string{
		"img-001.png":  "img-001.png",
		"":             `""`,
		"two words":    `"two words"`,
		"bin\xff":      `"bin\xff"`,
		"esc\x1b[31m":  `"esc\x1b[31m"`,
		"line\nbreak":  `"line\nbreak"`,
		"ünïcödé-ok":   "ünïcödé-ok",
		"key=value":    `"key=value"`,
		`say "hello"`:  `"say \"hello\""`,
		"tab\tinside":  `"tab\tinside"`,
		"nul\x00byte":  `"nul\x00byte"`,
		"zero\u200bw":  `"zero\u200bw"`,
		"emoji-🙂-fine": "emoji-🙂-fine",
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}

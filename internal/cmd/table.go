package cmd

import (
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// columnGap separates the columns of a table.
const columnGap = "   "

// table prints rows whose columns line up on a terminal: each column is as
// wide as its widest cell so far, measured in terminal cells (a CJK
// character takes two, a combining mark none), at least its minimum. Rows
// printed together line up whatever their contents; a later row (status
// --watch) keeps the widths and only widens a column that has outgrown them.
type table struct {
	w      io.Writer
	widths []int
}

// newTable makes a table whose columns are at least minWidths wide.
func newTable(w io.Writer, minWidths ...int) *table {
	return &table{w: w, widths: minWidths}
}

// print writes rows, each a line of cells.
func (t *table) print(rows ...[]string) error {
	for _, cells := range rows {
		for i, c := range cells {
			if i >= len(t.widths) {
				t.widths = append(t.widths, 0)
			}
			t.widths[i] = max(t.widths[i], displayWidth(c))
		}
	}
	var b strings.Builder
	for _, cells := range rows {
		line := ""
		for i, c := range cells {
			if i > 0 {
				line += columnGap
			}
			line += c
			if i < len(cells)-1 {
				line += strings.Repeat(" ", t.widths[i]-displayWidth(c))
			}
		}
		b.WriteString(strings.TrimRight(line, " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(t.w, b.String())
	return err
}

// displayWidth is how many terminal cells s takes.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		case width.LookupRune(r).Kind() == width.EastAsianWide, width.LookupRune(r).Kind() == width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}

// cell shows a user-given string in a table: as it is when it prints
// plainly, else quoted, so that a tab or a newline cannot break the table.
func cell(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) || r == utf8.RuneError {
			return strconv.Quote(s)
		}
	}
	return s
}

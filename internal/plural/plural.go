// Package plural counts things in messages: "1 item", "3 items".
package plural

import "strconv"

// Count is n followed by noun, with an s unless n is 1 (nouns whose plural
// is not noun+"s" do not belong here).
func Count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

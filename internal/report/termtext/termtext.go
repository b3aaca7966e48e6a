// Package termtext keeps text from a model on one line of a terminal.
package termtext

import "strings"

// Clean turns control characters (escape sequences included), line and
// paragraph separators and bidi overrides into spaces.
func Clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') {
			return ' '
		}
		return r
	}, s)
}

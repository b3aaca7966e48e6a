// Package mdtext makes text from a model safe inside Markdown.
package mdtext

import (
	"strings"
	"unicode"
)

// Markdown specials, HTML brackets, table pipes and headings are escaped;
// line breaks would end table rows, so they become spaces.
var escaper = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", "&lt;", ">", "&gt;", "|", `\|`, "#", `\#`, "~", `\~`, "\n", " ", "\r", " ")

// In a pull-request comment @name would notify people.
var mention = strings.NewReplacer("@", "@\u200b")

// Comment is Escape for pull-request comments: @ mentions are broken too.
func Comment(s string) string { return mention.Replace(Escape(s)) }

// Escape makes model text inert inside Markdown and the HTML it renders to.
// Control, bidi and line-separator characters become spaces.
func Escape(s string) string {
	return escaper.Replace(strings.Map(func(r rune) rune {
		if r != '\n' && r != '\r' && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029') {
			return ' '
		}
		return r
	}, s))
}

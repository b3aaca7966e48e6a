package yamlfast

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// docGen writes random documents in and around the subset Parse reads:
// nested block maps and lists, flow collections, every scalar style,
// comments, blank lines, and now and then something just outside it.
type docGen struct {
	r *rand.Rand
	b strings.Builder
}

var scalars = []string{
	"a", "abc", "x y z", "true", "False", "yes", "no", "on", "null", "~", "Null", "1", "-1", "+1", "0", "00", "07", "08", "0x1F",
	"0o17", "0b11", "1_000", "1.5", ".5", "-.5", "1e3", "1E-3", ".inf", "-.inf", ".nan", "2026-01-01", "2026-1-1", "2026-01-01T10:00:00Z",
	"2026-01-01 10:00:00", "1:20", "-", "-x", "--x", "a-b", "http://x.y/z?q=1", "a:b", "a#b", "a # b", "a,b", "a]", "a}", "[a", "{a",
	"ünï", "çödé ünï", "日本", "😀", "a'b", `a"b`, "<<", "=", "?", "?x", ":x", "x:", "%x", "@x", "`x", "!x", "&x", "*x", "|", ">",
	"a\\b", " a", "a ", "a  b", "#", "- a", "a: b", "0.", "+.5", "1__0", "0b", "9223372036854775807", "9223372036854775808",
	"-9223372036854775809", "18446744073709551616", "1.7976931348623157e309", "0x", "+", "+-1", ".", "..", "...", "---", "Y", "n", "N", "O",
}

func (g *docGen) scalar(flow bool) string {
	s := scalars[g.r.IntN(len(scalars))]
	switch g.r.IntN(6) {
	case 0:
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	case 1:
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	case 2:
		esc := []string{`\n`, `\t`, `\x41`, `\u00e9`, `\U0001F600`, `\0`, `\e`, `\ `, `\/`, `\N`, `\_`, `\L`, `\P`, `\a`, `\q`, `\x4`, `\ud800`}
		return `"` + s + esc[g.r.IntN(len(esc))] + `"`
	}
	return s
}

func (g *docGen) flow(depth int) string {
	if depth > 3 || g.r.IntN(3) == 0 {
		return g.scalar(true)
	}
	n := g.r.IntN(4)
	parts := make([]string, n)
	if g.r.IntN(2) == 0 {
		for i := range parts {
			parts[i] = g.flow(depth + 1)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	for i := range parts {
		sep := ": "
		if g.r.IntN(8) == 0 {
			sep = ":"
		}
		parts[i] = g.scalar(true) + sep + g.flow(depth+1)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func (g *docGen) noise() {
	switch g.r.IntN(12) {
	case 0:
		g.b.WriteString("\n")
	case 1:
		g.b.WriteString(strings.Repeat(" ", g.r.IntN(6)) + "# comment\n")
	case 2:
		g.b.WriteString("   \n")
	}
}

func (g *docGen) value(indent, depth int) {
	switch k := g.r.IntN(10); {
	case depth < 4 && k < 3:
		g.comment()
		g.b.WriteString("\n")
		g.block(indent+2+g.r.IntN(2)*2, depth+1, g.r.IntN(2) == 0)
	case depth < 4 && k == 3:
		g.b.WriteString("\n")
		g.block(indent, depth+1, true) // a list at the key's indentation
	case k < 6:
		g.b.WriteString(" " + g.flow(0))
		g.comment()
		g.b.WriteString("\n")
	case k == 6:
		g.comment()
		g.b.WriteString("\n") // empty: null
	default:
		g.b.WriteString(" " + g.scalar(false))
		g.comment()
		g.b.WriteString("\n")
	}
}

func (g *docGen) comment() {
	if g.r.IntN(6) == 0 {
		g.b.WriteString(" # note")
	}
}

// block writes a map (or a list) at indent.
func (g *docGen) block(indent, depth int, list bool) {
	n := 1 + g.r.IntN(4)
	pad := strings.Repeat(" ", indent)
	for range n {
		g.noise()
		if list {
			g.b.WriteString(pad + "-")
			if depth < 4 && g.r.IntN(3) == 0 {
				// A map starting on the dash's line.
				g.b.WriteString(" " + g.scalar(false) + ":")
				g.value(indent+2, depth+1)
				for range g.r.IntN(3) {
					g.b.WriteString(pad + "  " + g.scalar(false) + ":")
					g.value(indent+2, depth+1)
				}
				continue
			}
			g.b.WriteString(" " + g.flow(0))
			g.comment()
			g.b.WriteString("\n")
			continue
		}
		g.b.WriteString(pad + g.scalar(false) + ":")
		g.value(indent, depth)
	}
}

func (g *docGen) doc() string {
	g.b.Reset()
	g.block(g.r.IntN(2)*2, 0, false)
	s := g.b.String()
	// Now and then, break it a little.
	if g.r.IntN(8) == 0 && len(s) > 2 {
		i := g.r.IntN(len(s))
		bad := []string{"\t", "\r", "\r\n", " ", "  ", "\n", ":", "-", "#", "'", `"`, "[", "]", "{", "}", ",", "&a ", "*a", "!", "|", "---\n", "\u2028", "\ufeff", "\x7f"}
		s = s[:i] + bad[g.r.IntN(len(bad))] + s[i:]
	}
	if g.r.IntN(4) == 0 {
		s = strings.ReplaceAll(s, "\n", "\r\n")
	}
	return s
}

// TestGeneratedDocuments: on many random documents around the subset, the
// fast path either agrees with yaml/v3 or steps aside, and takes most of
// the unbroken ones.
func TestGeneratedDocuments(t *testing.T) {
	n := 20_000
	if testing.Short() {
		n = 2000
	}
	g := &docGen{r: rand.New(rand.NewPCG(7, 11))}
	taken := 0
	for i := range n {
		if agree(t, fmt.Sprintf("document %d", i), g.doc()) {
			taken++
		}
	}
	t.Logf("fast path taken for %d of %d documents", taken, n)
	if taken < n/10 {
		t.Errorf("the fast path took only %d of %d documents", taken, n)
	}
}

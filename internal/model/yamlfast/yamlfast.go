// Package yamlfast reads the subset of YAML that threat models are written
// in, tens of times faster than go.yaml.in/yaml/v3 (about 250 MB/s against
// 7 MB/s, bench/README.md) and with few allocations (none per value: the
// handler decides), and gives exactly the values, resolved tags and positions
// yaml/v3 gives for it: block maps and lists, flow maps and lists on one
// line, plain scalars and quoted scalars on one line, and comments.
//
// Anything else (anchors, aliases, tags, merge keys, block scalars, a plain
// or quoted scalar or flow collection over several lines, explicit keys,
// directives and document markers, tabs, line breaks other than LF and
// CRLF, characters YAML refuses) and anything malformed makes Parse report
// false, without a reason: the caller then parses the same bytes with
// yaml/v3, which reads or reports them as it always did. The package never
// reports an error of its own, so every diagnostic still comes from one
// parser, and the fast path can only be taken when it agrees with it
// (TestAgreesWithYAMLv3, TestGeneratedDocuments and FuzzAgreesWithYAMLv3
// check that).
package yamlfast

import (
	"os"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Handler receives a document's values in order. Map and Seq open a
// collection that End closes; inside a map, values alternate key, value,
// and a key is always a Scalar. Line and col are 1-based; col counts
// characters, as yaml/v3 does. Tag is the resolved short tag of a scalar
// (!!str, !!int, !!float, !!bool, !!null, !!timestamp). A method returns
// false to stop the parse (for a limit, or a duplicate key), which then
// reports false.
type Handler interface {
	Scalar(value, tag string, line, col int) bool
	Map(line, col int) bool
	Seq(line, col int) bool
	End() bool
}

// maxNesting bounds the parser's own recursion whatever the handler allows.
const maxNesting = 1000

// maxKey is below the 1024 characters yaml/v3 allows between the start of
// an implicit key and its colon.
const maxKey = 1000

type bail struct{}

// Parse reads src, one YAML document whose top level is a block map, into
// h. It reports false when src is outside the subset this package reads,
// is malformed, or h stopped it; what h received is then to be discarded.
// With MLTHREAT_YAML=v3 in the environment it always reports false, so
// that every file goes to yaml/v3 (docs/interop.md).
func Parse(src string, h Handler) bool {
	if os.Getenv("MLTHREAT_YAML") == "v3" {
		return false
	}
	ok, _ := parse(src, h)
	return ok
}

// parse is Parse that also says on which line it stepped aside (0 when it
// refused the text as a whole).
func parse(src string, h Handler) (ok bool, line int) {
	if !utf8.ValidString(src) {
		return false, 0
	}
	ok, ascii := prescan(src)
	if !ok {
		return false, 0
	}
	p := &parser{s: src, h: h, line: 1, ascii: ascii}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(bail); !ok {
				panic(r)
			}
			ok, line = false, p.line
		}
	}()
	c := p.nextContent()
	if c < 0 || p.isSeqEntry() || !p.isKeyLine() {
		return false, p.line
	}
	if p.blockMap(c) != -1 {
		return false, p.line
	}
	return true, 0
}

// prescan refuses what yaml/v3 reads differently from a plain byte stream:
// tabs (which it accepts in some places only), line breaks other than LF
// and CRLF (CR, NEL, LS, PS), byte order marks inside the text, and the
// characters it refuses (C0 and C1 controls, DEL, U+FFFE, U+FFFF). It also
// says whether the text is ASCII, where columns are byte offsets.
func prescan(s string) (ok, ascii bool) {
	var high byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		high |= c
		switch class[c] {
		case 0:
		case refuse:
			return false, false
		default:
			switch c {
			case '\r':
				if i+1 >= len(s) || s[i+1] != '\n' {
					return false, false
				}
			case 0xc2:
				if i+1 < len(s) && s[i+1] < 0xa0 {
					return false, false
				}
			case 0xe2:
				if i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xa8 || s[i+2] == 0xa9) {
					return false, false
				}
			case 0xef:
				if i+2 < len(s) && ((s[i+1] == 0xbb && s[i+2] == 0xbf) || (s[i+1] == 0xbf && s[i+2] >= 0xbe)) {
					return false, false
				}
			}
		}
	}
	return true, high < 0x80
}

const (
	refuse = 1 // a byte prescan refuses
	look   = 2 // a byte whose neighbours decide
)

var class = func() (t [256]byte) {
	for c := range 0x20 {
		t[c] = refuse
	}
	t['\n'], t[0x7f] = 0, refuse
	t['\r'], t[0xc2], t[0xe2], t[0xef] = look, look, look, look
	return t
}()

type parser struct {
	s     string
	i     int // read position
	line  int // 1-based line of i
	ls    int // offset where that line starts
	ce    int // column cache: offset ce is at 0-based column cc of the line
	cc    int
	depth int
	ascii bool // no character takes more than a byte
	h     Handler
}

func fail() { panic(bail{}) }

func (p *parser) check(ok bool) {
	if !ok {
		fail()
	}
}

// col is the 1-based character column of offset off on the current line.
// Offsets asked for on one line only grow, so counting is linear.
func (p *parser) col(off int) int {
	if p.ascii {
		return off - p.ls + 1
	}
	if off < p.ce {
		p.ce, p.cc = p.ls, 0
	}
	for ; p.ce < off; p.ce++ {
		if p.s[p.ce]&0xc0 != 0x80 {
			p.cc++
		}
	}
	return p.cc + 1
}

// blankz: a space, a line break or the end, what ends a token.
func (p *parser) blankz(i int) bool {
	return i >= len(p.s) || p.s[i] == ' ' || p.s[i] == '\n' || p.s[i] == '\r'
}

func (p *parser) eol(i int) bool {
	return i >= len(p.s) || p.s[i] == '\n' || p.s[i] == '\r'
}

// newline moves past the line break at i (or stays at the end).
func (p *parser) newline(i int) {
	if i < len(p.s) && p.s[i] == '\r' {
		i++
	}
	if i < len(p.s) && p.s[i] == '\n' {
		i++
		p.line++
		p.ls, p.ce, p.cc = i, i, 0
	}
	p.i = i
}

// nextContent moves to the first character of the next line that is not
// blank or a comment and returns its column, or -1 at the end.
func (p *parser) nextContent() int {
	s := p.s
	for p.i < len(s) {
		j := p.i
		for j < len(s) && s[j] == ' ' {
			j++
		}
		if j >= len(s) {
			p.i = j
			return -1
		}
		if c := s[j]; c == '\n' || c == '\r' || c == '#' {
			k := strings.IndexByte(s[j:], '\n')
			if k < 0 {
				p.i = len(s)
				return -1
			}
			p.newline(j + k)
			continue
		}
		if j == p.ls {
			// Directives and document markers start at column 0.
			if s[j] == '%' || ((strings.HasPrefix(s[j:], "---") || strings.HasPrefix(s[j:], "...")) && p.blankz(j+3)) {
				fail()
			}
		}
		p.i = j
		return j - p.ls
	}
	return -1
}

// endLine accepts trailing spaces and a comment, then moves to the next line.
func (p *parser) endLine() {
	s, i := p.s, p.i
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i < len(s) && s[i] == '#' {
		if i == p.i {
			fail() // a comment needs a space before it
		}
		k := strings.IndexByte(s[i:], '\n')
		if k < 0 {
			i = len(s)
		} else {
			i += k
		}
		if s[i-1] == '\r' {
			i--
		}
	}
	if !p.eol(i) {
		fail()
	}
	p.newline(i)
}

func (p *parser) isSeqEntry() bool {
	return p.i < len(p.s) && p.s[p.i] == '-' && p.blankz(p.i+1)
}

// isKeyLine reports whether the text at i is an implicit key: a scalar
// followed by a colon and a blank.
func (p *parser) isKeyLine() bool {
	i, end := p.i, 0
	switch p.s[i] {
	case '"':
		_, end = p.dquote(i)
	case '\'':
		_, end = p.squote(i)
	default:
		if !p.plainStart(i, false) {
			return false
		}
		end = p.plain(i, false)
	}
	for end < len(p.s) && p.s[end] == ' ' {
		end++
	}
	return end < len(p.s) && p.s[end] == ':' && p.blankz(end+1)
}

func (p *parser) open(ok bool) {
	p.depth++
	if !ok || p.depth > maxNesting {
		fail()
	}
}

func (p *parser) close() {
	p.depth--
	p.check(p.h.End())
}

// blockMap reads a block map whose keys are at column ind, starting at the
// first key, and returns the column of the line after it (-1 at the end).
func (p *parser) blockMap(ind int) int {
	p.open(p.h.Map(p.line, p.col(p.i)))
	for {
		if p.isSeqEntry() {
			fail()
		}
		start := p.i
		v, tag := p.scalar(false)
		j := p.i
		for j < len(p.s) && p.s[j] == ' ' {
			j++
		}
		if j >= len(p.s) || p.s[j] != ':' || !p.blankz(j+1) || j-start > maxKey {
			fail()
		}
		p.check(p.h.Scalar(v, tag, p.line, p.col(start)))
		j++ // the colon
		p.i = j
		for p.i < len(p.s) && p.s[p.i] == ' ' {
			p.i++
		}
		var c int
		if p.eol(p.i) || (p.s[p.i] == '#' && p.i > j) {
			// The value is on the following lines, or empty.
			line, col := p.line, p.col(j)
			p.endLine()
			c = p.nextContent()
			switch {
			case c > ind && p.isSeqEntry():
				c = p.blockSeq(c)
			case c > ind && p.isKeyLine():
				c = p.blockMap(c)
			case c > ind:
				fail() // a scalar on its own line: rare, left to yaml/v3
			case c == ind && p.isSeqEntry():
				c = p.blockSeq(c) // a list at the key's indentation
			default:
				p.check(p.h.Scalar("", "!!null", line, col))
			}
		} else if p.s[p.i] == '|' || p.s[p.i] == '>' {
			p.blockScalar(ind)
			c = p.nextContent()
		} else {
			p.inline()
			c = p.nextContent()
		}
		if c < ind {
			p.close()
			return c
		}
		if c > ind {
			fail() // a continuation line, or bad indentation
		}
	}
}

// blockSeq reads a block list whose dashes are at column ind.
func (p *parser) blockSeq(ind int) int {
	p.open(p.h.Seq(p.line, p.col(p.i)))
	for {
		p.i++ // the dash
		for p.i < len(p.s) && p.s[p.i] == ' ' {
			p.i++
		}
		if p.eol(p.i) || p.s[p.i] == '#' || p.isSeqEntry() {
			fail() // an empty item, an item on the next line, or "- - x"
		}
		var c int
		if p.isKeyLine() {
			c = p.blockMap(p.col(p.i) - 1)
		} else {
			p.inline()
			c = p.nextContent()
		}
		if c == ind && p.isSeqEntry() {
			continue
		}
		if c > ind {
			fail()
		}
		p.close()
		return c
	}
}

// blockScalar reads a literal (|) or folded (>) scalar, the value of a key
// at column ind, whose header is at p.i. It takes the common form only:
// clip or strip chomping, no indentation indicator, content starting on
// the next line, no more-indented lines, LF line breaks; the rest is left
// to yaml/v3. It stops at the start of the first line after the scalar.
func (p *parser) blockScalar(ind int) {
	s := p.s
	line, col := p.line, p.col(p.i)
	folded := s[p.i] == '>'
	p.i++
	strip := false
	if p.i < len(s) && s[p.i] == '-' {
		strip = true
		p.i++
	}
	if p.i >= len(s) || (s[p.i] != ' ' && s[p.i] != '\n') {
		fail() // keep chomping (+), an indentation indicator, CRLF, the end
	}
	p.endLine()
	var lines []string // content without the indentation; "" for an empty line
	indent := -1
	for p.i < len(s) {
		j := p.i
		for j < len(s) && s[j] == ' ' {
			j++
		}
		if j >= len(s) || s[j] == '\n' {
			if indent < 0 || j-p.i > indent {
				fail() // leading empty lines; spaces that would be content
			}
			lines = append(lines, "")
			if j >= len(s) {
				p.i = j
				break
			}
			p.newline(j)
			continue
		}
		n := j - p.i
		if indent < 0 {
			if n <= ind {
				fail() // an empty scalar
			}
			indent = n
		}
		if n < indent {
			break
		}
		if n > indent {
			fail() // more-indented lines fold differently
		}
		k := strings.IndexByte(s[j:], '\n')
		if k < 0 {
			fail() // the last line has no line break
		}
		text := s[j : j+k]
		if strings.IndexByte(text, '\r') >= 0 {
			fail()
		}
		lines = append(lines, text)
		p.newline(j + k)
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1] // trailing empty lines only chomp
	}
	if len(lines) == 0 {
		fail()
	}
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			switch {
			case !folded || l == "":
				b.WriteByte('\n')
			case lines[i-1] != "":
				b.WriteByte(' ')
			}
		}
		b.WriteString(l)
	}
	if !strip {
		b.WriteByte('\n')
	}
	p.check(p.h.Scalar(b.String(), "!!str", line, col))
}

// inline reads a value that starts on the current line and ends on it.
func (p *parser) inline() {
	switch p.s[p.i] {
	case '[':
		p.flowSeq()
	case '{':
		p.flowMap()
	default:
		start := p.i
		v, tag := p.scalar(false)
		p.check(p.h.Scalar(v, tag, p.line, p.col(start)))
	}
	p.endLine()
}

// scalar reads a plain or quoted scalar at i.
func (p *parser) scalar(flow bool) (string, string) {
	i := p.i
	switch p.s[i] {
	case '"':
		v, end := p.dquote(i)
		p.i = end
		return v, "!!str"
	case '\'':
		v, end := p.squote(i)
		p.i = end
		return v, "!!str"
	}
	if !p.plainStart(i, flow) {
		fail()
	}
	end := p.plain(i, flow)
	v := p.s[i:end]
	if v == "<<" {
		fail() // a merge key
	}
	p.i = end
	return v, resolve(v)
}

// plainStart: what may start a plain scalar (a little stricter than YAML).
func (p *parser) plainStart(i int, flow bool) bool {
	switch p.s[i] {
	case '-':
		return !p.blankz(i + 1)
	case ' ', '\n', '\r', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		return false
	}
	return true
}

// plain returns the end of the plain scalar starting at i, trailing spaces
// excluded. It ends at ": ", at " #", at the end of the line and, in flow
// context, at a flow indicator; a line break ends it here, and the callers
// refuse a following line that would continue it.
func (p *parser) plain(i int, flow bool) int {
	s := p.s
	end := i
	for {
		for i < len(s) {
			c := s[i]
			if c == ' ' || c == '\n' || c == '\r' {
				break
			}
			if c == ':' && p.blankz(i+1) {
				return end
			}
			if flow && (c == ',' || c == '?' || c == '[' || c == ']' || c == '{' || c == '}') {
				return end
			}
			i++
			end = i
		}
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if p.eol(i) || s[i] == '#' {
			return end
		}
	}
}

// dquote reads a double-quoted scalar that closes on its line; it returns
// the value and the offset after the closing quote.
func (p *parser) dquote(i int) (string, int) {
	s := p.s
	j := i + 1
	for j < len(s) {
		switch s[j] {
		case '"':
			return s[i+1 : j], j + 1
		case '\n', '\r':
			fail()
		}
		if s[j] == '\\' {
			break
		}
		j++
	}
	if j >= len(s) {
		fail()
	}
	b := []byte(s[i+1 : j])
	for j < len(s) {
		c := s[j]
		switch c {
		case '"':
			return string(b), j + 1
		case '\n', '\r':
			fail()
		case '\\':
			if j+1 >= len(s) {
				fail()
			}
			n := 0
			switch s[j+1] {
			case '0':
				b = append(b, 0)
			case 'a':
				b = append(b, '\a')
			case 'b':
				b = append(b, '\b')
			case 't':
				b = append(b, '\t')
			case 'n':
				b = append(b, '\n')
			case 'v':
				b = append(b, '\v')
			case 'f':
				b = append(b, '\f')
			case 'r':
				b = append(b, '\r')
			case 'e':
				b = append(b, 0x1b)
			case ' ':
				b = append(b, ' ')
			case '"':
				b = append(b, '"')
			case '\'':
				b = append(b, '\'')
			case '\\':
				b = append(b, '\\')
			case 'N':
				b = append(b, "\u0085"...)
			case '_':
				b = append(b, "\u00a0"...)
			case 'L':
				b = append(b, "\u2028"...)
			case 'P':
				b = append(b, "\u2029"...)
			case 'x':
				n = 2
			case 'u':
				n = 4
			case 'U':
				n = 8
			default:
				fail() // an unknown escape or an escaped line break
			}
			j += 2
			if n > 0 {
				if j+n > len(s) {
					fail()
				}
				v := 0
				for k := j; k < j+n; k++ {
					d := hexDigit(s[k])
					if d < 0 {
						fail()
					}
					v = v<<4 | d
				}
				if (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff {
					fail()
				}
				b = appendCode(b, v)
				j += n
			}
		default:
			b = append(b, c)
			j++
		}
	}
	fail()
	return "", 0
}

func hexDigit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// appendCode encodes a code point the way yaml/v3 does, without checks.
func appendCode(b []byte, v int) []byte {
	switch {
	case v <= 0x7f:
		return append(b, byte(v))
	case v <= 0x7ff:
		return append(b, byte(0xc0+(v>>6)), byte(0x80+(v&0x3f)))
	case v <= 0xffff:
		return append(b, byte(0xe0+(v>>12)), byte(0x80+((v>>6)&0x3f)), byte(0x80+(v&0x3f)))
	}
	return append(b, byte(0xf0+(v>>18)), byte(0x80+((v>>12)&0x3f)), byte(0x80+((v>>6)&0x3f)), byte(0x80+(v&0x3f)))
}

// squote reads a single-quoted scalar that closes on its line.
func (p *parser) squote(i int) (string, int) {
	s := p.s
	var b []byte
	from := i + 1
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\n', '\r':
			fail()
		case '\'':
			if j+1 < len(s) && s[j+1] == '\'' {
				b = append(b, s[from:j+1]...)
				j++
				from = j + 1
				continue
			}
			if b == nil {
				return s[from:j], j + 1
			}
			return string(append(b, s[from:j]...)), j + 1
		}
	}
	fail()
	return "", 0
}

// spaces skips spaces inside a flow collection, which must close on its line.
func (p *parser) spaces() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
	if p.eol(p.i) || p.s[p.i] == '#' {
		fail()
	}
}

func (p *parser) flowNode() {
	switch p.s[p.i] {
	case '[':
		p.flowSeq()
	case '{':
		p.flowMap()
	default:
		start := p.i
		v, tag := p.scalar(true)
		p.check(p.h.Scalar(v, tag, p.line, p.col(start)))
	}
}

func (p *parser) flowSeq() {
	p.open(p.h.Seq(p.line, p.col(p.i)))
	p.i++
	p.spaces()
	if p.s[p.i] == ']' {
		p.i++
		p.close()
		return
	}
	for {
		p.flowNode()
		p.spaces()
		switch p.s[p.i] {
		case ',':
			p.i++
			p.spaces()
			if p.s[p.i] == ']' {
				fail() // a trailing comma
			}
		case ']':
			p.i++
			p.close()
			return
		default:
			fail() // "[a: b]" and the like
		}
	}
}

func (p *parser) flowMap() {
	p.open(p.h.Map(p.line, p.col(p.i)))
	p.i++
	p.spaces()
	if p.s[p.i] == '}' {
		p.i++
		p.close()
		return
	}
	for {
		start := p.i
		if c := p.s[start]; c == '[' || c == '{' {
			fail()
		}
		v, tag := p.scalar(true)
		p.spaces()
		// After a quoted key, as in JSON, the colon needs no space after it.
		quoted := p.s[start] == '"' || p.s[start] == '\''
		if p.s[p.i] != ':' || p.i+1 >= len(p.s) || (p.s[p.i+1] != ' ' && !quoted) || p.i-start > maxKey {
			fail()
		}
		p.check(p.h.Scalar(v, tag, p.line, p.col(start)))
		p.i++
		p.spaces()
		if c := p.s[p.i]; c == ',' || c == '}' || c == ']' {
			fail() // an empty value
		}
		p.flowNode()
		p.spaces()
		switch p.s[p.i] {
		case ',':
			p.i++
			p.spaces()
			if p.s[p.i] == '}' {
				fail()
			}
		case '}':
			p.i++
			p.close()
			return
		default:
			fail()
		}
	}
}

// resolve gives a plain scalar's tag as yaml/v3 resolves it. Only the
// first characters in yaml/v3's resolve table can give anything but !!str;
// of those, the words it knows and plain decimals are decided here, the
// same way, and the rest by yaml/v3 itself.
func resolve(v string) string {
	switch v[0] {
	case 'y', 'Y', 'n', 'N', 't', 'T', 'f', 'F', 'o', 'O', '~':
		switch v {
		case "true", "True", "TRUE", "false", "False", "FALSE":
			return "!!bool"
		case "~", "null", "Null", "NULL":
			return "!!null"
		}
		return "!!str"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if decimal(v) {
			return "!!int"
		}
	case '+', '<', '.':
	default:
		return "!!str"
	}
	n := yaml.Node{Kind: yaml.ScalarNode, Value: v}
	return n.ShortTag()
}

// decimal: 0, or an optional minus and up to 18 digits without a leading
// zero, which yaml/v3 reads as an int (strconv.ParseInt with base 0 takes
// it, and it cannot be a timestamp).
func decimal(v string) bool {
	if v == "0" {
		return true
	}
	if v[0] == '-' {
		v = v[1:]
	}
	if v == "" || len(v) > 18 || v[0] == '0' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

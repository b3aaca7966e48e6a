package server

import (
	"encoding/binary"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// The push body and the parts of it the server reads are decoded by a fast
// path: one pass, validating as it goes, and reading only the fields the
// server needs. It handles well-formed, plain input only and gives up
// (bad) on anything else: a syntax error, a value of the wrong type, a key
// given twice or spelled with escapes or non-ASCII letters. The caller then
// decodes with encoding/json, whose result and error messages stand. When
// the fast path succeeds, its result is what encoding/json gives (the fuzz
// tests compare them).

// maxFastDepth bounds nesting on the fast path (encoding/json allows
// 10,000); deeper input falls back.
const maxFastDepth = 512

// jcur reads JSON from b. A failure is sticky: it sets bad and moves to
// the end of the input, so that loops stop.
type jcur struct {
	b     []byte
	i     int
	depth int
	bad   bool
}

func (c *jcur) fail() {
	c.bad = true
	c.i = len(c.b)
}

func (c *jcur) ws() {
	for c.i < len(c.b) {
		switch c.b[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

// eat consumes ch (after white space) if it is next.
func (c *jcur) eat(ch byte) bool {
	c.ws()
	if c.i < len(c.b) && c.b[c.i] == ch {
		c.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (c *jcur) end() bool {
	c.ws()
	return !c.bad && c.i == len(c.b)
}

// obj reads an object, calling member with each key (ASCII, without
// escapes) when the cursor is at its value; member must consume the value.
func (c *jcur) obj(member func(key []byte)) {
	if !c.eat('{') {
		c.fail()
		return
	}
	if c.depth++; c.depth > maxFastDepth {
		c.fail()
		return
	}
	if c.eat('}') {
		c.depth--
		return
	}
	for !c.bad {
		key := c.key()
		if !c.eat(':') {
			c.fail()
			return
		}
		member(key)
		if c.eat(',') {
			continue
		}
		if !c.eat('}') {
			c.fail()
		}
		break
	}
	c.depth--
}

// arr reads an array, calling elem when the cursor is at each element.
func (c *jcur) arr(elem func()) {
	if !c.eat('[') {
		c.fail()
		return
	}
	if c.depth++; c.depth > maxFastDepth {
		c.fail()
		return
	}
	if c.eat(']') {
		c.depth--
		return
	}
	for !c.bad {
		elem()
		if c.eat(',') {
			continue
		}
		if !c.eat(']') {
			c.fail()
		}
		break
	}
	c.depth--
}

// key reads an object key. Keys with escapes or non-ASCII bytes are left
// to encoding/json, which matches field names by Unicode case folding.
func (c *jcur) key() []byte {
	c.ws()
	start := c.i + 1
	if !c.skipString() {
		return nil
	}
	k := c.b[start : c.i-1]
	for _, ch := range k {
		if ch == '\\' || ch >= utf8.RuneSelf {
			c.fail()
			return nil
		}
	}
	return k
}

// keyIs matches a key to a field name as encoding/json does for ASCII:
// exactly or ignoring case.
func keyIs(key []byte, name string) bool {
	if len(key) != len(name) {
		return false
	}
	for i, ch := range key {
		if ch != name[i] && lowerASCII(ch) != lowerASCII(name[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(ch byte) byte {
	if 'A' <= ch && ch <= 'Z' {
		return ch + 'a' - 'A'
	}
	return ch
}

// once records a field as seen; a field given twice fails (encoding/json
// would merge or replace).
func (c *jcur) once(seen *uint32, bit uint32) bool {
	if *seen&bit != 0 {
		c.fail()
		return false
	}
	*seen |= bit
	return true
}

// null consumes a null literal if it is next.
func (c *jcur) null() bool {
	c.ws()
	if len(c.b)-c.i >= 4 && string(c.b[c.i:c.i+4]) == "null" {
		c.i += 4
		return true
	}
	return false
}

// str decodes a string into dst; null leaves dst alone.
func (c *jcur) str(dst *string) {
	if c.null() {
		return
	}
	c.ws()
	start := c.i
	if !c.skipString() {
		c.fail()
		return
	}
	*dst = unquote(c.b[start+1 : c.i-1])
}

// strs decodes an array of strings; null is a nil slice, [] an empty one.
func (c *jcur) strs(dst *[]string) {
	if c.null() {
		*dst = nil
		return
	}
	out := []string{}
	c.arr(func() {
		var s string
		c.str(&s)
		out = append(out, s)
	})
	*dst = out
}

// integer decodes a number into an int as encoding/json does; null leaves
// dst alone.
func (c *jcur) integer(dst *int) {
	if c.null() {
		return
	}
	lit := c.number()
	n, err := strconv.ParseInt(string(lit), 10, 0)
	if lit == nil || err != nil {
		c.fail()
		return
	}
	*dst = int(n)
}

// float decodes a number into a float64; null leaves dst alone.
func (c *jcur) float(dst *float64) {
	if c.null() {
		return
	}
	lit := c.number()
	f, err := strconv.ParseFloat(string(lit), 64)
	if lit == nil || err != nil {
		c.fail()
		return
	}
	*dst = f
}

// raw validates one value and returns its bytes.
func (c *jcur) raw() []byte {
	c.ws()
	start := c.i
	c.skip()
	if c.bad {
		return nil
	}
	return c.b[start:c.i:c.i]
}

// skip validates and skips one value. It is the bulk of the work (most of
// a push is stored, not read), so it is a loop rather than recursive.
func (c *jcur) skip() {
	b, i := c.b, c.i
	var objects [maxFastDepth / 64]uint64 // per level: 1 object, 0 array
	depth := 0
	inObject := func() bool { return objects[(depth-1)/64]&(1<<((depth-1)%64)) != 0 }
	open := func(object bool) bool {
		if c.depth+depth >= maxFastDepth {
			return false
		}
		w, bit := depth/64, uint64(1)<<(depth%64)
		if object {
			objects[w] |= bit
		} else {
			objects[w] &^= bit
		}
		depth++
		return true
	}
	for {
		// A value.
		i = skipWS(b, i)
		if i >= len(b) {
			c.fail()
			return
		}
		ok := true
		switch ch := b[i]; ch {
		case '{', '[':
			if !open(ch == '{') {
				ok = false
				break
			}
			i = skipWS(b, i+1)
			switch {
			case i < len(b) && (b[i] == '}' || b[i] == ']'):
				ok = (b[i] == '}') == inObject()
				i++
				depth--
			case ch == '{':
				if i, ok = memberKey(b, i); ok {
					continue // to the first member's value
				}
			default:
				continue // to the first element
			}
		case '"':
			i, ok = scanString(b, i)
		case 't':
			i, ok = scanLiteral(b, i, "true")
		case 'f':
			i, ok = scanLiteral(b, i, "false")
		case 'n':
			i, ok = scanLiteral(b, i, "null")
		default:
			i, ok = scanNumber(b, i)
		}
		// After a value: close containers, or go on to the next value.
		for ok {
			if depth == 0 {
				c.i = i
				return
			}
			i = skipWS(b, i)
			if i >= len(b) {
				ok = false
				break
			}
			if b[i] == ',' {
				i++
				if inObject() {
					i, ok = memberKey(b, skipWS(b, i))
				}
				break
			}
			if b[i] != "]}"[boolIndex(inObject())] {
				ok = false
				break
			}
			i++
			depth--
		}
		if !ok {
			c.fail()
			return
		}
	}
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// memberKey reads `"key" :` at i.
func memberKey(b []byte, i int) (int, bool) {
	i, ok := scanString(b, i)
	if !ok {
		return i, false
	}
	i = skipWS(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, false
	}
	return i + 1, true
}

func scanLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit), true
	}
	return i, false
}

// number reads a number literal (JSON's grammar); nil when there is none.
func (c *jcur) number() []byte {
	c.ws()
	start := c.i
	i, ok := scanNumber(c.b, c.i)
	if !ok {
		c.fail()
		return nil
	}
	c.i = i
	return c.b[start:i]
}

func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			return i, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			return i, false
		}
	}
	return i, true
}

// skipString moves past the string at the cursor.
func (c *jcur) skipString() bool {
	i, ok := scanString(c.b, c.i)
	if !ok {
		c.fail()
		return false
	}
	c.i = i
	return true
}

// scanString returns the end of the string at i, checking its escapes and
// that it holds no control characters (JSON does not ask for valid UTF-8).
func scanString(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	i++
	for {
		// Eight plain bytes at a time.
		for len(b)-i >= 8 && plain8(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < len(b) && !strStop[b[i]] {
			i++
		}
		if i >= len(b) {
			return i, false
		}
		switch b[i] {
		case '"':
			return i + 1, true
		case '\\':
			if i+1 >= len(b) {
				return i, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, false
				}
				i += 6
			default:
				return i, false
			}
		default: // a control character
			return i, false
		}
	}
}

// strStop marks the bytes that end a run of plain string content.
var strStop = func() (t [256]bool) {
	for i := range 0x20 {
		t[i] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// plain8 reports whether none of eight bytes is a quote, a backslash or a
// control character.
func plain8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	hasZero := func(v uint64) uint64 { return (v - ones) & ^v & highs }
	return hasZero(x^(ones*'"'))|hasZero(x^(ones*'\\'))|((x-ones*0x20) & ^x & highs) == 0
}

func isHex(ch byte) bool {
	return '0' <= ch && ch <= '9' || 'a' <= ch && ch <= 'f' || 'A' <= ch && ch <= 'F'
}

// unquote decodes the content of a string skipString accepted, exactly as
// encoding/json does: invalid UTF-8 and lone surrogates become U+FFFD.
func unquote(s []byte) string {
	r := 0
	for r < len(s) {
		ch := s[r]
		if ch == '\\' {
			break
		}
		if ch < utf8.RuneSelf {
			r++
			continue
		}
		rr, size := utf8.DecodeRune(s[r:])
		if rr == utf8.RuneError && size == 1 {
			break
		}
		r += size
	}
	if r == len(s) {
		return string(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	b.Write(s[:r])
	for r < len(s) {
		switch ch := s[r]; {
		case ch == '\\':
			r++
			switch s[r] {
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				rr := getu4(s[r-1:])
				r += 5
				if utf16.IsSurrogate(rr) {
					if dec := utf16.DecodeRune(rr, getu4(s[r:])); dec != unicode.ReplacementChar {
						r += 6
						b.WriteRune(dec)
						continue
					}
					rr = unicode.ReplacementChar
				}
				b.WriteRune(rr)
				continue
			default: // " \ /
				b.WriteByte(s[r])
			}
			r++
		case ch < utf8.RuneSelf:
			// A run of plain ASCII at once.
			j := r + 1
			for j < len(s) && s[j] < utf8.RuneSelf && s[j] != '\\' {
				j++
			}
			b.Write(s[r:j])
			r = j
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			b.WriteRune(rr)
		}
	}
	return b.String()
}

// getu4 decodes \uXXXX at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, ch := range s[2:6] {
		switch {
		case '0' <= ch && ch <= '9':
			ch -= '0'
		case 'a' <= ch && ch <= 'f':
			ch = ch - 'a' + 10
		case 'A' <= ch && ch <= 'F':
			ch = ch - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(ch)
	}
	return r
}

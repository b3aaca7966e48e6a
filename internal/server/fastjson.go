package server

import (
	"bytes"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// The push body and the parts of it the server reads are decoded by a fast
// path: one pass with jsontext, which validates as it goes, reading only
// the fields the server needs. It gives up (bad) on anything it might read
// otherwise than encoding/json: a syntax error, a value of the wrong type,
// a field given twice or a key spelled with escapes or non-ASCII letters.
// The caller then decodes with encoding/json, whose result and error
// messages stand. When the fast path succeeds, its result is what
// encoding/json gives (the fuzz tests compare them). jsontext nests at most
// 9,999 levels to encoding/json's 10,000, so deeper input falls back too.

// fastOpts make jsontext accept what encoding/json accepts: invalid UTF-8
// (decoded as U+FFFD, as encoding/json does) and duplicate names (the
// fields read check for them with once; the rest is ignored or kept raw).
var fastOpts = []jsontext.Options{
	jsontext.AllowInvalidUTF8(true),
	jsontext.AllowDuplicateNames(true),
}

// jcur reads JSON from b. A failure is sticky: once bad, reads do nothing.
type jcur struct {
	d      *jsontext.Decoder
	b      []byte
	bad    bool // gave up
	broken bool // on a syntax error: the input cannot be read further
}

func newCur(b []byte) *jcur {
	// A bytes.Buffer lets the decoder read b in place.
	return &jcur{d: jsontext.NewDecoder(bytes.NewBuffer(b), fastOpts...), b: b}
}

func (c *jcur) fail() { c.bad = true }

func (c *jcur) check(err error) bool {
	if err != nil {
		c.bad, c.broken = true, true
	}
	return err == nil
}

// kind is the kind of the next token; 0 once bad.
func (c *jcur) kind() jsontext.Kind {
	if c.bad {
		return 0
	}
	k := c.d.PeekKind()
	if k == 0 {
		c.bad, c.broken = true, true
	}
	return k
}

// eat reads the next token if it is of kind k.
func (c *jcur) eat(k jsontext.Kind) bool {
	if c.kind() != k {
		return false
	}
	_, err := c.d.ReadToken()
	return c.check(err)
}

// null reads a null if it is next.
func (c *jcur) null() bool { return c.eat('n') }

// raw reads the next value (or object name), validated, and returns its
// bytes in b; nil once bad.
func (c *jcur) raw() []byte {
	if c.bad {
		return nil
	}
	v, err := c.d.ReadValue()
	if !c.check(err) {
		return nil
	}
	end := int(c.d.InputOffset())
	return c.b[end-len(v) : end : end]
}

// skip validates and skips the next value.
func (c *jcur) skip() { c.raw() }

// end reports whether only white space is left.
func (c *jcur) end() bool {
	if c.bad {
		return false
	}
	_, err := c.d.ReadToken()
	return err == io.EOF
}

// name reads an object name and returns it without its quotes; nil when
// the object ends, or once bad.
func (c *jcur) name() []byte {
	if c.kind() != '"' {
		return nil
	}
	if k := c.raw(); k != nil {
		return k[1 : len(k)-1]
	}
	return nil
}

// obj reads an object, calling member with each key (ASCII, without
// escapes) when the decoder is at its value; member must read the value.
// Other keys are left to encoding/json, which matches field names by
// Unicode case folding.
func (c *jcur) obj(member func(key []byte)) {
	if !c.eat('{') {
		c.fail()
		return
	}
	for key := c.name(); key != nil; key = c.name() {
		for _, ch := range key {
			if ch == '\\' || ch >= utf8.RuneSelf {
				c.fail()
				return
			}
		}
		member(key)
	}
	if !c.eat('}') {
		c.fail()
	}
}

// arr reads an array, calling elem for each element; elem must read it.
func (c *jcur) arr(elem func()) {
	if !c.eat('[') {
		c.fail()
		return
	}
	for k := c.kind(); k != ']' && k != 0; k = c.kind() {
		elem()
	}
	if !c.eat(']') {
		c.fail()
	}
}

// part returns the raw bytes of a member's value. With read, it decodes
// the value on the way with decode; when that gives up on a well-formed
// value, the rest of the value is only validated (and decoded later from
// the raw bytes).
func (c *jcur) part(read bool, decode func(c *jcur)) []byte {
	if !read || c.bad {
		return c.raw()
	}
	start, depth := c.d.InputOffset(), c.d.StackDepth()
	decode(c)
	if c.bad && !c.broken {
		c.bad = false
		if c.d.InputOffset() == start {
			c.skip()
		}
		for !c.bad && c.d.StackDepth() > depth {
			_, err := c.d.ReadToken()
			c.check(err)
		}
	}
	if c.bad {
		return nil
	}
	end := c.d.InputOffset()
	return bytes.TrimLeft(c.b[start:end:end], " \t\r\n:")
}

// keyIs matches a key to a field name as encoding/json does for ASCII:
// exactly or ignoring case.
func keyIs(key []byte, name string) bool {
	return len(key) == len(name) && (string(key) == name || bytes.EqualFold(key, []byte(name)))
}

// field is a member an object reader takes, and how to read it into a T.
type field[T any] struct {
	name string
	read func(c *jcur, v *T)
}

// fields reads an object into v: each of fs at most once, matched by name
// as encoding/json matches (a field given twice fails: encoding/json would
// merge or replace), the other members skipped, or refused when strict.
func fields[T any](c *jcur, v *T, strict bool, fs []field[T]) {
	var seen uint64
	c.obj(func(key []byte) {
		for i, f := range fs {
			if keyIs(key, f.name) {
				if seen&(1<<i) != 0 {
					c.fail()
					return
				}
				seen |= 1 << i
				f.read(c, v)
				return
			}
		}
		if strict {
			c.fail()
		} else {
			c.skip()
		}
	})
}

// object is fields for an object that may be null, which leaves v alone.
func object[T any](c *jcur, v *T, fs []field[T]) {
	if !c.null() {
		fields(c, v, false, fs)
	}
}

// list reads an array of objects (or null, nil) into dst.
func list[T any](c *jcur, dst *[]T, fs []field[T]) {
	if c.null() {
		*dst = nil
		return
	}
	out := []T{}
	c.arr(func() {
		out = append(out, *new(T))
		object(c, &out[len(out)-1], fs)
	})
	*dst = out
}

// str decodes a string into dst; null leaves dst alone.
func (c *jcur) str(dst *string) {
	switch c.kind() {
	case 'n':
		c.null()
	case '"':
		if tok, err := c.d.ReadToken(); c.check(err) {
			*dst = tok.String() // invalid UTF-8 and lone surrogates as U+FFFD
		}
	default:
		c.fail()
	}
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

// number reads a number literal; nil (and bad) when something else is
// next, nil alone on null.
func (c *jcur) number() []byte {
	switch c.kind() {
	case 'n':
		c.null()
	case '0':
		return c.raw()
	default:
		c.fail()
	}
	return nil
}

// integer decodes a number into an int as encoding/json does; null leaves
// dst alone.
func (c *jcur) integer(dst *int) {
	if lit := c.number(); lit != nil {
		n, err := strconv.ParseInt(string(lit), 10, 0)
		if err != nil {
			c.fail()
			return
		}
		*dst = int(n)
	}
}

// float decodes a number into a float64; null leaves dst alone.
func (c *jcur) float(dst *float64) {
	if lit := c.number(); lit != nil {
		f, err := strconv.ParseFloat(string(lit), 64)
		if err != nil {
			c.fail()
			return
		}
		*dst = f
	}
}

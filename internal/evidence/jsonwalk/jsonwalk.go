// Package jsonwalk walks a large JSON document one value at a time with
// encoding/json's token stream, so that a report of any size is read in
// bounded memory: the parsers decode one array element at a time and skip
// what they do not need. No single value may be larger than a set limit.
package jsonwalk

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrTooLarge is returned when one value exceeds the walker's limit.
var ErrTooLarge = errors.New("value too large")

// Walker reads one JSON document.
type Walker struct {
	Dec   *json.Decoder
	c     *counter
	limit int64
}

type counter struct {
	r      io.Reader
	n      int64 // bytes read so far
	budget int64 // read no further than this
}

func (c *counter) Read(p []byte) (int, error) {
	if c.n >= c.budget {
		return 0, ErrTooLarge
	}
	if rest := c.budget - c.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// New walks r; no single value (or token) may span more than limit bytes.
func New(r io.Reader, limit int64) *Walker {
	c := &counter{r: r, budget: limit}
	return &Walker{Dec: json.NewDecoder(c), c: c, limit: limit}
}

// reset allows the next value limit more bytes than read so far. The
// decoder reads ahead, so the bound is approximate but always finite.
func (w *Walker) reset() { w.c.budget = w.c.n + w.limit }

// Offset is the byte offset of the decoder in the input.
func (w *Walker) Offset() int64 { return w.Dec.InputOffset() }

// Token returns the next token.
func (w *Walker) Token() (json.Token, error) {
	w.reset()
	return w.Dec.Token()
}

// Decode decodes the next value into v.
func (w *Walker) Decode(v any) error {
	w.reset()
	return w.Dec.Decode(v)
}

// More reports whether the current array or object has another element.
func (w *Walker) More() bool { return w.Dec.More() }

// Skip reads past the next value without keeping it.
func (w *Walker) Skip() error {
	depth := 0
	for {
		t, err := w.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// Expect reads the next token and checks that it is delim.
func (w *Walker) Expect(delim json.Delim, what string) error {
	t, err := w.Token()
	if err != nil {
		return err
	}
	if t != delim {
		return fmt.Errorf("%s: expected %s, found %s", what, Describe(delim), Describe(t))
	}
	return nil
}

// Key reads an object key, or returns "" and false at the object's end.
func (w *Walker) Key() (string, bool, error) {
	if !w.More() {
		_, err := w.Token() // the closing brace
		return "", false, err
	}
	t, err := w.Token()
	if err != nil {
		return "", false, err
	}
	k, ok := t.(string)
	if !ok {
		return "", false, fmt.Errorf("expected an object key, found %s", Describe(t))
	}
	return k, true, nil
}

// Describe names a token for a message.
func Describe(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "an array"
		case '}':
			return "the end of an object"
		}
		return "the end of an array"
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", t)
}

// Clean words a decoding error without Go type names.
func Clean(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, ErrTooLarge):
		return "a value is larger than the limit"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "the file ends in the middle of a value (truncated?)"
	case errors.As(err, &se):
		if se.Error() == "unexpected end of JSON input" {
			return "the JSON ends in the middle of a value (truncated?)"
		}
		return "invalid JSON: " + se.Error()
	case errors.As(err, &te):
		if te.Field == "" {
			return fmt.Sprintf("expected %s, found a JSON %s", kindOf(te.Type.Kind().String()), te.Value)
		}
		return fmt.Sprintf("%s: expected %s, found a JSON %s", te.Field, kindOf(te.Type.Kind().String()), te.Value)
	}
	return err.Error()
}

func kindOf(k string) string {
	switch k {
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "ptr":
		return "a value"
	}
	return k
}

package interop

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/mlthreat/mlthreat/internal/diag"
)

// Limits bound what a foreign file may cost to read. Every importer applies
// them before it looks at the content (docs/interop.md lists them).
type Limits struct {
	MaxBytes    int64 // file size
	MaxDepth    int   // nesting of maps and lists
	MaxNodes    int   // values after aliases and merge keys are expanded
	MaxElements int   // assets, components, cells, flows... of one kind
}

// DefaultLimits are far above any real threat model.
var DefaultLimits = Limits{MaxBytes: 32 << 20, MaxDepth: 64, MaxNodes: 4_000_000, MaxElements: 100_000}

func fail(file string, line, col int, code, format string, args ...any) diag.List {
	return diag.List{{File: file, Line: line, Col: col, Severity: diag.Error, Code: code, Message: fmt.Sprintf(format, args...)}}
}

// precheck refuses what no parser should be handed.
func precheck(file string, b []byte, lim Limits, what string) ([]byte, diag.List) {
	if lim.MaxBytes > 0 && int64(len(b)) > lim.MaxBytes {
		return nil, fail(file, 0, 0, "too-large", "file is %d bytes, over the %d-byte limit for an imported %s", len(b), lim.MaxBytes, what)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fail(file, 1, 1, "empty", "file is empty; expected a %s", what)
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		l, c := lineCol(b, i)
		return nil, fail(file, l, c, "binary", "file contains a NUL byte; expected a %s text file", what)
	}
	if !utf8.Valid(b) {
		i := 0
		for i < len(b) {
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		l, c := lineCol(b, i)
		return nil, fail(file, l, c, "encoding", "invalid UTF-8; save the file as UTF-8")
	}
	return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), nil
}

func lineCol(b []byte, off int) (int, int) {
	off = min(off, len(b))
	line := 1 + bytes.Count(b[:off], []byte{'\n'})
	start := bytes.LastIndexByte(b[:off], '\n') + 1
	return line, utf8.RuneCount(b[start:off]) + 1
}

var reYAMLErr = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// ParseYAML reads one YAML document into a tree, expanding aliases and merge
// keys within lim.
func ParseYAML(file string, b []byte, lim Limits, what string) (*Node, diag.List) {
	b, ds := precheck(file, b, lim, what)
	if ds != nil {
		return nil, ds
	}
	// Most files are in the subset the fast reader takes; it gives the same
	// tree. Everything else, and every error, comes from yaml/v3 below.
	if n, ok := parseFast(b, lim); ok {
		return n, nil
	}
	return parseSlow(file, b, lim, what)
}

// parseSlow is ParseYAML with yaml/v3 alone.
func parseSlow(file string, b []byte, lim Limits, what string) (*Node, diag.List) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fail(file, 1, 1, "empty", "file holds no YAML value; expected a %s", what)
		}
		line, msg := 1, err.Error()
		if m := reYAMLErr.FindStringSubmatch(msg); m != nil {
			if m[1] != "" {
				line, _ = strconv.Atoi(m[1])
			}
			msg = m[2]
		}
		return nil, fail(file, line, 1, "syntax", "%s", msg)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fail(file, extra.Line, extra.Column, "multi-document", "file holds more than one YAML document; expected one %s", what)
	}
	c := &yamlConv{file: file, lim: lim, budget: lim.MaxNodes}
	n := c.conv(&root, 0)
	if c.err != nil {
		return nil, c.err
	}
	if n == nil {
		return nil, fail(file, 1, 1, "empty", "file holds no YAML value; expected a %s", what)
	}
	return n, nil
}

type yamlConv struct {
	file   string
	lim    Limits
	budget int
	active []*yaml.Node // anchors being expanded, to catch cycles
	err    diag.List
}

func (c *yamlConv) spend(n *yaml.Node) bool {
	c.budget--
	if c.budget < 0 && c.err == nil {
		c.err = fail(c.file, n.Line, n.Column, "too-many-nodes", "the document expands to more than %d values (an alias bomb, or far larger than a threat model)", c.lim.MaxNodes)
	}
	return c.err == nil
}

func (c *yamlConv) conv(n *yaml.Node, depth int) *Node {
	if c.err != nil {
		return nil
	}
	if depth > c.lim.MaxDepth {
		c.err = fail(c.file, n.Line, n.Column, "too-deep", "nesting deeper than %d levels", c.lim.MaxDepth)
		return nil
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return c.conv(n.Content[0], depth)
	case yaml.AliasNode:
		for _, a := range c.active {
			if a == n.Alias {
				c.err = fail(c.file, n.Line, n.Column, "alias-cycle", "alias *%s refers to itself", n.Value)
				return nil
			}
		}
		c.active = append(c.active, n.Alias)
		out := c.conv(n.Alias, depth)
		c.active = c.active[:len(c.active)-1]
		return out
	}
	if !c.spend(n) {
		return nil
	}
	out := &Node{Line: n.Line, Col: n.Column}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			out.Kind = Null
			return out
		}
		out.Kind, out.Value = Scalar, n.Value
		out.Quoted = n.Tag == "!!str" || n.Tag == "!!binary" || n.Tag == "!!timestamp"
	case yaml.SequenceNode:
		out.Kind = List
		out.kids = make([]*Node, 0, len(n.Content))
		for _, it := range n.Content {
			v := c.conv(it, depth+1)
			if c.err != nil {
				return nil
			}
			out.kids = append(out.kids, v)
		}
	case yaml.MappingNode:
		out.Kind = Map
		c.mapping(out, n, depth, map[string]bool{})
	}
	return out
}

// mapping fills out from n; explicit keys win over merged ones, as YAML's
// merge key asks.
func (c *yamlConv) mapping(out *Node, n *yaml.Node, depth int, seen map[string]bool) {
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		key := c.conv(k, depth+1)
		if c.err != nil {
			return
		}
		if key.Kind != Scalar {
			c.err = fail(c.file, k.Line, k.Column, "bad-key", "a map key must be a plain value")
			return
		}
		if seen[key.Value] {
			c.err = fail(c.file, k.Line, k.Column, "duplicate-key", "duplicate key %q", key.Value)
			return
		}
		seen[key.Value] = true
		val := c.conv(v, depth+1)
		if c.err != nil {
			return
		}
		out.kids = append(out.kids, key, val)
	}
	for _, m := range merges {
		srcs := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			srcs = m.Content
		}
		for _, s := range srcs {
			if !c.spend(s) {
				return
			}
			src := c.conv(s, depth+1)
			if c.err != nil {
				return
			}
			if src == nil || src.Kind != Map {
				c.err = fail(c.file, s.Line, s.Column, "bad-merge", "a merge key (<<) must name a map")
				return
			}
			for k, v := range src.Entries() {
				if !seen[k.Value] {
					seen[k.Value] = true
					out.kids = append(out.kids, k, v)
				}
			}
		}
	}
}

// ParseJSON reads one JSON value into a tree within lim.
func ParseJSON(file string, b []byte, lim Limits, what string) (*Node, diag.List) {
	b, ds := precheck(file, b, lim, what)
	if ds != nil {
		return nil, ds
	}
	p := &jsonParser{file: file, src: b, lim: lim, budget: lim.MaxNodes, dec: json.NewDecoder(bytes.NewReader(b))}
	p.dec.UseNumber()
	p.lines = lineStarts(b)
	n := p.value(0)
	if p.err != nil {
		return nil, p.err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		l, c := p.pos(p.dec.InputOffset())
		return nil, fail(file, l, c, "syntax", "unexpected content after the JSON value")
	}
	return n, nil
}

type jsonParser struct {
	file   string
	src    []byte
	lim    Limits
	budget int
	dec    *json.Decoder
	lines  []int
	err    diag.List
}

func lineStarts(b []byte) []int {
	starts := []int{0}
	for i, c := range b {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// pos turns a byte offset into a line and column, skipping the separators
// the decoder has not consumed yet.
func (p *jsonParser) pos(off int64) (int, int) {
	o := int(off)
	for o < len(p.src) && (p.src[o] == ' ' || p.src[o] == '\t' || p.src[o] == '\n' || p.src[o] == '\r' || p.src[o] == ',' || p.src[o] == ':') {
		o++
	}
	o = min(o, len(p.src))
	i := sort.Search(len(p.lines), func(i int) bool { return p.lines[i] > o }) - 1
	return i + 1, utf8.RuneCount(p.src[p.lines[i]:o]) + 1
}

func (p *jsonParser) syntax(err error) {
	line, col := p.pos(p.dec.InputOffset())
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col = lineCol(p.src, int(se.Offset))
	}
	msg := err.Error()
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		msg = "unexpected end of file"
	}
	p.err = fail(p.file, line, col, "syntax", "%s", msg)
}

func (p *jsonParser) value(depth int) *Node {
	if depth > p.lim.MaxDepth {
		l, c := p.pos(p.dec.InputOffset())
		p.err = fail(p.file, l, c, "too-deep", "nesting deeper than %d levels", p.lim.MaxDepth)
		return nil
	}
	p.budget--
	if p.budget < 0 {
		l, c := p.pos(p.dec.InputOffset())
		p.err = fail(p.file, l, c, "too-many-nodes", "the document holds more than %d values, far more than a threat model", p.lim.MaxNodes)
		return nil
	}
	l, c := p.pos(p.dec.InputOffset())
	tok, err := p.dec.Token()
	if err != nil {
		p.syntax(err)
		return nil
	}
	n := &Node{Line: l, Col: c}
	switch t := tok.(type) {
	case nil:
		n.Kind = Null
	case bool:
		n.Kind, n.Value = Scalar, strconv.FormatBool(t)
	case json.Number:
		n.Kind, n.Value = Scalar, t.String()
	case string:
		n.Kind, n.Value, n.Quoted = Scalar, t, true
	case json.Delim:
		switch t {
		case '{':
			n.Kind = Map
			seen := map[string]bool{}
			for p.dec.More() {
				kl, kc := p.pos(p.dec.InputOffset())
				kt, err := p.dec.Token()
				if err != nil {
					p.syntax(err)
					return nil
				}
				key, _ := kt.(string)
				if seen[key] {
					p.err = fail(p.file, kl, kc, "duplicate-key", "duplicate key %q", key)
					return nil
				}
				seen[key] = true
				v := p.value(depth + 1)
				if p.err != nil {
					return nil
				}
				n.kids = append(n.kids, &Node{Kind: Scalar, Value: key, Quoted: true, Line: kl, Col: kc}, v)
			}
		case '[':
			n.Kind = List
			for p.dec.More() {
				v := p.value(depth + 1)
				if p.err != nil {
					return nil
				}
				n.kids = append(n.kids, v)
			}
		}
		if _, err := p.dec.Token(); err != nil {
			p.syntax(err)
			return nil
		}
	}
	return n
}

// Malformed reports whether diagnostics say the file could not be parsed
// as its format at all (exit 2), rather than parsed but unusable (exit 1).
func Malformed(ds diag.List) bool {
	for _, d := range ds {
		switch d.Code {
		case "too-large", "empty", "binary", "encoding", "syntax", "multi-document", "too-deep", "too-many-nodes",
			"alias-cycle", "bad-key", "bad-merge", "duplicate-key", "not-threagile", "not-otm", "not-threat-dragon", "bad-section":
			return true
		}
	}
	return false
}

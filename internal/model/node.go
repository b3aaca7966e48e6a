package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/mlthreat/mlthreat/internal/diag"
)

// Limits bound what the loader accepts, so hostile files fail fast with a
// clear error instead of exhausting memory. They are documented in docs/model.md.
type Limits struct {
	MaxBytes int64 // file size
	MaxDepth int   // nesting of maps and lists
	MaxNodes int   // values that aliases may add by expansion
}

// DefaultLimits suit any real system model with a wide margin: the largest
// models seen in practice have a few thousand nodes.
var DefaultLimits = Limits{MaxBytes: 8 << 20, MaxDepth: 64, MaxNodes: 250_000}

// NodeKind is the shape of a YAML value.
type NodeKind int

const (
	Scalar NodeKind = iota
	Map
	Seq
)

// Node is a YAML value with its position; aliases are already expanded.
type Node struct {
	Kind  NodeKind
	Tag   string // !!str, !!int, !!float, !!bool, !!null, !!timestamp, ...
	Value string
	Line  int
	Col   int
	kids  []*Node // Map: key and value nodes alternating; Seq: items
}

// Entries yields a map's keys and values in order; nothing for anything else.
// (Written out here: a shared generic helper made the closure escape, an
// allocation per call.)
func (n *Node) Entries() iter.Seq2[*Node, *Node] {
	return func(yield func(*Node, *Node) bool) {
		if n == nil || n.Kind != Map {
			return
		}
		for i := 0; i+1 < len(n.kids); i += 2 {
			if !yield(n.kids[i], n.kids[i+1]) {
				return
			}
		}
	}
}

// Items returns a list's items; nil for anything else.
func (n *Node) Items() []*Node {
	if n == nil || n.Kind != Seq {
		return nil
	}
	return n.kids
}

// Len is the number of entries of a map or items of a list.
func (n *Node) Len() int {
	switch {
	case n == nil:
		return 0
	case n.Kind == Map:
		return len(n.kids) / 2
	case n.Kind == Seq:
		return len(n.kids)
	}
	return 0
}

// Pos is a line and column, 1-based.
type Pos struct{ Line, Col int }

func (n *Node) Pos() Pos {
	if n == nil {
		return Pos{}
	}
	return Pos{n.Line, n.Col}
}

// Get returns the value of a map key, or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != Map {
		return nil
	}
	for i := 0; i+1 < len(n.kids); i += 2 {
		if n.kids[i].Value == key {
			return n.kids[i+1]
		}
	}
	return nil
}

// KeyNode returns the key node of a map entry, or nil.
func (n *Node) KeyNode(key string) *Node {
	if n == nil || n.Kind != Map {
		return nil
	}
	for k := range n.Entries() {
		if k.Value == key {
			return k
		}
	}
	return nil
}

// IsNull reports a null or missing value.
func (n *Node) IsNull() bool { return n == nil || (n.Kind == Scalar && n.Tag == "!!null") }

// Str returns a scalar's text, or "" for anything else.
func (n *Node) Str() string {
	if n == nil || n.Kind != Scalar || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

// Strings returns a list of scalars (a single scalar counts as a one-item list).
func (n *Node) Strings() []string {
	if n == nil {
		return nil
	}
	if n.Kind == Scalar {
		if n.Tag == "!!null" {
			return nil
		}
		return []string{n.Value}
	}
	var out []string
	for _, it := range n.Items() {
		if it.Kind == Scalar && it.Tag != "!!null" {
			out = append(out, it.Value)
		}
	}
	return out
}

// Any converts the node into plain Go values (map[string]any, []any, string,
// json.Number, bool, nil) as a JSON decoder would produce them.
func (n *Node) Any() any {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case Map:
		m := make(map[string]any, n.Len())
		for k, v := range n.Entries() {
			m[k.Value] = v.Any()
		}
		return m
	case Seq:
		l := make([]any, len(n.kids))
		for i, it := range n.kids {
			l[i] = it.Any()
		}
		return l
	}
	switch n.Tag {
	case "!!null":
		return nil
	case "!!bool":
		if b, ok := scalarBool(n.Value); ok {
			return b
		}
	case "!!int":
		if i, ok := scalarInt(n.Value); ok {
			return json.Number(strconv.FormatInt(i, 10))
		}
	case "!!float":
		if f, ok := scalarFloat(n.Value); ok && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
	}
	return n.Value
}

// The scalar readers take the common spellings with strconv and leave the
// rest (octal-looking 017, .inf, odd forms) to the YAML decoder, so that the
// values are exactly what it would give, at a fraction of the cost of a
// YAML parse per scalar.
func scalarBool(v string) (bool, bool) {
	switch v {
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	var b bool
	err := yaml.Unmarshal([]byte(v), &b)
	return b, err == nil
}

func scalarInt(v string) (int64, bool) {
	if plainDecimal(v) {
		if i, err := strconv.ParseInt(v, 10, 64); err == nil {
			return i, true
		}
	}
	var i int64
	err := yaml.Unmarshal([]byte(v), &i)
	return i, err == nil
}

func scalarFloat(v string) (float64, bool) {
	if plainFloat(v) {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f, true
		}
	}
	var f float64
	err := yaml.Unmarshal([]byte(v), &f)
	return f, err == nil
}

// plainFloat matches [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?,
// the YAML 1.2 core float, which strconv reads the same way.
func plainFloat(v string) bool {
	i := 0
	if i < len(v) && (v[i] == '-' || v[i] == '+') {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
			n++
		}
		return n
	}
	whole := digits()
	frac := 0
	if i < len(v) && v[i] == '.' {
		i++
		frac = digits()
		if whole == 0 && frac == 0 {
			return false
		}
	} else if whole == 0 {
		return false
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '-' || v[i] == '+') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(v)
}

// plainDecimal: an optional sign, then digits without a leading zero (or
// just 0).
func plainDecimal(v string) bool {
	if v != "" && (v[0] == '-' || v[0] == '+') {
		v = v[1:]
	}
	if v == "" || (len(v) > 1 && v[0] == '0') {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

// parse turns file content into a Node tree, enforcing the limits. Every
// failure is reported as a diagnostic with the best position available.
func parse(file string, b []byte, lim Limits) (*Node, diag.List) {
	fail := func(line, col int, code, format string, args ...any) (*Node, diag.List) {
		return nil, diag.List{{File: file, Line: line, Col: col, Severity: diag.Error, Code: code, Message: fmt.Sprintf(format, args...)}}
	}
	if lim.MaxBytes > 0 && int64(len(b)) > lim.MaxBytes {
		return fail(0, 0, "too-large", "file is %d bytes, over the %d-byte limit for a system model", len(b), lim.MaxBytes)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return fail(1, 1, "empty", "file is empty; expected a system model that starts with `mlthreat: 1`")
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		l, c := lineCol(b, i)
		return fail(l, c, "binary", "file contains a NUL byte; expected a YAML text file, this looks binary")
	}
	if !utf8.Valid(b) {
		i := firstInvalidUTF8(b)
		l, c := lineCol(b, i)
		return fail(l, c, "encoding", "invalid UTF-8 (byte 0x%02x); save the file as UTF-8", b[i])
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	// Most models are in the subset the fast reader takes; it gives the
	// same tree. Everything else, and every error, comes from yaml/v3.
	if n, ok := parseFast(b, lim); ok {
		return n, nil
	}
	return parseSlow(file, b, lim)
}

// parseSlow is parse with yaml/v3 alone, on content that passed parse's
// checks.
func parseSlow(file string, b []byte, lim Limits) (*Node, diag.List) {
	n, ds := parseYAMLv3(file, b, lim)
	if n != nil && len(b) > 1<<20 {
		// yaml/v3's own tree is garbage now; for a large file, collect it
		// before the checks allocate, so the two never coexist at the peak.
		runtime.GC()
	}
	return n, ds
}

func parseYAMLv3(file string, b []byte, lim Limits) (*Node, diag.List) {
	fail := func(line, col int, code, format string, args ...any) (*Node, diag.List) {
		return nil, diag.List{{File: file, Line: line, Col: col, Severity: diag.Error, Code: code, Message: fmt.Sprintf(format, args...)}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return fail(1, 1, "empty", "file holds no YAML value; expected a system model that starts with `mlthreat: 1`")
		}
		if l, c, ok := tabIndent(b); ok {
			return fail(l, c, "tab", "tab character used for indentation; YAML indents with spaces only")
		}
		l, msg := yamlError(err)
		return fail(l, 1, "syntax", "%s", msg)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return fail(extra.Line, extra.Column, "multi-document", "file holds more than one YAML document; put one system per file")
	}
	c := converter{lim: lim, file: file, memo: map[*yaml.Node]shape{}}
	c.budget = realNodes(&root) + lim.MaxNodes
	if d := c.checkShape(&root, 0); d != nil {
		return nil, diag.List{*d}
	}
	n := c.convert(&root)
	if n == nil {
		return fail(1, 1, "empty", "file holds no YAML value; expected a system model that starts with `mlthreat: 1`")
	}
	return n, c.diags
}

type converter struct {
	lim    Limits
	budget int // values allowed after alias expansion: the real ones plus MaxNodes
	file   string
	memo   map[*yaml.Node]shape
	diags  diag.List
}

type shape struct{ size, height int }

// checkShape enforces depth and expanded size before anything is copied, so an
// alias bomb costs only its compressed size. Sizes and heights are memoised
// per node, so shared anchors are measured once.
func (c *converter) checkShape(root *yaml.Node, _ int) *diag.Diagnostic {
	var walk func(n *yaml.Node, depth int, stack map[*yaml.Node]bool) (shape, *diag.Diagnostic)
	tooDeep := func(n *yaml.Node) *diag.Diagnostic {
		return &diag.Diagnostic{File: c.file, Line: n.Line, Col: n.Column, Severity: diag.Error, Code: "too-deep",
			Message: fmt.Sprintf("nesting deeper than %d levels; a system model needs far fewer", c.lim.MaxDepth)}
	}
	walk = func(n *yaml.Node, depth int, stack map[*yaml.Node]bool) (shape, *diag.Diagnostic) {
		if depth > c.lim.MaxDepth {
			return shape{}, tooDeep(n)
		}
		// Only anchored nodes can be reached twice; memoise just those.
		memoise := n.Anchor != ""
		if v, ok := c.memo[n]; ok {
			if depth+v.height > c.lim.MaxDepth {
				return shape{}, tooDeep(n)
			}
			return v, nil
		}
		if stack[n] {
			return shape{}, &diag.Diagnostic{File: c.file, Line: n.Line, Col: n.Column, Severity: diag.Error, Code: "alias-cycle", Message: "alias refers to itself"}
		}
		stack[n] = true
		defer delete(stack, n)
		out := shape{size: 1}
		kids := n.Content
		if n.Kind == yaml.AliasNode {
			kids = []*yaml.Node{n.Alias}
			out.size = 0
		}
		for _, k := range kids {
			if k == nil {
				continue
			}
			s, d := walk(k, depth+1, stack)
			if d != nil {
				return shape{}, d
			}
			out.size += s.size
			out.height = max(out.height, s.height+1)
			if out.size > c.budget {
				return shape{}, &diag.Diagnostic{File: c.file, Line: n.Line, Col: n.Column, Severity: diag.Error, Code: "too-many-nodes",
					Message: fmt.Sprintf("aliases expand the document by more than %d values (alias bomb?); anchors and aliases must stay small", c.lim.MaxNodes)}
			}
		}
		if memoise {
			c.memo[n] = out
		}
		return out, nil
	}
	_, d := walk(root, 0, map[*yaml.Node]bool{})
	return d
}

// realNodes counts the nodes of the tree without following aliases.
func realNodes(root *yaml.Node) int {
	n := 0
	stack := []*yaml.Node{root}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n++
		if x.Kind != yaml.AliasNode {
			stack = append(stack, x.Content...)
		}
	}
	return n
}

func (c *converter) convert(n *yaml.Node) *Node {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return c.convert(n.Content[0])
	case yaml.AliasNode:
		return c.convert(n.Alias)
	case yaml.ScalarNode:
		return &Node{Kind: Scalar, Tag: n.ShortTag(), Value: n.Value, Line: n.Line, Col: n.Column}
	case yaml.SequenceNode:
		out := &Node{Kind: Seq, Tag: "!!seq", Line: n.Line, Col: n.Column}
		for _, it := range n.Content {
			out.kids = append(out.kids, c.convert(it))
		}
		return out
	case yaml.MappingNode:
		out := &Node{Kind: Map, Tag: "!!map", Line: n.Line, Col: n.Column}
		seen := map[string]*Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			if kn.Kind == yaml.ScalarNode && kn.Value == "<<" && kn.Tag == "!!merge" {
				c.merge(out, vn, seen)
				continue
			}
			k := c.convert(kn)
			if k.Kind != Scalar {
				c.diags = append(c.diags, diag.Diagnostic{File: c.file, Line: k.Line, Col: k.Col, Severity: diag.Error, Code: "bad-key", Message: "map key must be a plain string, not a list or map"})
				continue
			}
			if prev, ok := seen[k.Value]; ok {
				c.diags = append(c.diags, diag.Diagnostic{File: c.file, Line: k.Line, Col: k.Col, Severity: diag.Error, Code: "duplicate-key",
					Message: fmt.Sprintf("duplicate key %q (first set at line %d); YAML keeps only one, so the other value would be lost", k.Value, prev.Line)})
				continue
			}
			seen[k.Value] = k
			out.kids = append(out.kids, k, c.convert(vn))
		}
		return out
	}
	return &Node{Kind: Scalar, Tag: "!!null", Line: n.Line, Col: n.Column}
}

// merge applies a YAML merge key (<<: *base); explicit keys win.
func (c *converter) merge(out *Node, v *yaml.Node, seen map[string]*Node) {
	src := c.convert(v)
	var maps []*Node
	switch src.Kind {
	case Map:
		maps = []*Node{src}
	case Seq:
		maps = src.kids
	}
	for _, m := range maps {
		if m.Kind != Map {
			c.diags = append(c.diags, diag.Diagnostic{File: c.file, Line: m.Line, Col: m.Col, Severity: diag.Error, Code: "bad-merge", Message: "merge key (<<) needs a map or a list of maps"})
			continue
		}
		for k, v := range m.Entries() {
			if _, ok := seen[k.Value]; ok {
				continue
			}
			seen[k.Value] = k
			out.kids = append(out.kids, k, v)
		}
	}
}

func lineCol(b []byte, off int) (int, int) {
	line := 1 + bytes.Count(b[:off], []byte("\n"))
	start := bytes.LastIndexByte(b[:off], '\n') + 1
	return line, 1 + utf8.RuneCount(b[start:off])
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return 0
}

// tabIndent finds a tab in the leading whitespace of a line outside block scalars.
func tabIndent(b []byte) (int, int, bool) {
	line := 0
	for len(b) > 0 {
		line++
		end := bytes.IndexByte(b, '\n')
		var l []byte
		if end < 0 {
			l, b = b, nil
		} else {
			l, b = b[:end], b[end+1:]
		}
		for i, ch := range l {
			if ch == '\t' {
				if len(bytes.TrimSpace(l)) == 0 {
					break
				}
				return line, i + 1, true
			}
			if ch != ' ' {
				break
			}
		}
	}
	return 0, 0, false
}

var reYAMLLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// yamlError extracts the line from a yaml.v3 error and words it for people.
func yamlError(err error) (int, string) {
	msg := err.Error()
	line := 1
	if m := reYAMLLine.FindStringSubmatch(msg); m != nil {
		if m[1] != "" {
			line, _ = strconv.Atoi(m[1])
		}
		msg = m[2]
	}
	if strings.Contains(msg, "exceeded max depth") {
		msg = "nesting is too deep: " + msg
	}
	return line, "YAML syntax error: " + msg
}

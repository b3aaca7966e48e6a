package model

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// structSchema is the run-time form of the structural part of the JSON Schema that
// BuildSchema writes: the keywords the generator uses, checked directly on
// the YAML nodes so that each error keeps its line and column. The full
// schema, with the per-kind props branches, is for editors; tests check that
// this checker and a complete JSON Schema validator agree on it.
type structSchema struct {
	types    []string // JSON types; empty means any
	props    map[string]*structSchema
	required []string
	items    *structSchema
	enum     []string
	constant string // the text of const, when hasConst
	constTyp string // its JSON type
	hasConst bool
	pattern  *regexp.Regexp
	match    func(string) bool // pattern's matcher
	format   string
	min, max *float64
	anyOf    []*structSchema
	ref      string
	defs     map[string]*structSchema // shared by every shape of one schema
}

var (
	shapeOnce sync.Once
	rootShape *structSchema
	shapeErr  error
)

// modelShape compiles the structural schema once. The per-kind props
// branches are left out: props() checks that vocabulary with better messages.
func modelShape() (*structSchema, error) {
	shapeOnce.Do(func() {
		doc := BuildSchema(Kinds())
		defs := map[string]*structSchema{}
		raw, _ := doc["$defs"].(map[string]any)
		for name, d := range raw {
			if strings.HasPrefix(name, "props-") {
				continue
			}
			m, _ := d.(map[string]any)
			if name == "component" {
				m = withoutKey(m, "allOf")
			}
			s, err := compileShape(m, defs)
			if err != nil {
				shapeErr = fmt.Errorf("$defs/%s: %w", name, err)
				return
			}
			defs[name] = s
		}
		rootShape, shapeErr = compileShape(doc, defs)
	})
	return rootShape, shapeErr
}

func withoutKey(m map[string]any, key string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func compileShape(m map[string]any, defs map[string]*structSchema) (*structSchema, error) {
	s := &structSchema{defs: defs}
	for k, v := range m {
		var err error
		switch k {
		case "type":
			s.types, err = stringsOf(v)
		case "enum":
			s.enum, err = stringsOf(v)
		case "required":
			s.required, err = stringsOf(v)
		case "const":
			s.hasConst = true
			s.constant = fmt.Sprint(v)
			s.constTyp = "integer"
			if _, ok := v.(string); ok {
				s.constTyp = "string"
			}
		case "pattern":
			src, _ := v.(string)
			if s.pattern, err = regexp.Compile(src); err == nil {
				switch src {
				case patternID:
					s.match = validID
				case patternSlug:
					s.match = validSlug
				default:
					s.match = s.pattern.MatchString
				}
			}
		case "format":
			s.format, _ = v.(string)
		case "minimum":
			s.min, err = numberOf(v)
		case "maximum":
			s.max, err = numberOf(v)
		case "$ref":
			ref, _ := v.(string)
			name, ok := strings.CutPrefix(ref, "#/$defs/")
			if !ok {
				return nil, fmt.Errorf("unsupported $ref %q", ref)
			}
			s.ref = name
		case "items":
			sub, _ := v.(map[string]any)
			s.items, err = compileShape(sub, defs)
		case "properties":
			props, _ := v.(map[string]any)
			s.props = make(map[string]*structSchema, len(props))
			for name, p := range props {
				sub, _ := p.(map[string]any)
				if s.props[name], err = compileShape(sub, defs); err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
			}
		case "anyOf":
			list, _ := v.([]any)
			for _, b := range list {
				sub, _ := b.(map[string]any)
				br, err := compileShape(sub, defs)
				if err != nil {
					return nil, err
				}
				s.anyOf = append(s.anyOf, br)
			}
		case "additionalProperties", "patternProperties", "description", "title", "$id", "$schema", "$defs", "examples", "default":
			// Unknown keys are reported by keys(); x- keys are always allowed.
		default:
			return nil, fmt.Errorf("keyword %q is not supported by the run-time checker", k)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	return s, nil
}

func stringsOf(v any) ([]string, error) {
	switch t := v.(type) {
	case string:
		return []string{t}, nil
	case []string:
		return t, nil
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("expected strings, found %T", x)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("expected a string or a list of strings, found %T", v)
}

func numberOf(v any) (*float64, error) {
	var f float64
	switch t := v.(type) {
	case int:
		f = float64(t)
	case float64:
		f = t
	default:
		n, err := strconv.ParseFloat(fmt.Sprint(v), 64)
		if err != nil {
			return nil, err
		}
		f = n
	}
	return &f, nil
}

// shapeError is one structural problem at a node.
type shapeError struct {
	node *Node
	path string
	msg  string
}

// docPath is the path of the value being checked, spelt out (String)
// only for an error: a large model has hundreds of thousands of values.
// A quiet path only asks whether there is an error (for anyOf), so the
// first one ends the check, with no message.
type docPath struct {
	steps []pathStep
	quiet bool
}

type pathStep struct {
	key   string
	index int // an index when >= 0, else key
}

func (p *docPath) String() string {
	var b strings.Builder
	for _, st := range p.steps {
		switch {
		case st.index >= 0:
			b.WriteString("[" + strconv.Itoa(st.index) + "]")
		case b.Len() > 0:
			b.WriteString("." + st.key)
		default:
			b.WriteString(st.key)
		}
	}
	return b.String()
}

func (p *docPath) push(st pathStep) { p.steps = append(p.steps, st) }

func (p *docPath) pop() { p.steps = p.steps[:len(p.steps)-1] }

// check validates n, at path, against s, appending what fails to errs.
func (s *structSchema) check(n *Node, path string, errs []shapeError) []shapeError {
	at := &docPath{}
	if path != "" {
		at.push(pathStep{key: path, index: -1})
	}
	return s.checkAt(n, at, errs)
}

var errQuiet = shapeError{msg: "invalid"}

func (s *structSchema) checkAt(n *Node, at *docPath, errs []shapeError) []shapeError {
	if s.ref != "" {
		return s.defs[s.ref].checkAt(n, at, errs)
	}
	if len(s.anyOf) > 0 {
		ok := false
		quiet := at.quiet
		at.quiet = true
		for _, b := range s.anyOf {
			if len(b.checkAt(n, at, nil)) == 0 {
				ok = true
				break
			}
		}
		at.quiet = quiet
		if !ok {
			if at.quiet {
				return append(errs, errQuiet)
			}
			errs = append(errs, shapeError{n, at.String(), "expected " + s.describe()})
		}
	}
	got, value := jsonType(n)
	if len(s.types) > 0 && !typeMatches(s.types, got, value) {
		if at.quiet {
			return append(errs, errQuiet)
		}
		return append(errs, shapeError{n, at.String(), fmt.Sprintf("expected %s, found %s", s.describe(), typeWords[got])})
	}
	bad := (s.hasConst && (value != s.constant || got != s.constTyp)) ||
		(len(s.enum) > 0 && (got != "string" || !contains(s.enum, value))) ||
		(s.pattern != nil && got == "string" && !s.match(value)) ||
		(s.format == "date" && got == "string" && !isDate(value))
	var f float64
	if got == "integer" || got == "number" {
		f, _ = strconv.ParseFloat(value, 64)
		bad = bad || (s.min != nil && f < *s.min) || (s.max != nil && f > *s.max)
	}
	if bad && at.quiet {
		return append(errs, errQuiet)
	}
	if s.hasConst && (value != s.constant || got != s.constTyp) {
		errs = append(errs, shapeError{n, at.String(), fmt.Sprintf("expected %s, found %s", s.constant, quoteScalar(n, got))})
	}
	if len(s.enum) > 0 && (got != "string" || !contains(s.enum, value)) {
		errs = append(errs, shapeError{n, at.String(), fmt.Sprintf("expected one of %s, found %s", quoteAll(s.enum), quoteScalar(n, got))})
	}
	if s.pattern != nil && got == "string" && !s.match(value) {
		errs = append(errs, shapeError{n, at.String(), fmt.Sprintf("%q does not match %s", value, s.pattern)})
	}
	if s.format == "date" && got == "string" && !isDate(value) {
		errs = append(errs, shapeError{n, at.String(), fmt.Sprintf("expected a date written YYYY-MM-DD, found %q", value)})
	}
	if got == "integer" || got == "number" {
		if s.min != nil && f < *s.min {
			errs = append(errs, shapeError{n, at.String(), fmt.Sprintf("expected at least %g, found %s", *s.min, value)})
		}
		if s.max != nil && f > *s.max {
			errs = append(errs, shapeError{n, at.String(), fmt.Sprintf("expected at most %g, found %s", *s.max, value)})
		}
	}
	switch n.Kind {
	case Map:
		var missing []string
		for _, r := range s.required {
			if n.Get(r) == nil {
				missing = append(missing, r)
			}
		}
		if len(missing) > 0 {
			if at.quiet {
				return append(errs, errQuiet)
			}
			errs = append(errs, shapeError{n, at.String(), "missing required key " + quoteAll(missing)})
		}
		if s.props != nil {
			for k, v := range n.Entries() {
				if p := s.props[k.Value]; p != nil {
					at.push(pathStep{key: k.Value, index: -1})
					errs = p.checkAt(v, at, errs)
					at.pop()
					if at.quiet && len(errs) > 0 {
						return errs
					}
				}
			}
		}
	case Seq:
		if s.items != nil {
			for i, it := range n.Items() {
				at.push(pathStep{index: i})
				errs = s.items.checkAt(it, at, errs)
				at.pop()
				if at.quiet && len(errs) > 0 {
					return errs
				}
			}
		}
	}
	return errs
}

var typeWords = map[string]string{
	"object": "a map", "array": "a list", "string": "text", "integer": "an integer",
	"number": "a number", "boolean": "true or false", "null": "nothing",
}

// describe says in words what s accepts.
func (s *structSchema) describe() string {
	if s.ref != "" {
		return s.defs[s.ref].describe()
	}
	if len(s.anyOf) > 0 {
		parts := make([]string, len(s.anyOf))
		for i, b := range s.anyOf {
			parts[i] = b.describe()
		}
		return strings.Join(parts, " or ")
	}
	if len(s.enum) > 0 {
		return "one of " + quoteAll(s.enum)
	}
	var parts []string
	for _, t := range s.types {
		w := typeWords[t]
		if t == "array" && s.items != nil {
			if item := s.items.describe(); item == "text" {
				w = "a list of text"
			}
		}
		if t == "string" && s.format == "date" {
			w = "a date written YYYY-MM-DD"
		}
		parts = append(parts, w)
	}
	if len(parts) == 0 {
		return "a value"
	}
	return strings.Join(parts, " or ")
}

// jsonType names the JSON type a node decodes to, with its scalar text.
func jsonType(n *Node) (string, string) {
	switch n.Kind {
	case Map:
		return "object", ""
	case Seq:
		return "array", ""
	}
	switch n.Tag {
	case "!!null", "!!bool", "!!int", "!!float":
	default:
		return "string", n.Value // what Any gives for any other tag
	}
	switch v := n.Any().(type) {
	case nil:
		return "null", ""
	case bool:
		return "boolean", strconv.FormatBool(v)
	case interface{ String() string }: // json.Number
		s := v.String()
		if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && !strings.ContainsAny(s, ".eE") {
			return "integer", s
		}
		return "number", s
	}
	return "string", n.Value
}

func typeMatches(want []string, got, value string) bool {
	for _, t := range want {
		if t == got || (t == "number" && got == "integer") {
			return true
		}
		if t == "integer" && got == "number" {
			if f, err := strconv.ParseFloat(value, 64); err == nil && f == math.Trunc(f) {
				return true
			}
		}
	}
	return false
}

func quoteScalar(n *Node, typ string) string {
	if typ == "string" {
		return strconv.Quote(n.Value)
	}
	if w, ok := typeWords[typ]; ok && (typ == "object" || typ == "array" || typ == "null") {
		return w
	}
	return n.Value
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

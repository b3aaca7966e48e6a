// Package ingest turns ML metadata (CycloneDX ML-BOMs, Hugging Face model
// cards, MLflow MLmodel files) into a starter system model: every inferred
// fact carries its source, and what metadata cannot say becomes an x-todo.
// It imports only model (for the prop vocabulary); the CLI drives it.
package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Format is a kind of metadata file.
type Format string

const (
	CycloneDX Format = "cyclonedx"
	ModelCard Format = "modelcard"
	MLflow    Format = "mlflow"
)

// Formats lists the formats --type accepts.
var Formats = []string{string(CycloneDX), string(ModelCard), string(MLflow)}

// Limits bound what the parsers accept: metadata files are hostile input.
type Limits struct {
	MaxBytes      int64 // file size
	MaxDepth      int   // nesting of JSON or YAML values
	MaxComponents int   // CycloneDX components, counted through nesting
	MaxItems      int   // entries in any one metadata list (datasets, tags...)
}

// DefaultLimits are far above any real ML-BOM, card or MLmodel file.
var DefaultLimits = Limits{MaxBytes: 16 << 20, MaxDepth: 128, MaxComponents: 20_000, MaxItems: 1_000}

// Error is a problem with an input file, at a position when one is known.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ErrNothing says no model, LLM or dataset could be inferred from the input.
var ErrNothing = errors.New("nothing usable could be inferred")

// Fact is one inferred value and where it came from: a JSON pointer into the
// source file ("/components/0/modelCard/modelParameters/task").
type Fact struct {
	Value any // string, bool, int or []string
	From  string
	Weak  bool // guessed from the shape of a name; a stronger source overrides it
}

// Component is one inferred component before ids are assigned.
type Component struct {
	Key         string // identity across sources: kind and normalised name
	Kind        string
	Name        string
	Description string
	Exposure    string
	From        string   // pointer to the element in its source
	Sources     []string // file#pointer of every source that named it, set by Build
	Primary     bool     // the model the source describes
	Props       map[string]Fact
	TODO        []string
	Slug        string // preferred id, when the name makes a poor one
	id          string
}

// Flow is an inferred data flow between two components, named by Key.
type Flow struct {
	From, To      string
	Data          []string
	Description   string
	Bidirectional bool
}

// DataItem is data a flow carries.
type DataItem struct {
	ID             string
	Name           string
	Classification string
	From           string // pointer, when the classification is inferred
}

// Source is what one metadata file says.
type Source struct {
	Name       string // how x-source names the file (a path relative to the output)
	Format     Format
	SHA256     string
	System     SystemFacts
	Components []*Component
	Flows      []*Flow
	Data       []*DataItem
	Notes      []string // what was read but not modelled, for the user
	index      map[string]*Component
	flowSeen   map[[2]string]bool
}

// SystemFacts are what a source says about the system as a whole.
type SystemFacts struct {
	Name, Description Fact
}

func (s *Source) add(c *Component) *Component {
	if c.Props == nil {
		c.Props = map[string]Fact{}
	}
	if c.Key == "" {
		c.Key = c.Kind + ":" + normName(c.Name)
	}
	if have := s.index[c.Key]; have != nil {
		for _, k := range sortedKeys(c.Props) {
			have.set(k, c.Props[k].Value, c.Props[k].From)
		}
		return have
	}
	if s.index == nil {
		s.index = map[string]*Component{}
	}
	s.index[c.Key] = c
	s.Components = append(s.Components, c)
	return c
}

func (s *Source) flow(from, to *Component, desc string, data ...string) {
	k := [2]string{from.Key, to.Key}
	if s.flowSeen[k] {
		return
	}
	if s.flowSeen == nil {
		s.flowSeen = map[[2]string]bool{}
	}
	s.flowSeen[k] = true
	s.Flows = append(s.Flows, &Flow{From: from.Key, To: to.Key, Data: data, Description: desc})
}

func (s *Source) data(id, name string) {
	for _, d := range s.Data {
		if d.ID == id {
			return
		}
	}
	s.Data = append(s.Data, &DataItem{ID: id, Name: name})
}

func (s *Source) note(format string, args ...any) {
	s.Notes = append(s.Notes, fmt.Sprintf(format, args...))
}

// set records a prop unless it is already known.
func (c *Component) set(prop string, v any, from string) {
	if c.Props == nil {
		c.Props = map[string]Fact{}
	}
	have, ok := c.Props[prop]
	if !ok {
		c.Props[prop] = Fact{Value: v, From: from}
		return
	}
	// Lists accumulate: a dataset used for training and for evaluation.
	if old, ok := have.Value.([]string); ok {
		if add, ok := v.([]string); ok {
			old = slices.Clone(old)
			for _, x := range add {
				if !slices.Contains(old, x) {
					old = append(old, x)
				}
			}
			c.Props[prop] = Fact{Value: old, From: have.From}
		}
	}
}

// Parse reads one metadata file of a known format.
func Parse(name string, b []byte, f Format, lim Limits) (*Source, error) {
	if err := checkText(name, b, lim); err != nil {
		return nil, err
	}
	var (
		s   *Source
		err error
	)
	switch f {
	case CycloneDX:
		s, err = parseCycloneDX(name, b, lim)
	case ModelCard:
		s, err = parseModelCard(name, b, lim)
	case MLflow:
		s, err = parseMLmodel(name, b, lim)
	default:
		return nil, &Error{File: name, Msg: fmt.Sprintf("unknown metadata type %q; expected one of %s", f, strings.Join(Formats, ", "))}
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	s.SHA256 = hex.EncodeToString(sum[:])
	s.Name, s.Format = name, f
	return s, nil
}

// Detect tells the format from the content: a JSON object with bomFormat
// CycloneDX, Markdown that opens with YAML front matter, or YAML with a
// top-level flavors: key.
func Detect(name string, b []byte) (Format, error) {
	t := bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	t = bytes.TrimLeft(t, " \t\r\n")
	switch {
	case len(t) == 0:
		return "", &Error{File: name, Msg: "file is empty; expected a CycloneDX ML-BOM, a model card or an MLmodel file"}
	case t[0] == '{':
		head := t[:min(len(t), 1<<20)]
		if bytes.Contains(head, []byte(`"bomFormat"`)) && bytes.Contains(head, []byte(`"CycloneDX"`)) {
			return CycloneDX, nil
		}
		return "", &Error{File: name, Msg: "JSON without \"bomFormat\": \"CycloneDX\"; only CycloneDX ML-BOMs are read as JSON (use --type to force a format)"}
	case t[0] == '<':
		return "", &Error{File: name, Msg: "looks like XML; only CycloneDX JSON is read (convert it with the cyclonedx CLI)"}
	case bytes.HasPrefix(t, []byte("---")):
		return ModelCard, nil
	}
	for _, line := range bytes.Split(t, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("flavors:")) {
			return MLflow, nil
		}
	}
	if strings.HasSuffix(strings.ToLower(name), ".md") {
		return "", &Error{File: name, Line: 1, Col: 1, Msg: "Markdown without YAML front matter (a '---' block at the top); a model card keeps its metadata there"}
	}
	return "", &Error{File: name, Msg: "cannot tell the format: not a CycloneDX JSON BOM, a model card with YAML front matter, or an MLmodel file with flavors:; use --type cyclonedx|modelcard|mlflow"}
}

func checkText(name string, b []byte, lim Limits) error {
	if lim.MaxBytes > 0 && int64(len(b)) > lim.MaxBytes {
		return &Error{File: name, Msg: fmt.Sprintf("file is %d bytes, over the %d-byte limit for metadata", len(b), lim.MaxBytes)}
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		l, c := lineCol(b, i)
		return &Error{File: name, Line: l, Col: c, Msg: "file contains a NUL byte; expected a text file, this looks binary"}
	}
	if !utf8.Valid(b) {
		i := 0
		for i < len(b) {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		l, c := lineCol(b, i)
		return &Error{File: name, Line: l, Col: c, Msg: fmt.Sprintf("invalid UTF-8 (byte 0x%02x); metadata must be UTF-8", b[i])}
	}
	return nil
}

func lineCol(b []byte, off int) (int, int) {
	off = min(max(off, 0), len(b))
	line := 1 + bytes.Count(b[:off], []byte("\n"))
	start := bytes.LastIndexByte(b[:off], '\n') + 1
	return line, 1 + utf8.RuneCount(b[start:off])
}

// ptr appends escaped JSON-pointer tokens to base.
func ptr(base string, tokens ...any) string {
	var sb strings.Builder
	sb.WriteString(base)
	for _, t := range tokens {
		sb.WriteByte('/')
		switch v := t.(type) {
		case int:
			fmt.Fprint(&sb, v)
		case string:
			sb.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(v))
		}
	}
	return sb.String()
}

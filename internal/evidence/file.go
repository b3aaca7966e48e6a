package evidence

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FormatVersion is the `mlthreat_evidence:` value this build reads and writes.
const FormatVersion = 1

// Limits on an evidence file. It is written by mlthreat and read often, so
// a file past them is refused rather than read slowly.
const (
	MaxFileSize = 64 << 20
	MaxRecords  = 200_000
)

// PathFor is the evidence file of a model file: system.yaml gives
// system.evidence.yaml in the same folder.
func PathFor(model string) string {
	ext := filepath.Ext(model)
	if ext == ".yaml" || ext == ".yml" {
		return strings.TrimSuffix(model, ext) + ".evidence.yaml"
	}
	return model + ".evidence.yaml"
}

// Load reads an evidence file. A missing file is an error that satisfies
// errors.Is(err, os.ErrNotExist). Problems in the file are returned as
// Problems, each with its line.
func Load(path string) ([]Record, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes, larger than the %d MiB an evidence file may have", path, fi.Size(), MaxFileSize>>20)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return Parse(path, data)
}

// Parse reads the text of an evidence file named name.
func Parse(name string, data []byte) ([]Record, error) {
	if len(data) > MaxFileSize {
		return nil, Problems{{File: name, Msg: fmt.Sprintf("larger than %d MiB", MaxFileSize>>20)}}
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, Problems{{File: name, Msg: "contains a NUL byte; an evidence file is YAML text"}}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Problems{{File: name, Msg: "empty file; expected `mlthreat_evidence: 1` and `records:`"}}
		}
		return nil, Problems{{File: name, Line: yamlErrLine(err), Msg: "YAML: " + yamlErrText(err)}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, Problems{{File: name, Line: extra.Line, Msg: "a second YAML document; an evidence file holds one"}}
	}
	p := &parser{file: name}
	recs := p.document(&doc)
	if len(p.problems) > 0 {
		return nil, p.problems
	}
	return recs, nil
}

type parser struct {
	file     string
	problems Problems
}

func (p *parser) fail(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	if len(p.problems) < 100 {
		p.problems = append(p.problems, Problem{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
}

func (p *parser) document(doc *yaml.Node) []Record {
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if noAliases(doc) != nil {
		p.fail(noAliases(doc), "anchors and aliases are not allowed in an evidence file")
		return nil
	}
	if doc.Kind != yaml.MappingNode {
		p.fail(doc, "expected a mapping with `mlthreat_evidence: 1` and `records:`")
		return nil
	}
	var recs []Record
	version := false
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		switch k.Value {
		case "mlthreat_evidence":
			version = true
			if v.Kind != yaml.ScalarNode || v.Value != strconv.Itoa(FormatVersion) {
				p.fail(v, "mlthreat_evidence: this build reads version %d, not %q", FormatVersion, v.Value)
			}
		case "records":
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				continue
			}
			if v.Kind != yaml.SequenceNode {
				p.fail(v, "records: expected a list")
				continue
			}
			if len(v.Content) > MaxRecords {
				p.fail(v, "records: %d records, more than the %d an evidence file may hold", len(v.Content), MaxRecords)
				continue
			}
			for _, item := range v.Content {
				if r, ok := p.record(item); ok {
					recs = append(recs, r)
				}
			}
		default:
			if !strings.HasPrefix(k.Value, "x-") {
				p.fail(k, "unknown key %q; expected mlthreat_evidence or records", k.Value)
			}
		}
	}
	if !version {
		p.fail(doc, "missing `mlthreat_evidence: %d`", FormatVersion)
	}
	seen := map[string]int{}
	for _, r := range recs {
		if first, dup := seen[r.ID]; dup {
			p.problems = append(p.problems, Problem{File: p.file, Line: r.Line, Msg: fmt.Sprintf("record %s appears twice (first at line %d)", r.ID, first)})
			continue
		}
		seen[r.ID] = r.Line
	}
	return recs
}

var recordKeys = []string{"id", "tool", "tool_version", "run", "attack", "detector", "strategy", "subject", "techniques", "target", "attempts", "successes", "success_rate", "hits", "date", "source", "note"}

func (p *parser) record(n *yaml.Node) (Record, bool) {
	r := Record{Line: n.Line}
	if n.Kind != yaml.MappingNode {
		p.fail(n, "a record must be a mapping")
		return r, false
	}
	before := len(p.problems)
	seen := map[string]bool{}
	var rate *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			p.fail(k, "key %q given twice", k.Value)
			continue
		}
		seen[k.Value] = true
		switch k.Value {
		case "id":
			r.ID = p.str(v, k.Value)
		case "tool":
			r.Tool = p.str(v, k.Value)
		case "tool_version":
			r.ToolVersion = p.str(v, k.Value)
		case "run":
			r.Run = p.str(v, k.Value)
		case "attack":
			r.Attack = p.str(v, k.Value)
		case "detector":
			r.Detector = p.str(v, k.Value)
		case "strategy":
			r.Strategy = p.str(v, k.Value)
		case "subject":
			r.Subject = p.str(v, k.Value)
		case "target":
			r.Target = p.str(v, k.Value)
		case "date":
			r.Date = p.str(v, k.Value)
		case "source":
			r.Source = p.str(v, k.Value)
		case "note":
			r.Note = p.str(v, k.Value)
		case "techniques":
			if v.Kind != yaml.SequenceNode {
				p.fail(v, "techniques: expected a list of ATLAS technique ids")
				continue
			}
			for _, t := range v.Content {
				if s := p.str(t, "techniques"); s != "" && !slices.Contains(r.Techniques, s) {
					r.Techniques = append(r.Techniques, s)
				}
			}
		case "attempts":
			r.Attempts = p.int(v, k.Value)
		case "successes":
			r.Successes = p.int(v, k.Value)
		case "hits":
			r.Hits = p.int(v, k.Value)
		case "success_rate":
			rate = v
		default:
			if strings.HasPrefix(k.Value, "x-") {
				continue
			}
			p.fail(k, "unknown key %q in a record; expected one of %s", k.Value, strings.Join(recordKeys, ", "))
		}
	}
	var lacks []string
	for _, req := range []string{"id", "tool", "attack", "target", "attempts", "successes", "date"} {
		if !seen[req] {
			lacks = append(lacks, req)
		}
	}
	if len(lacks) > 0 {
		p.fail(n, "record lacks %s", strings.Join(lacks, ", "))
	}
	if len(p.problems) > before {
		return r, false
	}
	for _, msg := range r.Check() {
		p.fail(n, "record %s: %s", r.ID, msg)
	}
	if rate != nil && len(p.problems) == before {
		f, err := strconv.ParseFloat(rate.Value, 64)
		if rate.Kind != yaml.ScalarNode || err != nil {
			p.fail(rate, "success_rate: expected a number")
		} else if d := f - r.Rate(); d > 0.0001 || d < -0.0001 {
			p.fail(rate, "success_rate %s disagrees with successes/attempts (%d/%d = %.4f); fix the numbers or drop success_rate, which is only written for reading", rate.Value, r.Successes, r.Attempts, r.Rate())
		}
	}
	return r, len(p.problems) == before
}

func (p *parser) str(n *yaml.Node, key string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.fail(n, "%s: expected a string", key)
		return ""
	}
	return n.Value
}

func (p *parser) int(n *yaml.Node, key string) int {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		p.fail(n, "%s: expected a whole number", key)
		return 0
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil || v < 0 || v > MaxAttempts {
		p.fail(n, "%s: %q is not a whole number between 0 and %d", key, n.Value, int64(MaxAttempts))
		return 0
	}
	return int(v)
}

// noAliases returns the first alias or anchored node under n, or nil.
func noAliases(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return n
	}
	for _, c := range n.Content {
		if a := noAliases(c); a != nil {
			return a
		}
	}
	return nil
}

func yamlErrText(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "yaml: ")
	if i := strings.Index(s, ": "); i >= 0 && strings.HasPrefix(s, "line ") {
		s = s[i+2:]
	}
	return s
}

func yamlErrLine(err error) int {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	if !strings.HasPrefix(s, "line ") {
		return 0
	}
	s = s[len("line "):]
	end := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if end <= 0 {
		return 0
	}
	n, _ := strconv.Atoi(s[:end])
	return n
}

// Write writes records as an evidence file for the model named model.
func Write(w io.Writer, model string, recs []Record) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Red-team and test evidence for %s, kept beside it and versioned with it.\n", filepath.Base(model))
	b.WriteString("# Written by `mlthreat evidence import`; see docs/evidence.md.\n")
	root := &yaml.Node{Kind: yaml.MappingNode}
	list := &yaml.Node{Kind: yaml.SequenceNode}
	root.Content = append(root.Content, scalar("mlthreat_evidence"), intNode(FormatVersion), scalar("records"), list)
	for i := range recs {
		list.Content = append(list.Content, recordNode(&recs[i]))
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// WriteFile writes the evidence file atomically: into a temporary file
// beside it, renamed over it once complete.
func WriteFile(path, model string, recs []Record) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	name := tmp.Name()
	if err := Write(tmp, model, recs); err != nil {
		tmp.Close()
		os.Remove(name)
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return err
	}
	if err := os.Chmod(name, 0o644); err != nil {
		os.Remove(name)
		return err
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return err
	}
	return nil
}

func recordNode(r *Record) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	add := func(k string, v *yaml.Node) { m.Content = append(m.Content, scalar(k), v) }
	str := func(k, v string) {
		if v != "" {
			add(k, scalar(v))
		}
	}
	str("id", r.ID)
	str("tool", r.Tool)
	str("tool_version", r.ToolVersion)
	str("run", r.Run)
	str("attack", r.Attack)
	str("detector", r.Detector)
	str("strategy", r.Strategy)
	str("subject", r.Subject)
	techs := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, t := range r.Techniques {
		techs.Content = append(techs.Content, scalar(t))
	}
	add("techniques", techs)
	str("target", r.Target)
	add("attempts", intNode(r.Attempts))
	add("successes", intNode(r.Successes))
	rate := strconv.FormatFloat(roundRate(r.Rate()), 'f', -1, 64)
	if !strings.Contains(rate, ".") {
		rate += ".0"
	}
	add("success_rate", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: rate})
	if r.Hits > 0 {
		add("hits", intNode(r.Hits))
	}
	if r.Date != "" {
		add("date", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!timestamp", Value: r.Date})
	}
	str("source", r.Source)
	str("note", r.Note)
	return m
}

func roundRate(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 4, 64), 64)
	return v
}

func scalar(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func intNode(n int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(n)}
}

package model

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

//go:generate go run ./gen

// Markers around the generated part of docs/model.md.
const (
	DocsBegin = "<!-- BEGIN GENERATED REFERENCE: edit internal/model/kinds.yaml or structure.go, then go generate ./internal/model -->"
	DocsEnd   = "<!-- END GENERATED REFERENCE -->"
)

// KindsYAML is the path-independent source of the vocabulary, read by go generate.
//
//go:embed kinds.yaml
var kindsYAML []byte

// VocabularyJSON converts kinds.yaml to the embedded kinds.json.
func VocabularyJSON() ([]byte, error) {
	v, err := ParseVocabulary(kindsYAML)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// SchemaJSON renders the schema exactly as schema/model.schema.json holds it.
func SchemaJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	v, err := ParseVocabulary(kindsYAML)
	if err != nil {
		return nil, err
	}
	if err := enc.Encode(BuildSchema(v)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ReplaceGeneratedDocs rewrites the text between the markers of docs/model.md.
func ReplaceGeneratedDocs(doc []byte) ([]byte, error) {
	s := string(doc)
	i := strings.Index(s, DocsBegin)
	j := strings.Index(s, DocsEnd)
	if i < 0 || j < i {
		return nil, errors.New("docs/model.md lacks the generated-reference markers")
	}
	return []byte(s[:i+len(DocsBegin)] + "\n" + GeneratedDocs() + s[j:]), nil
}

// GeneratedDocs is the reference of every section, kind and prop.
func GeneratedDocs() string {
	var b strings.Builder
	v, err := ParseVocabulary(kindsYAML)
	if err != nil {
		return "generated reference unavailable: " + err.Error()
	}
	b.WriteString("\n## Reference: sections and keys\n\n")
	titles := map[string]string{
		"top": "Top level", "system": "`system`", "review": "`system.review`", "zone": "`zones[]`",
		"component": "`components[]`", "flow": "`flows[]`", "data": "`data[]`", "control": "`controls[]`",
		"threat": "`threats[]`", "decision": "`risk_tracking[]`", "practice": "`governance[]`",
	}
	for _, s := range Sections {
		fmt.Fprintf(&b, "### %s\n\n| key | required | meaning |\n|---|---|---|\n", titles[s.Name])
		for _, f := range s.Fields {
			req := ""
			if slices.Contains(s.Required, f.Key) {
				req = "yes"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.Key, req, f.Summary)
		}
		b.WriteString("\n")
	}
	b.WriteString("## Reference: component kinds and their props\n\n")
	b.WriteString("Props valid on every kind:\n\n")
	writeProps(&b, v.Common)
	b.WriteString("\n| kind | group | what it is |\n|---|---|---|\n")
	for _, k := range v.Kinds {
		fmt.Fprintf(&b, "| [`%s`](#kind-%s) | %s | %s |\n", k.Kind, k.Kind, k.Group, k.Summary)
	}
	b.WriteString("\n")
	for _, k := range v.Kinds {
		fmt.Fprintf(&b, "<a id=\"kind-%s\"></a>\n### `%s`\n\n%s\n\n", k.Kind, k.Kind, k.Summary)
		writeProps(&b, k.Props)
		fmt.Fprintf(&b, "\nExample:\n\n```yaml\ncomponents:\n%s```\n\n", indent(k.Example, "  "))
	}
	return b.String()
}

func writeProps(b *strings.Builder, props []PropSpec) {
	b.WriteString("| prop | type | values | meaning |\n|---|---|---|---|\n")
	for _, p := range props {
		name := "`" + p.Name + "`"
		if len(p.Aliases) > 0 {
			name += " (also `" + strings.Join(p.Aliases, "`, `") + "`)"
		}
		vals := ""
		if len(p.Values) > 0 {
			vals = "`" + strings.Join(p.Values, "`, `") + "`"
		}
		if p.Min != nil || p.Max != nil {
			switch {
			case p.Min != nil && p.Max != nil:
				vals = fmt.Sprintf("%g to %g", *p.Min, *p.Max)
			case p.Min != nil:
				vals = fmt.Sprintf("at least %g", *p.Min)
			default:
				vals = fmt.Sprintf("at most %g", *p.Max)
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", name, p.Type, vals, strings.ReplaceAll(p.Summary, "|", "\\|"))
	}
}

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pre + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

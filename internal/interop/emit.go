package interop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// YAML writes the model in mlthreat's format. Keys come in a fixed order and
// nothing depends on map iteration, so the same input gives the same bytes.
// It writes text directly: go.yaml.in/yaml/v3's encoder slows down sharply
// on documents of many megabytes, and imports of 10,000 elements are one.
func (m *Model) YAML() ([]byte, error) {
	e := &emitter{}
	for _, l := range strings.Split(m.Comment, "\n") {
		if l != "" {
			e.b.WriteString("# " + strings.ReplaceAll(l, "\r", "") + "\n")
		}
	}
	e.b.WriteString("mlthreat: 1\nsystem:\n")
	s := m.System
	e.kv(1, "id", s.ID)
	e.kv(1, "name", s.Name)
	e.kv(1, "description", s.Description)
	e.kv(1, "owner", s.Owner)
	e.kv(1, "criticality", s.Criticality)
	e.list(1, "platforms", s.Platforms)
	e.list(1, "tags", s.Tags)
	e.fields(1, s.Ext)
	if len(m.Zones) > 0 {
		e.b.WriteString("zones:\n")
		for _, z := range m.Zones {
			var f Fields
			f.Add("id", z.ID)
			f.Add("name", z.Name)
			f.Add("trust", z.Trust)
			f.Add("description", z.Description)
			e.line(append(f, z.Ext...))
		}
	}
	e.b.WriteString("components:")
	if len(m.Components) == 0 {
		e.b.WriteString(" []")
	}
	e.b.WriteString("\n")
	for _, c := range m.Components {
		e.item()
		e.kv(2, "id", c.ID)
		e.kv(2, "name", c.Name)
		e.kv(2, "kind", c.Kind)
		e.kv(2, "zone", c.Zone)
		e.kv(2, "exposure", c.Exposure)
		e.kv(2, "description", c.Description)
		e.kv(2, "owner", c.Owner)
		e.list(2, "tags", c.Tags)
		e.flowField(2, "props", c.Props)
		e.fields(2, c.Ext)
	}
	if len(m.Flows) > 0 {
		e.b.WriteString("flows:\n")
		for _, f := range m.Flows {
			var x Fields
			x.Add("id", f.ID)
			x.Add("from", f.From)
			x.Add("to", f.To)
			x.Add("data", f.Data)
			x.Add("protocol", f.Protocol)
			if f.Encrypted != nil {
				x.Add("encrypted", *f.Encrypted)
			}
			if f.Authenticated != nil {
				x.Add("authenticated", *f.Authenticated)
			}
			if f.Bidirectional {
				x.Add("bidirectional", true)
			}
			x.Add("description", f.Description)
			x.Add("props", f.Props)
			e.line(append(x, f.Ext...))
		}
	}
	if len(m.Data) > 0 {
		e.b.WriteString("data:\n")
		for _, d := range m.Data {
			var x Fields
			x.Add("id", d.ID)
			x.Add("name", d.Name)
			x.Add("classification", d.Classification)
			if d.PII {
				x.Add("pii", true)
			}
			x.Add("description", d.Description)
			e.line(append(x, d.Ext...))
		}
	}
	if len(m.Controls) > 0 {
		e.b.WriteString("controls:\n")
		for _, c := range m.Controls {
			e.item()
			e.kv(2, "id", c.ID)
			e.kv(2, "name", c.Name)
			e.kv(2, "description", c.Description)
			e.list(2, "mitigates", c.Mitigates)
			e.list(2, "applies_to", c.AppliesTo)
			e.kv(2, "status", c.Status)
			e.fields(2, c.Ext)
		}
	}
	if len(m.Threats) > 0 {
		e.b.WriteString("threats:\n")
		for _, t := range m.Threats {
			e.item()
			e.kv(2, "id", t.ID)
			e.kv(2, "title", t.Title)
			e.kv(2, "description", t.Description)
			e.kv(2, "technique", t.Technique)
			e.list(2, "targets", t.Targets)
			e.list(2, "stride", t.STRIDE)
			if t.Likelihood > 0 {
				e.raw(2, "likelihood", strconv.Itoa(t.Likelihood))
			}
			if t.Impact > 0 {
				e.raw(2, "impact", strconv.Itoa(t.Impact))
			}
			e.kv(2, "status", t.Status)
			e.fields(2, t.Ext)
		}
	}
	if len(m.Decisions) > 0 {
		e.b.WriteString("risk_tracking:\n")
		for _, d := range m.Decisions {
			e.item()
			e.kv(2, "threat", d.Threat)
			e.kv(2, "status", d.Status)
			e.kv(2, "justification", d.Justification)
			e.kv(2, "owner", d.Owner)
			e.kv(2, "until", d.Until)
		}
	}
	e.fields(0, m.Ext)
	return e.b.Bytes(), nil
}

// line writes one list item as a flow map on one line, as the examples
// write zones, flows and data.
func (e *emitter) line(f Fields) {
	e.b.WriteString("  - ")
	writeFlow(&e.b, f)
	e.b.WriteByte('\n')
}

// emitter writes block YAML. Each list item is "  - " followed by its first
// key; later keys line up under it.
type emitter struct {
	b       bytes.Buffer
	pending bool // an item dash was written; the next key goes on its line
}

func (e *emitter) item() {
	e.b.WriteString("  - ")
	e.pending = true
}

const spaces = "                "

func (e *emitter) key(depth int, k string) {
	if e.pending {
		e.pending = false
	} else {
		e.b.WriteString(spaces[:2*depth])
	}
	writeQuoted(&e.b, k)
	e.b.WriteString(": ")
}

func (e *emitter) raw(depth int, k, v string) {
	e.key(depth, k)
	e.b.WriteString(v)
	e.b.WriteByte('\n')
}

func (e *emitter) kv(depth int, k, v string) {
	if v != "" {
		e.flowLine(depth, k, v)
	}
}

func (e *emitter) list(depth int, k string, v []string) {
	if len(v) > 0 {
		e.flowLine(depth, k, v)
	}
}

func (e *emitter) flowField(depth int, k string, f Fields) {
	if len(f) > 0 {
		e.flowLine(depth, k, f)
	}
}

// fields writes extension fields, each value on one line in flow style.
func (e *emitter) fields(depth int, f Fields) {
	for _, x := range f {
		e.flowLine(depth, x.Key, x.Value)
	}
}

// flowLine is raw(depth, k, flow(v)).
func (e *emitter) flowLine(depth int, k string, v any) {
	e.key(depth, k)
	writeFlow(&e.b, v)
	e.b.WriteByte('\n')
}

// writeFlow writes a value in YAML flow style to b.
func writeFlow(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		writeQuoted(b, x)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case float64:
		switch {
		case math.IsNaN(x) || math.IsInf(x, 0):
			b.WriteString("null")
		case x == math.Trunc(x) && math.Abs(x) < 1e15:
			b.WriteString(strconv.FormatInt(int64(x), 10))
		default:
			b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		}
	case []string:
		b.WriteByte('[')
		for i, s := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeQuoted(b, s)
		}
		b.WriteByte(']')
	case []any:
		b.WriteByte('[')
		for i, s := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeFlow(b, s)
		}
		b.WriteByte(']')
	case Fields:
		b.WriteByte('{')
		for i, f := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeQuoted(b, f.Key)
			b.WriteString(": ")
			writeFlow(b, f.Value)
		}
		b.WriteByte('}')
	default:
		writeQuoted(b, fmt.Sprint(v))
	}
}

func writeQuoted(b *bytes.Buffer, s string) {
	if plain(s) {
		b.WriteString(s)
	} else {
		b.WriteString(Quote(s))
	}
}

// special words YAML 1.1 or 1.2 reads as something other than a string.
var special = map[string]bool{"y": true, "n": true, "yes": true, "no": true, "on": true, "off": true, "true": true, "false": true, "null": true}

// plain reports whether s can be written unquoted: it starts with a
// letter or '_' and holds only letters, digits, spaces and ._/()@+=-, with
// no space at the end, and is not a word YAML reads as a bool or null.
func plain(s string) bool {
	if s == "" || s[len(s)-1] == ' ' {
		return false
	}
	c := s[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_' || c == '.' || c == '/' || c == ' ' || c == '(' || c == ')' || c == '@' || c == '+' || c == '=' || c == '-':
		default:
			return false
		}
	}
	return len(s) > 5 || !special[strings.ToLower(s)]
}

// Quote writes a string as a plain scalar when YAML reads it back as the
// same string, else as a double-quoted one (JSON's escaping is valid YAML).
func Quote(s string) string {
	if plain(s) {
		return s
	}
	b, _ := json.Marshal(s)
	// JSON escapes <, > and & as \u003c...; YAML reads those too, but they
	// read badly.
	b = bytes.ReplaceAll(b, []byte(`\u003c`), []byte("<"))
	b = bytes.ReplaceAll(b, []byte(`\u003e`), []byte(">"))
	b = bytes.ReplaceAll(b, []byte(`\u0026`), []byte("&"))
	// YAML refuses raw DEL and C1 control characters; JSON leaves them.
	if !bytes.ContainsFunc(b, isControl) {
		return string(b)
	}
	var out strings.Builder
	for _, r := range string(b) {
		if isControl(r) {
			fmt.Fprintf(&out, `\u%04x`, r)
		} else {
			out.WriteRune(r)
		}
	}
	return out.String()
}

func isControl(r rune) bool { return r == 0x7f || r >= 0x80 && r <= 0x9f }

package jsonreport

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"unicode/utf8"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/rules"
)

// threatEncoder appends a threat exactly as json.MarshalIndent(Threat,
// "    ", "  ") would after Build, without building the Threat. It keeps
// the encoded text of what threats share: rule texts, catalogue names and
// the rule's lists. One encoder serves one goroutine.
type threatEncoder struct {
	cat     *catalog.Catalog
	version []byte // "ATLAS " + the ATLAS version, quoted
	names   map[string][]byte
	rules   map[*rules.Rule]*ruleText
	lists   map[listKey][]byte
}

// ruleText is a rule's encoded text, and the names of its technique and
// mitigations (a threat's usually match, in order).
type ruleText struct {
	id, source, title, rationale, techName []byte
	mitNames                               [][]byte
}

// listKey is a list by identity: threats of one rule share its arrays.
type listKey struct {
	p        *string
	n, depth int
}

// maxLists bounds the list cache, should lists stop being shared.
const maxLists = 4096

func newThreatEncoder(r *analysis.Report) *threatEncoder {
	return &threatEncoder{
		cat:     r.Catalog,
		version: appendString(nil, "ATLAS "+r.Catalog.Versions["atlas"]),
		names:   map[string][]byte{},
		rules:   map[*rules.Rule]*ruleText{},
		lists:   map[listKey][]byte{},
	}
}

// name appends the quoted catalogue name of id.
func (e *threatEncoder) name(b []byte, id string) []byte {
	n, ok := e.names[id]
	if !ok {
		n = appendString(nil, e.cat.Name(id))
		e.names[id] = n
	}
	return append(b, n...)
}

func (e *threatEncoder) rule(r *rules.Rule) *ruleText {
	rt := e.rules[r]
	if rt == nil {
		rt = &ruleText{
			id:        appendString(nil, r.ID),
			source:    appendString(nil, r.Location()),
			title:     appendString(nil, r.Title),
			rationale: appendString(nil, r.Rationale),
			techName:  e.name(nil, r.Technique),
		}
		for _, m := range r.Mitigations {
			rt.mitNames = append(rt.mitNames, e.name(nil, m))
		}
		e.rules[r] = rt
	}
	return rt
}

// sharedStrings is appendStrings for lists that threats share.
func (e *threatEncoder) sharedStrings(b []byte, d int, s []string) []byte {
	if len(s) == 0 {
		return appendStrings(b, d, s)
	}
	k := listKey{&s[0], len(s), d}
	if text, ok := e.lists[k]; ok {
		return append(b, text...)
	}
	if len(e.lists) >= maxLists {
		return appendStrings(b, d, s)
	}
	n := len(b)
	b = appendStrings(b, d, s)
	e.lists[k] = append([]byte(nil), b[n:]...)
	return b
}

// nl is a newline and the indent of a threat's depth d (the threat's own
// braces are at depth 0, four spaces in).
func nl(b []byte, d int) []byte {
	const s = "\n                    "
	return append(b, s[:5+2*d]...)
}

// key starts a field at depth d; first says whether it opens its object.
func key(b []byte, d int, first bool, name string) []byte {
	if first {
		b = append(b, '{')
	} else {
		b = append(b, ',')
	}
	b = nl(b, d)
	b = append(b, '"')
	b = append(b, name...)
	return append(b, `": `...)
}

// appendStrings appends a list of strings at depth d. Build makes every
// list that is not omitted when empty non-nil, so none is null.
func appendStrings(b []byte, d int, s []string) []byte {
	if len(s) == 0 {
		return append(b, "[]"...)
	}
	b = append(b, '[')
	for i, v := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = nl(b, d+1)
		b = appendString(b, v)
	}
	b = nl(b, d)
	return append(b, ']')
}

func (e *threatEncoder) appendThreat(b []byte, t *analysis.Threat) ([]byte, error) {
	rt := e.rule(t.Rule)
	b = key(b, 1, true, "id")
	b = appendString(b, t.ID)
	b = key(b, 1, false, "rule")
	b = append(b, rt.id...)
	b = key(b, 1, false, "rule_source")
	b = append(b, rt.source...)
	b = key(b, 1, false, "title")
	b = append(b, rt.title...)

	b = key(b, 1, false, "target")
	first := true
	for _, f := range [...]struct{ k, v string }{{"component", t.Target.Component}, {"flow", t.Target.Flow}, {"zone", t.Target.Zone}} {
		if f.v != "" {
			b = key(b, 2, first, f.k)
			b = appendString(b, f.v)
			first = false
		}
	}
	if first {
		b = append(b, "{}"...)
	} else {
		b = append(nl(b, 1), '}')
	}

	b = key(b, 1, false, "atlas")
	b = key(b, 2, true, "technique")
	b = appendString(b, t.Technique)
	b = key(b, 2, false, "name")
	if t.Technique == t.Rule.Technique {
		b = append(b, rt.techName...)
	} else {
		b = e.name(b, t.Technique)
	}
	b = key(b, 2, false, "tactics")
	b = e.sharedStrings(b, 2, t.Tactics)
	if len(t.Related) > 0 {
		b = key(b, 2, false, "related")
		b = e.sharedStrings(b, 2, t.Related)
	}
	b = append(nl(b, 1), '}')

	b = key(b, 1, false, "stride")
	b = e.sharedStrings(b, 1, t.STRIDE)
	if len(t.LINDDUN) > 0 {
		b = key(b, 1, false, "linddun")
		b = e.sharedStrings(b, 1, t.LINDDUN)
	}
	b = key(b, 1, false, "owasp")
	b = e.sharedStrings(b, 1, t.OWASP)
	b = key(b, 1, false, "likelihood")
	b = appendRating(b, t.Likelihood)
	b = key(b, 1, false, "impact")
	b = appendRating(b, t.Impact)
	b = key(b, 1, false, "risk")
	b = key(b, 2, true, "score")
	b = strconv.AppendInt(b, int64(t.Risk), 10)
	b = key(b, 2, false, "severity")
	b = appendString(b, t.Severity)
	b = append(nl(b, 1), '}')

	b = key(b, 1, false, "mitigations")
	if len(t.Mitigations) == 0 {
		b = append(b, "[]"...)
	} else {
		b = append(b, '[')
		for i, m := range t.Mitigations {
			if i > 0 {
				b = append(b, ',')
			}
			b = nl(b, 2)
			b = key(b, 3, true, "id")
			b = appendString(b, m.ID)
			b = key(b, 3, false, "name")
			if i < len(rt.mitNames) && m.ID == t.Rule.Mitigations[i] {
				b = append(b, rt.mitNames[i]...)
			} else {
				b = e.name(b, m.ID)
			}
			b = key(b, 3, false, "control")
			if m.Control == "" {
				b = append(b, "null"...)
			} else {
				b = appendString(b, m.Control)
			}
			b = key(b, 3, false, "status")
			b = appendString(b, m.Status)
			b = append(nl(b, 2), '}')
		}
		b = append(nl(b, 1), ']')
	}

	b = key(b, 1, false, "residual")
	b = key(b, 2, true, "score")
	b = strconv.AppendInt(b, int64(t.Residual.Score), 10)
	b = key(b, 2, false, "severity")
	b = appendString(b, t.Residual.Severity)
	b = key(b, 2, false, "likelihood")
	b = strconv.AppendInt(b, int64(t.Residual.Likelihood), 10)
	b = key(b, 2, false, "impact")
	b = strconv.AppendInt(b, int64(t.Residual.Impact), 10)
	if len(t.Residual.Factors) > 0 {
		b = key(b, 2, false, "factors")
		b = appendStrings(b, 2, t.Residual.Factors)
	}
	b = append(nl(b, 1), '}')

	b = key(b, 1, false, "status")
	b = appendString(b, t.Status)
	if dec := t.Decision; dec != nil {
		b = key(b, 1, false, "decision")
		b = key(b, 2, true, "status")
		b = appendString(b, dec.Status)
		for _, f := range [...]struct{ k, v string }{{"justification", dec.Justification}, {"owner", dec.Owner}, {"until", dec.Until}} {
			if f.v != "" {
				b = key(b, 2, false, f.k)
				b = appendString(b, f.v)
			}
		}
		b = append(nl(b, 1), '}')
	}
	if t.Confirmed {
		b = key(b, 1, false, "confirmed")
		b = append(b, "true"...)
	}
	if len(t.Evidence) > 0 {
		b = key(b, 1, false, "evidence")
		b = append(b, '[')
		for i := range t.Evidence {
			if i > 0 {
				b = append(b, ',')
			}
			b = nl(b, 2)
			var err error
			if b, err = appendEvidence(b, &t.Evidence[i]); err != nil {
				return b, err
			}
		}
		b = append(nl(b, 1), ']')
	}
	b = key(b, 1, false, "rmf")
	b = e.sharedStrings(b, 1, t.RMF)
	b = key(b, 1, false, "case_studies")
	b = e.sharedStrings(b, 1, t.CaseStudies)
	if facts := t.Facts(); len(facts) > 0 {
		b = key(b, 1, false, "facts")
		b = appendStrings(b, 1, facts)
	}
	b = key(b, 1, false, "rationale")
	b = append(b, rt.rationale...)
	b = key(b, 1, false, "catalog_version")
	b = append(b, e.version...)
	b = key(b, 1, false, "line")
	b = strconv.AppendInt(b, int64(t.Line), 10)
	return append(nl(b, 0), '}'), nil
}

// appendRating appends a Rating at depth 1.
func appendRating(b []byte, r analysis.Rating) []byte {
	b = key(b, 2, true, "score")
	b = strconv.AppendInt(b, int64(r.Score), 10)
	b = key(b, 2, false, "factors")
	b = appendStrings(b, 2, r.Factors)
	return append(nl(b, 1), '}')
}

// appendEvidence appends an Evidence at depth 2.
func appendEvidence(b []byte, ref *analysis.EvidenceRef) ([]byte, error) {
	b = key(b, 3, true, "id")
	b = appendString(b, ref.ID)
	b = key(b, 3, false, "tool")
	b = appendString(b, ref.Tool)
	b = key(b, 3, false, "attack")
	b = appendString(b, ref.Attack)
	for _, f := range [...]struct{ k, v string }{{"detector", ref.Detector}, {"strategy", ref.Strategy}} {
		if f.v != "" {
			b = key(b, 3, false, f.k)
			b = appendString(b, f.v)
		}
	}
	b = key(b, 3, false, "techniques")
	b = appendStrings(b, 3, ref.Techniques)
	b = key(b, 3, false, "success_rate")
	var err error
	if b, err = appendFloat(b, successRate(ref)); err != nil {
		return b, err
	}
	b = key(b, 3, false, "attempts")
	b = strconv.AppendInt(b, int64(ref.Attempts), 10)
	b = key(b, 3, false, "successes")
	b = strconv.AppendInt(b, int64(ref.Successes), 10)
	b = key(b, 3, false, "date")
	b = appendString(b, ref.Date)
	b = key(b, 3, false, "age_days")
	b = strconv.AppendInt(b, int64(ref.AgeDays), 10)
	if ref.Stale {
		b = key(b, 3, false, "stale")
		b = append(b, "true"...)
	}
	b = key(b, 3, false, "outcome")
	b = appendString(b, ref.Outcome)
	for _, f := range [...]struct{ k, v string }{{"reason", ref.Reason}, {"source", ref.Source}} {
		if f.v != "" {
			b = key(b, 3, false, f.k)
			b = appendString(b, f.v)
		}
	}
	return append(nl(b, 2), '}'), nil
}

func successRate(ref *analysis.EvidenceRef) float64 {
	return math.Round(ref.Rate()*10000) / 10000
}

const hex = "0123456789abcdef"

// htmlSafe marks the ASCII bytes encoding/json leaves as they are: all but
// control characters, '"', '\\', '<', '>' and '&'.
var htmlSafe = func() (s [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		s[c] = true
	}
	for _, c := range `"\<>&` {
		s[c] = false
	}
	return s
}()

// appendString appends s quoted as encoding/json quotes it.
func appendString(b []byte, s string) []byte {
	return append(appendStringBody(append(b, '"'), s), '"')
}

// appendStringBody appends s escaped as encoding/json escapes it (HTML
// characters, U+2028 and U+2029 too; invalid UTF-8 becomes U+FFFD), unquoted.
func appendStringBody(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) && plain8(s, i) {
			i += 8
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if htmlSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		} else if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		} else {
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}

// plain8 reports whether the eight bytes of s at i are all htmlSafe.
func plain8(s string, i int) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	s = s[i : i+8]
	x := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	// A byte of v is zero, or (with the high bits of x clear) below n, iff
	// its high bit is set in zero(v) or below(n).
	zero := func(v uint64) uint64 { return (v - ones) &^ v & highs }
	special := x&highs | (x-ones*0x20)&^x&highs |
		zero(x^(ones*'"')) | zero(x^(ones*'\\')) | zero(x^(ones*'<')) | zero(x^(ones*'>')) | zero(x^(ones*'&'))
	return special == 0
}

// appendFloat appends f as encoding/json's float64 encoder does.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, &json.UnsupportedValueError{Value: reflect.ValueOf(f), Str: strconv.FormatFloat(f, 'g', -1, 64)}
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

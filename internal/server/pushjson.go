package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/mlthreat/mlthreat/internal/server/api"
)

// pushParts are the analysis, gap and gate as the fast path read them
// while it walked the body; nil where it did not.
type pushParts struct {
	analysis *analysisDoc
	gap      *gapDoc
	gate     *gateDoc
}

// decodePush reads a push body into req: the fast path (fastjson.go) when
// it can, else decodeJSON's encoding/json path over the same bytes, which
// decides the result and words the errors.
func decodePush(w http.ResponseWriter, r *http.Request, limit int64, req *api.PushRequest, parts *pushParts) error {
	if err := checkContentType(r); err != nil {
		return err
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	data, err := readBody(body, r.ContentLength, limit)
	if err == nil && fastPushRequest(data, req, parts) {
		return nil
	}
	*req, *parts = api.PushRequest{}, pushParts{}
	// body keeps returning the error (or EOF) it ended with.
	return decodeStream(io.MultiReader(bytes.NewReader(data), body), req)
}

// readBody reads a body whole, sized by its Content-Length (up to a
// megabyte; a larger body grows the buffer as it comes).
func readBody(r io.Reader, length, limit int64) ([]byte, error) {
	size := 512
	if length > 0 && length <= min(limit, 1<<20) {
		size = int(length) + 1 // room to see EOF without growing
	}
	b := make([]byte, 0, size)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// fastPushRequest decodes a push body as decodeJSON would (unknown fields
// refused), or reports false. Into parts (when not nil) it also reads the
// analysis, gap and gate on the way, as decodeAnalysis, decodeGap and
// decodeGate would from the raw members.
func fastPushRequest(data []byte, req *api.PushRequest, parts *pushParts) bool {
	c := newCur(data)
	fields(c, &pushDest{req, parts}, true, pushFields)
	return c.end()
}

// pushDest is where fastPushRequest reads a body to.
type pushDest struct {
	req   *api.PushRequest
	parts *pushParts
}

var pushFields = []field[pushDest]{
	{"file", func(c *jcur, p *pushDest) { c.str(&p.req.File) }},
	{"model", func(c *jcur, p *pushDest) { c.str(&p.req.Model) }},
	{"analysis", func(c *jcur, p *pushDest) {
		p.req.Analysis = c.part(p.parts != nil, func(c *jcur) {
			doc := &analysisDoc{}
			if fields(c, doc, false, analysisFields); !c.bad {
				p.parts.analysis = doc
			}
		})
	}},
	{"gap", func(c *jcur, p *pushDest) {
		p.req.Gap = c.part(p.parts != nil, func(c *jcur) {
			doc := &gapDoc{}
			if c.gap(doc, true); !c.bad {
				p.parts.gap = doc
			}
		})
	}},
	{"gate", func(c *jcur, p *pushDest) {
		p.req.Gate = c.part(p.parts != nil, func(c *jcur) {
			doc := &gateDoc{}
			if fields(c, doc, false, gateFields); !c.bad {
				p.parts.gate = doc
			}
		})
	}},
	{"evidence", func(c *jcur, p *pushDest) { c.str(&p.req.Evidence) }},
	{"review", func(c *jcur, p *pushDest) { p.req.Review = c.raw() }},
	{"tool_version", func(c *jcur, p *pushDest) { c.str(&p.req.ToolVersion) }},
	{"base_version", func(c *jcur, p *pushDest) { c.integer(&p.req.BaseVersion) }},
}

// decodeAnalysis decodes the parts of the analysis the server reads.
func decodeAnalysis(raw json.RawMessage, doc *analysisDoc) error {
	if fastAnalysis(raw, doc) {
		return nil
	}
	*doc = analysisDoc{}
	return decodePart("analysis", raw, doc)
}

func fastAnalysis(raw []byte, doc *analysisDoc) bool {
	c := newCur(raw)
	fields(c, doc, false, analysisFields)
	return c.end()
}

var analysisFields = []field[analysisDoc]{
	{"system", func(c *jcur, d *analysisDoc) { c.idObject(&d.System.ID) }},
	{"threats", func(c *jcur, d *analysisDoc) { list(c, &d.Threats, threatFields) }},
}

// idObject decodes {"id": ...} (other members ignored); null leaves it.
func (c *jcur) idObject(id *string) {
	object(c, id, idFields)
}

var idFields = []field[string]{{"id", (*jcur).str}}

var threatFields = []field[analysisThreat]{
	{"id", func(c *jcur, t *analysisThreat) { c.str(&t.ID) }},
	{"rule", func(c *jcur, t *analysisThreat) { c.str(&t.Rule) }},
	{"title", func(c *jcur, t *analysisThreat) { c.str(&t.Title) }},
	{"target", func(c *jcur, t *analysisThreat) { object(c, t, targetFields) }},
	{"atlas", func(c *jcur, t *analysisThreat) { object(c, t, atlasFields) }},
	{"risk", func(c *jcur, t *analysisThreat) { object(c, t, riskFields) }},
	{"residual", func(c *jcur, t *analysisThreat) { object(c, t, residualFields) }},
	{"status", func(c *jcur, t *analysisThreat) { c.str(&t.Status) }},
	{"decision", func(c *jcur, t *analysisThreat) {
		if c.null() {
			t.Decision = nil
			return
		}
		d := &analysisDecision{}
		fields(c, d, false, decisionFields)
		t.Decision = d
	}},
}

var (
	targetFields = []field[analysisThreat]{
		{"component", func(c *jcur, t *analysisThreat) { c.str(&t.Target.Component) }},
		{"flow", func(c *jcur, t *analysisThreat) { c.str(&t.Target.Flow) }},
		{"zone", func(c *jcur, t *analysisThreat) { c.str(&t.Target.Zone) }},
	}
	atlasFields = []field[analysisThreat]{
		{"technique", func(c *jcur, t *analysisThreat) { c.str(&t.ATLAS.Technique) }},
		{"tactics", func(c *jcur, t *analysisThreat) { c.strs(&t.ATLAS.Tactics) }},
		{"related", func(c *jcur, t *analysisThreat) { c.strs(&t.ATLAS.Related) }},
	}
	riskFields = []field[analysisThreat]{
		{"severity", func(c *jcur, t *analysisThreat) { c.str(&t.Risk.Severity) }},
	}
	residualFields = []field[analysisThreat]{
		{"severity", func(c *jcur, t *analysisThreat) { c.str(&t.Residual.Severity) }},
		{"score", func(c *jcur, t *analysisThreat) { c.integer(&t.Residual.Score) }},
	}
	decisionFields = []field[analysisDecision]{
		{"until", func(c *jcur, d *analysisDecision) { c.str(&d.Until) }},
	}
)

// gapDoc is the part of the gap document the server reads.
type gapDoc struct {
	System struct {
		ID string `json:"id"`
	} `json:"system"`
	Functions []gapFunction `json:"functions"`
}

type gapFunction struct {
	ID       string  `json:"id"`
	Coverage float64 `json:"coverage"`
}

// decodeGap reads the gap document's system and functions, which come
// before its categories, subcategories and roadmap; it stops there.
func decodeGap(raw json.RawMessage, doc *gapDoc) error {
	if fastGap(raw, doc) {
		return nil
	}
	*doc = gapDoc{}
	return decodeLeading("gap", raw, map[string]any{"system": &doc.System, "functions": &doc.Functions})
}

// fastGap follows decodeLeading: top-level keys match exactly, the first
// of each wins, and reading stops once both are found.
func fastGap(raw []byte, doc *gapDoc) bool {
	c := newCur(raw)
	c.gap(doc, false)
	return !c.bad
}

// gap reads the gap document as decodeLeading does; with whole, it then
// validates the rest of the object and reads past it.
func (c *jcur) gap(doc *gapDoc, whole bool) {
	if !c.eat('{') {
		c.fail()
		return
	}
	var sys, fns bool
	for key := c.name(); key != nil; key = c.name() {
		if bytes.IndexByte(key, '\\') >= 0 {
			c.fail()
			return
		}
		switch {
		case sys && fns:
			c.skip() // decodeLeading has stopped reading
		case string(key) == "system" && !sys:
			sys = true
			c.idObject(&doc.System.ID)
		case string(key) == "functions" && !fns:
			fns = true
			list(c, &doc.Functions, functionFields)
		default:
			c.skip()
		}
		if c.bad || sys && fns && !whole {
			return
		}
	}
	if !c.eat('}') { // the end: both may be missing
		c.fail()
	}
}

var functionFields = []field[gapFunction]{
	{"id", func(c *jcur, f *gapFunction) { c.str(&f.ID) }},
	{"coverage", func(c *jcur, f *gapFunction) { c.float(&f.Coverage) }},
}

// gateDoc is the part of a gate result the server reads.
type gateDoc struct {
	System    string        `json:"system"`
	Policy    string        `json:"policy"`
	Verdict   string        `json:"verdict"`
	ThreatSet string        `json:"threat_set"`
	Findings  []gateFinding `json:"findings"`
}

type gateFinding struct {
	Check   string `json:"check"`
	Verdict string `json:"verdict"`
}

func decodeGate(raw json.RawMessage, doc *gateDoc) error {
	if fastGate(raw, doc) {
		return nil
	}
	*doc = gateDoc{}
	return decodePart("gate", raw, doc)
}

func fastGate(raw []byte, doc *gateDoc) bool {
	c := newCur(raw)
	fields(c, doc, false, gateFields)
	return c.end()
}

var gateFields = []field[gateDoc]{
	{"system", func(c *jcur, d *gateDoc) { c.str(&d.System) }},
	{"policy", func(c *jcur, d *gateDoc) { c.str(&d.Policy) }},
	{"verdict", func(c *jcur, d *gateDoc) { c.str(&d.Verdict) }},
	{"threat_set", func(c *jcur, d *gateDoc) { c.str(&d.ThreatSet) }},
	{"findings", func(c *jcur, d *gateDoc) { list(c, &d.Findings, findingFields) }},
}

var findingFields = []field[gateFinding]{
	{"check", func(c *jcur, f *gateFinding) { c.str(&f.Check) }},
	{"verdict", func(c *jcur, f *gateFinding) { c.str(&f.Verdict) }},
}

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
	var seen uint32
	c.obj(func(key []byte) {
		switch {
		case keyIs(key, "file"):
			if c.once(&seen, 1<<0) {
				c.str(&req.File)
			}
		case keyIs(key, "model"):
			if c.once(&seen, 1<<1) {
				c.str(&req.Model)
			}
		case keyIs(key, "analysis"):
			if c.once(&seen, 1<<2) {
				req.Analysis = c.part(parts != nil, func(c *jcur) {
					doc := &analysisDoc{}
					if c.analysis(doc); !c.bad {
						parts.analysis = doc
					}
				})
			}
		case keyIs(key, "gap"):
			if c.once(&seen, 1<<3) {
				req.Gap = c.part(parts != nil, func(c *jcur) {
					doc := &gapDoc{}
					if c.gap(doc, true); !c.bad {
						parts.gap = doc
					}
				})
			}
		case keyIs(key, "gate"):
			if c.once(&seen, 1<<4) {
				req.Gate = c.part(parts != nil, func(c *jcur) {
					doc := &gateDoc{}
					if c.gate(doc); !c.bad {
						parts.gate = doc
					}
				})
			}
		case keyIs(key, "evidence"):
			if c.once(&seen, 1<<5) {
				c.str(&req.Evidence)
			}
		case keyIs(key, "review"):
			if c.once(&seen, 1<<6) {
				req.Review = c.raw()
			}
		case keyIs(key, "tool_version"):
			if c.once(&seen, 1<<7) {
				c.str(&req.ToolVersion)
			}
		case keyIs(key, "base_version"):
			if c.once(&seen, 1<<8) {
				c.integer(&req.BaseVersion)
			}
		default: // unknown: refused
			c.fail()
		}
	})
	return c.end()
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
	c.analysis(doc)
	return c.end()
}

func (c *jcur) analysis(doc *analysisDoc) {
	var seen uint32
	c.obj(func(key []byte) {
		switch {
		case keyIs(key, "system"):
			if c.once(&seen, 1) {
				c.idObject(&doc.System.ID)
			}
		case keyIs(key, "threats"):
			if c.once(&seen, 2) {
				c.threats(&doc.Threats)
			}
		default:
			c.skip()
		}
	})
}

// idObject decodes {"id": ...} (other members ignored); null leaves it.
func (c *jcur) idObject(id *string) {
	if c.null() {
		return
	}
	var seen uint32
	c.obj(func(key []byte) {
		if keyIs(key, "id") {
			if c.once(&seen, 1) {
				c.str(id)
			}
			return
		}
		c.skip()
	})
}

func (c *jcur) threats(dst *[]analysisThreat) {
	if c.null() {
		*dst = nil
		return
	}
	out := []analysisThreat{}
	c.arr(func() {
		out = append(out, analysisThreat{})
		t := &out[len(out)-1]
		if c.null() {
			return
		}
		var seen uint32
		c.obj(func(key []byte) {
			switch {
			case keyIs(key, "id"):
				if c.once(&seen, 1<<0) {
					c.str(&t.ID)
				}
			case keyIs(key, "rule"):
				if c.once(&seen, 1<<1) {
					c.str(&t.Rule)
				}
			case keyIs(key, "title"):
				if c.once(&seen, 1<<2) {
					c.str(&t.Title)
				}
			case keyIs(key, "target"):
				if c.once(&seen, 1<<3) {
					c.target(t)
				}
			case keyIs(key, "atlas"):
				if c.once(&seen, 1<<4) {
					c.atlas(t)
				}
			case keyIs(key, "risk"):
				if c.once(&seen, 1<<5) {
					c.severity(&t.Risk.Severity, nil)
				}
			case keyIs(key, "residual"):
				if c.once(&seen, 1<<6) {
					c.severity(&t.Residual.Severity, &t.Residual.Score)
				}
			case keyIs(key, "status"):
				if c.once(&seen, 1<<7) {
					c.str(&t.Status)
				}
			case keyIs(key, "decision"):
				if c.once(&seen, 1<<8) {
					c.decision(t)
				}
			default:
				c.skip()
			}
		})
	})
	*dst = out
}

func (c *jcur) target(t *analysisThreat) {
	if c.null() {
		return
	}
	var seen uint32
	c.obj(func(key []byte) {
		switch {
		case keyIs(key, "component"):
			if c.once(&seen, 1) {
				c.str(&t.Target.Component)
			}
		case keyIs(key, "flow"):
			if c.once(&seen, 2) {
				c.str(&t.Target.Flow)
			}
		case keyIs(key, "zone"):
			if c.once(&seen, 4) {
				c.str(&t.Target.Zone)
			}
		default:
			c.skip()
		}
	})
}

func (c *jcur) atlas(t *analysisThreat) {
	if c.null() {
		return
	}
	var seen uint32
	c.obj(func(key []byte) {
		switch {
		case keyIs(key, "technique"):
			if c.once(&seen, 1) {
				c.str(&t.ATLAS.Technique)
			}
		case keyIs(key, "tactics"):
			if c.once(&seen, 2) {
				c.strs(&t.ATLAS.Tactics)
			}
		case keyIs(key, "related"):
			if c.once(&seen, 4) {
				c.strs(&t.ATLAS.Related)
			}
		default:
			c.skip()
		}
	})
}

// severity decodes {"severity": ..., "score": ...}; score is nil where the
// object has no such field.
func (c *jcur) severity(sev *string, score *int) {
	if c.null() {
		return
	}
	var seen uint32
	c.obj(func(key []byte) {
		switch {
		case keyIs(key, "severity"):
			if c.once(&seen, 1) {
				c.str(sev)
			}
		case score != nil && keyIs(key, "score"):
			if c.once(&seen, 2) {
				c.integer(score)
			}
		default:
			c.skip()
		}
	})
}

func (c *jcur) decision(t *analysisThreat) {
	if c.null() {
		t.Decision = nil
		return
	}
	d := &analysisDecision{}
	var seen uint32
	c.obj(func(key []byte) {
		if keyIs(key, "until") {
			if c.once(&seen, 1) {
				c.str(&d.Until)
			}
			return
		}
		c.skip()
	})
	t.Decision = d
}

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
			c.functions(&doc.Functions)
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

func (c *jcur) functions(dst *[]gapFunction) {
	if c.null() {
		*dst = nil
		return
	}
	out := []gapFunction{}
	c.arr(func() {
		out = append(out, gapFunction{})
		f := &out[len(out)-1]
		if c.null() {
			return
		}
		var seen uint32
		c.obj(func(key []byte) {
			switch {
			case keyIs(key, "id"):
				if c.once(&seen, 1) {
					c.str(&f.ID)
				}
			case keyIs(key, "coverage"):
				if c.once(&seen, 2) {
					c.float(&f.Coverage)
				}
			default:
				c.skip()
			}
		})
	})
	*dst = out
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
	c.gate(doc)
	return c.end()
}

func (c *jcur) gate(doc *gateDoc) {
	var seen uint32
	c.obj(func(key []byte) {
		switch {
		case keyIs(key, "system"):
			if c.once(&seen, 1<<0) {
				c.str(&doc.System)
			}
		case keyIs(key, "policy"):
			if c.once(&seen, 1<<1) {
				c.str(&doc.Policy)
			}
		case keyIs(key, "verdict"):
			if c.once(&seen, 1<<2) {
				c.str(&doc.Verdict)
			}
		case keyIs(key, "threat_set"):
			if c.once(&seen, 1<<3) {
				c.str(&doc.ThreatSet)
			}
		case keyIs(key, "findings"):
			if c.once(&seen, 1<<4) {
				c.findings(&doc.Findings)
			}
		default:
			c.skip()
		}
	})
}

func (c *jcur) findings(dst *[]gateFinding) {
	if c.null() {
		*dst = nil
		return
	}
	out := []gateFinding{}
	c.arr(func() {
		out = append(out, gateFinding{})
		f := &out[len(out)-1]
		if c.null() {
			return
		}
		var seen uint32
		c.obj(func(key []byte) {
			switch {
			case keyIs(key, "check"):
				if c.once(&seen, 1) {
					c.str(&f.Check)
				}
			case keyIs(key, "verdict"):
				if c.once(&seen, 2) {
					c.str(&f.Verdict)
				}
			default:
				c.skip()
			}
		})
	})
	*dst = out
}

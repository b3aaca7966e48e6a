// Package catalog holds the knowledge base mlthreat reasons with: MITRE ATLAS,
// the NIST AI RMF and AI 600-1, the OWASP ML/LLM/Agentic Top 10 lists, STRIDE,
// LINDDUN and the project's own controls. The default catalogue is generated
// from ../shared/data by `go generate` and embedded; it holds facts (ids, names,
// relations, order, versions) and summaries written for mlthreat, never the
// sources' prose. It imports nothing from the rest of mlthreat.
package catalog

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"
)

//go:generate go run ./gen -data ../../../shared/data -out catalog.json

//go:embed catalog.json
var embedded []byte

//go:embed catalog.gob
var embeddedGob []byte

// Catalog is the whole knowledge base. Slices keep the sources' order.
type Catalog struct {
	Versions    map[string]string `json:"versions"`
	ATLAS       ATLAS             `json:"atlas"`
	RMF         RMF               `json:"rmf"`
	GenAI       GenAIProfile      `json:"genai_profile"`
	OWASP       []OWASPItem       `json:"owasp"`
	STRIDE      []Category        `json:"stride"`
	LINDDUN     []Category        `json:"linddun"`
	Attack      []AttackItem      `json:"attack"`
	Controls    []Control         `json:"controls"`
	OWASPLatest map[string]string `json:"owasp_latest"` // list prefix (ML, LLM, ASI) -> newest edition shipped

	idx *index
}

// ATLAS is one release of MITRE ATLAS.
type ATLAS struct {
	Version     string       `json:"version"`
	Source      string       `json:"source,omitempty"` // "embedded" or the file loaded with --atlas
	Tactics     []Tactic     `json:"tactics"`
	Techniques  []Technique  `json:"techniques"`
	Mitigations []Mitigation `json:"mitigations"`
	CaseStudies []CaseStudy  `json:"case_studies"`
}

type Tactic struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Summary     string `json:"summary,omitempty"`
	AttackID    string `json:"attack_id,omitempty"`
	Description string `json:"description,omitempty"` // only when loaded from an official file
}

type Technique struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Summary     string   `json:"summary,omitempty"`
	Parent      string   `json:"parent,omitempty"`
	Tactics     []string `json:"tactics,omitempty"` // sub-techniques inherit their parent's
	AttackID    string   `json:"attack_id,omitempty"`
	Maturity    string   `json:"maturity,omitempty"`
	Description string   `json:"description,omitempty"`
}

type Mitigation struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Summary     string   `json:"summary,omitempty"`
	Techniques  []string `json:"techniques"`
	Lifecycle   []string `json:"lifecycle,omitempty"`
	Categories  []string `json:"categories,omitempty"`
	Description string   `json:"description,omitempty"`
}

type CaseStudy struct {
	ID        string      `json:"id"`
	Name      string      `json:"name"`
	Summary   string      `json:"summary,omitempty"`
	Type      string      `json:"type,omitempty"` // incident or exercise
	Date      string      `json:"date,omitempty"`
	Target    string      `json:"target,omitempty"`
	Actor     string      `json:"actor,omitempty"`
	Procedure []Procedure `json:"procedure"`
	Full      string      `json:"full_summary,omitempty"` // only when loaded from an official file
}

// Procedure is one ordered step of a case study.
type Procedure struct {
	Tactic    string `json:"tactic"`
	Technique string `json:"technique"`
}

// RMF is the NIST AI RMF 1.0 core.
type RMF struct {
	Version       string    `json:"version"`
	Functions     []RMFItem `json:"functions"`
	Categories    []RMFItem `json:"categories"`
	Subcategories []RMFItem `json:"subcategories"`
}

// RMFItem is a function ("GOVERN"), category ("GOVERN 1") or subcategory ("GOVERN 1.1").
type RMFItem struct {
	ID       string `json:"id"`
	Parent   string `json:"parent,omitempty"`
	Title    string `json:"title,omitempty"` // functions only
	Summary  string `json:"summary"`
	Function string `json:"function"`
}

// GenAIProfile is NIST AI 600-1.
type GenAIProfile struct {
	Version string        `json:"version"`
	Risks   []GenAIRisk   `json:"risks"`
	Actions []GenAIAction `json:"actions"`
}

type GenAIRisk struct {
	ID      string `json:"id"`
	Number  int    `json:"number"`
	Name    string `json:"name"`
	Summary string `json:"summary"`
}

type GenAIAction struct {
	ID          string   `json:"id"`
	Subcategory string   `json:"subcategory"`
	Risks       []string `json:"risks,omitempty"`
}

// OWASPItem is one entry of an OWASP Top 10, keyed by edition ("LLM01:2025").
type OWASPItem struct {
	ID       string `json:"id"`
	List     string `json:"list"` // ML, LLM or ASI
	Edition  string `json:"edition"`
	Name     string `json:"name"`
	Summary  string `json:"summary"`
	Previous string `json:"previous,omitempty"`
}

// Category is a STRIDE or LINDDUN threat category.
type Category struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Property string `json:"property,omitempty"`
	Summary  string `json:"summary"`
}

// AttackItem is a MITRE ATT&CK id users tend to confuse with ATLAS.
type AttackItem struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	ATLAS []string `json:"atlas,omitempty"` // ATLAS items that reference it
}

// Control is one of mlthreat's own control ids, usable beside ATLAS mitigations.
type Control struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Summary     string   `json:"summary"`
	Mitigations []string `json:"mitigations,omitempty"` // ATLAS mitigations it implements
}

var (
	defaultOnce sync.Once
	defaultCat  *Catalog
	defaultErr  error
)

// Default returns the embedded catalogue. It is shared; do not modify it.
func Default() *Catalog {
	defaultOnce.Do(func() {
		defaultCat, defaultErr = DecodeGob(embeddedGob)
		if defaultErr != nil {
			defaultCat, defaultErr = Decode(embedded)
		}
	})
	if defaultErr != nil {
		panic("embedded catalogue is corrupt: " + defaultErr.Error())
	}
	return defaultCat
}

// Decode reads a catalogue in the embedded JSON form.
func Decode(b []byte) (*Catalog, error) {
	var c Catalog
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("decode catalogue: %w", err)
	}
	c.Reindex()
	return &c, nil
}

// WithATLAS returns a copy of c whose ATLAS part is replaced by a. Summaries of
// items c already knows are kept, so tables stay readable.
func (c *Catalog) WithATLAS(a ATLAS) *Catalog {
	n := *c
	n.Versions = map[string]string{}
	for k, v := range c.Versions {
		n.Versions[k] = v
	}
	n.Versions["atlas"] = a.Version
	fill := func(id string, summary *string) {
		if *summary == "" {
			*summary = c.summaryOf(id)
		}
	}
	for i := range a.Tactics {
		fill(a.Tactics[i].ID, &a.Tactics[i].Summary)
	}
	for i := range a.Techniques {
		fill(a.Techniques[i].ID, &a.Techniques[i].Summary)
	}
	for i := range a.Mitigations {
		fill(a.Mitigations[i].ID, &a.Mitigations[i].Summary)
	}
	for i := range a.CaseStudies {
		fill(a.CaseStudies[i].ID, &a.CaseStudies[i].Summary)
	}
	n.ATLAS = a
	n.Reindex()
	return &n
}

// summaryOf returns the summary of an ATLAS item, or "".
func (c *Catalog) summaryOf(id string) string {
	switch {
	case c.Tactic(id) != nil:
		return c.Tactic(id).Summary
	case c.Technique(id) != nil:
		return c.Technique(id).Summary
	case c.Mitigation(id) != nil:
		return c.Mitigation(id).Summary
	case c.CaseStudy(id) != nil:
		return c.CaseStudy(id).Summary
	}
	return ""
}

type index struct {
	tactics     map[string]*Tactic
	techniques  map[string]*Technique
	mitigations map[string]*Mitigation
	cases       map[string]*CaseStudy
	rmf         map[string]*RMFItem
	owasp       map[string]*OWASPItem
	genaiRisks  map[string]*GenAIRisk
	genaiAction map[string]*GenAIAction
	attack      map[string]*AttackItem
	controls    map[string]*Control
	stride      map[string]*Category
	linddun     map[string]*Category

	subs        map[string][]string // technique -> sub-techniques
	mitigatedBy map[string][]string // technique -> mitigations
	usedIn      map[string][]string // technique -> case studies
	byTactic    map[string][]string // tactic -> techniques (incl. subs)
}

// Reindex rebuilds lookups after the slices changed.
func (c *Catalog) Reindex() {
	x := &index{
		tactics: map[string]*Tactic{}, techniques: map[string]*Technique{},
		mitigations: map[string]*Mitigation{}, cases: map[string]*CaseStudy{},
		rmf: map[string]*RMFItem{}, owasp: map[string]*OWASPItem{},
		genaiRisks: map[string]*GenAIRisk{}, genaiAction: map[string]*GenAIAction{},
		attack: map[string]*AttackItem{}, controls: map[string]*Control{},
		stride: map[string]*Category{}, linddun: map[string]*Category{},
		subs: map[string][]string{}, mitigatedBy: map[string][]string{},
		usedIn: map[string][]string{}, byTactic: map[string][]string{},
	}
	a := &c.ATLAS
	for i := range a.Tactics {
		x.tactics[a.Tactics[i].ID] = &a.Tactics[i]
	}
	for i := range a.Techniques {
		t := &a.Techniques[i]
		x.techniques[t.ID] = t
		if t.Parent != "" {
			x.subs[t.Parent] = append(x.subs[t.Parent], t.ID)
		}
		for _, ta := range t.Tactics {
			x.byTactic[ta] = append(x.byTactic[ta], t.ID)
		}
	}
	for i := range a.Mitigations {
		m := &a.Mitigations[i]
		x.mitigations[m.ID] = m
		for _, t := range m.Techniques {
			x.mitigatedBy[t] = appendUnique(x.mitigatedBy[t], m.ID)
		}
	}
	// What mitigates a technique also mitigates its sub-techniques.
	for i := range a.Techniques {
		t := &a.Techniques[i]
		if t.Parent == "" {
			continue
		}
		for _, m := range x.mitigatedBy[t.Parent] {
			x.mitigatedBy[t.ID] = appendUnique(x.mitigatedBy[t.ID], m)
		}
	}
	for i := range a.CaseStudies {
		cs := &a.CaseStudies[i]
		x.cases[cs.ID] = cs
		for _, p := range cs.Procedure {
			x.usedIn[p.Technique] = appendUnique(x.usedIn[p.Technique], cs.ID)
			// A case study that used a sub-technique used its parent too.
			if t := x.techniques[p.Technique]; t != nil && t.Parent != "" {
				x.usedIn[t.Parent] = appendUnique(x.usedIn[t.Parent], cs.ID)
			}
		}
	}
	for _, list := range [][]RMFItem{c.RMF.Functions, c.RMF.Categories, c.RMF.Subcategories} {
		for i := range list {
			x.rmf[list[i].ID] = &list[i]
		}
	}
	for i := range c.OWASP {
		x.owasp[c.OWASP[i].ID] = &c.OWASP[i]
	}
	for i := range c.GenAI.Risks {
		x.genaiRisks[c.GenAI.Risks[i].ID] = &c.GenAI.Risks[i]
	}
	for i := range c.GenAI.Actions {
		x.genaiAction[c.GenAI.Actions[i].ID] = &c.GenAI.Actions[i]
	}
	for i := range c.Attack {
		x.attack[c.Attack[i].ID] = &c.Attack[i]
	}
	for i := range c.Controls {
		x.controls[c.Controls[i].ID] = &c.Controls[i]
	}
	for i := range c.STRIDE {
		x.stride[c.STRIDE[i].ID] = &c.STRIDE[i]
	}
	for i := range c.LINDDUN {
		x.linddun[c.LINDDUN[i].ID] = &c.LINDDUN[i]
	}
	c.idx = x
}

func appendUnique(s []string, v string) []string {
	for _, e := range s {
		if e == v {
			return s
		}
	}
	return append(s, v)
}

func (c *Catalog) Tactic(id string) *Tactic         { return c.idx.tactics[id] }
func (c *Catalog) Technique(id string) *Technique   { return c.idx.techniques[id] }
func (c *Catalog) Mitigation(id string) *Mitigation { return c.idx.mitigations[id] }
func (c *Catalog) CaseStudy(id string) *CaseStudy   { return c.idx.cases[id] }
func (c *Catalog) RMFItem(id string) *RMFItem       { return c.idx.rmf[id] }
func (c *Catalog) OWASPItem(id string) *OWASPItem   { return c.idx.owasp[id] }
func (c *Catalog) GenAIRisk(id string) *GenAIRisk   { return c.idx.genaiRisks[id] }
func (c *Catalog) GenAIAction(id string) *GenAIAction {
	return c.idx.genaiAction[id]
}
func (c *Catalog) AttackItem(id string) *AttackItem { return c.idx.attack[id] }
func (c *Catalog) Control(id string) *Control       { return c.idx.controls[id] }

// STRIDECategory takes a letter (S, T, R, I, D, E).
func (c *Catalog) STRIDECategory(id string) *Category { return c.idx.stride[id] }

// LINDDUNCategory takes a LINDDUN id (L, I, Nr, D, Dd, U, Nc).
func (c *Catalog) LINDDUNCategory(id string) *Category { return c.idx.linddun[id] }

// Subtechniques of a technique, in catalogue order.
func (c *Catalog) Subtechniques(id string) []string { return c.idx.subs[id] }

// MitigationsFor lists the mitigations that address a technique, including
// those ATLAS links to its parent technique.
func (c *Catalog) MitigationsFor(id string) []string { return c.idx.mitigatedBy[id] }

// CaseStudiesUsing lists the case studies whose procedure uses a technique
// (for a parent technique, also those that used one of its sub-techniques).
func (c *Catalog) CaseStudiesUsing(id string) []string { return c.idx.usedIn[id] }

// TechniquesIn lists the techniques of a tactic, in catalogue order.
func (c *Catalog) TechniquesIn(tactic string) []string { return c.idx.byTactic[tactic] }

// Subcategories of an RMF function or category, in order.
func (c *Catalog) Subcategories(prefix string) []string {
	var out []string
	for _, s := range c.RMF.Subcategories {
		if s.Function == prefix || s.Parent == prefix {
			out = append(out, s.ID)
		}
	}
	return out
}

// Name returns the display name of any id the catalogue knows, or "".
func (c *Catalog) Name(id string) string {
	switch {
	case c.Technique(id) != nil:
		return c.Technique(id).Name
	case c.Tactic(id) != nil:
		return c.Tactic(id).Name
	case c.Mitigation(id) != nil:
		return c.Mitigation(id).Name
	case c.CaseStudy(id) != nil:
		return c.CaseStudy(id).Name
	case c.OWASPItem(id) != nil:
		return c.OWASPItem(id).Name
	case c.Control(id) != nil:
		return c.Control(id).Name
	case c.RMFItem(id) != nil:
		r := c.RMFItem(id)
		if r.Title != "" {
			return r.Title
		}
		return r.Summary
	}
	return ""
}

// Label is "ID Name", or the id alone when unknown.
func (c *Catalog) Label(id string) string {
	if n := c.Name(id); n != "" {
		return id + " " + n
	}
	return id
}

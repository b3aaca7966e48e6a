// Package jsonreport writes the analysis as the JSON document of contract §3.
package jsonreport

import (
	"bufio"
	"encoding/json"
	"io"
	"strconv"

	"github.com/mlthreat/mlthreat/internal/analysis"
)

// Document is the JSON form of a report. Field order is fixed, so output is
// byte-identical from run to run.
type Document struct {
	Tool      Tool              `json:"tool"`
	Catalogs  map[string]string `json:"catalogs"`
	System    System            `json:"system"`
	Summary   Summary           `json:"summary"`
	Threats   []Threat          `json:"threats"`
	Precedent []Precedent       `json:"precedent"`
	Verified  []Verified        `json:"verified_controls,omitempty"`
	Unmatched []string          `json:"evidence_unmatched,omitempty"`
	Notes     []Note            `json:"notes,omitempty"`
}

type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type System struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	File        string `json:"file"`
	Criticality string `json:"criticality,omitempty"`
}

type Summary struct {
	Threats            int            `json:"threats"`
	BySeverity         map[string]int `json:"by_severity"`
	ResidualBySeverity map[string]int `json:"residual_by_severity"`
	ByStatus           map[string]int `json:"by_status"`
	Techniques         int            `json:"techniques"`
	Rules              int            `json:"rules_evaluated"`
}

type Threat struct {
	ID          string       `json:"id"`
	Rule        string       `json:"rule"`
	RuleFile    string       `json:"rule_source"`
	Title       string       `json:"title"`
	Target      Target       `json:"target"`
	ATLAS       ATLAS        `json:"atlas"`
	STRIDE      []string     `json:"stride"`
	LINDDUN     []string     `json:"linddun,omitempty"`
	OWASP       []string     `json:"owasp"`
	Likelihood  Rating       `json:"likelihood"`
	Impact      Rating       `json:"impact"`
	Risk        Risk         `json:"risk"`
	Mitigations []Mitigation `json:"mitigations"`
	Residual    Residual     `json:"residual"`
	Status      string       `json:"status"`
	Decision    *Decision    `json:"decision,omitempty"`
	Confirmed   bool         `json:"confirmed,omitempty"`
	Evidence    []Evidence   `json:"evidence,omitempty"`
	RMF         []string     `json:"rmf"`
	CaseStudies []string     `json:"case_studies"`
	Facts       []string     `json:"facts,omitempty"`
	Rationale   string       `json:"rationale"`
	Catalog     string       `json:"catalog_version"`
	Line        int          `json:"line"`
}

type Target struct {
	Component string `json:"component,omitempty"`
	Flow      string `json:"flow,omitempty"`
	Zone      string `json:"zone,omitempty"`
}

type ATLAS struct {
	Technique string   `json:"technique"`
	Name      string   `json:"name"`
	Tactics   []string `json:"tactics"`
	Related   []string `json:"related,omitempty"`
}

type Rating struct {
	Score   int      `json:"score"`
	Factors []string `json:"factors"`
}

type Risk struct {
	Score    int    `json:"score"`
	Severity string `json:"severity"`
}

type Mitigation struct {
	ID      string  `json:"id"`
	Name    string  `json:"name"`
	Control *string `json:"control"`
	Status  string  `json:"status"`
}

type Residual struct {
	Score      int      `json:"score"`
	Severity   string   `json:"severity"`
	Likelihood int      `json:"likelihood"`
	Impact     int      `json:"impact"`
	Factors    []string `json:"factors,omitempty"`
}

type Decision struct {
	Status        string `json:"status"`
	Justification string `json:"justification,omitempty"`
	Owner         string `json:"owner,omitempty"`
	Until         string `json:"until,omitempty"`
}

// Evidence is a test result bearing on a threat (docs/evidence.md).
type Evidence struct {
	ID          string   `json:"id"`
	Tool        string   `json:"tool"`
	Attack      string   `json:"attack"`
	Detector    string   `json:"detector,omitempty"`
	Strategy    string   `json:"strategy,omitempty"`
	Techniques  []string `json:"techniques"`
	SuccessRate float64  `json:"success_rate"`
	Attempts    int      `json:"attempts"`
	Successes   int      `json:"successes"`
	Date        string   `json:"date"`
	AgeDays     int      `json:"age_days"`
	Stale       bool     `json:"stale,omitempty"`
	Outcome     string   `json:"outcome"`
	Reason      string   `json:"reason,omitempty"`
	Source      string   `json:"source,omitempty"`
}

// Verified is a control that test results showed to hold.
type Verified struct {
	Control  string   `json:"control"`
	Evidence []string `json:"evidence"`
	Threats  []string `json:"threats"`
}

type Precedent struct {
	CaseStudy  string   `json:"case_study"`
	Name       string   `json:"name"`
	Overlap    int      `json:"overlap"`
	Techniques []string `json:"techniques"`
}

type Note struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// Build converts a report to its JSON document.
func Build(r *analysis.Report, version string) Document {
	d := head(r, version)
	for _, t := range r.Threats {
		d.Threats = append(d.Threats, threat(r, t))
	}
	return d
}

// head is the document without its threats (but with their summary).
func head(r *analysis.Report, version string) Document {
	d := Document{
		Tool:     Tool{Name: "mlthreat", Version: version},
		Catalogs: map[string]string{"atlas": r.Catalog.Versions["atlas"], "nist-ai-rmf": r.Catalog.Versions["nist-ai-rmf"]},
		System:   System{ID: r.System.Info.ID, Name: r.System.Info.Name, File: r.System.File, Criticality: r.System.Info.Criticality},
		Summary: Summary{
			Threats:            len(r.Threats),
			BySeverity:         map[string]int{"critical": 0, "high": 0, "medium": 0, "low": 0},
			ResidualBySeverity: map[string]int{"critical": 0, "high": 0, "medium": 0, "low": 0},
			ByStatus:           map[string]int{},
			Rules:              r.Rules,
		},
		Threats:   []Threat{},
		Precedent: []Precedent{},
	}
	// Few distinct values: count them apart from the maps.
	sev, res, status := tally{m: d.Summary.BySeverity}, tally{m: d.Summary.ResidualBySeverity}, tally{m: d.Summary.ByStatus}
	techs := map[string]bool{}
	for _, t := range r.Threats {
		sev.add(t.Severity)
		res.add(t.Residual.Severity)
		status.add(t.Status)
		techs[t.Technique] = true
	}
	sev.flush()
	res.flush()
	status.flush()
	for _, v := range r.Verified {
		d.Verified = append(d.Verified, Verified(v))
	}
	for _, u := range r.Unmatched {
		d.Unmatched = append(d.Unmatched, u.ID)
	}
	d.Summary.Techniques = len(techs)
	for _, p := range r.Precedent {
		d.Precedent = append(d.Precedent, Precedent{CaseStudy: p.CaseStudy, Name: r.Catalog.Name(p.CaseStudy), Overlap: p.Overlap, Techniques: p.Techniques})
	}
	for _, n := range r.Notes {
		d.Notes = append(d.Notes, Note{Line: n.Line, Message: n.Message})
	}
	return d
}

// threat is the JSON form of one threat; threatEncoder must write the same.
func threat(r *analysis.Report, t *analysis.Threat) Threat {
	var ms []Mitigation
	for _, m := range t.Mitigations {
		mm := Mitigation{ID: m.ID, Name: r.Catalog.Name(m.ID), Status: m.Status}
		if m.Control != "" {
			c := m.Control
			mm.Control = &c
		}
		ms = append(ms, mm)
	}
	if ms == nil {
		ms = []Mitigation{}
	}
	th := Threat{
		ID: t.ID, Rule: t.Rule.ID, RuleFile: t.Rule.Location(), Title: t.Rule.Title,
		Target: Target(t.Target),
		ATLAS:  ATLAS{Technique: t.Technique, Name: r.Catalog.Name(t.Technique), Tactics: nonNil(t.Tactics), Related: t.Related},
		STRIDE: nonNil(t.STRIDE), LINDDUN: t.LINDDUN, OWASP: nonNil(t.OWASP),
		Likelihood:  Rating{Score: t.Likelihood.Score, Factors: nonNil(t.Likelihood.Factors)},
		Impact:      Rating{Score: t.Impact.Score, Factors: nonNil(t.Impact.Factors)},
		Risk:        Risk{Score: t.Risk, Severity: t.Severity},
		Mitigations: ms,
		Residual:    Residual{Score: t.Residual.Score, Severity: t.Residual.Severity, Likelihood: t.Residual.Likelihood, Impact: t.Residual.Impact, Factors: t.Residual.Factors},
		Status:      t.Status, RMF: nonNil(t.RMF), CaseStudies: nonNil(t.CaseStudies), Facts: t.Facts(),
		Rationale: t.Rule.Rationale, Catalog: "ATLAS " + r.Catalog.Versions["atlas"], Line: t.Line,
	}
	if t.Decision != nil {
		th.Decision = &Decision{Status: t.Decision.Status, Justification: t.Decision.Justification, Owner: t.Decision.Owner, Until: t.Decision.Until}
	}
	for i := range t.Evidence {
		ref := &t.Evidence[i]
		th.Evidence = append(th.Evidence, Evidence{
			ID: ref.ID, Tool: ref.Tool, Attack: ref.Attack, Detector: ref.Detector, Strategy: ref.Strategy,
			Techniques: nonNil(ref.Techniques), SuccessRate: successRate(ref), Attempts: ref.Attempts,
			Successes: ref.Successes, Date: ref.Date, AgeDays: ref.AgeDays, Stale: ref.Stale, Outcome: ref.Outcome,
			Reason: ref.Reason, Source: ref.Source,
		})
	}
	th.Confirmed = t.Confirmed
	return th
}

// tally counts strings, of which there are few, into m.
type tally struct {
	m    map[string]int
	keys []string
	n    []int
}

func (c *tally) add(k string) {
	for i, have := range c.keys {
		if have == k {
			c.n[i]++
			return
		}
	}
	if len(c.keys) < 8 {
		c.keys = append(c.keys, k)
		c.n = append(c.n, 1)
	} else {
		c.m[k]++
	}
}

func (c *tally) flush() {
	for i, k := range c.keys {
		c.m[k] += c.n[i]
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Writer writes the JSON document.
type Writer struct{ Version string }

// Write streams the document: the threats are encoded in chunks on every
// CPU and written in order, so a large model never needs the whole text in
// memory. The bytes are those of json.Encoder with a two-space indent.
func (w Writer) Write(out io.Writer, r *analysis.Report) error {
	return writeDocument(out, head(r, w.Version), len(r.Threats), func(bw *bufio.Writer) error {
		return writeThreats(bw, r)
	})
}

// writeDocument writes d with n threats in place of d.Threats; threats
// writes them, comma-separated, without the brackets.
func writeDocument(out io.Writer, d Document, n int, threats func(*bufio.Writer) error) error {
	bw := bufio.NewWriterSize(out, 64<<10)
	s := &stream{w: bw}
	s.raw("{\n")
	s.field("tool", d.Tool, false)
	s.field("catalogs", d.Catalogs, false)
	s.field("system", d.System, false)
	s.field("summary", d.Summary, false)
	if n == 0 {
		s.raw(`  "threats": []`)
	} else {
		s.raw(`  "threats": [` + "\n")
		if s.err == nil {
			s.err = threats(bw)
		}
		s.raw("\n  ]")
	}
	s.raw(",\n")
	s.field("precedent", d.Precedent, len(d.Verified)+len(d.Unmatched)+len(d.Notes) == 0)
	if len(d.Verified) > 0 {
		s.field("verified_controls", d.Verified, len(d.Unmatched)+len(d.Notes) == 0)
	}
	if len(d.Unmatched) > 0 {
		s.field("evidence_unmatched", d.Unmatched, len(d.Notes) == 0)
	}
	if len(d.Notes) > 0 {
		s.field("notes", d.Notes, true)
	}
	s.raw("}\n")
	if s.err != nil {
		return s.err
	}
	return bw.Flush()
}

type stream struct {
	w   *bufio.Writer
	err error
}

func (s *stream) raw(text string) {
	if s.err == nil {
		_, s.err = s.w.WriteString(text)
	}
}

func (s *stream) field(name string, v any, last bool) {
	if s.err != nil {
		return
	}
	b, err := json.MarshalIndent(v, "  ", "  ")
	if err != nil {
		s.err = err
		return
	}
	s.raw("  " + strconv.Quote(name) + ": ")
	if s.err == nil {
		_, s.err = s.w.Write(b)
	}
	if last {
		s.raw("\n")
	} else {
		s.raw(",\n")
	}
}

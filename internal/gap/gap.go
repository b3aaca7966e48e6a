package gap

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/rules"
)

// Subcategory statuses.
const (
	Met           = "met"
	Partial       = "partial"
	Gap           = "gap"
	NotApplicable = "not-applicable"
)

// Supporter is a control or practice of the model that supports a subcategory.
type Supporter struct {
	Kind          string   `json:"kind"` // control or practice
	ID            string   `json:"id"`   // the model's control id, or the practice id
	Via           string   `json:"via"`  // the mitigation or control id the crosswalk links
	Status        string   `json:"status"`
	Strength      string   `json:"strength"`
	Evidence      []string `json:"evidence,omitempty"`
	LastPerformed string   `json:"last_performed,omitempty"`
	Flags         []string `json:"flags,omitempty"` // evidence missing or too old
}

// ThreatRef is an open threat a subcategory's gaps leave in place.
type ThreatRef struct {
	ID        string   `json:"id"`
	Technique string   `json:"technique"`
	Target    string   `json:"target"`
	Residual  int      `json:"residual"`
	Severity  string   `json:"severity"`
	Missing   []string `json:"missing"` // its missing mitigations that map here
}

// Subcategory is the verdict on one AI RMF subcategory.
type Subcategory struct {
	ID, Function, Category, Summary string
	Status                          string
	Required                        string // partial, met, or "" when not required
	BelowTarget                     bool
	Reason                          string // for not-applicable
	Supporters                      []Supporter
	Threats                         []ThreatRef
	GenAIActions                    []string
	Flags                           []string
}

// Coverage summarises a function or category.
type Coverage struct {
	ID      string  `json:"id"`
	Met     int     `json:"met"`
	Partial int     `json:"partial"`
	Gap     int     `json:"gap"`
	NA      int     `json:"not_applicable"`
	Total   int     `json:"total"`
	Score   float64 `json:"coverage"` // (met + partial/2) / applicable
}

// Report is a gap analysis with its roadmap.
type Report struct {
	System        *model.System
	Catalog       *catalog.Catalog
	Profile       *Profile
	Analysis      *analysis.Report
	Subcategories []Subcategory
	Functions     []Coverage
	Categories    []Coverage
	Roadmap       []Item
	Date          string
}

// Options tune a gap analysis.
type Options struct {
	Today  time.Time
	Effort map[string]string // id -> S, M or L, overriding the defaults
}

// Analyze runs the gap analysis of a validated system.
func Analyze(s *model.System, cat *catalog.Catalog, set *rules.Set, cw *Crosswalk, prof *Profile, opt Options) (*Report, error) {
	if opt.Today.IsZero() {
		opt.Today = time.Now().UTC()
	}
	ar, err := analysis.Analyze(s, cat, set, analysis.Options{Today: opt.Today})
	if err != nil {
		return nil, err
	}
	r := &Report{System: s, Catalog: cat, Profile: prof, Analysis: ar, Date: opt.Today.Format("2006-01-02")}
	r.Subcategories = evaluate(s, cat, cw, prof, ar, opt.Today)
	r.Functions, r.Categories = coverage(cat, r.Subcategories)
	r.Roadmap, err = roadmap(s, cat, set, cw, prof, ar, r.Subcategories, opt)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Judge judges the subcategories against an analysis already made,
// without the roadmap: what a CI gate needs, at a fraction of the cost.
func Judge(ar *analysis.Report, cw *Crosswalk, prof *Profile, today time.Time) *Report {
	s := ar.System
	r := &Report{System: s, Catalog: ar.Catalog, Profile: prof, Analysis: ar, Date: today.Format("2006-01-02")}
	r.Subcategories = evaluate(s, ar.Catalog, cw, prof, ar, today)
	r.Functions, r.Categories = coverage(ar.Catalog, r.Subcategories)
	return r
}

var statusWeight = map[string]float64{"implemented": 1, "partial": 0.5}
var strengthWeight = map[string]float64{"full": 1, "partial": 0.5}

// evaluate judges every subcategory.
func evaluate(s *model.System, cat *catalog.Catalog, cw *Crosswalk, prof *Profile, ar *analysis.Report, today time.Time) []Subcategory {
	var out []Subcategory
	for _, sc := range cat.RMF.Subcategories {
		sub := Subcategory{ID: sc.ID, Function: sc.Function, Category: sc.Parent, Summary: sc.Summary, Required: prof.Required[sc.ID]}
		if prof.GenAI != nil {
			sub.GenAIActions = prof.GenAI.Actions[sc.ID]
		}
		sub.Supporters = supporters(s, cw, sc.ID, prof, today)
		sub.Status = statusOf(sub.Supporters)
		if why, ok := prof.NotApplicable[sc.ID]; ok {
			sub.Status, sub.Reason, sub.Required = NotApplicable, why, ""
		}
		switch {
		case sub.Required == Met && sub.Status != Met:
			sub.BelowTarget = true
		case sub.Required == Partial && sub.Status == Gap:
			sub.BelowTarget = true
		}
		for _, sp := range sub.Supporters {
			for _, f := range sp.Flags {
				sub.Flags = append(sub.Flags, sp.ID+": "+f)
			}
		}
		sub.Threats = threatsFor(ar, cw, sc.ID)
		out = append(out, sub)
	}
	return out
}

func supporters(s *model.System, cw *Crosswalk, sub string, prof *Profile, today time.Time) []Supporter {
	var out []Supporter
	for _, ctl := range s.Controls {
		status := ctl.Status
		if status == "" {
			status = "implemented"
		}
		for _, m := range ctl.Mitigates {
			for _, l := range cw.From(m) {
				if l.RMF != sub {
					continue
				}
				sp := Supporter{Kind: "control", ID: ctl.ID, Via: m, Status: status, Strength: l.Strength, Evidence: ctl.Evidence}
				if statusWeight[status] > 0 && len(ctl.Evidence) == 0 {
					sp.Flags = append(sp.Flags, "no evidence")
				}
				out = append(out, sp)
			}
		}
	}
	for _, p := range s.Governance {
		for _, l := range cw.From(p.Practice) {
			if l.RMF != sub {
				continue
			}
			sp := Supporter{Kind: "practice", ID: p.Practice, Via: p.Practice, Status: p.Status, Strength: l.Strength, Evidence: p.Evidence, LastPerformed: p.LastPerformed}
			if statusWeight[p.Status] > 0 {
				if len(p.Evidence) == 0 {
					sp.Flags = append(sp.Flags, "no evidence")
				}
				if p.LastPerformed == "" {
					sp.Flags = append(sp.Flags, "no last_performed date")
				} else if t, err := time.Parse("2006-01-02", p.LastPerformed); err == nil && prof.MaxEvidenceAge > 0 {
					if age := int(today.Sub(t).Hours() / 24); age > prof.MaxEvidenceAge {
						sp.Flags = append(sp.Flags, fmt.Sprintf("last performed %d days ago; the profile allows %d", age, prof.MaxEvidenceAge))
					}
				}
			}
			out = append(out, sp)
		}
	}
	return out
}

// statusOf: met when supporters add up to one full, implemented control
// (an implemented full link, or two implemented partial ones); partial when
// anything in place helps; gap otherwise.
func statusOf(sp []Supporter) string {
	sum, best := 0.0, 0.0
	for _, s := range sp {
		v := statusWeight[s.Status] * strengthWeight[s.Strength]
		sum += v
		best = max(best, v)
	}
	switch {
	case best >= 1 || sum >= 1:
		return Met
	case sum > 0:
		return Partial
	}
	return Gap
}

func threatsFor(ar *analysis.Report, cw *Crosswalk, sub string) []ThreatRef {
	var out []ThreatRef
	for _, t := range ar.Threats {
		if t.Status != "open" {
			continue
		}
		var missing []string
		for _, m := range t.Mitigations {
			if m.Status == "implemented" {
				continue
			}
			for _, l := range cw.From(m.ID) {
				if l.RMF == sub && !slices.Contains(missing, m.ID) {
					missing = append(missing, m.ID)
				}
			}
		}
		if len(missing) > 0 {
			out = append(out, ThreatRef{ID: t.ID, Technique: t.Technique, Target: t.Target.ID(), Residual: t.Residual.Score, Severity: t.Residual.Severity, Missing: missing})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Residual != out[j].Residual {
			return out[i].Residual > out[j].Residual
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func coverage(cat *catalog.Catalog, subs []Subcategory) (functions, categories []Coverage) {
	tally := func(id string, match func(Subcategory) bool) Coverage {
		c := Coverage{ID: id}
		for _, s := range subs {
			if !match(s) {
				continue
			}
			c.Total++
			switch s.Status {
			case Met:
				c.Met++
			case Partial:
				c.Partial++
			case Gap:
				c.Gap++
			default:
				c.NA++
			}
		}
		if n := c.Total - c.NA; n > 0 {
			c.Score = (float64(c.Met) + float64(c.Partial)/2) / float64(n)
		}
		return c
	}
	for _, f := range cat.RMF.Functions {
		functions = append(functions, tally(f.ID, func(s Subcategory) bool { return s.Function == f.ID }))
	}
	for _, c := range cat.RMF.Categories {
		categories = append(categories, tally(c.ID, func(s Subcategory) bool { return s.Category == c.ID }))
	}
	return
}

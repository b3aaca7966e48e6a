package analysis

import (
	"fmt"
	"slices"
	"sort"

	"github.com/mlthreat/mlthreat/internal/diag"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/rules"
)

var statusRank = map[string]int{"implemented": 3, "partial": 2, "planned": 1, "none": 0}

// statusByRank names a rank; a control whose status is none covers nothing.
var statusByRank = [4]string{"missing", "planned", "partial", "implemented"}

// covers reports whether a control addresses a rule mitigation: directly, or
// through an mlthreat control id that implements that ATLAS mitigation (and
// the reverse).
func (e *evaluator) covers(ctl *model.Control, mitigation string) bool {
	for _, m := range ctl.Mitigates {
		if m == mitigation {
			return true
		}
		if c := e.cat.Control(m); c != nil && slices.Contains(c.Mitigations, mitigation) {
			return true
		}
		if c := e.cat.Control(mitigation); c != nil && slices.Contains(c.Mitigations, m) {
			return true
		}
	}
	return false
}

// controlIndex finds the controls that may cover a mitigation without
// scanning them all for every threat, which made analysis quadratic when a
// model has many controls.
type controlIndex struct {
	byMitigation map[string][]*indexedControl // in model order
}

type indexedControl struct {
	ctl     *model.Control
	applies map[string]bool // nil: applies to the whole system
}

// newControlIndex files each control under every mitigation covers would
// match: its own ids, the ATLAS mitigations its mlthreat controls implement,
// and the mlthreat controls that implement its ATLAS mitigations.
func newControlIndex(e *evaluator) *controlIndex {
	implementedBy := map[string][]string{} // ATLAS mitigation -> mlthreat controls
	for _, c := range e.cat.Controls {
		for _, m := range c.Mitigations {
			implementedBy[m] = append(implementedBy[m], c.ID)
		}
	}
	x := &controlIndex{byMitigation: map[string][]*indexedControl{}}
	for _, ctl := range e.sys.Controls {
		ic := &indexedControl{ctl: ctl}
		if len(ctl.AppliesTo) > 0 {
			ic.applies = make(map[string]bool, len(ctl.AppliesTo))
			for _, a := range ctl.AppliesTo {
				ic.applies[a] = true
			}
		}
		keys := map[string]bool{}
		for _, m := range ctl.Mitigates {
			keys[m] = true
			if c := e.cat.Control(m); c != nil {
				for _, am := range c.Mitigations {
					keys[am] = true
				}
			}
			for _, mc := range implementedBy[m] {
				keys[mc] = true
			}
		}
		for k := range keys {
			x.byMitigation[k] = append(x.byMitigation[k], ic)
		}
	}
	return x
}

// applies is appliesTo with the control's targets in a set.
func (e *evaluator) applies(ic *indexedControl, t Target) bool {
	if ic.applies == nil {
		return true
	}
	id := t.ID()
	if ic.applies[id] {
		return true
	}
	if c := e.g.comps[id]; c != nil {
		if ic.applies[c.Zone] {
			return true
		}
		for _, f := range e.g.in[id] {
			if ic.applies[f.ID] || ic.applies[f.From] {
				return true
			}
		}
	}
	if f := e.flows[id]; f != nil && (ic.applies[f.From] || ic.applies[f.To]) {
		return true
	}
	return false
}

// appliesTo: the control protects the target directly, its zone, a flow into
// it, or the whole system (no applies_to).
func (e *evaluator) appliesTo(ctl *model.Control, t Target) bool {
	if len(ctl.AppliesTo) == 0 {
		return true
	}
	id := t.ID()
	for _, a := range ctl.AppliesTo {
		if a == id {
			return true
		}
		if c := e.g.comps[id]; c != nil {
			if a == c.Zone {
				return true
			}
			for _, f := range e.g.in[id] {
				if f.ID == a || f.From == a {
					return true
				}
			}
		}
		if f := e.flows[id]; f != nil && (a == f.From || a == f.To) {
			return true
		}
	}
	return false
}

// residual applies controls: each rule mitigation covered by an implemented
// control lowers likelihood by 2, a partial one by 1; planned or none lower
// nothing. Likelihood stays at least 1.
func (e *evaluator) residual(t *Threat, _ map[string]any) {
	reduce := 0
	var factors []string
	for _, m := range t.Rule.Mitigations {
		best, bestCtl := -1, ""
		for _, ic := range e.controls.byMitigation[m] {
			ctl := ic.ctl
			if !e.applies(ic, t.Target) {
				continue
			}
			status := ctl.Status
			if status == "" {
				status = "implemented"
			}
			if statusRank[status] > best {
				best, bestCtl = statusRank[status], ctl.ID
			}
		}
		ms := MitigationStatus{ID: m, Status: "missing"}
		if best >= 0 {
			ms.Control = bestCtl
			ms.Status = statusByRank[best]
		}
		switch ms.Status {
		case "implemented":
			reduce += 2
			factors = append(factors, m+" implemented by "+ms.Control+" (-2 likelihood)")
		case "partial":
			reduce++
			factors = append(factors, m+" partly implemented by "+ms.Control+" (-1 likelihood)")
		case "planned":
			factors = append(factors, m+" planned in "+ms.Control+" (no reduction yet)")
		}
		t.Mitigations = append(t.Mitigations, ms)
	}
	l := max(1, t.Likelihood.Score-reduce)
	t.Residual = Residual{Likelihood: l, Impact: t.Impact.Score, Score: l * t.Impact.Score, Factors: factors}
	t.Residual.Severity = Severity(t.Residual.Score)
	if t.Residual.Score < t.Risk && !hasImplemented(t.Mitigations) {
		t.Residual.Factors = append(t.Residual.Factors, "reduced by partial controls only")
	}
}

func hasImplemented(ms []MitigationStatus) bool {
	for _, m := range ms {
		if m.Status == "implemented" {
			return true
		}
	}
	return false
}

// decisions applies risk_tracking: a valid decision sets the status; an
// expired acceptance reopens the threat; an unknown threat id is a warning.
func (e *evaluator) decisions() {
	byID := map[string]*Threat{}
	for _, t := range e.report.Threats {
		byID[t.ID] = t
	}
	note := func(d *model.Decision, format string, args ...any) {
		p := d.Node.Pos()
		e.report.Notes = append(e.report.Notes, diag.Diagnostic{File: e.sys.File, Line: p.Line, Col: p.Col, Severity: diag.Warning, Code: "decision", Message: fmt.Sprintf(format, args...)})
	}
	for _, d := range e.sys.RiskTracking {
		t := byID[d.Threat]
		if t == nil {
			note(d, "risk_tracking names threat %s, which the analysis no longer derives; remove the entry or check the rule", d.Threat)
			continue
		}
		if d.Status == "" {
			continue // only links a risk-register id
		}
		if t.Confirmed && (d.Status == "mitigated" || d.Status == "false-positive") {
			note(d, "risk_tracking marks %s %s, but evidence %s shows the attack working (%s); the threat stays open", d.Threat, d.Status, t.Evidence[0].ID, t.Evidence[0].Summary())
			continue
		}
		if d.Status != "mitigated" && (d.Justification == "" || d.Owner == "") {
			note(d, "decision on %s (%s) needs a justification and an owner; the threat stays open", d.Threat, d.Status)
			continue
		}
		if d.Status == "accepted" {
			if d.Until == "" {
				note(d, "accepted risk %s has no `until` date; the threat stays open", d.Threat)
				continue
			}
			if d.Until < e.report.Date {
				note(d, "acceptance of %s expired on %s; the threat is open again", d.Threat, d.Until)
				continue
			}
		}
		t.Status = d.Status
		t.Decision = d
	}
	sort.SliceStable(e.report.Notes, func(i, j int) bool { return e.report.Notes[i].Line < e.report.Notes[j].Line })
}

// precedent ranks case studies by how many of their techniques the system's
// threats share (a sub-technique counts for its parent).
func (e *evaluator) precedent() {
	mine := map[string]bool{}
	for _, t := range e.report.Threats {
		for _, tech := range append([]string{t.Technique}, t.Related...) {
			mine[tech] = true
			mine[parentOf(tech)] = true
		}
	}
	var out []Precedent
	for _, cs := range e.cat.ATLAS.CaseStudies {
		seen := map[string]bool{}
		var common []string
		for _, p := range cs.Procedure {
			if (mine[p.Technique] || mine[parentOf(p.Technique)]) && !seen[p.Technique] {
				seen[p.Technique] = true
				common = append(common, p.Technique)
			}
		}
		if len(common) > 0 {
			out = append(out, Precedent{CaseStudy: cs.ID, Overlap: len(common), Steps: len(cs.Procedure), Techniques: common})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Overlap != out[j].Overlap {
			return out[i].Overlap > out[j].Overlap
		}
		return out[i].CaseStudy < out[j].CaseStudy
	})
	e.report.Precedent = out
	rank := map[string]int{}
	for i, p := range out {
		rank[p.CaseStudy] = i
	}
	// Every threat of a rule shares its case studies: order them once per rule.
	ordered := map[*rules.Rule][]string{}
	for _, t := range e.report.Threats {
		list, ok := ordered[t.Rule]
		if !ok {
			list = append([]string(nil), t.CaseStudies...)
			sort.SliceStable(list, func(i, j int) bool { return rank[list[i]] < rank[list[j]] })
			ordered[t.Rule] = list
		}
		t.CaseStudies = list
	}
}

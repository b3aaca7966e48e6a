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

// controlIndex finds the controls that may protect an element and cover a
// mitigation without scanning them all for every threat, which made
// analysis quadratic when a model has many controls.
type controlIndex struct {
	global    []*indexedControl            // no applies_to: the whole system
	byElement map[string][]*indexedControl // applies_to entry -> controls
}

type indexedControl struct {
	ctl   *model.Control
	order int             // position in the model, to keep its order
	keys  map[string]bool // mitigation ids covers would match
}

// newControlIndex files each control under the elements it names, with the
// mitigations covers would match: its own ids, the ATLAS mitigations its
// mlthreat controls implement, and the mlthreat controls that implement its
// ATLAS mitigations.
func newControlIndex(e *evaluator) *controlIndex {
	implementedBy := map[string][]string{} // ATLAS mitigation -> mlthreat controls
	for _, c := range e.cat.Controls {
		for _, m := range c.Mitigations {
			implementedBy[m] = append(implementedBy[m], c.ID)
		}
	}
	x := &controlIndex{byElement: map[string][]*indexedControl{}}
	for i, ctl := range e.sys.Controls {
		ic := &indexedControl{ctl: ctl, order: i, keys: map[string]bool{}}
		for _, m := range ctl.Mitigates {
			ic.keys[m] = true
			if c := e.cat.Control(m); c != nil {
				for _, am := range c.Mitigations {
					ic.keys[am] = true
				}
			}
			for _, mc := range implementedBy[m] {
				ic.keys[mc] = true
			}
		}
		if len(ctl.AppliesTo) == 0 {
			x.global = append(x.global, ic)
			continue
		}
		seen := map[string]bool{}
		for _, a := range ctl.AppliesTo {
			if !seen[a] {
				seen[a] = true
				x.byElement[a] = append(x.byElement[a], ic)
			}
		}
	}
	return x
}

// controlsFor lists, in model order, the controls that protect the target:
// those naming it, its zone, a flow into it or that flow's source (or, for
// a flow, either end), and those for the whole system.
func (e *evaluator) controlsFor(t Target) []*indexedControl {
	x := e.controls
	if len(x.byElement) == 0 {
		return x.global
	}
	id := t.ID()
	var named []*indexedControl
	add := func(k string) { named = append(named, x.byElement[k]...) }
	add(id)
	if c := e.g.comp(id); c != nil {
		add(c.Zone)
		for _, f := range e.g.inOf(id) {
			add(f.ID)
			add(f.From)
		}
	}
	if f := e.flows[id]; f != nil {
		add(f.From)
		add(f.To)
	}
	if len(named) == 0 {
		return x.global // shared, read only
	}
	out := append(append(make([]*indexedControl, 0, len(x.global)+len(named)), x.global...), named...)
	slices.SortFunc(out, func(a, b *indexedControl) int { return a.order - b.order })
	return slices.CompactFunc(out, func(a, b *indexedControl) bool { return a == b })
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
		if c := e.g.comp(id); c != nil {
			if a == c.Zone {
				return true
			}
			for _, f := range e.g.inOf(id) {
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
	candidates := e.controlsFor(t.Target)
	if len(t.Rule.Mitigations) > 0 {
		t.Mitigations = make([]MitigationStatus, 0, len(t.Rule.Mitigations))
	}
	for _, m := range t.Rule.Mitigations {
		best, bestCtl := -1, ""
		for _, ic := range candidates {
			ctl := ic.ctl
			if !ic.keys[m] {
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

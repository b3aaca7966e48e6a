// Package validate checks a system model completely: the model package's
// structural checks plus every framework id (ATLAS, NIST AI RMF, OWASP) against
// the catalogue. It normalises accepted spellings (GV-1.1 -> GOVERN 1.1,
// LLM01 -> LLM01:2026) in the returned System.
package validate

import (
	"fmt"
	"strings"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/diag"
	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/suggest"
)

// File loads, checks and normalises one model file.
func File(path string, cat *catalog.Catalog, lim model.Limits) (*model.System, diag.List) {
	s, ds := model.LoadFile(path, lim)
	if s == nil {
		return nil, ds
	}
	ds = append(ds, Frameworks(s, cat)...)
	ds.Sort()
	return s, ds
}

// Unreadable reports whether diagnostics say the file could not be read at
// all (missing, a directory, permission), as opposed to being invalid.
func Unreadable(ds diag.List) bool {
	for _, d := range ds {
		if d.Code == "unreadable" {
			return true
		}
	}
	return false
}

type checker struct {
	cat   *catalog.Catalog
	file  string
	diags diag.List
}

func (c *checker) add(sev diag.Severity, n *model.Node, code, path string, sug []string, format string, args ...any) {
	p := n.Pos()
	c.diags = append(c.diags, diag.Diagnostic{File: c.file, Line: p.Line, Col: p.Col, Severity: sev, Code: code, Path: path, Suggest: sug, Message: fmt.Sprintf(format, args...)})
}

// Frameworks checks and normalises every framework id in s.
func Frameworks(s *model.System, cat *catalog.Catalog) diag.List {
	c := &checker{cat: cat, file: s.File}
	for i, ctl := range s.Controls {
		path := fmt.Sprintf("controls[%d]", i)
		context := ctl.Name + " " + ctl.Description
		ctl.Mitigates = c.list(ctl.Node.Get("mitigates"), path+".mitigates", func(id string, n *model.Node, p string) string {
			return c.mitigation(id, n, p, context)
		})
		ctl.RMF = c.list(ctl.Node.Get("rmf"), path+".rmf", c.rmf)
	}
	for i, t := range s.Threats {
		path := fmt.Sprintf("threats[%d]", i)
		context := t.Title + " " + t.Description
		if n := t.Node.Get("technique"); n != nil && n.Kind == model.Scalar && t.Technique != "" {
			t.Technique = c.technique(t.Technique, n, path+".technique", context)
		}
		tech := func(id string, n *model.Node, p string) string { return c.technique(id, n, p, context) }
		t.Related = c.list(t.Node.Get("related"), path+".related", tech)
		t.OWASP = c.list(t.Node.Get("owasp"), path+".owasp", c.owasp)
		t.RMF = c.list(t.Node.Get("rmf"), path+".rmf", c.rmf)
	}
	if len(s.Governance) > 0 {
		c.practices(s)
	}
	return c.diags
}

// practices checks governance entries against the practice vocabulary.
func (c *checker) practices(s *model.System) {
	cw, err := gap.Load(c.cat)
	if err != nil {
		c.add(diag.Error, s.Root, "internal", "governance", nil, "the embedded crosswalk does not load: %v", err)
		return
	}
	ids := cw.PracticeIDs()
	for i, p := range s.Governance {
		n := p.Node.Get("practice")
		if p.Practice == "" || n == nil || cw.Practice(p.Practice) != nil {
			continue
		}
		sug := suggest.Closest(p.Practice, ids, 3)
		hint := suggest.DidYouMean(sug)
		if hint == "" {
			hint = "; see docs/governance.md for the practices mlthreat knows"
		}
		c.add(diag.Error, n, "unknown-practice", fmt.Sprintf("governance[%d].practice", i), sug, "unknown governance practice %q%s", p.Practice, hint)
	}
}

// list applies fn to each scalar of a list node and returns the normalised ids.
func (c *checker) list(n *model.Node, path string, fn func(id string, n *model.Node, path string) string) []string {
	if n == nil || n.Kind != model.Seq {
		return n.Strings()
	}
	var out []string
	for j, it := range n.Items() {
		if it.Kind != model.Scalar || it.Value == "" {
			continue
		}
		out = append(out, fn(it.Value, it, fmt.Sprintf("%s[%d]", path, j)))
	}
	return out
}

func (c *checker) labels(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = c.cat.Label(id)
	}
	return out
}

func didYouMean(labels []string) string {
	if len(labels) == 0 {
		return ""
	}
	return "; did you mean " + strings.Join(labels, " or ") + "?"
}

func (c *checker) mitigation(id string, n *model.Node, path, context string) string {
	if c.cat.Mitigation(id) != nil || c.cat.Control(id) != nil {
		return id
	}
	switch catalog.Shape(id) {
	case catalog.KindTechnique:
		if t := c.cat.Technique(id); t != nil {
			ms := c.cat.MitigationsFor(id)
			hint := ""
			if len(ms) > 0 {
				hint = "; mitigations that address it: " + strings.Join(ms, ", ")
			}
			c.add(diag.Error, n, "wrong-id-type", path, ms, "%s is an ATLAS technique (%s), but mitigates lists mitigation or control ids%s", id, t.Name, hint)
			return id
		}
	case catalog.KindTactic, catalog.KindCaseStudy:
		c.add(diag.Error, n, "wrong-id-type", path, nil, "%s is an ATLAS %s, but mitigates lists mitigation ids (AML.M0000-style) or mlthreat control ids (MLT-C-...)", id, strings.TrimPrefix(string(catalog.Shape(id)), "atlas-"))
		return id
	case catalog.KindAttack:
		c.add(diag.Error, n, "attack-id", path, nil, "%s", c.cat.ExplainAttack(id, context))
		return id
	case catalog.KindMitigation:
		sug := catalog.Closest(id, c.cat.IDsOf(catalog.KindMitigation), 3)
		c.add(diag.Error, n, "unknown-id", path, sug, "unknown ATLAS mitigation %s (ATLAS %s has AML.M0000-%s)%s", id, c.cat.ATLAS.Version, lastID(c.cat.IDsOf(catalog.KindMitigation)), didYouMean(c.labels(sug)))
		return id
	}
	all := append(c.cat.IDsOf(catalog.KindControl), c.cat.IDsOf(catalog.KindMitigation)...)
	sug := catalog.Closest(id, all, 3)
	c.add(diag.Error, n, "unknown-id", path, sug, "unknown control id %q: expected an ATLAS mitigation (AML.M0004) or an mlthreat control (MLT-C-RATE-LIMIT; see `mlthreat catalog controls`)%s", id, didYouMean(c.labels(sug)))
	return id
}

func lastID(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return ids[len(ids)-1]
}

func (c *checker) technique(id string, n *model.Node, path, context string) string {
	if c.cat.Technique(id) != nil {
		return id
	}
	switch catalog.Shape(id) {
	case catalog.KindAttack:
		sug := []string{}
		if s := c.cat.SuggestTechnique(context); s != "" && strings.TrimSpace(context) != "" {
			sug = append(sug, s)
		}
		c.add(diag.Error, n, "attack-id", path, sug, "%s", c.cat.ExplainAttack(id, context))
		return id
	case catalog.KindMitigation:
		if m := c.cat.Mitigation(id); m != nil {
			c.add(diag.Error, n, "wrong-id-type", path, m.Techniques, "%s is an ATLAS mitigation (%s), not a technique; it addresses %s", id, m.Name, strings.Join(m.Techniques, ", "))
			return id
		}
	case catalog.KindTactic:
		if t := c.cat.Tactic(id); t != nil {
			c.add(diag.Error, n, "wrong-id-type", path, nil, "%s is an ATLAS tactic (%s), not a technique; name one of its techniques (`mlthreat catalog techniques --tactic %s`)", id, t.Name, id)
			return id
		}
	}
	sug := catalog.Closest(id, c.cat.IDsOf(catalog.KindTechnique), 3)
	if s := c.cat.SuggestTechnique(context); len(sug) == 0 && s != "" && strings.TrimSpace(context) != "" {
		sug = []string{s}
	}
	c.add(diag.Error, n, "unknown-id", path, sug, "unknown ATLAS technique %s in ATLAS %s%s", id, c.cat.ATLAS.Version, didYouMean(c.labels(sug)))
	return id
}

func (c *checker) rmf(id string, n *model.Node, path string) string {
	norm, ok := catalog.NormalizeRMF(id)
	if !ok {
		var sug []string
		if len(id) <= 40 {
			sug = catalog.Closest(id, c.cat.IDsOf(catalog.KindRMF), 3)
		}
		c.add(diag.Error, n, "unknown-id", path, sug, "%q is not a NIST AI RMF subcategory; write it as GOVERN 1.1 (GV-1.1, GOV 1.1 and govern-1.1 are accepted)%s", id, didYouMean(sug))
		return id
	}
	item := c.cat.RMFItem(norm)
	if item == nil {
		sug := catalog.Closest(norm, c.cat.IDsOf(catalog.KindRMF), 3)
		c.add(diag.Error, n, "unknown-id", path, sug, "NIST AI RMF 1.0 has no %s%s", norm, didYouMean(c.labelsRMF(sug)))
		return norm
	}
	if item.Parent == "" || !strings.Contains(norm, ".") {
		subs := c.cat.Subcategories(norm)
		c.add(diag.Warning, n, "coarse-rmf", path, nil, "%s is a whole %s; name the subcategories you mean (%s)", norm, map[bool]string{true: "function", false: "category"}[item.Parent == ""], abbreviate(subs, 6))
	}
	return norm
}

func (c *checker) labelsRMF(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id
		if it := c.cat.RMFItem(id); it != nil {
			out[i] = fmt.Sprintf("%s (%s)", id, it.Summary)
		}
	}
	return out
}

func abbreviate(ids []string, n int) string {
	if len(ids) <= n {
		return strings.Join(ids, ", ")
	}
	return strings.Join(ids[:n], ", ") + fmt.Sprintf(" and %d more", len(ids)-n)
}

func (c *checker) owasp(id string, n *model.Node, path string) string {
	r, ok := c.cat.ResolveOWASP(id)
	if !ok {
		c.add(diag.Error, n, "unknown-id", path, nil, "%q is not an OWASP Top 10 id; expected ML01:2023-ML10:2023, LLM01:2025-LLM10:2025, LLM01:2026-LLM10:2026 or ASI01:2026-ASI10:2026", id)
		return id
	}
	item := c.cat.OWASPItem(r.ID)
	if item == nil {
		var sug []string
		for _, o := range c.cat.OWASP {
			if strings.HasPrefix(r.ID, o.List) && o.Edition == strings.SplitN(r.ID, ":", 2)[1] {
				sug = append(sug, o.ID)
			}
		}
		if len(sug) == 0 {
			c.add(diag.Error, n, "unknown-id", path, nil, "OWASP %s is not an edition mlthreat ships; shipped: ML 2023, LLM 2025 and 2026, ASI 2026", r.ID)
			return id
		}
		c.add(diag.Error, n, "unknown-id", path, nil, "no OWASP entry %s; that list runs %s to %s", r.ID, sug[0], sug[len(sug)-1])
		return id
	}
	if r.Assumed {
		msg := fmt.Sprintf("%s has no edition; taken as %s (%s)", id, r.ID, item.Name)
		if prev := c.previousEditions(r.ID); prev != "" {
			msg += "; " + prev
		}
		msg += ". Write the edition to be explicit"
		c.add(diag.Warning, n, "owasp-edition", path, []string{r.ID}, "%s", msg)
	} else if r.ID != id {
		return r.ID
	}
	return r.ID
}

// previousEditions notes when the same number meant something else before.
func (c *checker) previousEditions(id string) string {
	num := strings.SplitN(id, ":", 2)[0]
	var notes []string
	for _, o := range c.cat.OWASP {
		if strings.HasPrefix(o.ID, num+":") && o.ID != id {
			it := c.cat.OWASPItem(id)
			if it != nil && o.Name != it.Name {
				notes = append(notes, fmt.Sprintf("%s was %s", o.ID, o.Name))
			}
		}
	}
	return strings.Join(notes, ", ")
}

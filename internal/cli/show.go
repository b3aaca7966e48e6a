package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/suggest"
)

// shown is the JSON form of `catalog show`.
type shown struct {
	ID        string              `json:"id"`
	Type      string              `json:"type"`
	Name      string              `json:"name"`
	Summary   string              `json:"summary,omitempty"`
	Item      any                 `json:"item"`
	Relations map[string][]string `json:"relations,omitempty"`
}

func (a *app) showCommand(f *catalogFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show one item with its relations (technique, tactic, mitigation, case study, RMF, OWASP, control)",
		Example: `  mlthreat catalog show AML.T0051
  mlthreat catalog show GV-1.1
  mlthreat catalog show LLM01:2025`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cat, err := a.catalog()
			if err != nil {
				return err
			}
			s, err := describe(cat, strings.TrimSpace(args[0]))
			if err != nil {
				return err
			}
			if f.json {
				return writeJSON(a.stdout, s)
			}
			printShown(a.stdout, cat, s)
			return nil
		},
	}
}

func describe(cat *catalog.Catalog, id string) (*shown, error) {
	if norm, ok := catalog.NormalizeRMF(id); ok && cat.RMFItem(norm) != nil {
		id = norm
	}
	if r, ok := cat.ResolveOWASP(id); ok && cat.OWASPItem(r.ID) != nil {
		id = r.ID
	}
	if strings.HasPrefix(strings.ToLower(id), "aml.") {
		id = strings.ToUpper(id[:4]) + strings.ToUpper(id[4:])
	}
	rel := map[string][]string{}
	switch {
	case cat.Technique(id) != nil:
		t := cat.Technique(id)
		rel["tactics"] = t.Tactics
		if t.Parent != "" {
			rel["parent"] = []string{t.Parent}
		}
		rel["subtechniques"] = cat.Subtechniques(id)
		rel["mitigations"] = cat.MitigationsFor(id)
		rel["case_studies"] = cat.CaseStudiesUsing(id)
		if t.AttackID != "" {
			rel["attack"] = []string{t.AttackID}
		}
		return &shown{id, "atlas-technique", t.Name, t.Summary, t, clean(rel)}, nil
	case cat.Tactic(id) != nil:
		t := cat.Tactic(id)
		rel["techniques"] = cat.TechniquesIn(id)
		return &shown{id, "atlas-tactic", t.Name, t.Summary, t, clean(rel)}, nil
	case cat.Mitigation(id) != nil:
		m := cat.Mitigation(id)
		rel["techniques"] = m.Techniques
		for _, c := range cat.Controls {
			if slices.Contains(c.Mitigations, id) {
				rel["mlthreat_controls"] = append(rel["mlthreat_controls"], c.ID)
			}
		}
		return &shown{id, "atlas-mitigation", m.Name, m.Summary, m, clean(rel)}, nil
	case cat.CaseStudy(id) != nil:
		c := cat.CaseStudy(id)
		for _, p := range c.Procedure {
			rel["procedure"] = append(rel["procedure"], p.Tactic+" "+p.Technique)
		}
		return &shown{id, "atlas-case-study", c.Name, c.Summary, c, clean(rel)}, nil
	case cat.RMFItem(id) != nil:
		r := cat.RMFItem(id)
		if r.Parent != "" {
			rel["parent"] = []string{r.Parent}
		}
		if !strings.Contains(id, ".") {
			rel["subcategories"] = cat.Subcategories(id)
		}
		for _, a := range cat.GenAI.Actions {
			if a.Subcategory == id {
				rel["nist_ai_600_1_actions"] = append(rel["nist_ai_600_1_actions"], a.ID)
			}
		}
		name := r.Title
		if name == "" {
			name = r.Summary
		}
		return &shown{id, "nist-ai-rmf", name, r.Summary, r, clean(rel)}, nil
	case cat.OWASPItem(id) != nil:
		o := cat.OWASPItem(id)
		if o.Previous != "" {
			rel["previous_edition"] = []string{o.Previous}
		}
		return &shown{id, "owasp", o.Name, o.Summary, o, clean(rel)}, nil
	case cat.Control(id) != nil:
		c := cat.Control(id)
		rel["mitigations"] = c.Mitigations
		return &shown{id, "mlthreat-control", c.Name, c.Summary, c, clean(rel)}, nil
	case cat.GenAIRisk(id) != nil:
		r := cat.GenAIRisk(id)
		for _, a := range cat.GenAI.Actions {
			if slices.Contains(a.Risks, id) {
				rel["actions"] = append(rel["actions"], a.ID)
			}
		}
		return &shown{id, "nist-ai-600-1-risk", r.Name, r.Summary, r, clean(rel)}, nil
	}
	if catalog.Shape(id) == catalog.KindAttack {
		return nil, exitWith(ExitFindings, "%s", cat.ExplainAttack(id, ""))
	}
	all := []string{}
	for _, k := range []catalog.IDKind{catalog.KindTechnique, catalog.KindTactic, catalog.KindMitigation, catalog.KindCaseStudy, catalog.KindRMF, catalog.KindOWASP, catalog.KindControl} {
		all = append(all, cat.IDsOf(k)...)
	}
	return nil, exitWith(ExitFindings, "no catalogue item %q%s", id, suggest.DidYouMean(catalog.Closest(id, all, 3)))
}

func clean(m map[string][]string) map[string][]string {
	for k, v := range m {
		if len(v) == 0 {
			delete(m, k)
		}
	}
	return m
}

func printShown(w io.Writer, cat *catalog.Catalog, s *shown) {
	fmt.Fprintf(w, "%s  %s\n", s.ID, s.Name)
	fmt.Fprintf(w, "type: %s\n", s.Type)
	if s.Summary != "" {
		fmt.Fprintf(w, "summary: %s\n", s.Summary)
	}
	switch it := s.Item.(type) {
	case *catalog.Technique:
		if it.Maturity != "" {
			fmt.Fprintf(w, "maturity: %s\n", it.Maturity)
		}
	case *catalog.CaseStudy:
		fmt.Fprintf(w, "case study: %s, %s\n", it.Type, it.Date)
		if it.Target != "" {
			fmt.Fprintf(w, "target: %s\n", it.Target)
		}
	}
	order := []struct{ key, title string }{
		{"parent", "Parent"}, {"tactics", "Tactics"}, {"subtechniques", "Sub-techniques"},
		{"techniques", "Techniques"}, {"mitigations", "Mitigations"}, {"mlthreat_controls", "mlthreat controls"},
		{"case_studies", "Case studies"}, {"procedure", "Procedure"}, {"subcategories", "Subcategories"},
		{"nist_ai_600_1_actions", "NIST AI 600-1 actions"}, {"actions", "NIST AI 600-1 actions"},
		{"previous_edition", "Previous edition"}, {"attack", "ATT&CK"},
	}
	for _, o := range order {
		ids := s.Relations[o.key]
		if len(ids) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", o.title)
		for _, id := range ids {
			switch o.key {
			case "procedure":
				tac, tech, _ := strings.Cut(id, " ")
				fmt.Fprintf(w, "  %-14s %-28s %s\n", tech, cat.Name(tac), cat.Name(tech))
			case "attack", "nist_ai_600_1_actions", "actions":
				fmt.Fprintf(w, "  %s\n", id)
			default:
				fmt.Fprintf(w, "  %-14s %s\n", id, cat.Name(id))
			}
		}
	}
	desc := ""
	switch it := s.Item.(type) {
	case *catalog.Technique:
		desc = it.Description
	case *catalog.Tactic:
		desc = it.Description
	case *catalog.Mitigation:
		desc = it.Description
	case *catalog.CaseStudy:
		desc = it.Full
	}
	if desc != "" {
		fmt.Fprintf(w, "\nOfficial description (%s):\n%s\n", cat.ATLAS.Source, desc)
	} else if strings.HasPrefix(s.Type, "atlas-") {
		fmt.Fprintf(w, "\nFull text: https://atlas.mitre.org/%s/%s (or run with --atlas ATLAS.yaml)\n", atlasPath(s.Type), s.ID)
	}
}

func atlasPath(t string) string {
	switch t {
	case "atlas-technique":
		return "techniques"
	case "atlas-tactic":
		return "tactics"
	case "atlas-mitigation":
		return "mitigations"
	}
	return "studies"
}

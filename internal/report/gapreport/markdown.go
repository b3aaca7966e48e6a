package gapreport

import (
	"fmt"
	"io"
	"strings"

	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/report/mdtext"
	"github.com/mlthreat/mlthreat/internal/report/quantreport"
)

func esc(s string) string { return mdtext.Escape(s) }

// Markdown writes the gap analysis as a remediation plan.
func Markdown(w io.Writer, r *gap.Report) error {
	var b strings.Builder
	s := r.System.Info
	fmt.Fprintf(&b, "# AI RMF gap analysis and remediation plan: %s\n\n", esc(s.Name))
	fmt.Fprintf(&b, "| | |\n|---|---|\n| System | `%s` |\n| Owner | %s |\n| Framework | NIST AI RMF %s (72 subcategories) |\n| Profile | %s: %s |\n| Date | %s |\n\n",
		s.ID, esc(s.Owner), r.Catalog.Versions["nist-ai-rmf"], esc(r.Profile.Name), esc(r.Profile.Description), r.Date)

	b.WriteString("## Where the system stands\n\n| function | met | partial | gap | not applicable | coverage |\n|---|---|---|---|---|---|\n")
	for _, f := range r.Functions {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %.0f%% |\n", f.ID, f.Met, f.Partial, f.Gap, f.NA, 100*f.Score)
	}
	below := 0
	for _, sc := range r.Subcategories {
		if sc.BelowTarget {
			below++
		}
	}
	fmt.Fprintf(&b, "\n%d of %d subcategories are below the profile's target.\n\n", below, len(r.Subcategories))
	if r.Profile.GenAI != nil && len(r.Profile.GenAI.Risks) > 0 {
		fmt.Fprintf(&b, "Generative-AI risks this system raises (NIST AI 600-1): %s.\n\n", strings.Join(r.Profile.GenAI.Risks, ", "))
	}

	b.WriteString("## How the declared practices map onto the four functions\n\n| practice | status | GOVERN | MAP | MEASURE | MANAGE |\n|---|---|---|---|---|---|\n")
	for _, p := range r.System.Governance {
		byFn := map[string][]string{}
		for _, sc := range r.Subcategories {
			for _, sp := range sc.Supporters {
				if sp.Kind == "practice" && sp.ID == p.Practice {
					byFn[sc.Function] = append(byFn[sc.Function], strings.TrimPrefix(sc.ID, sc.Function+" "))
				}
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", esc(p.Practice), p.Status, dashList(byFn["GOVERN"]), dashList(byFn["MAP"]), dashList(byFn["MEASURE"]), dashList(byFn["MANAGE"]))
	}
	if len(r.System.Governance) == 0 {
		b.WriteString("| - | the model declares no `governance:` practices | | | | |\n")
	}
	b.WriteString("\n")

	money := r.System.Business != nil
	if money {
		b.WriteString("## Remediation roadmap\n\nRanked by expected annual loss removed per unit of effort (S = 1, M = 3, L = 8), from the model's `business:` loss model (see docs/quantify.md), prerequisites first. The loss removed is measured by re-running the threat analysis with the item in place.\n\n")
		b.WriteString("| # | within | item | effort | annual loss removed | per effort unit | residual risk removed | threats | subcategories brought to target | depends on |\n|---|---|---|---|--:|--:|---|---|---|---|\n")
	} else {
		b.WriteString("## Remediation roadmap\n\nRanked by residual risk removed per unit of effort (S = 1, M = 3, L = 8), prerequisites first. Risk removed is measured by re-running the threat analysis with the item in place.\n\n")
		b.WriteString("| # | within | item | effort | residual risk removed | threats | subcategories brought to target | depends on |\n|---|---|---|---|---|---|---|---|\n")
	}
	for _, it := range r.Roadmap {
		action := "Implement"
		if it.Action == "strengthen" {
			action = "Complete `" + esc(it.Existing) + "`:"
		}
		if money {
			cur := currency(r)
			fmt.Fprintf(&b, "| %d | %d days | %s %s %s | %s | %s | %s | %d | %d | %s | %s |\n", it.Rank, it.Phase, action, it.ID, esc(it.Name), it.Effort, quantreport.Money(cur, it.LossReduction), quantreport.Money(cur, it.Return), it.RiskReduction, len(it.Threats), dashList(it.Subcategories), dashList(it.DependsOn))
			continue
		}
		fmt.Fprintf(&b, "| %d | %d days | %s %s %s | %s | %d | %d | %s | %s |\n", it.Rank, it.Phase, action, it.ID, esc(it.Name), it.Effort, it.RiskReduction, len(it.Threats), dashList(it.Subcategories), dashList(it.DependsOn))
	}
	if len(r.Roadmap) == 0 {
		b.WriteString("| - | - | nothing to do for this profile | | | | | |\n")
	}

	b.WriteString("\n## Gaps and the threats they leave open\n\n")
	for _, sc := range r.Subcategories {
		if !sc.BelowTarget {
			continue
		}
		fmt.Fprintf(&b, "### %s (%s, target %s)\n\n%s\n\n", sc.ID, sc.Status, sc.Required, esc(sc.Summary))
		if len(sc.Supporters) > 0 {
			var sp []string
			for _, x := range sc.Supporters {
				sp = append(sp, fmt.Sprintf("`%s` via %s (%s, %s link)", esc(x.ID), x.Via, x.Status, x.Strength))
			}
			fmt.Fprintf(&b, "- In place: %s\n", strings.Join(sp, "; "))
		} else {
			b.WriteString("- In place: nothing maps here.\n")
		}
		for _, t := range first(sc.Threats, 5) {
			fmt.Fprintf(&b, "- Leaves open %s %s on `%s` (residual %d, %s), missing %s\n", t.ID, t.Technique, esc(t.Target), t.Residual, t.Severity, strings.Join(t.Missing, ", "))
		}
		if len(sc.Threats) > 5 {
			fmt.Fprintf(&b, "- and %d more threats\n", len(sc.Threats)-5)
		}
		for _, f := range sc.Flags {
			fmt.Fprintf(&b, "- Evidence: %s\n", esc(f))
		}
		b.WriteString("\n")
	}

	b.WriteString("## All subcategories\n\n| subcategory | status | target | supported by | open threats |\n|---|---|---|---|---|\n")
	for _, sc := range r.Subcategories {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d |\n", sc.ID, sc.Status, dash(sc.Required), esc(supporterList(sc)), len(sc.Threats))
	}
	b.WriteString("\n## Sign-off\n\n| role | name | date |\n|---|---|---|\n| System owner | | |\n| CISO | | |\n| Model risk | | |\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func dashList(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}

func first(s []gap.ThreatRef, n int) []gap.ThreatRef {
	if len(s) > n {
		return s[:n]
	}
	return s
}

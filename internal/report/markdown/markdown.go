// Package markdown writes the analysis as a threat model document in
// Markdown: summary, threats per component, the risk matrix, missing
// mitigations and precedents. User text is escaped so it cannot inject markup.
package markdown

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/report/mdtext"
)

// Writer writes Markdown.
type Writer struct{}

// esc makes user text safe inside Markdown (and the HTML it renders to).
func esc(s string) string { return mdtext.Escape(s) }

func (Writer) Write(out io.Writer, r *analysis.Report) error {
	var b strings.Builder
	s := r.System.Info
	fmt.Fprintf(&b, "# Threat model: %s\n\n", esc(s.Name))
	if s.Description != "" {
		fmt.Fprintf(&b, "%s\n\n", esc(s.Description))
	}
	fmt.Fprintf(&b, "| | |\n|---|---|\n| System | `%s` |\n| Owner | %s |\n| Criticality | %s |\n| Model file | `%s` |\n| Catalogue | ATLAS %s, NIST AI RMF %s |\n| Evaluated | %s, %d rules |\n\n",
		s.ID, esc(s.Owner), esc(s.Criticality), esc(r.System.File), r.Catalog.Versions["atlas"], r.Catalog.Versions["nist-ai-rmf"], r.Date, r.Rules)

	counts, residual := map[string]int{}, map[string]int{}
	for _, t := range r.Threats {
		counts[t.Severity]++
		residual[t.Residual.Severity]++
	}
	b.WriteString("## Summary\n\n| severity | inherent | residual |\n|---|---|---|\n")
	for _, sev := range []string{"critical", "high", "medium", "low"} {
		fmt.Fprintf(&b, "| %s | %d | %d |\n", sev, counts[sev], residual[sev])
	}
	fmt.Fprintf(&b, "\n%d threats on %d elements.\n\n", len(r.Threats), countTargets(r))

	b.WriteString("## Likelihood × impact\n\nInherent risk; each cell counts threats.\n\n| likelihood \\ impact | 1 | 2 | 3 | 4 | 5 |\n|---|---|---|---|---|---|\n")
	var grid [6][6]int
	for _, t := range r.Threats {
		grid[t.Likelihood.Score][t.Impact.Score]++
	}
	for l := 5; l >= 1; l-- {
		fmt.Fprintf(&b, "| **%d** |", l)
		for i := 1; i <= 5; i++ {
			if grid[l][i] == 0 {
				b.WriteString(" · |")
			} else {
				fmt.Fprintf(&b, " %d |", grid[l][i])
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n## Threats by element\n\n")
	byTarget := map[string][]*analysis.Threat{}
	var order []string
	for _, t := range r.Threats {
		id := t.Target.ID()
		if byTarget[id] == nil {
			order = append(order, id)
		}
		byTarget[id] = append(byTarget[id], t)
	}
	sort.Strings(order)
	for _, id := range order {
		fmt.Fprintf(&b, "### `%s`\n\n", esc(id))
		for _, t := range byTarget[id] {
			fmt.Fprintf(&b, "#### %s %s\n\n", t.ID, esc(t.Rule.Title))
			fmt.Fprintf(&b, "- **ATLAS:** %s %s (%s)\n", t.Technique, esc(r.Catalog.Name(t.Technique)), tactics(r, t.Tactics))
			if len(t.Related) > 0 {
				fmt.Fprintf(&b, "- **Related:** %s\n", strings.Join(t.Related, ", "))
			}
			fmt.Fprintf(&b, "- **Risk:** %d (%s) = likelihood %d × impact %d; **residual** %d (%s); status **%s**\n", t.Risk, t.Severity, t.Likelihood.Score, t.Impact.Score, t.Residual.Score, t.Residual.Severity, t.Status)
			fmt.Fprintf(&b, "- **Likelihood factors:** %s\n", esc(strings.Join(t.Likelihood.Factors, "; ")))
			fmt.Fprintf(&b, "- **Impact factors:** %s\n", esc(strings.Join(t.Impact.Factors, "; ")))
			if len(t.STRIDE)+len(t.OWASP)+len(t.LINDDUN) > 0 {
				fmt.Fprintf(&b, "- **STRIDE:** %s · **LINDDUN:** %s · **OWASP:** %s\n", dash(t.STRIDE), dash(t.LINDDUN), dash(t.OWASP))
			}
			var ms []string
			for _, m := range t.Mitigations {
				c := ""
				if m.Control != "" {
					c = " via `" + esc(m.Control) + "`"
				}
				ms = append(ms, fmt.Sprintf("%s %s (%s%s)", m.ID, esc(r.Catalog.Name(m.ID)), m.Status, c))
			}
			fmt.Fprintf(&b, "- **Mitigations:** %s\n", dash(ms))
			if len(t.RMF) > 0 {
				fmt.Fprintf(&b, "- **NIST AI RMF:** %s\n", strings.Join(t.RMF, ", "))
			}
			if len(t.CaseStudies) > 0 {
				fmt.Fprintf(&b, "- **Precedent:** %s\n", strings.Join(first(t.CaseStudies, 5), ", "))
			}
			if len(t.Evidence) > 0 {
				head := "tested"
				if t.Confirmed {
					head = "**confirmed** by testing"
				}
				fmt.Fprintf(&b, "- **Evidence:** %s\n", head)
				for _, ref := range t.Evidence {
					fmt.Fprintf(&b, "  - `%s` %s: %s, %s%s\n", ref.ID, ref.Outcome, esc(ref.Label()), esc(ref.Summary()), evidenceNote(ref))
				}
			}
			fmt.Fprintf(&b, "\n%s\n\n", esc(t.Rule.Rationale))
		}
	}
	b.WriteString("## Missing mitigations\n\nATLAS mitigations and mlthreat controls the open threats call for that no implemented control covers, by how many threats need them.\n\n| mitigation | threats |\n|---|---|\n")
	missing := map[string]int{}
	for _, t := range r.Threats {
		if t.Status != "open" {
			continue
		}
		for _, m := range t.Mitigations {
			if m.Status != "implemented" {
				missing[m.ID]++
			}
		}
	}
	ids := make([]string, 0, len(missing))
	for id := range missing {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if missing[ids[i]] != missing[ids[j]] {
			return missing[ids[i]] > missing[ids[j]]
		}
		return ids[i] < ids[j]
	})
	for _, id := range ids {
		fmt.Fprintf(&b, "| %s %s | %d |\n", id, esc(r.Catalog.Name(id)), missing[id])
	}
	b.WriteString("\n## Precedents\n\nATLAS case studies whose procedure shares the most techniques with this system's threats.\n\n| case study | shared techniques |\n|---|---|\n")
	for _, p := range first2(r.Precedent, 10) {
		fmt.Fprintf(&b, "| %s %s | %d: %s |\n", p.CaseStudy, esc(r.Catalog.Name(p.CaseStudy)), p.Overlap, strings.Join(p.Techniques, ", "))
	}
	if len(r.Verified) > 0 {
		b.WriteString("\n## Verified controls\n\nControls on threats that well-sampled, recent tests failed to break.\n\n| control | evidence | threats |\n|---|---|---|\n")
		for _, v := range r.Verified {
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", esc(v.Control), strings.Join(v.Evidence, ", "), strings.Join(v.Threats, ", "))
		}
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- line %d: %s\n", n.Line, esc(n.Message))
		}
	}
	_, err := io.WriteString(out, b.String())
	return err
}

func evidenceNote(ref analysis.EvidenceRef) string {
	var parts []string
	if ref.Reason != "" {
		parts = append(parts, ref.Reason)
	}
	if ref.Stale && ref.Outcome != analysis.Inconclusive {
		parts = append(parts, fmt.Sprintf("stale: %d days old", ref.AgeDays))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + esc(strings.Join(parts, "; ")) + ")"
}

func countTargets(r *analysis.Report) int {
	seen := map[string]bool{}
	for _, t := range r.Threats {
		seen[t.Target.ID()] = true
	}
	return len(seen)
}

func tactics(r *analysis.Report, ids []string) string {
	var out []string
	for _, id := range ids {
		out = append(out, esc(r.Catalog.Name(id)))
	}
	return strings.Join(out, ", ")
}

func dash(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func first2(s []analysis.Precedent, n int) []analysis.Precedent {
	if len(s) > n {
		return s[:n]
	}
	return s
}

package gatereport

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlthreat/mlthreat/internal/gate"
	"github.com/mlthreat/mlthreat/internal/report/mdtext"
)

// WritePacket writes <dir>/<system>.review-packet.md and .json and returns
// their paths.
func WritePacket(dir string, p *gate.Packet) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	base := filepath.Join(dir, safeName(p.System.ID)+".review-packet")
	js, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(base+".json", append(js, '\n'), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(base+".md", []byte(PacketMarkdown(p)), 0o644); err != nil {
		return nil, err
	}
	return []string{base + ".md", base + ".json"}, nil
}

func safeName(id string) string {
	var b strings.Builder
	for _, r := range id {
		if r == '-' || r == '_' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if strings.Trim(b.String(), ".") == "" {
		return "system"
	}
	return b.String()
}

// PacketMarkdown renders the packet for the board; model text is escaped.
func PacketMarkdown(p *gate.Packet) string {
	var b strings.Builder
	e := mdtext.Escape
	fmt.Fprintf(&b, "# Review packet: %s\n\n", e(p.System.Name))
	fmt.Fprintf(&b, "System `%s` in %s, policy **%s**, %s.\n\n", e(p.System.ID), e(p.System.File), e(p.Policy), p.Date)
	fmt.Fprintf(&b, "| | |\n|---|---|\n| Owner | %s |\n| Criticality | %s |\n| Platforms | %s |\n| Components / flows | %d / %d |\n| Open threats | %d |\n| Threat set | `%s` |\n\n",
		e(orNone(p.System.Owner)), e(orNone(p.System.Criticality)), e(orNone(strings.Join(p.System.Platforms, ", "))), p.System.Components, p.System.Flows, p.System.OpenThreats, p.ThreatSet)
	b.WriteString("## Decision requested\n\n" + p.Requested + "\n\nWhy this system was escalated:\n\n")
	for _, r := range p.Reasons {
		b.WriteString("- " + e(r) + "\n")
	}
	if p.Approval != nil {
		fmt.Fprintf(&b, "\nPrevious decision: %s.\n", e(p.Approval.Reason))
	}
	b.WriteString("\n## Top risks\n\n")
	if len(p.TopRisks) == 0 {
		b.WriteString("No open threats.\n\n")
	}
	for _, r := range p.TopRisks {
		fmt.Fprintf(&b, "### %s %s on `%s` (residual %s, %d)\n\n", r.ID, e(r.Title), e(r.Target), r.Severity, r.Score)
		fmt.Fprintf(&b, "ATLAS %s. %s\n\n", r.Technique, e(r.Rationale))
		fmt.Fprintf(&b, "- Likelihood: %s\n- Impact: %s\n", e(joinOr(r.Likelihood)), e(joinOr(r.Impact)))
		if len(r.Residual) > 0 {
			fmt.Fprintf(&b, "- Controls: %s\n", e(strings.Join(r.Residual, "; ")))
		}
		fmt.Fprintf(&b, "- Missing mitigations: %s\n", joinOr(r.Missing))
		if n := len(r.CaseStudies); n > 5 {
			fmt.Fprintf(&b, "- Seen in: %s and %d more\n", strings.Join(r.CaseStudies[:5], ", "), n-5)
		} else if n > 0 {
			fmt.Fprintf(&b, "- Seen in: %s\n", strings.Join(r.CaseStudies, ", "))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Precedent: ATLAS case studies\n\n")
	if len(p.Precedents) == 0 {
		b.WriteString("None share techniques with this system.\n")
	}
	for _, c := range p.Precedents {
		fmt.Fprintf(&b, "- **%s** %s: %d technique(s) in common (%s)\n", c.ID, e(c.Name), c.Overlap, strings.Join(c.Techniques, ", "))
	}
	b.WriteString("\n## NIST AI RMF gaps\n\n")
	if len(p.RMFGaps) == 0 {
		b.WriteString("No subcategory is below the profile's target.\n")
	}
	for _, g := range p.RMFGaps {
		fmt.Fprintf(&b, "- %s (%s): %s\n", g.ID, g.Status, e(g.Title))
	}
	b.WriteString("\n## Recording the decision\n\nAdd this to the system model. The threat set pins what was reviewed: the approval lapses when the open threats change or when it expires.\n\n```yaml\n" + p.Snippet + "```\n")
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func joinOr(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "; ")
}

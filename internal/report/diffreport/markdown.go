package diffreport

import (
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/mlthreat/mlthreat/internal/diff"
	"github.com/mlthreat/mlthreat/internal/report/mdtext"
)

// Marker starts every Markdown diff, so a CI job can find and update its
// earlier pull-request comment instead of adding another.
const Marker = "<!-- mlthreat-diff -->"

// Rows shown in a table before the rest folds into <details>, and the most
// rows written at all: a GitHub comment holds at most 65,536 characters.
const (
	shownRows = 10
	maxRows   = 200
)

// esc makes model text inert in a pull-request comment.
func esc(s string) string { return mdtext.Comment(s) }

// Markdown writes the diff as a pull-request comment: a verdict line, then
// compact tables; long tables fold into <details>.
func Markdown(w io.Writer, r *diff.Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n## Threat model changes: %s\n\n", Marker, esc(r.New.Name))
	v := Verdict(r) // starts with a digit or "no"
	fmt.Fprintf(&b, "**%s%s**\n\n", strings.ToUpper(v[:1]), v[1:])
	fmt.Fprintf(&b, "%s → %s · %d → %d threats, %d → %d open · ATLAS %s\n", esc(r.Old.File), esc(r.New.File), r.Old.Threats, r.New.Threats, r.Old.Open, r.New.Open, atlasVersion(r))
	if r.Empty() {
		_, err := io.WriteString(w, b.String())
		return err
	}
	threatRows := func(ts []diff.Threat) []string {
		var rows []string
		for _, t := range ts {
			rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s | %s | %s |", sev(t.Score, t.Severity), t.Status, t.ID, esc(t.Title), code(t.Target), technique(r, t.Technique)))
		}
		return rows
	}
	header := "| residual | status | id | threat | target | technique |\n|---|---|---|---|---|---|"
	table(&b, "Threats added", header, threatRows(r.Added))
	var changed []string
	for _, c := range r.Changed {
		changed = append(changed, fmt.Sprintf("| %s | %s | %s | %s | %s | %s |",
			arrow(sev(c.Old.Score, c.Old.Severity), sev(c.New.Score, c.New.Severity), "→"), arrow(c.Old.Status, c.New.Status, "→"),
			c.ID, esc(c.Title), code(c.Target), technique(r, c.Technique)))
	}
	table(&b, "Threats changed", header, changed)
	table(&b, "Threats removed", header, threatRows(r.Removed))

	b.WriteString("\n### Residual risk\n\nOpen and in-progress threats, by residual severity.\n\n| | before | after | change |\n|---|--:|--:|--:|\n")
	fmt.Fprintf(&b, "| **risk score** | %d | %d | **%s** |\n", r.Risk.Old, r.Risk.New, signed(r.Risk.Delta()))
	for _, s := range diff.Severities {
		o, n := r.Risk.OldBySeverity[s], r.Risk.NewBySeverity[s]
		fmt.Fprintf(&b, "| %s | %d | %d | %s |\n", s, o, n, signed(n-o))
	}

	var atlas []string
	for _, d := range []struct {
		label string
		ids   []string
	}{{"New techniques", r.Techniques.Added}, {"Techniques no longer present", r.Techniques.Removed}, {"New tactics", r.Tactics.Added}, {"Tactics no longer present", r.Tactics.Removed}} {
		if len(d.ids) == 0 {
			continue
		}
		var names []string
		for _, id := range d.ids {
			names = append(names, technique(r, id))
		}
		atlas = append(atlas, fmt.Sprintf("- **%s:** %s", d.label, strings.Join(names, ", ")))
	}
	if len(atlas) > 0 {
		fmt.Fprintf(&b, "\n### ATLAS techniques and tactics\n\n%s\n", strings.Join(atlas, "\n"))
	}

	var ctl []string
	for _, c := range r.Controls.Added {
		ctl = append(ctl, fmt.Sprintf("| %s | %s | added, %s |", code(c.ID), esc(c.Name), c.Status))
	}
	for _, c := range r.Controls.Changed {
		ctl = append(ctl, fmt.Sprintf("| %s | %s | %s → %s |", code(c.ID), esc(c.Name), c.OldStatus, c.NewStatus))
	}
	for _, c := range r.Controls.Removed {
		ctl = append(ctl, fmt.Sprintf("| %s | %s | removed (was %s) |", code(c.ID), esc(c.Name), c.Status))
	}
	table(&b, "Controls", "| control | name | change |\n|---|---|---|", ctl)
	_, err := io.WriteString(w, b.String())
	return err
}

// table writes a section with its first rows in view and the rest folded.
func table(b *strings.Builder, title, header string, rows []string) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "\n### %s (%d)\n\n%s\n", title, len(rows), header)
	if len(rows) <= shownRows+2 {
		fmt.Fprintf(b, "%s\n", strings.Join(rows, "\n"))
		return
	}
	fmt.Fprintf(b, "%s\n", strings.Join(rows[:shownRows], "\n"))
	rest := rows[shownRows:]
	fmt.Fprintf(b, "\n<details><summary>%d more</summary>\n\n%s\n", len(rest), header)
	if len(rest) > maxRows {
		fmt.Fprintf(b, "%s\n\n%d more not shown; run mlthreat diff --format json for all of them.\n", strings.Join(rest[:maxRows], "\n"), len(rest)-maxRows)
	} else {
		fmt.Fprintf(b, "%s\n", strings.Join(rest, "\n"))
	}
	b.WriteString("\n</details>\n")
}

func sev(score int, severity string) string {
	s := fmt.Sprintf("%d %s", score, severity)
	if severity == "critical" || severity == "high" {
		return "**" + s + "**"
	}
	return s
}

// code puts a model id in a code span. The model restricts ids to ASCII
// letters, digits, '.', '_' and '-'; any other id is escaped as text instead.
func code(id string) string {
	for _, r := range id {
		if !(r == '.' || r == '_' || r == '-' || r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return esc(id)
		}
	}
	return "`" + id + "`"
}

func technique(r *diff.Result, id string) string {
	name := catalogName(r, id)
	if name == "" || name == id {
		return esc(id)
	}
	return esc(id) + " " + esc(name)
}

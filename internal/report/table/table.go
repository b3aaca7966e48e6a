// Package table writes the analysis as a terminal table, coloured when the
// output is a terminal.
package table

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/mlthreat/mlthreat/internal/analysis"
)

// Writer writes a table; Color adds ANSI colours to severities.
type Writer struct{ Color bool }

var colors = map[string]string{"critical": "\x1b[1;35m", "high": "\x1b[1;31m", "medium": "\x1b[33m", "low": "\x1b[32m"}

func (w Writer) sev(s string) string {
	if !w.Color {
		return s
	}
	return colors[s] + s + "\x1b[0m"
}

func (w Writer) Write(out io.Writer, r *analysis.Report) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s (%s): %d threats from %d rules, ATLAS %s\n\n", r.System.Info.Name, r.System.Info.ID, len(r.Threats), r.Rules, r.Catalog.Versions["atlas"])
	fmt.Fprintln(tw, "ID\tRISK\tRESIDUAL\tSTATUS\tTARGET\tTECHNIQUE\tTHREAT")
	for _, t := range r.Threats {
		fmt.Fprintf(tw, "%s\t%d %s\t%d %s\t%s\t%s\t%s\t%s\n", t.ID, t.Risk, w.sev(t.Severity), t.Residual.Score, w.sev(t.Residual.Severity),
			t.Status, t.Target.ID(), t.Technique, clip(t.Rule.Title, 60))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range r.Notes {
		fmt.Fprintf(out, "\nnote: %s\n", n.String())
	}
	counts := map[string]int{}
	for _, t := range r.Threats {
		counts[t.Residual.Severity]++
	}
	fmt.Fprintf(out, "\nresidual: %d critical, %d high, %d medium, %d low. Run with --explain ID for the reasons behind a threat.\n",
		counts["critical"], counts["high"], counts["medium"], counts["low"])
	return nil
}

func clip(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return strings.TrimSpace(string([]rune(s)[:n-1])) + "…"
}

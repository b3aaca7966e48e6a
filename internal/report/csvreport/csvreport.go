// Package csvreport writes the threat model as a risk register in CSV, in the
// columns GRC tools import.
package csvreport

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"

	"github.com/mlthreat/mlthreat/internal/analysis"
)

// Columns of the register, in order.
var Columns = []string{"id", "title", "asset", "threat", "tactic", "likelihood", "impact", "inherent_risk", "inherent_severity",
	"controls", "missing_mitigations", "residual_risk", "residual_severity", "owner", "status", "due_date", "atlas", "owasp", "stride", "nist_ai_rmf"}

// Writer writes the register.
type Writer struct{}

func (Writer) Write(w io.Writer, r *analysis.Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns); err != nil {
		return err
	}
	for _, t := range r.Threats {
		var controls, missing []string
		for _, m := range t.Mitigations {
			if m.Control != "" {
				controls = append(controls, m.Control+" ("+m.ID+", "+m.Status+")")
			}
			if m.Status != "implemented" {
				missing = append(missing, m.ID)
			}
		}
		var tactics []string
		for _, ta := range t.Tactics {
			tactics = append(tactics, r.Catalog.Name(ta))
		}
		owner, due := r.System.Info.Owner, ""
		if t.Decision != nil {
			if t.Decision.Owner != "" {
				owner = t.Decision.Owner
			}
			due = t.Decision.Until
		}
		row := []string{
			t.ID, t.Rule.Title, t.Target.ID(), t.Technique + " " + r.Catalog.Name(t.Technique), strings.Join(tactics, "; "),
			strconv.Itoa(t.Likelihood.Score), strconv.Itoa(t.Impact.Score), strconv.Itoa(t.Risk), t.Severity,
			strings.Join(controls, "; "), strings.Join(missing, "; "), strconv.Itoa(t.Residual.Score), t.Residual.Severity,
			owner, t.Status, due, strings.Join(append([]string{t.Technique}, t.Related...), "; "),
			strings.Join(t.OWASP, "; "), strings.Join(t.STRIDE, ""), strings.Join(t.RMF, "; "),
		}
		for i := range row {
			row[i] = Safe(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Safe defuses a cell a spreadsheet would evaluate as a formula.
func Safe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

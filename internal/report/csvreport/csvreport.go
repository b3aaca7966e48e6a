// Package csvreport writes the threat model as a risk register in CSV, in the
// columns GRC tools import.
package csvreport

import (
	"encoding/csv"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/quantify"
)

// Columns of the register, in order.
var Columns = []string{"id", "title", "asset", "threat", "tactic", "likelihood", "impact", "inherent_risk", "inherent_severity",
	"controls", "missing_mitigations", "residual_risk", "residual_severity", "owner", "status", "due_date", "atlas", "owasp", "stride", "nist_ai_rmf",
	"register_id", "loss_scenario", "currency", "ale_inherent_mean", "ale_residual_mean", "ale_residual_p10", "ale_residual_p50", "ale_residual_p90"}

// Simulated years behind the quantified columns: the quantify command's
// default, fewer for very large models. The seed is fixed, so an export is
// the same run after run.
func iterationsFor(scenarios int) int {
	if scenarios > 200 {
		return 10_000
	}
	return 100_000
}

// losses quantifies the threats when the model has a business loss model:
// threat id -> its scenario's lead id and figures.
func losses(r *analysis.Report) (map[string]string, map[string]quantify.ThreatResult, string, error) {
	if r.System.Business == nil {
		return nil, nil, "", nil
	}
	scs, _, err := quantify.Scenarios(r)
	if err != nil {
		return nil, nil, "", err
	}
	q, err := quantify.Quantify(r, quantify.Options{Iterations: iterationsFor(len(scs)), Seed: 1})
	if err != nil {
		return nil, nil, "", err
	}
	lead := map[string]string{}
	figures := map[string]quantify.ThreatResult{}
	for i, sc := range q.Scenarios {
		lead[sc.Threat.ID] = sc.Threat.ID
		figures[sc.Threat.ID] = q.Result.Threats[i]
		for _, a := range sc.Also {
			lead[a.ID] = sc.Threat.ID
		}
	}
	return lead, figures, q.Currency, nil
}

func money(v float64) string { return strconv.FormatFloat(math.Round(v), 'f', -1, 64) }

// Writer writes the register.
type Writer struct{}

func (Writer) Write(w io.Writer, r *analysis.Report) error {
	lead, figures, currency, err := losses(r)
	if err != nil {
		return err
	}
	registers := r.System.RegisterIDs()
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
		row = append(row, registers[t.ID])
		if f, ok := figures[t.ID]; ok {
			row = append(row, t.ID, currency, money(f.Inherent.Mean), money(f.Residual.Mean), money(f.Residual.P10), money(f.Residual.P50), money(f.Residual.P90))
		} else {
			row = append(row, lead[t.ID], "", "", "", "", "", "")
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

package quantify

import (
	"github.com/mlthreat/mlthreat/internal/analysis"
)

// Report is a quantified threat model.
type Report struct {
	Analysis    *analysis.Report
	Currency    string
	Appetite    float64 // 0 when the model states none
	Scenarios   []Scenario
	Result      *Result
	Assumptions []string // that apply to the whole system
}

// Quantify simulates every threat's annual loss.
func Quantify(r *analysis.Report, opt Options) (*Report, error) {
	scs, notes, err := Scenarios(r)
	if err != nil {
		return nil, err
	}
	inputs := make([]Threat, len(scs))
	for i, s := range scs {
		inputs[i] = s.Input
	}
	res, err := Simulate(inputs, opt)
	if err != nil {
		return nil, err
	}
	q := &Report{Analysis: r, Currency: "USD", Scenarios: scs, Result: res, Assumptions: notes}
	if b := r.System.Business; b != nil {
		if b.Currency != "" {
			q.Currency = b.Currency
		}
		q.Appetite = b.Appetite
	}
	return q, nil
}

// OverAppetite reports whether the residual P90 annual loss exceeds the
// stated appetite.
func (q *Report) OverAppetite() bool {
	return q.Appetite > 0 && q.Result.Residual.P90 > q.Appetite
}

package quantify

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/model"
)

// Default ranges when the model gives none, from the ordinal scores. Each
// is stated as an assumption in the output.
var (
	// Loss events per year by likelihood 1-5.
	defaultFrequency = [6]Range{{}, {Min: 0.01, Likely: 0.02, Max: 0.05}, {Min: 0.02, Likely: 0.1, Max: 0.3}, {Min: 0.1, Likely: 0.3, Max: 1}, {Min: 0.3, Likely: 1, Max: 3}, {Min: 1, Likely: 3, Max: 10}}
	// Loss per event by impact 1-5, in the model's currency.
	defaultMagnitude = [6]Range{{}, {Min: 1e3, Likely: 1e4, Max: 5e4}, {Min: 1e4, Likely: 5e4, Max: 2.5e5}, {Min: 5e4, Likely: 2.5e5, Max: 1e6}, {Min: 2.5e5, Likely: 1e6, Max: 5e6}, {Min: 1e6, Likely: 5e6, Max: 5e7}}
)

// Impact types a threat can cause, in the order they are considered.
const (
	Fraud      = "fraud"
	Outage     = "outage"
	Recall     = "recall"
	Fine       = "regulatory_fine"
	IPTheft    = "ip_theft"
	Breach     = "breach"
	Reputation = "reputation"
)

// Scenario is one loss scenario with the reasons for its numbers. One rule
// firing on several elements (untrusted data entering training on five
// flows) is one scenario: the same loss, reachable several ways. It is
// quantified once, on its most severe threat, and lists the others.
type Scenario struct {
	Threat      *analysis.Threat   // the most severe threat of the scenario
	Also        []*analysis.Threat // the same rule on other elements
	Input       Threat
	Impacts     []string // the impact types summed into the magnitude
	Assumptions []string
}

// Scenarios builds the loss scenario of every threat that is not a false
// positive, from the model's business section or, where it says nothing,
// from the ordinal scores.
func Scenarios(r *analysis.Report) ([]Scenario, []string, error) {
	b := r.System.Business
	if b == nil {
		b = &model.Business{Losses: map[string]model.LossRange{}}
	}
	var global []string
	if b.Currency == "" {
		global = append(global, "no business.currency: amounts are in USD")
	}
	if len(b.Losses) == 0 {
		global = append(global, "no business.losses: every loss magnitude is the default for the threat's impact score (1: 1k-10k-50k up to 5: 1M-5M-50M per event)")
	}
	var out []Scenario
	byRule := map[string]int{}
	for _, t := range r.Threats {
		if t.Status == "false-positive" {
			continue
		}
		// Threats come most severe first, so the first of a rule leads.
		key := t.Rule.ID + " " + t.Technique
		if i, ok := byRule[key]; ok {
			out[i].Also = append(out[i].Also, t)
			continue
		}
		byRule[key] = len(out)
		sc := Scenario{Threat: t, Input: Threat{ID: t.ID}}
		sc.Input.Frequency, sc.Assumptions = frequency(t, b, r)
		sc.Input.Magnitude, sc.Impacts = magnitude(t, b, &sc.Assumptions)
		sc.Input.ResidualFrequency, sc.Input.ResidualMagnitude = controlEffect(t)
		if sc.Input.ResidualFrequency < 1 || sc.Input.ResidualMagnitude < 1 {
			sc.Assumptions = append(sc.Assumptions, fmt.Sprintf("controls cut events to %.0f%% and each loss to %.0f%% (residual likelihood %d, impact %d against %d and %d)",
				sc.Input.ResidualFrequency*100, sc.Input.ResidualMagnitude*100, t.Residual.Likelihood, t.Residual.Impact, t.Likelihood.Score, t.Impact.Score))
		}
		if err := sc.Input.Frequency.Validate(); err != nil {
			return nil, nil, fmt.Errorf("%s: frequency: %v", t.ID, err)
		}
		if err := sc.Input.Magnitude.Validate(); err != nil {
			return nil, nil, fmt.Errorf("%s: magnitude: %v", t.ID, err)
		}
		out = append(out, sc)
	}
	return out, global, nil
}

func clampScore(s int) int { return min(5, max(1, s)) }

// frequency takes the most specific hint (threat, technique or its parent,
// tactic), else the default for the threat's likelihood.
func frequency(t *analysis.Threat, b *model.Business, r *analysis.Report) (Range, []string) {
	var best *model.FrequencyHint
	rank := 0
	for i := range b.Frequency {
		h := &b.Frequency[i]
		k := 0
		switch {
		case h.Threat != "" && h.Threat == t.ID:
			k = 4
		case h.Technique != "" && h.Technique == t.Technique:
			k = 3
		case h.Technique != "" && strings.HasPrefix(t.Technique, h.Technique+"."):
			k = 2
		case h.Tactic != "" && slices.Contains(t.Tactics, h.Tactic):
			k = 1
		}
		if k > rank {
			best, rank = h, k
		}
	}
	if best != nil {
		what := map[int]string{4: "threat " + best.Threat, 3: "technique " + best.Technique, 2: "technique " + best.Technique, 1: "tactic " + best.Tactic}[rank]
		return toRange(best.Range), []string{fmt.Sprintf("frequency %s events a year from business.frequency (%s)", rangeText(toRange(best.Range)), what)}
	}
	l := clampScore(t.Likelihood.Score)
	return defaultFrequency[l], []string{fmt.Sprintf("frequency %s events a year, the default for likelihood %d", rangeText(defaultFrequency[l]), l)}
}

func toRange(r model.LossRange) Range {
	return Range{Min: r.Min, Likely: r.Likely, Max: r.Max, Shape: r.Shape}
}

func rangeText(r Range) string {
	return fmt.Sprintf("%s-%s-%s", short(r.Min), short(r.Likely), short(r.Max))
}

// short writes a number compactly: 0.05, 3, 250k, 1.5M.
func short(v float64) string {
	switch {
	case v >= 1e9:
		return trim(v/1e9) + "B"
	case v >= 1e6:
		return trim(v/1e6) + "M"
	case v >= 1e3:
		return trim(v/1e3) + "k"
	}
	return trim(v)
}

func trim(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// impactsOf says which business losses a threat can cause, from its
// technique and tactics.
func impactsOf(t *analysis.Threat) []string {
	tech := t.Technique
	has := func(prefixes ...string) bool {
		for _, p := range prefixes {
			if tech == p || strings.HasPrefix(tech, p+".") {
				return true
			}
			for _, r := range t.Related {
				if r == p || strings.HasPrefix(r, p+".") {
					return true
				}
			}
		}
		return false
	}
	switch {
	case has("AML.T0024.002", "AML.T0048.004", "AML.T0044"):
		return []string{IPTheft}
	case has("AML.T0029", "AML.T0034", "AML.T0046"):
		return []string{Outage}
	case has("AML.T0024", "AML.T0025", "AML.T0057", "AML.T0056", "AML.T0035", "AML.T0036", "AML.T0037") || slices.Contains(t.Tactics, "AML.TA0010"):
		return []string{Breach, Fine}
	case has("AML.T0015", "AML.T0043", "AML.T0020", "AML.T0018", "AML.T0031", "AML.T0019", "AML.T0010"):
		return []string{Fraud, Recall}
	case has("AML.T0051", "AML.T0054", "AML.T0048"):
		return []string{Reputation, Fine}
	}
	return []string{Reputation}
}

// magnitude sums the ranges of the impact types the model defines; a breach
// is the cost per record times the records at risk, an outage the cost per
// hour times its hours. Sums and products are taken point by point, an
// approximation stated in the assumptions.
func magnitude(t *analysis.Threat, b *model.Business, notes *[]string) (Range, []string) {
	var sum Range
	var used []string
	for _, kind := range impactsOf(t) {
		r, ok := lossFor(kind, b)
		if !ok {
			continue
		}
		sum = Range{Min: sum.Min + r.Min, Likely: sum.Likely + r.Likely, Max: sum.Max + r.Max}
		used = append(used, kind)
	}
	if len(used) == 0 {
		i := clampScore(t.Impact.Score)
		*notes = append(*notes, fmt.Sprintf("loss %s per event, the default for impact %d (business.losses has none of: %s)", rangeText(defaultMagnitude[i]), i, strings.Join(impactsOf(t), ", ")))
		return defaultMagnitude[i], []string{"impact " + fmt.Sprint(i)}
	}
	*notes = append(*notes, fmt.Sprintf("loss %s per event from business.losses (%s)", rangeText(sum), strings.Join(used, " + ")))
	return sum, used
}

func lossFor(kind string, b *model.Business) (Range, bool) {
	get := func(k string) (Range, bool) {
		r, ok := b.Losses[k]
		return toRange(r), ok
	}
	switch kind {
	case Breach:
		per, ok1 := get("breach_per_record")
		n, ok2 := get("records_at_risk")
		if !ok1 || !ok2 {
			return Range{}, false
		}
		return product(per, n), true
	case Outage:
		per, ok := get("outage_per_hour")
		if !ok {
			return Range{}, false
		}
		hours, ok := get("outage_hours")
		if !ok {
			hours = Range{Min: 1, Likely: 4, Max: 24}
		}
		return product(per, hours), true
	}
	return get(kind)
}

func product(a, b Range) Range {
	return Range{Min: a.Min * b.Min, Likely: a.Likely * b.Likely, Max: math.Min(a.Max*b.Max, maxLoss)}
}

// controlEffect reads the residual model: the drop from inherent to residual
// likelihood cuts the event frequency, the drop in impact cuts each loss, in
// the proportions of the default tables.
func controlEffect(t *analysis.Threat) (float64, float64) {
	li, lr := clampScore(t.Likelihood.Score), clampScore(t.Residual.Likelihood)
	ii, ir := clampScore(t.Impact.Score), clampScore(t.Residual.Impact)
	if t.Status == "mitigated" && t.Residual.Score >= t.Risk {
		// Marked mitigated by a person without a control in the model.
		lr = 1
	}
	rf := math.Min(1, defaultFrequency[lr].Mean()/defaultFrequency[li].Mean())
	rm := math.Min(1, defaultMagnitude[ir].Mean()/defaultMagnitude[ii].Mean())
	return rf, rm
}

// ExpectedLoss is a scenario's mean annual loss, inherent and residual,
// worked out exactly (frequency mean × magnitude mean) without simulation.
func (s Scenario) ExpectedLoss() (inherent, residual float64) {
	inherent = s.Input.Frequency.Mean() * s.Input.Magnitude.Mean()
	return inherent, inherent * s.Input.ResidualFrequency * s.Input.ResidualMagnitude
}

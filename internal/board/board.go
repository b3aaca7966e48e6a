// Package board builds the board-level summary of one or many systems: the
// top risks in plain words and money, the trend since the last summary, the
// residual risk against the appetite, and the decisions needed.
package board

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/quantify"
)

// Summary is the board summary. Its JSON form is also the snapshot the next
// summary compares with (--since).
type Summary struct {
	Format    int        `json:"mlthreat_board"`
	Date      string     `json:"date"`
	Systems   []System   `json:"systems"`
	TopRisks  []Risk     `json:"top_risks"`
	Decisions []Decision `json:"decisions"`
	Trend     *Trend     `json:"trend,omitempty"`
	// Systems use different currencies: amounts are ranked as written.
	MixedCurrencies bool `json:"mixed_currencies"`
}

// System is one system's position.
type System struct {
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	Owner        string         `json:"owner,omitempty"`
	Criticality  string         `json:"criticality,omitempty"`
	Currency     string         `json:"currency"`
	Inherent     quantify.Stats `json:"inherent"`
	Residual     quantify.Stats `json:"residual"`
	Appetite     float64        `json:"appetite,omitempty"`
	OverAppetite bool           `json:"over_appetite"`
	OpenThreats  int            `json:"open_threats"`
	Critical     int            `json:"open_critical"`
	High         int            `json:"open_high"`
	LossModel    bool           `json:"loss_model"` // false: amounts come from the default tables
}

// Risk is one top risk, in a sentence.
type Risk struct {
	System    string         `json:"system"`
	Threat    string         `json:"threat"`
	Title     string         `json:"title"`
	Target    string         `json:"target"`
	Technique string         `json:"technique"`
	Currency  string         `json:"currency"`
	Residual  quantify.Stats `json:"residual"`
	Inherent  quantify.Stats `json:"inherent"`
	Sentence  string         `json:"sentence"`
	New       bool           `json:"new_since_last"`
}

// Decision is something the board is asked to decide.
type Decision struct {
	System string `json:"system"`
	Kind   string `json:"kind"` // over-appetite | expiring-acceptance | critical-undecided | fund-roadmap
	Text   string `json:"text"`
}

// Trend compares with the previous summary.
type Trend struct {
	Since   string        `json:"since"`
	Systems []SystemTrend `json:"systems"`
}

// SystemTrend is one system's change in expected residual loss.
type SystemTrend struct {
	ID     string  `json:"id"`
	Before float64 `json:"residual_mean_before"`
	After  float64 `json:"residual_mean_now"`
	New    bool    `json:"new_system"`
}

// Input is one system's quantified analysis, with its gap analysis when
// there is one (for the roadmap in money).
type Input struct {
	Quant *quantify.Report
	Gap   *gap.Report
}

// Money formats an amount; the renderers pass theirs.
type Money func(currency string, v float64) string

// Build assembles the summary; previous may be nil.
func Build(inputs []Input, previous *Summary, today time.Time, money Money, topN int) *Summary {
	s := &Summary{Format: 1, Date: today.Format("2006-01-02"), Systems: []System{}, TopRisks: []Risk{}, Decisions: []Decision{}}
	prevRisks := map[string]bool{}
	if previous != nil {
		for _, r := range previous.TopRisks {
			prevRisks[r.System+"/"+r.Threat] = true
		}
	}
	var risks []Risk
	for _, in := range inputs {
		q := in.Quant
		info := q.Analysis.System.Info
		sys := System{ID: info.ID, Name: info.Name, Owner: info.Owner, Criticality: info.Criticality, Currency: q.Currency,
			Inherent: q.Result.Inherent, Residual: q.Result.Residual, Appetite: q.Appetite, OverAppetite: q.OverAppetite(),
			LossModel: q.Analysis.System.Business != nil}
		for _, t := range q.Analysis.Threats {
			if t.Status == "open" || t.Status == "in-progress" {
				sys.OpenThreats++
				switch t.Residual.Severity {
				case "critical":
					sys.Critical++
				case "high":
					sys.High++
				}
			}
		}
		s.Systems = append(s.Systems, sys)
		for i, sc := range q.Scenarios {
			t := sc.Threat
			if t.Status != "open" && t.Status != "in-progress" && t.Status != "accepted" {
				continue
			}
			tr := q.Result.Threats[i]
			risks = append(risks, Risk{System: info.ID, Threat: t.ID, Title: t.Rule.Title, Target: t.Target.ID(), Technique: t.Technique,
				Currency: q.Currency, Residual: tr.Residual, Inherent: tr.Inherent, Sentence: sentence(q, sc, tr, money),
				New: previous != nil && !prevRisks[info.ID+"/"+t.ID]})
		}
		s.Decisions = append(s.Decisions, decisions(in, sys, today, money)...)
	}
	currencies := map[string]bool{}
	for _, sys := range s.Systems {
		currencies[sys.Currency] = true
	}
	s.MixedCurrencies = len(currencies) > 1
	slices.SortStableFunc(risks, func(a, b Risk) int {
		switch {
		case a.Residual.Mean > b.Residual.Mean:
			return -1
		case a.Residual.Mean < b.Residual.Mean:
			return 1
		}
		return strings.Compare(a.System+a.Threat, b.System+b.Threat)
	})
	if len(risks) > topN {
		risks = risks[:topN]
	}
	s.TopRisks = append(s.TopRisks, risks...)
	if previous != nil {
		s.Trend = trend(s, previous)
	}
	return s
}

// sentence says a risk in plain words: what happens, where, and what it
// costs in a typical and a bad year.
func sentence(q *quantify.Report, sc quantify.Scenario, tr quantify.ThreatResult, money Money) string {
	t := sc.Threat
	name := q.Analysis.Catalog.Name(t.Technique)
	where := t.Target.ID()
	if n := len(sc.Also); n > 0 {
		where += fmt.Sprintf(" and %d other place(s)", n)
	}
	c := q.Currency
	leads := ""
	var words []string
	for _, k := range sc.Impacts {
		if w, ok := impactWords[k]; ok {
			words = append(words, w)
		}
	}
	if len(words) > 0 {
		leads = ", which could lead to " + strings.Join(words, " and ") + ","
	}
	text := fmt.Sprintf("%s (%s, ATLAS %s) on %s%s is expected to cost %s a year; %s in a good year, %s in a typical one and up to %s in a bad one (P10, P50, P90)",
		t.Rule.Title, name, t.Technique, where, leads, money(c, tr.Residual.Mean), money(c, tr.Residual.P10), money(c, tr.Residual.P50), money(c, tr.Residual.P90))
	if tr.Inherent.Mean > 0 && tr.Residual.Mean < tr.Inherent.Mean {
		text += fmt.Sprintf("; controls already remove %.0f%% of it", (1-tr.Residual.Mean/tr.Inherent.Mean)*100)
	}
	return text + "."
}

// impactWords name the business losses in a sentence.
var impactWords = map[string]string{
	quantify.Recall: "a product recall", quantify.Fraud: "fraud losses", quantify.Outage: "an outage",
	quantify.IPTheft: "theft of the model", quantify.Breach: "a data breach", quantify.Fine: "a regulatory fine",
	quantify.Reputation: "reputational harm",
}

func decisions(in Input, sys System, today time.Time, money Money) []Decision {
	var out []Decision
	q := in.Quant
	c := q.Currency
	if sys.OverAppetite {
		out = append(out, Decision{System: sys.ID, Kind: "over-appetite",
			Text: fmt.Sprintf("%s: the residual loss in a bad year (P90 %s) is over the appetite of %s. Fund the remediation roadmap, or accept the excess explicitly.", sys.Name, money(c, sys.Residual.P90), money(c, sys.Appetite))})
	}
	soon := today.AddDate(0, 0, 30).Format("2006-01-02")
	for _, d := range q.Analysis.System.RiskTracking {
		if d.Status == "accepted" && d.Until != "" && d.Until <= soon {
			verb := "expires on"
			if d.Until < today.Format("2006-01-02") {
				verb = "expired on"
			}
			out = append(out, Decision{System: sys.ID, Kind: "expiring-acceptance",
				Text: fmt.Sprintf("%s: the acceptance of %s (owner %s) %s %s. Renew it or mitigate.", sys.Name, d.Threat, orNone(d.Owner), verb, d.Until)})
		}
	}
	undecided := 0
	for _, t := range q.Analysis.Threats {
		if t.Status == "open" && t.Residual.Severity == "critical" {
			undecided++
		}
	}
	if undecided > 0 {
		out = append(out, Decision{System: sys.ID, Kind: "critical-undecided",
			Text: fmt.Sprintf("%s: %d critical residual risk(s) have no decision. Mitigate, or accept with an owner and an expiry.", sys.Name, undecided)})
	}
	if in.Gap != nil && len(in.Gap.Roadmap) > 0 {
		first := in.Gap.Roadmap[0]
		phase := 0
		for _, it := range in.Gap.Roadmap {
			if it.Phase == 30 {
				phase++
			}
		}
		text := fmt.Sprintf("%s: approve the first 30 days of the roadmap (%d item(s), starting with %s %s", sys.Name, phase, first.ID, first.Name)
		if sys.LossModel && first.LossReduction > 0 {
			// Items overlap, so only the first one's effect is stated.
			text += fmt.Sprintf(", which alone removes about %s of expected loss a year", money(c, first.LossReduction))
		}
		text += ")"
		out = append(out, Decision{System: sys.ID, Kind: "fund-roadmap", Text: text + "."})
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func trend(s, previous *Summary) *Trend {
	t := &Trend{Since: previous.Date, Systems: []SystemTrend{}}
	before := map[string]float64{}
	for _, p := range previous.Systems {
		before[p.ID] = p.Residual.Mean
	}
	for _, sys := range s.Systems {
		b, ok := before[sys.ID]
		t.Systems = append(t.Systems, SystemTrend{ID: sys.ID, Before: b, After: sys.Residual.Mean, New: !ok})
	}
	return t
}

// Package quantreport renders a quantified threat model: a table, JSON,
// Markdown and a loss-exceedance curve in SVG.
package quantreport

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"strings"

	"github.com/mlthreat/mlthreat/internal/quantify"
	"github.com/mlthreat/mlthreat/internal/report/mdtext"
	"github.com/mlthreat/mlthreat/internal/report/termtext"
)

// Money writes an amount compactly with its currency: USD 1.25M.
func Money(currency string, v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return currency + " n/a"
	}
	switch a := math.Abs(v); {
	case a >= 1e12:
		return fmt.Sprintf("%s %.3gT", currency, v/1e12)
	case a >= 1e9:
		return fmt.Sprintf("%s %.3gB", currency, v/1e9)
	case a >= 1e6:
		return fmt.Sprintf("%s %.3gM", currency, v/1e6)
	case a >= 1e3:
		return fmt.Sprintf("%s %.3gk", currency, v/1e3)
	}
	return fmt.Sprintf("%s %.0f", currency, v)
}

// row is one threat in the order the reports list them: by residual mean.
type row struct {
	sc quantify.Scenario
	tr quantify.ThreatResult
}

func rows(q *quantify.Report) []row {
	out := make([]row, len(q.Scenarios))
	for i := range q.Scenarios {
		out[i] = row{q.Scenarios[i], q.Result.Threats[i]}
	}
	// Stable: ties keep the analysis order, which is deterministic.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].tr.Residual.Mean > out[j-1].tr.Residual.Mean; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Table writes the plain-text summary.
func Table(w io.Writer, q *quantify.Report) error {
	var b strings.Builder
	c := q.Currency
	s := q.Analysis.System.Info
	fmt.Fprintf(&b, "%s (%s): annualised loss, %d iterations, seed %d\n\n", termtext.Clean(s.Name), s.ID, q.Result.Iterations, q.Result.Seed)
	fmt.Fprintf(&b, "%-11s %-15s %-15s %-15s %-15s  %s\n", "ID", "INHERENT MEAN", "RESIDUAL MEAN", "RESIDUAL P10", "RESIDUAL P90", "THREAT")
	for _, r := range rows(q) {
		fmt.Fprintf(&b, "%-11s %-15s %-15s %-15s %-15s  %s on %s\n", r.tr.ID, Money(c, r.tr.Inherent.Mean), Money(c, r.tr.Residual.Mean),
			Money(c, r.tr.Residual.P10), Money(c, r.tr.Residual.P90), termtext.Clean(r.sc.Threat.Rule.Title), termtext.Clean(targets(r.sc)))
	}
	in, re := q.Result.Inherent, q.Result.Residual
	fmt.Fprintf(&b, "\nsystem, inherent: mean %s, P10 %s, P50 %s, P90 %s\n", Money(c, in.Mean), Money(c, in.P10), Money(c, in.P50), Money(c, in.P90))
	fmt.Fprintf(&b, "system, residual: mean %s, P10 %s, P50 %s, P90 %s\n", Money(c, re.Mean), Money(c, re.P10), Money(c, re.P50), Money(c, re.P90))
	if q.Appetite > 0 {
		verdict := "within"
		if q.OverAppetite() {
			verdict = "OVER"
		}
		fmt.Fprintf(&b, "risk appetite %s: residual P90 is %s it\n", Money(c, q.Appetite), verdict)
	}
	for _, a := range q.Assumptions {
		fmt.Fprintf(&b, "assumption: %s\n", termtext.Clean(a))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// targets names the scenario's element, and the others the same rule hit.
func targets(sc quantify.Scenario) string {
	t := sc.Threat.Target.ID()
	if n := len(sc.Also); n > 0 {
		var ids []string
		for i, a := range sc.Also {
			if i == 3 {
				ids = append(ids, fmt.Sprintf("%d more", n-3))
				break
			}
			ids = append(ids, a.Target.ID())
		}
		t += " (also " + strings.Join(ids, ", ") + ")"
	}
	return t
}

// Document is the JSON form.
type Document struct {
	Tool         string           `json:"tool"`
	Version      string           `json:"version"`
	System       string           `json:"system"`
	Currency     string           `json:"currency"`
	Iterations   int              `json:"iterations"`
	Seed         uint64           `json:"seed"`
	Appetite     *float64         `json:"appetite,omitempty"`
	OverAppetite bool             `json:"over_appetite"`
	Inherent     quantify.Stats   `json:"inherent"`
	Residual     quantify.Stats   `json:"residual"`
	Threats      []ThreatDoc      `json:"threats"`
	Curves       map[string]Curve `json:"loss_exceedance"`
	Assumptions  []string         `json:"assumptions"`
}

// ThreatDoc is one threat's figures.
type ThreatDoc struct {
	ID          string         `json:"id"`
	Title       string         `json:"title"`
	Target      string         `json:"target"`
	Technique   string         `json:"technique"`
	Status      string         `json:"status"`
	Register    string         `json:"register,omitempty"`
	AlsoThreats []string       `json:"same_scenario"`
	Impacts     []string       `json:"impacts"`
	Frequency   quantify.Range `json:"frequency_per_year"`
	Magnitude   quantify.Range `json:"loss_per_event"`
	ControlFreq float64        `json:"residual_frequency_share"`
	ControlMag  float64        `json:"residual_magnitude_share"`
	Inherent    quantify.Stats `json:"inherent"`
	Residual    quantify.Stats `json:"residual"`
	Assumptions []string       `json:"assumptions"`
}

// Curve is a loss-exceedance curve.
type Curve []quantify.Point

// Build makes the JSON document.
func Build(q *quantify.Report, version string) Document {
	d := Document{Tool: "mlthreat", Version: version, System: q.Analysis.System.Info.ID, Currency: q.Currency,
		Iterations: q.Result.Iterations, Seed: q.Result.Seed, OverAppetite: q.OverAppetite(),
		Inherent: q.Result.Inherent, Residual: q.Result.Residual, Threats: []ThreatDoc{},
		Curves:      map[string]Curve{"inherent": q.Result.InherentCurve, "residual": q.Result.ResidualCurve},
		Assumptions: append([]string{}, q.Assumptions...)}
	if q.Appetite > 0 {
		a := q.Appetite
		d.Appetite = &a
	}
	registers := q.Analysis.System.RegisterIDs()
	for _, r := range rows(q) {
		t := r.sc.Threat
		td := ThreatDoc{ID: t.ID, Title: t.Rule.Title, Target: t.Target.ID(), Technique: t.Technique, Status: t.Status,
			Impacts: r.sc.Impacts, Frequency: r.sc.Input.Frequency, Magnitude: r.sc.Input.Magnitude,
			ControlFreq: r.sc.Input.ResidualFrequency, ControlMag: r.sc.Input.ResidualMagnitude,
			Inherent: r.tr.Inherent, Residual: r.tr.Residual, Assumptions: r.sc.Assumptions}
		td.Register = registers[t.ID]
		td.AlsoThreats = []string{}
		for _, a := range r.sc.Also {
			td.AlsoThreats = append(td.AlsoThreats, a.ID)
		}
		d.Threats = append(d.Threats, td)
	}
	return d
}

// JSON writes the document.
func JSON(w io.Writer, q *quantify.Report, version string) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Build(q, version))
}

// Markdown writes the quantified threat model for people.
func Markdown(w io.Writer, q *quantify.Report) error {
	var b strings.Builder
	c, e := q.Currency, mdtext.Escape
	s := q.Analysis.System.Info
	in, re := q.Result.Inherent, q.Result.Residual
	fmt.Fprintf(&b, "# Risk in money: %s\n\n", e(s.Name))
	fmt.Fprintf(&b, "Annualised loss expectancy from %d simulated years (seed %d), in %s.\n\n", q.Result.Iterations, q.Result.Seed, c)
	b.WriteString("| | mean | P10 | P50 | P90 |\n|---|--:|--:|--:|--:|\n")
	fmt.Fprintf(&b, "| inherent | %s | %s | %s | %s |\n", Money(c, in.Mean), Money(c, in.P10), Money(c, in.P50), Money(c, in.P90))
	fmt.Fprintf(&b, "| residual | %s | %s | %s | %s |\n\n", Money(c, re.Mean), Money(c, re.P10), Money(c, re.P50), Money(c, re.P90))
	if q.Appetite > 0 {
		if q.OverAppetite() {
			fmt.Fprintf(&b, "**The residual P90 (%s) is over the risk appetite of %s.**\n\n", Money(c, re.P90), Money(c, q.Appetite))
		} else {
			fmt.Fprintf(&b, "The residual P90 (%s) is within the risk appetite of %s.\n\n", Money(c, re.P90), Money(c, q.Appetite))
		}
	}
	b.WriteString("## Threats\n\n| id | threat | target | losses | residual mean | P10 | P50 | P90 | inherent mean |\n|---|---|---|---|--:|--:|--:|--:|--:|\n")
	for _, r := range rows(q) {
		t := r.sc.Threat
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", t.ID, e(t.Rule.Title), e(targets(r.sc)), strings.Join(r.sc.Impacts, ", "),
			Money(c, r.tr.Residual.Mean), Money(c, r.tr.Residual.P10), Money(c, r.tr.Residual.P50), Money(c, r.tr.Residual.P90), Money(c, r.tr.Inherent.Mean))
	}
	b.WriteString("\n## Assumptions\n\n")
	for _, a := range q.Assumptions {
		b.WriteString("- " + e(a) + "\n")
	}
	for _, r := range rows(q) {
		fmt.Fprintf(&b, "- %s: %s\n", r.sc.Threat.ID, e(strings.Join(r.sc.Assumptions, "; ")))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// SVG draws the loss-exceedance curves, inherent and residual, on a log
// loss axis, with the appetite as a vertical line.
func SVG(w io.Writer, q *quantify.Report) error {
	const width, height, left, right, top, bottom = 720.0, 420.0, 70.0, 20.0, 40.0, 50.0
	curves := [][]quantify.Point{q.Result.InherentCurve, q.Result.ResidualCurve}
	lo, hi := math.Inf(1), 0.0
	for _, c := range curves {
		for _, p := range c {
			if p.Loss > 0 {
				lo, hi = math.Min(lo, p.Loss), math.Max(hi, p.Loss)
			}
		}
	}
	if q.Appetite > 0 {
		lo, hi = math.Min(lo, q.Appetite), math.Max(hi, q.Appetite)
	}
	if math.IsInf(lo, 1) || hi <= lo {
		lo, hi = 1, 10
	}
	llo, lhi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if lhi <= llo {
		lhi = llo + 1
	}
	x := func(v float64) float64 {
		return left + (math.Log10(math.Max(v, 1e-300))-llo)/(lhi-llo)*(width-left-right)
	}
	y := func(p float64) float64 { return top + (1-p)*(height-top-bottom) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<title>Loss exceedance: %s</title>`+"\n", html.EscapeString(q.Analysis.System.Info.Name))
	fmt.Fprintf(&b, `<text x="%.0f" y="22" font-size="15">Loss exceedance, %s (%s per year)</text>`+"\n", left, html.EscapeString(q.Analysis.System.Info.Name), html.EscapeString(q.Currency))
	fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#999"/>`+"\n", left, top, width-left-right, height-top-bottom)
	for e := llo; e <= lhi; e++ {
		px := x(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#eee"/><text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`+"\n",
			px, top, px, height-bottom, px, height-bottom+16, html.EscapeString(Money(q.Currency, math.Pow(10, e))))
	}
	for _, p := range []float64{0, 0.25, 0.5, 0.75, 1} {
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#eee"/><text x="%.0f" y="%.1f" text-anchor="end">%.0f%%</text>`+"\n",
			left, y(p), width-right, y(p), left-6, y(p)+4, p*100)
	}
	colors := []string{"#c0392b", "#2471a3"}
	names := []string{"inherent", "residual"}
	for i, c := range curves {
		var pts []string
		for _, p := range c {
			if p.Loss > 0 {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.Loss), y(p.Probability)))
			}
		}
		if len(pts) > 0 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", colors[i], strings.Join(pts, " "))
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" fill="%s">%s</text>`+"\n", width-right-90, top+18+float64(i)*16, colors[i], names[i])
	}
	if q.Appetite > 0 {
		px := x(q.Appetite)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#555" stroke-dasharray="4 3"/><text x="%.1f" y="%.0f">appetite</text>`+"\n", px, top, px, height-bottom, px+4, top+12)
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle">annual loss</text>`+"\n", (width+left-right)/2, height-12)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Package boardreport renders the board summary as Markdown, HTML, PDF and
// JSON (the JSON is also the snapshot the next summary's trend reads).
package boardreport

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/mlthreat/mlthreat/internal/board"
	"github.com/mlthreat/mlthreat/internal/report/mdtext"
	"github.com/mlthreat/mlthreat/internal/report/quantreport"
)

var money = quantreport.Money

// JSON writes the summary (and snapshot).
func JSON(w io.Writer, s *board.Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// ReadSnapshot reads a previous summary written with JSON.
func ReadSnapshot(path string) (*board.Summary, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > 64<<20 {
		return nil, fmt.Errorf("%s: not a board snapshot (a regular JSON file under 64 MB)", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s board.Summary
	if err := json.Unmarshal(b, &s); err != nil || s.Format != 1 {
		return nil, fmt.Errorf("%s: not a board snapshot written by `mlthreat report board -f json`", path)
	}
	return &s, nil
}

func trendText(s *board.Summary, id, currency string) string {
	if s.Trend == nil {
		return ""
	}
	for _, t := range s.Trend.Systems {
		if t.ID != id {
			continue
		}
		if t.New {
			return "new since " + s.Trend.Since
		}
		d := t.After - t.Before
		switch {
		case d > 0.5:
			return fmt.Sprintf("up %s since %s", money(currency, d), s.Trend.Since)
		case d < -0.5:
			return fmt.Sprintf("down %s since %s", money(currency, -d), s.Trend.Since)
		}
		return "unchanged since " + s.Trend.Since
	}
	return ""
}

// Markdown writes the summary for people.
func Markdown(w io.Writer, s *board.Summary) error {
	var b strings.Builder
	e := mdtext.Escape
	fmt.Fprintf(&b, "# AI risk: board summary, %s\n\n", s.Date)
	b.WriteString("## Where we stand\n\n| system | expected loss a year | bad year (P90) | appetite | open critical / high | trend |\n|---|--:|--:|--:|--:|---|\n")
	for _, sys := range s.Systems {
		appetite := "not set"
		if sys.Appetite > 0 {
			appetite = money(sys.Currency, sys.Appetite)
			if sys.OverAppetite {
				appetite += " **exceeded**"
			}
		}
		name := e(sys.Name)
		if !sys.LossModel {
			name += " ¹"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d / %d | %s |\n", name, money(sys.Currency, sys.Residual.Mean), money(sys.Currency, sys.Residual.P90), appetite, sys.Critical, sys.High, dash(trendText(s, sys.ID, sys.Currency)))
	}
	if anyDefault(s) {
		b.WriteString("\n¹ No loss model in the system file: amounts come from default tables keyed to the risk scores (docs/quantify.md).\n")
	}
	if s.MixedCurrencies {
		b.WriteString("\nThe systems use different currencies; the top risks are ranked by the amounts as written, without conversion.\n")
	}
	b.WriteString("\n## Top risks\n\n")
	if len(s.TopRisks) == 0 {
		b.WriteString("No open risks.\n")
	}
	for i, r := range s.TopRisks {
		mark := ""
		if r.New {
			mark = " (new)"
		}
		fmt.Fprintf(&b, "%d. **%s**%s: %s\n", i+1, e(r.System), mark, e(r.Sentence))
	}
	b.WriteString("\n## Decisions needed\n\n")
	if len(s.Decisions) == 0 {
		b.WriteString("None.\n")
	}
	for _, d := range s.Decisions {
		b.WriteString("- " + e(d.Text) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func anyDefault(s *board.Summary) bool {
	for _, sys := range s.Systems {
		if !sys.LossModel {
			return true
		}
	}
	return false
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

var page = template.Must(template.New("board").Funcs(template.FuncMap{
	"money": money, "trend": trendText,
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<title>AI risk: board summary, {{.S.Date}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}td.n{text-align:right}
.over{color:#b00;font-weight:bold}.new{background:#fde68a;border-radius:3px;padding:0 .3rem;font-size:.8em}li{margin:.4rem 0}</style></head>
<body><h1>AI risk: board summary, {{.S.Date}}</h1>
<h2>Where we stand</h2>
<table><thead><tr><th>system</th><th>expected loss a year</th><th>bad year (P90)</th><th>appetite</th><th>open critical / high</th><th>trend</th></tr></thead><tbody>
{{range .S.Systems}}<tr><td>{{.Name}}{{if not .LossModel}} ¹{{end}}</td><td class="n">{{money .Currency .Residual.Mean}}</td><td class="n">{{money .Currency .Residual.P90}}</td>
<td class="n">{{if gt .Appetite 0.0}}{{money .Currency .Appetite}}{{if .OverAppetite}} <span class="over">exceeded</span>{{end}}{{else}}not set{{end}}</td>
<td class="n">{{.Critical}} / {{.High}}</td><td>{{trend $.S .ID .Currency}}</td></tr>
{{end}}</tbody></table>
{{if .S.MixedCurrencies}}<p>The systems use different currencies; the top risks are ranked by the amounts as written, without conversion.</p>{{end}}
{{if .Default}}<p>¹ No loss model in the system file: amounts come from default tables keyed to the risk scores.</p>{{end}}
<h2>Top risks</h2>
{{if .S.TopRisks}}<ol>{{range .S.TopRisks}}<li><strong>{{.System}}</strong>{{if .New}} <span class="new">new</span>{{end}}: {{.Sentence}}</li>{{end}}</ol>{{else}}<p>No open risks.</p>{{end}}
<h2>Decisions needed</h2>
{{if .S.Decisions}}<ul>{{range .S.Decisions}}<li>{{.Text}}</li>{{end}}</ul>{{else}}<p>None.</p>{{end}}
<p><small>mlthreat board summary. Losses are annualised, from a seeded Monte Carlo simulation; see docs/quantify.md for the method and the assumptions.</small></p>
</body></html>
`))

// HTML writes a self-contained page: no scripts, nothing external.
func HTML(w io.Writer, s *board.Summary) error {
	return page.Execute(w, struct {
		S       *board.Summary
		Default bool
	}{s, anyDefault(s)})
}

// PDF writes the summary on one or two A4 pages.
func PDF(w io.Writer, s *board.Summary) error {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCompression(false)
	pdf.SetCatalogSort(true) // byte-identical from run to run
	date, _ := time.Parse("2006-01-02", s.Date)
	pdf.SetTitle("AI risk: board summary "+s.Date, true)
	pdf.SetCreator("mlthreat", true)
	pdf.SetCreationDate(date)
	pdf.SetModificationDate(date)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	txt := func(v string) string { return tr(v) }
	pdf.SetMargins(15, 15, 15)
	pdf.SetAutoPageBreak(true, 15)
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 16)
	pdf.MultiCell(0, 8, txt("AI risk: board summary, "+s.Date), "", "L", false)
	heading := func(t string) {
		pdf.Ln(2)
		pdf.SetFont("Helvetica", "B", 12)
		pdf.MultiCell(0, 7, txt(t), "", "L", false)
		pdf.SetFont("Helvetica", "", 10)
	}
	heading("Where we stand")
	for _, sys := range s.Systems {
		line := fmt.Sprintf("%s: expected loss %s a year, %s in a bad year (P90)", sys.Name, money(sys.Currency, sys.Residual.Mean), money(sys.Currency, sys.Residual.P90))
		if sys.Appetite > 0 {
			if sys.OverAppetite {
				line += fmt.Sprintf(", over the appetite of %s", money(sys.Currency, sys.Appetite))
			} else {
				line += fmt.Sprintf(", within the appetite of %s", money(sys.Currency, sys.Appetite))
			}
		}
		line += fmt.Sprintf("; %d critical and %d high open", sys.Critical, sys.High)
		if t := trendText(s, sys.ID, sys.Currency); t != "" {
			line += "; " + t
		}
		if !sys.LossModel {
			line += " (amounts from default tables: no loss model)"
		}
		pdf.MultiCell(0, 5, txt(line+"."), "", "L", false)
	}
	heading("Top risks")
	if len(s.TopRisks) == 0 {
		pdf.MultiCell(0, 5, txt("No open risks."), "", "L", false)
	}
	for i, r := range s.TopRisks {
		mark := ""
		if r.New {
			mark = " (new)"
		}
		pdf.MultiCell(0, 5, txt(fmt.Sprintf("%d. %s%s: %s", i+1, r.System, mark, r.Sentence)), "", "L", false)
		pdf.Ln(1)
	}
	heading("Decisions needed")
	if len(s.Decisions) == 0 {
		pdf.MultiCell(0, 5, txt("None."), "", "L", false)
	}
	for _, d := range s.Decisions {
		pdf.MultiCell(0, 5, txt("- "+d.Text), "", "L", false)
	}
	return pdf.Output(w)
}

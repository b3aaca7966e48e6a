// Package pdfreport writes a one-to-three-page executive summary as PDF
// (go-pdf/fpdf, no external binary): the heat map, the top ten risks in plain
// words, AI RMF coverage per function, the first roadmap phase and the review
// status.
package pdfreport

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/gap"
)

var fills = map[string][3]int{"critical": {248, 215, 218}, "high": {253, 226, 200}, "medium": {255, 243, 191}, "low": {230, 244, 234}}

// Write renders the summary; g may be nil. The PDF is not compressed, so
// its text can be searched.
func Write(w io.Writer, r *analysis.Report, g *gap.Report) error {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCompression(false)
	pdf.SetCatalogSort(true) // byte-identical from run to run
	pdf.SetTitle("Threat model summary: "+r.System.Info.Name, true)
	pdf.SetCreator("mlthreat", true)
	pdf.SetCreationDate(dateOf(r.Date))
	pdf.SetModificationDate(dateOf(r.Date))
	tr := pdf.UnicodeTranslatorFromDescriptor("") // cp1252 for the core fonts
	txt := func(s string) string { return tr(s) }
	pdf.SetMargins(15, 15, 15)
	pdf.SetAutoPageBreak(true, 15)
	pdf.AddPage()

	pdf.SetFont("Helvetica", "B", 16)
	pdf.MultiCell(0, 8, txt("Threat model summary: "+r.System.Info.Name), "", "L", false)
	pdf.SetFont("Helvetica", "", 9)
	review := "not recorded"
	if rv := r.System.Info.Review; rv.Date != "" {
		review = "last review " + rv.Date + " by " + strings.Join(rv.By, ", ")
		if rv.Next != "" {
			review += "; next due " + rv.Next
		}
	}
	pdf.MultiCell(0, 5, txt(fmt.Sprintf("%s · owner %s · criticality %s · %s · ATLAS %s · %s", r.System.Info.ID, r.System.Info.Owner, r.System.Info.Criticality, r.Date, r.Catalog.Versions["atlas"], "review: "+review)), "", "L", false)
	pdf.Ln(3)

	counts := map[string]int{}
	for _, t := range r.Threats {
		counts[t.Residual.Severity]++
	}
	section(pdf, txt, "Where we stand")
	pdf.SetFont("Helvetica", "", 10)
	pdf.MultiCell(0, 5, txt(fmt.Sprintf("%d threats derived from the architecture. After the controls in place: %d critical, %d high, %d medium, %d low.",
		len(r.Threats), counts["critical"], counts["high"], counts["medium"], counts["low"])), "", "L", false)
	pdf.Ln(2)

	// Heat map: likelihood rows 5..1, impact columns 1..5.
	var grid [6][6]int
	for _, t := range r.Threats {
		grid[t.Likelihood.Score][t.Impact.Score]++
	}
	pdf.SetFont("Helvetica", "B", 8)
	pdf.CellFormat(28, 7, txt("likelihood / impact"), "1", 0, "C", false, 0, "")
	for i := 1; i <= 5; i++ {
		pdf.CellFormat(14, 7, fmt.Sprint(i), "1", 0, "C", false, 0, "")
	}
	pdf.Ln(-1)
	for l := 5; l >= 1; l-- {
		pdf.SetFont("Helvetica", "B", 8)
		pdf.CellFormat(28, 7, fmt.Sprint(l), "1", 0, "C", false, 0, "")
		pdf.SetFont("Helvetica", "", 9)
		for i := 1; i <= 5; i++ {
			c := fills[analysis.Severity(l*i)]
			pdf.SetFillColor(c[0], c[1], c[2])
			v := ""
			if grid[l][i] > 0 {
				v = fmt.Sprint(grid[l][i])
			}
			pdf.CellFormat(14, 7, v, "1", 0, "C", true, 0, "")
		}
		pdf.Ln(-1)
	}
	pdf.Ln(3)

	section(pdf, txt, "Top risks")
	for i, t := range r.Threats {
		if i == 10 {
			break
		}
		pdf.SetFont("Helvetica", "B", 9)
		pdf.MultiCell(0, 5, txt(fmt.Sprintf("%d. %s (%s, residual %d)", i+1, t.Rule.Title, t.Residual.Severity, t.Residual.Score)), "", "L", false)
		pdf.SetFont("Helvetica", "", 8.5)
		var missing []string
		for _, m := range t.Mitigations {
			if m.Status != "implemented" {
				missing = append(missing, r.Catalog.Name(m.ID))
			}
		}
		line := fmt.Sprintf("On %s. ATLAS %s %s. ", t.Target.ID(), t.Technique, r.Catalog.Name(t.Technique))
		if len(missing) > 0 {
			line += "Still missing: " + strings.Join(first(missing, 3), "; ") + "."
		}
		pdf.MultiCell(0, 4.5, txt(line), "", "L", false)
		pdf.Ln(1)
	}

	if g != nil {
		section(pdf, txt, "NIST AI RMF coverage ("+g.Profile.Name+" profile)")
		pdf.SetFont("Helvetica", "B", 9)
		for _, h := range []string{"Function", "Met", "Partial", "Gap", "Coverage"} {
			pdf.CellFormat(30, 6, h, "1", 0, "C", false, 0, "")
		}
		pdf.Ln(-1)
		pdf.SetFont("Helvetica", "", 9)
		for _, f := range g.Functions {
			for _, v := range []string{f.ID, fmt.Sprint(f.Met), fmt.Sprint(f.Partial), fmt.Sprint(f.Gap), fmt.Sprintf("%.0f%%", 100*f.Score)} {
				pdf.CellFormat(30, 6, v, "1", 0, "C", false, 0, "")
			}
			pdf.Ln(-1)
		}
		pdf.Ln(3)
		section(pdf, txt, "First 30 days of the roadmap")
		pdf.SetFont("Helvetica", "", 9)
		n := 0
		for _, it := range g.Roadmap {
			if it.Phase != 30 {
				continue
			}
			n++
			pdf.MultiCell(0, 5, txt(fmt.Sprintf("%d. %s %s (%s): removes %d residual risk across %d threats; effort %s.", it.Rank, capitalise(it.Action), it.Name, it.ID, it.RiskReduction, len(it.Threats), it.Effort)), "", "L", false)
		}
		if n == 0 {
			pdf.MultiCell(0, 5, txt("Nothing is due in the first 30 days."), "", "L", false)
		}
	}
	return pdf.Output(w)
}

func section(pdf *fpdf.Fpdf, txt func(string) string, title string) {
	pdf.SetFont("Helvetica", "B", 12)
	pdf.MultiCell(0, 7, txt(title), "", "L", false)
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func dateOf(d string) time.Time {
	t, err := time.Parse("2006-01-02", d)
	if err != nil {
		return time.Time{}
	}
	return t
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Package gapreport writes a NIST AI RMF gap analysis and its roadmap as a
// table, JSON, Markdown or CSV. All four read the same gap.Report.
package gapreport

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/report/csvreport"
	"github.com/mlthreat/mlthreat/internal/report/quantreport"
)

// Document is the JSON form.
type Document struct {
	Tool          map[string]string `json:"tool"`
	Catalogs      map[string]string `json:"catalogs"`
	System        map[string]string `json:"system"`
	Profile       Profile           `json:"profile"`
	Summary       Summary           `json:"summary"`
	Functions     []gap.Coverage    `json:"functions"`
	Categories    []gap.Coverage    `json:"categories"`
	Subcategories []Subcategory     `json:"subcategories"`
	Roadmap       []gap.Item        `json:"roadmap"`
}

type Profile struct {
	Name           string   `json:"name"`
	Description    string   `json:"description"`
	MaxEvidenceAge int      `json:"max_evidence_age_days,omitempty"`
	GenAIRisks     []string `json:"genai_risks,omitempty"`
}

type Summary struct {
	Met           int `json:"met"`
	Partial       int `json:"partial"`
	Gap           int `json:"gap"`
	NotApplicable int `json:"not_applicable"`
	BelowTarget   int `json:"below_target"`
}

type Subcategory struct {
	ID           string          `json:"id"`
	Function     string          `json:"function"`
	Category     string          `json:"category"`
	Summary      string          `json:"summary"`
	Status       string          `json:"status"`
	Required     string          `json:"required,omitempty"`
	BelowTarget  bool            `json:"below_target"`
	Reason       string          `json:"reason,omitempty"`
	Supporters   []gap.Supporter `json:"supporters"`
	Threats      []gap.ThreatRef `json:"threats"`
	GenAIActions []string        `json:"genai_actions,omitempty"`
	Flags        []string        `json:"flags,omitempty"`
}

// Build converts a report to its JSON document.
func Build(r *gap.Report, version string) Document {
	d := Document{
		Tool:      map[string]string{"name": "mlthreat", "version": version},
		Catalogs:  map[string]string{"atlas": r.Catalog.Versions["atlas"], "nist-ai-rmf": r.Catalog.Versions["nist-ai-rmf"], "nist-ai-600-1": r.Catalog.Versions["nist-ai-600-1"]},
		System:    map[string]string{"id": r.System.Info.ID, "name": r.System.Info.Name, "file": r.System.File},
		Profile:   Profile{Name: r.Profile.Name, Description: r.Profile.Description, MaxEvidenceAge: r.Profile.MaxEvidenceAge},
		Functions: r.Functions, Categories: r.Categories, Roadmap: r.Roadmap,
	}
	if r.Profile.GenAI != nil {
		d.Profile.GenAIRisks = r.Profile.GenAI.Risks
	}
	if d.Roadmap == nil {
		d.Roadmap = []gap.Item{}
	}
	for _, s := range r.Subcategories {
		switch s.Status {
		case gap.Met:
			d.Summary.Met++
		case gap.Partial:
			d.Summary.Partial++
		case gap.Gap:
			d.Summary.Gap++
		default:
			d.Summary.NotApplicable++
		}
		if s.BelowTarget {
			d.Summary.BelowTarget++
		}
		sub := Subcategory{ID: s.ID, Function: s.Function, Category: s.Category, Summary: s.Summary, Status: s.Status, Required: s.Required,
			BelowTarget: s.BelowTarget, Reason: s.Reason, Supporters: s.Supporters, Threats: s.Threats, GenAIActions: s.GenAIActions, Flags: s.Flags}
		if sub.Supporters == nil {
			sub.Supporters = []gap.Supporter{}
		}
		if sub.Threats == nil {
			sub.Threats = []gap.ThreatRef{}
		}
		d.Subcategories = append(d.Subcategories, sub)
	}
	return d
}

// JSON writes the document.
func JSON(w io.Writer, r *gap.Report, version string) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Build(r, version))
}

// Table writes a terminal summary.
func Table(w io.Writer, r *gap.Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s: NIST AI RMF %s gap analysis, profile %s\n\n", r.System.Info.Name, r.Catalog.Versions["nist-ai-rmf"], r.Profile.Name)
	fmt.Fprintln(tw, "FUNCTION\tMET\tPARTIAL\tGAP\tN/A\tCOVERAGE")
	for _, f := range r.Functions {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.0f%%\n", f.ID, f.Met, f.Partial, f.Gap, f.NA, 100*f.Score)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "SUBCATEGORY\tSTATUS\tTARGET\tSUPPORTED BY\tOPEN THREATS")
	for _, s := range r.Subcategories {
		mark := ""
		if s.BelowTarget {
			mark = " !"
		}
		fmt.Fprintf(tw, "%s\t%s%s\t%s\t%s\t%d\n", s.ID, s.Status, mark, dash(s.Required), clip(supporterList(s), 50), len(s.Threats))
	}
	fmt.Fprintln(tw)
	if b := r.System.Business; b != nil {
		cur := currency(r)
		fmt.Fprintln(tw, "ROADMAP\tDAYS\tEFFORT\tLOSS REMOVED/YR\tPER EFFORT UNIT\tRISK REMOVED\tSUBCATEGORIES\tITEM")
		for _, it := range r.Roadmap {
			fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%d\t%d\t%s %s (%s)\n", it.Rank, it.Phase, it.Effort, quantreport.Money(cur, it.LossReduction), quantreport.Money(cur, it.Return), it.RiskReduction, len(it.Subcategories), it.Action, it.ID, clip(it.Name, 50))
		}
		return tw.Flush()
	}
	fmt.Fprintln(tw, "ROADMAP\tDAYS\tEFFORT\tRISK REMOVED\tSUBCATEGORIES\tITEM")
	for _, it := range r.Roadmap {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%d\t%d\t%s %s (%s)\n", it.Rank, it.Phase, it.Effort, it.RiskReduction, len(it.Subcategories), it.Action, it.ID, clip(it.Name, 50))
	}
	return tw.Flush()
}

// currency is the loss model's currency, USD when it names none.
func currency(r *gap.Report) string {
	if b := r.System.Business; b != nil && b.Currency != "" {
		return b.Currency
	}
	return "USD"
}

func supporterList(s gap.Subcategory) string {
	var out []string
	seen := map[string]bool{}
	for _, sp := range s.Supporters {
		k := sp.ID + " (" + sp.Status + ")"
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return dash(strings.Join(out, ", "))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func clip(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// CSV writes one row per subcategory, for spreadsheets and risk registers.
func CSV(w io.Writer, r *gap.Report) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"subcategory", "function", "category", "status", "required", "below_target", "supported_by", "open_threats", "max_residual", "flags", "summary"})
	for _, s := range r.Subcategories {
		maxRes := 0
		for _, t := range s.Threats {
			maxRes = max(maxRes, t.Residual)
		}
		_ = cw.Write([]string{s.ID, s.Function, s.Category, s.Status, s.Required, strconv.FormatBool(s.BelowTarget), csvreport.Safe(supporterList(s)),
			strconv.Itoa(len(s.Threats)), strconv.Itoa(maxRes), csvreport.Safe(strings.Join(s.Flags, "; ")), csvreport.Safe(s.Summary)})
	}
	cw.Flush()
	return cw.Error()
}

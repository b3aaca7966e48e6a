package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/suggest"
)

type catalogFlags struct {
	json   bool
	tactic string
	search string
	list   string
}

func (a *app) catalogCommand() *cobra.Command {
	f := &catalogFlags{}
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Browse the embedded knowledge base (ATLAS, NIST AI RMF, OWASP, STRIDE, LINDDUN)",
		Long: `Browse the knowledge mlthreat reasons with. The catalogue is embedded; with
--atlas FILE (or MLTHREAT_ATLAS) an official ATLAS.yaml is read instead and
'catalog show' prints its full descriptions.`,
		Example: `  mlthreat catalog techniques --tactic AML.TA0010
  mlthreat catalog techniques --search injection
  mlthreat catalog show AML.T0051
  mlthreat catalog rmf --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cat, err := a.catalog()
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "SECTION\tVERSION\tITEMS")
			fmt.Fprintf(w, "atlas tactics\t%s\t%d\n", cat.Versions["atlas"], len(cat.ATLAS.Tactics))
			fmt.Fprintf(w, "atlas techniques\t%s\t%d\n", cat.Versions["atlas"], len(cat.ATLAS.Techniques))
			fmt.Fprintf(w, "atlas mitigations\t%s\t%d\n", cat.Versions["atlas"], len(cat.ATLAS.Mitigations))
			fmt.Fprintf(w, "atlas case-studies\t%s\t%d\n", cat.Versions["atlas"], len(cat.ATLAS.CaseStudies))
			fmt.Fprintf(w, "nist-ai-rmf subcategories\t%s\t%d\n", cat.Versions["nist-ai-rmf"], len(cat.RMF.Subcategories))
			fmt.Fprintf(w, "nist-ai-600-1 risks\t%s\t%d\n", cat.Versions["nist-ai-600-1"], len(cat.GenAI.Risks))
			fmt.Fprintf(w, "owasp\tML %s, LLM %s, ASI %s\t%d\n", cat.Versions["owasp-ml"], cat.Versions["owasp-llm"], cat.Versions["owasp-asi"], len(cat.OWASP))
			fmt.Fprintf(w, "stride / linddun\t%s / %s\t%d / %d\n", cat.Versions["stride"], cat.Versions["linddun"], len(cat.STRIDE), len(cat.LINDDUN))
			fmt.Fprintf(w, "mlthreat controls\t-\t%d\n", len(cat.Controls))
			fmt.Fprintln(w)
			fmt.Fprintln(w, "Subcommands: tactics, techniques, mitigations, case-studies, rmf, owasp, genai-risks, stride, linddun, controls, show ID")
			return w.Flush()
		},
	}
	cmd.PersistentFlags().BoolVar(&f.json, "json", false, "print JSON instead of a table")
	cmd.PersistentFlags().StringVar(&f.search, "search", "", "keep items whose id, name or summary contains this text (case-insensitive)")

	techniques := a.listCommand("techniques", "ATLAS techniques and sub-techniques", f, func(cat *catalog.Catalog) ([]row, any, error) {
		tactic := ""
		if f.tactic != "" {
			tactic = resolveTactic(cat, f.tactic)
			if tactic == "" {
				return nil, nil, exitWith(ExitUsage, "--tactic: unknown tactic %q%s", f.tactic, suggest.DidYouMean(catalog.Closest(f.tactic, cat.IDsOf(catalog.KindTactic), 2)))
			}
		}
		var rows []row
		var items []catalog.Technique
		for _, t := range cat.ATLAS.Techniques {
			if tactic != "" && !slices.Contains(t.Tactics, tactic) {
				continue
			}
			if !f.matches(t.ID, t.Name, t.Summary) {
				continue
			}
			name := t.Name
			if t.Parent != "" {
				name = cat.Technique(t.Parent).Name + ": " + t.Name
			}
			rows = append(rows, row{t.ID, name, strings.Join(t.Tactics, ",")})
			items = append(items, t)
		}
		return rows, items, nil
	}, "ID", "NAME", "TACTICS")
	techniques.Flags().StringVar(&f.tactic, "tactic", "", "only techniques of this tactic (id such as AML.TA0010, or name)")

	owasp := a.listCommand("owasp", "OWASP ML Top 10 2023, LLM Top 10 2025/2026, Agentic Top 10 2026", f, func(cat *catalog.Catalog) ([]row, any, error) {
		var rows []row
		var items []catalog.OWASPItem
		for _, o := range cat.OWASP {
			if f.list != "" && !strings.EqualFold(f.list, o.List) && !strings.EqualFold(f.list, o.List+":"+o.Edition) {
				continue
			}
			if !f.matches(o.ID, o.Name, o.Summary) {
				continue
			}
			rows = append(rows, row{o.ID, o.Name, o.Summary})
			items = append(items, o)
		}
		return rows, items, nil
	}, "ID", "NAME", "SUMMARY")
	owasp.Flags().StringVar(&f.list, "list", "", "only one list: ML, LLM or ASI (optionally with edition, LLM:2025)")

	cmd.AddCommand(
		a.listCommand("tactics", "ATLAS tactics in matrix order", f, func(cat *catalog.Catalog) ([]row, any, error) {
			var rows []row
			var items []catalog.Tactic
			for _, t := range cat.ATLAS.Tactics {
				if f.matches(t.ID, t.Name, t.Summary) {
					rows = append(rows, row{t.ID, t.Name, fmt.Sprint(len(cat.TechniquesIn(t.ID)))})
					items = append(items, t)
				}
			}
			return rows, items, nil
		}, "ID", "NAME", "TECHNIQUES"),
		techniques,
		a.listCommand("mitigations", "ATLAS mitigations", f, func(cat *catalog.Catalog) ([]row, any, error) {
			var rows []row
			var items []catalog.Mitigation
			for _, m := range cat.ATLAS.Mitigations {
				if f.matches(m.ID, m.Name, m.Summary) {
					rows = append(rows, row{m.ID, m.Name, fmt.Sprint(len(m.Techniques))})
					items = append(items, m)
				}
			}
			return rows, items, nil
		}, "ID", "NAME", "TECHNIQUES"),
		a.listCommand("case-studies", "ATLAS case studies", f, func(cat *catalog.Catalog) ([]row, any, error) {
			var rows []row
			var items []catalog.CaseStudy
			for _, c := range cat.ATLAS.CaseStudies {
				if f.matches(c.ID, c.Name, c.Summary) {
					rows = append(rows, row{c.ID, c.Name, c.Type, dateYear(c.Date)})
					items = append(items, c)
				}
			}
			return rows, items, nil
		}, "ID", "NAME", "TYPE", "YEAR"),
		a.listCommand("rmf", "NIST AI RMF 1.0 subcategories", f, func(cat *catalog.Catalog) ([]row, any, error) {
			var rows []row
			var items []catalog.RMFItem
			for _, s := range cat.RMF.Subcategories {
				if f.matches(s.ID, s.Summary, s.Function) {
					rows = append(rows, row{s.ID, s.Summary})
					items = append(items, s)
				}
			}
			return rows, items, nil
		}, "ID", "SUMMARY"),
		owasp,
		a.listCommand("genai-risks", "NIST AI 600-1 generative AI risks", f, func(cat *catalog.Catalog) ([]row, any, error) {
			var rows []row
			var items []catalog.GenAIRisk
			for _, r := range cat.GenAI.Risks {
				if f.matches(r.ID, r.Name, r.Summary) {
					rows = append(rows, row{r.ID, r.Name, r.Summary})
					items = append(items, r)
				}
			}
			return rows, items, nil
		}, "ID", "NAME", "SUMMARY"),
		a.listCommand("stride", "STRIDE threat categories", f, func(cat *catalog.Catalog) ([]row, any, error) {
			return categoryRows(cat.STRIDE, f)
		}, "ID", "NAME", "PROPERTY"),
		a.listCommand("linddun", "LINDDUN privacy threat categories", f, func(cat *catalog.Catalog) ([]row, any, error) {
			return categoryRows(cat.LINDDUN, f)
		}, "ID", "NAME", "PROPERTY"),
		a.listCommand("controls", "mlthreat's own control ids, usable in controls[].mitigates", f, func(cat *catalog.Catalog) ([]row, any, error) {
			var rows []row
			var items []catalog.Control
			for _, c := range cat.Controls {
				if f.matches(c.ID, c.Name, c.Summary) {
					rows = append(rows, row{c.ID, c.Name, strings.Join(c.Mitigations, ",")})
					items = append(items, c)
				}
			}
			return rows, items, nil
		}, "ID", "NAME", "ATLAS MITIGATIONS"),
		a.showCommand(f),
	)
	return cmd
}

type row []string

func (f *catalogFlags) matches(fields ...string) bool {
	if f.search == "" {
		return true
	}
	q := strings.ToLower(f.search)
	for _, s := range fields {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}

func categoryRows(cs []catalog.Category, f *catalogFlags) ([]row, any, error) {
	var rows []row
	var items []catalog.Category
	for _, c := range cs {
		if f.matches(c.ID, c.Name, c.Summary) {
			rows = append(rows, row{c.ID, c.Name, c.Property})
			items = append(items, c)
		}
	}
	return rows, items, nil
}

func (a *app) listCommand(use, short string, f *catalogFlags, list func(*catalog.Catalog) ([]row, any, error), header ...string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: "List " + short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cat, err := a.catalog()
			if err != nil {
				return err
			}
			rows, items, err := list(cat)
			if err != nil {
				return err
			}
			if f.json {
				return writeJSON(a.stdout, items)
			}
			return writeTable(a.stdout, header, rows)
		},
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return exitWith(ExitUsage, "write output: %v", err)
	}
	return nil
}

func writeTable(out io.Writer, header []string, rows []row) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	if err := w.Flush(); err != nil {
		return exitWith(ExitUsage, "write output: %v", err)
	}
	return nil
}

func resolveTactic(cat *catalog.Catalog, s string) string {
	if cat.Tactic(s) != nil {
		return s
	}
	for _, t := range cat.ATLAS.Tactics {
		if strings.EqualFold(t.Name, s) || strings.EqualFold(strings.ReplaceAll(t.Name, " ", "-"), s) {
			return t.ID
		}
	}
	return ""
}

func dateYear(d string) string {
	if len(d) >= 4 {
		return d[:4]
	}
	return d
}

package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/diag"
	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/interop/otm"
	"github.com/mlthreat/mlthreat/internal/interop/threatdragon"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/report"
	"github.com/mlthreat/mlthreat/internal/report/attackflow"
	"github.com/mlthreat/mlthreat/internal/report/csvreport"
	"github.com/mlthreat/mlthreat/internal/report/htmlreport"
	"github.com/mlthreat/mlthreat/internal/report/jsonreport"
	"github.com/mlthreat/mlthreat/internal/report/markdown"
	"github.com/mlthreat/mlthreat/internal/report/navigator"
	"github.com/mlthreat/mlthreat/internal/report/pdfreport"
	"github.com/mlthreat/mlthreat/internal/report/sarifreport"
	"github.com/mlthreat/mlthreat/internal/report/table"
	"github.com/mlthreat/mlthreat/internal/report/tmplreport"
	"github.com/mlthreat/mlthreat/internal/report/xlsxreport"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/startup"
	"github.com/mlthreat/mlthreat/internal/validate"
)

type analyzeFlags struct {
	format      string
	out         string
	rulesDirs   []string
	minSeverity string
	tactic      string
	explain     string
	template    string
	evidence    string
	maxAge      int
	from        string
}

func (a *app) analyzeCommand() *cobra.Command {
	f := &analyzeFlags{}
	cmd := &cobra.Command{
		Use:   "analyze FILE",
		Short: "Derive the threat model: ATLAS-mapped threats with explained risk",
		Long: `Derive the threats of one system model. Every rule pack (built in, plus
--rules DIR) is evaluated on every component, flow and zone with its graph
facts; each threat is mapped to its ATLAS technique and tactics, STRIDE,
LINDDUN and OWASP, rated on likelihood x impact with the factors that moved
the scores, reduced by the controls in place, and linked to ATLAS case
studies as precedent.

With --from threagile, otm or threat-dragon, FILE is another tool's model:
it is imported in memory as mlthreat import would write it, and that model
is analysed, without writing and re-reading it. Positions in the output
(threat lines, model warnings) are those of the model mlthreat import
writes from FILE; the report names FILE.

Exit codes: 0 analysed, 1 the model is invalid, 2 usage error, unreadable
input or a broken rule pack.`,
		Example: `  mlthreat analyze examples/sentiment-api/system.yaml
  mlthreat analyze system.yaml --format json -o threats.json
  mlthreat analyze system.yaml --format markdown --min-severity high
  mlthreat analyze system.yaml --explain T-3f9a1c2e
  mlthreat analyze --from threagile threagile.yaml --format json -o threats.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.analyze(args[0], f)
		},
	}
	cmd.Flags().StringVarP(&f.format, "format", "f", "table", "output format: table, json, markdown, html, pdf, csv or xlsx (risk register), sarif, stix (MITRE Attack Flow), navigator (ATLAS Navigator layer), otm (Open Threat Model), threat-dragon (Threat Dragon 2 model), template")
	cmd.Flags().StringVarP(&f.out, "output", "o", "", "write to this file instead of stdout")
	cmd.Flags().StringArrayVar(&f.rulesDirs, "rules", nil, "also load the rule packs (*.yaml) in this directory; repeatable")
	cmd.Flags().StringVar(&f.minSeverity, "min-severity", "", "only threats whose residual severity is at least this: low, medium, high or critical")
	cmd.Flags().StringVar(&f.tactic, "tactic", "", "only threats whose technique belongs to this ATLAS tactic (id or name)")
	cmd.Flags().StringVar(&f.template, "template", "", "with --format template: a Go text/template file rendered over the JSON report value")
	cmd.Flags().StringVar(&f.explain, "explain", "", "explain one threat id: rule, condition, facts and every scoring factor")
	cmd.Flags().StringVar(&f.evidence, "evidence", "", "red-team evidence file (default: FILE's .evidence.yaml when it exists; see docs/evidence.md)")
	cmd.Flags().IntVar(&f.maxAge, "max-evidence-age", evidence.DefaultMaxAge, "days after which evidence is stale: flagged, and no longer verifies controls")
	cmd.Flags().StringVar(&f.from, "from", "", "FILE is a threagile, otm or threat-dragon model: import it in memory and analyse the result (docs/interop.md)")
	return cmd
}

func (a *app) analyze(file string, f *analyzeFlags) error {
	if f.from != "" {
		if err := oneOf(f.from, "threagile", "otm", "threat-dragon"); err != nil {
			return exitWith(ExitUsage, "--from: %v", err)
		}
	}
	// Most of what a large model's reading and analysis allocate stays
	// live until the report: collect only after the analysis.
	built := func() {}
	if fi, err := os.Stat(file); err == nil {
		built = startup.Building(fi.Size())
	}
	defer func() { built() }()
	// Start the work that needs no catalogue while it decodes: the schema,
	// the rule packs' YAML, and reading and checking the model itself.
	go model.WarmUp()
	go rules.WarmUp()
	type loadedModel struct {
		sys *model.System
		ds  diag.List
		im  *imported // with --from
		err error
	}
	mch := make(chan loadedModel, 1)
	go func() {
		if f.from != "" {
			im, err := importModel(f.from, file, file)
			mch <- loadedModel{im.sys, im.vds, im, err}
			return
		}
		s, ds := model.LoadFile(file, model.DefaultLimits)
		mch <- loadedModel{sys: s, ds: ds}
	}()
	if err := oneOf(f.format, "table", "json", "markdown", "html", "pdf", "csv", "xlsx", "navigator", "sarif", "stix", "otm", "threat-dragon", "template"); err != nil {
		return exitWith(ExitUsage, "--format: %v", err)
	}
	if f.minSeverity != "" {
		if err := oneOf(f.minSeverity, "low", "medium", "high", "critical"); err != nil {
			return exitWith(ExitUsage, "--min-severity: %v", err)
		}
	}
	cat, err := a.catalog()
	if err != nil {
		return err
	}
	tactic := ""
	if f.tactic != "" {
		if tactic = resolveTactic(cat, f.tactic); tactic == "" {
			return exitWith(ExitUsage, "--tactic: unknown tactic %q", f.tactic)
		}
	}
	// Load the rule packs while the model is read and validated.
	type loaded struct {
		set *rules.Set
		err error
	}
	ch := make(chan loaded, 1)
	go func() {
		set, err := rules.Load(cat, f.rulesDirs...)
		ch <- loaded{set, err}
	}()
	lm := <-mch
	sys, ds := lm.sys, lm.ds
	if lm.im != nil {
		// As mlthreat import would: its diagnostics on FILE, and a model
		// that does not validate is the importer's fault.
		for _, d := range lm.im.ds {
			fmt.Fprintln(a.stderr, d.String())
		}
		if lm.err != nil {
			return lm.err
		}
		var err error
		if ds, err = a.checkImported(file, sys, ds, cat); err != nil {
			return err
		}
	} else if sys != nil {
		ds = append(ds, validate.Frameworks(sys, cat)...)
		ds.Sort()
	}
	l := <-ch
	if l.err != nil {
		return exitWith(ExitUsage, "rule packs:\n%v", l.err)
	}
	set := l.set
	if err := a.checkDiagnostics(file, sys, ds, "; fix it before analysing"); err != nil {
		return err
	}
	kinds := map[string]bool{"flow": true, "zone": true}
	for _, c := range sys.Components {
		kinds[c.Kind] = true
	}
	set.Precompile(kinds)
	if f.maxAge < 1 {
		return exitWith(ExitUsage, "--max-evidence-age must be at least 1 day")
	}
	today, err := a.today()
	if err != nil {
		return err
	}
	recs, err := a.loadEvidence(file, f.evidence, sys, cat, today, f.maxAge)
	if err != nil {
		return err
	}
	rep, err := analysis.Analyze(sys, cat, set, analysis.Options{Today: today, Evidence: recs, MaxEvidenceAge: f.maxAge})
	if err != nil {
		return exitWith(ExitUsage, "%v", err)
	}
	if f.explain != "" {
		return a.explain(rep, f.explain)
	}
	built()
	built = func() {}
	filter(rep, f.minSeverity, tactic)
	var w report.Writer
	switch f.format {
	case "json":
		w = jsonreport.Writer{Version: version()}
	case "markdown":
		w = markdown.Writer{}
	case "csv":
		w = csvreport.Writer{}
	case "navigator":
		w = navigator.Writer{}
	case "xlsx":
		w = xlsxreport.Writer{}
	case "html", "pdf":
		cw, err := gap.Load(cat)
		if err != nil {
			return exitWith(ExitUsage, "crosswalk: %v", err)
		}
		prof, err := gap.BuiltinProfile(gap.DefaultProfile(sys), sys, cat)
		if err != nil {
			return exitWith(ExitUsage, "%v", err)
		}
		gr, err := gap.Analyze(sys, cat, set, cw, prof, gap.Options{})
		if err != nil {
			return exitWith(ExitUsage, "%v", err)
		}
		if f.format == "pdf" {
			w = report.WriterFunc(func(out io.Writer, r *analysis.Report) error { return pdfreport.Write(out, r, gr) })
		} else {
			w = report.WriterFunc(func(out io.Writer, r *analysis.Report) error { return htmlreport.Write(out, r, gr) })
		}
	case "template":
		if f.template == "" {
			return exitWith(ExitUsage, "--format template needs --template FILE")
		}
		tpl, err := tmplreport.Load(f.template)
		if err != nil {
			return exitWith(ExitUsage, "--template: %v", err)
		}
		w = tmplreport.Writer{Template: tpl, Version: version()}
	case "stix":
		w = attackflow.Writer{Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000Z")}
	case "otm":
		w = otm.Writer{}
	case "threat-dragon":
		w = threatdragon.Writer{}
	case "sarif":
		w = sarifreport.Writer{Version: version()}
	default:
		w = table.Writer{Color: f.out == "" && isTerminal(a.stdout) && a.getenv("NO_COLOR") == ""}
	}
	return a.emitStream(f.out, func(out io.Writer) error {
		// Some writers (the table's tabwriter) write many small pieces.
		bw := bufio.NewWriterSize(out, 64<<10)
		err := w.Write(bw, rep)
		if ferr := bw.Flush(); err == nil {
			err = ferr
		}
		if err != nil {
			return exitWith(ExitUsage, "render %s: %v", f.format, err)
		}
		return nil
	})
}

// emitStream renders straight to stdout or, atomically, to a file: into a
// temporary file beside it, renamed over it only when rendering succeeded.
func (a *app) emitStream(path string, render func(io.Writer) error) error {
	if path == "" || path == "-" {
		return render(a.stdout)
	}
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		// A device or a pipe (-o /dev/null, -o /dev/stdout): write into
		// it. Renaming a file over it would replace the device itself.
		if st.IsDir() {
			return exitWith(ExitUsage, "write %s: it is a directory", path)
		}
		fh, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return exitWith(ExitUsage, "write %s: %v", path, cleanErr(err))
		}
		if err := render(fh); err != nil {
			fh.Close()
			return err
		}
		if err := fh.Close(); err != nil {
			return exitWith(ExitUsage, "write %s: %v", path, cleanErr(err))
		}
		return nil
	}
	tmp := path + ".tmp"
	fh, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return exitWith(ExitUsage, "write %s: %v", path, cleanErr(err))
	}
	if err := render(fh); err != nil {
		fh.Close()
		os.Remove(tmp)
		return err
	}
	if err := fh.Close(); err != nil {
		os.Remove(tmp)
		return exitWith(ExitUsage, "write %s: %v", path, cleanErr(err))
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return exitWith(ExitUsage, "write %s: %v", path, cleanErr(err))
	}
	return nil
}

// emit writes to stdout or, atomically, to a file.
func (a *app) emit(path string, b []byte) error {
	return a.emitStream(path, func(out io.Writer) error {
		if _, err := out.Write(b); err != nil {
			return exitWith(ExitUsage, "write %s: %v", path, cleanErr(err))
		}
		return nil
	})
}

func cleanErr(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

func filter(r *analysis.Report, minSeverity, tactic string) {
	if minSeverity == "" && tactic == "" {
		return
	}
	var kept []*analysis.Threat
	for _, t := range r.Threats {
		if minSeverity != "" && analysis.SeverityRank(t.Residual.Severity) < analysis.SeverityRank(minSeverity) {
			continue
		}
		if tactic != "" && !slices.Contains(t.Tactics, tactic) {
			continue
		}
		kept = append(kept, t)
	}
	r.Threats = kept
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (a *app) explain(r *analysis.Report, id string) error {
	var t *analysis.Threat
	var ids []string
	for _, x := range r.Threats {
		ids = append(ids, x.ID)
		if strings.EqualFold(x.ID, id) {
			t = x
		}
	}
	if t == nil {
		return exitWith(ExitFindings, "no threat %s in this analysis (%d threats; list them with --format table)", id, len(ids))
	}
	w := a.stdout
	cat := r.Catalog
	fmt.Fprintf(w, "%s  %s\n", t.ID, t.Rule.Title)
	fmt.Fprintf(w, "target:     %s (line %d of %s)\n", t.Target.ID(), t.Line, r.System.File)
	fmt.Fprintf(w, "rule:       %s (%s)\n", t.Rule.ID, t.Rule.Location())
	cond := t.Rule.When
	if cond == "" {
		cond = "(always, for its kinds)"
	}
	fmt.Fprintf(w, "applies to: %s\ncondition:  %s\n", strings.Join(t.Rule.AppliesTo, ", "), cond)
	if facts := t.Facts(); len(facts) > 0 {
		fmt.Fprintf(w, "facts:      %s\n", strings.Join(facts, "; "))
	}
	fmt.Fprintf(w, "ATLAS:      %s %s; tactics %s (ATLAS %s)\n", t.Technique, cat.Name(t.Technique), labels(cat.Name, t.Tactics), cat.Versions["atlas"])
	if len(t.Related) > 0 {
		fmt.Fprintf(w, "related:    %s\n", labels(cat.Name, t.Related))
	}
	fmt.Fprintf(w, "\nlikelihood %d:\n", t.Likelihood.Score)
	for _, f := range t.Likelihood.Factors {
		fmt.Fprintf(w, "  - %s\n", f)
	}
	fmt.Fprintf(w, "impact %d:\n", t.Impact.Score)
	for _, f := range t.Impact.Factors {
		fmt.Fprintf(w, "  - %s\n", f)
	}
	fmt.Fprintf(w, "risk %d (%s)\n\nmitigations:\n", t.Risk, t.Severity)
	for _, m := range t.Mitigations {
		c := ""
		if m.Control != "" {
			c = " by control " + m.Control
		}
		fmt.Fprintf(w, "  - %s %s: %s%s\n", m.ID, cat.Name(m.ID), m.Status, c)
	}
	fmt.Fprintf(w, "residual %d (%s): likelihood %d x impact %d\n", t.Residual.Score, t.Residual.Severity, t.Residual.Likelihood, t.Residual.Impact)
	for _, f := range t.Residual.Factors {
		fmt.Fprintf(w, "  - %s\n", f)
	}
	fmt.Fprintf(w, "status: %s\n", t.Status)
	if t.Decision != nil {
		fmt.Fprintf(w, "  decision by %s until %s: %s\n", t.Decision.Owner, t.Decision.Until, t.Decision.Justification)
	}
	if len(t.CaseStudies) > 0 {
		fmt.Fprintf(w, "\nprecedent: %s\n", labels(cat.Name, first(t.CaseStudies, 5)))
	}
	if len(t.Evidence) > 0 {
		fmt.Fprintf(w, "\nevidence:\n")
		for _, ref := range t.Evidence {
			note := ""
			if ref.Reason != "" {
				note = " (" + ref.Reason + ")"
			}
			fmt.Fprintf(w, "  - %s %s: %s, %s%s\n", ref.ID, ref.Outcome, ref.Label(), ref.Summary(), note)
		}
	}
	fmt.Fprintf(w, "\n%s\n", t.Rule.Rationale)
	return nil
}

func labels(name func(string) string, ids []string) string {
	var out []string
	for _, id := range ids {
		out = append(out, id+" "+name(id))
	}
	return strings.Join(out, ", ")
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

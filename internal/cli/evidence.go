package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/evidence/importer"
	"github.com/mlthreat/mlthreat/internal/model"
)

type importFlags struct {
	model, target, tool, date, garakTags, file string
}

func (a *app) evidenceCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "evidence",
		Short: "Red-team and test results as evidence on threats: import and list",
		Long: `Results of red-team tools are evidence about a threat model: an attack shown
to work confirms its threat, a well-sampled run it failed verifies the
controls on it. The evidence lives beside the model (system.yaml gives
system.evidence.yaml), is versioned with it, and 'analyze' reads it. See
docs/evidence.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.evidenceImportCommand(), a.evidenceListCommand())
	return cmd
}

func (a *app) evidenceImportCommand() *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "import FILE... --model MODEL",
		Short: "Import garak, promptfoo or mlthreat evidence JSON results into the model's evidence file",
		Long: `Read each FILE (a garak .report.jsonl, its .hitlog.jsonl beside it is read
too; promptfoo JSON output; or mlthreat evidence JSON, schema/evidence.schema.json),
map every probe or plugin to ATLAS techniques, and add the results to the
evidence file beside MODEL. A result already there (same tool, run, attack
and target) is not added again. Reports are read as a stream; a bad line is
reported with its number and the good ones are kept.

garak and promptfoo do not know the model's element ids: name the element
that was tested with --target, unless the model has only one llm, agent or
inference-api. promptfoo targets labelled with an element id need none.

Exit codes: 0 imported, 1 some lines or results were rejected or a file held
no results, 2 usage error or unreadable input.`,
		Example: `  mlthreat evidence import garak.report.jsonl --model system.yaml --target support-llm
  mlthreat evidence import results.json --model system.yaml --tool promptfoo
  mlthreat evidence import art-results.json --model system.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.evidenceImport(args, &f) },
	}
	cmd.Flags().StringVar(&f.model, "model", "", "the system model the evidence belongs to (required)")
	cmd.Flags().StringVar(&f.target, "target", "", "element of the model that was tested")
	cmd.Flags().StringVar(&f.tool, "tool", "", "format of FILE: garak, promptfoo or generic (default: detected from its content)")
	cmd.Flags().StringVar(&f.date, "date", "", "date of the run (YYYY-MM-DD), for files that carry none")
	cmd.Flags().StringVar(&f.garakTags, "garak-tags", "", "garak's plugin_cache.json, to map probes mlthreat does not know through their tags")
	cmd.Flags().StringVar(&f.file, "evidence", "", "evidence file to write (default: MODEL's .evidence.yaml beside it)")
	return cmd
}

func (a *app) evidenceImport(files []string, f *importFlags) error {
	if f.model == "" {
		return exitWith(ExitUsage, "evidence import needs --model MODEL, the system model the evidence is about")
	}
	if f.tool != "" {
		if err := oneOf(f.tool, importer.Garak, importer.Promptfoo, importer.Generic); err != nil {
			return exitWith(ExitUsage, "--tool: %v", err)
		}
	}
	if f.date != "" && !evidence.ValidDate(f.date) {
		return exitWith(ExitUsage, "--date %q: expected YYYY-MM-DD", f.date)
	}
	cat, err := a.catalog()
	if err != nil {
		return err
	}
	sys, err := a.loadValid(f.model, cat, "; fix it before importing evidence")
	if err != nil {
		return err
	}
	opt := importer.Options{Tool: f.tool, Target: f.target, Date: f.date, Elements: elementKinds(sys), Plausible: plausibleTargets(sys),
		KnownTechnique: func(id string) bool { return cat.Technique(id) != nil }}
	if f.garakTags != "" {
		if opt.GarakTags, err = importer.LoadGarakTags(f.garakTags); err != nil {
			return exitWith(ExitUsage, "--garak-tags: %v", cleanPathErr(err))
		}
	}
	path := f.file
	if path == "" {
		path = evidence.PathFor(f.model)
	}
	existing, err := evidence.Load(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return a.evidenceFileError(path, err)
	}
	rejected := false
	var incoming []evidence.Record
	for _, file := range files {
		res, err := importer.Import(file, opt)
		if err != nil {
			return exitWith(ExitUsage, "%v", cleanPathErr(err))
		}
		for _, p := range res.Problems {
			fmt.Fprintf(a.stderr, "%s: error: %s\n", locate(file, p), p.Msg)
		}
		for _, w := range res.Warnings {
			fmt.Fprintf(a.stderr, "%s: warning: %s\n", file, w)
		}
		if len(res.Problems) > 0 || len(res.Records) == 0 {
			rejected = true
		}
		if len(res.Records) == 0 {
			fmt.Fprintf(a.stderr, "%s: no results to import\n", file)
		}
		incoming = append(incoming, res.Records...)
	}
	all, added, skipped := evidence.Merge(existing, incoming)
	if len(added) > 0 {
		if err := evidence.WriteFile(path, f.model, all); err != nil {
			return exitWith(ExitUsage, "write %s: %v", path, cleanPathErr(err))
		}
	}
	fmt.Fprintf(a.stdout, "%s: %s added, %s already there\n", path, plural(len(added), "result"), plural(len(skipped), "result"))
	for _, r := range added {
		fmt.Fprintf(a.stdout, "  + %s %s on %s: %s -> %s\n", r.ID, r.Label(), r.Target, r.Summary(), techList(r.Techniques))
	}
	if err := a.evidenceCoverage(sys, cat, append(added, skipped...), all); err != nil {
		return err
	}
	if rejected {
		return silentExit(ExitFindings)
	}
	return nil
}

// locate places a problem: file:line for a line, else the file.
func locate(file string, p evidence.Problem) string {
	if p.Line > 0 {
		return file + ":" + strconv.Itoa(p.Line)
	}
	return file
}

func techList(ts []string) string {
	if len(ts) == 0 {
		return "no ATLAS technique"
	}
	return strings.Join(ts, ", ")
}

// evidenceCoverage analyses the model with all its evidence and prints the
// threats the imported records bear on.
func (a *app) evidenceCoverage(sys *model.System, cat *catalog.Catalog, imported, all []evidence.Record) error {
	if len(imported) == 0 {
		return nil
	}
	set, err := loadRules(cat)
	if err != nil {
		return err
	}
	today, err := a.today()
	if err != nil {
		return err
	}
	rep, err := analysis.Analyze(sys, cat, set, analysis.Options{Today: today, Evidence: all})
	if err != nil {
		return exitWith(ExitUsage, "%v", err)
	}
	mine := map[string]bool{}
	for _, r := range imported {
		mine[r.ID] = true
	}
	covered := map[string]bool{}
	fmt.Fprintln(a.stdout, "threats the evidence bears on:")
	n := 0
	for _, t := range rep.Threats {
		for _, ref := range t.Evidence {
			if !mine[ref.ID] {
				continue
			}
			covered[ref.ID] = true
			n++
			detail := ref.Outcome
			if ref.Reason != "" {
				detail += " (" + ref.Reason + ")"
			}
			fmt.Fprintf(a.stdout, "  %s %s on %s: %s by %s; likelihood %d, residual %d %s\n", t.ID, t.Technique, t.Target.ID(), detail, ref.ID, t.Likelihood.Score, t.Residual.Score, t.Residual.Severity)
		}
	}
	if n == 0 {
		fmt.Fprintln(a.stdout, "  none")
	}
	var idle []string
	for _, r := range imported {
		if !covered[r.ID] && !evidence.Superseded(all, &r) {
			idle = append(idle, r.ID)
		}
	}
	if len(idle) > 0 {
		sort.Strings(idle)
		fmt.Fprintf(a.stdout, "bearing on no threat (no threat on the target has a technique they exercise): %s\n", strings.Join(idle, ", "))
	}
	return nil
}

func elementKinds(sys *model.System) map[string]string {
	m := map[string]string{}
	for _, c := range sys.Components {
		m[c.ID] = c.Kind
	}
	for _, f := range sys.Flows {
		m[f.ID] = "flow"
	}
	for _, z := range sys.Zones {
		m[z.ID] = "zone"
	}
	return m
}

// plausibleTargets are the elements a prompt-driven tool could have tested.
func plausibleTargets(sys *model.System) []string {
	var out []string
	for _, c := range sys.Components {
		if c.Kind == "llm" || c.Kind == "agent" || c.Kind == "inference-api" {
			out = append(out, c.ID)
		}
	}
	return out
}

func (a *app) evidenceFileError(path string, err error) error {
	var ps evidence.Problems
	if errors.As(err, &ps) {
		for _, p := range ps {
			fmt.Fprintf(a.stderr, "%s: error: %s\n", locate(p.File, p), p.Msg)
		}
		return exitWith(ExitFindings, "%s is invalid (%s); fix it or move it away", path, plural(len(ps), "error"))
	}
	return exitWith(ExitUsage, "read %s: %v", path, cleanPathErr(err))
}

// loadEvidence reads the evidence for a model: file when given (it must
// exist), else the file beside the model when there is one. Records whose
// target is not in the model or whose techniques the catalogue lacks are
// left out with a warning; stale ones are flagged.
func (a *app) loadEvidence(modelFile, file string, sys *model.System, cat *catalog.Catalog, today time.Time, maxAge int) ([]evidence.Record, error) {
	path := file
	if path == "" {
		path = evidence.PathFor(modelFile)
	}
	recs, err := evidence.Load(path)
	if err != nil {
		if file == "" && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, a.evidenceFileError(path, err)
	}
	elements := elementKinds(sys)
	var out []evidence.Record
	for _, r := range recs {
		if _, ok := elements[r.Target]; !ok {
			fmt.Fprintf(a.stderr, "%s:%d: warning: evidence %s is about %q, which is not in the model; ignored\n", path, r.Line, r.ID, r.Target)
			continue
		}
		var unknown []string
		for _, t := range r.Techniques {
			if cat.Technique(t) == nil {
				unknown = append(unknown, t)
			}
		}
		if len(unknown) > 0 {
			fmt.Fprintf(a.stderr, "%s:%d: warning: evidence %s names %s, not in the ATLAS catalogue; ignored\n", path, r.Line, r.ID, strings.Join(unknown, ", "))
			continue
		}
		if r.Stale(today, maxAge) && !evidence.Superseded(recs, &r) {
			age, _ := r.Age(today)
			fmt.Fprintf(a.stderr, "%s:%d: warning: evidence %s (%s, %s) is %d days old, older than %d; re-run the test\n", path, r.Line, r.ID, r.Label(), r.Date, age, maxAge)
		}
		out = append(out, r)
	}
	return out, nil
}

type listFlags struct {
	file, format string
	maxAge       int
}

func (a *app) evidenceListCommand() *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use:   "list MODEL",
		Short: "List the evidence of a model: results, their age, and the threats they bear on",
		Long: `List every record in MODEL's evidence file with its date and age, the attack
success rate and sample size, and the threats it bears on. A record is
stale when older than --max-evidence-age days, and superseded when a later
run of the same attack on the same element exists.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.evidenceList(args[0], &f) },
	}
	cmd.Flags().StringVar(&f.file, "evidence", "", "evidence file (default: MODEL's .evidence.yaml beside it)")
	cmd.Flags().StringVarP(&f.format, "format", "f", "table", "output: table or json")
	cmd.Flags().IntVar(&f.maxAge, "max-evidence-age", evidence.DefaultMaxAge, "days after which a result is stale")
	return cmd
}

type listedRecord struct {
	ID          string   `json:"id"`
	Tool        string   `json:"tool"`
	Attack      string   `json:"attack"`
	Detector    string   `json:"detector,omitempty"`
	Strategy    string   `json:"strategy,omitempty"`
	Target      string   `json:"target"`
	Techniques  []string `json:"techniques"`
	SuccessRate float64  `json:"success_rate"`
	Attempts    int      `json:"attempts"`
	Successes   int      `json:"successes"`
	Date        string   `json:"date"`
	AgeDays     int      `json:"age_days"`
	State       []string `json:"state"`
	Threats     []string `json:"threats"`
	Line        int      `json:"line"`
}

func (a *app) evidenceList(modelFile string, f *listFlags) error {
	if err := oneOf(f.format, "table", "json"); err != nil {
		return exitWith(ExitUsage, "--format: %v", err)
	}
	if f.maxAge < 1 {
		return exitWith(ExitUsage, "--max-evidence-age must be at least 1 day")
	}
	cat, err := a.catalog()
	if err != nil {
		return err
	}
	sys, err := a.loadValid(modelFile, cat, "")
	if err != nil {
		return err
	}
	path := f.file
	if path == "" {
		path = evidence.PathFor(modelFile)
	}
	recs, err := evidence.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return exitWith(ExitFindings, "no evidence file %s; import results with 'mlthreat evidence import FILE --model %s'", path, modelFile)
	}
	if err != nil {
		return a.evidenceFileError(path, err)
	}
	today, err := a.today()
	if err != nil {
		return err
	}
	set, err := loadRules(cat)
	if err != nil {
		return err
	}
	rep, err := analysis.Analyze(sys, cat, set, analysis.Options{Today: today, Evidence: recs, MaxEvidenceAge: f.maxAge})
	if err != nil {
		return exitWith(ExitUsage, "%v", err)
	}
	threats := map[string][]string{}
	for _, t := range rep.Threats {
		for _, ref := range t.Evidence {
			threats[ref.ID] = append(threats[ref.ID], t.ID)
		}
	}
	elements := elementKinds(sys)
	sorted := append([]evidence.Record(nil), recs...)
	evidence.Sort(sorted)
	var out []listedRecord
	stale := 0
	for i := range sorted {
		r := &sorted[i]
		age, _ := r.Age(today)
		l := listedRecord{ID: r.ID, Tool: r.Tool, Attack: r.Attack, Detector: r.Detector, Strategy: r.Strategy, Target: r.Target,
			Techniques: nonEmpty(r.Techniques), SuccessRate: float64(int(r.Rate()*10000+0.5)) / 10000, Attempts: r.Attempts, Successes: r.Successes,
			Date: r.Date, AgeDays: age, Threats: nonEmpty(threats[r.ID]), Line: r.Line}
		if evidence.Superseded(recs, r) {
			l.State = append(l.State, "superseded")
		} else if age > f.maxAge {
			l.State = append(l.State, "stale")
			stale++
		}
		if _, ok := elements[r.Target]; !ok {
			l.State = append(l.State, "target not in model")
		}
		if len(r.Techniques) == 0 {
			l.State = append(l.State, "no technique")
		}
		if len(l.State) == 0 {
			l.State = []string{"current"}
		}
		out = append(out, l)
	}
	if f.format == "json" {
		b, err := json.MarshalIndent(map[string]any{"evidence_file": path, "max_age_days": f.maxAge, "records": nonNilList(out)}, "", "  ")
		if err != nil {
			return exitWith(ExitUsage, "%v", err)
		}
		fmt.Fprintln(a.stdout, string(b))
	} else {
		tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tDATE\tAGE\tTOOL\tATTACK\tTARGET\tRATE\tATTEMPTS\tSTATE\tTHREATS")
		for _, l := range out {
			attack := l.Attack
			if l.Strategy != "" && l.Strategy != "basic" {
				attack += " via " + l.Strategy
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.ID, l.Date, l.AgeDays, l.Tool, attack, l.Target, evidence.Percent(l.SuccessRate), evidence.Count(l.Attempts), strings.Join(l.State, ", "), dashList(l.Threats))
		}
		tw.Flush()
	}
	fmt.Fprintf(a.stderr, "%s in %s", plural(len(recs), "record"), path)
	if stale > 0 {
		fmt.Fprintf(a.stderr, "; %d older than %d days: re-run those tests", stale, f.maxAge)
	}
	fmt.Fprintln(a.stderr)
	return nil
}

func nonEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilList(s []listedRecord) []listedRecord {
	if s == nil {
		return []listedRecord{}
	}
	return s
}

func dashList(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}

package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/diag"
	"github.com/mlthreat/mlthreat/internal/ingest"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/validate"
)

var reSystemSlug = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

type initFlags struct {
	from        []string
	out, merge  string
	typ         string
	id, name    string
	interactive bool
	force       bool
}

func (a *app) initCommand() *cobra.Command {
	var f initFlags
	cmd := &cobra.Command{
		Use:   "init --from FILE... [-o OUT] [--merge INTO] [--interactive]",
		Short: "Build a starter system model from an ML-BOM, a model card or an MLmodel file",
		Long: `Build a starter system model from ML metadata: a CycloneDX 1.5+ ML-BOM (JSON),
a Hugging Face model card (README.md with YAML front matter) or an MLflow
MLmodel file. Several files combine into one model. The format is told from
the content; --type forces it. A folder stands for the MLmodel, README.md or
bom.json in it.

Every inferred fact carries its source in x-source (file#/json/pointer); what
metadata cannot say becomes an x-todo entry, which validate reports as a
warning. --merge adds what is new to an existing model and never overwrites or
drops what a person wrote. --interactive asks the questions metadata cannot
answer (exposure, authentication, who sends input, scores, feedback).

Exit codes: 0 written, 1 nothing usable could be inferred (or the merged model
is invalid), 2 unreadable or malformed input, or bad usage.`,
		Example: `  mlthreat init --from bom.json -o system.yaml
  mlthreat init --from README.md --from model/MLmodel -o system.yaml
  mlthreat init --from bom.json --merge system.yaml
  mlthreat init --from bom.json --interactive -o system.yaml`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f.from = append(f.from, args...)
			return a.runInit(f)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.from, "from", nil, "metadata file to read (repeatable): ML-BOM JSON, model card, MLmodel, or a folder holding one")
	fl.StringVarP(&f.out, "output", "o", "", "write the model here instead of stdout (with --merge: instead of INTO)")
	fl.StringVar(&f.merge, "merge", "", "update this existing model in place, keeping everything a person wrote")
	fl.StringVar(&f.typ, "type", "", "force the metadata format: cyclonedx, modelcard or mlflow")
	fl.StringVar(&f.id, "id", "", "system id (a slug); default: from the model's name")
	fl.StringVar(&f.name, "name", "", "system name; default: the model's name")
	fl.BoolVar(&f.interactive, "interactive", false, "ask what the metadata cannot say, in a terminal form")
	fl.BoolVar(&f.force, "force", false, "replace -o OUT when it already exists")
	return cmd
}

func (a *app) runInit(f initFlags) error {
	if len(f.from) == 0 {
		return exitWith(ExitUsage, "init needs --from FILE (an ML-BOM, a model card or an MLmodel file)")
	}
	if f.typ != "" {
		if err := oneOf(f.typ, ingest.Formats...); err != nil {
			return exitWith(ExitUsage, "--type: %v", err)
		}
	}
	if f.id != "" && !reSystemSlug.MatchString(f.id) {
		return exitWith(ExitUsage, "--id %q is not a slug: use lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", f.id)
	}
	target := f.out
	if target == "" {
		target = f.merge
	}
	if f.out != "" && f.out != f.merge && !f.force {
		if _, err := os.Stat(f.out); err == nil {
			return exitWith(ExitUsage, "%s already exists; use --merge %s to update it, or --force to replace it", f.out, f.out)
		}
	}
	base := "."
	if target != "" {
		base = filepath.Dir(target)
	}
	var sources []*ingest.Source
	for _, path := range f.from {
		s, err := readSource(path, base, ingest.Format(f.typ))
		if err != nil {
			return exitWith(ExitUsage, "%v", err)
		}
		sources = append(sources, s)
	}
	opt := ingest.Options{ID: f.id, Name: f.name}
	var ans *ingest.Answers
	if f.interactive {
		pre, err := ingest.Build(sources, opt, nil)
		if err != nil {
			return a.nothingInferred(f.from, sources)
		}
		if ans, err = a.askQuestions(pre); err != nil {
			return err
		}
	}
	m, err := ingest.Build(sources, opt, ans)
	if errors.Is(err, ingest.ErrNothing) {
		return a.nothingInferred(f.from, sources)
	}
	if err != nil {
		return exitWith(ExitUsage, "%v", err)
	}
	for _, n := range m.Notes {
		fmt.Fprintf(a.stderr, "note: %s\n", n)
	}
	out := ingest.Encode(m)
	what := "model"
	if f.merge != "" {
		merged, warnings, err := mergeInto(f.merge, m)
		if err != nil {
			return err
		}
		for _, w := range warnings {
			fmt.Fprintln(a.stderr, w)
		}
		out, what = merged, "merged model"
	}
	name := target
	if name == "" {
		name = "<stdout>"
	}
	cat, err := a.catalog()
	if err != nil {
		return err
	}
	s, ds := model.Load(name, out, model.DefaultLimits)
	if s != nil {
		ds = append(ds, validate.Frameworks(s, cat)...)
	}
	if ds.Errors() > 0 && f.merge == "" {
		for _, d := range ds {
			if d.Severity == diag.Error {
				fmt.Fprintln(a.stderr, d.String())
			}
		}
		return exitWith(ExitUsage, "internal error: the generated model is invalid; please report this with the input files")
	}
	if err := a.emit(target, out); err != nil {
		return err
	}
	todos := 0
	for _, d := range ds {
		if d.Code == "todo" {
			todos++
		}
	}
	fmt.Fprintf(a.stderr, "%s: %s with %s, %s and %s to answer",
		name, what, plural(len(m.Components), "inferred component"), plural(len(m.Flows), "flow"), plural(todos, "TODO"))
	if target != "" {
		fmt.Fprintf(a.stderr, "; next: mlthreat validate %s", target)
	}
	fmt.Fprintln(a.stderr)
	if ds.Errors() > 0 {
		for _, d := range ds {
			if d.Severity == diag.Error {
				fmt.Fprintln(a.stderr, d.String())
			}
		}
		return exitWith(ExitFindings, "%s is invalid (%s)", name, plural(ds.Errors(), "error"))
	}
	return nil
}

func (a *app) nothingInferred(files []string, sources []*ingest.Source) error {
	for _, s := range sources {
		for _, n := range s.Notes {
			fmt.Fprintf(a.stderr, "note: %s\n", n)
		}
	}
	return exitWith(ExitFindings, "nothing usable could be inferred from %s: no ML model, LLM or dataset", strings.Join(files, ", "))
}

// readSource reads one metadata file (or the MLmodel or README.md in a
// folder) and parses it; x-source names it relative to base.
func readSource(path, base string, typ ingest.Format) (*ingest.Source, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		found := ""
		for _, n := range []string{"MLmodel", "README.md", "bom.json"} {
			if st, err := os.Stat(filepath.Join(path, n)); err == nil && st.Mode().IsRegular() {
				found = filepath.Join(path, n)
				break
			}
		}
		if found == "" {
			return nil, fmt.Errorf("%s: a folder without an MLmodel, README.md or bom.json", path)
		}
		path = found
	}
	b, err := readLimited(path, ingest.DefaultLimits.MaxBytes)
	if err != nil {
		return nil, err
	}
	name := sourceName(path, base)
	if typ == "" {
		if typ, err = ingest.Detect(name, b); err != nil {
			return nil, err
		}
	}
	return ingest.Parse(name, b, typ, ingest.DefaultLimits)
}

// readLimited reads a regular file of at most max bytes.
func readLimited(path string, max int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", path, cleanErr(err))
	}
	if !fi.Mode().IsRegular() && path != "/dev/stdin" {
		return nil, fmt.Errorf("%s: is not a regular file", path)
	}
	if fi.Mode().IsRegular() && fi.Size() > max {
		return nil, fmt.Errorf("%s: file is %d bytes, over the %d-byte limit for metadata", path, fi.Size(), max)
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", path, cleanErr(err))
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %s", path, cleanErr(err))
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: file is over the %d-byte limit for metadata", path, max)
	}
	return b, nil
}

// sourceName is path relative to base, the folder of the model file.
func sourceName(path, base string) string {
	absP, err1 := filepath.Abs(path)
	absB, err2 := filepath.Abs(base)
	if err1 != nil || err2 != nil {
		return filepath.ToSlash(path)
	}
	rel, err := filepath.Rel(absB, absP)
	if err != nil {
		return filepath.ToSlash(absP)
	}
	return filepath.ToSlash(rel)
}

// mergeInto merges m into the model file at path and returns the new text
// and the warnings about values kept.
func mergeInto(path string, m *ingest.Model) ([]byte, []string, error) {
	b, err := readLimited(path, model.DefaultLimits.MaxBytes)
	if err != nil {
		return nil, nil, exitWith(ExitUsage, "--merge: %v", err)
	}
	if s, ds := model.Load(path, b, model.DefaultLimits); s == nil || slices.ContainsFunc(ds, func(d diag.Diagnostic) bool { return parseFailure[d.Code] }) {
		for _, d := range ds {
			if d.Severity == diag.Error {
				return nil, nil, exitWith(ExitUsage, "--merge: %s", d.String())
			}
		}
		return nil, nil, exitWith(ExitUsage, "--merge: %s cannot be read as a system model", path)
	}
	out, warnings, err := ingest.Merge(path, b, m)
	if err != nil {
		return nil, nil, exitWith(ExitUsage, "--merge: %v", err)
	}
	return out, warnings, nil
}

// parseFailure codes mean the file is not a well-formed model to merge into.
var parseFailure = map[string]bool{
	"syntax": true, "too-large": true, "too-deep": true, "too-many-nodes": true, "alias-cycle": true,
	"binary": true, "encoding": true, "tab": true, "multi-document": true, "empty": true,
	"duplicate-key": true, "bad-key": true, "bad-merge": true, "not-a-map": true,
}

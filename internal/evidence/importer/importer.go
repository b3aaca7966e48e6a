// Package importer turns a red-team tool's output into evidence records: it
// detects the format, runs the streaming parser, maps each attack to ATLAS
// techniques through the project's mapping, names the tested element and
// gives every record its stable id.
package importer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/evidence/garak"
	"github.com/mlthreat/mlthreat/internal/evidence/generic"
	"github.com/mlthreat/mlthreat/internal/evidence/mapping"
	"github.com/mlthreat/mlthreat/internal/evidence/promptfoo"
)

// Formats this package reads.
const (
	Garak     = "garak"
	Promptfoo = "promptfoo"
	Generic   = "generic"
)

// Options say how to import.
type Options struct {
	Tool           string              // garak, promptfoo or generic; "" detects it from the content
	Target         string              // the tested element; "" picks the only plausible one
	Date           string              // YYYY-MM-DD overriding the date in the file
	Elements       map[string]string   // element id -> kind, for every component, flow and zone
	Plausible      []string            // the elements a prompt-driven tool could have tested
	KnownTechnique func(string) bool   // the catalogue's techniques
	GarakTags      map[string][]string // garak probe (module.Class) -> tags, from its plugin cache
	Mapping        *mapping.Mapping    // default: mapping.Default()
}

// Result is what an import found.
type Result struct {
	Format   string
	Records  []evidence.Record
	Problems []evidence.Problem // bad lines, rows or results; the good ones are in Records
	Warnings []string
}

// Detect names the format of the file at path from its first bytes.
func Detect(path string) (string, error) {
	f, err := openRegular(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 64<<10)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("%s: %v", path, err)
	}
	return DetectBytes(path, head[:n])
}

// DetectBytes names the format of a file from its first bytes.
func DetectBytes(name string, head []byte) (string, error) {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	if len(trimmed) == 0 {
		return "", fmt.Errorf("%s is empty", name)
	}
	if trimmed[0] != '{' {
		return "", fmt.Errorf("%s is not JSON or JSON lines; expected a garak report (.report.jsonl), promptfoo output (JSON) or mlthreat evidence JSON", name)
	}
	first := trimmed
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	switch {
	case bytes.Contains(first, []byte(`"entry_type"`)):
		return Garak, nil
	case bytes.Contains(first, []byte(`"probe"`)) && bytes.Contains(first, []byte(`"detector"`)) && bytes.Contains(first, []byte(`"attempt_id"`)):
		return "", fmt.Errorf("%s is a garak hit log; import the report beside it (NAME.report.jsonl), which reads its hit log too", name)
	case bytes.Contains(head, []byte(`"mlthreat_evidence"`)):
		return Generic, nil
	case bytes.Contains(head, []byte(`"results"`)) || bytes.Contains(head, []byte(`"evalId"`)):
		return Promptfoo, nil
	}
	return "", fmt.Errorf("%s: cannot tell whether it is garak, promptfoo or mlthreat evidence JSON; pass --tool", name)
}

// Import reads the file at path.
func Import(path string, opt Options) (*Result, error) {
	if opt.Mapping == nil {
		opt.Mapping = mapping.Default()
	}
	if opt.Date != "" && !evidence.ValidDate(opt.Date) {
		return nil, fmt.Errorf("--date %q: expected YYYY-MM-DD", opt.Date)
	}
	format := opt.Tool
	if format == "" {
		var err error
		if format, err = Detect(path); err != nil {
			return nil, err
		}
	}
	if format != Garak && format != Promptfoo && format != Generic {
		return nil, fmt.Errorf("unknown tool %q; expected garak, promptfoo or generic", format)
	}
	res := &Result{Format: format}
	// promptfoo results may name their element in the target's label, and
	// generic results in their own field: for them a missing target is
	// only an error where a result needs it.
	target, terr := opt.target(format)
	if terr != nil && (format == Garak || opt.Target != "") {
		return nil, terr
	}
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	digest := sha256.New()
	in := io.TeeReader(f, digest)
	name := filepath.Base(path)
	switch format {
	case Garak:
		err = res.garak(path, name, in, digest, target, &opt)
	case Promptfoo:
		err = res.promptfoo(name, in, digest, target, terr, &opt)
	default:
		err = res.generic(name, in, digest, target, terr, &opt)
	}
	if err != nil {
		return nil, err
	}
	if res.needsDate() {
		if err := res.dateFromFile(f, name); err != nil {
			return nil, err
		}
	}
	res.finish(name)
	return res, nil
}

func (opt *Options) target(format string) (string, error) {
	if opt.Target != "" {
		if _, ok := opt.Elements[opt.Target]; !ok {
			return "", fmt.Errorf("--target %q is not an element of the model%s", opt.Target, closest(opt.Target, opt.Elements))
		}
		return opt.Target, nil
	}
	switch len(opt.Plausible) {
	case 1:
		return opt.Plausible[0], nil
	case 0:
		return "", fmt.Errorf("%s does not know the model's element ids and the model has no llm, agent or inference-api to assume; name the tested element with --target", format)
	}
	return "", fmt.Errorf("%s does not know the model's element ids; name the tested element with --target (one of %s)", format, strings.Join(opt.Plausible, ", "))
}

func closest(id string, elements map[string]string) string {
	best, bestD := "", 4
	for e := range elements {
		if d := distance(id, e); d < bestD || (d == bestD && e < best) {
			best, bestD = e, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// distance is the Levenshtein distance, capped for long strings.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (res *Result) garak(path, name string, in io.Reader, digest hash.Hash, target string, opt *Options) error {
	rep, err := garak.Read(in, name)
	if err != nil {
		return err
	}
	res.Problems = append(res.Problems, rep.Problems...)
	res.Warnings = append(res.Warnings, rep.Warnings...)
	run := rep.Run
	if run == "" {
		run = digestRun(digest)
	}
	hits := res.hitlog(path, rep.Run)
	date := opt.Date
	if date == "" {
		date = dateOf(rep.Start)
		if rep.Start != "" && date == "" {
			res.Warnings = append(res.Warnings, fmt.Sprintf("start time %q is not an ISO date", rep.Start))
		}
	}
	unknown := map[string]bool{}
	for _, ev := range rep.Evals {
		techs := opt.garakTechniques(ev.Probe, unknown, res)
		r := evidence.Record{
			Tool: "garak", ToolVersion: rep.Version, Run: run, Attack: ev.Probe, Detector: ev.Detector,
			Subject: rep.Subject, Techniques: techs, Target: target, Attempts: ev.Attempts, Successes: ev.Successes,
			Hits: hits[[2]string{ev.Probe, ev.Detector}], Date: date, Source: fmt.Sprintf("%s:%d", name, ev.Line),
		}
		res.Records = append(res.Records, r)
	}
	return nil
}

func (opt *Options) garakTechniques(probe string, unknown map[string]bool, res *Result) []string {
	if row, ok := opt.Mapping.GarakProbe(probe); ok {
		if len(row.Techniques) == 0 && !unknown[probe] {
			unknown[probe] = true
			res.Warnings = append(res.Warnings, fmt.Sprintf("garak %s exercises no ATLAS technique (%s); kept, but it bears on no threat", probe, strings.TrimSuffix(row.Why, ".")))
		}
		return row.Techniques
	}
	if tags, ok := opt.GarakTags[probe]; ok {
		if techs, ok := opt.Mapping.GarakTagTechniques(tags); ok {
			return techs
		}
	}
	if !unknown[probe] {
		unknown[probe] = true
		hint := "; pass garak's plugin cache with --garak-tags to map it through its tags"
		if opt.GarakTags != nil {
			hint = "; none of its tags in the plugin cache has a row either"
		}
		res.Warnings = append(res.Warnings, fmt.Sprintf("garak probe %s is not in mlthreat's mapping: kept, but it bears on no threat until mapped%s", evidence.Printable(probe), hint))
	}
	return nil
}

// hitlog counts the hits logged beside a report (NAME.hitlog.jsonl).
func (res *Result) hitlog(path, run string) map[[2]string]int {
	if !strings.HasSuffix(path, ".report.jsonl") {
		return nil
	}
	hp := strings.TrimSuffix(path, ".report.jsonl") + ".hitlog.jsonl"
	f, err := openRegular(hp)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			res.Warnings = append(res.Warnings, fmt.Sprintf("hit log not read: %v", err))
		}
		return nil
	}
	defer f.Close()
	name := filepath.Base(hp)
	hits, foreign, problems, err := garak.Hitlog(f, name, run)
	if err != nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s: %v; its hits are not counted", name, err))
		return nil
	}
	res.Problems = append(res.Problems, problems...)
	if foreign > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s: %d hits belong to another run than %s; not counted", name, foreign, evidence.Printable(run)))
	}
	return hits
}

func (res *Result) promptfoo(name string, in io.Reader, digest hash.Hash, target string, terr error, opt *Options) error {
	rep, err := promptfoo.Read(in, name)
	if err != nil {
		return err
	}
	res.Problems = append(res.Problems, rep.Problems...)
	res.Warnings = append(res.Warnings, rep.Warnings...)
	if len(rep.Groups) == 0 {
		why := "no rows"
		if rep.Plain > 0 {
			why = fmt.Sprintf("%d rows, none from a red-team plugin (no testCase.metadata.pluginId): a plain evaluation is not evidence", rep.Plain)
		}
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s: %s", name, why))
	} else if rep.Plain > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s: %d rows without a plugin id (plain evaluations) skipped", name, rep.Plain))
	}
	run := rep.EvalID
	if run == "" {
		run = digestRun(digest)
	}
	date := opt.Date
	if date == "" {
		date = dateOf(rep.Timestamp)
	}
	warned := map[string]bool{}
	warn := func(msg string) {
		if !warned[msg] {
			warned[msg] = true
			res.Warnings = append(res.Warnings, msg)
		}
	}
	for _, g := range rep.Groups {
		var techs []string
		if row, ok := opt.Mapping.PromptfooPlugin(g.Plugin); ok {
			techs = append(techs, row.Techniques...)
		} else {
			warn(fmt.Sprintf("promptfoo plugin %s is not in mlthreat's mapping: kept, but it bears on no threat until mapped", evidence.Printable(g.Plugin)))
		}
		if g.Strategy != "" {
			if row, ok := opt.Mapping.PromptfooStrategy(g.Strategy); ok {
				for _, t := range row.Techniques {
					if !slices.Contains(techs, t) {
						techs = append(techs, t)
					}
				}
			} else {
				warn(fmt.Sprintf("promptfoo strategy %s is not in mlthreat's mapping; the plugin's techniques alone are used", evidence.Printable(g.Strategy)))
			}
		}
		if g.Errors > 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: %s: %d rows ended in an error and judged nothing; not counted", name, evidence.Printable(g.Plugin), g.Errors))
		}
		if g.Attempts == 0 {
			continue
		}
		t := target
		if _, ok := opt.Elements[g.Provider]; ok && opt.Target == "" {
			t = g.Provider // the target's label names the element
		} else if terr != nil {
			return fmt.Errorf("%v; or label each promptfoo target with the element id (provider %q is not one)", terr, g.Provider)
		}
		res.Records = append(res.Records, evidence.Record{
			Tool: "promptfoo", ToolVersion: rep.Version, Run: run, Attack: g.Plugin, Strategy: g.Strategy, Subject: g.Provider,
			Techniques: techs, Target: t, Attempts: g.Attempts, Successes: g.Successes, Date: date,
			Source: fmt.Sprintf("%s#results.results[%d]", name, g.First),
		})
	}
	return nil
}

func (res *Result) generic(name string, in io.Reader, digest hash.Hash, target string, terr error, opt *Options) error {
	file, err := generic.Read(in, name)
	if err != nil {
		return err
	}
	res.Problems = append(res.Problems, file.Problems...)
	fallback := digestRun(digest)
	for _, g := range file.Results {
		where := fmt.Sprintf("results[%d]", g.Index)
		bad := func(msg string) {
			res.Problems = append(res.Problems, evidence.Problem{File: name, Msg: where + ": " + msg})
		}
		t := g.Target
		if t == "" {
			if terr != nil {
				bad("no target: " + terr.Error())
				continue
			}
			t = target
		}
		if _, ok := opt.Elements[t]; !ok {
			bad(fmt.Sprintf("target %q is not an element of the model%s", t, closest(t, opt.Elements)))
			continue
		}
		if !evidence.ValidTool(g.Tool) {
			bad(fmt.Sprintf("tool %q: use lower-case letters, digits, '.', '_' or '-'", g.Tool))
			continue
		}
		ok := true
		for _, tech := range g.Techniques {
			if opt.KnownTechnique != nil && !opt.KnownTechnique(tech) {
				bad(fmt.Sprintf("technique %q is not an ATLAS technique in the catalogue", tech))
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		run := g.Run
		if run == "" {
			run = fallback
		}
		date := g.Date
		if opt.Date != "" {
			date = opt.Date
		}
		res.Records = append(res.Records, evidence.Record{
			Tool: g.Tool, ToolVersion: g.ToolVersion, Run: run, Attack: g.Attack, Subject: g.Subject,
			Techniques: g.Techniques, Target: t, Attempts: g.Attempts, Successes: g.Successes, Date: date,
			Note: g.Note, Source: fmt.Sprintf("%s#%s", name, where),
		})
	}
	return nil
}

func (res *Result) needsDate() bool {
	for _, r := range res.Records {
		if r.Date == "" {
			return true
		}
	}
	return false
}

// dateFromFile dates undated records by the file's modification time.
func (res *Result) dateFromFile(f *os.File, name string) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	d := fi.ModTime().UTC().Format("2006-01-02")
	res.Warnings = append(res.Warnings, fmt.Sprintf("%s gives no date for its run; dated %s from the file's modification time (set it with --date)", name, d))
	for i := range res.Records {
		if res.Records[i].Date == "" {
			res.Records[i].Date = d
		}
	}
	return nil
}

// finish gives every record its id, checks it, and folds records that
// share an id (the same result twice in one file) into one.
func (res *Result) finish(name string) {
	var out []evidence.Record
	seen := map[string]int{}
	for _, r := range res.Records {
		sort.Strings(r.Techniques)
		r.ID = evidence.NewID(r.Tool, r.Run, r.Attack, r.Detector, r.Strategy, r.Subject, r.Target)
		if msgs := r.Check(); len(msgs) > 0 {
			res.Problems = append(res.Problems, evidence.Problem{File: name, Msg: r.Source + ": " + strings.Join(msgs, "; ")})
			continue
		}
		if i, dup := seen[r.ID]; dup {
			res.Problems = append(res.Problems, evidence.Problem{File: name, Msg: fmt.Sprintf("%s repeats %s (same tool, run, attack and target); skipped", r.Source, out[i].Source)})
			continue
		}
		seen[r.ID] = len(out)
		out = append(out, r)
	}
	res.Records = out
}

func digestRun(h hash.Hash) string {
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
}

// dateOf takes the date of an ISO 8601 time ("2025-08-28T14:06:47.715886").
func dateOf(ts string) string {
	if len(ts) >= 10 && evidence.ValidDate(ts[:10]) {
		return ts[:10]
	}
	return ""
}

func openRegular(path string) (*os.File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	return os.Open(path)
}

// LoadGarakTags reads garak's plugin cache (plugin_cache.json, or a file
// holding only its "probes" section) and returns each probe's tags.
func LoadGarakTags(path string) (map[string][]string, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	const max = 64 << 20
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if len(data) > max {
		return nil, fmt.Errorf("%s: larger than %d MiB", path, max>>20)
	}
	var cache struct {
		Probes map[string]struct {
			Tags []string `json:"tags"`
		} `json:"probes"`
	}
	if err := json.Unmarshal(data, &cache); err != nil {
		return nil, fmt.Errorf("%s: not a garak plugin cache: %v", path, err)
	}
	if len(cache.Probes) == 0 {
		return nil, fmt.Errorf("%s: no \"probes\" in it; expected garak's plugin_cache.json", path)
	}
	out := map[string][]string{}
	for name, p := range cache.Probes {
		out[strings.TrimPrefix(name, "probes.")] = p.Tags
	}
	return out, nil
}

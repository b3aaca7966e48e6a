package importer_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/evidence/importer"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/sharedtest"
	"github.com/mlthreat/mlthreat/internal/validate"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var today = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

type fixture struct {
	sys *model.System
	cat *catalog.Catalog
	set *rules.Set
}

func load(t *testing.T, path string) *fixture {
	t.Helper()
	cat := catalog.Default()
	set, err := rules.Load(cat)
	if err != nil {
		t.Fatal(err)
	}
	s, ds := validate.File(path, cat, model.DefaultLimits)
	if ds.Errors() > 0 {
		t.Fatal(ds)
	}
	return &fixture{s, cat, set}
}

func (f *fixture) options() importer.Options {
	kinds := map[string]string{}
	var plausible []string
	for _, c := range f.sys.Components {
		kinds[c.ID] = c.Kind
		if c.Kind == "llm" || c.Kind == "agent" || c.Kind == "inference-api" {
			plausible = append(plausible, c.ID)
		}
	}
	for _, fl := range f.sys.Flows {
		kinds[fl.ID] = "flow"
	}
	return importer.Options{Elements: kinds, Plausible: plausible, KnownTechnique: func(id string) bool { return f.cat.Technique(id) != nil }}
}

func (f *fixture) analyze(t *testing.T, recs []evidence.Record) *analysis.Report {
	t.Helper()
	r, err := analysis.Analyze(f.sys, f.cat, f.set, analysis.Options{Today: today, Evidence: recs})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func state(t *analysis.Threat) string {
	s := fmt.Sprintf("L%d x I%d = %d %s, residual %d %s, %s", t.Likelihood.Score, t.Impact.Score, t.Risk, t.Severity, t.Residual.Score, t.Residual.Severity, t.Status)
	if t.Confirmed {
		s += ", CONFIRMED"
	}
	return s
}

// beforeAfter writes an import and what it does to every threat.
func beforeAfter(t *testing.T, f *fixture, file string, res *importer.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "import %s (%s) into %s\n", filepath.Base(file), res.Format, f.sys.Info.ID)
	b.WriteString("records:\n")
	for _, r := range res.Records {
		extra := ""
		if r.Detector != "" {
			extra += " detector " + r.Detector
		}
		if r.Strategy != "" {
			extra += " strategy " + r.Strategy
		}
		if r.Hits > 0 {
			extra += fmt.Sprintf(" hits %d", r.Hits)
		}
		fmt.Fprintf(&b, "  %s %s %s%s on %s: %d of %d on %s -> [%s] from %s\n", r.ID, r.Tool, r.Attack, extra, r.Target, r.Successes, r.Attempts, r.Date, strings.Join(r.Techniques, " "), r.Source)
	}
	for _, p := range res.Problems {
		fmt.Fprintf(&b, "problem: %s\n", p)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	before := f.analyze(t, nil)
	after := f.analyze(t, res.Records)
	byID := map[string]*analysis.Threat{}
	for _, th := range after.Threats {
		byID[th.ID] = th
	}
	b.WriteString("threats:\n")
	for _, th := range before.Threats {
		a := byID[th.ID]
		fmt.Fprintf(&b, "  %s %s %s %s\n", th.ID, th.Target.ID(), th.Technique, th.Rule.ID)
		fmt.Fprintf(&b, "    before: %s\n", state(th))
		if state(a) == state(th) && len(a.Evidence) == 0 {
			b.WriteString("    after:  unchanged, no evidence\n")
			continue
		}
		fmt.Fprintf(&b, "    after:  %s\n", state(a))
		for _, ref := range a.Evidence {
			reason := ""
			if ref.Reason != "" {
				reason = " (" + ref.Reason + ")"
			}
			fmt.Fprintf(&b, "      %s %s%s\n", ref.ID, ref.Outcome, reason)
		}
		if len(a.Likelihood.Factors) > len(th.Likelihood.Factors) {
			fmt.Fprintf(&b, "      likelihood factor: %s\n", a.Likelihood.Factors[len(a.Likelihood.Factors)-1])
		}
		for _, fct := range a.Residual.Factors[len(th.Residual.Factors):] {
			fmt.Fprintf(&b, "      residual factor: %s\n", fct)
		}
	}
	for _, v := range after.Verified {
		fmt.Fprintf(&b, "verified: control %s by %s on %s\n", v.Control, strings.Join(v.Evidence, ", "), strings.Join(v.Threats, ", "))
	}
	for _, u := range after.Unmatched {
		fmt.Fprintf(&b, "bears on no threat: %s %s\n", u.ID, u.Label())
	}
	return b.String()
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// Each of garak's samples, imported into the chatbot model: what the threats
// were before and are after (golden files in testdata/golden).
func TestGarakSamplesBeforeAfter(t *testing.T) {
	f := load(t, "testdata/chatbot.yaml")
	dir := filepath.Join(sharedtest.DataDir(t), "samples", "garak")
	for _, name := range []string{"quack", "qual_review_mixed", "test_with_ci"} {
		t.Run(name, func(t *testing.T) {
			opt := f.options()
			if name == "qual_review_mixed" {
				opt.Date = "2026-11-20" // the fixture carries no date
			}
			path := filepath.Join(dir, name+".report.jsonl")
			res, err := importer.Import(path, opt)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "golden", name+".txt"), beforeAfter(t, f, path, res))
		})
	}
}

// Our own fixtures: garak 0.16 with a hit log, 0.9 and a newer version
// than this build knows, a truncated report, promptfoo red-team output,
// and evidence JSON against the sentiment example.
func TestFixturesBeforeAfter(t *testing.T) {
	chat := load(t, "testdata/chatbot.yaml")
	sentiment := load(t, "../../../examples/sentiment-api/system.yaml")
	cases := []struct {
		name, file string
		f          *fixture
	}{
		{"garak-0.16", "../garak/testdata/chatbot-0.16.report.jsonl", chat},
		{"garak-0.9", "../garak/testdata/v0.9.report.jsonl", chat},
		{"garak-future", "../garak/testdata/future.report.jsonl", chat},
		{"garak-truncated", "../garak/testdata/truncated.report.jsonl", chat},
		{"promptfoo-redteam", "../promptfoo/testdata/redteam.json", chat},
		{"generic-art", "../generic/testdata/art.json", sentiment},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := importer.Import(c.file, c.f.options())
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "golden", c.name+".txt"), beforeAfter(t, c.f, c.file, res))
		})
	}
}

func TestDetect(t *testing.T) {
	cases := map[string]string{
		`{"entry_type": "init"}` + "\n":                                   importer.Garak,
		"\xef\xbb\xbf  \n" + `{"entry_type":"eval"}`:                      importer.Garak,
		`{"mlthreat_evidence": 1, "results": []}`:                         importer.Generic,
		"{\n  \"evalId\": \"e\",\n  \"results\": {}\n}":                   importer.Promptfoo,
		`{"goal": "g", "probe": "p", "detector": "d", "attempt_id": "a"}`: "hit log",
		"":         "empty",
		"[1]":      "not JSON or JSON lines",
		`{"a": 1}`: "pass --tool",
	}
	for in, want := range cases {
		got, err := importer.DetectBytes("f", []byte(in))
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, want) {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestTargets(t *testing.T) {
	f := load(t, "../../../examples/llm-rag-assistant/system.yaml")
	opt := f.options()
	report := "../garak/testdata/chatbot-0.16.report.jsonl"
	if _, err := importer.Import(report, opt); err == nil || !strings.Contains(err.Error(), "one of chat-api, orchestrator, support-llm") {
		t.Errorf("several plausible elements: %v", err)
	}
	opt.Target = "suport-llm"
	if _, err := importer.Import(report, opt); err == nil || !strings.Contains(err.Error(), `did you mean "support-llm"`) {
		t.Errorf("misspelt target: %v", err)
	}
	opt.Target = "support-llm"
	res, err := importer.Import(report, opt)
	if err != nil || len(res.Records) != 5 || res.Records[0].Target != "support-llm" {
		t.Fatalf("%v %+v", err, res)
	}
	// promptfoo targets labelled with an element need no --target; others do.
	opt.Target = ""
	if _, err := importer.Import("../promptfoo/testdata/unlabelled.json", opt); err == nil || !strings.Contains(err.Error(), "label each promptfoo target") {
		t.Errorf("unlabelled promptfoo: %v", err)
	}
	chat := load(t, "testdata/chatbot.yaml")
	res, err = importer.Import("../promptfoo/testdata/redteam.json", chat.options())
	if err != nil || res.Records[0].Target != "bot" {
		t.Fatalf("labelled promptfoo: %v %+v", err, res)
	}
	// Evidence JSON names its own targets, checked against the model.
	res, err = importer.Import("../generic/testdata/art.json", chat.options())
	if err != nil || len(res.Records) != 0 || len(res.Problems) != 4 || !strings.Contains(res.Problems[0].Msg, `target "model" is not an element of the model`) {
		t.Errorf("generic targets: %v %+v", err, res)
	}
}

func TestUnknownTechnique(t *testing.T) {
	f := load(t, "../../../examples/sentiment-api/system.yaml")
	p := filepath.Join(t.TempDir(), "e.json")
	os.WriteFile(p, []byte(`{"mlthreat_evidence": 1, "tool": "manual", "date": "2026-11-01", "results": [
		{"attack": "a", "technique": "AML.T0999", "target": "api", "attempts": 5, "successes": 1},
		{"attack": "b", "technique": "AML.T0043", "target": "api", "attempts": 5, "successes": 1},
		{"attack": "b", "technique": "AML.T0043", "target": "api", "attempts": 9, "successes": 1}]}`), 0o644)
	res, err := importer.Import(p, f.options())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 1 || len(res.Problems) != 2 || !strings.Contains(res.Problems[0].Msg, "AML.T0999") || !strings.Contains(res.Problems[1].Msg, "repeats") {
		t.Errorf("%+v", res)
	}
}

// Importing the same report twice adds nothing: the evidence file stays
// byte for byte the same.
func TestImportTwice(t *testing.T) {
	f := load(t, "testdata/chatbot.yaml")
	path := filepath.Join(t.TempDir(), "chatbot.evidence.yaml")
	for i := 0; i < 2; i++ {
		res, err := importer.Import("../garak/testdata/chatbot-0.16.report.jsonl", f.options())
		if err != nil {
			t.Fatal(err)
		}
		existing, _ := evidence.Load(path)
		all, added, skipped := evidence.Merge(existing, res.Records)
		if i == 1 && (len(added) != 0 || len(skipped) != 5) {
			t.Errorf("second import added %d, skipped %d", len(added), len(skipped))
		}
		var b bytes.Buffer
		evidence.Write(&b, "chatbot.yaml", all)
		if i == 1 {
			first, _ := os.ReadFile(path)
			if !bytes.Equal(first, b.Bytes()) {
				t.Error("the file changed on the second import")
			}
		}
		if err := evidence.WriteFile(path, "chatbot.yaml", all); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := evidence.Load(path)
	if err != nil || len(recs) != 5 {
		t.Fatalf("%v %d", err, len(recs))
	}
	written, _ := os.ReadFile(path)
	golden(t, filepath.Join("testdata", "golden", "chatbot.evidence.yaml"), string(written))
	r := f.analyze(t, append(recs, recs...))
	for _, th := range r.Threats {
		seen := map[string]bool{}
		for _, ref := range th.Evidence {
			if seen[ref.ID] {
				t.Errorf("%s cites %s twice", th.ID, ref.ID)
			}
			seen[ref.ID] = true
		}
	}
}

func TestGarakTags(t *testing.T) {
	tags, err := importer.LoadGarakTags(filepath.Join(sharedtest.DataDir(t), "samples", "garak", "probe_tags.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tags["promptinject.HijackHateHumans"]) == 0 {
		t.Fatal("tags not read")
	}
	f := load(t, "testdata/chatbot.yaml")
	opt := f.options()
	opt.GarakTags = map[string][]string{"newmodule.BrandNewProbe": {"owasp:llm01", "payload:jailbreak"}}
	res, err := importer.Import("../garak/testdata/future.report.jsonl", opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 2 || strings.Join(res.Records[1].Techniques, " ") != "AML.T0051" {
		t.Errorf("mapped through tags: %+v", res.Records)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "cache.json")
	os.WriteFile(bad, []byte(`{"detectors": {}}`), 0o644)
	if _, err := importer.LoadGarakTags(bad); err == nil {
		t.Error("a cache without probes was accepted")
	}
}

// Names from a hostile report cannot carry terminal escapes into the
// evidence file, the reports or the terminal.
func TestControlCharacters(t *testing.T) {
	f := load(t, "testdata/chatbot.yaml")
	p := filepath.Join(t.TempDir(), "x.report.jsonl")
	os.WriteFile(p, []byte(`{"entry_type": "init", "garak_version": "0.16.0\u001b[2J", "start_time": "2026-11-02T00:00:00", "run": "r"}
{"entry_type": "eval", "probe": "dan.\u001b[31mRed", "detector": "d.D", "passed": 1, "fails": 1, "nones": 0, "total_evaluated": 2}
{"entry_type": "eval", "probe": "dan.Dan_11_0", "detector": "d.D", "passed": 1, "fails": 1, "nones": 0, "total_evaluated": 2}
`), 0o644)
	res, err := importer.Import(p, f.options())
	if err != nil {
		t.Fatal(err)
	}
	all := fmt.Sprint(res.Warnings, res.Problems)
	if strings.ContainsRune(all, 0x1b) {
		t.Errorf("an escape reached a message: %q", all)
	}
	if len(res.Records) != 0 || len(res.Problems) != 2 || !strings.Contains(res.Problems[0].Msg, "control characters") {
		t.Errorf("records %+v problems %v", res.Records, res.Problems)
	}
}

package analysis_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/report/jsonreport"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/validate"
)

var today = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

func analyzeFile(t *testing.T, path string) *analysis.Report {
	t.Helper()
	cat := catalog.Default()
	set, err := rules.Load(cat)
	if err != nil {
		t.Fatal(err)
	}
	s, ds := validate.File(path, cat, model.DefaultLimits)
	if ds.Errors() > 0 {
		t.Fatalf("%v", ds)
	}
	r, err := analysis.Analyze(s, cat, set, analysis.Options{Today: today})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func analyzeText(t *testing.T, src string) *analysis.Report {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return analyzeFile(t, p)
}

const example = "../../examples/sentiment-api/system.yaml"

func techniques(r *analysis.Report) map[string]bool {
	out := map[string]bool{}
	for _, t := range r.Threats {
		out[t.Technique] = true
		for _, x := range t.Related {
			out[x] = true
		}
	}
	return out
}

func TestSentimentExample(t *testing.T) {
	r := analyzeFile(t, example)
	techs := techniques(r)
	hasPrefix := func(p string) bool {
		for k := range techs {
			if strings.HasPrefix(k, p) {
				return true
			}
		}
		return false
	}
	for _, want := range []string{"AML.T0043", "AML.T0024"} {
		if !hasPrefix(want) {
			t.Errorf("no %s threat: %v", want, techs)
		}
	}
	staging := false
	for _, th := range r.Threats {
		for _, ta := range th.Tactics {
			staging = staging || ta == "AML.TA0001"
		}
		if th.Risk != th.Likelihood.Score*th.Impact.Score || th.Severity != analysis.Severity(th.Risk) {
			t.Errorf("%s: inconsistent risk", th.ID)
		}
		if th.Residual.Score > th.Risk {
			t.Errorf("%s: residual above inherent", th.ID)
		}
		if len(th.Likelihood.Factors) == 0 || len(th.Impact.Factors) == 0 {
			t.Errorf("%s: unexplained score", th.ID)
		}
	}
	if !staging {
		t.Error("the beginner scenario needs AI Attack Staging threats")
	}
}

func TestSeverityBands(t *testing.T) {
	for score, want := range map[int]string{1: "low", 4: "low", 5: "medium", 9: "medium", 10: "high", 16: "high", 20: "critical", 25: "critical"} {
		if got := analysis.Severity(score); got != want {
			t.Errorf("Severity(%d) = %s, want %s", score, got, want)
		}
	}
}

func render(t *testing.T, r *analysis.Report) []byte {
	var b bytes.Buffer
	if err := (jsonreport.Writer{Version: "test"}).Write(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDeterministicOutput(t *testing.T) {
	first := render(t, analyzeFile(t, example))
	for i := 0; i < 5; i++ {
		if !bytes.Equal(first, render(t, analyzeFile(t, example))) {
			t.Fatal("JSON output differs between runs")
		}
	}
}

func ids(r *analysis.Report) map[string]string {
	out := map[string]string{}
	for _, t := range r.Threats {
		out[t.ID] = t.Rule.ID + "@" + t.Target.ID()
	}
	return out
}

func TestStableIDs(t *testing.T) {
	src, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	base := ids(analyzeText(t, string(src)))
	// Reorder flows and components, reformat, and make an unrelated edit.
	text := string(src)
	text = strings.Replace(text, "  - {id: f1, from: client", "  - {id: f0, from: registry, to: preprocess, data: [tokens]}\n  - {id: f1, from: client", 1)
	text = strings.Replace(text, "description: >-", "description: >-\n    Reviewed yearly.", 1)
	edited := ids(analyzeText(t, text))
	for id, what := range base {
		if edited[id] != what {
			t.Errorf("threat %s (%s) changed after an unrelated edit", id, what)
		}
	}
	if got := analysis.StableID("r", "e", "AML.T0001"); got != analysis.StableID("r", "e", "AML.T0001") || !strings.HasPrefix(got, "T-") || len(got) != 10 {
		t.Errorf("StableID %s", got)
	}
}

const tabular = `mlthreat: 1
system: {id: batch-scoring, name: Batch scoring, criticality: medium}
zones:
  - {id: dc, trust: restricted}
components:
  - {id: warehouse, kind: datastore, zone: dc, props: {stores: [features], access_control: role-based}}
  - {id: scorer, kind: model, zone: dc, props: {task: regression, modality: tabular, origin: in-house, artifact_format: onnx}}
flows:
  - {id: f1, from: warehouse, to: scorer, data: [rows]}
data:
  - {id: rows, classification: internal}
`

func TestPrecision(t *testing.T) {
	r := analyzeText(t, tabular)
	for _, th := range r.Threats {
		if strings.HasPrefix(th.Technique, "AML.T0051") || strings.HasPrefix(th.Technique, "AML.T0054") {
			t.Errorf("tabular model got an LLM threat: %s %s", th.Rule.ID, th.Technique)
		}
		if strings.HasPrefix(th.Technique, "AML.T0024") {
			t.Errorf("offline batch model got an inference-API threat: %s", th.Rule.ID)
		}
	}
}

func TestControlsLowerResidual(t *testing.T) {
	src, _ := os.ReadFile(example)
	before := analyzeText(t, string(src))
	with := string(src) + `  - id: quotas
    name: Per-key quotas at the gateway
    mitigates: [AML.M0004]
    applies_to: [api]
    status: implemented
`
	after := analyzeText(t, with)
	find := func(r *analysis.Report, rule string) *analysis.Threat {
		for _, th := range r.Threats {
			if th.Rule.ID == rule {
				return th
			}
		}
		t.Fatalf("no %s", rule)
		return nil
	}
	b, a := find(before, "inference-api.model-extraction"), find(after, "inference-api.model-extraction")
	if a.Residual.Score >= b.Residual.Score {
		t.Errorf("rate limiting should lower extraction's residual: %d -> %d", b.Residual.Score, a.Residual.Score)
	}
	if a.Risk != b.Risk {
		t.Error("controls must not change inherent risk")
	}
	found := false
	for _, m := range a.Mitigations {
		if m.ID == "AML.M0004" && m.Control == "quotas" && m.Status == "implemented" {
			found = true
		}
	}
	if !found {
		t.Errorf("mitigation status: %+v", a.Mitigations)
	}
}

func TestDecisions(t *testing.T) {
	src, _ := os.ReadFile(example)
	r := analyzeText(t, string(src))
	var ext string
	for _, th := range r.Threats {
		if th.Rule.ID == "inference-api.model-extraction" {
			ext = th.ID
		}
	}
	add := func(entries string) *analysis.Report {
		return analyzeText(t, string(src)+"risk_tracking:\n"+entries)
	}
	r = add("  - {threat: " + ext + ", status: accepted, justification: partners need scores, owner: jane@example.com, until: 2027-03-01}\n")
	for _, th := range r.Threats {
		if th.ID == ext && th.Status != "accepted" {
			t.Errorf("status %s", th.Status)
		}
	}
	r = add("  - {threat: " + ext + ", status: accepted, justification: old, owner: jane@example.com, until: 2026-01-01}\n  - {threat: T-00000000, status: mitigated}\n  - {threat: " + ext + ", status: false-positive}\n")
	for _, th := range r.Threats {
		if th.ID == ext && th.Status != "open" {
			t.Errorf("expired acceptance must reopen: %s", th.Status)
		}
	}
	notes := ""
	for _, n := range r.Notes {
		notes += n.Message + "\n"
	}
	for _, want := range []string{"expired on 2026-01-01", "T-00000000, which the analysis no longer derives", "needs a justification and an owner"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
}

func TestRuntimeErrorNamesRule(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x.yaml"), []byte(`pack: x
rules:
  - id: x.bad-index
    title: Bad index
    applies_to: [model]
    when: props.task == 'classification' && data[5].pii
    technique: AML.T0015
    rationale: Fails at run time on purpose.
`), 0o644)
	cat := catalog.Default()
	set, err := rules.Load(cat, dir)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := validate.File(example, cat, model.DefaultLimits)
	_, err = analysis.Analyze(s, cat, set, analysis.Options{Today: today})
	if err == nil || !strings.Contains(err.Error(), "x.yaml:3: rule x.bad-index failed on model") {
		t.Errorf("want an error naming the rule and file:line, got %v", err)
	}
}

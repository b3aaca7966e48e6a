package diff_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/diff"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/validate"
)

var today = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

func analyzeText(t *testing.T, src string) *analysis.Report {
	t.Helper()
	p := filepath.Join(t.TempDir(), "system.yaml")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cat := catalog.Default()
	set, err := rules.Load(cat)
	if err != nil {
		t.Fatal(err)
	}
	s, ds := validate.File(p, cat, model.DefaultLimits)
	if ds.Errors() > 0 {
		t.Fatal(ds)
	}
	r, err := analysis.Analyze(s, cat, set, analysis.Options{Today: today})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func example(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../examples/sentiment-api/system.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func edit(t *testing.T, src, old, cur string) string {
	t.Helper()
	if !strings.Contains(src, old) {
		t.Fatalf("example lacks %q", old)
	}
	return strings.Replace(src, old, cur, 1)
}

func ids(ts []diff.Threat) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

func TestSameModelIsEmpty(t *testing.T) {
	r := analyzeText(t, example(t))
	d := diff.Compare(r, analyzeText(t, example(t)))
	if !d.Empty() || len(d.Added)+len(d.Removed)+len(d.Changed) != 0 {
		t.Fatalf("want no changes: %+v", d)
	}
	if d.Risk.Old != d.Risk.New || d.Risk.Old == 0 || d.Old.Threats != len(r.Threats) {
		t.Errorf("risk %+v, sides %+v %+v", d.Risk, d.Old, d.New)
	}
}

// Removing the gateway validation raises the adversarial-input threat on the
// API to critical; a new training job brings poisoning threats and the
// Resource Development tactic; implementing a planned control lowers one.
func TestExampleChange(t *testing.T) {
	src := example(t)
	before := analyzeText(t, src)
	src = edit(t, src, `  - id: gateway-input-validation
    name: Input length and charset validation at the gateway
    mitigates: [AML.M0015, MLT-C-INPUT-VALIDATION]
    applies_to: [api]
    status: implemented
`, "  - id: log-access-2\n    name: Second log control\n    mitigates: [MLT-C-LOG-RETENTION]\n    applies_to: [logs]\n    status: planned\n")
	src = edit(t, src, "    evidence: [docs/gateway-config.md]\n", "")
	src = edit(t, src, "    applies_to: [postprocess]\n    status: planned", "    applies_to: [postprocess]\n    status: implemented")
	src = edit(t, src, "\nflows:\n", `
  - {id: retrain, name: Weekly retraining, kind: training, zone: ml-ops}

flows:
  - {id: f9, from: logs, to: retrain, data: [review-text]}
`)
	after := analyzeText(t, src)
	d := diff.Compare(before, after)

	added := ids(d.Added)
	if !slices.Contains(added, "T-ee16f975") || len(d.Removed) != 0 {
		t.Errorf("added %v, removed %v", added, ids(d.Removed))
	}
	var adv *diff.Change
	for i, c := range d.Changed {
		if c.ID == "T-a84243df" {
			adv = &d.Changed[i]
		}
	}
	if adv == nil || adv.Old.Severity != "high" || adv.New.Severity != "critical" || adv.Target != "api" || adv.Title == "" {
		t.Errorf("T-a84243df should rise from high to critical: %+v", adv)
	}
	if !slices.Contains(d.Techniques.Added, "AML.T0020") || !slices.Contains(d.Tactics.Added, "AML.TA0003") || len(d.Techniques.Removed) != 0 {
		t.Errorf("techniques %+v, tactics %+v", d.Techniques, d.Tactics)
	}
	want := diff.Controls{
		Added:   []diff.Control{{ID: "log-access-2", Name: "Second log control", Status: "planned"}},
		Removed: []diff.Control{{ID: "gateway-input-validation", Name: "Input length and charset validation at the gateway", Status: "implemented"}},
		Changed: []diff.ControlChange{{ID: "confidence-thresholding", Name: d.Controls.Changed[0].Name, OldStatus: "planned", NewStatus: "implemented"}},
	}
	if !slices.Equal(d.Controls.Added, want.Added) || !slices.Equal(d.Controls.Removed, want.Removed) || !slices.Equal(d.Controls.Changed, want.Changed) {
		t.Errorf("controls %+v", d.Controls)
	}

	// The risk sums are those of the open threats on each side.
	sum := func(r *analysis.Report) int {
		n := 0
		for _, t := range r.Threats {
			if t.Status == "open" || t.Status == "in-progress" {
				n += t.Residual.Score
			}
		}
		return n
	}
	if d.Risk.Old != sum(before) || d.Risk.New != sum(after) || d.Risk.Delta() <= 0 {
		t.Errorf("risk %+v", d.Risk)
	}
	if d.Risk.NewBySeverity["critical"] <= d.Risk.OldBySeverity["critical"] {
		t.Errorf("critical counts %+v", d.Risk)
	}

	// The reverse change mirrors it.
	back := diff.Compare(after, before)
	if !slices.Equal(ids(back.Removed), ids(d.Added)) || back.Risk.Delta() != -d.Risk.Delta() ||
		!slices.Equal(back.Tactics.Removed, d.Tactics.Added) || len(back.Controls.Added) != 1 || back.Controls.Added[0].ID != "gateway-input-validation" {
		t.Errorf("reverse: removed %v, risk %+v, tactics %+v, controls %+v", ids(back.Removed), back.Risk, back.Tactics, back.Controls)
	}

	// --fail-on-new high: exactly the added open high and critical threats;
	// not T-a84243df, which was high already.
	var severe []string
	for _, a := range d.Added {
		if a.Unmitigated() && (a.Severity == "high" || a.Severity == "critical") {
			severe = append(severe, a.ID)
		}
	}
	tripped := tripIDs(d.Tripped("high"))
	if !slices.Equal(tripped, severe) || !slices.Contains(tripped, "T-ee16f975") {
		t.Errorf("tripped at high: %v, want %v", tripped, severe)
	}
	// At critical, T-a84243df newly crosses the line.
	if tc := tripIDs(d.Tripped("critical")); !slices.Contains(tc, "T-a84243df") || slices.Contains(tc, "T-ee16f975") {
		t.Errorf("tripped at critical: %v", tc)
	}
	if len(diff.Compare(before, before).Tripped("low")) != 0 {
		t.Error("no change trips nothing")
	}
}

func tripIDs(ts []diff.Trip) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

func report(ts ...*analysis.Threat) *analysis.Report {
	return &analysis.Report{System: &model.System{File: "m.yaml"}, Catalog: catalog.Default(), Threats: ts}
}

func th(id, rule, target, sev string, score int, status string) *analysis.Threat {
	return &analysis.Threat{ID: id, Rule: &rules.Rule{ID: rule, Title: rule}, Target: analysis.Target{Component: target}, Technique: "AML.T0043",
		Tactics: []string{"AML.TA0001"}, Residual: analysis.Residual{Score: score, Severity: sev}, Status: status}
}

// Decisions: accepted, mitigated and false-positive threats leave the risk
// sum; in-progress ones stay. An accepted threat reopening trips the gate.
func TestStatuses(t *testing.T) {
	before := report(th("T-1", "r1", "a", "high", 12, "accepted"), th("T-2", "r2", "a", "high", 12, "in-progress"), th("T-3", "r3", "a", "medium", 6, "mitigated"))
	after := report(th("T-1", "r1", "a", "high", 12, "open"), th("T-2", "r2", "a", "high", 12, "in-progress"), th("T-3", "r3", "a", "medium", 6, "false-positive"))
	d := diff.Compare(before, after)
	if d.Risk.Old != 12 || d.Risk.New != 24 || d.Old.Open != 1 || d.New.Open != 2 {
		t.Errorf("risk %+v, open %d -> %d", d.Risk, d.Old.Open, d.New.Open)
	}
	if len(d.Changed) != 2 || d.Changed[0].ID != "T-1" || d.Changed[0].Old.Status != "accepted" || d.Changed[0].New.Status != "open" {
		t.Errorf("changed %+v", d.Changed)
	}
	if got := d.Tripped("high"); len(got) != 1 || got[0].ID != "T-1" || got[0].Old == nil || got[0].Old.Status != "accepted" {
		t.Errorf("tripped %+v", got)
	}
	if d.Techniques.Added != nil || d.Tactics.Added != nil {
		t.Errorf("same techniques: %+v %+v", d.Techniques, d.Tactics)
	}
}

// Threat ids are 32-bit hashes: two threats sharing an id are still told
// apart by rule, element and technique.
func TestIDCollision(t *testing.T) {
	before := report(th("T-1", "r1", "a", "low", 2, "open"))
	after := report(th("T-1", "r1", "a", "low", 2, "open"), th("T-1", "r2", "b", "high", 15, "open"))
	d := diff.Compare(before, after)
	if len(d.Added) != 1 || d.Added[0].Target != "b" || len(d.Changed) != 0 {
		t.Errorf("added %+v, changed %+v", d.Added, d.Changed)
	}
}

func TestOrder(t *testing.T) {
	after := report(
		th("T-b", "r1", "a", "medium", 6, "open"),
		th("T-a", "r2", "a", "medium", 6, "open"),
		th("T-c", "r3", "a", "high", 10, "open"),
		th("T-d", "r4", "a", "high", 16, "accepted"),
		th("T-e", "r5", "a", "critical", 20, "open"),
	)
	d := diff.Compare(report(), after)
	if got := ids(d.Added); !slices.Equal(got, []string{"T-e", "T-d", "T-c", "T-a", "T-b"}) {
		t.Errorf("order %v", got)
	}
	if got := tripIDs(d.Tripped("high")); !slices.Equal(got, []string{"T-e", "T-c"}) {
		t.Errorf("tripped %v (an accepted threat does not trip)", got)
	}
}

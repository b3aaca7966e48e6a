package gap_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/validate"
)

var today = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

func fraud(t *testing.T) (*model.System, *catalog.Catalog, *rules.Set, *gap.Crosswalk) {
	t.Helper()
	cat := catalog.Default()
	set, err := rules.Load(cat)
	if err != nil {
		t.Fatal(err)
	}
	cw, err := gap.Load(cat)
	if err != nil {
		t.Fatal(err)
	}
	s, ds := validate.File("../../examples/fraud-detection/system.yaml", cat, model.DefaultLimits)
	if ds.Errors() > 0 {
		t.Fatal(ds)
	}
	return s, cat, set, cw
}

func TestFraudGap(t *testing.T) {
	s, cat, set, cw := fraud(t)
	if got := gap.DefaultProfile(s); got != "high-risk" {
		t.Errorf("a critical system should default to high-risk, got %s", got)
	}
	prof, _ := gap.BuiltinProfile("high-risk", s, cat)
	r, err := gap.Analyze(s, cat, set, cw, prof, gap.Options{Today: today})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Subcategories) != 72 {
		t.Fatalf("%d subcategories, want 72", len(r.Subcategories))
	}
	valid := []string{gap.Met, gap.Partial, gap.Gap, gap.NotApplicable}
	fnHits := map[string]bool{}
	var t0020 []string
	for _, sc := range r.Subcategories {
		if !slices.Contains(valid, sc.Status) {
			t.Errorf("%s: status %q", sc.ID, sc.Status)
		}
		for _, sp := range sc.Supporters {
			if sp.ID == "monitoring" || sp.ID == "retraining-approval" || sp.ID == "drift-detection" {
				fnHits[sc.Function] = true
			}
		}
		if sc.ID == "MEASURE 2.1" {
			found := false
			for _, sp := range sc.Supporters {
				found = found || (sp.ID == "pre-deployment-testing" && sp.Kind == "practice")
			}
			if !found || sc.Status != gap.Met {
				t.Errorf("MEASURE 2.1 must be judged against the declared evaluation practice: %+v", sc)
			}
		}
		for _, th := range sc.Threats {
			if strings.HasPrefix(th.Technique, "AML.T0020") && sc.BelowTarget {
				t0020 = append(t0020, sc.ID)
			}
		}
	}
	if len(fnHits) < 3 {
		t.Errorf("retraining and monitoring should map onto at least three functions: %v", fnHits)
	}
	var measure, manage bool
	for _, id := range t0020 {
		measure = measure || strings.HasPrefix(id, "MEASURE")
		manage = manage || strings.HasPrefix(id, "MANAGE")
	}
	if !measure || !manage {
		t.Errorf("poisoning (AML.T0020) should be linked to MEASURE and MANAGE gaps, got %v", t0020)
	}
	if len(r.Roadmap) == 0 {
		t.Fatal("empty roadmap")
	}
	first := r.Roadmap[0]
	ratio := func(it gap.Item) float64 { return float64(it.RiskReduction) / gap.EffortUnits[it.Effort] }
	for _, it := range r.Roadmap[1:] {
		if len(it.DependsOn) == 0 && ratio(it) > ratio(first) {
			t.Errorf("item %s removes more risk per effort (%.1f) than the first, %s (%.1f)", it.ID, ratio(it), first.ID, ratio(first))
		}
	}
	for i, it := range r.Roadmap {
		if it.Rank != i+1 || (it.Phase != 30 && it.Phase != 60 && it.Phase != 90) {
			t.Errorf("item %d: rank %d phase %d", i, it.Rank, it.Phase)
		}
	}
}

// The first item's risk reduction must equal what analyze says once the
// control is in place.
func TestRoadmapMatchesReanalysis(t *testing.T) {
	s, cat, set, cw := fraud(t)
	prof, _ := gap.BuiltinProfile("high-risk", s, cat)
	r, err := gap.Analyze(s, cat, set, cw, prof, gap.Options{Today: today})
	if err != nil {
		t.Fatal(err)
	}
	var item *gap.Item
	for i := range r.Roadmap {
		if r.Roadmap[i].Kind != "practice" {
			item = &r.Roadmap[i]
			break
		}
	}
	if item == nil {
		t.Fatal("no control on the roadmap")
	}
	sum := func(ar *analysis.Report) int {
		n := 0
		for _, th := range ar.Threats {
			if th.Status == "open" {
				n += th.Residual.Score
			}
		}
		return n
	}
	before, _ := analysis.Analyze(s, cat, set, analysis.Options{Today: today})
	if item.Existing != "" {
		for _, c := range s.Controls {
			if c.ID == item.Existing {
				c.Status = "implemented"
			}
		}
	} else {
		s.Controls = append(s.Controls, &model.Control{ID: "test", Mitigates: []string{item.ID}, Status: "implemented"})
	}
	after, _ := analysis.Analyze(s, cat, set, analysis.Options{Today: today})
	if got := sum(before) - sum(after); got != item.RiskReduction {
		t.Errorf("roadmap says %s removes %d, re-analysis says %d", item.ID, item.RiskReduction, got)
	}
}

func TestProfileFileAndEffort(t *testing.T) {
	s, cat, set, cw := fraud(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "p.yaml")
	os.WriteFile(p, []byte("name: bank-minimum\ndefault: partial\nrequired: {MS-2.7: met, GV-1.6: met}\nnot_applicable: {MEASURE 2.12: no model training on our own hardware}\nmax_evidence_age_days: 30\n"), 0o644)
	prof, err := gap.LoadProfile(p, cat)
	if err != nil {
		t.Fatal(err)
	}
	if prof.Required["MEASURE 2.7"] != "met" || prof.NotApplicable["MEASURE 2.12"] == "" {
		t.Fatalf("%+v", prof)
	}
	r, err := gap.Analyze(s, cat, set, cw, prof, gap.Options{Today: today, Effort: map[string]string{"MLT-C-SECRETS-MANAGEMENT": "L"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range r.Subcategories {
		if sc.ID == "MEASURE 2.12" && (sc.Status != gap.NotApplicable || sc.Reason == "") {
			t.Errorf("MEASURE 2.12: %+v", sc)
		}
	}
	for _, it := range r.Roadmap {
		if it.ID == "MLT-C-SECRETS-MANAGEMENT" && it.Effort != "L" {
			t.Errorf("effort override ignored: %s", it.Effort)
		}
	}
	os.WriteFile(p, []byte("required: {GOVERN 9.9: met}\n"), 0o644)
	if _, err := gap.LoadProfile(p, cat); err == nil || !strings.Contains(err.Error(), "GOVERN 9.9") {
		t.Errorf("unknown subcategory must fail: %v", err)
	}
}

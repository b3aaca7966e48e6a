package eval_test

import (
	"testing"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/eval"
	"github.com/mlthreat/mlthreat/internal/rules"
)

// The rules must find what real attackers did: over the modelled victim
// systems of at least 20 ATLAS case studies, system-facing recall at least
// 90% and all-steps recall at least 70%.
func TestRecallOnATLASCases(t *testing.T) {
	cat := catalog.Default()
	set, err := rules.Load(cat)
	if err != nil {
		t.Fatal(err)
	}
	res, err := eval.Run("../../eval/atlas-cases", cat, set)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cases) < 20 {
		t.Fatalf("%d case models, want at least 20", len(res.Cases))
	}
	seen := map[string]bool{}
	for _, c := range res.Cases {
		if seen[c.CaseStudy] {
			t.Errorf("%s is modelled twice", c.CaseStudy)
		}
		seen[c.CaseStudy] = true
		all, facing := c.Recall()
		t.Logf("%s all %.0f%% facing %.0f%% flagged %d missed %v", c.CaseStudy, 100*all, 100*facing, c.Flagged, c.Missed)
	}
	all, facing, flagged := res.Totals()
	t.Logf("total: all steps %.1f%%, system-facing %.1f%%, %.1f techniques flagged per system", 100*all, 100*facing, flagged)
	if facing < 0.90 {
		t.Errorf("system-facing recall %.1f%%, want at least 90%%", 100*facing)
	}
	if all < 0.70 {
		t.Errorf("all-steps recall %.1f%%, want at least 70%%", 100*all)
	}
}

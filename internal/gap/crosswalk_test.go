package gap_test

import (
	"testing"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/gap"
)

// Every subcategory must be reachable through a control or a practice, every
// ATLAS mitigation and mlthreat control must be mapped, and every id must
// exist (Load refuses unknown ones).
func TestCrosswalkCoverage(t *testing.T) {
	cat := catalog.Default()
	cw, err := gap.Load(cat)
	if err != nil {
		t.Fatal(err)
	}
	if u := cw.Unreachable(cat); len(u) > 0 {
		t.Errorf("%d subcategories unreachable: %v", len(u), u)
	}
	for _, m := range cat.ATLAS.Mitigations {
		if len(cw.From(m.ID)) == 0 {
			t.Errorf("ATLAS mitigation %s maps to no subcategory", m.ID)
		}
	}
	for _, c := range cat.Controls {
		if len(cw.From(c.ID)) == 0 {
			t.Errorf("control %s maps to no subcategory", c.ID)
		}
	}
	for _, want := range []string{"ai-policy", "model-inventory", "monitoring", "drift-detection", "incident-response", "decommissioning", "red-teaming", "retraining-approval", "documentation", "workforce-training", "third-party-review", "data-provenance", "user-feedback", "risk-tolerance", "roles-and-accountability", "pre-deployment-testing"} {
		if cw.Practice(want) == nil {
			t.Errorf("practice %s missing from the vocabulary", want)
		}
	}
	for _, l := range cw.Links {
		if l.Rationale == "" || len(l.Rationale) > 200 {
			t.Errorf("%s:%d: rationale must be one short line", l.File, l.Line)
		}
	}
}

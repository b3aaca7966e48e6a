package catalog_test

import (
	"strings"
	"testing"

	"github.com/mlthreat/mlthreat/internal/catalog"
)

func TestNormalizeRMF(t *testing.T) {
	for in, want := range map[string]string{
		"GOVERN 1.1": "GOVERN 1.1", "GV-1.1": "GOVERN 1.1", "GOV 1.1": "GOVERN 1.1", "govern-1.1": "GOVERN 1.1",
		"gv1.1": "GOVERN 1.1", "MS-2.7": "MEASURE 2.7", "Measure 2.7": "MEASURE 2.7", "MG 4.1": "MANAGE 4.1",
		"MP-5.1": "MAP 5.1", "map 1": "MAP 1", "Govern": "GOVERN", "MEASURE_2_11": "MEASURE 2.11",
	} {
		got, ok := catalog.NormalizeRMF(in)
		if !ok || got != want {
			t.Errorf("NormalizeRMF(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "GOVERN", "T1059", "AML.T0020", "LLM01", "governance 1.1"} {
		if in == "GOVERN" {
			continue
		}
		if got, ok := catalog.NormalizeRMF(in); ok {
			t.Errorf("NormalizeRMF(%q) = %q, want not RMF", in, got)
		}
	}
	c := catalog.Default()
	for _, s := range c.RMF.Subcategories {
		if got, _ := catalog.NormalizeRMF(s.ID); got != s.ID {
			t.Errorf("%s does not normalise to itself: %q", s.ID, got)
		}
	}
}

func TestResolveOWASP(t *testing.T) {
	c := catalog.Default()
	for in, want := range map[string]catalog.OWASPResolution{
		"LLM01:2025": {ID: "LLM01:2025"}, "LLM01": {ID: "LLM01:2026", Assumed: true},
		"llm1": {ID: "LLM01:2026", Assumed: true}, "ML05": {ID: "ML05:2023", Assumed: true},
		"ASI06:2026": {ID: "ASI06:2026"}, "ASI6": {ID: "ASI06:2026", Assumed: true},
	} {
		got, ok := c.ResolveOWASP(in)
		if !ok || got != want {
			t.Errorf("ResolveOWASP(%q) = %+v, want %+v", in, got, want)
		}
		if c.OWASPItem(got.ID) == nil {
			t.Errorf("%s not in the catalogue", got.ID)
		}
	}
}

func TestExplainAttack(t *testing.T) {
	c := catalog.Default()
	msg := c.ExplainAttack("T1059", "Data poisoning of the retraining set")
	for _, want := range []string{"ATT&CK", "Command and Scripting Interpreter", "AML.T0020", "data poisoning"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if catalog.Shape("T1059") != catalog.KindAttack || catalog.Shape("T1059.001") != catalog.KindAttack {
		t.Error("ATT&CK ids should be recognised by shape")
	}
}

func TestSuggestTechniqueUsesRealIDs(t *testing.T) {
	c := catalog.Default()
	for text, want := range map[string]string{
		"Data poisoning via feedback":           "AML.T0020",
		"indirect prompt injection through RAG": "AML.T0051.001",
		"model extraction through the API":      "AML.T0024.002",
		"membership inference on patients":      "AML.T0024.000",
		"adversarial examples evade the filter": "AML.T0015",
	} {
		if got := c.SuggestTechnique(text); got != want {
			t.Errorf("SuggestTechnique(%q) = %s, want %s", text, got, want)
		}
	}
}

func TestEveryTopicHintExists(t *testing.T) {
	c := catalog.Default()
	for _, id := range catalog.TopicHintTechniques() {
		if c.Technique(id) == nil {
			t.Errorf("topic hint names unknown technique %s", id)
		}
	}
}

func TestClosest(t *testing.T) {
	c := catalog.Default()
	got := catalog.Closest("AML.T0502", c.IDsOf(catalog.KindTechnique), 3)
	if len(got) == 0 {
		t.Fatal("no suggestion for AML.T0502")
	}
	if got := catalog.Closest("AML.M0O04", c.IDsOf(catalog.KindMitigation), 1); len(got) != 1 || got[0] != "AML.M0004" {
		t.Errorf("closest to AML.M0O04: %v", got)
	}
}

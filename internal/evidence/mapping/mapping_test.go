package mapping_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/evidence/mapping"
	"github.com/mlthreat/mlthreat/internal/sharedtest"
)

// Every technique the mapping names exists in the embedded ATLAS catalogue,
// and every row says why.
func TestTechniquesExist(t *testing.T) {
	m := mapping.Default()
	cat := catalog.Default()
	groups := map[string][]mapping.Row{"garak probe": m.GarakProbes, "garak tag": m.GarakTags, "promptfoo plugin": m.PromptfooPlugins, "promptfoo strategy": m.PromptfooStrategies}
	for kind, rows := range groups {
		if len(rows) == 0 {
			t.Errorf("no %s rows", kind)
		}
		for _, r := range rows {
			if len(r.Why) < 10 {
				t.Errorf("line %d: %s %s: the reason is missing or too short", r.Line, kind, r.Name)
			}
			for _, tech := range r.Techniques {
				if cat.Technique(tech) == nil {
					t.Errorf("line %d: %s %s: %s is not an ATLAS technique", r.Line, kind, r.Name, tech)
				}
			}
		}
	}
	for _, a := range m.ART {
		if cat.Technique(a.Technique) == nil {
			t.Errorf("line %d: art row: %s is not an ATLAS technique", a.Line, a.Technique)
		}
		if !strings.HasPrefix(a.Module, "art.attacks."+a.Class) {
			t.Errorf("line %d: module %s is not under art.attacks.%s", a.Line, a.Module, a.Class)
		}
	}
}

type probeTags struct {
	Probes map[string]struct {
		Active bool     `json:"active"`
		Tags   []string `json:"tags"`
	} `json:"probes"`
}

// Every garak probe in garak's plugin cache (../shared/data) has a row,
// through its class or its module, and every OWASP and AVID security tag
// the probes carry has a tag row.
func TestGarakCoverage(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(sharedtest.DataDir(t), "samples", "garak", "probe_tags.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pt probeTags
	if err := json.Unmarshal(b, &pt); err != nil {
		t.Fatal(err)
	}
	m := mapping.Default()
	mapped := 0
	for name, p := range pt.Probes {
		probe := strings.TrimPrefix(name, "probes.")
		row, ok := m.GarakProbe(probe)
		if !ok {
			t.Errorf("garak probe %s has no row", probe)
			continue
		}
		if len(row.Techniques) > 0 {
			mapped++
		} else if p.Active && !strings.HasPrefix(probe, "test.") {
			t.Logf("active probe %s maps to no technique: %s", probe, row.Why)
		}
		for _, tag := range p.Tags {
			if strings.HasPrefix(tag, "owasp:") || strings.HasPrefix(tag, "avid-effect:security:") {
				if _, ok := m.GarakTagTechniques([]string{tag}); !ok {
					t.Errorf("tag %s (on %s) has no row", tag, probe)
				}
			}
		}
	}
	if mapped < len(pt.Probes)*3/4 {
		t.Errorf("only %d of %d probes map to a technique", mapped, len(pt.Probes))
	}
}

func TestLookups(t *testing.T) {
	m := mapping.Default()
	for probe, want := range map[string]string{
		"lmrc.QuackMedicine":       "lmrc.QuackMedicine",
		"lmrc.Bullying":            "lmrc",
		"probes.dan.Dan_11_0":      "dan",
		"divergence.RepeatedToken": "divergence.RepeatedToken",
		"divergence.Repeat":        "divergence",
	} {
		if r, ok := m.GarakProbe(probe); !ok || r.Name != want {
			t.Errorf("GarakProbe(%s) = %s %v, want %s", probe, r.Name, ok, want)
		}
	}
	if _, ok := m.GarakProbe("nosuch.Probe"); ok {
		t.Error("unknown probe found")
	}
	if techs, ok := m.GarakTagTechniques([]string{"owasp:llm01", "avid-effect:security:S0403", "payload:jailbreak"}); !ok || !slices.Equal(techs, []string{"AML.T0051"}) {
		t.Errorf("tags: %v %v", techs, ok)
	}
	for id, want := range map[string]string{"harmful:hate": "harmful:", "pii:direct": "pii:", "pii": "pii", "jailbreak:composite": ""} {
		r, ok := m.PromptfooPlugin(id)
		if want == "" {
			if ok {
				t.Errorf("PromptfooPlugin(%s) found %s", id, r.Name)
			}
			continue
		}
		if !ok || r.Name != want {
			t.Errorf("PromptfooPlugin(%s) = %s, want %s", id, r.Name, want)
		}
	}
	if r, ok := m.PromptfooStrategy("jailbreak:tree"); !ok || r.Name != "jailbreak:" {
		t.Errorf("strategy prefix: %v %v", r, ok)
	}
}

func TestRuns(t *testing.T) {
	m := mapping.Default()
	probes := mapping.Runs(m.GarakProbes, "AML.T0054")
	if !slices.Contains(probes, "dan") || !slices.Contains(probes, "lmrc") || slices.Contains(probes, "lmrc.QuackMedicine") || slices.Contains(probes, "gcg") {
		t.Errorf("jailbreak probes: %v", probes)
	}
	if got := mapping.Runs(m.GarakProbes, "AML.T0048.003"); !slices.Equal(got, []string{"lmrc.QuackMedicine"}) {
		t.Errorf("user harm probes: %v", got)
	}
	// A sub-technique threat is tested by its parent's probes, and back.
	if got := mapping.Runs(m.GarakProbes, "AML.T0051"); !slices.Contains(got, "promptinject") || !slices.Contains(got, "latentinjection") {
		t.Errorf("prompt injection probes: %v", got)
	}
	if got := mapping.Runs(m.GarakProbes, "AML.T0051.001"); slices.Contains(got, "promptinject") {
		t.Errorf("indirect injection must not run the direct probes: %v", got)
	}
	if got := mapping.Runs(m.PromptfooPlugins, "AML.T0057"); !slices.Contains(got, "pii:direct") || slices.Contains(got, "pii:") {
		t.Errorf("leak plugins: %v", got)
	}
	if a := m.ARTFor("AML.T0043.001"); len(a) != 1 || a[0].Technique != "AML.T0043.001" {
		t.Errorf("exact ART row: %+v", a)
	}
	if a := m.ARTFor("AML.T0043.003"); len(a) != 1 || a[0].Technique != "AML.T0043" {
		t.Errorf("a sub-technique gets its parent's attacks: %+v", a)
	}
	if a := m.ARTFor("AML.T0010"); len(a) != 0 {
		t.Errorf("a parent does not get its sub-techniques' attacks: %+v", a)
	}
	if a := m.ARTFor("AML.T0054"); len(a) != 0 {
		t.Errorf("no ART for jailbreaks: %+v", a)
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{
		"mapping: 2\n",
		"mapping: 1\ngarak:\n  probes:\n    - {probe: a, techniques: [AML.T0054]}\n",
		"mapping: 1\ngarak:\n  probes:\n    - {probe: a, techniques: [AML.T0054], why: because}\n    - {probe: a, techniques: [], why: again}\n",
		"mapping: 1\nart:\n  - {technique: AML.T0043, class: magic, attacks: [X], why: y}\n",
		"mapping: 1\ngarak:\n  probes:\n    - {probe: a, techniques: [AML.T0054], why: because, colour: red}\n",
	} {
		if _, err := mapping.Parse([]byte(in)); err == nil {
			t.Errorf("accepted:\n%s", in)
		}
	}
}

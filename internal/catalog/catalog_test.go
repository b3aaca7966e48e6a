package catalog_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/catalog/atlasyaml"
	"github.com/mlthreat/mlthreat/internal/catalog/source"
	"github.com/mlthreat/mlthreat/internal/sharedtest"
)

func TestCounts(t *testing.T) {
	c := catalog.Default()
	counts := []struct {
		what      string
		got, want int
	}{
		{"tactics", len(c.ATLAS.Tactics), 16},
		{"techniques", len(c.ATLAS.Techniques), 170},
		{"mitigations", len(c.ATLAS.Mitigations), 35},
		{"case studies", len(c.ATLAS.CaseStudies), 57},
		{"RMF functions", len(c.RMF.Functions), 4},
		{"RMF categories", len(c.RMF.Categories), 19},
		{"RMF subcategories", len(c.RMF.Subcategories), 72},
		{"AI 600-1 risks", len(c.GenAI.Risks), 12},
		{"AI 600-1 actions", len(c.GenAI.Actions), 212},
		{"OWASP entries", len(c.OWASP), 40},
		{"STRIDE", len(c.STRIDE), 6},
		{"LINDDUN", len(c.LINDDUN), 7},
	}
	for _, x := range counts {
		if x.got != x.want {
			t.Errorf("%s: got %d, want %d", x.what, x.got, x.want)
		}
	}
	if c.Versions["atlas"] != "5.6.0" || c.Versions["nist-ai-rmf"] != "1.0" {
		t.Errorf("versions = %v", c.Versions)
	}
	subs := 0
	for _, t := range c.ATLAS.Techniques {
		if t.Parent != "" {
			subs++
		}
	}
	if subs != 69 {
		t.Errorf("sub-techniques: got %d, want 69", subs)
	}
}

func TestEverySummaryIsPresentAndShort(t *testing.T) {
	c := catalog.Default()
	check := func(id, s string) {
		if len(s) < 20 || len(s) > 200 || strings.Contains(s, "\n") {
			t.Errorf("%s: summary %q should be one line of 20-200 characters", id, s)
		}
		if strings.Contains(s, "Adversaries may") {
			t.Errorf("%s: summary reads like ATLAS prose: %q", id, s)
		}
	}
	for _, x := range c.ATLAS.Tactics {
		check(x.ID, x.Summary)
	}
	for _, x := range c.ATLAS.Techniques {
		check(x.ID, x.Summary)
	}
	for _, x := range c.ATLAS.Mitigations {
		check(x.ID, x.Summary)
	}
	for _, x := range c.ATLAS.CaseStudies {
		check(x.ID, x.Summary)
	}
	for _, x := range c.RMF.Subcategories {
		check(x.ID, x.Summary)
	}
	for _, x := range c.OWASP {
		check(x.ID, x.Summary)
	}
	for _, x := range c.Controls {
		check(x.ID, x.Summary)
		for _, m := range x.Mitigations {
			if c.Mitigation(m) == nil {
				t.Errorf("control %s names unknown mitigation %s", x.ID, m)
			}
		}
	}
}

// The embedded catalogue must be exactly what go generate makes from the
// sources today: this checks every id, name, relation and order against
// ../shared/data, and that catalog.json was regenerated after edits.
func TestEmbeddedMatchesSources(t *testing.T) {
	data := sharedtest.DataDir(t)
	built, err := source.Build(data, ".")
	if err != nil {
		t.Fatal(err)
	}
	want, err := source.Encode(built)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("catalog.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("catalog.json is out of date with ../shared/data or the summaries: run go generate ./internal/catalog")
	}
}

// An independent read of ATLAS.yaml (generic YAML, not our reader) checks
// ids, names, parents, tactics, mitigation links and case-study procedures.
func TestAgainstATLASYAML(t *testing.T) {
	data := sharedtest.DataDir(t)
	b, err := os.ReadFile(filepath.Join(data, "atlas", "ATLAS.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	c := catalog.Default()
	matrix := raw["matrices"].([]any)[0].(map[string]any)
	for i, x := range matrix["tactics"].([]any) {
		m := x.(map[string]any)
		if i >= len(c.ATLAS.Tactics) || c.ATLAS.Tactics[i].ID != m["id"] || c.ATLAS.Tactics[i].Name != m["name"] {
			t.Errorf("tactic %d: want %v %v in matrix order", i, m["id"], m["name"])
		}
	}
	parents := map[string][]any{}
	for _, x := range matrix["techniques"].([]any) {
		m := x.(map[string]any)
		id := m["id"].(string)
		got := c.Technique(id)
		if got == nil {
			t.Errorf("technique %s missing", id)
			continue
		}
		if got.Name != m["name"] {
			t.Errorf("%s: name %q, want %q", id, got.Name, m["name"])
		}
		parent, _ := m["subtechnique-of"].(string)
		if got.Parent != parent {
			t.Errorf("%s: parent %q, want %q", id, got.Parent, parent)
		}
		tactics, _ := m["tactics"].([]any)
		if parent == "" {
			parents[id] = tactics
		} else {
			tactics = parents[parent]
		}
		if len(tactics) != len(got.Tactics) {
			t.Errorf("%s: tactics %v, want %v", id, got.Tactics, tactics)
		}
		for j := range tactics {
			if j < len(got.Tactics) && tactics[j] != got.Tactics[j] {
				t.Errorf("%s: tactics %v, want %v", id, got.Tactics, tactics)
			}
		}
	}
	for _, x := range matrix["mitigations"].([]any) {
		m := x.(map[string]any)
		id := m["id"].(string)
		got := c.Mitigation(id)
		if got == nil || got.Name != m["name"] {
			t.Errorf("mitigation %s missing or misnamed", id)
			continue
		}
		for _, r := range m["techniques"].([]any) {
			tid := r.(map[string]any)["id"].(string)
			if !has(got.Techniques, tid) {
				t.Errorf("%s: missing technique link %s", id, tid)
			}
		}
	}
	for _, x := range raw["case-studies"].([]any) {
		m := x.(map[string]any)
		id := m["id"].(string)
		got := c.CaseStudy(id)
		if got == nil || got.Name != m["name"] {
			t.Errorf("case study %s missing or misnamed", id)
			continue
		}
		proc := m["procedure"].([]any)
		if len(proc) != len(got.Procedure) {
			t.Errorf("%s: %d procedure steps, want %d", id, len(got.Procedure), len(proc))
			continue
		}
		for j, p := range proc {
			step := p.(map[string]any)
			if got.Procedure[j].Technique != step["technique"] || got.Procedure[j].Tactic != step["tactic"] {
				t.Errorf("%s step %d: %+v, want %v", id, j, got.Procedure[j], step)
			}
		}
	}
}

// ATLAS 5.6.0 puts an {id, use} technique link inside ml-lifecycle for two
// mitigations; the reader must keep the link and not treat it as a stage.
func TestMisplacedLifecycleEntries(t *testing.T) {
	c := catalog.Default()
	for _, id := range []string{"AML.M0018", "AML.M0034"} {
		m := c.Mitigation(id)
		if !has(m.Techniques, "AML.T0052.001") {
			t.Errorf("%s: lost the AML.T0052.001 link: %v", id, m.Techniques)
		}
		for _, l := range m.Lifecycle {
			if strings.HasPrefix(l, "AML.") || l == "" {
				t.Errorf("%s: lifecycle holds %q", id, l)
			}
		}
	}
}

func TestRelations(t *testing.T) {
	c := catalog.Default()
	if got := c.Subtechniques("AML.T0051"); strings.Join(got, " ") != "AML.T0051.000 AML.T0051.001 AML.T0051.002" {
		t.Errorf("sub-techniques of AML.T0051: %v", got)
	}
	if !has(c.CaseStudiesUsing("AML.T0051.000"), "AML.CS0016") && !has(c.CaseStudiesUsing("AML.T0051"), "AML.CS0016") {
		t.Error("AML.CS0016 should use prompt injection")
	}
	if len(c.MitigationsFor("AML.T0051")) == 0 {
		t.Error("AML.T0051 has no mitigations")
	}
	if c.Technique("AML.T0051.001").Tactics[0] != "AML.TA0005" {
		t.Error("sub-technique should inherit its parent's tactics")
	}
}

func TestOfficialFileOverlay(t *testing.T) {
	data := sharedtest.DataDir(t)
	a, err := atlasyaml.ReadFile(filepath.Join(data, "atlas", "ATLAS.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c := catalog.Default().WithATLAS(a)
	if c.Versions["atlas"] != "5.6.0" {
		t.Errorf("version %q", c.Versions["atlas"])
	}
	if c.Technique("AML.T0020").Description == "" {
		t.Error("official descriptions should be loaded with --atlas")
	}
	if c.Technique("AML.T0020").Summary == "" {
		t.Error("our summaries should survive an overlay")
	}
	if catalog.Default().Technique("AML.T0020").Description != "" {
		t.Error("the embedded catalogue must not carry official prose")
	}
}

func TestReaderRejects(t *testing.T) {
	cases := map[string]string{
		"future format": "id: ATLAS\nversion: 6.0.0\n",
		"no version":    "id: ATLAS\n",
		"not yaml":      "\x00\x01{{{",
		"no matrices":   "id: ATLAS\nversion: 5.7.0\nmatrices: []\n",
	}
	for name, in := range cases {
		if _, err := atlasyaml.Read([]byte(in)); err == nil {
			t.Errorf("%s: expected an error", name)
		}
	}
	if _, err := atlasyaml.Read([]byte("id: ATLAS\nversion: 6.0.0\n")); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("6.x should say it is not supported yet: %v", err)
	}
}

func has(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Summaries must be our own words: none may share a run of eight words with
// the official description of the item it summarises.
func TestSummariesAreNotSourceProse(t *testing.T) {
	data := sharedtest.DataDir(t)
	a, err := atlasyaml.ReadFile(filepath.Join(data, "atlas", "ATLAS.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c := catalog.Default()
	check := func(id, summary, official string) {
		if run := sharedRun(summary, official, 8); run != "" {
			t.Errorf("%s: summary repeats the source: %q", id, run)
		}
	}
	for _, x := range a.Tactics {
		check(x.ID, c.Tactic(x.ID).Summary, x.Description)
	}
	for _, x := range a.Techniques {
		check(x.ID, c.Technique(x.ID).Summary, x.Description)
	}
	for _, x := range a.Mitigations {
		check(x.ID, c.Mitigation(x.ID).Summary, x.Description)
	}
	for _, x := range a.CaseStudies {
		check(x.ID, c.CaseStudy(x.ID).Summary, x.Full)
	}
	b, err := os.ReadFile(filepath.Join(data, "nist-ai-rmf", "ai_rmf_core.json"))
	if err != nil {
		t.Fatal(err)
	}
	var core struct {
		Subcategories []struct{ ID, Text string } `json:"subcategories"`
	}
	if err := json.Unmarshal(b, &core); err != nil {
		t.Fatal(err)
	}
	for _, s := range core.Subcategories {
		check(s.ID, c.RMFItem(s.ID).Summary, s.Text)
	}
}

func sharedRun(a, b string, n int) string {
	words := func(s string) []string {
		return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '\'')
		})
	}
	wa, wb := words(a), " "+strings.Join(words(b), " ")+" "
	for i := 0; i+n <= len(wa); i++ {
		if run := strings.Join(wa[i:i+n], " "); strings.Contains(wb, " "+run+" ") {
			return run
		}
	}
	return ""
}

func TestSharedRunDetectsCopies(t *testing.T) {
	if sharedRun("one two three four five six seven eight", "so: one two three four five six seven eight!", 8) == "" {
		t.Error("an eight-word copy must be found")
	}
	if sharedRun("one two three four five six seven", "one two three four five six seven", 8) != "" {
		t.Error("seven words are not a copy")
	}
}

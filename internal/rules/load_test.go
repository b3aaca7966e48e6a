package rules_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/rules"
)

func TestBuiltinPacksLoad(t *testing.T) {
	set, err := rules.Load(catalog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Rules) == 0 {
		t.Fatal("no rules")
	}
	if err := set.CompileAll(); err != nil {
		t.Fatal(err)
	}
	for _, r := range set.Rules {
		if len(r.Tactics) == 0 {
			t.Errorf("%s: no tactics for %s", r.ID, r.Technique)
		}
	}
}

func writePack(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "custom.yaml"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const good = `pack: custom
rules:
  - id: custom.exposed-llm
    title: Exposed LLM
    applies_to: [llm]
    when: exposure == 'internet' && props.provider == 'self-hosted'
    technique: AML.T0051.000
    stride: [T]
    owasp: [LLM01:2025]
    mitigations: [AML.M0020, MLT-C-PROMPT-GUARD]
    rmf: [MS-2.7]
    rationale: A self-hosted LLM open to the internet takes prompts from anyone.
`

func TestCustomPack(t *testing.T) {
	set, err := rules.Load(catalog.Default(), writePack(t, good))
	if err != nil {
		t.Fatal(err)
	}
	r := set.Rule("custom.exposed-llm")
	if r == nil || r.RMF[0] != "MEASURE 2.7" || r.Tactics[0] != "AML.TA0005" {
		t.Fatalf("%+v", r)
	}
	if !strings.HasSuffix(r.Location(), "custom.yaml:3") {
		t.Errorf("location %s", r.Location())
	}
}

func TestBadPacks(t *testing.T) {
	cases := map[string]struct{ edit, want string }{
		"unknown technique":  {"technique: AML.T0051.000", "custom.yaml:3: rule custom.exposed-llm: unknown ATLAS technique \"AML.T0951.000\""},
		"attack id":          {"technique: AML.T0051.000", "T1059 is MITRE ATT&CK"},
		"bad cel":            {"when: exposure == 'internet' && props.provider == 'self-hosted'", "condition does not compile"},
		"unknown prop":       {"when: exposure == 'internet' && props.provider == 'self-hosted'", "reads props.providr, which none of llm knows; did you mean \"provider\"?"},
		"unknown mitigation": {"mitigations: [AML.M0020, MLT-C-PROMPT-GUARD]", "unknown mitigation \"AML.M0999\""},
		"unknown rmf":        {"rmf: [MS-2.7]", "unknown RMF subcategory \"MS-9.9\""},
		"unknown kind":       {"applies_to: [llm]", "applies_to names unknown kind \"lm\""},
		"unknown key":        {"stride: [T]", "unknown key \"strid\""},
		"owasp no edition":   {"owasp: [LLM01:2025]", "unknown OWASP id \"LLM01\""},
	}
	repl := map[string]string{
		"unknown technique":  "technique: AML.T0951.000",
		"attack id":          "technique: T1059",
		"bad cel":            "when: exposure == 'internet' &&",
		"unknown prop":       "when: exposure == 'internet' && props.providr == 'self-hosted'",
		"unknown mitigation": "mitigations: [AML.M0999]",
		"unknown rmf":        "rmf: [MS-9.9]",
		"unknown kind":       "applies_to: [lm]",
		"unknown key":        "strid: [T]",
		"owasp no edition":   "owasp: [LLM01]",
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			body := strings.Replace(good, c.edit, repl[name], 1)
			_, err := rules.Load(catalog.Default(), writePack(t, body))
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q lacks %q", err, c.want)
			}
			if !strings.Contains(err.Error(), "custom.yaml:") {
				t.Errorf("error lacks file:line: %v", err)
			}
		})
	}
	_, err := rules.Load(catalog.Default(), writePack(t, good+strings.TrimPrefix(good, "pack: custom\nrules:\n")))
	if err == nil || !strings.Contains(err.Error(), "duplicate rule id (first defined at") {
		t.Errorf("duplicate ids: %v", err)
	}
	if _, err := rules.Load(catalog.Default(), writePack(t, "pack: x\nrules: [\n")); err == nil {
		t.Error("broken YAML must fail")
	}
	if _, err := rules.Load(catalog.Default(), t.TempDir()); err == nil {
		t.Error("an empty --rules directory must fail")
	}
}

// The built-in packs must cover every component kind, at least 120 ATLAS
// techniques, every tactic, and the agentic techniques.
func TestBuiltinCoverage(t *testing.T) {
	cat := catalog.Default()
	set, err := rules.Load(cat)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	techs := map[string]bool{}
	tactics := map[string]bool{}
	for _, r := range set.Rules {
		for _, k := range r.AppliesTo {
			kinds[k] = true
		}
		for _, id := range append([]string{r.Technique}, r.Related...) {
			techs[id] = true
			for _, ta := range cat.Technique(id).Tactics {
				tactics[ta] = true
			}
		}
	}
	for _, k := range model.Kinds().KindNames() {
		if !kinds[k] {
			t.Errorf("no rule applies to kind %s", k)
		}
	}
	if len(techs) < 120 {
		t.Errorf("rules reference %d distinct ATLAS techniques, want at least 120", len(techs))
	}
	for _, ta := range cat.ATLAS.Tactics {
		if !tactics[ta.ID] {
			t.Errorf("no rule covers tactic %s %s", ta.ID, ta.Name)
		}
	}
	for _, id := range []string{"AML.T0053", "AML.T0080", "AML.T0080.000", "AML.T0081", "AML.T0010.005", "AML.T0110", "AML.T0086", "AML.T0051.001"} {
		if !techs[id] {
			t.Errorf("agentic technique %s is not covered", id)
		}
	}
	t.Logf("%d rules, %d techniques, %d tactics", len(set.Rules), len(techs), len(tactics))
}

// precompiled.bin must hold exactly the built-in conditions; regenerate it
// with go generate ./internal/rules after editing a pack.
func TestPrecompiledUpToDate(t *testing.T) {
	set, err := rules.Load(catalog.Default())
	if err != nil {
		t.Fatal(err)
	}
	want, err := rules.Precompiled(set)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("precompiled.bin")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatal("internal/rules/precompiled.bin is out of date: run go generate ./internal/rules")
	}
}

// packs.json must be the built-in packs as they are; the loader falls back
// to the YAML when it is stale, but the fast path must not rot.
func TestPacksJSONUpToDate(t *testing.T) {
	want, err := rules.PacksJSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("packs.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatal("internal/rules/packs.json is out of date: run go generate ./internal/rules")
	}
}

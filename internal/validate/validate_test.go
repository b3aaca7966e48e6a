package validate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/diag"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/validate"
)

const base = `mlthreat: 1
system: {id: demo, name: Demo}
components:
  - {id: api, kind: inference-api}
  - {id: model, kind: model}
flows:
  - {id: f1, from: api, to: model}
`

func check(t *testing.T, extra string) (*model.System, diag.List) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(path, []byte(base+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	return validate.File(path, catalog.Default(), model.DefaultLimits)
}

func messages(ds diag.List) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String() + "\n")
	}
	return b.String()
}

func TestFrameworkIDs(t *testing.T) {
	cases := []struct {
		name, yaml string
		errors     int
		want       []string
	}{
		{"valid ids", `controls:
  - {id: c1, mitigates: [AML.M0004, MLT-C-RATE-LIMIT], rmf: [MEASURE 2.7], applies_to: [api]}
threats:
  - {id: t1, title: Model theft, technique: AML.T0024.002, related: [AML.T0040], owasp: [ML05:2023], rmf: [MANAGE 2.4]}
`, 0, nil},
		{"attack id in threat", `threats:
  - {id: t1, title: Data poisoning of the retraining set, technique: T1059}
`, 1, []string{`m.yaml:9:70: error: T1059 is MITRE ATT&CK "Command and Scripting Interpreter"`, "for data poisoning use AML.T0020 (Poison Training Data)"}},
		{"unknown technique", `threats:
  - {id: t1, title: x, technique: AML.T0520}
`, 1, []string{"unknown ATLAS technique AML.T0520", "did you mean"}},
		{"technique under mitigates", `controls:
  - {id: c1, mitigates: [AML.T0024]}
`, 1, []string{"AML.T0024 is an ATLAS technique (Exfiltration via AI Inference API), but mitigates lists mitigation or control ids", "AML.M0004"}},
		{"mitigation as technique", `threats:
  - {id: t1, title: x, technique: AML.M0004}
`, 1, []string{"is an ATLAS mitigation (Restrict Number of AI Model Queries), not a technique"}},
		{"tactic as technique", `threats:
  - {id: t1, title: x, technique: AML.TA0010}
`, 1, []string{"is an ATLAS tactic (Exfiltration)"}},
		{"unknown mitigation", `controls:
  - {id: c1, mitigates: [AML.M0099]}
`, 1, []string{"unknown ATLAS mitigation AML.M0099"}},
		{"unknown control", `controls:
  - {id: c1, mitigates: [MLT-C-RATELIMIT]}
`, 1, []string{`unknown control id "MLT-C-RATELIMIT"`, "MLT-C-RATE-LIMIT"}},
		{"rmf spellings", `controls:
  - {id: c1, rmf: [GV-1.1, GOV 1.2, govern-1.3, "GOVERN 1.4", MS-2.7]}
`, 0, nil},
		{"unknown rmf", `controls:
  - {id: c1, rmf: [GOVERN 9.9, "policy stuff"]}
`, 2, []string{"NIST AI RMF 1.0 has no GOVERN 9.9", `"policy stuff" is not a NIST AI RMF subcategory`}},
		{"rmf category is a warning", `controls:
  - {id: c1, rmf: [MAP 1]}
`, 0, []string{"warning: MAP 1 is a whole category"}},
		{"owasp without edition", `threats:
  - {id: t1, title: x, owasp: [LLM03]}
`, 0, []string{"warning: LLM03 has no edition; taken as LLM03:2026 (Excessive Agency); LLM03:2025 was Supply Chain"}},
		{"owasp unknown", `threats:
  - {id: t1, title: x, owasp: [LLM11:2025, ML01:2019, OWASP-1]}
`, 3, []string{"no OWASP entry LLM11:2025", "ML01:2019 is not an edition", `"OWASP-1" is not an OWASP Top 10 id`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, ds := check(t, c.yaml)
			text := messages(ds)
			if ds.Errors() != c.errors {
				t.Errorf("%d errors, want %d:\n%s", ds.Errors(), c.errors, text)
			}
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("missing %q in:\n%s", w, text)
				}
			}
		})
	}
}

func TestNormalisedInSystem(t *testing.T) {
	s, ds := check(t, `controls:
  - {id: c1, rmf: [GV-1.1, ms-2.7]}
threats:
  - {id: t1, title: x, owasp: [LLM01], rmf: [govern-1.1]}
`)
	if ds.Errors() != 0 {
		t.Fatal(messages(ds))
	}
	if got := strings.Join(s.Controls[0].RMF, ","); got != "GOVERN 1.1,MEASURE 2.7" {
		t.Errorf("rmf %s", got)
	}
	if s.Threats[0].OWASP[0] != "LLM01:2026" || s.Threats[0].RMF[0] != "GOVERN 1.1" {
		t.Errorf("threat ids %v %v", s.Threats[0].OWASP, s.Threats[0].RMF)
	}
}

func TestExampleIsValid(t *testing.T) {
	matches, _ := filepath.Glob("../../examples/*/system.yaml")
	if len(matches) == 0 {
		t.Fatal("no examples found")
	}
	for _, m := range matches {
		_, ds := validate.File(m, catalog.Default(), model.DefaultLimits)
		if len(ds) != 0 {
			t.Errorf("%s:\n%s", m, messages(ds))
		}
	}
}

func TestGovernance(t *testing.T) {
	_, ds := check(t, `governance:
  - {practice: monitoring, status: implemented, last_performed: 2026-01-10}
  - {practice: incident-respons, status: partial}
  - {practice: monitoring, status: partial}
  - {practice: ai-policy, status: implemented, last_performed: 2999-01-01}
  - {practice: red-teaming, status: sometimes}
`)
	text := messages(ds)
	for _, want := range []string{
		`unknown governance practice "incident-respons"; did you mean "incident-response"`,
		`practice "monitoring" is declared twice (first at line 9)`,
		"last_performed 2999-01-01 is in the future",
		"governance[4].status",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	if ds.Errors() != 4 {
		t.Errorf("%d errors, want 4:\n%s", ds.Errors(), text)
	}
}

func TestBadDates(t *testing.T) {
	_, ds := check(t, "governance:\n  - {practice: monitoring, status: implemented, last_performed: 26/11/2026}\n")
	if text := messages(ds); !strings.Contains(text, `m.yaml:9:65: error: governance[0].last_performed: expected a date written YYYY-MM-DD, found "26/11/2026"`) {
		t.Errorf("got:\n%s", text)
	}
}

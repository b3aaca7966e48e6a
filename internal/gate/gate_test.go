package gate

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/validate"
)

var today = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

func input(t *testing.T, file, extra string) Input {
	t.Helper()
	cat := catalog.Default()
	set, err := rules.Load(cat)
	if err != nil {
		t.Fatal(err)
	}
	var sys *model.System
	if extra == "" {
		s, ds := validate.File(file, cat, model.DefaultLimits)
		if ds.Errors() > 0 {
			t.Fatal(ds)
		}
		sys = s
	} else {
		b := mustRead(t, file)
		s, ds := model.Load(file, append(b, []byte(extra)...), model.DefaultLimits)
		if ds.Errors() > 0 {
			t.Fatal(ds)
		}
		sys = s
	}
	rep, err := analysis.Analyze(sys, cat, set, analysis.Options{Today: today})
	if err != nil {
		t.Fatal(err)
	}
	return Input{File: file, System: sys, Report: rep, Today: today, Model: "m"}
}

func policy(t *testing.T, src string) *Policy {
	t.Helper()
	p, err := parse("p.yaml", []byte(src), catalog.Default(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func checks(r *Result, check string) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Check == check {
			out = append(out, f)
		}
	}
	return out
}

func TestBuiltinPoliciesLoad(t *testing.T) {
	for _, name := range Builtins {
		p, err := Load(name, catalog.Default())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.Name != name {
			t.Errorf("%s: name %q", name, p.Name)
		}
	}
	strict, _ := Load("strict", catalog.Default())
	if strict.FailAt != "medium" || !strict.Review.RequireSigned || len(strict.RequireControls) != 2 {
		t.Errorf("strict must extend standard and tighten it: %+v", strict)
	}
}

func TestSeverityThresholdAndOverrides(t *testing.T) {
	in := input(t, "testdata/risky.yaml", "")
	res, err := Evaluate(policy(t, "policy: 1\nfail_on: {severity: critical}\nstale: off\n"), in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Pass || len(checks(res, "severity")) != 0 {
		t.Fatalf("nothing is critical: %+v", res.Findings)
	}
	// A technique override matches its sub-techniques; a when narrows it.
	res, err = Evaluate(policy(t, `policy: 1
fail_on:
  severity: critical
  overrides:
    - {technique: AML.T0024, severity: medium, when: 'kind == "inference-api"'}
    - {technique: AML.T0015, severity: low, when: 'kind == "llm"'}
stale: off
`), in)
	if err != nil {
		t.Fatal(err)
	}
	got := checks(res, "severity")
	if len(got) != 1 || got[0].Technique != "AML.T0024.002" || !strings.Contains(got[0].Message, "override at p.yaml:5") {
		t.Fatalf("want only the extraction threat, by the override: %+v", got)
	}
	if res.Verdict != Fail {
		t.Errorf("verdict %s", res.Verdict)
	}
}

func TestStrictestOverrideWins(t *testing.T) {
	in := input(t, "testdata/risky.yaml", "")
	res, err := Evaluate(policy(t, `policy: 1
fail_on:
  severity: none
  overrides:
    - {tactic: AML.TA0010, severity: critical}
    - {technique: AML.T0024.002, severity: high}
stale: off
`), in)
	if err != nil {
		t.Fatal(err)
	}
	if got := checks(res, "severity"); len(got) != 1 || !strings.Contains(got[0].Message, "at or above high") {
		t.Fatalf("the stricter override must apply: %+v", got)
	}
}

func TestRequiredControlsAndForbid(t *testing.T) {
	in := input(t, "testdata/churn.yaml", "")
	std, _ := Load("standard", catalog.Default())
	res, err := Evaluate(std, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(checks(res, "require-controls")) != 0 {
		t.Fatalf("rate limiting is declared: %+v", res.Findings)
	}
	risky := input(t, "testdata/risky.yaml", "")
	res, _ = Evaluate(std, risky)
	if got := checks(res, "require-controls"); len(got) != 1 || got[0].Element != "api" {
		t.Fatalf("want the API's missing rate limit: %+v", got)
	}
	pickle := input(t, "testdata/churn.yaml", "")
	for _, c := range pickle.System.Components {
		if c.ID == "scorer" {
			c.Props["artifact_format"], c.Props["origin"] = "pickle", "open-weights"
		}
	}
	pickle.Report = mustAnalyze(t, pickle.System)
	res, _ = Evaluate(std, pickle)
	if got := checks(res, "forbid"); len(got) != 1 || got[0].Element != "scorer" {
		t.Fatalf("want the pickle model forbidden: %+v", res.Findings)
	}
}

func mustAnalyze(t *testing.T, s *model.System) *analysis.Report {
	t.Helper()
	cat := catalog.Default()
	set, _ := rules.Load(cat)
	r, err := analysis.Analyze(s, cat, set, analysis.Options{Today: today})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEscalationAndApprovals(t *testing.T) {
	pol := policy(t, "policy: 1\nfail_on: {severity: critical}\nstale: off\nescalate: {severity: high}\n")
	base := input(t, "testdata/risky.yaml", "")
	res, err := Evaluate(pol, base)
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Escalate || res.Approval != nil {
		t.Fatalf("want an unapproved escalation: %s %+v", res.Verdict, res.Approval)
	}
	set := res.ThreatSet
	cases := []struct {
		approval, verdict, reason string
	}{
		{"  - {by: board, decision: approved, date: 2026-11-01, until: 2027-01-01, threat_set: " + set + "}\n", Pass, "approved by board"},
		{"  - {by: board, decision: approved, date: 2026-01-01, until: 2026-02-01, threat_set: " + set + "}\n", Escalate, "expired on 2026-02-01"},
		{"  - {by: board, decision: approved, date: 2026-11-01, until: 2027-01-01, threat_set: 0123456789abcdef}\n", Escalate, "the open threats are now " + set},
		{"  - {by: board, decision: approved, date: 2026-01-01, until: 2027-01-01, threat_set: " + set + "}\n  - {by: board, decision: rejected, date: 2026-11-01, threat_set: " + set + "}\n", Escalate, `decided "rejected"`},
	}
	for _, c := range cases {
		in := input(t, "testdata/risky.yaml", "approvals:\n"+c.approval)
		res, err := Evaluate(pol, in)
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != c.verdict || res.Approval == nil || !strings.Contains(res.Approval.Reason, c.reason) {
			t.Errorf("%q: verdict %s, approval %+v; want %s with %q", c.approval, res.Verdict, res.Approval, c.verdict, c.reason)
		}
	}
}

func TestThreatSetIsStableAndSensitive(t *testing.T) {
	a := []ThreatRef{{ID: "T-1", Severity: "high"}, {ID: "T-2", Severity: "low"}}
	b := []ThreatRef{{ID: "T-2", Severity: "low"}, {ID: "T-1", Severity: "high"}}
	if ThreatSet(a) != ThreatSet(b) {
		t.Error("order must not matter")
	}
	c := []ThreatRef{{ID: "T-1", Severity: "critical"}, {ID: "T-2", Severity: "low"}}
	if ThreatSet(a) == ThreatSet(c) {
		t.Error("a severity change must change the set")
	}
	if len(ThreatSet(nil)) != 16 {
		t.Error("16 hex digits")
	}
}

func TestRuntimeConditionErrorIsReported(t *testing.T) {
	pol := policy(t, "policy: 1\nstale: off\ncustom:\n  - {id: bad, on: component, when: 'props.nope == \"x\"'}\n")
	_, err := Evaluate(pol, input(t, "testdata/churn.yaml", ""))
	var ee *EvalError
	if !errors.As(err, &ee) || ee.Pos.Line != 4 || !strings.Contains(err.Error(), "p.yaml:4:") {
		t.Fatalf("want a positioned run-time error, got %v", err)
	}
}

func TestCustomRulesOnEveryScope(t *testing.T) {
	pol := policy(t, `policy: 1
stale: off
fail_on: {severity: none}
custom:
  - {id: no-internet-api, on: component, when: 'kind == "inference-api" && exposure == "internet"', verdict: warn}
  - {id: pii-flows, on: flow, when: pii, verdict: warn}
  - {id: extraction, on: threat, when: 'threat.technique.startsWith("AML.T0024")', verdict: fail}
  - {id: many-highs, on: system, when: 'summary.high >= 3', verdict: escalate}
`)
	res, err := Evaluate(pol, input(t, "testdata/risky.yaml", ""))
	if err != nil {
		t.Fatal(err)
	}
	for check, n := range map[string]int{"custom:no-internet-api": 1, "custom:pii-flows": 2, "custom:extraction": 1, "custom:many-highs": 1} {
		if got := len(checks(res, check)); got != n {
			t.Errorf("%s: %d findings, want %d: %+v", check, got, n, res.Findings)
		}
	}
	if res.Verdict != Fail || !res.Escalated {
		t.Errorf("fail wins over escalate: %s", res.Verdict)
	}
}

func TestPolicyErrorsHavePositions(t *testing.T) {
	cases := map[string]string{
		"policy: 2\n":                           "p.yaml:1:9: policy: expected format version 1",
		"name: x\n":                             "missing `policy: 1`",
		"policy: 1\nfail_on: {severity: hgh}\n": `p.yaml:2:21: fail_on.severity: "hgh" is not one of low, medium, high, critical, none; did you mean "high"?`,
		"policy: 1\nextends: strcit\n":          `p.yaml:2:10: extends "strcit": expected one of permissive, standard, strict; did you mean "strict"?`,
		"policy: 1\nrequire_controls:\n  - {kind: model, any_of: [AML.M9999]}\n":           `p.yaml:3:28: require_controls[0].any_of: "AML.M9999" is neither`,
		"policy: 1\nrequire_controls:\n  - {kind: modle, any_of: [AML.M0014]}\n":           `unknown component kind "modle"; did you mean "model"?`,
		"policy: 1\nfail_on:\n  overrides:\n    - {technique: AML.T9999, severity: low}\n": `p.yaml:4:19: fail_on.overrides[0].technique: "AML.T9999" is not an ATLAS technique`,
		"policy: 1\nforbid:\n  - {kind: model, when: 'props.format + 1'}\n":                "p.yaml:3:25: forbid[0].when:",
		"policy: 1\nrmf_coverage: {min: {GOVERN: 60}}\n":                                   "rmf_coverage.min.GOVERN: expected a share between 0 and 1",
		"policy: 1\nreview: {max_age_days: -3}\n":                                          "review.max_age_days: expected a whole number of at least 1",
		"policy: 1\nescalate: {when: 'kind +'}\n":                                          "p.yaml:2:18: escalate.when[0]: CEL:",
		"- a\n":        "expected a map with `policy: 1`",
		"policy: [1\n": "p.yaml",
	}
	for src, want := range cases {
		_, err := parse("p.yaml", []byte(src), catalog.Default(), 0)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", src, err, want)
		}
	}
}

func FuzzPolicy(f *testing.F) {
	for _, name := range Builtins {
		b, _ := BuiltinSource(name)
		f.Add(b)
	}
	f.Add([]byte("policy: 1\ncustom:\n  - {id: x, when: 'kind == \"llm\"'}\n"))
	f.Add([]byte("policy: 1\nfail_on: {overrides: [{tactic: AML.TA0010, severity: low}]}\n"))
	cat := catalog.Default()
	f.Fuzz(func(t *testing.T, b []byte) {
		tm := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("slow input %q", b)) })
		defer tm.Stop()
		p, err := parse("f.yaml", b, cat, 0)
		if err == nil && p == nil {
			t.Fatal("nil policy without an error")
		}
	})
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The policy file shown in docs/policy.md loads as written.
func TestDocumentedPolicyLoads(t *testing.T) {
	doc := string(mustRead(t, "../../docs/policy.md"))
	start := strings.Index(doc, "```yaml\npolicy: 1 ")
	if start < 0 {
		t.Fatal("docs/policy.md has no policy example")
	}
	body := doc[start+len("```yaml\n"):]
	body = body[:strings.Index(body, "```")]
	p, err := parse("docs/policy.md", []byte(body), catalog.Default(), 0)
	if err != nil {
		t.Fatalf("the documented policy does not load:\n%v", err)
	}
	if p.Name != "payments-ml" || len(p.Overrides) != 2 || len(p.Custom) != 1 || p.RMF == nil || len(p.Escalation.When) != 1 {
		t.Errorf("documented policy parsed as %+v", p)
	}
}

func TestSpecialFilesDoNotHang(t *testing.T) {
	dir := t.TempDir()
	fifo := dir + "/fifo"
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := FileDigest(fifo); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("FileDigest(fifo) = %v", err)
		}
		if _, err := Load(fifo, catalog.Default()); err == nil {
			t.Error("a FIFO loaded as a policy")
		}
		if _, err := ReadRecord(fifo); err == nil {
			t.Error("a FIFO read as a review record")
		}
		if _, err := FileDigest("/dev/zero"); err == nil {
			t.Error("/dev/zero hashed")
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("reading a special file blocked")
	}
}

func TestEvidenceRule(t *testing.T) {
	pol := policy(t, "policy: 1\nstale: off\nfail_on: {severity: none}\nevidence: {max_age_days: 30, kinds: [inference-api]}\n")
	in := input(t, "testdata/risky.yaml", "")
	res, err := Evaluate(pol, in)
	if err != nil {
		t.Fatal(err)
	}
	if got := checks(res, "evidence"); len(got) != 1 || got[0].Element != "api" || !strings.Contains(got[0].Message, "has no red-team evidence") {
		t.Fatalf("want the API without evidence: %+v", res.Findings)
	}
	recent := evidence.Record{ID: "ev-1", Tool: "garak", Attack: "promptinject", Target: "api", Techniques: []string{"AML.T0051"}, Attempts: 200, Successes: 0, Date: "2026-11-20"}
	old := recent
	old.ID, old.Date, old.Attack = "ev-0", "2026-01-02", "dan"
	in.Evidence = []evidence.Record{old}
	res, _ = Evaluate(pol, in)
	if got := checks(res, "evidence"); len(got) != 1 || !strings.Contains(got[0].Message, "329 days old; the policy allows 30") {
		t.Fatalf("want stale evidence reported: %+v", got)
	}
	in.Evidence = []evidence.Record{old, recent}
	res, _ = Evaluate(pol, in)
	if got := checks(res, "evidence"); len(got) != 0 {
		t.Fatalf("a recent result satisfies the rule: %+v", got)
	}
}

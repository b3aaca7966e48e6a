package analysis_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/report/jsonreport"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/sharedtest"
)

func analyzeWith(t *testing.T, src string, opt analysis.Options) *analysis.Report {
	t.Helper()
	rep := analyzeText(t, src) // validates the text
	cat := catalog.Default()
	set, err := rules.Load(cat)
	if err != nil {
		t.Fatal(err)
	}
	opt.Today = today
	r, err := analysis.Analyze(rep.System, cat, set, opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func threatOn(t *testing.T, r *analysis.Report, technique string) *analysis.Threat {
	t.Helper()
	for _, th := range r.Threats {
		if th.Technique == technique {
			return th
		}
	}
	t.Fatalf("no threat with %s", technique)
	return nil
}

func TestEvidenceConfirms(t *testing.T) {
	before := threatOn(t, analyzeText(t, sharedtest.Chatbot), "AML.T0051.000")
	ev := sharedtest.GarakRecord("promptinject.HijackHateHumans", "bot", "2026-11-02", 1200, 408, "AML.T0051.000")
	r := analyzeWith(t, sharedtest.Chatbot, analysis.Options{Evidence: []evidence.Record{ev}})
	th := threatOn(t, r, "AML.T0051.000")
	if !th.Confirmed || len(th.Evidence) != 1 || th.Evidence[0].Outcome != analysis.Confirmed {
		t.Fatalf("not confirmed: %+v", th.Evidence)
	}
	if th.Likelihood.Score < 4 || th.Residual.Likelihood < 4 || th.Residual.Score != th.Residual.Likelihood*th.Impact.Score {
		t.Errorf("likelihood %d, residual %+v", th.Likelihood.Score, th.Residual)
	}
	if before.Residual.Likelihood >= 4 {
		t.Fatal("the fixture should have a low residual before")
	}
	last := th.Likelihood.Factors[len(th.Likelihood.Factors)-1]
	if !strings.Contains(last, "garak promptinject.HijackHateHumans: 34% of 1,200 attempts succeeded on 2026-11-02") || !strings.Contains(last, ev.ID) {
		t.Errorf("factor does not cite the evidence: %s", last)
	}
	// The threat's other scores and id are its own.
	if th.ID != before.ID || th.Impact.Score != before.Impact.Score {
		t.Error("evidence changed more than likelihood and residual")
	}
}

// A low inherent likelihood is raised to 4, with the raise in the factor.
func TestEvidenceRaisesLikelihood(t *testing.T) {
	src := strings.Replace(sharedtest.Chatbot, "exposure: internet", "exposure: partner", 1)
	base := threatOn(t, analyzeText(t, src), "AML.T0056")
	if base.Likelihood.Score >= 4 {
		t.Fatalf("fixture: likelihood %d, want it below 4", base.Likelihood.Score)
	}
	ev := sharedtest.GarakRecord("sysprompt_extraction.SystemPromptExtraction", "bot", "2026-11-02", 10, 5, "AML.T0056")
	th := threatOn(t, analyzeWith(t, src, analysis.Options{Evidence: []evidence.Record{ev}}), "AML.T0056")
	want := fmt.Sprintf("(+%d)", 4-base.Likelihood.Score)
	if th.Likelihood.Score != 4 || !strings.HasSuffix(th.Likelihood.Factors[len(th.Likelihood.Factors)-1], want) || th.Risk != 4*th.Impact.Score || th.Severity != analysis.Severity(th.Risk) {
		t.Errorf("likelihood %d factors %v risk %d", th.Likelihood.Score, th.Likelihood.Factors, th.Risk)
	}
}

func TestEvidenceHeldVerifies(t *testing.T) {
	held := sharedtest.GarakRecord("promptinject.HijackHateHumans", "bot", "2026-11-02", 1200, 12, "AML.T0051")
	r := analyzeWith(t, sharedtest.Chatbot, analysis.Options{Evidence: []evidence.Record{held}})
	th := threatOn(t, r, "AML.T0051.000")
	if th.Confirmed || th.Evidence[0].Outcome != analysis.Held {
		t.Fatalf("%+v", th.Evidence)
	}
	if len(r.Verified) != 1 || r.Verified[0].Control != "prompt-guard" || r.Verified[0].Evidence[0] != held.ID {
		t.Errorf("verified: %+v", r.Verified)
	}
	before := threatOn(t, analyzeText(t, sharedtest.Chatbot), "AML.T0051.000")
	if th.Residual.Score != before.Residual.Score {
		t.Error("a pass must not change the scores")
	}
	// Too few attempts, or too old: inconclusive, nothing verified.
	for _, c := range []struct {
		rec  evidence.Record
		want string
	}{
		{sharedtest.GarakRecord("promptinject.HijackHateHumans", "bot", "2026-11-02", 99, 0, "AML.T0051"), "fewer than the 100"},
		{sharedtest.GarakRecord("promptinject.HijackHateHumans", "bot", "2026-01-02", 5000, 0, "AML.T0051"), "older than 90 days"},
	} {
		r := analyzeWith(t, sharedtest.Chatbot, analysis.Options{Evidence: []evidence.Record{c.rec}})
		th := threatOn(t, r, "AML.T0051.000")
		if th.Evidence[0].Outcome != analysis.Inconclusive || !strings.Contains(th.Evidence[0].Reason, c.want) || len(r.Verified) != 0 {
			t.Errorf("%+v verified %v", th.Evidence[0], r.Verified)
		}
	}
	// The settings change the verdicts.
	r = analyzeWith(t, sharedtest.Chatbot, analysis.Options{Evidence: []evidence.Record{held}, ConfirmRate: 0.005})
	if !threatOn(t, r, "AML.T0051.000").Confirmed {
		t.Error("ConfirmRate not applied")
	}
	old := sharedtest.GarakRecord("promptinject.HijackHateHumans", "bot", "2026-01-02", 5000, 0, "AML.T0051")
	r = analyzeWith(t, sharedtest.Chatbot, analysis.Options{Evidence: []evidence.Record{old}, MaxEvidenceAge: 400, VerifyAttempts: 5000})
	if threatOn(t, r, "AML.T0051.000").Evidence[0].Outcome != analysis.Held {
		t.Error("MaxEvidenceAge and VerifyAttempts not applied")
	}
}

// Evidence bears on threats of its own target only, and on its technique,
// a parent or a sub-technique, but not a sibling.
func TestEvidenceMatching(t *testing.T) {
	evs := []evidence.Record{
		sharedtest.GarakRecord("a", "visitor", "2026-11-02", 100, 50, "AML.T0051.000"),
		sharedtest.GarakRecord("b", "bot", "2026-11-02", 100, 50, "AML.T0051.001"),
		sharedtest.GarakRecord("c", "bot", "2026-11-02", 100, 50, "AML.T0024.000"),
	}
	r := analyzeWith(t, sharedtest.Chatbot, analysis.Options{Evidence: evs})
	if th := threatOn(t, r, "AML.T0051.000"); len(th.Evidence) != 0 {
		t.Errorf("direct injection got %+v", th.Evidence)
	}
	if len(r.Unmatched) != 3 {
		t.Errorf("unmatched: %d", len(r.Unmatched))
	}
	r = analyzeWith(t, sharedtest.Chatbot, analysis.Options{Evidence: []evidence.Record{sharedtest.GarakRecord("d", "bot", "2026-11-02", 100, 50, "AML.T0051")}})
	if th := threatOn(t, r, "AML.T0051.000"); !th.Confirmed {
		t.Error("a parent technique's evidence bears on its sub-technique")
	}
}

// A later run of the same attack supersedes an earlier one.
func TestEvidenceSuperseded(t *testing.T) {
	old := sharedtest.GarakRecord("promptinject.HijackHateHumans", "bot", "2026-10-01", 1200, 408, "AML.T0051.000")
	fixed := sharedtest.GarakRecord("promptinject.HijackHateHumans", "bot", "2026-11-20", 1200, 3, "AML.T0051.000")
	r := analyzeWith(t, sharedtest.Chatbot, analysis.Options{Evidence: []evidence.Record{old, fixed}})
	th := threatOn(t, r, "AML.T0051.000")
	if th.Confirmed || len(th.Evidence) != 1 || th.Evidence[0].ID != fixed.ID {
		t.Errorf("%+v", th.Evidence)
	}
}

// A decision that the threat is mitigated or a false positive does not hold
// against evidence that the attack works; an acceptance does.
func TestEvidenceAndDecisions(t *testing.T) {
	ev := sharedtest.GarakRecord("promptinject.HijackHateHumans", "bot", "2026-11-02", 1200, 408, "AML.T0051.000")
	id := threatOn(t, analyzeText(t, sharedtest.Chatbot), "AML.T0051.000").ID
	for status, open := range map[string]bool{"mitigated": true, "false-positive": true, "accepted": false} {
		src := sharedtest.Chatbot + "risk_tracking:\n  - {threat: " + id + ", status: " + status + ", justification: done, owner: ada, until: 2027-06-01}\n"
		r := analyzeWith(t, src, analysis.Options{Evidence: []evidence.Record{ev}})
		th := threatOn(t, r, "AML.T0051.000")
		if (th.Status == "open") != open {
			t.Errorf("%s: status %s", status, th.Status)
		}
		if open && (len(r.Notes) != 1 || !strings.Contains(r.Notes[0].Message, "shows the attack working")) {
			t.Errorf("%s: notes %v", status, r.Notes)
		}
	}
}

// The JSON report carries evidence, confirmed and verified_controls only
// when there is evidence.
func TestEvidenceJSON(t *testing.T) {
	var plain, with bytes.Buffer
	jsonreport.Writer{Version: "t"}.Write(&plain, analyzeWith(t, sharedtest.Chatbot, analysis.Options{}))
	for _, key := range []string{`"evidence"`, `"confirmed"`, `"verified_controls"`, `"evidence_unmatched"`} {
		if strings.Contains(plain.String(), key) {
			t.Errorf("%s without evidence", key)
		}
	}
	evs := []evidence.Record{
		sharedtest.GarakRecord("promptinject.HijackHateHumans", "bot", "2026-11-02", 1200, 408, "AML.T0051.000"),
		sharedtest.GarakRecord("dan.DanInTheWild", "bot", "2026-11-02", 300, 0, "AML.T0054"),
		sharedtest.GarakRecord("test.Test", "bot", "2026-11-02", 3, 0),
	}
	jsonreport.Writer{Version: "t"}.Write(&with, analyzeWith(t, sharedtest.Chatbot, analysis.Options{Evidence: evs}))
	var doc jsonreport.Document
	if err := json.Unmarshal(with.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	confirmed := 0
	for _, th := range doc.Threats {
		if th.Confirmed {
			confirmed++
			if th.Evidence[0].Outcome != "confirmed" || th.Evidence[0].SuccessRate != 0.34 || th.Evidence[0].AgeDays != 25 {
				t.Errorf("%+v", th.Evidence[0])
			}
		}
	}
	if confirmed != 1 || len(doc.Verified) != 1 || len(doc.Unmatched) != 1 {
		t.Errorf("confirmed %d verified %v unmatched %v", confirmed, doc.Verified, doc.Unmatched)
	}
}

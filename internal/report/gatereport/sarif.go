package gatereport

import (
	"encoding/json"
	"io"
	"strings"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/mlthreat/mlthreat/internal/gate"
	"github.com/mlthreat/mlthreat/internal/report/sarifreport"
)

// checkHelp says in a line what each gate check looks at.
var checkHelp = map[string]string{
	"severity":           "An open threat's residual severity is at or above the policy's fail_on threshold.",
	"expired-acceptance": "A risk acceptance in risk_tracking has passed its until date.",
	"require-controls":   "A component of a kind the policy names lacks an implemented control for the required mitigations.",
	"forbid":             "A component has a configuration the policy forbids.",
	"rmf-coverage":       "NIST AI RMF coverage of a function is below the policy's minimum.",
	"review":             "The threat model's review is missing, unsigned or too old.",
	"stale":              "A pinned artifact or the model changed since it was reviewed.",
	"escalate":           "The system needs a review-board decision before it ships.",
}

// SARIF writes gate findings as SARIF 2.1.0 results at the model files' lines.
func SARIF(w io.Writer, results []*gate.Result, version string) error {
	run := sarif.NewRunWithInformationURI("mlthreat-gate", "https://github.com/mlthreat/mlthreat")
	run.Tool.Driver.WithVersion(version)
	for _, r := range results {
		if len(r.Findings) > 0 {
			run.AddDistinctArtifact(strings.TrimPrefix(r.File, "./"))
		}
		for _, f := range r.Findings {
			id := "gate/" + f.Check
			if run.GetRuleIndex(id) < 0 {
				help := checkHelp[f.Check]
				if help == "" {
					help = "A custom rule of the policy matched."
				}
				run.AddRule(id).
					WithName(sarifreport.RuleName(f.Check)).
					WithShortDescription(sarif.NewMultiformatMessageString().WithText(help)).
					WithHelpURI("https://github.com/mlthreat/mlthreat/blob/main/docs/policy.md")
			}
			lvl := "error"
			switch label(r, f) {
			case gate.Warn:
				lvl = "warning"
			case "approved":
				lvl = "note"
			}
			pb := sarif.NewPropertyBag()
			pb.Add("verdict", label(r, f))
			pb.Add("system", r.System)
			if f.Threat != "" {
				pb.Add("threat-id", f.Threat)
			}
			if f.Technique != "" {
				pb.Add("atlas-technique", f.Technique)
			}
			if f.Policy != "" {
				pb.Add("policy-rule", f.Policy)
			}
			line := max(1, f.Line)
			res := run.CreateResultForRule(id).
				WithLevel(lvl).
				WithMessage(sarif.NewTextMessage(f.Message)).
				WithProperties(pb).
				AddLocation(sarif.NewLocationWithPhysicalLocation(
					sarif.NewPhysicalLocation().
						WithArtifactLocation(sarif.NewSimpleArtifactLocation(strings.TrimPrefix(r.File, "./"))).
						WithRegion(sarif.NewSimpleRegion(line, line))))
			fp := r.System + "/" + f.Check + "/" + firstOf(f.Threat, f.Element, f.Policy)
			res.WithPartialFingerprints(map[string]string{"mlthreatGateFinding/v1": fp})
		}
	}
	rep := sarif.NewReport()
	rep.AddRun(run)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

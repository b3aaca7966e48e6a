// Package sarifreport writes open threats as SARIF 2.1.0 (go-sarif), so code
// scanning tools such as GitHub's show them at the model file's lines.
package sarifreport

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/mlthreat/mlthreat/internal/analysis"
)

// Writer writes SARIF; Version is mlthreat's.
type Writer struct{ Version string }

// securitySeverity maps a residual risk (1-25) to GitHub's 0-10 scale, whose
// bands are low < 4, medium < 7, high < 9, critical >= 9.
func securitySeverity(sev string) string {
	switch sev {
	case "critical":
		return "9.5"
	case "high":
		return "8.0"
	case "medium":
		return "5.5"
	}
	return "2.0"
}

func level(sev string) string {
	switch sev {
	case "critical", "high":
		return "error"
	case "medium":
		return "warning"
	}
	return "note"
}

func (w Writer) Write(out io.Writer, r *analysis.Report) error {
	run := sarif.NewRunWithInformationURI("mlthreat", "https://github.com/mlthreat/mlthreat")
	run.Tool.Driver.WithVersion(w.Version)
	file := strings.TrimPrefix(r.System.File, "./")
	// A rule's severity is that of its worst open threat.
	worst := map[string]string{}
	for _, t := range r.Threats {
		if t.Status != "open" && t.Status != "in-progress" {
			continue
		}
		if analysis.SeverityRank(t.Residual.Severity) > analysis.SeverityRank(worst[t.Rule.ID]) {
			worst[t.Rule.ID] = t.Residual.Severity
		}
	}
	// One rule per rule id, in the order threats first use them.
	for _, t := range r.Threats {
		if t.Status != "open" && t.Status != "in-progress" {
			continue
		}
		if run.GetRuleIndex(t.Rule.ID) >= 0 {
			continue
		}
		tags := []string{"security", "ai", t.Technique}
		for _, ta := range t.Tactics {
			tags = append(tags, ta+" "+r.Catalog.Name(ta))
		}
		tags = append(tags, t.OWASP...)
		pb := sarif.NewPropertyBag()
		pb.Add("tags", tags)
		pb.Add("security-severity", securitySeverity(worst[t.Rule.ID]))
		pb.Add("atlas-technique", t.Technique)
		run.AddRule(t.Rule.ID).
			WithName(RuleName(t.Rule.ID)).
			WithShortDescription(sarif.NewMultiformatMessageString().WithText(t.Rule.Title)).
			WithFullDescription(sarif.NewMultiformatMessageString().WithText(t.Rule.Rationale)).
			WithHelpURI("https://atlas.mitre.org/techniques/" + t.Technique).
			WithHelp(sarif.NewMultiformatMessageString().WithText(t.Rule.Rationale + " Mitigations: " + strings.Join(t.Rule.Mitigations, ", ") + ".")).
			WithProperties(pb)
	}
	if len(r.Threats) > 0 {
		run.AddDistinctArtifact(file)
	}
	for _, t := range r.Threats {
		if t.Status != "open" && t.Status != "in-progress" {
			continue
		}
		var missing []string
		for _, m := range t.Mitigations {
			if m.Status != "implemented" {
				missing = append(missing, m.ID)
			}
		}
		msg := fmt.Sprintf("%s on %s: %s %s (%s). Residual risk %d (%s).", t.Rule.Title, t.Target.ID(), t.Technique, r.Catalog.Name(t.Technique), strings.Join(names(r, t.Tactics), ", "), t.Residual.Score, t.Residual.Severity)
		if len(missing) > 0 {
			msg += " Missing mitigations: " + strings.Join(missing, ", ") + "."
		}
		line := max(1, t.Line)
		pb := sarif.NewPropertyBag()
		pb.Add("threat-id", t.ID)
		pb.Add("security-severity", securitySeverity(t.Residual.Severity))
		run.CreateResultForRule(t.Rule.ID).
			WithLevel(level(t.Residual.Severity)).
			WithMessage(sarif.NewTextMessage(msg)).
			WithPartialFingerprints(map[string]string{"mlthreatThreatId/v1": t.ID}).
			WithProperties(pb).
			AddLocation(sarif.NewLocationWithPhysicalLocation(
				sarif.NewPhysicalLocation().
					WithArtifactLocation(sarif.NewSimpleArtifactLocation(file)).
					WithRegion(sarif.NewSimpleRegion(line, line))))
	}
	rep := sarif.NewReport()
	rep.AddRun(run)
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// RuleName turns an id such as inference-api.model-extraction into the
// PascalCase name SARIF viewers show: InferenceApiModelExtraction.
func RuleName(id string) string {
	var b strings.Builder
	up := true
	for _, r := range id {
		if r == '.' || r == '-' || r == '_' || r == ':' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}

func names(r *analysis.Report, ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = r.Catalog.Name(id)
	}
	return out
}

// Package gatereport renders gate verdicts: a table, JSON, SARIF, JUnit XML,
// GitHub workflow annotations, and the review-board packet.
package gatereport

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/mlthreat/mlthreat/internal/gate"
	"github.com/mlthreat/mlthreat/internal/report/termtext"
)

// Summary counts verdicts over the files gated.
type Summary struct {
	Models    int `json:"models"`
	Passed    int `json:"passed"`
	Failed    int `json:"failed"`
	Escalated int `json:"escalated"`
	Findings  int `json:"findings"`
}

// Summarize counts results by verdict.
func Summarize(results []*gate.Result) Summary {
	s := Summary{Models: len(results)}
	for _, r := range results {
		switch r.Verdict {
		case gate.Pass:
			s.Passed++
		case gate.Escalate:
			s.Escalated++
		default:
			s.Failed++
		}
		s.Findings += len(r.Findings)
	}
	return s
}

// Overall is pass only when every model passed.
func Overall(results []*gate.Result) string {
	v := gate.Pass
	for _, r := range results {
		switch r.Verdict {
		case gate.Fail:
			return gate.Fail
		case gate.Escalate:
			v = gate.Escalate
		}
	}
	return v
}

// label is how a finding reads once the approval state is known.
func label(r *gate.Result, f gate.Finding) string {
	if f.Verdict == gate.Escalate && r.Approval != nil && r.Approval.Valid {
		return "approved"
	}
	return f.Verdict
}

// Table writes one block per model and, for several, a summary line.
func Table(w io.Writer, results []*gate.Result) error {
	var b strings.Builder
	for i, r := range results {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s  %s (%s)  policy %s  %d open threats\n", strings.ToUpper(r.Verdict), r.File, r.System, r.Policy, r.Threats)
		for _, f := range r.Findings {
			where := ""
			if f.Line > 0 {
				where = fmt.Sprintf("%s:%d: ", r.File, f.Line)
			}
			fmt.Fprintf(&b, "  %-9s %-18s %s%s\n", strings.ToUpper(label(r, f)), f.Check, where, termtext.Clean(f.Message))
		}
		if r.Approval != nil {
			fmt.Fprintf(&b, "  review board: %s\n", termtext.Clean(r.Approval.Reason))
		}
		for _, p := range r.Packet {
			fmt.Fprintf(&b, "  review packet: %s\n", p)
		}
		if len(r.Findings) == 0 {
			fmt.Fprintf(&b, "  all checks passed: %s\n", strings.Join(r.Checks, ", "))
		}
	}
	if len(results) > 1 {
		s := Summarize(results)
		fmt.Fprintf(&b, "\n%d models: %d passed, %d failed, %d escalated (%d findings)\n", s.Models, s.Passed, s.Failed, s.Escalated, s.Findings)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Document is the JSON form of a gate run.
type Document struct {
	Tool    string         `json:"tool"`
	Version string         `json:"version"`
	Verdict string         `json:"verdict"`
	Summary Summary        `json:"summary"`
	Results []*gate.Result `json:"results"`
}

// JSON writes the verdicts.
func JSON(w io.Writer, results []*gate.Result, version string) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Document{Tool: "mlthreat", Version: version, Verdict: Overall(results), Summary: Summarize(results), Results: results})
}

// GitHub writes workflow commands that annotate the files in a pull request.
func GitHub(w io.Writer, results []*gate.Result) error {
	var b strings.Builder
	for _, r := range results {
		for _, f := range r.Findings {
			level := "error"
			switch label(r, f) {
			case gate.Warn:
				level = "warning"
			case "approved":
				level = "notice"
			}
			props := "file=" + ghProp(r.File)
			if f.Line > 0 {
				props += fmt.Sprintf(",line=%d", f.Line)
				if f.Col > 0 {
					props += fmt.Sprintf(",col=%d", f.Col)
				}
			}
			props += ",title=" + ghProp("mlthreat gate: "+f.Check)
			fmt.Fprintf(&b, "::%s %s::%s\n", level, props, ghData(f.Message))
		}
		fmt.Fprintf(&b, "mlthreat gate: %s %s (%s, policy %s)\n", strings.ToUpper(r.Verdict), termtext.Clean(r.File), termtext.Clean(r.System), termtext.Clean(r.Policy))
	}
	s := Summarize(results)
	fmt.Fprintf(&b, "mlthreat gate: %d models, %d passed, %d failed, %d escalated\n", s.Models, s.Passed, s.Failed, s.Escalated)
	_, err := io.WriteString(w, b.String())
	return err
}

// GitHub's escaping for workflow command data and properties.
var (
	ghDataEsc = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	ghPropEsc = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

func ghData(s string) string { return ghDataEsc.Replace(s) }
func ghProp(s string) string { return ghPropEsc.Replace(s) }

package gatereport

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/mlthreat/mlthreat/internal/gate"
)

// The JUnit XML shape GitLab, Jenkins and Azure DevOps read: testsuites >
// testsuite (one per model) > testcase (one per finding, and one per check
// that passed) with a failure element when it fails.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnit writes the verdicts as JUnit XML; timestamp is the suites' start
// (RFC 3339, or "" to leave it out).
func JUnit(w io.Writer, results []*gate.Result, timestamp string) error {
	doc := junitSuites{Name: "mlthreat gate", Time: "0", Suites: []junitSuite{}}
	for _, r := range results {
		s := junitSuite{Name: r.File, Time: "0", Timestamp: timestamp, Cases: []junitCase{},
			Properties: []junitProperty{{"system", xmlSafe(r.System)}, {"policy", xmlSafe(r.Policy)}, {"verdict", r.Verdict}, {"threat_set", r.ThreatSet}}}
		class := "mlthreat.gate." + xmlSafe(r.System)
		failed := map[string]bool{}
		for _, f := range r.Findings {
			name := f.Check
			if id := firstOf(f.Threat, f.Element); id != "" {
				name += ": " + id
			}
			c := junitCase{Name: xmlSafe(name), Classname: class, File: xmlSafe(r.File), Line: f.Line, Time: "0"}
			switch label(r, f) {
			case gate.Fail, gate.Escalate:
				c.Failure = &junitFailure{Message: xmlSafe(f.Message), Type: label(r, f), Text: xmlSafe(detail(r, f))}
				s.Failures++
				failed[f.Check] = true
			default:
				c.SystemOut = xmlSafe(label(r, f) + ": " + f.Message)
			}
			s.Cases = append(s.Cases, c)
		}
		for _, check := range r.Checks {
			if failed[check] || hasFinding(r, check) {
				continue
			}
			s.Cases = append(s.Cases, junitCase{Name: check, Classname: class, File: xmlSafe(r.File), Time: "0"})
		}
		s.Tests = len(s.Cases)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Suites = append(doc.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func hasFinding(r *gate.Result, check string) bool {
	for _, f := range r.Findings {
		if f.Check == check {
			return true
		}
	}
	return false
}

func detail(r *gate.Result, f gate.Finding) string {
	var b strings.Builder
	b.WriteString(f.Message + "\n")
	if f.Line > 0 {
		fmt.Fprintf(&b, "at %s:%d\n", r.File, f.Line)
	}
	if f.Technique != "" {
		b.WriteString("ATLAS " + f.Technique + "\n")
	}
	if f.Policy != "" {
		b.WriteString("policy rule " + f.Policy + "\n")
	}
	if f.Verdict == gate.Escalate && r.Approval != nil {
		b.WriteString("review board: " + r.Approval.Reason + "\n")
	}
	return b.String()
}

func firstOf(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// xmlSafe drops characters XML 1.0 cannot carry at all.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF) {
			return r
		}
		return ' '
	}, s)
}

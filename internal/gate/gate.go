package gate

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/cel-go/cel"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/model"
)

// Input is everything the gate judges for one model file.
type Input struct {
	File      string
	System    *model.System
	Report    *analysis.Report
	Gap       *gap.Report // needed when the policy sets rmf_coverage
	Record    *Record     // the signed review, or nil
	Model     string      // sha256 of the model file
	Artifacts []ArtifactState
	Evidence  []evidence.Record // the model's evidence file, when it has one
	Today     time.Time
}

// Finding is one verdict of one check, with what it concerns.
type Finding struct {
	Check     string `json:"check"`
	Verdict   string `json:"verdict"` // fail | warn | escalate
	Message   string `json:"message"`
	Threat    string `json:"threat,omitempty"`
	Element   string `json:"element,omitempty"`
	Technique string `json:"technique,omitempty"`
	Line      int    `json:"line,omitempty"` // in the model file
	Col       int    `json:"column,omitempty"`
	Policy    string `json:"policy_rule,omitempty"` // policy file:line of the rule
}

// Result is the verdict on one model file.
type Result struct {
	File      string          `json:"file"`
	System    string          `json:"system"`
	Name      string          `json:"name"`
	Policy    string          `json:"policy"`
	Verdict   string          `json:"verdict"` // pass | fail | escalate
	Findings  []Finding       `json:"findings"`
	Threats   int             `json:"open_threats"`
	ThreatSet string          `json:"threat_set"`
	Escalated bool            `json:"escalated"`
	Approval  *ApprovalStatus `json:"approval,omitempty"`
	Packet    []string        `json:"packet,omitempty"`
	Checks    []string        `json:"checks"` // the checks the policy ran
}

// ApprovalStatus says how the escalation stands with the review board.
type ApprovalStatus struct {
	By         string   `json:"by"`
	Decision   string   `json:"decision"`
	Date       string   `json:"date"`
	Until      string   `json:"until,omitempty"`
	Conditions []string `json:"conditions,omitempty"`
	Valid      bool     `json:"valid"`
	Reason     string   `json:"reason"`
}

// Failed reports whether the verdict should fail the pipeline.
func (r *Result) Failed() bool { return r.Verdict != Pass }

// EvalError is a policy condition that failed at run time.
type EvalError struct {
	Policy  string
	Pos     Pos
	Element string
	Err     error
}

func (e *EvalError) Error() string {
	return fmt.Sprintf("%s:%d:%d: condition failed on %s: %v", e.Policy, e.Pos.Line, e.Pos.Col, e.Element, e.Err)
}

type evaluation struct {
	pol     *Policy
	in      Input
	res     *Result
	summary map[string]any
	err     error
	today   string
}

// Evaluate judges one model against the policy. An error means the policy
// itself could not be applied (a CEL condition failed at run time).
func Evaluate(pol *Policy, in Input) (*Result, error) {
	if in.Today.IsZero() {
		in.Today = time.Now().UTC()
	}
	open := OpenThreats(in.Report)
	res := &Result{
		File: in.File, System: in.System.Info.ID, Name: in.System.Info.Name, Policy: pol.Name,
		Findings: []Finding{}, Threats: len(open), ThreatSet: ThreatSet(open), Checks: []string{},
	}
	ev := &evaluation{pol: pol, in: in, res: res, today: in.Today.Format("2006-01-02"), summary: summarize(in.Report, open)}
	ev.severity()
	ev.expired()
	ev.requirements()
	ev.forbidden()
	ev.rmf()
	ev.review()
	ev.stale()
	ev.custom()
	ev.evidence()
	ev.escalation()
	if ev.err != nil {
		return nil, ev.err
	}
	res.Verdict = Pass
	for _, f := range res.Findings {
		if f.Verdict == Fail {
			res.Verdict = Fail
			break
		}
	}
	if res.Verdict == Pass && res.Escalated && (res.Approval == nil || !res.Approval.Valid) {
		res.Verdict = Escalate
	}
	return res, nil
}

func summarize(r *analysis.Report, open []ThreatRef) map[string]any {
	m := map[string]any{"open": int64(len(open)), "critical": int64(0), "high": int64(0), "medium": int64(0), "low": int64(0), "threats": int64(len(r.Threats))}
	for _, t := range open {
		m[t.Severity] = m[t.Severity].(int64) + 1
	}
	techs := map[string]bool{}
	for _, t := range r.Threats {
		techs[t.Technique] = true
	}
	list := make([]string, 0, len(techs))
	for k := range techs {
		list = append(list, k)
	}
	sort.Strings(list)
	m["techniques"] = list
	return m
}

func (ev *evaluation) add(f Finding) { ev.res.Findings = append(ev.res.Findings, f) }

func (ev *evaluation) ran(check string) {
	if !slices.Contains(ev.res.Checks, check) {
		ev.res.Checks = append(ev.res.Checks, check)
	}
}

func (ev *evaluation) where(p Pos) string {
	return fmt.Sprintf("%s:%d", ev.pol.File, p.Line)
}

// test evaluates c on vars; a nil condition is true.
func (ev *evaluation) test(c *Cond, vars map[string]any, element string) bool {
	if c == nil || ev.err != nil {
		return c == nil
	}
	out, _, err := c.prg.Eval(vars)
	if err != nil {
		ev.err = &EvalError{Policy: ev.pol.File, Pos: c.Pos, Element: element, Err: err}
		return false
	}
	b, ok := out.Value().(bool)
	if !ok {
		ev.err = &EvalError{Policy: ev.pol.File, Pos: c.Pos, Element: element, Err: fmt.Errorf("result is %v, not true or false", out.Value())}
	}
	return b
}

func (ev *evaluation) elementVars(id string) map[string]any {
	m, ok := ev.in.Report.ElementVars(id)
	if !ok {
		m = ev.in.Report.SystemVars()
	}
	m["threat"], m["summary"] = map[string]any{}, ev.summary
	return m
}

func threatVars(t *analysis.Threat) map[string]any {
	return map[string]any{
		"id": t.ID, "rule": t.Rule.ID, "title": t.Rule.Title, "technique": t.Technique, "related": t.Related,
		"tactics": t.Tactics, "severity": t.Severity, "score": int64(t.Risk),
		"residual_severity": t.Residual.Severity, "residual_score": int64(t.Residual.Score),
		"status": t.Status, "target": t.Target.ID(), "owasp": t.OWASP, "stride": t.STRIDE,
	}
}

func matchesTechnique(t *analysis.Threat, tech string) bool {
	for _, x := range append([]string{t.Technique}, t.Related...) {
		if x == tech || strings.HasPrefix(x, tech+".") {
			return true
		}
	}
	return false
}

func rank(sev string) int {
	if sev == "none" || sev == "" {
		return 99
	}
	return analysis.SeverityRank(sev)
}

func (ev *evaluation) severity() {
	ev.ran("severity")
	for _, t := range ev.in.Report.Threats {
		if !isOpen(t) {
			continue
		}
		threshold, why := ev.pol.FailAt, "fail_on.severity"
		var vars map[string]any
		for _, o := range ev.pol.Overrides {
			if o.Technique != "" && !matchesTechnique(t, o.Technique) {
				continue
			}
			if o.Tactic != "" && !slices.Contains(t.Tactics, o.Tactic) {
				continue
			}
			if o.When != nil {
				if vars == nil {
					vars = ev.elementVars(t.Target.ID())
					vars["threat"] = threatVars(t)
				}
				if !ev.test(o.When, vars, t.Target.ID()) {
					continue
				}
			}
			if rank(o.Severity) < rank(threshold) || why == "fail_on.severity" {
				threshold, why = o.Severity, "override at "+ev.where(o.Pos)
			}
		}
		if rank(t.Residual.Severity) < rank(threshold) {
			continue
		}
		ev.add(Finding{
			Check: "severity", Verdict: Fail, Threat: t.ID, Element: t.Target.ID(), Technique: t.Technique, Line: t.Line,
			Message: fmt.Sprintf("open threat %s %q on %s: residual %s (%d) is at or above %s (%s)", t.ID, t.Rule.Title, t.Target.ID(), t.Residual.Severity, t.Residual.Score, threshold, why),
		})
	}
}

func (ev *evaluation) expired() {
	if ev.pol.ExpiredAcceptances == Off {
		return
	}
	ev.ran("expired-acceptances")
	for _, d := range ev.in.System.RiskTracking {
		if d.Status != "accepted" || d.Until == "" || d.Until >= ev.today {
			continue
		}
		p := d.Node.Pos()
		ev.add(Finding{
			Check: "expired-acceptance", Verdict: ev.pol.ExpiredAcceptances, Threat: d.Threat, Line: p.Line, Col: p.Col,
			Message: fmt.Sprintf("acceptance of %s (owner %s) expired on %s; renew it with a new `until` or mitigate the threat", d.Threat, orNone(d.Owner), d.Until),
		})
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (ev *evaluation) requirements() {
	for _, r := range ev.pol.RequireControls {
		ev.ran("require-controls")
		for _, c := range ev.in.System.Components {
			if c.Kind != r.Kind {
				continue
			}
			if r.When != nil && !ev.test(r.When, ev.elementVars(c.ID), c.ID) {
				continue
			}
			state := "missing"
			for _, m := range r.AnyOf {
				for _, ctl := range ev.in.Report.Covering(c.ID, m) {
					switch ctl.Status {
					case "implemented", "":
						state = "implemented"
					case "partial":
						if state != "implemented" {
							state = "only partial (control " + ctl.ID + ")"
						}
					}
				}
			}
			if state == "implemented" {
				continue
			}
			msg := r.Message
			if msg == "" {
				msg = fmt.Sprintf("%s needs a control implementing one of %s", r.Kind, strings.Join(r.AnyOf, ", "))
			}
			p := c.Node.Pos()
			ev.add(Finding{
				Check: "require-controls", Verdict: r.Verdict, Element: c.ID, Line: p.Line, Col: p.Col, Policy: ev.where(r.Pos),
				Message: fmt.Sprintf("%s %q: %s; one of %s is %s", c.Kind, c.ID, msg, strings.Join(r.AnyOf, ", "), state),
			})
		}
	}
}

func (ev *evaluation) forbidden() {
	for _, f := range ev.pol.Forbid {
		ev.ran("forbid")
		for _, c := range ev.in.System.Components {
			if f.Kind != "" && c.Kind != f.Kind {
				continue
			}
			if !ev.test(f.When, ev.elementVars(c.ID), c.ID) {
				continue
			}
			msg := f.Message
			if msg == "" {
				msg = "forbidden: " + f.When.Expr
			}
			p := c.Node.Pos()
			ev.add(Finding{Check: "forbid", Verdict: f.Verdict, Element: c.ID, Line: p.Line, Col: p.Col, Policy: ev.where(f.Pos),
				Message: fmt.Sprintf("%s %q: %s", c.Kind, c.ID, msg)})
		}
	}
}

func (ev *evaluation) rmf() {
	r := ev.pol.RMF
	if r == nil || len(r.Min) == 0 {
		return
	}
	ev.ran("rmf-coverage")
	if ev.in.Gap == nil {
		return
	}
	for _, fn := range rmfFunctions {
		min, ok := r.Min[fn]
		if !ok {
			continue
		}
		for _, c := range ev.in.Gap.Functions {
			if c.ID != fn || c.Score >= min {
				continue
			}
			ev.add(Finding{Check: "rmf-coverage", Verdict: r.Verdict, Policy: ev.where(r.Pos),
				Message: fmt.Sprintf("NIST AI RMF %s coverage is %.0f%% (profile %s), below the %.0f%% the policy asks; see `mlthreat gap`", fn, c.Score*100, ev.in.Gap.Profile.Name, min*100)})
		}
	}
}

func (ev *evaluation) review() {
	r := ev.pol.Review
	if r == nil {
		return
	}
	ev.ran("review")
	date, by := ev.in.System.Info.Review.Date, strings.Join(ev.in.System.Info.Review.By, ", ")
	if rec := ev.in.Record; rec != nil && rec.Date > date {
		date, by = rec.Date, rec.By
	}
	pos := Pos{}
	if n := ev.in.System.Info.Node; n != nil {
		p := n.Pos()
		pos = Pos{p.Line, p.Col}
	}
	if r.RequireSigned && ev.in.Record == nil {
		ev.add(Finding{Check: "review", Verdict: r.Verdict, Line: pos.Line, Col: pos.Col, Policy: ev.where(r.Pos),
			Message: fmt.Sprintf("no signed review: run `mlthreat review sign %s --by NAME` after the review (writes %s)", ev.in.File, filepath.Base(RecordPath(ev.in.File)))})
	}
	if r.MaxAgeDays == 0 {
		return
	}
	if date == "" {
		ev.add(Finding{Check: "review", Verdict: r.Verdict, Line: pos.Line, Col: pos.Col, Policy: ev.where(r.Pos),
			Message: "the threat model records no review: set system.review.date or sign one with `mlthreat review sign`"})
		return
	}
	d, err := time.Parse("2006-01-02", date)
	if err != nil {
		return // the model check already reported the date
	}
	age := int(ev.in.Today.Sub(d).Hours() / 24)
	if age > r.MaxAgeDays {
		ev.add(Finding{Check: "review", Verdict: r.Verdict, Line: pos.Line, Col: pos.Col, Policy: ev.where(r.Pos),
			Message: fmt.Sprintf("last review %s (by %s) is %d days old; the policy allows %d", date, orNone(by), age, r.MaxAgeDays)})
	}
}

func (ev *evaluation) stale() {
	if ev.pol.Stale == Off {
		return
	}
	ev.ran("stale")
	for _, a := range ev.in.Artifacts {
		p := a.Artifact.Node.Pos()
		f := Finding{Check: "stale", Verdict: ev.pol.Stale, Element: a.Artifact.Path, Line: p.Line, Col: p.Col}
		switch {
		case a.Err != nil:
			f.Verdict = Fail
			f.Message = a.Err.Error()
		case !a.Matches():
			f.Message = fmt.Sprintf("threat model is stale: artifact %s changed (pinned sha256 %s, the file has %s); review the model and update the pin", a.Artifact.Path, short(a.Artifact.SHA256), short(a.Actual))
		default:
			continue
		}
		ev.add(f)
	}
	rec := ev.in.Record
	if rec == nil {
		return
	}
	signed := fmt.Sprintf("the review signed by %s on %s", rec.By, rec.Date)
	if rec.System != ev.in.System.Info.ID {
		ev.add(Finding{Check: "stale", Verdict: ev.pol.Stale, Message: fmt.Sprintf("review record %s is for system %q, not %q", filepath.Base(RecordPath(ev.in.File)), rec.System, ev.in.System.Info.ID)})
		return
	}
	for _, d := range rec.Artifacts {
		for _, a := range ev.in.Artifacts {
			if a.Artifact.Path == d.Path && a.Err == nil && a.Actual != d.SHA256 && a.Matches() {
				p := a.Artifact.Node.Pos()
				ev.add(Finding{Check: "stale", Verdict: ev.pol.Stale, Element: d.Path, Line: p.Line, Col: p.Col,
					Message: fmt.Sprintf("threat model is stale: artifact %s changed since %s (sha256 %s then, %s now); review again and re-sign", d.Path, signed, short(d.SHA256), short(a.Actual))})
			}
		}
	}
	if rec.Model == ev.in.Model {
		return
	}
	known := map[string]bool{}
	for _, t := range rec.Threats {
		known[t.ID] = true
	}
	var added []string
	for _, t := range OpenThreats(ev.in.Report) {
		if !known[t.ID] {
			added = append(added, t.ID+" ("+t.Severity+")")
		}
	}
	if len(added) > 0 {
		ev.add(Finding{Check: "stale", Verdict: ev.pol.Stale,
			Message: fmt.Sprintf("threat model is stale: %s changed since %s and adds %d open threat(s): %s; review them and re-sign", filepath.Base(ev.in.File), signed, len(added), strings.Join(added, ", "))})
	}
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12] + "…"
	}
	return digest
}

func (ev *evaluation) custom() {
	for _, c := range ev.pol.Custom {
		ev.ran("custom:" + c.ID)
		msg := func(what string) string {
			if c.Message != "" {
				return what + ": " + c.Message
			}
			return what + ": " + c.When.Expr
		}
		switch c.On {
		case "component":
			for _, comp := range ev.in.System.Components {
				if ev.test(c.When, ev.elementVars(comp.ID), comp.ID) {
					p := comp.Node.Pos()
					ev.add(Finding{Check: "custom:" + c.ID, Verdict: c.Verdict, Element: comp.ID, Line: p.Line, Col: p.Col, Policy: ev.where(c.Pos), Message: msg(fmt.Sprintf("%s %q", comp.Kind, comp.ID))})
				}
			}
		case "flow":
			for _, f := range ev.in.System.Flows {
				if ev.test(c.When, ev.elementVars(f.ID), f.ID) {
					p := f.Node.Pos()
					ev.add(Finding{Check: "custom:" + c.ID, Verdict: c.Verdict, Element: f.ID, Line: p.Line, Col: p.Col, Policy: ev.where(c.Pos), Message: msg(fmt.Sprintf("flow %q", f.ID))})
				}
			}
		case "threat":
			for _, t := range ev.in.Report.Threats {
				vars := ev.elementVars(t.Target.ID())
				vars["threat"] = threatVars(t)
				if ev.test(c.When, vars, t.ID) {
					ev.add(Finding{Check: "custom:" + c.ID, Verdict: c.Verdict, Threat: t.ID, Element: t.Target.ID(), Technique: t.Technique, Line: t.Line, Policy: ev.where(c.Pos), Message: msg(fmt.Sprintf("threat %s on %s", t.ID, t.Target.ID()))})
				}
			}
		case "system":
			if ev.test(c.When, ev.elementVars(""), ev.in.System.Info.ID) {
				ev.add(Finding{Check: "custom:" + c.ID, Verdict: c.Verdict, Policy: ev.where(c.Pos), Message: msg("system " + ev.in.System.Info.ID)})
			}
		}
	}
}

// evidence asks for a recent red-team result on every component of the
// policy's kinds.
func (ev *evaluation) evidence() {
	r := ev.pol.Evidence
	if r == nil {
		return
	}
	ev.ran("evidence")
	newest := map[string]int{} // element -> age in days of its newest result
	for _, rec := range evidence.Current(ev.in.Evidence) {
		age, ok := rec.Age(ev.in.Today)
		if !ok {
			continue
		}
		if best, seen := newest[rec.Target]; !seen || age < best {
			newest[rec.Target] = age
		}
	}
	for _, c := range ev.in.System.Components {
		if !slices.Contains(r.Kinds, c.Kind) {
			continue
		}
		p := c.Node.Pos()
		f := Finding{Check: "evidence", Verdict: r.Verdict, Element: c.ID, Line: p.Line, Col: p.Col, Policy: ev.where(r.Pos)}
		age, ok := newest[c.ID]
		switch {
		case !ok:
			f.Message = fmt.Sprintf("%s %q has no red-team evidence; run the tests `mlthreat testplan` lists and `mlthreat evidence import` the results", c.Kind, c.ID)
		case age > r.MaxAgeDays:
			f.Message = fmt.Sprintf("%s %q: the newest red-team evidence is %d days old; the policy allows %d", c.Kind, c.ID, age, r.MaxAgeDays)
		default:
			continue
		}
		ev.add(f)
	}
}

func (ev *evaluation) escalation() {
	e := ev.pol.Escalation
	if rank(e.Severity) < 99 || len(e.When) > 0 {
		ev.ran("escalate")
	}
	if rank(e.Severity) < 99 {
		for _, t := range ev.in.Report.Threats {
			if isOpen(t) && rank(t.Residual.Severity) >= rank(e.Severity) {
				ev.add(Finding{Check: "escalate", Verdict: Escalate, Threat: t.ID, Element: t.Target.ID(), Technique: t.Technique, Line: t.Line,
					Message: fmt.Sprintf("open %s residual risk %s %q on %s goes to the review board", t.Residual.Severity, t.ID, t.Rule.Title, t.Target.ID())})
			}
		}
	}
	for _, c := range e.When {
		if ev.test(c, ev.elementVars(""), ev.in.System.Info.ID) {
			ev.add(Finding{Check: "escalate", Verdict: Escalate, Policy: ev.where(c.Pos),
				Message: fmt.Sprintf("system %s meets the escalation condition %s", ev.in.System.Info.ID, c.Expr)})
		}
	}
	for _, f := range ev.res.Findings {
		if f.Verdict == Escalate {
			ev.res.Escalated = true
			break
		}
	}
	if !ev.res.Escalated {
		return
	}
	ev.res.Approval = ev.approval()
}

// approval finds the latest board decision and says whether it covers the
// current escalation.
func (ev *evaluation) approval() *ApprovalStatus {
	var latest *model.Approval
	for _, a := range ev.in.System.Approvals {
		if latest == nil || a.Date >= latest.Date {
			latest = a
		}
	}
	if latest == nil {
		return nil
	}
	st := &ApprovalStatus{By: latest.By, Decision: latest.Decision, Date: latest.Date, Until: latest.Until, Conditions: latest.Conditions}
	switch {
	case latest.Decision != "approved":
		st.Reason = fmt.Sprintf("the review board decided %q on %s", latest.Decision, latest.Date)
	case latest.Until != "" && latest.Until < ev.today:
		st.Reason = fmt.Sprintf("approval by %s expired on %s", latest.By, latest.Until)
	case latest.ThreatSet != ev.res.ThreatSet:
		st.Reason = fmt.Sprintf("approval by %s covers threat set %s; the open threats are now %s, so the board must look again", latest.By, latest.ThreatSet, ev.res.ThreatSet)
	default:
		st.Valid = true
		st.Reason = fmt.Sprintf("approved by %s on %s until %s", latest.By, latest.Date, latest.Until)
	}
	return st
}

var envOnce sync.Once
var envCached *cel.Env
var envErr error

func cachedEnv() (*cel.Env, error) {
	envOnce.Do(func() { envCached, envErr = condEnv() })
	return envCached, envErr
}

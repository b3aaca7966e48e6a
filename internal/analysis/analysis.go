// Package analysis derives a system's threats: it evaluates the rule packs on
// every element with its graph facts, scores each threat with explainable
// likelihood and impact factors, applies controls for residual risk, applies
// people's decisions, and links ATLAS case studies as precedent. The Report it
// returns feeds every output format; none recomputes anything.
package analysis

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/diag"
	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/rules"
)

// Report is the derived threat model of one system.
type Report struct {
	System    *model.System
	Catalog   *catalog.Catalog
	Threats   []*Threat
	Notes     diag.List // warnings from applying decisions
	Rules     int       // rules evaluated
	Date      string    // evaluation date (YYYY-MM-DD) used for expiry
	Precedent []Precedent
	Verified  []Verification    // controls that test results showed to hold
	Unmatched []evidence.Record // current evidence that bears on no threat
	ev        *evaluator        // kept for ElementVars
}

// ElementVars returns the CEL variables of a component, flow or zone as rule
// conditions see them (docs/rules.md), for policies that reuse them. ok is
// false for an unknown id. Not safe for concurrent use.
func (r *Report) ElementVars(id string) (map[string]any, bool) {
	e := r.ev
	if e == nil {
		return nil, false
	}
	m := map[string]any{}
	if c := e.g.comp(id); c != nil {
		e.componentVars(m, c)
		return m, true
	}
	if f := e.flows[id]; f != nil {
		e.flowVars(m, f)
		return m, true
	}
	for _, z := range e.sys.Zones {
		if z.ID == id {
			e.zoneVars(m, z)
			return m, true
		}
	}
	return nil, false
}

// Covering lists the controls that implement mitigation (an ATLAS mitigation
// or an mlthreat control id) on the element id, whatever their status.
func (r *Report) Covering(id, mitigation string) []*model.Control {
	if r.ev == nil {
		return nil
	}
	t := Target{Component: id}
	if r.ev.flows[id] != nil {
		t = Target{Flow: id}
	}
	var out []*model.Control
	for _, ctl := range r.System.Controls {
		if r.ev.covers(ctl, mitigation) && r.ev.appliesTo(ctl, t) {
			out = append(out, ctl)
		}
	}
	return out
}

// SystemVars returns variables for a condition on the whole system: `system`
// is set and the element variables are empty.
func (r *Report) SystemVars() map[string]any {
	m := map[string]any{}
	if r.ev == nil {
		return m
	}
	r.ev.zoneVars(m, &model.Zone{})
	m["kind"] = "system"
	m["id"], m["name"] = r.System.Info.ID, r.System.Info.Name
	return m
}

// Threat is one derived threat on one element.
type Threat struct {
	ID          string
	Rule        *rules.Rule
	Target      Target
	Technique   string
	Related     []string
	Tactics     []string
	STRIDE      []string
	LINDDUN     []string
	OWASP       []string
	Likelihood  Rating
	Impact      Rating
	Risk        int
	Severity    string
	Mitigations []MitigationStatus
	Residual    Residual
	Status      string
	Decision    *model.Decision
	RMF         []string
	CaseStudies []string
	Evidence    []EvidenceRef // test results on this threat, confirming ones first
	Confirmed   bool          // a result showed the attack working
	facts       factSource    // what the condition read; words it on demand
	Line        int           // YAML line of the target element
}

// Target names the element a threat is on.
type Target struct {
	Component string
	Flow      string
	Zone      string
}

// ID of the element, whatever its type.
func (t Target) ID() string {
	switch {
	case t.Component != "":
		return t.Component
	case t.Flow != "":
		return t.Flow
	}
	return t.Zone
}

// Rating is a 1-5 score with the reasons that moved it.
type Rating struct {
	Score   int
	Factors []string
}

// MitigationStatus is one of the rule's mitigations and whether a control covers it.
type MitigationStatus struct {
	ID      string
	Control string // covering control id, or ""
	Status  string // implemented | partial | planned | missing
}

// Residual is the risk left after controls.
type Residual struct {
	Likelihood int
	Impact     int
	Score      int
	Severity   string
	Factors    []string
}

// Precedent is an ATLAS case study ranked by overlap with the system's threats.
type Precedent struct {
	CaseStudy  string
	Overlap    int // distinct techniques in common
	Steps      int // system-facing steps of the case study
	Techniques []string
}

// Severity bands of risk = likelihood × impact.
func Severity(score int) string {
	switch {
	case score >= 20:
		return "critical"
	case score >= 10:
		return "high"
	case score >= 5:
		return "medium"
	}
	return "low"
}

// SeverityRank orders severities, low first.
func SeverityRank(s string) int {
	switch s {
	case "critical":
		return 4
	case "high":
		return 3
	case "medium":
		return 2
	case "low":
		return 1
	}
	return 0
}

// StableID is the threat id: a hash of rule, element and technique, so it
// survives reordering and unrelated edits.
func StableID(rule, element, technique string) string {
	h := sha256.Sum256([]byte(rule + "\x00" + element + "\x00" + technique))
	return "T-" + hex.EncodeToString(h[:4])
}

// Options tune an analysis.
type Options struct {
	Today time.Time // for expiry checks; zero means now

	// Red-team and test results (see docs/evidence.md). Zero values of the
	// three settings mean the defaults in package evidence.
	Evidence       []evidence.Record
	ConfirmRate    float64 // attack success rate that confirms a threat
	VerifyAttempts int     // sample size a lower rate needs to verify controls
	MaxEvidenceAge int     // days after which a result is stale
}

// Analyze derives the threats of a validated system.
func Analyze(s *model.System, cat *catalog.Catalog, set *rules.Set, opt Options) (*Report, error) {
	today := opt.Today
	if today.IsZero() {
		today = time.Now().UTC()
	}
	r := &Report{System: s, Catalog: cat, Rules: len(set.Rules), Date: today.Format("2006-01-02")}
	g := newGraph(s)
	byKind := map[string][]*rules.Rule{}
	for _, rule := range set.Rules {
		for _, k := range rule.AppliesTo {
			byKind[k] = append(byKind[k], rule)
		}
	}
	e := &evaluator{sys: s, cat: cat, g: g, report: r, data: make(map[string]*model.DataItem, len(s.Data)), flows: make(map[string]*model.Flow, len(s.Flows)), mentions: map[*rules.Rule]mentions{}, info: map[*rules.Rule]ruleFacts{}}
	for _, d := range s.Data {
		e.data[d.ID] = d
	}
	for _, f := range s.Flows {
		e.flows[f.ID] = f
	}
	e.controls = newControlIndex(e)
	// Everything shared is computed up front; the evaluation below then only
	// reads it, so elements are evaluated in parallel on all cores.
	for _, rule := range set.Rules {
		e.mentions[rule] = cachedMentions(rule)
		e.ruleInfo(rule)
	}
	e.dataItems = make(map[string]map[string]any, len(s.Data))
	for _, d := range s.Data {
		e.dataItems[d.ID] = map[string]any{"id": d.ID, "classification": d.Classification, "pii": d.PII}
	}
	e.precompute()
	e.systemVars()
	tasks := make([]task, 0, len(s.Components)+len(s.Flows)+len(s.Zones))
	for _, c := range s.Components {
		if len(byKind[c.Kind]) > 0 {
			tasks = append(tasks, task{component: c, rules: byKind[c.Kind], target: Target{Component: c.ID}, node: c.Node})
		}
	}
	if len(byKind["flow"]) > 0 {
		for _, f := range s.Flows {
			if g.hasFlow(f.ID) {
				tasks = append(tasks, task{flow: f, rules: byKind["flow"], target: Target{Flow: f.ID}, node: f.Node})
			}
		}
	}
	if len(byKind["zone"]) > 0 {
		for _, z := range s.Zones {
			tasks = append(tasks, task{zone: z, rules: byKind["zone"], target: Target{Zone: z.ID}, node: z.Node})
		}
	}
	threats, err := e.run(tasks)
	if err != nil {
		return nil, err
	}
	r.Threats = threats
	r.ev = e
	e.attachEvidence(opt, today)
	e.decisions()
	e.precedent()
	slices.SortStableFunc(r.Threats, func(a, b *Threat) int {
		if c := cmp.Compare(b.Residual.Score, a.Residual.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Risk, a.Risk); c != 0 {
			return c
		}
		if c := strings.Compare(a.Target.ID(), b.Target.ID()); c != 0 {
			return c
		}
		return strings.Compare(a.Rule.ID, b.Rule.ID)
	})
	return r, nil
}

type evaluator struct {
	sys       *model.System
	cat       *catalog.Catalog
	g         *graph
	report    *Report
	propsOf   []propsEntry     // by graph index, filled before evaluation
	endsOf    []map[string]any // CEL view of a flow's end, by graph index
	data      map[string]*model.DataItem
	flows     map[string]*model.Flow
	mentions  map[*rules.Rule]mentions
	info      map[*rules.Rule]ruleFacts
	sysVars   map[string]any
	dataItems map[string]map[string]any // CEL view of each data item, shared
	controls  *controlIndex
}

type propsEntry struct {
	props map[string]any
	set   []string
}

// task is one element and the rules that apply to it.
type task struct {
	component *model.Component
	flow      *model.Flow
	zone      *model.Zone
	rules     []*rules.Rule
	target    Target
	node      *model.Node
}

func (e *evaluator) vars(m map[string]any, t task) {
	switch {
	case t.component != nil:
		e.componentVars(m, t.component)
	case t.flow != nil:
		e.flowVars(m, t.flow)
	default:
		e.zoneVars(m, t.zone)
	}
}

// run evaluates the tasks on all cores. The result does not depend on the
// scheduling: threats are sorted afterwards, and the error reported is the
// one of the first failing task.
func (e *evaluator) run(tasks []task) ([]*Threat, error) {
	workers := min(runtime.GOMAXPROCS(0), max(1, len(tasks)/64))
	type result struct {
		threats []*Threat
		errAt   int
		err     error
	}
	results := make([]result, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := &results[w]
			res.errAt = -1
			vars := make(map[string]any, 24)
			for i := w; i < len(tasks); i += workers {
				t := tasks[i]
				e.vars(vars, t)
				for _, rule := range t.rules {
					th, err := e.apply(rule, vars, t.target, t.node)
					if err != nil {
						res.err, res.errAt = err, i
						return
					}
					if th != nil {
						res.threats = append(res.threats, th)
					}
				}
			}
		}()
	}
	wg.Wait()
	var out []*Threat
	var first error
	firstAt := -1
	for _, r := range results {
		if r.err != nil && (firstAt < 0 || r.errAt < firstAt) {
			first, firstAt = r.err, r.errAt
		}
		out = append(out, r.threats...)
	}
	if first != nil {
		return nil, first
	}
	return out, nil
}

func (e *evaluator) apply(rule *rules.Rule, vars map[string]any, target Target, node *model.Node) (*Threat, error) {
	ok, err := rule.Matches(vars)
	if err != nil {
		return nil, fmt.Errorf("%s: rule %s failed on %s: %v", rule.Location(), rule.ID, target.ID(), err)
	}
	if !ok {
		return nil, nil
	}
	t := &Threat{
		ID: StableID(rule.ID, target.ID(), rule.Technique), Rule: rule, Target: target,
		Technique: rule.Technique, Related: rule.Related, Tactics: rule.Tactics,
		STRIDE: rule.STRIDE, LINDDUN: rule.LINDDUN, OWASP: rule.OWASP, RMF: rule.RMF,
		Status: "open", Line: node.Pos().Line,
	}
	t.facts = factSource{m: e.mentions[rule], ctx: vars["ctx"].(map[string]bool), props: vars["props"].(map[string]any)}
	for i, v := range plainVars {
		t.facts.plain[i] = vars[v]
	}
	if t.Likelihood, err = e.likelihood(rule, vars); err != nil {
		return nil, err
	}
	if t.Impact, err = e.impact(rule, vars); err != nil {
		return nil, err
	}
	t.Risk = t.Likelihood.Score * t.Impact.Score
	t.Severity = Severity(t.Risk)
	e.residual(t, vars)
	t.CaseStudies = e.ruleInfo(rule).cases // shared; ordered once per rule later
	return t, nil
}

type factorKey struct {
	why string
	n   int
}

var factorTexts sync.Map // factorKey -> "why (+n)"

// factorText words a score change; the texts repeat across threats, so they
// are built once.
func factorText(why string, n int) string {
	k := factorKey{why, n}
	if v, ok := factorTexts.Load(k); ok {
		return v.(string)
	}
	t := why + " (" + signed(n) + ")"
	factorTexts.Store(k, t)
	return t
}

var baseTexts = [...]string{"rule base 0", "rule base 1", "rule base 2", "rule base 3", "rule base 4", "rule base 5"}

func baseText(n int) string {
	if n >= 0 && n < len(baseTexts) {
		return baseTexts[n]
	}
	return "rule base " + strconv.Itoa(n)
}

func signed(n int) string {
	if n >= 0 {
		return "+" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

func clamp(v int) int {
	return max(1, min(5, v))
}

func (e *evaluator) likelihood(rule *rules.Rule, vars map[string]any) (Rating, error) {
	r := Rating{Score: rule.Likelihood.Base, Factors: make([]string, 1, 8)}
	r.Factors[0] = baseText(rule.Likelihood.Base)
	add := func(n int, why string) {
		r.Score += n
		r.Factors = append(r.Factors, factorText(why, n))
	}
	exposure, _ := vars["exposure"].(string)
	ctx, _ := vars["ctx"].(map[string]bool)
	switch {
	case exposure == "internet":
		add(1, "exposed to the internet")
	case exposure == "partner":
		// neutral
	case ctx["reachable_from_internet"] || ctx["reachable_from_untrusted"]:
		// reachable through flows: neutral
	case exposure == "isolated":
		add(-2, "isolated from networks outsiders reach")
	default:
		add(-1, "internal only, no untrusted data reaches it")
	}
	props, _ := vars["props"].(map[string]any)
	queryTech := e.queryBased(rule.Technique)
	if queryTech && (exposure == "internet" || exposure == "partner") {
		if a, _ := props["auth"].(string); a == "none" {
			add(1, "callers need no authentication")
		}
		if rl, _ := props["rate_limit"].(string); rl == "none" {
			add(1, "no rate limit")
		}
	}
	if e.outputSensitive(rule.Technique) {
		if o, _ := props["output"].(string); o == "scores" || o == "logits" || o == "embeddings" {
			add(1, "responses carry "+o)
		}
	}
	if e.whiteBox(rule.Technique) {
		if wp, _ := props["weights_public"].(bool); wp {
			add(1, "model weights or architecture are public")
		} else if o, _ := props["origin"].(string); o == "open-weights" {
			add(1, "model is open-weights")
		}
	}
	if info := e.ruleInfo(rule); info.incident >= 2 {
		incident := info.incident
		add(1, "seen in "+strconv.Itoa(incident)+" real incident"+plural(incident)+" (ATLAS case studies)")
	} else if info.incident == 0 && info.exercise == 0 {
		add(-1, "no ATLAS case study shows it in use")
	}
	for i := range rule.Likelihood.Factors {
		f := &rule.Likelihood.Factors[i]
		ok, err := f.Holds(vars)
		if err != nil {
			return r, fmt.Errorf("%s: rule %s likelihood factor %q: %v", rule.Location(), rule.ID, f.When, err)
		}
		if ok {
			add(f.Add, f.Reason)
		}
	}
	r.Score = clamp(r.Score)
	return r, nil
}

func (e *evaluator) impact(rule *rules.Rule, vars map[string]any) (Rating, error) {
	r := Rating{Score: rule.Impact.Base, Factors: make([]string, 1, 8)}
	r.Factors[0] = baseText(rule.Impact.Base)
	add := func(n int, why string) {
		r.Score += n
		r.Factors = append(r.Factors, factorText(why, n))
	}
	switch e.sys.Info.Criticality {
	case "critical":
		add(1, "system criticality critical")
	case "high":
		add(1, "system criticality high")
	case "low":
		add(-1, "system criticality low")
	}
	disclosure := slices.Contains(rule.STRIDE, "I") || len(rule.LINDDUN) > 0
	if disclosure {
		cls, _ := vars["classification"].(string)
		pii, _ := vars["pii"].(bool)
		switch {
		case pii:
			add(1, "handles personal data")
		case cls == "restricted" || cls == "confidential":
			add(1, "handles "+cls+" data")
		}
	}
	ctx, _ := vars["ctx"].(map[string]bool)
	if ctx["llm_can_reach_tool_with_side_effects"] && (slices.Contains(rule.STRIDE, "E") || slices.Contains(rule.STRIDE, "T")) {
		add(1, "can drive tools with side effects")
	}
	props, _ := vars["props"].(map[string]any)
	if sc, _ := props["safety_critical"].(bool); sc {
		add(1, "safety-relevant use")
	}
	for i := range rule.Impact.Factors {
		f := &rule.Impact.Factors[i]
		ok, err := f.Holds(vars)
		if err != nil {
			return r, fmt.Errorf("%s: rule %s impact factor %q: %v", rule.Location(), rule.ID, f.When, err)
		}
		if ok {
			add(f.Add, f.Reason)
		}
	}
	r.Score = clamp(r.Score)
	return r, nil
}

// queryBased: techniques that need many queries or calls to the system.
func (e *evaluator) queryBased(tech string) bool {
	base := parentOf(tech)
	switch base {
	case "AML.T0024", "AML.T0029", "AML.T0034", "AML.T0040", "AML.T0042", "AML.T0046", "AML.T0051", "AML.T0054", "AML.T0056", "AML.T0057", "AML.T0005", "AML.T0015", "AML.T0043":
		return true
	}
	return false
}

func (e *evaluator) outputSensitive(tech string) bool {
	switch tech {
	case "AML.T0024", "AML.T0024.000", "AML.T0024.001", "AML.T0024.002", "AML.T0043.001", "AML.T0005.001", "AML.T0063":
		return true
	}
	return false
}

func (e *evaluator) whiteBox(tech string) bool {
	switch tech {
	case "AML.T0043.000", "AML.T0043.002", "AML.T0005.002", "AML.T0044", "AML.T0015":
		return true
	}
	return false
}

func parentOf(tech string) string {
	if len(tech) > 9 {
		return tech[:9]
	}
	return tech
}

// seenIn counts the case studies, by type, that used the technique.
func (e *evaluator) seenIn(tech string) (incident, exercise int) {
	for _, id := range e.cat.CaseStudiesUsing(tech) {
		if cs := e.cat.CaseStudy(id); cs != nil && cs.Type == "incident" {
			incident++
		} else {
			exercise++
		}
	}
	return
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// ruleFacts are what the catalogue says about a rule's techniques, computed
// once per rule.
type ruleFacts struct {
	cases              []string
	incident, exercise int
}

func (e *evaluator) ruleInfo(r *rules.Rule) ruleFacts {
	if f, ok := e.info[r]; ok {
		return f
	}
	var f ruleFacts
	f.incident, f.exercise = e.seenIn(r.Technique)
	f.cases = e.caseStudies(r.Technique, r.Related)
	e.info[r] = f
	return f
}

func (e *evaluator) caseStudies(technique string, related []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, tech := range append([]string{technique}, related...) {
		for _, cs := range e.cat.CaseStudiesUsing(tech) {
			if !seen[cs] {
				seen[cs] = true
				out = append(out, cs)
			}
		}
	}
	sort.Strings(out)
	return out
}

var plainVars = [...]string{"exposure", "trust", "classification", "pii"}

var mentionCache sync.Map // *rules.Rule -> mentions

func cachedMentions(r *rules.Rule) mentions {
	if m, ok := mentionCache.Load(r); ok {
		return m.(mentions)
	}
	m := mentionsOf(r.When)
	mentionCache.Store(r, m)
	return m
}

// mentions are the facts, props and variables a condition reads.
type mentions struct {
	facts, props, vars []string
}

func mentionsOf(cond string) mentions {
	var m mentions
	for _, f := range rules.Facts {
		if strings.Contains(cond, "ctx."+f) {
			m.facts = append(m.facts, f)
		}
	}
	seen := map[string]bool{}
	var vars [len(plainVars)]bool
	for _, tok := range dottedNames(cond) {
		segs := strings.Split(tok, ".")
		for i, v := range plainVars {
			if segs[0] == v {
				vars[i] = true
			}
		}
		for i := 0; i+1 < len(segs); i++ {
			if p := segs[i+1]; segs[i] == "props" && p != "" && !isDigit(p[0]) && !seen[p] {
				seen[p] = true
				m.props = append(m.props, p)
			}
		}
	}
	sort.Strings(m.props)
	for i, v := range plainVars {
		if vars[i] {
			m.vars = append(m.vars, v)
		}
	}
	return m
}

// dottedNames splits cond into its maximal runs of word characters and dots,
// such as `props.auth` or `ctx.reachable_from_untrusted`.
func dottedNames(cond string) []string {
	var out []string
	start := -1
	for i := 0; i <= len(cond); i++ {
		if i < len(cond) && (isWord(cond[i]) || cond[i] == '.') {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, cond[start:i])
			start = -1
		}
	}
	return out
}

func isWord(c byte) bool {
	return c == '_' || isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func valueText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// factSource keeps what a threat's condition read: the element's facts and
// props maps (shared and never modified) and its plain variables.
type factSource struct {
	m     mentions
	ctx   map[string]bool
	props map[string]any
	plain [4]any // values of plainVars
}

// Facts lists the facts, props and variables the rule's condition reads,
// with their values on the element.
func (t *Threat) Facts() []string {
	f := t.facts
	var out []string
	for _, name := range f.m.facts {
		out = append(out, name+" = "+strconv.FormatBool(f.ctx[name]))
	}
	for _, k := range f.m.props {
		if v, ok := f.props[k]; ok {
			out = append(out, "props."+k+" = "+valueText(v))
		}
	}
	for _, v := range f.m.vars {
		for i, pv := range plainVars {
			if pv == v {
				out = append(out, v+" = "+valueText(f.plain[i]))
			}
		}
	}
	return out
}

package analysis

import (
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/model"
)

// UsableEvidence keeps the records an analysis of sys can use, as the CLI
// does: those about an element of the model that name only techniques the
// catalogue knows. (The CLI also warns about each record it leaves out.)
func UsableEvidence(sys *model.System, cat *catalog.Catalog, recs []evidence.Record) []evidence.Record {
	elements := map[string]bool{}
	for _, c := range sys.Components {
		elements[c.ID] = true
	}
	for _, f := range sys.Flows {
		elements[f.ID] = true
	}
	for _, z := range sys.Zones {
		elements[z.ID] = true
	}
	var out []evidence.Record
	for _, r := range recs {
		if !elements[r.Target] || slices.ContainsFunc(r.Techniques, func(t string) bool { return cat.Technique(t) == nil }) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// EvidenceRef is one test result bearing on a threat.
type EvidenceRef struct {
	evidence.Record
	Outcome string // confirmed | held | inconclusive
	Reason  string // why a result is inconclusive
	Stale   bool
	AgeDays int
}

// Verification is a control that test results showed to hold.
type Verification struct {
	Control  string
	Evidence []string // record ids
	Threats  []string // threat ids
}

// Outcomes of a result on a threat.
const (
	Confirmed    = "confirmed"
	Held         = "held"
	Inconclusive = "inconclusive"
)

// attachEvidence links each current record to the threats on its target
// whose technique it exercises. A result at or above the confirm rate marks
// the threat confirmed and raises its likelihood, inherent and residual, to
// at least 4: the attack worked on the system as deployed, controls and
// all. A fresh, well-sampled result below it verifies the controls that
// cover the threat's mitigations. Superseded records (an older run of the
// same attack on the same target) do not count.
func (e *evaluator) attachEvidence(opt Options, today time.Time) {
	recs := evidence.Current(opt.Evidence)
	if len(recs) == 0 {
		return
	}
	rate, need, maxAge := opt.ConfirmRate, opt.VerifyAttempts, opt.MaxEvidenceAge
	if rate <= 0 {
		rate = evidence.DefaultConfirmRate
	}
	if need <= 0 {
		need = evidence.DefaultVerifyAttempts
	}
	if maxAge <= 0 {
		maxAge = evidence.DefaultMaxAge
	}
	byTarget := map[string][]int{}
	for i := range recs {
		byTarget[recs[i].Target] = append(byTarget[recs[i].Target], i)
	}
	used := make([]bool, len(recs))
	verified := map[string]*Verification{}
	for _, t := range e.report.Threats {
		for _, i := range byTarget[t.Target.ID()] {
			r := &recs[i]
			if !bearsOn(r, t.Technique) {
				continue
			}
			used[i] = true
			ref := EvidenceRef{Record: *r}
			ref.AgeDays, _ = r.Age(today)
			ref.Stale = r.Stale(today, maxAge)
			switch {
			case r.Successes > 0 && r.Rate() >= rate:
				ref.Outcome = Confirmed
			case r.Attempts < need:
				ref.Outcome, ref.Reason = Inconclusive, evidence.Count(r.Attempts)+" attempt"+plural(r.Attempts)+", fewer than the "+evidence.Count(need)+" a pass needs"
			case ref.Stale:
				ref.Outcome, ref.Reason = Inconclusive, "older than "+strconv.Itoa(maxAge)+" days"
			default:
				ref.Outcome = Held
			}
			t.Evidence = append(t.Evidence, ref)
		}
		if len(t.Evidence) > 0 {
			sortRefs(t.Evidence)
			e.judge(t, verified)
		}
	}
	for i := range recs {
		if !used[i] {
			e.report.Unmatched = append(e.report.Unmatched, recs[i])
		}
	}
	for _, v := range verified {
		sort.Strings(v.Evidence)
		sort.Strings(v.Threats)
		e.report.Verified = append(e.report.Verified, *v)
	}
	sort.Slice(e.report.Verified, func(i, j int) bool { return e.report.Verified[i].Control < e.report.Verified[j].Control })
}

func bearsOn(r *evidence.Record, technique string) bool {
	for _, tech := range r.Techniques {
		if evidence.SameTechnique(tech, technique) {
			return true
		}
	}
	return false
}

// sortRefs puts confirming results first, then the rest; within each, the
// highest success rate, then the largest sample, then the id.
func sortRefs(refs []EvidenceRef) {
	rank := map[string]int{Confirmed: 0, Held: 1, Inconclusive: 2}
	sort.SliceStable(refs, func(i, j int) bool {
		a, b := &refs[i], &refs[j]
		if rank[a.Outcome] != rank[b.Outcome] {
			return rank[a.Outcome] < rank[b.Outcome]
		}
		if a.Rate() != b.Rate() {
			return a.Rate() > b.Rate()
		}
		if a.Attempts != b.Attempts {
			return a.Attempts > b.Attempts
		}
		return a.ID < b.ID
	})
}

// judge applies a threat's evidence to its scores.
func (e *evaluator) judge(t *Threat, verified map[string]*Verification) {
	best := &t.Evidence[0]
	cite := best.ID + ", " + best.Label() + ": " + best.Summary()
	if best.Outcome == Confirmed {
		t.Confirmed = true
		raise := max(0, 4-t.Likelihood.Score)
		t.Likelihood.Factors = append(append([]string(nil), t.Likelihood.Factors...), "confirmed by evidence "+cite+" ("+signed(raise)+")")
		t.Likelihood.Score += raise
		t.Risk = t.Likelihood.Score * t.Impact.Score
		t.Severity = Severity(t.Risk)
		reduce := 0
		for _, m := range t.Mitigations {
			switch m.Status {
			case "implemented":
				reduce += 2
			case "partial":
				reduce++
			}
		}
		l := max(1, t.Likelihood.Score-reduce)
		factors := append([]string(nil), t.Residual.Factors...)
		if l < 4 {
			factors = append(factors, "the attack succeeded with these controls in place (evidence "+best.ID+"): residual likelihood at least 4")
			l = 4
		}
		t.Residual = Residual{Likelihood: l, Impact: t.Impact.Score, Score: l * t.Impact.Score, Severity: Severity(l * t.Impact.Score), Factors: factors}
		return
	}
	var held []string
	for _, ref := range t.Evidence {
		if ref.Outcome == Held {
			held = append(held, ref.ID)
		}
	}
	if len(held) == 0 {
		return
	}
	var controls []string
	for _, m := range t.Mitigations {
		if m.Control != "" && (m.Status == "implemented" || m.Status == "partial") {
			controls = append(controls, m.Control)
			v := verified[m.Control]
			if v == nil {
				v = &Verification{Control: m.Control}
				verified[m.Control] = v
			}
			for _, id := range held {
				v.Evidence = addUnique(v.Evidence, id)
			}
			v.Threats = addUnique(v.Threats, t.ID)
		}
	}
	why := "held against evidence " + cite
	if len(controls) > 0 {
		why += "; verifies " + joinUnique(controls)
	}
	t.Residual.Factors = append(append([]string(nil), t.Residual.Factors...), why+" (no change)")
}

func addUnique(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

func joinUnique(list []string) string {
	var out []string
	for _, v := range list {
		out = addUnique(out, v)
	}
	s := ""
	for i, v := range out {
		if i > 0 {
			s += ", "
		}
		s += v
	}
	return s
}

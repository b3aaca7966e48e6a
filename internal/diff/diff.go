// Package diff compares two threat analyses of a system, before and after a
// change to its model: threats added, removed and changed, the residual-risk
// delta, ATLAS techniques and tactics gained or lost, and controls added,
// removed or changed. It reads analysis reports and renders nothing; it may
// import analysis, catalog and model, never a report package.
package diff

import (
	"sort"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/model"
)

// Severities from the most to the least severe.
var Severities = []string{"critical", "high", "medium", "low"}

// Result is what changed between two analyses. Threat lists are sorted by
// residual severity and score (most severe first), then id; other lists by id.
type Result struct {
	Old, New   Side
	Catalog    *catalog.Catalog // of the new analysis, for names
	Added      []Threat         // derived from NEW only
	Removed    []Threat         // derived from OLD only
	Changed    []Change         // in both, with another residual risk or status
	Risk       Risk
	Techniques Delta // main ATLAS techniques of the threats
	Tactics    Delta
	Controls   Controls
}

// Side describes one of the two analyses.
type Side struct {
	File    string
	System  string // system id
	Name    string
	Threats int
	Open    int // unmitigated threats
}

// Threat is one threat as the diff shows it.
type Threat struct {
	ID        string
	Title     string
	Target    string
	Technique string
	Tactics   []string
	State
}

// State is what may change about a threat between two analyses.
type State struct {
	Score    int    // residual risk
	Severity string // residual severity
	Status   string
}

// Unmitigated reports whether the threat still counts against the system:
// open or in-progress, rather than mitigated, accepted or a false positive.
func (s State) Unmitigated() bool { return s.Status == "open" || s.Status == "in-progress" }

// Change is a threat present in both analyses whose state differs.
type Change struct {
	ID        string
	Title     string
	Target    string
	Technique string
	Old, New  State
}

// Risk sums the residual risk of the unmitigated threats on each side.
type Risk struct {
	Old, New                     int
	OldBySeverity, NewBySeverity map[string]int // unmitigated threats per residual severity
}

// Delta is New minus Old.
func (r Risk) Delta() int { return r.New - r.Old }

// Delta lists ids present on one side only.
type Delta struct {
	Added, Removed []string
}

// Controls lists the model's controls that were added, removed or changed.
type Controls struct {
	Added, Removed []Control
	Changed        []ControlChange
}

// Control is one control of a model.
type Control struct {
	ID, Name, Status string
}

// ControlChange is a control whose status differs.
type ControlChange struct {
	ID, Name             string
	OldStatus, NewStatus string
}

// Empty reports whether nothing the diff looks at has changed.
func (r *Result) Empty() bool {
	return len(r.Added)+len(r.Removed)+len(r.Changed) == 0 && r.Risk.Delta() == 0 &&
		len(r.Techniques.Added)+len(r.Techniques.Removed)+len(r.Tactics.Added)+len(r.Tactics.Removed) == 0 &&
		len(r.Controls.Added)+len(r.Controls.Removed)+len(r.Controls.Changed) == 0
}

// Compare diffs two analyses of the same system. It takes time linear in
// the number of threats and controls (plus sorting).
func Compare(before, after *analysis.Report) *Result {
	r := &Result{Old: side(before), New: side(after), Catalog: after.Catalog}
	// A threat's identity is its rule, element and technique: the threat id
	// is a 32-bit hash of them and may collide in very large models.
	olds := make(map[string]*analysis.Threat, len(before.Threats))
	for _, t := range before.Threats {
		olds[key(t)] = t
	}
	seen := make(map[string]bool, len(after.Threats))
	for _, t := range after.Threats {
		k := key(t)
		seen[k] = true
		o, ok := olds[k]
		switch {
		case !ok:
			r.Added = append(r.Added, threat(t))
		case state(o) != state(t):
			r.Changed = append(r.Changed, Change{ID: t.ID, Title: title(t), Target: t.Target.ID(), Technique: t.Technique, Old: state(o), New: state(t)})
		}
	}
	for _, t := range before.Threats {
		if !seen[key(t)] {
			r.Removed = append(r.Removed, threat(t))
		}
	}
	r.Risk.Old, r.Risk.OldBySeverity = residual(before)
	r.Risk.New, r.Risk.NewBySeverity = residual(after)
	r.Techniques = delta(ids(before, false), ids(after, false))
	r.Tactics = delta(ids(before, true), ids(after, true))
	r.Controls = controls(before.System, after.System)
	sortThreats(r.Added)
	sortThreats(r.Removed)
	sort.Slice(r.Changed, func(i, j int) bool {
		a, b := r.Changed[i], r.Changed[j]
		return less(a.New, b.New, a.ID, b.ID, a.Target, b.Target)
	})
	return r
}

// Trip is a threat that trips a --fail-on-new gate. Old is its state
// before the change, nil when the change added it.
type Trip struct {
	Threat
	Old *State
}

// Tripped lists the threats that the change leaves unmitigated at or above
// severity min where they were not before: added ones, and existing ones whose
// residual severity rose to min or that were reopened. Sorted like Added.
func (r *Result) Tripped(min string) []Trip {
	rank := analysis.SeverityRank(min)
	over := func(s State) bool { return s.Unmitigated() && analysis.SeverityRank(s.Severity) >= rank }
	var out []Trip
	for _, t := range r.Added {
		if over(t.State) {
			out = append(out, Trip{Threat: t})
		}
	}
	for _, c := range r.Changed {
		if over(c.New) && !over(c.Old) {
			old := c.Old
			out = append(out, Trip{Threat: Threat{ID: c.ID, Title: c.Title, Target: c.Target, Technique: c.Technique, State: c.New}, Old: &old})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return less(a.State, b.State, a.ID, b.ID, a.Target, b.Target)
	})
	return out
}

func side(r *analysis.Report) Side {
	s := Side{Threats: len(r.Threats)}
	if r.System != nil {
		s.File, s.System, s.Name = r.System.File, r.System.Info.ID, r.System.Info.Name
	}
	for _, t := range r.Threats {
		if state(t).Unmitigated() {
			s.Open++
		}
	}
	return s
}

func key(t *analysis.Threat) string {
	rule := ""
	if t.Rule != nil {
		rule = t.Rule.ID
	}
	return rule + "\x00" + t.Target.ID() + "\x00" + t.Technique
}

func title(t *analysis.Threat) string {
	if t.Rule == nil {
		return ""
	}
	return t.Rule.Title
}

func state(t *analysis.Threat) State {
	return State{Score: t.Residual.Score, Severity: t.Residual.Severity, Status: t.Status}
}

func threat(t *analysis.Threat) Threat {
	return Threat{ID: t.ID, Title: title(t), Target: t.Target.ID(), Technique: t.Technique, Tactics: t.Tactics, State: state(t)}
}

func residual(r *analysis.Report) (int, map[string]int) {
	sum, by := 0, map[string]int{}
	for _, s := range Severities {
		by[s] = 0
	}
	for _, t := range r.Threats {
		if state(t).Unmitigated() {
			sum += t.Residual.Score
			by[t.Residual.Severity]++
		}
	}
	return sum, by
}

// ids collects the main techniques, or the tactics, of every threat whatever
// its status: an accepted threat is still part of the threat model.
func ids(r *analysis.Report, tactics bool) map[string]bool {
	m := map[string]bool{}
	for _, t := range r.Threats {
		if !tactics {
			m[t.Technique] = true
			continue
		}
		for _, ta := range t.Tactics {
			m[ta] = true
		}
	}
	return m
}

func delta(old, cur map[string]bool) Delta {
	var d Delta
	for id := range cur {
		if !old[id] {
			d.Added = append(d.Added, id)
		}
	}
	for id := range old {
		if !cur[id] {
			d.Removed = append(d.Removed, id)
		}
	}
	sort.Strings(d.Added)
	sort.Strings(d.Removed)
	return d
}

func controls(before, after *model.System) Controls {
	var c Controls
	olds := map[string]*model.Control{}
	if before != nil {
		for _, ctl := range before.Controls {
			olds[ctl.ID] = ctl
		}
	}
	seen := map[string]bool{}
	if after != nil {
		for _, ctl := range after.Controls {
			seen[ctl.ID] = true
			o, ok := olds[ctl.ID]
			switch {
			case !ok:
				c.Added = append(c.Added, Control{ID: ctl.ID, Name: ctl.Name, Status: status(ctl)})
			case status(o) != status(ctl):
				c.Changed = append(c.Changed, ControlChange{ID: ctl.ID, Name: ctl.Name, OldStatus: status(o), NewStatus: status(ctl)})
			}
		}
	}
	if before != nil {
		for _, ctl := range before.Controls {
			if !seen[ctl.ID] {
				c.Removed = append(c.Removed, Control{ID: ctl.ID, Name: ctl.Name, Status: status(ctl)})
			}
		}
	}
	byID := func(s []Control) { sort.Slice(s, func(i, j int) bool { return s[i].ID < s[j].ID }) }
	byID(c.Added)
	byID(c.Removed)
	sort.Slice(c.Changed, func(i, j int) bool { return c.Changed[i].ID < c.Changed[j].ID })
	return c
}

// status is the control's status as the analysis reads it: unset means implemented.
func status(c *model.Control) string {
	if c.Status == "" {
		return "implemented"
	}
	return c.Status
}

func sortThreats(ts []Threat) {
	sort.Slice(ts, func(i, j int) bool {
		a, b := ts[i], ts[j]
		return less(a.State, b.State, a.ID, b.ID, a.Target, b.Target)
	})
}

// less orders by residual severity and score (most severe first), then id,
// then target.
func less(a, b State, idA, idB, targetA, targetB string) bool {
	if ra, rb := analysis.SeverityRank(a.Severity), analysis.SeverityRank(b.Severity); ra != rb {
		return ra > rb
	}
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	if idA != idB {
		return idA < idB
	}
	return targetA < targetB
}

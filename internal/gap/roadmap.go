package gap

import (
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/quantify"
	"github.com/mlthreat/mlthreat/internal/rules"
)

// Item is one step of the remediation roadmap.
type Item struct {
	Rank          int      `json:"rank"`
	Kind          string   `json:"kind"` // mitigation (ATLAS), control (mlthreat) or practice
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Action        string   `json:"action"`             // implement, or strengthen an existing control or practice
	Existing      string   `json:"existing,omitempty"` // the model's control or practice it upgrades
	Subcategories []string `json:"subcategories"`      // brought up to the profile's target
	Threats       []string `json:"threats"`            // open threats whose residual risk drops
	RiskReduction int      `json:"risk_reduction"`     // residual risk removed, summed over threats
	// With a business loss model: the expected annual loss removed (in the
	// model's currency) and that per effort unit (S 1, M 3, L 8).
	LossReduction float64  `json:"loss_reduction,omitempty"`
	Return        float64  `json:"loss_reduction_per_effort_unit,omitempty"`
	Effort        string   `json:"effort"` // S, M or L
	DependsOn     []string `json:"depends_on,omitempty"`
	Phase         int      `json:"phase_days"` // 30, 60 or 90
}

// EffortUnits converts an effort size to a comparable cost.
var EffortUnits = map[string]float64{"S": 1, "M": 3, "L": 8}

// defaultEffort sizes ATLAS mitigations and mlthreat controls; anything not
// listed is M. Users override with an effort file.
var defaultEffort = map[string]string{
	"AML.M0000": "S", "AML.M0001": "S", "AML.M0002": "S", "AML.M0003": "L", "AML.M0004": "S", "AML.M0005": "M",
	"AML.M0006": "L", "AML.M0007": "M", "AML.M0008": "M", "AML.M0009": "L", "AML.M0010": "M", "AML.M0011": "S",
	"AML.M0012": "S", "AML.M0013": "M", "AML.M0014": "S", "AML.M0015": "M", "AML.M0016": "S", "AML.M0017": "L",
	"AML.M0018": "S", "AML.M0019": "M", "AML.M0020": "M", "AML.M0021": "S", "AML.M0022": "L", "AML.M0023": "M",
	"AML.M0024": "M", "AML.M0025": "M", "AML.M0026": "S", "AML.M0027": "M", "AML.M0028": "S", "AML.M0029": "S",
	"AML.M0030": "M", "AML.M0031": "M", "AML.M0032": "M", "AML.M0033": "M", "AML.M0034": "L",
	"MLT-C-RATE-LIMIT": "S", "MLT-C-AUTHN": "S", "MLT-C-OUTPUT-MINIMISATION": "S", "MLT-C-TLS": "S",
	"MLT-C-SAFE-SERIALIZATION": "S", "MLT-C-DEPENDENCY-PINNING": "S", "MLT-C-SECRETS-MANAGEMENT": "S",
	"MLT-C-ADV-TRAINING": "L", "MLT-C-ENSEMBLE": "L", "MLT-C-ALIGNMENT": "L", "MLT-C-DEEPFAKE-DETECTION": "L",
}

// controlDeps are prerequisites between controls (telemetry before the
// monitoring built on it).
var controlDeps = map[string][]string{
	"MLT-C-DRIFT-MONITORING": {"MLT-C-TELEMETRY"},
	"MLT-C-ADV-DETECTION":    {"MLT-C-TELEMETRY"},
	"AML.M0015":              {"AML.M0024"},
}

func effortOf(id string, cw *Crosswalk, override map[string]string) string {
	if e, ok := override[id]; ok {
		return e
	}
	if p := cw.Practice(id); p != nil {
		return p.Effort
	}
	if e, ok := defaultEffort[id]; ok {
		return e
	}
	return "M"
}

// roadmap builds and orders the items. Each item's risk reduction comes from
// re-running the analysis with the item in place, not from an estimate.
func roadmap(s *model.System, cat *catalog.Catalog, set *rules.Set, cw *Crosswalk, prof *Profile, ar *analysis.Report, subs []Subcategory, opt Options) ([]Item, error) {
	below := map[string]bool{}
	for _, sc := range subs {
		if sc.BelowTarget {
			below[sc.ID] = true
		}
	}
	// Candidates: what open threats are missing, and practices that would
	// raise a subcategory that is below target.
	cand := map[string]string{} // id -> kind
	for _, t := range ar.Threats {
		if t.Status != "open" {
			continue
		}
		for _, m := range t.Mitigations {
			if m.Status == "implemented" {
				continue
			}
			if cat.Mitigation(m.ID) != nil {
				cand[m.ID] = "mitigation"
			} else {
				cand[m.ID] = "control"
			}
		}
	}
	for _, p := range cw.Practices {
		if practiceStatus(s, p.ID) == "implemented" {
			continue
		}
		for _, l := range p.Links {
			if below[l.RMF] {
				cand[p.ID] = "practice"
				break
			}
		}
	}
	ids := make([]string, 0, len(cand))
	for id := range cand {
		ids = append(ids, id)
	}
	sort.Strings(ids)

	before := residuals(ar)
	money := s.Business != nil
	lossBefore := 0.0
	if money {
		lossBefore = expectedLoss(ar)
	}
	var items []Item
	for _, id := range ids {
		it := Item{Kind: cand[id], ID: id, Name: nameOf(id, cat, cw), Action: "implement", Effort: effortOf(id, cw, opt.Effort)}
		undo := apply(s, id, it.Kind, &it)
		after, err := analysis.Analyze(s, cat, set, analysis.Options{Today: opt.Today})
		if err != nil {
			undo()
			return nil, err
		}
		for tid, res := range residuals(after) {
			if d := before[tid] - res; d > 0 {
				it.RiskReduction += d
				it.Threats = append(it.Threats, tid)
			}
		}
		if money {
			it.LossReduction = math.Max(0, lossBefore-expectedLoss(after))
			it.Return = it.LossReduction / EffortUnits[it.Effort]
		}
		newSubs := evaluate(s, cat, cw, prof, after, opt.Today)
		for i, sc := range newSubs {
			if subs[i].BelowTarget && !sc.BelowTarget {
				it.Subcategories = append(it.Subcategories, sc.ID)
			}
		}
		undo()
		sort.Strings(it.Threats)
		if it.Threats == nil {
			it.Threats = []string{}
		}
		if it.Subcategories == nil {
			it.Subcategories = []string{}
		}
		if it.RiskReduction == 0 && len(it.Subcategories) == 0 {
			continue
		}
		if it.Kind == "practice" {
			it.DependsOn = cw.Practice(id).DependsOn
		} else {
			it.DependsOn = controlDeps[id]
		}
		items = append(items, it)
	}
	return order(items, s), nil
}

// expectedLoss is the system's expected annual residual loss, worked out
// from the scenarios' means without simulation.
func expectedLoss(r *analysis.Report) float64 {
	scs, _, err := quantify.Scenarios(r)
	if err != nil {
		return 0
	}
	total := 0.0
	for _, sc := range scs {
		_, res := sc.ExpectedLoss()
		total += res
	}
	return total
}

func residuals(r *analysis.Report) map[string]int {
	out := map[string]int{}
	for _, t := range r.Threats {
		if t.Status == "open" {
			out[t.ID] = t.Residual.Score
		} else {
			out[t.ID] = 0
		}
	}
	return out
}

func practiceStatus(s *model.System, id string) string {
	for _, p := range s.Governance {
		if p.Practice == id {
			return p.Status
		}
	}
	return ""
}

func nameOf(id string, cat *catalog.Catalog, cw *Crosswalk) string {
	if p := cw.Practice(id); p != nil {
		return p.Name
	}
	return cat.Name(id)
}

// apply puts an item in place in the model and returns how to undo it. An
// existing control or practice that covers the item is set to implemented
// (a "strengthen" item); otherwise a system-wide control or practice is added.
func apply(s *model.System, id, kind string, it *Item) func() {
	if kind == "practice" {
		for _, p := range s.Governance {
			if p.Practice == id {
				old := p.Status
				p.Status = "implemented"
				it.Action, it.Existing = "strengthen", id
				return func() { p.Status = old }
			}
		}
		s.Governance = append(s.Governance, &model.Practice{Practice: id, Status: "implemented", Evidence: []string{"roadmap"}})
		return func() { s.Governance = s.Governance[:len(s.Governance)-1] }
	}
	for _, c := range s.Controls {
		if slices.Contains(c.Mitigates, id) && c.Status != "implemented" && c.Status != "" {
			old := c.Status
			c.Status = "implemented"
			it.Action, it.Existing = "strengthen", c.ID
			return func() { c.Status = old }
		}
	}
	s.Controls = append(s.Controls, &model.Control{ID: "roadmap-" + strings.ToLower(id), Mitigates: []string{id}, Status: "implemented", Evidence: []string{"roadmap"}})
	return func() { s.Controls = s.Controls[:len(s.Controls)-1] }
}

// order ranks items by residual risk removed per unit of effort (then by
// subcategories raised), placing an item only after the prerequisites that
// are themselves on the roadmap, and assigns 30/60/90-day phases by
// cumulative effort.
func order(items []Item, s *model.System) []Item {
	onMap := map[string]bool{}
	for _, it := range items {
		onMap[it.ID] = true
	}
	better := func(a, b Item) bool {
		ra := float64(a.RiskReduction) / EffortUnits[a.Effort]
		rb := float64(b.RiskReduction) / EffortUnits[b.Effort]
		if s.Business != nil {
			// With a loss model, money removed per unit of effort ranks first.
			ra, rb = a.Return, b.Return
		}
		if ra != rb {
			return ra > rb
		}
		if len(a.Subcategories) != len(b.Subcategories) {
			return len(a.Subcategories) > len(b.Subcategories)
		}
		return a.ID < b.ID
	}
	placed := map[string]bool{}
	var out []Item
	remaining := append([]Item(nil), items...)
	for len(remaining) > 0 {
		best := -1
		for i, it := range remaining {
			ready := true
			for _, d := range it.DependsOn {
				if onMap[d] && !placed[d] {
					ready = false
				}
			}
			if ready && (best < 0 || better(it, remaining[best])) {
				best = i
			}
		}
		if best < 0 { // a dependency cycle: take the best regardless
			best = 0
			for i := range remaining {
				if better(remaining[i], remaining[best]) {
					best = i
				}
			}
		}
		it := remaining[best]
		remaining = append(remaining[:best], remaining[best+1:]...)
		placed[it.ID] = true
		out = append(out, it)
	}
	total := 0.0
	for i := range out {
		out[i].Rank = i + 1
		total += EffortUnits[out[i].Effort]
		switch {
		case total <= 10:
			out[i].Phase = 30
		case total <= 25:
			out[i].Phase = 60
		default:
			out[i].Phase = 90
		}
	}
	return out
}

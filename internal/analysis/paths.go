package analysis

import (
	"slices"
	"sort"
	"strings"
)

// Path is a chain of threats along the flow graph, from an element an
// attacker can reach to an impact, with steps in ATLAS tactic order.
type Path struct {
	Entry    string
	Target   string
	Elements []string // components from entry to target
	Steps    []*Threat
	Risk     int    // highest residual risk of a step
	Severity string // its band
}

var endTactics = map[string]bool{"AML.TA0010": true, "AML.TA0011": true} // Exfiltration, Impact

// Paths derives attack paths: for every element where an exfiltration or
// impact threat sits, the shortest flow path from the nearest entry point (an
// element outsiders can write to or reach), with one open threat per tactic
// along it (the riskiest), ordered by the ATLAS matrix. One multi-source
// traversal serves all targets, so the cost stays linear in the model.
func (r *Report) Paths() []Path {
	g := newGraph(r.System)
	tacticOrder := map[string]int{}
	for i, t := range r.Catalog.ATLAS.Tactics {
		tacticOrder[t.ID] = i
	}
	byElement := map[string][]*Threat{}
	for _, t := range r.Threats {
		if t.Status == "open" || t.Status == "in-progress" {
			byElement[t.Target.ID()] = append(byElement[t.Target.ID()], t)
		}
	}
	var entries, targets []string
	for _, c := range r.System.Components {
		if g.untrustedSource(c) || g.exposure(c) == "internet" {
			entries = append(entries, c.ID)
		}
		for _, t := range byElement[c.ID] {
			if len(t.Tactics) > 0 && endTactics[t.Tactics[0]] {
				targets = append(targets, c.ID)
				break
			}
		}
	}
	seen := map[string]bool{}
	var out []Path
	parent, origin := g.bfsParents(entries)
	{
		for _, target := range targets {
			entry, ok := origin[target]
			if !ok || target == entry {
				continue
			}
			var elems []string
			var flows []string
			for at := target; at != entry; {
				p := parent[at]
				elems = append(elems, at)
				flows = append(flows, p.flow)
				at = p.from
			}
			elems = append(elems, entry)
			slices.Reverse(elems)
			best := map[string]*Threat{}
			consider := func(t *Threat) {
				if len(t.Tactics) == 0 {
					return
				}
				ta := t.Tactics[0]
				if b := best[ta]; b == nil || t.Residual.Score > b.Residual.Score || (t.Residual.Score == b.Residual.Score && t.ID < b.ID) {
					best[ta] = t
				}
			}
			for _, e := range append(elems, flows...) {
				for _, t := range byElement[e] {
					consider(t)
				}
			}
			var steps []*Threat
			for _, t := range best {
				steps = append(steps, t)
			}
			sort.Slice(steps, func(i, j int) bool {
				oi, oj := tacticOrder[steps[i].Tactics[0]], tacticOrder[steps[j].Tactics[0]]
				if oi != oj {
					return oi < oj
				}
				return steps[i].ID < steps[j].ID
			})
			// A path ends at its impact: drop steps after the last end tactic.
			last := -1
			for i, s := range steps {
				if endTactics[s.Tactics[0]] {
					last = i
				}
			}
			if last < 1 {
				continue
			}
			steps = steps[:last+1]
			var key []string
			risk := 0
			for _, s := range steps {
				key = append(key, s.ID)
				risk = max(risk, s.Residual.Score)
			}
			k := strings.Join(key, ",")
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, Path{Entry: entry, Target: target, Elements: elems, Steps: steps, Risk: risk, Severity: Severity(risk)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Risk != out[j].Risk {
			return out[i].Risk > out[j].Risk
		}
		if len(out[i].Steps) != len(out[j].Steps) {
			return len(out[i].Steps) > len(out[j].Steps)
		}
		if out[i].Entry != out[j].Entry {
			return out[i].Entry < out[j].Entry
		}
		return out[i].Target < out[j].Target
	})
	return out
}

type hop struct{ from, flow string }

// bfsParents runs one breadth-first search from all starts at once and
// returns, for every component reached, the hop it was first reached by and
// the start it came from.
func (g *graph) bfsParents(starts []string) (map[string]hop, map[string]string) {
	parent := map[string]hop{}
	origin := map[string]string{}
	queue := append([]string(nil), starts...)
	for _, s := range starts {
		origin[s] = s
	}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, f := range g.outOf(id) {
			if _, seen := origin[f.To]; !seen {
				origin[f.To] = origin[id]
				parent[f.To] = hop{from: id, flow: f.ID}
				queue = append(queue, f.To)
			}
		}
	}
	return parent, origin
}

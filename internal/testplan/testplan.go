// Package testplan turns a threat model into a red-team test plan: for each
// open threat, ranked by residual risk, what to test and with which tool,
// pointed at which element; and the ready-to-run files for it: a garak
// script, a promptfoo red-team config and a list of Adversarial Robustness
// Toolbox attacks. Tools and attacks come from the project's evidence
// mapping, read in reverse.
package testplan

import (
	"slices"
	"sort"
	"strings"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/evidence/mapping"
	"github.com/mlthreat/mlthreat/internal/model"
)

// Item is the plan for one open threat.
type Item struct {
	Rank       int
	Threat     *analysis.Threat
	Evidence   string // untested | confirmed | held | inconclusive
	LLMAt      string // element garak and promptfoo should attack, or ""
	Garak      []string
	Plugins    []string
	Strategies []string
	ModelAt    string // model or API ART should attack, or ""
	ART        []mapping.Attack
	Missing    []string // mitigations no implemented control covers
}

// Manual reports whether no tool in the mapping tests the threat.
func (it *Item) Manual() bool {
	return len(it.Garak)+len(it.Plugins)+len(it.ART) == 0
}

// GarakRun is one garak run against one element, and the elements its
// report is imported on.
type GarakRun struct {
	Element string
	Probes  []string
	Imports []string // --target of each import, the element first
	Threats []string
	Type    string // garak generator type derived from the model, or ""
	Name    string // garak generator name derived from the model, or ""
}

// PromptfooTarget is one element the red-team config attacks.
type PromptfooTarget struct {
	Element  string
	Provider string // promptfoo provider id derived from the model, or ""
}

// Plan is the whole plan.
type Plan struct {
	System     *model.System
	ModelPath  string // the model file as the generated scripts should name it
	Items      []Item
	Garak      []GarakRun
	Targets    []PromptfooTarget
	Plugins    []string
	Strategies []string
}

// Build makes the plan for the open and in-progress threats of r.
func Build(r *analysis.Report, m *mapping.Mapping, modelPath string) *Plan {
	g := newGraph(r.System)
	p := &Plan{System: r.System, ModelPath: modelPath}
	runs := map[string]*GarakRun{}
	targets := map[string]bool{}
	for _, t := range r.Threats {
		if t.Status != "open" && t.Status != "in-progress" {
			continue
		}
		it := Item{Rank: len(p.Items) + 1, Threat: t, Evidence: evidenceState(t)}
		for _, ms := range t.Mitigations {
			if ms.Status != "implemented" {
				it.Missing = append(it.Missing, ms.ID)
			}
		}
		start := g.start(t.Target)
		if at := g.llmFor(start); at != "" {
			it.Garak = mapping.Runs(m.GarakProbes, t.Technique)
			it.Plugins = mapping.Runs(m.PromptfooPlugins, t.Technique)
			if len(it.Plugins) > 0 {
				it.Strategies = mapping.Runs(m.PromptfooStrategies, t.Technique)
			}
			if len(it.Garak)+len(it.Plugins) > 0 {
				it.LLMAt = at
			}
		}
		if at := g.modelFor(start); at != "" {
			if it.ART = m.ARTFor(t.Technique); len(it.ART) > 0 {
				it.ModelAt = at
			}
		}
		if len(it.Garak) > 0 {
			run := runs[it.LLMAt]
			if run == nil {
				run = &GarakRun{Element: it.LLMAt, Imports: []string{it.LLMAt}}
				run.Type, run.Name = g.garakGenerator(it.LLMAt)
				runs[it.LLMAt] = run
			}
			run.Probes = union(run.Probes, it.Garak)
			run.Imports = union(run.Imports, []string{t.Target.ID()})
			run.Threats = append(run.Threats, t.ID)
		}
		if len(it.Plugins) > 0 {
			targets[it.LLMAt] = true
			p.Plugins = union(p.Plugins, it.Plugins)
			p.Strategies = union(p.Strategies, it.Strategies)
		}
		p.Items = append(p.Items, it)
	}
	for _, run := range runs {
		sort.Strings(run.Probes)
		p.Garak = append(p.Garak, *run)
	}
	sort.Slice(p.Garak, func(i, j int) bool { return p.Garak[i].Element < p.Garak[j].Element })
	for el := range targets {
		p.Targets = append(p.Targets, PromptfooTarget{Element: el, Provider: g.provider(el)})
	}
	sort.Slice(p.Targets, func(i, j int) bool { return p.Targets[i].Element < p.Targets[j].Element })
	sort.Strings(p.Plugins)
	sort.Strings(p.Strategies)
	return p
}

func evidenceState(t *analysis.Threat) string {
	if len(t.Evidence) == 0 {
		return "untested"
	}
	return t.Evidence[0].Outcome
}

func union(a, b []string) []string {
	for _, x := range b {
		if !slices.Contains(a, x) {
			a = append(a, x)
		}
	}
	return a
}

// graph answers which LLM or model a test of an element should attack.
type graph struct {
	comps   map[string]*model.Component
	flows   map[string]*model.Flow
	out, in map[string][]string
}

func newGraph(s *model.System) *graph {
	g := &graph{comps: map[string]*model.Component{}, flows: map[string]*model.Flow{}, out: map[string][]string{}, in: map[string][]string{}}
	for _, c := range s.Components {
		g.comps[c.ID] = c
	}
	for _, f := range s.Flows {
		g.flows[f.ID] = f
		g.out[f.From] = append(g.out[f.From], f.To)
		g.in[f.To] = append(g.in[f.To], f.From)
	}
	return g
}

// start is the component a threat's element stands for: itself, or the
// receiving end of a flow. A zone stands for nothing.
func (g *graph) start(t analysis.Target) string {
	if t.Component != "" {
		return t.Component
	}
	if f := g.flows[t.Flow]; f != nil {
		return f.To
	}
	return ""
}

func (g *graph) kind(id string) string {
	if c := g.comps[id]; c != nil {
		return c.Kind
	}
	return ""
}

// nearest walks the flows from id, downstream first and then upstream, to
// the closest component that ok accepts.
func (g *graph) nearest(id string, ok func(string) bool) string {
	if id == "" {
		return ""
	}
	for _, next := range []map[string][]string{g.out, g.in} {
		seen := map[string]bool{id: true}
		queue := []string{id}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			if ok(cur) {
				return cur
			}
			nb := append([]string(nil), next[cur]...)
			sort.Strings(nb)
			for _, n := range nb {
				if !seen[n] {
					seen[n] = true
					queue = append(queue, n)
				}
			}
		}
	}
	return ""
}

func (g *graph) isLLM(id string) bool {
	k := g.kind(id)
	return k == "llm" || k == "agent"
}

// llmFor is the element a prompt-driven tool should attack for a threat on
// id: the element itself when it is an LLM or agent, or an API or
// application with one behind it; else the nearest LLM or agent.
func (g *graph) llmFor(id string) string {
	switch g.kind(id) {
	case "llm", "agent":
		return id
	case "inference-api", "application":
		if g.nearestDown(id, g.isLLM) != "" {
			return id
		}
		return ""
	case "":
		return ""
	}
	return g.nearest(id, g.isLLM)
}

// modelFor is the classic model or API an ART attack should target for a
// threat on id: the element itself, or the nearest model or inference API
// downstream that no LLM answers behind.
func (g *graph) modelFor(id string) string {
	classic := func(c string) bool {
		switch g.kind(c) {
		case "model":
			return true
		case "inference-api":
			return g.nearestDown(c, g.isLLM) == ""
		}
		return false
	}
	if classic(id) {
		return id
	}
	return g.nearestDown(id, classic)
}

func (g *graph) nearestDown(id string, ok func(string) bool) string {
	seen := map[string]bool{id: true}
	queue := append([]string(nil), g.out[id]...)
	sort.Strings(queue)
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if seen[cur] {
			continue
		}
		seen[cur] = true
		if ok(cur) {
			return cur
		}
		nb := append([]string(nil), g.out[cur]...)
		sort.Strings(nb)
		queue = append(queue, nb...)
	}
	return ""
}

// provider derives a promptfoo provider id from an LLM's props: its
// provider and, as the model name, its version.
func (g *graph) provider(id string) string {
	c := g.comps[id]
	if c == nil || c.Kind != "llm" {
		return ""
	}
	prov, _ := c.Props["provider"].(string)
	name, _ := c.Props["version"].(string)
	if name == "" || strings.ContainsAny(name, " \t\n'\"") {
		return ""
	}
	switch prov {
	case "openai":
		return "openai:chat:" + name
	case "anthropic":
		return "anthropic:messages:" + name
	case "mistral":
		return "mistral:" + name
	case "azure-openai":
		return "azure:chat:" + name
	case "aws-bedrock":
		return "bedrock:" + name
	}
	return ""
}

// garakGenerator derives garak's generator type and name for an LLM.
func (g *graph) garakGenerator(id string) (string, string) {
	c := g.comps[id]
	if c == nil || c.Kind != "llm" {
		return "", ""
	}
	prov, _ := c.Props["provider"].(string)
	name, _ := c.Props["version"].(string)
	if prov == "openai" && name != "" && !strings.ContainsAny(name, " \t\n'\"$`\\") {
		return "openai", name
	}
	return "", ""
}

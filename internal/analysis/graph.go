package analysis

import (
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/rules"
)

// graph is the flow graph of a system with the facts rules read in `ctx`.
// Every fact is computed with a constant number of linear traversals.
type graph struct {
	sys    *model.System
	comps  map[string]*model.Component
	out    map[string][]*model.Flow
	in     map[string][]*model.Flow
	trust  map[string]string // component id -> trust of its zone
	ids    []string          // component ids by index
	index  map[string]int
	outIdx [][]int
	inIdx  [][]int
	facts  map[string]map[string]bool // shared, read-only maps
	bits   map[string]uint16          // facts while they are computed
	// memoised per component; filled while the graph is built, read-only after
	exposureOf  map[string]string
	untrustedOf map[string]bool
}

func newGraph(s *model.System) *graph {
	g := &graph{sys: s, comps: map[string]*model.Component{}, out: map[string][]*model.Flow{}, in: map[string][]*model.Flow{},
		trust: map[string]string{}, facts: map[string]map[string]bool{}, bits: map[string]uint16{},
		exposureOf: map[string]string{}, untrustedOf: map[string]bool{}}
	zoneTrust := map[string]string{}
	for _, z := range s.Zones {
		zoneTrust[z.ID] = z.Trust
	}
	g.index = make(map[string]int, len(s.Components))
	for _, c := range s.Components {
		if _, dup := g.index[c.ID]; !dup {
			g.index[c.ID] = len(g.ids)
			g.ids = append(g.ids, c.ID)
		}
		g.comps[c.ID] = c
		g.trust[c.ID] = zoneTrust[c.Zone]
		g.bits[c.ID] = 0
	}
	for _, f := range s.Flows {
		if g.comps[f.From] == nil || g.comps[f.To] == nil {
			continue
		}
		g.out[f.From] = append(g.out[f.From], f)
		g.in[f.To] = append(g.in[f.To], f)
		if f.Bidirectional {
			back := *f
			back.From, back.To = f.To, f.From
			g.out[f.To] = append(g.out[f.To], &back)
			g.in[f.From] = append(g.in[f.From], &back)
		}
		g.bits[f.ID] = 0
	}
	g.outIdx = make([][]int, len(g.ids))
	g.inIdx = make([][]int, len(g.ids))
	for id, fs := range g.out {
		i := g.index[id]
		for _, f := range fs {
			g.outIdx[i] = append(g.outIdx[i], g.index[f.To])
		}
	}
	for id, fs := range g.in {
		i := g.index[id]
		for _, f := range fs {
			g.inIdx[i] = append(g.inIdx[i], g.index[f.From])
		}
	}
	for _, c := range s.Components {
		g.exposure(c)
		g.untrustedSource(c)
	}
	g.compute()
	// Elements share few distinct fact combinations: give each combination
	// one map (every fact present, true or false) and share it.
	interned := map[uint16]map[string]bool{}
	for id, b := range g.bits {
		m, ok := interned[b]
		if !ok {
			m = make(map[string]bool, len(rules.Facts))
			for i, name := range rules.Facts {
				m[name] = b&(1<<i) != 0
			}
			interned[b] = m
		}
		g.facts[id] = m
	}
	return g
}

var factBit = func() map[string]uint16 {
	m := map[string]uint16{}
	for i, name := range rules.Facts {
		m[name] = 1 << i
	}
	return m
}()

// set records a fact of an element while the graph is computed.
func (g *graph) set(id, fact string, v bool) {
	if v {
		g.bits[id] |= factBit[fact]
	} else {
		g.bits[id] &^= factBit[fact]
	}
}

// exposure is the component's effective exposure: the explicit one, or what
// its zone implies.
func (g *graph) exposure(c *model.Component) string {
	if v, ok := g.exposureOf[c.ID]; ok {
		return v
	}
	v := g.computeExposure(c)
	g.exposureOf[c.ID] = v
	return v
}

func (g *graph) computeExposure(c *model.Component) string {
	if c.Exposure != "" {
		return c.Exposure
	}
	if b, ok := c.Props["internet_facing"].(bool); ok && b {
		return "internet"
	}
	switch g.trust[c.ID] {
	case "untrusted":
		return "internet"
	case "partner":
		return "partner"
	case "restricted":
		return "isolated"
	}
	return "internal"
}

func propStrings(c *model.Component, name string) []string {
	switch v := c.Props[name].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func propIs(c *model.Component, name string, values ...string) bool {
	for _, v := range propStrings(c, name) {
		for _, w := range values {
			if v == w {
				return true
			}
		}
	}
	return false
}

func propTrue(c *model.Component, name string) bool {
	b, _ := c.Props[name].(bool)
	return b
}

// untrustedSource says whether outsiders can write what the component emits.
func (g *graph) untrustedSource(c *model.Component) bool {
	if v, ok := g.untrustedOf[c.ID]; ok {
		return v
	}
	v := g.computeUntrusted(c)
	g.untrustedOf[c.ID] = v
	return v
}

func (g *graph) computeUntrusted(c *model.Component) bool {
	switch g.trust[c.ID] {
	case "untrusted", "partner":
		return true
	}
	if g.exposure(c) == "internet" || g.exposure(c) == "partner" {
		return c.Kind == "actor" || c.Kind == "data-source" || c.Kind == "sensor" || c.Kind == "edge-device"
	}
	switch c.Kind {
	case "actor":
		return !propTrue(c, "trusted") && !propIs(c, "role", "employee", "admin", "data-scientist", "service")
	case "data-source":
		return propIs(c, "origin", "public-web", "third-party", "user-generated", "partner")
	case "dataset":
		return propIs(c, "origin", "public", "third-party", "scraped", "user-feedback", "mixed")
	case "retriever":
		return propTrue(c, "untrusted_content") || propIs(c, "sources", "web", "email", "tickets", "user-uploads", "code-repository")
	case "vector-store":
		return propIs(c, "write_access", "end-users", "anyone") || propIs(c, "content", "web-pages", "emails", "tickets", "user-uploads")
	case "feedback":
		return propIs(c, "source", "end-users")
	case "memory":
		return propIs(c, "written_from", "user-input", "retrieved-content", "tool-results") || propIs(c, "scope", "shared")
	case "mcp-server":
		return propIs(c, "origin", "open-source", "marketplace", "unknown") || propTrue(c, "remote")
	case "tool":
		return propIs(c, "side_effects", "web-browsing") || propIs(c, "origin", "third-party", "marketplace")
	case "dependency":
		return true
	case "model":
		return propIs(c, "origin", "third-party", "open-weights") || propIs(c, "artifact_source", "public-hub", "unknown")
	case "sensor":
		return propTrue(c, "physically_accessible")
	}
	return false
}

func sideEffects(c *model.Component) bool {
	var effects []string
	switch c.Kind {
	case "tool":
		effects = propStrings(c, "side_effects")
	case "mcp-server":
		effects = propStrings(c, "tools_side_effects")
	default:
		return false
	}
	if len(effects) == 0 {
		return true // unknown effects are assumed to exist
	}
	for _, e := range effects {
		if e != "none" && e != "read-only" {
			return true
		}
	}
	return false
}

func holdsSecrets(c *model.Component) bool {
	switch c.Kind {
	case "datastore":
		return propIs(c, "stores", "credentials")
	case "prompt":
		return propTrue(c, "contains_secrets")
	case "llm":
		return propTrue(c, "system_prompt_secrets")
	case "mcp-server":
		return propTrue(c, "secrets_access")
	case "notebook":
		return propIs(c, "secrets", "in-notebook", "environment")
	case "ci-cd":
		return propIs(c, "secrets", "plain-env")
	case "tool":
		return propIs(c, "auth", "service-account", "api-key")
	}
	return false
}

func isLLM(c *model.Component) bool { return c.Kind == "llm" || c.Kind == "agent" }

func trainingSink(c *model.Component) bool {
	switch c.Kind {
	case "training", "labeling":
		return true
	case "dataset":
		return !propIs(c, "purpose", "rag-corpus") || propIs(c, "purpose", "training", "fine-tuning")
	case "feedback":
		return propIs(c, "used_for", "retraining", "fine-tuning", "rlhf") || len(propStrings(c, "used_for")) == 0
	}
	return false
}

// reachSet is the result of one traversal, indexed like g.ids.
type reachSet struct {
	g    *graph
	seen []bool
}

func (r reachSet) has(id string) bool {
	i, ok := r.g.index[id]
	return ok && r.seen[i]
}

// reach marks, for each component, whether any seed reaches it along flows
// (forward) or reaches a seed (backward). One BFS over integer indices.
func (g *graph) reach(seeds []string, forward bool) reachSet {
	seen := make([]bool, len(g.ids))
	queue := make([]int, 0, len(seeds))
	for _, s := range seeds {
		if i, ok := g.index[s]; ok && !seen[i] {
			seen[i] = true
			queue = append(queue, i)
		}
	}
	adj := g.inIdx
	if forward {
		adj = g.outIdx
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, j := range adj[i] {
			if !seen[j] {
				seen[j] = true
				queue = append(queue, j)
			}
		}
	}
	return reachSet{g, seen}
}

func (g *graph) compute() {
	var untrusted, internet, training, llms, sideFx, secrets []string
	for _, c := range g.sys.Components {
		if g.untrustedSource(c) {
			untrusted = append(untrusted, c.ID)
		}
		if g.exposure(c) == "internet" {
			internet = append(internet, c.ID)
			g.set(c.ID, "internet_facing", true)
		}
		if trainingSink(c) {
			training = append(training, c.ID)
		}
		if isLLM(c) {
			llms = append(llms, c.ID)
		}
		if sideEffects(c) {
			sideFx = append(sideFx, c.ID)
		}
		if holdsSecrets(c) {
			secrets = append(secrets, c.ID)
		}
		g.set(c.ID, "has_inbound", len(g.in[c.ID]) > 0)
		g.set(c.ID, "has_outbound", len(g.out[c.ID]) > 0)
	}
	fromUntrusted := g.reach(untrusted, true)
	fromInternet := g.reach(internet, true)
	toTraining := g.reach(training, false)
	fromLLM := g.reach(llms, true)
	toSideFx := g.reach(sideFx, false)
	toSecrets := g.reach(secrets, false)
	// Untrusted content entering an LLM: an untrusted source upstream that is
	// not the user typing directly (that is direct prompt injection).
	var indirect []string
	for _, c := range g.sys.Components {
		if g.untrustedSource(c) && c.Kind != "actor" {
			indirect = append(indirect, c.ID)
		}
	}
	fromIndirect := g.reach(indirect, true)
	for _, c := range g.sys.Components {
		untrustedSelf := g.untrustedSource(c)
		g.set(c.ID, "reachable_from_untrusted", fromUntrusted.has(c.ID) && !(untrustedSelf && len(g.in[c.ID]) == 0 && c.Kind == "actor"))
		g.set(c.ID, "reachable_from_internet", fromInternet.has(c.ID))
		g.set(c.ID, "feeds_training", toTraining.has(c.ID) && !trainingSink(c) || (c.Kind == "feedback" && trainingSink(c)))
		g.set(c.ID, "receives_llm_output", fromLLM.has(c.ID) && !isLLM(c) || (isLLM(c) && g.inFromLLM(c.ID)))
		if isLLM(c) {
			g.set(c.ID, "untrusted_content_into_llm_context", fromIndirect.has(c.ID) || g.ownUntrustedContext(c))
			g.set(c.ID, "llm_can_reach_tool_with_side_effects", g.reachesAny(c.ID, toSideFx, sideFx))
			g.set(c.ID, "secrets_reachable_from_llm", g.reachesAny(c.ID, toSecrets, secrets) || holdsSecrets(c))
		}
		for _, fl := range g.in[c.ID] {
			if g.trust[fl.From] != g.trust[fl.To] {
				g.set(c.ID, "crosses_boundary", true)
			}
		}
		for _, fl := range g.out[c.ID] {
			if g.trust[fl.From] != g.trust[fl.To] {
				g.set(c.ID, "crosses_boundary", true)
			}
		}
	}
	for _, fl := range g.sys.Flows {
		if _, ok := g.bits[fl.ID]; !ok {
			continue
		}
		g.set(fl.ID, "crosses_boundary", g.trust[fl.From] != g.trust[fl.To])
		g.set(fl.ID, "reachable_from_untrusted", fromUntrusted.has(fl.From))
		g.set(fl.ID, "reachable_from_internet", fromInternet.has(fl.From))
		g.set(fl.ID, "feeds_training", toTraining.has(fl.To))
		g.set(fl.ID, "receives_llm_output", fromLLM.has(fl.From))
		if c := g.comps[fl.From]; c != nil && g.exposure(c) == "internet" {
			g.set(fl.ID, "internet_facing", true)
		}
	}
}

// reachesAny: the component reaches a seed downstream (a seed other than itself).
func (g *graph) reachesAny(id string, upstreamOfSeed reachSet, seeds []string) bool {
	if !upstreamOfSeed.has(id) {
		return false
	}
	for _, f := range g.out[id] {
		if upstreamOfSeed.has(f.To) {
			return true
		}
	}
	return false
}

func (g *graph) inFromLLM(id string) bool {
	for _, f := range g.in[id] {
		if c := g.comps[f.From]; c != nil && isLLM(c) {
			return true
		}
	}
	return false
}

// ownUntrustedContext: an agent whose memory or tools bring outside content.
func (g *graph) ownUntrustedContext(c *model.Component) bool {
	for _, f := range g.in[c.ID] {
		if src := g.comps[f.From]; src != nil && src.Kind != "actor" && g.untrustedSource(src) {
			return true
		}
	}
	for _, f := range g.out[c.ID] {
		// Tools and retrievers called by the LLM return content to it.
		if dst := g.comps[f.To]; dst != nil && (dst.Kind == "retriever" || dst.Kind == "tool" || dst.Kind == "mcp-server" || dst.Kind == "memory") && g.untrustedSource(dst) {
			return true
		}
	}
	return false
}

func (g *graph) neighbourKinds(id string, forward bool) []string {
	seen := map[string]bool{}
	var out []string
	edges := g.in[id]
	if forward {
		edges = g.out[id]
	}
	for _, f := range edges {
		other := f.From
		if forward {
			other = f.To
		}
		if c := g.comps[other]; c != nil && !seen[c.Kind] {
			seen[c.Kind] = true
			out = append(out, c.Kind)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

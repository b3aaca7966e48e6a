package analysis

import (
	"slices"

	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/rules"
)

// graph is the flow graph of a system with the facts rules read in `ctx`.
// Every fact is computed with a constant number of linear traversals, over
// components by index; a map from id to index is the only string lookup.
type graph struct {
	sys      *model.System
	ids      []string // component ids by index
	index    map[string]int
	comps    []*model.Component // by index; the last of a duplicated id
	out, in  [][]*model.Flow    // by index
	outIdx   [][]int
	inIdx    [][]int
	trust    []string       // trust of the component's zone, by index
	expo     []string       // effective exposure, by index
	untrust  []bool         // untrustedSource, by index
	bits     []uint16       // facts of each component while they are computed
	flowAt   map[string]int // flow id -> index in flowBits, flows between known components
	flowBits []uint16
	interned map[uint16]map[string]bool // one shared, read-only map per fact combination
}

func newGraph(s *model.System) *graph {
	n := len(s.Components)
	g := &graph{sys: s, index: make(map[string]int, n), ids: make([]string, 0, n)}
	zoneTrust := make(map[string]string, len(s.Zones))
	for _, z := range s.Zones {
		zoneTrust[z.ID] = z.Trust
	}
	for _, c := range s.Components {
		if _, dup := g.index[c.ID]; !dup {
			g.index[c.ID] = len(g.ids)
			g.ids = append(g.ids, c.ID)
		}
	}
	m := len(g.ids)
	g.comps = make([]*model.Component, m)
	g.trust = make([]string, m)
	for _, c := range s.Components {
		i := g.index[c.ID]
		g.comps[i] = c
		g.trust[i] = zoneTrust[c.Zone]
	}
	g.out, g.in = make([][]*model.Flow, m), make([][]*model.Flow, m)
	g.outIdx, g.inIdx = make([][]int, m), make([][]int, m)
	g.flowAt = make(map[string]int, len(s.Flows))
	for _, f := range s.Flows {
		from, ok1 := g.index[f.From]
		to, ok2 := g.index[f.To]
		if !ok1 || !ok2 {
			continue
		}
		g.out[from] = append(g.out[from], f)
		g.in[to] = append(g.in[to], f)
		g.outIdx[from] = append(g.outIdx[from], to)
		g.inIdx[to] = append(g.inIdx[to], from)
		if f.Bidirectional {
			back := *f
			back.From, back.To = f.To, f.From
			g.out[to] = append(g.out[to], &back)
			g.in[from] = append(g.in[from], &back)
			g.outIdx[to] = append(g.outIdx[to], from)
			g.inIdx[from] = append(g.inIdx[from], to)
		}
		if _, dup := g.flowAt[f.ID]; !dup {
			g.flowAt[f.ID] = len(g.flowBits)
			g.flowBits = append(g.flowBits, 0)
		}
	}
	g.expo = make([]string, m)
	g.untrust = make([]bool, m)
	for i, c := range g.comps {
		g.expo[i] = g.computeExposure(c, i)
	}
	for i, c := range g.comps {
		g.untrust[i] = g.computeUntrusted(c, i)
	}
	g.bits = make([]uint16, m)
	g.compute()
	// Elements share few distinct fact combinations: give each combination
	// one map (every fact present, true or false) and share it.
	g.interned = map[uint16]map[string]bool{}
	for _, bs := range [][]uint16{g.bits, g.flowBits} {
		for _, b := range bs {
			if _, ok := g.interned[b]; !ok {
				fm := make(map[string]bool, len(rules.Facts))
				for i, name := range rules.Facts {
					fm[name] = b&(1<<i) != 0
				}
				g.interned[b] = fm
			}
		}
	}
	return g
}

// comp is the component with this id, or nil.
func (g *graph) comp(id string) *model.Component {
	if i, ok := g.index[id]; ok {
		return g.comps[i]
	}
	return nil
}

// inOf and outOf are the flows into and out of a component, a
// bidirectional flow counting both ways.
func (g *graph) inOf(id string) []*model.Flow {
	if i, ok := g.index[id]; ok {
		return g.in[i]
	}
	return nil
}

func (g *graph) outOf(id string) []*model.Flow {
	if i, ok := g.index[id]; ok {
		return g.out[i]
	}
	return nil
}

// trustOf is the trust of the component's zone.
func (g *graph) trustOf(id string) string {
	if i, ok := g.index[id]; ok {
		return g.trust[i]
	}
	return ""
}

// facts is the element's facts map: a component's, or a flow's between
// known components; nil otherwise.
func (g *graph) facts(id string) map[string]bool {
	if i, ok := g.index[id]; ok {
		return g.interned[g.bits[i]]
	}
	if i, ok := g.flowAt[id]; ok {
		return g.interned[g.flowBits[i]]
	}
	return nil
}

// hasFlow says whether the flow joins two known components.
func (g *graph) hasFlow(id string) bool {
	_, ok := g.flowAt[id]
	return ok
}

var factBit = func() map[string]uint16 {
	m := map[string]uint16{}
	for i, name := range rules.Facts {
		m[name] = 1 << i
	}
	return m
}()

// set records a fact in an element's bits while the graph is computed.
func set(bits *uint16, fact string, v bool) {
	if v {
		*bits |= factBit[fact]
	} else {
		*bits &^= factBit[fact]
	}
}

// exposure is the component's effective exposure: the explicit one, or what
// its zone implies.
func (g *graph) exposure(c *model.Component) string {
	if i, ok := g.index[c.ID]; ok {
		return g.expo[i]
	}
	return g.computeExposure(c, -1)
}

func (g *graph) computeExposure(c *model.Component, i int) string {
	if c.Exposure != "" {
		return c.Exposure
	}
	if b, ok := c.Props["internet_facing"].(bool); ok && b {
		return "internet"
	}
	trust := ""
	if i >= 0 {
		trust = g.trust[i]
	}
	switch trust {
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
	i, ok := g.index[c.ID]
	return ok && g.untrust[i]
}

// computeUntrusted needs the component's exposure computed.
func (g *graph) computeUntrusted(c *model.Component, i int) bool {
	switch g.trust[i] {
	case "untrusted", "partner":
		return true
	}
	if g.expo[i] == "internet" || g.expo[i] == "partner" {
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
type reachSet []bool

// reach marks, for each component, whether any seed reaches it along flows
// (forward) or reaches a seed (backward). One BFS over integer indices.
func (g *graph) reach(seeds []int, forward bool) reachSet {
	seen := make([]bool, len(g.ids))
	queue := make([]int, 0, len(seeds))
	for _, i := range seeds {
		if !seen[i] {
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
	return seen
}

func (g *graph) compute() {
	var untrusted, internet, training, llms, sideFx, secrets, indirect []int
	for i, c := range g.comps {
		if g.untrust[i] {
			untrusted = append(untrusted, i)
			// Untrusted content entering an LLM: an untrusted source
			// upstream that is not the user typing directly (that is
			// direct prompt injection).
			if c.Kind != "actor" {
				indirect = append(indirect, i)
			}
		}
		if g.expo[i] == "internet" {
			internet = append(internet, i)
			set(&g.bits[i], "internet_facing", true)
		}
		if trainingSink(c) {
			training = append(training, i)
		}
		if isLLM(c) {
			llms = append(llms, i)
		}
		if sideEffects(c) {
			sideFx = append(sideFx, i)
		}
		if holdsSecrets(c) {
			secrets = append(secrets, i)
		}
		set(&g.bits[i], "has_inbound", len(g.in[i]) > 0)
		set(&g.bits[i], "has_outbound", len(g.out[i]) > 0)
	}
	fromUntrusted := g.reach(untrusted, true)
	fromInternet := g.reach(internet, true)
	toTraining := g.reach(training, false)
	fromLLM := g.reach(llms, true)
	toSideFx := g.reach(sideFx, false)
	toSecrets := g.reach(secrets, false)
	fromIndirect := g.reach(indirect, true)
	for i, c := range g.comps {
		b := &g.bits[i]
		set(b, "reachable_from_untrusted", fromUntrusted[i] && !(g.untrust[i] && len(g.in[i]) == 0 && c.Kind == "actor"))
		set(b, "reachable_from_internet", fromInternet[i])
		set(b, "feeds_training", toTraining[i] && !trainingSink(c) || (c.Kind == "feedback" && trainingSink(c)))
		set(b, "receives_llm_output", fromLLM[i] && !isLLM(c) || (isLLM(c) && g.inFromLLM(i)))
		if isLLM(c) {
			set(b, "untrusted_content_into_llm_context", fromIndirect[i] || g.ownUntrustedContext(i))
			set(b, "llm_can_reach_tool_with_side_effects", g.reachesAny(i, toSideFx))
			set(b, "secrets_reachable_from_llm", g.reachesAny(i, toSecrets) || holdsSecrets(c))
		}
		for _, j := range g.inIdx[i] {
			if g.trust[j] != g.trust[i] {
				set(b, "crosses_boundary", true)
			}
		}
		for _, j := range g.outIdx[i] {
			if g.trust[i] != g.trust[j] {
				set(b, "crosses_boundary", true)
			}
		}
	}
	for _, fl := range g.sys.Flows {
		k, ok := g.flowAt[fl.ID]
		if !ok {
			continue
		}
		from, to := g.index[fl.From], g.index[fl.To]
		b := &g.flowBits[k]
		set(b, "crosses_boundary", g.trust[from] != g.trust[to])
		set(b, "reachable_from_untrusted", fromUntrusted[from])
		set(b, "reachable_from_internet", fromInternet[from])
		set(b, "feeds_training", toTraining[to])
		set(b, "receives_llm_output", fromLLM[from])
		if g.expo[from] == "internet" {
			set(b, "internet_facing", true)
		}
	}
}

// reachesAny: the component reaches a seed downstream (a seed other than itself).
func (g *graph) reachesAny(i int, upstreamOfSeed reachSet) bool {
	if !upstreamOfSeed[i] {
		return false
	}
	for _, j := range g.outIdx[i] {
		if upstreamOfSeed[j] {
			return true
		}
	}
	return false
}

func (g *graph) inFromLLM(i int) bool {
	for _, j := range g.inIdx[i] {
		if isLLM(g.comps[j]) {
			return true
		}
	}
	return false
}

// ownUntrustedContext: an agent whose memory or tools bring outside content.
func (g *graph) ownUntrustedContext(i int) bool {
	for _, j := range g.inIdx[i] {
		if g.comps[j].Kind != "actor" && g.untrust[j] {
			return true
		}
	}
	for _, j := range g.outIdx[i] {
		// Tools and retrievers called by the LLM return content to it.
		switch g.comps[j].Kind {
		case "retriever", "tool", "mcp-server", "memory":
			if g.untrust[j] {
				return true
			}
		}
	}
	return false
}

func (g *graph) neighbourKinds(id string, forward bool) []string {
	var out []string
	i, ok := g.index[id]
	if !ok {
		return []string{}
	}
	adj := g.inIdx[i]
	if forward {
		adj = g.outIdx[i]
	}
	for _, j := range adj {
		if k := g.comps[j].Kind; !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

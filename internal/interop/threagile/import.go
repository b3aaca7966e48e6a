// Package threagile reads Threagile's YAML threat models into mlthreat's
// system model, and writes mlthreat models as Threagile YAML so both tools
// can run on the same input. The mapping is in docs/interop.md.
package threagile

import (
	"regexp"
	"slices"
	"strings"

	"github.com/mlthreat/mlthreat/internal/diag"
	"github.com/mlthreat/mlthreat/internal/interop"
)

// KindTag, followed by a kind, on a technical asset fixes the kind the
// importer gives it. The writer sets it so a round trip keeps every kind.
const KindTag = "mlthreat:"

type importer struct {
	notes      interop.Notes
	lim        interop.Limits
	m          *interop.Model
	ids        interop.IDs // components, zones and flows share a namespace
	dataIDs    interop.IDs
	threatIDs  interop.IDs
	assets     map[string]*interop.Component // by Threagile id
	assetNodes map[string]*interop.Node
	data       map[string]string // Threagile data id -> ours
	zoneOf     map[string]string // Threagile asset id -> our zone id
	incoming   map[string][]string
	tidOf      map[*interop.Component]string
	processed  map[*interop.Component][]string
}

// technical asset fields that decide the kind or a prop; they are carried
// too, but not reported as unmapped.
var mappedAsset = map[string]bool{"type": true, "technology": true, "encryption": true, "multi_tenant": true, "used_as_client_by_human": true, "machine": true}

// top-level keys the importer maps; the rest are carried.
var mappedTop = map[string]bool{
	"title": true, "author": true, "business_criticality": true, "business_overview": true,
	"data_assets": true, "technical_assets": true, "trust_boundaries": true, "individual_risk_categories": true,
	"tags_available": true,
}

// Import reads a Threagile model. On success the model is complete and the
// diagnostics are warnings; any error means there is no model.
func Import(file string, src []byte, lim interop.Limits) (*interop.Model, diag.List) {
	root, ds := interop.ParseYAML(file, src, lim, "Threagile model")
	if ds != nil {
		return nil, ds
	}
	n := min(root.Get("technical_assets").Len(), lim.MaxElements) // for the maps' sizes
	im := &importer{
		notes: interop.Notes{File: file}, lim: lim,
		m:      &interop.Model{Comment: "Imported from Threagile by mlthreat import; x-threagile fields keep what mlthreat does not model."},
		assets: make(map[string]*interop.Component, n), assetNodes: make(map[string]*interop.Node, n), data: map[string]string{},
		zoneOf: make(map[string]string, n), incoming: make(map[string][]string, n), tidOf: make(map[*interop.Component]string, n),
		processed: make(map[*interop.Component][]string, n),
	}
	im.ids.Grow(4 * n) // components and their links
	if !root.Is(interop.Map) || (root.Get("technical_assets") == nil && root.Get("threagile_version") == nil) {
		return nil, diag.List{{File: file, Line: root.Line, Col: root.Col, Severity: diag.Error, Code: "not-threagile",
			Message: "not a Threagile model: expected a map with threagile_version and technical_assets"}}
	}
	for _, sec := range []string{"data_assets", "technical_assets", "trust_boundaries", "individual_risk_categories"} {
		n := root.Get(sec)
		if n != nil && !n.Is(interop.Map) && !n.Is(interop.Null) {
			im.notes.Error(n, "bad-section", "%s must be a map of titles to entries", sec)
		}
		if n.Len() > lim.MaxElements {
			im.notes.Error(n, "too-many", "%s holds %d entries, over the limit of %d", sec, n.Len(), lim.MaxElements)
		}
	}
	if ds := im.notes.List; ds.Errors() > 0 {
		return nil, ds
	}
	im.system(root)
	im.dataAssets(root.Get("data_assets"))
	im.technicalAssets(root.Get("technical_assets"))
	im.zones(root.Get("trust_boundaries"))
	im.links(root.Get("technical_assets"))
	im.explicitProcessed()
	im.kinds()
	im.risks(root.Get("individual_risk_categories"))
	if rt := root.Get("risk_tracking"); rt.Len() > 0 {
		im.notes.Warn(rt, "import-risk-tracking", "risk_tracking: %d decisions name Threagile's own risk ids, which mlthreat's threats do not share; kept in x-threagile", rt.Len())
	}
	extra := interop.Fields{}
	for k, v := range root.Entries() {
		if !mappedTop[k.Value] && k.Value != "threagile_version" && k.Value != "date" {
			extra.Add(k.Value, v.Plain())
			if k.Value != "risk_tracking" {
				im.notes.Unmapped("top level", k.Value, k)
			}
		}
	}
	head := interop.Fields{}
	head.Add("version", root.Str("threagile_version"))
	head.Add("date", root.Str("date"))
	head.Add("homepage", root.Get("author").Str("homepage"))
	head.Add("business_criticality", root.Str("business_criticality"))
	im.m.Ext.Add("x-threagile", append(head, extra...))
	ds = im.notes.Done("x-threagile")
	if ds.Errors() > 0 {
		return nil, ds
	}
	return im.m, ds
}

func (im *importer) system(root *interop.Node) {
	s := &im.m.System
	s.Name = root.Str("title")
	if s.Name == "" {
		s.Name = "Imported Threagile model"
	}
	s.ID = interop.Slug(s.Name)
	if s.ID == "" {
		s.ID = "threagile-model"
	}
	s.Description = root.Get("business_overview").Str("description")
	s.Owner = root.Get("author").Str("name")
	if bc := root.Str("business_criticality"); bc != "" {
		if c, ok := criticality[bc]; ok {
			s.Criticality = c
		} else {
			im.notes.Warn(root.Get("business_criticality"), "import-value", "business_criticality %q is not one of Threagile's values; criticality left unset", bc)
		}
	}
}

func (im *importer) dataAssets(n *interop.Node) {
	if n == nil {
		return
	}
	for k, a := range n.Entries() {
		if !a.Is(interop.Map) {
			im.notes.Warn(a, "import-skipped", "data asset %q is not a map; skipped", k.Value)
			continue
		}
		tid := a.Str("id")
		if tid == "" {
			im.notes.Warn(k, "import-missing-id", "data asset %q has no id; the id comes from its title", k.Value)
			tid = k.Value
		}
		if _, dup := im.data[tid]; dup {
			im.notes.Warn(a.Get("id"), "import-duplicate", "data asset id %q is used twice; the second one is skipped", tid)
			continue
		}
		d := &interop.Data{ID: im.dataIDs.Make("data", tid, k.Value), Name: title(k.Value, tid), Description: a.Str("description")}
		im.data[tid] = d.ID
		conf := a.Str("confidentiality")
		if c, ok := confidentiality[conf]; ok {
			d.Classification = c
		} else if conf != "" {
			im.notes.Warn(a.Get("confidentiality"), "import-value", "data asset %q: confidentiality %q is not one of Threagile's values; classification left unset", tid, conf)
		}
		if tid != d.ID {
			d.Ext.Add("x-threagile-id", tid)
		}
		if d.Name == d.ID {
			d.Name = ""
		}
		x := interop.Fields{}
		for key, v := range a.Entries() {
			switch key.Value {
			case "id", "description":
			case "confidentiality":
				if conf == "restricted" || conf == "strictly-confidential" {
					x.Add(key.Value, conf)
				}
			default:
				x.Carry(key.Value, v.Plain())
				im.notes.Unmapped("data_assets", key.Value, key)
			}
		}
		d.Ext.Add("x-threagile", x)
		im.m.Data = append(im.m.Data, d)
	}
}

func (im *importer) technicalAssets(n *interop.Node) {
	if n == nil {
		im.notes.Warn(nil, "import-empty", "the model has no technical_assets; the system has no components")
		return
	}
	for k, a := range n.Entries() {
		if !a.Is(interop.Map) {
			im.notes.Warn(a, "import-skipped", "technical asset %q is not a map; skipped", k.Value)
			continue
		}
		tid := a.Str("id")
		if tid == "" {
			im.notes.Warn(k, "import-missing-id", "technical asset %q has no id; the id comes from its title", k.Value)
			tid = k.Value
		}
		if im.assets[tid] != nil {
			im.notes.Warn(a.Get("id"), "import-duplicate", "technical asset id %q is used twice; the second one is skipped", tid)
			continue
		}
		c := &interop.Component{ID: im.ids.Make("component", tid, k.Value), Name: title(k.Value, tid),
			Description: a.Str("description"), Owner: a.Str("owner")}
		im.assets[tid] = c
		im.tidOf[c] = tid
		im.assetNodes[tid] = a
		if v, _ := a.Bool("internet"); v {
			c.Exposure = "internet"
		}
		for _, t := range a.Get("tags").Strings() {
			if !strings.HasPrefix(t, KindTag) {
				c.Tags = append(c.Tags, t)
			}
		}
		if tid != c.ID {
			c.Ext.Add("x-threagile-id", tid)
		}
		if c.Name == c.ID {
			c.Name = ""
		}
		x := make(interop.Fields, 0, a.Len())
		for key, v := range a.Entries() {
			switch key.Value {
			case "id", "description", "owner", "internet", "tags", "communication_links", "data_assets_processed":
			default:
				if !implied(key.Value, v) {
					x.Carry(key.Value, v.Plain())
				}
				if !mappedAsset[key.Value] {
					im.notes.Unmapped("technical_assets", key.Value, key)
				}
			}
		}
		c.Ext.Add("x-threagile", x)
		im.m.Components = append(im.m.Components, c)
		im.processed[c] = a.Get("data_assets_processed").Strings()
	}
}

func (im *importer) zones(n *interop.Node) {
	type boundary struct {
		zone *interop.Zone
		node *interop.Node
	}
	var bs []boundary
	byTID := map[string]*interop.Zone{}
	for k, b := range n.Entries() {
		if !b.Is(interop.Map) {
			im.notes.Warn(b, "import-skipped", "trust boundary %q is not a map; skipped", k.Value)
			continue
		}
		tid := b.Str("id")
		if tid == "" {
			tid = k.Value
		}
		if byTID[tid] != nil {
			im.notes.Warn(b.Get("id"), "import-duplicate", "trust boundary id %q is used twice; the second one is skipped", tid)
			continue
		}
		z := &interop.Zone{ID: im.ids.Make("zone", tid, k.Value), Name: title(k.Value, tid), Trust: "internal", Description: b.Str("description")}
		byTID[tid] = z
		if tid != z.ID {
			z.Ext.Add("x-threagile-id", tid)
		}
		if z.Name == z.ID {
			z.Name = ""
		}
		x := interop.Fields{}
		x.Add("type", b.Str("type"))
		x.Add("tags", b.Get("tags").Strings())
		z.Ext.Add("x-threagile", x)
		bs = append(bs, boundary{z, b})
		im.m.Zones = append(im.m.Zones, z)
	}
	if len(bs) > 0 {
		im.notes.Warn(bs[0].node, "import-guess", "trust boundaries carry no trust level in Threagile; %d imported as internal zones (set trust where it differs)", len(bs))
	}
	for _, b := range bs {
		for _, it := range b.node.Get("technical_assets_inside").ItemsOrScalar() {
			aid := strings.TrimSpace(it.Text())
			if im.assets[aid] == nil {
				im.notes.Warn(it, "import-dangling", "trust boundary %q lists unknown technical asset %q; ignored", b.zone.Name, aid)
				continue
			}
			if prev, ok := im.zoneOf[aid]; ok && prev != b.zone.ID {
				im.notes.Warn(it, "import-conflict", "technical asset %q is inside two trust boundaries (%s and %s); kept in the first", aid, prev, b.zone.ID)
				continue
			}
			im.zoneOf[aid] = b.zone.ID
		}
		var nested []string
		for _, it := range b.node.Get("trust_boundaries_nested").ItemsOrScalar() {
			id := strings.TrimSpace(it.Text())
			if z := byTID[id]; z != nil {
				nested = append(nested, z.ID)
			} else {
				im.notes.Warn(it, "import-dangling", "trust boundary %q nests unknown trust boundary %q; ignored", b.zone.Name, id)
			}
		}
		if len(nested) > 0 {
			// mlthreat's zones are flat; the nesting is kept for the way back.
			b.zone.Ext.Add("x-threagile-nested", nested)
		}
	}
	var internet, external *interop.Zone
	for _, c := range im.m.Components {
		tid := im.tidOf[c]
		if z, ok := im.zoneOf[tid]; ok {
			c.Zone = z
			continue
		}
		a := im.assetNodes[tid]
		switch {
		case c.Exposure == "internet":
			if internet == nil {
				internet = &interop.Zone{ID: im.ids.Make("zone", "internet"), Name: "Internet", Trust: "untrusted", Description: "Technical assets outside every trust boundary and on the internet"}
				im.m.Zones = append(im.m.Zones, internet)
			}
			c.Zone = internet.ID
		case a.Str("type") == "external-entity":
			if external == nil {
				external = &interop.Zone{ID: im.ids.Make("zone", "external"), Name: "External", Trust: "partner", Description: "External entities outside every trust boundary"}
				im.m.Zones = append(im.m.Zones, external)
				im.notes.Warn(a, "import-guess", "external entities outside every trust boundary are placed in a zone %q of trust partner", external.ID)
			}
			c.Zone = external.ID
		}
	}
}

func (im *importer) links(n *interop.Node) {
	total := 0
	for _, a := range n.Entries() {
		if !a.Is(interop.Map) {
			continue
		}
		tid := a.Str("id")
		src := im.assets[tid]
		if src == nil || im.assetNodes[tid] != a {
			continue
		}
		links := a.Get("communication_links")
		for lk, l := range links.Entries() {
			if total++; total > 4*im.lim.MaxElements {
				im.notes.Error(lk, "too-many", "more than %d communication links", 4*im.lim.MaxElements)
				return
			}
			if !l.Is(interop.Map) {
				im.notes.Warn(l, "import-skipped", "communication link %q of %q is not a map; skipped", lk.Value, tid)
				continue
			}
			target := l.Str("target")
			dst := im.assets[target]
			switch {
			case dst == nil:
				im.notes.Warn(l.Get("target"), "import-dangling", "communication link %q of %q goes to unknown technical asset %q; dropped", lk.Value, tid, target)
				continue
			case dst == src:
				im.notes.Warn(l.Get("target"), "import-self-link", "communication link %q of %q goes to itself; mlthreat flows join two components, dropped", lk.Value, tid)
				continue
			}
			f := &interop.Flow{ID: im.ids.Make("flow", lk.Value, src.ID+"-"+dst.ID), From: src.ID, To: dst.ID, Description: l.Str("description")}
			f.Data = im.dataRefs(l, "data_assets_sent", f.Data, lk.Value)
			received := im.dataRefs(l, "data_assets_received", nil, lk.Value)
			for _, d := range received {
				if !slices.Contains(f.Data, d) {
					f.Data = append(f.Data, d)
				}
			}
			f.Bidirectional = len(received) > 0
			proto := l.Str("protocol")
			if proto != "unknown-protocol" {
				f.Protocol = proto
			}
			switch {
			case encryptedProtocols[proto]:
				f.Encrypted = interop.Bool(true)
			case plainProtocols[proto]:
				f.Encrypted = interop.Bool(false)
			}
			if auth := l.Str("authentication"); auth != "" {
				f.Authenticated = interop.Bool(auth != "none")
			}
			if lk.Value != f.ID {
				f.Ext.Add("x-threagile-link", lk.Value)
			}
			x := make(interop.Fields, 0, l.Len())
			for key, v := range l.Entries() {
				switch key.Value {
				case "target", "description", "protocol", "data_assets_sent":
				default:
					if !implied(key.Value, v) {
						x.Carry(key.Value, v.Plain())
					}
					if key.Value != "data_assets_received" && key.Value != "authentication" {
						im.notes.Unmapped("communication_links", key.Value, key)
					}
				}
			}
			f.Ext.Add("x-threagile", x)
			im.m.Flows = append(im.m.Flows, f)
			im.incoming[dst.ID] = append(im.incoming[dst.ID], src.ID)
		}
	}
}

func (im *importer) dataRefs(l *interop.Node, key string, out []string, link string) []string {
	for _, it := range l.Get(key).ItemsOrScalar() {
		id := strings.TrimSpace(it.Text())
		d, ok := im.data[id]
		if !ok {
			im.notes.Warn(it, "import-dangling", "communication link %q: %s names unknown data asset %q; dropped", link, key, id)
			continue
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

var reLLM = regexp.MustCompile(`(?i)\b(llm|gpt|chat|language model|openai|claude|gemini|bedrock|genai)\b`)

// kinds settles each component's kind once the links are known: an ai
// asset that outsiders call is an inference API, not a bare model.
func (im *importer) kinds() {
	byID := map[string]*interop.Component{}
	for _, c := range im.m.Components {
		byID[c.ID] = c
	}
	guessed := map[string][]string{}
	var firstGuess *interop.Node
	for _, c := range im.m.Components {
		tid := im.tidOf[c]
		a := im.assetNodes[tid]
		tech := a.Str("technology")
		typ := a.Str("type")
		kind, sure := "", false
		for _, t := range a.Get("tags").Strings() {
			if k, ok := strings.CutPrefix(t, KindTag); ok && interop.IsKind(k) {
				kind, sure = k, true
			}
		}
		if kind == "" {
			if t, ok := technologies[tech]; ok {
				kind, sure = t.kind, t.sure
			} else {
				kind, _ = interop.GuessKind(tech, c.Name, c.Description)
			}
			human, _ := a.Bool("used_as_client_by_human")
			switch {
			case tech == "ai":
				switch {
				case reLLM.MatchString(c.Name + " " + c.Description + " " + strings.Join(c.Tags, " ")):
					kind = "llm"
				case c.Exposure == "internet" || im.calledFromOutside(c.ID, byID):
					kind = "inference-api"
				default:
					kind = "model"
				}
			case typ == "external-entity" && human:
				kind, sure = "actor", true
			case typ == "external-entity" && kind != "actor":
				// An outside system that feeds this one.
				sure = false
			}
		}
		c.Kind = kind
		if !sure {
			guessed[kind] = append(guessed[kind], c.ID)
			if firstGuess == nil {
				firstGuess = a.Get("technology")
				if firstGuess == nil {
					firstGuess = a
				}
			}
		}
		im.props(c, a, tech)
	}
	if len(guessed) > 0 {
		var parts []string
		for _, k := range interop.SortedKeys(guessed) {
			ids := guessed[k]
			parts = append(parts, k+" for "+interop.Sample(ids, 5))
		}
		im.notes.Warn(firstGuess, "import-guess", "kinds guessed from technology, title and links (check them): %s", strings.Join(parts, "; "))
	}
	interop.SetPlatforms(im.m)
}

func (im *importer) calledFromOutside(id string, byID map[string]*interop.Component) bool {
	for _, from := range im.incoming[id] {
		if c := byID[from]; c != nil {
			a := im.assetNodes[im.tidOf[c]]
			if a.Str("type") == "external-entity" || c.Exposure == "internet" {
				return true
			}
		}
	}
	return false
}

// props sets the facts Threagile records that mlthreat's kinds know.
func (im *importer) props(c *interop.Component, a *interop.Node, tech string) {
	if enc := a.Str("encryption"); enc != "" && a.Str("type") == "datastore" {
		interop.SetProp(&c.Props, c.Kind, "encryption_at_rest", enc != "none")
	}
	if mt, ok := a.Bool("multi_tenant"); ok && mt {
		interop.SetProp(&c.Props, c.Kind, "multi_tenant", true)
		interop.SetProp(&c.Props, c.Kind, "shared_tenancy", true)
	}
	if credentialStores[tech] {
		interop.SetProp(&c.Props, c.Kind, "stores", []string{"credentials"})
	}
	if human, _ := a.Bool("used_as_client_by_human"); human && c.Kind == "application" {
		interop.SetProp(&c.Props, c.Kind, "user_facing", true)
	}
	switch a.Str("machine") {
	case "container":
		interop.SetProp(&c.Props, c.Kind, "platform", "kubernetes")
	case "virtual":
		interop.SetProp(&c.Props, c.Kind, "platform", "vm")
	case "serverless":
		interop.SetProp(&c.Props, c.Kind, "platform", "serverless")
	}
}

var reTags = regexp.MustCompile(`<[^>]*>`)

// risks turns individual risk categories into recorded threats.
func (im *importer) risks(n *interop.Node) {
	for k, cat := range n.Entries() {
		if !cat.Is(interop.Map) {
			continue
		}
		catID := cat.Str("id")
		if catID == "" {
			catID = k.Value
		}
		stride := strideLetters[cat.Str("stride")]
		risks := cat.Get("risks_identified")
		for rk, r := range risks.Entries() {
			if !r.Is(interop.Map) {
				continue
			}
			title := strings.TrimSpace(reTags.ReplaceAllString(rk.Value, ""))
			if title == "" {
				title = k.Value
			}
			t := &interop.Threat{ID: im.threatIDs.Make("threat", catID+"-"+title), Title: title, Description: cat.Str("description"), Status: "open",
				Likelihood: likelihoods[r.Str("exploitation_likelihood")], Impact: impacts[r.Str("exploitation_impact")]}
			if stride != "" {
				t.STRIDE = []string{stride}
			}
			for _, key := range []string{"most_relevant_technical_asset", "data_breach_technical_assets"} {
				for _, it := range r.Get(key).ItemsOrScalar() {
					aid := strings.TrimSpace(it.Text())
					if c := im.assets[aid]; c != nil {
						if !slices.Contains(t.Targets, c.ID) {
							t.Targets = append(t.Targets, c.ID)
						}
					} else if aid != "" {
						im.notes.Warn(it, "import-dangling", "risk %q names unknown technical asset %q; not a target", title, aid)
					}
				}
			}
			t.Ext.Add("x-threagile-category", catID)
			x := interop.Fields{}
			x.Add("severity", r.Str("severity"))
			x.Add("cwe", cat.Get("cwe").Plain())
			x.Add("mitigation", cat.Str("mitigation"))
			t.Ext.Add("x-threagile", x)
			im.m.Threats = append(im.m.Threats, t)
		}
	}
}

// title drops the " (id)" the writer appends to keep Threagile's titles unique.
func title(t, id string) string {
	if s, ok := strings.CutSuffix(t, " ("+id+")"); ok && s != "" {
		return s
	}
	return t
}

// implied reports values not worth carrying: Threagile's usual usage, and
// "none" for what the flow's authenticated flag already says.
func implied(key string, v *interop.Node) bool {
	switch key {
	case "usage":
		return v.Text() == "business"
	case "authentication", "authorization":
		return v.Text() == "none"
	}
	return false
}

// explicitProcessed carries the data assets an asset processes beyond those
// its links send, receive or it stores, which Threagile counts as
// processed anyway.
func (im *importer) explicitProcessed() {
	implicit := map[string]map[string]bool{}
	mark := func(id, d string) {
		if implicit[id] == nil {
			implicit[id] = map[string]bool{}
		}
		implicit[id][d] = true
	}
	for _, f := range im.m.Flows {
		for _, d := range f.Data {
			mark(f.From, d)
			mark(f.To, d)
		}
	}
	for _, c := range im.m.Components {
		var extra []string
		for _, d := range im.processed[c] {
			if id, ok := im.data[d]; !ok || !implicit[c.ID][id] {
				extra = append(extra, d)
			}
		}
		if len(extra) == 0 {
			continue
		}
		for i := range c.Ext {
			if c.Ext[i].Key == "x-threagile" {
				x := c.Ext[i].Value.(interop.Fields)
				x.Add("data_assets_processed", extra)
				c.Ext[i].Value = x
			}
		}
	}
}

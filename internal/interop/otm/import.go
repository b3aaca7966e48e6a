package otm

import (
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/diag"
	"github.com/mlthreat/mlthreat/internal/interop"
)

type importer struct {
	notes     interop.Notes
	lim       interop.Limits
	cat       *catalog.Catalog
	m         *interop.Model
	ids       interop.IDs // components, zones and flows
	dataIDs   interop.IDs
	threatIDs interop.IDs
	ctlIDs    interop.IDs
	zones     map[string]*interop.Zone      // by OTM id
	comps     map[string]*interop.Component // by OTM id
	compNode  map[string]*interop.Node
	elems     map[string]string // OTM component or dataflow id -> ours
	data      map[string]string
}

// Import reads an OTM document. On success the diagnostics are warnings.
func Import(file string, src []byte, lim interop.Limits) (*interop.Model, diag.List) {
	root, ds := interop.ParseJSON(file, src, lim, "Open Threat Model (OTM) JSON document")
	if ds != nil {
		return nil, ds
	}
	if !root.Is(interop.Map) || root.Get("otmVersion") == nil || !root.Get("project").Is(interop.Map) {
		return nil, diag.List{{File: file, Line: root.Line, Col: root.Col, Severity: diag.Error, Code: "not-otm",
			Message: "not an OTM document: expected an object with otmVersion and project"}}
	}
	im := &importer{notes: interop.Notes{File: file}, lim: lim, cat: catalog.Default(),
		m:     &interop.Model{Comment: "Imported from Open Threat Model (OTM) JSON by mlthreat import; x-otm fields keep what mlthreat does not model."},
		zones: map[string]*interop.Zone{}, comps: map[string]*interop.Component{}, compNode: map[string]*interop.Node{},
		elems: map[string]string{}, data: map[string]string{}}
	for _, sec := range []string{"assets", "trustZones", "components", "dataflows", "threats", "mitigations", "representations"} {
		n := root.Get(sec)
		if n != nil && !n.Is(interop.List) && !n.Is(interop.Null) {
			im.notes.Error(n, "bad-section", "%s must be a list", sec)
		}
		if n.Len() > lim.MaxElements {
			im.notes.Error(n, "too-many", "%s holds %d entries, over the limit of %d", sec, n.Len(), lim.MaxElements)
		}
	}
	if im.notes.List.Errors() > 0 {
		return nil, im.notes.List
	}
	if v := root.Str("otmVersion"); !strings.HasPrefix(v, "0.") {
		im.notes.Warn(root.Get("otmVersion"), "import-version", "otmVersion %q is newer than the 0.2.0 mlthreat knows; fields it does not know are ignored", v)
	}
	im.project(root.Get("project"))
	im.assets(root.Get("assets"))
	im.trustZones(root.Get("trustZones"))
	im.components(root.Get("components"))
	im.dataflows(root.Get("dataflows"))
	im.threats(root)
	im.mitigations(root)
	if r := root.Get("representations"); r.Len() > 0 {
		im.m.Ext.Add("x-otm-representations", r.Plain())
		im.notes.Unmapped("top level", "representations", root.KeyNode("representations"))
	}
	ds = im.notes.Done("x-otm")
	if ds.Errors() > 0 {
		return nil, ds
	}
	return im.m, ds
}

func attr(n *interop.Node, key string) *interop.Node { return n.Get("attributes").Get(key) }

func (im *importer) project(p *interop.Node) {
	s := &im.m.System
	s.Name = p.Str("name")
	if s.Name == "" {
		s.Name = p.Str("id")
	}
	if s.Name == "" {
		s.Name = "Imported OTM project"
	}
	s.ID = interop.Slug(p.Str("id"))
	if s.ID == "" {
		s.ID = interop.Slug(s.Name)
	}
	if s.ID == "" {
		s.ID = "otm-project"
	}
	if s.ID != p.Str("id") {
		s.Ext.Add("x-otm-id", p.Str("id"))
	}
	s.Description = p.Str("description")
	s.Owner = p.Str("owner")
	s.Tags = p.Get("tags").Strings()
	sys := attr(p, attrSystem)
	if c := sys.Str("criticality"); slices.Contains([]string{"low", "medium", "high", "critical"}, c) {
		s.Criticality = c
	}
	for _, pl := range sys.Get("platforms").Strings() {
		if slices.Contains([]string{"predictive", "generative", "agentic"}, pl) && !slices.Contains(s.Platforms, pl) {
			s.Platforms = append(s.Platforms, pl)
		}
	}
	s.Ext.Add("x-otm-owner-contact", p.Str("ownerContact"))
	if a := p.Get("attributes"); a.Is(interop.Map) {
		rest := interop.Fields{}
		for k, v := range a.Entries() {
			if k.Value != attrSystem && k.Value != attrDecisions {
				rest.Add(k.Value, v.Plain())
			}
		}
		if len(rest) > 0 {
			s.Ext.Add("x-otm-attributes", rest)
			im.notes.Unmapped("project", "attributes", a)
		}
	}
	for _, d := range attr(p, attrDecisions).ItemsOrScalar() {
		status := d.Str("status")
		if !reThreatID.MatchString(d.Str("threat")) || !slices.Contains([]string{"accepted", "mitigated", "false-positive", "in-progress"}, status) {
			im.notes.Warn(d, "import-skipped", "risk-tracking entry with threat %q and status %q is not valid; skipped", d.Str("threat"), status)
			continue
		}
		until := d.Str("until")
		if !reDate.MatchString(until) {
			until = ""
		}
		im.m.Decisions = append(im.m.Decisions, &interop.Decision{Threat: d.Str("threat"), Status: status, Justification: d.Str("justification"), Owner: d.Str("owner"), Until: until})
	}
}

var (
	reThreatID = regexp.MustCompile(`^T-[0-9a-f]{8}$`)
	reDate     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

func (im *importer) assets(n *interop.Node) {
	for _, a := range n.ItemsOrScalar() {
		oid := a.Str("id")
		if !a.Is(interop.Map) || oid == "" {
			im.notes.Warn(a, "import-skipped", "asset without an id; skipped")
			continue
		}
		if _, dup := im.data[oid]; dup {
			im.notes.Warn(a.Get("id"), "import-duplicate", "asset id %q is used twice; the second one is skipped", oid)
			continue
		}
		d := &interop.Data{ID: im.dataIDs.Make("data", interop.Readable(oid, a.Str("name"))...), Name: a.Str("name"), Description: a.Str("description")}
		im.data[oid] = d.ID
		if c := attr(a, attrClass).Text(); slices.Contains([]string{"public", "internal", "confidential", "restricted"}, c) {
			d.Classification = c
		} else if c, ok := a.Get("risk").Number("confidentiality"); ok {
			d.Classification = classify(c)
		}
		if v, ok := a.Get("attributes").Bool(attrPII); ok {
			d.PII = v
		}
		if d.ID != oid {
			d.Ext.Add("x-otm-id", oid)
		}
		if attr(a, attrClass) == nil {
			x := interop.Fields{}
			for _, k := range []string{"integrity", "availability", "comment"} {
				x.Add(k, a.Get("risk").Get(k).Plain())
			}
			d.Ext.Add("x-otm-risk", x)
			im.notes.Unmapped("assets", "risk.integrity, risk.availability", a.Get("risk"))
		}
		im.m.Data = append(im.m.Data, d)
	}
}

// classify maps an OTM confidentiality (0-100) to the nearest level.
func classify(c float64) string {
	switch {
	case c < 17:
		return "public"
	case c < 50:
		return "internal"
	case c < 84:
		return "confidential"
	}
	return "restricted"
}

// trustOf maps an OTM trust rating (0-100) to the nearest level.
func trustOf(r float64) string {
	switch {
	case r < 25:
		return "untrusted"
	case r < 55:
		return "partner"
	case r < 85:
		return "internal"
	}
	return "restricted"
}

func (im *importer) trustZones(n *interop.Node) {
	guessed := 0
	var first *interop.Node
	for _, z := range n.ItemsOrScalar() {
		oid := z.Str("id")
		if !z.Is(interop.Map) || oid == "" {
			im.notes.Warn(z, "import-skipped", "trust zone without an id; skipped")
			continue
		}
		if im.zones[oid] != nil {
			im.notes.Warn(z.Get("id"), "import-duplicate", "trust zone id %q is used twice; the second one is skipped", oid)
			continue
		}
		if v, _ := z.Get("attributes").Bool(attrSynthetic); v {
			im.zones[oid] = &interop.Zone{} // components in it get no zone
			continue
		}
		zone := &interop.Zone{ID: im.ids.Make("zone", interop.Readable(oid, z.Str("name"))...), Name: z.Str("name"), Description: z.Str("description")}
		if t := attr(z, attrTrust).Text(); trustRating[t] != 0 {
			zone.Trust = t
		} else if r, ok := z.Get("risk").Number("trustRating"); ok {
			zone.Trust = trustOf(r)
			guessed++
			if first == nil {
				first = z.Get("risk")
			}
		} else {
			zone.Trust = "internal"
			guessed++
		}
		if zone.ID != oid {
			zone.Ext.Add("x-otm-id", oid)
		}
		if attr(z, attrTrust) == nil {
			zone.Ext.Add("x-otm-type", z.Str("type"))
		}
		if p := z.Get("parent"); p != nil {
			zone.Ext.Add("x-otm-parent", p.Plain())
		}
		im.zones[oid] = zone
		im.m.Zones = append(im.m.Zones, zone)
	}
	if guessed > 0 {
		im.notes.Warn(first, "import-guess", "trust of %d trust zones taken from trustRating (below 25 untrusted, 25-54 partner, 55-84 internal, 85 and above restricted)", guessed)
	}
}

func (im *importer) components(n *interop.Node) {
	guessed := map[string][]string{}
	var firstGuess *interop.Node
	var order []string
	for _, c := range n.ItemsOrScalar() {
		oid := c.Str("id")
		if !c.Is(interop.Map) || oid == "" {
			im.notes.Warn(c, "import-skipped", "component without an id; skipped")
			continue
		}
		if im.comps[oid] != nil {
			im.notes.Warn(c.Get("id"), "import-duplicate", "component id %q is used twice; the second one is skipped", oid)
			continue
		}
		comp := &interop.Component{ID: im.ids.Make("component", interop.Readable(oid, c.Str("name"))...), Name: c.Str("name"), Description: c.Str("description")}
		typ := c.Str("type")
		kind, exact := "", false
		if k := attr(c, attrKind).Text(); interop.IsKind(k) {
			kind, exact = k, true
		} else {
			kind, exact = interop.GuessKind(typ, comp.Name, comp.Description)
		}
		comp.Kind = kind
		if !exact {
			guessed[kind] = append(guessed[kind], comp.ID)
			if firstGuess == nil {
				firstGuess = c
			}
		}
		if e := attr(c, attrExposure).Text(); slices.Contains([]string{"internet", "partner", "internal", "isolated"}, e) {
			comp.Exposure = e
		}
		comp.Owner = attr(c, attrOwner).Text()
		comp.Tags = append(comp.Tags, c.Get("tags").Strings()...)
		if p := attr(c, attrProps); p.Is(interop.Map) {
			for k, v := range p.Entries() {
				if !setProp(&comp.Props, kind, k.Value, v) {
					im.notes.Warn(k, "import-skipped", "component %q: prop %s is not valid for kind %s; dropped", oid, k.Value, kind)
				}
			}
		}
		if comp.ID != oid {
			comp.Ext.Add("x-otm-id", oid)
		}
		if !exact || typ != kind {
			comp.Ext.Add("x-otm-type", typ)
		}
		if as := c.Get("assets"); as.Is(interop.Map) && attr(c, attrKind) == nil {
			comp.Ext.Add("x-otm-assets", as.Plain())
			im.notes.Unmapped("components", "assets", as)
		}
		if a := c.Get("attributes"); a.Is(interop.Map) {
			rest := interop.Fields{}
			for k, v := range a.Entries() {
				if !strings.HasPrefix(k.Value, "mlthreat-") {
					rest.Add(k.Value, v.Plain())
				}
			}
			if len(rest) > 0 {
				comp.Ext.Add("x-otm-attributes", rest)
				im.notes.Unmapped("components", "attributes", a)
			}
		}
		if r := c.Get("representations"); r.Len() > 0 {
			comp.Ext.Add("x-otm-representations", r.Plain())
			im.notes.Unmapped("components", "representations", r)
		}
		im.comps[oid] = comp
		im.compNode[oid] = c
		im.elems[oid] = comp.ID
		order = append(order, oid)
		im.m.Components = append(im.m.Components, comp)
	}
	for _, oid := range order {
		im.comps[oid].Zone = im.zoneOf(oid)
	}
	if len(guessed) > 0 {
		var parts []string
		for _, k := range interop.SortedKeys(guessed) {
			parts = append(parts, k+" for "+interop.Sample(guessed[k], 5))
		}
		im.notes.Warn(firstGuess, "import-guess", "kinds guessed from component type and name (check them): %s", strings.Join(parts, "; "))
	}
}

// zoneOf follows a component's parents to a trust zone; nested components
// take the zone of the component that holds them.
func (im *importer) zoneOf(oid string) string {
	seen := map[string]bool{}
	cur := oid
	for range 1000 {
		c := im.compNode[cur]
		p := c.Get("parent")
		if tz := p.Str("trustZone"); tz != "" {
			z := im.zones[tz]
			if z == nil {
				im.notes.Warn(p, "import-dangling", "component %q: parent trust zone %q is not declared; it gets no zone", oid, tz)
				return ""
			}
			return z.ID
		}
		pc := p.Str("component")
		if pc == "" {
			im.notes.Warn(c, "import-missing", "component %q has no parent trust zone; it gets no zone", oid)
			return ""
		}
		if im.compNode[pc] == nil {
			im.notes.Warn(p, "import-dangling", "component %q: parent component %q is not declared; it gets no zone", oid, pc)
			return ""
		}
		if seen[pc] {
			im.notes.Warn(p, "import-cycle", "component %q: its parents form a cycle; it gets no zone", oid)
			return ""
		}
		seen[cur] = true
		if cur == oid {
			im.comps[oid].Ext.Add("x-otm-parent-component", im.elems[pc])
		}
		cur = pc
	}
	return ""
}

// setProp copies one exported prop back, checked against the kind.
func setProp(props *interop.Fields, kind, name string, v *interop.Node) bool {
	switch v.Kind {
	case interop.Scalar:
		switch p := v.Plain().(type) {
		case bool:
			return interop.SetProp(props, kind, name, p)
		case string:
			return interop.SetProp(props, kind, name, p)
		case int, float64:
			return interop.SetNumberProp(props, kind, name, p)
		}
	case interop.List:
		return interop.SetProp(props, kind, name, v.Strings())
	}
	return false
}

func (im *importer) dataflows(n *interop.Node) {
	for _, f := range n.ItemsOrScalar() {
		oid := f.Str("id")
		if !f.Is(interop.Map) || oid == "" {
			im.notes.Warn(f, "import-skipped", "dataflow without an id; skipped")
			continue
		}
		src, dst := f.Str("source"), f.Str("destination")
		from, to := im.comps[src], im.comps[dst]
		switch {
		case from == nil || to == nil:
			bad := src
			if from != nil {
				bad = dst
			}
			what := "an unknown element"
			if im.zones[bad] != nil {
				what = "a trust zone (mlthreat flows join components)"
			}
			im.notes.Warn(f, "import-dangling", "dataflow %q: %q is %s; dropped", oid, bad, what)
			continue
		case from == to:
			im.notes.Warn(f, "import-self-link", "dataflow %q goes from %q to itself; dropped", oid, src)
			continue
		}
		if _, dup := im.elems[oid]; dup {
			im.notes.Warn(f.Get("id"), "import-duplicate", "dataflow id %q is used twice (or by a component); the second one is skipped", oid)
			continue
		}
		fl := &interop.Flow{ID: im.ids.Make("flow", interop.Readable(oid, f.Str("name"))...), From: from.ID, To: to.ID, Description: f.Str("description")}
		im.elems[oid] = fl.ID
		if v, ok := f.Bool("bidirectional"); ok {
			fl.Bidirectional = v
		}
		for _, it := range f.Get("assets").ItemsOrScalar() {
			id := it.Text()
			if d, ok := im.data[id]; ok {
				if !slices.Contains(fl.Data, d) {
					fl.Data = append(fl.Data, d)
				}
			} else {
				im.notes.Warn(it, "import-dangling", "dataflow %q names unknown asset %q; dropped", oid, id)
			}
		}
		a := f.Get("attributes")
		fl.Protocol = attr(f, attrProtocol).Text()
		if v, ok := a.Bool(attrEncrypted); ok {
			fl.Encrypted = interop.Bool(v)
		}
		if v, ok := a.Bool(attrAuth); ok {
			fl.Authenticated = interop.Bool(v)
		}
		if p := a.Get(attrProps); p.Is(interop.Map) {
			fl.Props = p.Plain().(interop.Fields)
		}
		if fl.ID != oid {
			fl.Ext.Add("x-otm-id", oid)
		}
		if a.Get(attrKind) == nil && a.Get(attrProtocol) == nil {
			if name := f.Str("name"); name != "" {
				fl.Ext.Add("x-otm-name", name)
			}
		}
		if t := f.Get("tags").Strings(); len(t) > 0 {
			fl.Ext.Add("x-otm-tags", t)
			im.notes.Unmapped("dataflows", "tags", f.Get("tags"))
		}
		im.m.Flows = append(im.m.Flows, fl)
	}
}

// instances collects, per OTM threat id, the elements that carry it and
// their states; and per mitigation id, the elements and states.
type use struct {
	elems  []string
	states []string
}

func (im *importer) instances(root *interop.Node) (threats, mits map[string]*use) {
	threats, mits = map[string]*use{}, map[string]*use{}
	add := func(m map[string]*use, id, elem, state string) {
		u := m[id]
		if u == nil {
			u = &use{}
			m[id] = u
		}
		if !slices.Contains(u.elems, elem) {
			u.elems = append(u.elems, elem)
		}
		u.states = append(u.states, state)
	}
	for _, sec := range []string{"components", "dataflows"} {
		for _, e := range root.Get(sec).ItemsOrScalar() {
			elem, ok := im.elems[e.Str("id")]
			if !ok {
				continue
			}
			for _, ti := range e.Get("threats").ItemsOrScalar() {
				add(threats, ti.Str("threat"), elem, ti.Str("state"))
				for _, mi := range ti.Get("mitigations").ItemsOrScalar() {
					add(mits, mi.Str("mitigation"), elem, mi.Str("state"))
				}
			}
		}
	}
	return threats, mits
}

func (im *importer) threats(root *interop.Node) {
	uses, _ := im.instances(root)
	derived := 0
	for _, t := range root.Get("threats").ItemsOrScalar() {
		oid := t.Str("id")
		if !t.Is(interop.Map) || oid == "" {
			im.notes.Warn(t, "import-skipped", "threat without an id; skipped")
			continue
		}
		if v, _ := t.Get("attributes").Bool(attrDerived); v {
			// mlthreat derives it again from the model.
			derived++
			continue
		}
		th := &interop.Threat{Title: t.Str("name"), Description: t.Str("description")}
		if th.Title == "" {
			th.Title = oid
		}
		if rec := attr(t, attrRecorded); rec.Is(interop.Map) {
			th.ID = im.threatIDs.Make("threat", rec.Str("id"), oid)
			if tech := rec.Str("technique"); im.cat.Technique(tech) != nil {
				th.Technique = tech
			}
			th.STRIDE = validLetters(rec.Get("stride").Strings())
			th.Likelihood = clamp(rec.Get("likelihood").Plain())
			th.Impact = clamp(rec.Get("impact").Plain())
			if s := rec.Str("status"); threatState[s] != "" {
				th.Status = s
			}
			for _, target := range rec.Get("targets").Strings() {
				if im.ids.Taken(target) {
					th.Targets = append(th.Targets, target)
				}
			}
			im.m.Threats = append(im.m.Threats, th)
			continue
		}
		th.ID = im.threatIDs.Make("threat", interop.Readable(oid, t.Str("name"))...)
		th.Ext.Add("x-otm-id", oid)
		for _, c := range t.Get("categories").Strings() {
			for l, name := range strideNames {
				if strings.EqualFold(strings.ReplaceAll(c, "-", " "), name) && !slices.Contains(th.STRIDE, l) {
					th.STRIDE = append(th.STRIDE, l)
				}
			}
		}
		slices.Sort(th.STRIDE)
		if l, ok := t.Get("risk").Number("likelihood"); ok {
			th.Likelihood = scale(l)
		}
		if i, ok := t.Get("risk").Number("impact"); ok {
			th.Impact = scale(i)
		}
		if u := uses[oid]; u != nil {
			th.Targets = u.elems
			th.Status = worst(u.states)
		}
		x := interop.Fields{}
		x.Add("cwes", t.Get("cwes").Strings())
		x.Add("tags", t.Get("tags").Strings())
		th.Ext.Add("x-otm", x)
		im.m.Threats = append(im.m.Threats, th)
	}
	if derived > 0 {
		im.notes.Warn(root.Get("threats"), "import-derived", "%d threats were derived by mlthreat; they are derived again from the model rather than recorded", derived)
	}
}

func validLetters(in []string) []string {
	var out []string
	for _, l := range in {
		if strideNames[l] != "" {
			out = append(out, l)
		}
	}
	return out
}

func clamp(v any) int {
	switch x := v.(type) {
	case int:
		if x >= 1 && x <= 5 {
			return x
		}
	}
	return 0
}

// scale maps an OTM 0-100 rating to mlthreat's 1-5.
func scale(v float64) int {
	if math.IsNaN(v) {
		return 0
	}
	return int(math.Max(1, math.Min(5, math.Ceil(v/20))))
}

// worst picks the status that needs most attention among the instances.
func worst(states []string) string {
	rank := map[string]int{"open": 5, "in-progress": 4, "accepted": 3, "mitigated": 2, "false-positive": 1}
	best, bestRank := "", 0
	for _, s := range states {
		st := stateStatus[strings.ToLower(s)]
		if st == "" {
			st = "open"
		}
		if rank[st] > bestRank {
			best, bestRank = st, rank[st]
		}
	}
	return best
}

func (im *importer) mitigations(root *interop.Node) {
	_, uses := im.instances(root)
	for _, m := range root.Get("mitigations").ItemsOrScalar() {
		oid := m.Str("id")
		if !m.Is(interop.Map) || oid == "" {
			im.notes.Warn(m, "import-skipped", "mitigation without an id; skipped")
			continue
		}
		if v, _ := m.Get("attributes").Bool(attrCatalogue); v {
			continue
		}
		ctl := &interop.Control{Name: m.Str("name"), Description: m.Str("description")}
		if rec := attr(m, attrControl); rec.Is(interop.Map) {
			ctl.ID = im.ctlIDs.Make("control", rec.Str("id"), oid)
			interop.RestoreControl(ctl, rec, func(id string) bool { return im.cat.Mitigation(id) != nil || im.cat.Control(id) != nil }, im.ids.Taken)
			im.m.Controls = append(im.m.Controls, ctl)
			continue
		}
		ctl.ID = im.ctlIDs.Make("control", interop.Readable(oid, m.Str("name"))...)
		ctl.Ext.Add("x-otm-id", oid)
		if r, ok := m.Number("riskReduction"); ok {
			ctl.Ext.Add("x-otm-risk-reduction", r)
		}
		if u := uses[oid]; u != nil {
			ctl.AppliesTo = u.elems
			ctl.Status = "planned"
			for _, s := range u.states {
				if stateControl[strings.ToLower(s)] == "implemented" {
					ctl.Status = "implemented"
				}
			}
		} else {
			ctl.Status = "planned"
		}
		im.m.Controls = append(im.m.Controls, ctl)
	}
}

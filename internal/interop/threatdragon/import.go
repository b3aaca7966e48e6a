package threatdragon

import (
	"regexp"
	"slices"
	"strings"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/diag"
	"github.com/mlthreat/mlthreat/internal/interop"
)

type cell struct {
	node       *interop.Node
	id, typ    string // typ: actor, process, store, flow, box, curve, text
	name       string
	data       *interop.Node // v2 data, or the v1 cell itself
	x, y, w, h float64
}

type importer struct {
	notes     interop.Notes
	m         *interop.Model
	ids       interop.IDs
	threatIDs interop.IDs
	elems     map[string]string // cell id -> our id
	recs      map[string]*interop.Threat
	summary   *interop.Node // what an mlthreat export carried in the summary
	comps     map[string]*interop.Component
}

// Import reads a Threat Dragon model. On success the diagnostics are warnings.
func Import(file string, src []byte, lim interop.Limits) (*interop.Model, diag.List) {
	root, ds := interop.ParseJSON(file, src, lim, "Threat Dragon model")
	if ds != nil {
		return nil, ds
	}
	if !root.Is(interop.Map) || !root.Get("summary").Is(interop.Map) || !root.Get("detail").Is(interop.Map) {
		msg := "not a Threat Dragon model: expected an object with summary and detail"
		if strings.Contains(root.Str("$schema"), "threat-model") {
			msg += "; this looks like an OWASP threat model library (TM-BOM) file, which mlthreat does not import"
		}
		return nil, diag.List{{File: file, Line: root.Line, Col: root.Col, Severity: diag.Error, Code: "not-threat-dragon", Message: msg}}
	}
	im := &importer{notes: interop.Notes{File: file},
		m:     &interop.Model{Comment: "Imported from OWASP Threat Dragon by mlthreat import; x-threat-dragon fields keep what mlthreat does not model."},
		elems: map[string]string{}, recs: map[string]*interop.Threat{}, comps: map[string]*interop.Component{}}
	var cells []*cell
	for _, d := range root.Get("detail").Get("diagrams").ItemsOrScalar() {
		cs := d.Get("cells")
		if cs == nil {
			cs = d.Get("diagramJson").Get("cells") // version 1
		}
		for _, c := range cs.ItemsOrScalar() {
			if len(cells) >= lim.MaxElements {
				im.notes.Error(c, "too-many", "the diagrams hold more than %d cells", lim.MaxElements)
				return nil, im.notes.List
			}
			if cl := readCell(c); cl != nil {
				cells = append(cells, cl)
			} else {
				im.notes.Warn(c, "import-skipped", "a cell of unknown type; skipped")
			}
		}
	}
	im.system(root)
	im.elements(cells)
	im.flows(cells)
	im.exposure(cells)
	im.controls()
	interop.SetPlatforms(im.m)
	ds = im.notes.Done("x-threat-dragon")
	if ds.Errors() > 0 {
		return nil, ds
	}
	return im.m, ds
}

var cellTypes = map[string]string{
	"tm.Actor": "actor", "actor": "actor", "tm.Process": "process", "process": "process",
	"tm.Store": "store", "store": "store", "tm.Flow": "flow", "flow": "flow",
	"tm.Boundary": "curve", "trust-boundary-curve": "curve", "tm.BoundaryBox": "box", "trust-boundary-box": "box",
	"tm.Text": "text", "td-text-block": "text",
}

func readCell(n *interop.Node) *cell {
	if !n.Is(interop.Map) {
		return nil
	}
	c := &cell{node: n, id: n.Str("id"), data: n.Get("data")}
	typ := c.data.Str("type")
	if typ == "" {
		typ = n.Str("shape")
	}
	if typ == "" {
		typ = n.Str("type") // version 1
		c.data = n
	}
	if c.data == nil {
		c.data = n
	}
	c.typ = cellTypes[typ]
	if c.typ == "" {
		return nil
	}
	c.name = c.data.Str("name")
	if c.name == "" {
		c.name = firstText(n)
	}
	c.name = strings.Join(strings.Fields(c.name), " ")
	pos, size := n.Get("position"), n.Get("size")
	c.x, _ = pos.Number("x")
	c.y, _ = pos.Number("y")
	c.w, _ = size.Number("width")
	c.h, _ = size.Number("height")
	return c
}

// firstText finds a cell's label where each version keeps it.
func firstText(n *interop.Node) string {
	if t := n.Get("attrs").Get("text").Str("text"); t != "" {
		return t
	}
	if t := n.Get("attrs").Get("label").Str("text"); t != "" {
		return t
	}
	for _, l := range n.Get("labels").ItemsOrScalar() {
		if l.Is(interop.Scalar) {
			return l.Text()
		}
		if t := l.Get("attrs").Get("text").Str("text"); t != "" {
			return t
		}
		if t := l.Get("attrs").Get("labelText").Str("text"); t != "" {
			return t
		}
	}
	return ""
}

func (im *importer) system(root *interop.Node) {
	s, sum := &im.m.System, root.Get("summary")
	s.Name = strings.TrimSpace(sum.Str("title"))
	if s.Name == "" {
		s.Name = "Imported Threat Dragon model"
	}
	ml := sum.Get("mlthreat")
	s.ID = interop.Slug(ml.Str("id"))
	if s.ID == "" {
		s.ID = interop.Slug(s.Name)
	}
	if s.ID == "" {
		s.ID = "threat-dragon-model"
	}
	if c := ml.Str("criticality"); slices.Contains([]string{"low", "medium", "high", "critical"}, c) {
		s.Criticality = c
	}
	for _, p := range ml.Get("platforms").Strings() {
		if slices.Contains([]string{"predictive", "generative", "agentic"}, p) && !slices.Contains(s.Platforms, p) {
			s.Platforms = append(s.Platforms, p)
		}
	}
	s.Tags = ml.Get("tags").Strings()
	im.summary = ml
	s.Description = sum.Str("description")
	s.Owner = sum.Str("owner")
	x := interop.Fields{}
	det := root.Get("detail")
	var names []string
	for _, c := range det.Get("contributors").ItemsOrScalar() {
		if n := c.Str("name"); n != "" {
			names = append(names, n)
		}
	}
	x.Add("contributors", names)
	x.Add("reviewer", det.Str("reviewer"))
	x.Add("version", root.Str("version"))
	s.Ext.Add("x-threat-dragon", x)
}

var reLLM = regexp.MustCompile(`(?i)\b(llm|gpt|chat|language model)\b`)

func (im *importer) elements(cells []*cell) {
	// Boxes become zones; components sit in the smallest box holding their centre.
	var boxes []*cell
	var curves int
	var firstCurve *interop.Node
	for _, c := range cells {
		switch c.typ {
		case "box":
			boxes = append(boxes, c)
		case "curve":
			curves++
			if firstCurve == nil {
				firstCurve = c.node
			}
		}
	}
	zoneOf := map[*cell]*interop.Zone{}
	guessTrust := 0
	for _, b := range boxes {
		ml := b.data.Get("mlthreat")
		z := &interop.Zone{ID: im.ids.Make("zone", ml.Str("id"), b.name, b.id), Name: b.name, Description: b.data.Str("description")}
		if t := ml.Str("trust"); slices.Contains([]string{"untrusted", "partner", "internal", "restricted"}, t) {
			z.Trust = t
		} else {
			z.Trust = trustFromName(b.name)
			guessTrust++
		}
		z.Ext.Add("x-threat-dragon-id", b.id)
		zoneOf[b] = z
		im.m.Zones = append(im.m.Zones, z)
		defer im.threats(b, z.ID)
	}
	if guessTrust > 0 {
		im.notes.Warn(boxes[0].node, "import-guess", "trust of %d trust boundary boxes guessed from their names (internet, public or external: untrusted; partner or third party: partner; otherwise internal)", guessTrust)
	}
	var external, internal *interop.Zone
	guessed := map[string][]string{}
	var firstGuess *interop.Node
	for _, c := range cells {
		if c.typ != "actor" && c.typ != "process" && c.typ != "store" {
			continue
		}
		ml := c.data.Get("mlthreat")
		comp := &interop.Component{ID: im.ids.Make("component", ml.Str("id"), c.name, c.id), Name: c.name, Description: c.data.Str("description")}
		kind, sure := ml.Str("kind"), true
		if !interop.IsKind(kind) {
			kind, sure = im.kindOf(c)
		}
		comp.Kind = kind
		if !sure {
			guessed[kind] = append(guessed[kind], comp.ID)
			if firstGuess == nil {
				firstGuess = c.node
			}
		}
		// Smallest enclosing box.
		var best *cell
		cx, cy := c.x+c.w/2, c.y+c.h/2
		for _, b := range boxes {
			if cx >= b.x && cx <= b.x+b.w && cy >= b.y && cy <= b.y+b.h && (best == nil || b.w*b.h < best.w*best.h) {
				best = b
			}
		}
		switch {
		case ml.Str("zone") != "" && im.ids.Taken(ml.Str("zone")) && zoneByID(im.m.Zones, ml.Str("zone")):
			comp.Zone = ml.Str("zone")
		case best != nil:
			comp.Zone = zoneOf[best].ID
		case ml != nil:
			// Exported by mlthreat without a zone: keep it without one.
		case c.typ == "actor":
			if external == nil {
				external = &interop.Zone{ID: im.ids.Make("zone", "external"), Name: "External", Trust: "untrusted", Description: "Actors outside every trust boundary box"}
				im.m.Zones = append(im.m.Zones, external)
			}
			comp.Zone = external.ID
		default:
			if internal == nil {
				internal = &interop.Zone{ID: im.ids.Make("zone", "internal"), Name: "Internal", Trust: "internal", Description: "Processes and stores outside every trust boundary box"}
				im.m.Zones = append(im.m.Zones, internal)
			}
			comp.Zone = internal.ID
		}
		if e := ml.Str("exposure"); slices.Contains([]string{"internet", "partner", "internal", "isolated"}, e) {
			comp.Exposure = e
		}
		comp.Owner = ml.Str("owner")
		if p := ml.Get("props"); p.Is(interop.Map) {
			for k, v := range p.Entries() {
				setProp(&comp.Props, kind, k.Value, v)
			}
		}
		im.flags(comp, c)
		comp.Ext.Add("x-threat-dragon-id", c.id)
		im.elems[c.id] = comp.ID
		im.comps[c.id] = comp
		im.m.Components = append(im.m.Components, comp)
		im.threats(c, comp.ID)
	}
	if curves > 0 {
		im.notes.Warn(firstCurve, "import-curves", "%d trust boundary lines cannot become zones (only boxes enclose elements): actors outside every box are placed in an untrusted zone, processes and stores in an internal one", curves)
	}
	if len(guessed) > 0 {
		var parts []string
		for _, k := range interop.SortedKeys(guessed) {
			parts = append(parts, k+" for "+interop.Sample(guessed[k], 5))
		}
		im.notes.Warn(firstGuess, "import-guess", "kinds guessed from Threat Dragon shapes and names (check them): %s", strings.Join(parts, "; "))
	}
}

func zoneByID(zs []*interop.Zone, id string) bool {
	for _, z := range zs {
		if z.ID == id {
			return true
		}
	}
	return false
}

func trustFromName(name string) string {
	n := " " + strings.ToLower(name) + " "
	switch {
	case strings.Contains(n, "internet"), strings.Contains(n, "public"), strings.Contains(n, "external"), strings.Contains(n, "untrusted"):
		return "untrusted"
	case strings.Contains(n, "partner"), strings.Contains(n, "third party"), strings.Contains(n, "third-party"), strings.Contains(n, "vendor"):
		return "partner"
	}
	return "internal"
}

// kindOf maps a shape to a kind: actors are actors; stores and processes
// take a kind from their name when it names one of theirs.
func (im *importer) kindOf(c *cell) (string, bool) {
	switch c.typ {
	case "actor":
		return "actor", true
	case "store":
		k, _ := interop.GuessKind(c.name, c.data.Str("description"))
		if storeKinds[k] {
			return k, k == "datastore"
		}
		return "datastore", true
	}
	if reLLM.MatchString(c.name) {
		return "llm", false
	}
	k, _ := interop.GuessKind(c.name, c.data.Str("description"))
	if k == "actor" || storeKinds[k] {
		k = "application"
	}
	if v, _ := c.data.Bool("isWebApplication"); v && k == "application" {
		return k, true
	}
	return k, false
}

// flags maps Threat Dragon's element checkboxes to props and carries the rest.
func (im *importer) flags(comp *interop.Component, c *cell) {
	x := interop.Fields{}
	var stores []string
	for k, v := range c.data.Entries() {
		b, isBool := c.data.Bool(k.Value)
		switch k.Value {
		case "isALog":
			if b {
				stores = append(stores, "logs")
			}
		case "storesCredentials":
			if b {
				stores = append(stores, "credentials")
			}
		case "isEncrypted":
			if isBool {
				interop.SetProp(&comp.Props, comp.Kind, "encryption_at_rest", b)
			}
		case "isWebApplication":
			if b {
				interop.SetProp(&comp.Props, comp.Kind, "user_facing", true)
			}
		case "outOfScope", "reasonOutOfScope", "privilegeLevel", "isSigned", "storesInventory", "handlesCardPayment", "handlesGoodsOrServices", "providesAuthentication":
			if p := v.Plain(); p != nil && p != false && p != "" {
				x.Add(k.Value, p)
				im.notes.Unmapped("cells", k.Value, k)
			}
		}
	}
	if len(stores) > 0 {
		interop.SetProp(&comp.Props, comp.Kind, "stores", stores)
	}
	comp.Ext.Add("x-threat-dragon", x)
}

func setProp(props *interop.Fields, kind, name string, v *interop.Node) {
	switch v.Kind {
	case interop.Scalar:
		switch p := v.Plain().(type) {
		case bool, string:
			interop.SetProp(props, kind, name, p)
		case int, float64:
			interop.SetNumberProp(props, kind, name, p)
		}
	case interop.List:
		interop.SetProp(props, kind, name, v.Strings())
	}
}

var reOurID = regexp.MustCompile(`^T-[0-9a-f]{8}$`)

var statuses = map[string]string{"open": "open", "mitigated": "mitigated", "notapplicable": "false-positive", "n/a": "false-positive", "not applicable": "false-positive"}

// threats records a cell's threats. Threats mlthreat derived (their id is a
// T- id) are derived again; a status a person changed in Threat Dragon
// becomes a risk_tracking decision on that id.
func (im *importer) threats(c *cell, target string) {
	for _, t := range c.data.Get("threats").ItemsOrScalar() {
		if !t.Is(interop.Map) {
			continue
		}
		status := statuses[strings.ToLower(t.Str("status"))]
		if status == "" {
			status = "open"
		}
		id := t.Str("id")
		if reOurID.MatchString(id) {
			was := t.Get("mlthreat").Str("status")
			if dec := t.Get("mlthreat").Get("decision"); dec.Is(interop.Map) {
				im.decision(id, dec.Str("status"), dec.Str("justification"), dec.Str("owner"), dec.Str("until"))
			} else if status != "open" && status != was && !(status == "false-positive" && was == "accepted") {
				just := strings.TrimSpace(t.Str("mitigation"))
				if just == "" {
					just = "Marked " + t.Str("status") + " in Threat Dragon"
				}
				im.decision(id, status, just, "", "")
			}
			continue
		}
		if rec := t.Get("mlthreat").Get("recorded"); rec.Is(interop.Map) {
			im.recorded(rec, t, target)
			continue
		}
		th := &interop.Threat{ID: im.threatIDs.Make("threat", t.Str("title"), id), Title: strings.TrimSpace(t.Str("title")), Description: t.Str("description"),
			Targets: []string{target}, Status: status}
		if th.Title == "" {
			th.Title = "Threat on " + target
		}
		typ := strings.ToLower(t.Str("type"))
		for l, name := range strideTypes {
			if typ == strings.ToLower(name) {
				th.STRIDE = []string{l}
			}
		}
		x := interop.Fields{}
		x.Add("id", id)
		x.Add("type", t.Str("type"))
		x.Add("severity", t.Str("severity"))
		x.Add("mitigation", t.Str("mitigation"))
		x.Add("modelType", t.Str("modelType"))
		th.Ext.Add("x-threat-dragon", x)
		im.m.Threats = append(im.m.Threats, th)
	}
}

func (im *importer) decision(id, status, just, owner, until string) {
	if !slices.Contains([]string{"accepted", "mitigated", "false-positive", "in-progress"}, status) {
		return
	}
	if !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`).MatchString(until) {
		until = ""
	}
	im.m.Decisions = append(im.m.Decisions, &interop.Decision{Threat: id, Status: status, Justification: just, Owner: owner, Until: until})
}

func (im *importer) flows(cells []*cell) {
	for _, c := range cells {
		if c.typ != "flow" {
			continue
		}
		src, dst := endpoint(c.node.Get("source")), endpoint(c.node.Get("target"))
		from, to := im.elems[src], im.elems[dst]
		switch {
		case from == "" || to == "":
			im.notes.Warn(c.node, "import-dangling", "data flow %q does not join two elements (actor, process or store); dropped", orID(c.name, c.id))
			continue
		case from == to:
			im.notes.Warn(c.node, "import-self-link", "data flow %q goes from %q to itself; dropped", orID(c.name, c.id), from)
			continue
		}
		ml := c.data.Get("mlthreat")
		f := &interop.Flow{ID: im.ids.Make("flow", ml.Str("id"), c.name, from+"-"+to), From: from, To: to, Description: c.name}
		if d := c.data.Str("description"); d != "" {
			f.Description = d
		}
		f.Protocol = c.data.Str("protocol")
		if v, ok := ml.Bool("encrypted"); ok {
			f.Encrypted = interop.Bool(v)
		} else if v, ok := c.data.Bool("isEncrypted"); ok && (v || ml == nil) {
			f.Encrypted = interop.Bool(v)
		}
		if v, ok := c.data.Bool("isBidirectional"); ok {
			f.Bidirectional = v
		}
		if v, ok := ml.Bool("authenticated"); ok {
			f.Authenticated = interop.Bool(v)
		}
		for _, d := range ml.Get("data").Strings() {
			if interop.Slug(d) == d {
				f.Data = append(f.Data, d)
				im.dataItem(d, ml)
			}
		}
		x := interop.Fields{}
		if v, ok := c.data.Bool("isPublicNetwork"); ok && v {
			x.Add("isPublicNetwork", true)
		}
		if v, _ := c.data.Bool("outOfScope"); v {
			x.Add("outOfScope", true)
			x.Add("reasonOutOfScope", c.data.Str("reasonOutOfScope"))
			im.notes.Unmapped("cells", "outOfScope", c.data.KeyNode("outOfScope"))
		}
		f.Ext.Add("x-threat-dragon-id", c.id)
		f.Ext.Add("x-threat-dragon", x)
		im.elems[c.id] = f.ID
		im.m.Flows = append(im.m.Flows, f)
		im.threats(c, f.ID)
	}
}

// dataItem declares a data item an mlthreat export carried on a flow.
func (im *importer) dataItem(id string, ml *interop.Node) {
	for _, d := range im.m.Data {
		if d.ID == id {
			return
		}
	}
	d := &interop.Data{ID: id}
	for _, it := range ml.Get("dataItems").ItemsOrScalar() {
		if it.Str("id") == id {
			d.Name = it.Str("name")
			if c := it.Str("classification"); slices.Contains([]string{"public", "internal", "confidential", "restricted"}, c) {
				d.Classification = c
			}
			d.PII, _ = it.Bool("pii")
		}
	}
	im.m.Data = append(im.m.Data, d)
}

func orID(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

func endpoint(n *interop.Node) string {
	if id := n.Str("cell"); id != "" {
		return id
	}
	return n.Str("id") // version 1
}

// exposure: an element an actor reaches over a public network is on the
// internet.
func (im *importer) exposure(cells []*cell) {
	for _, c := range cells {
		if c.typ != "flow" {
			continue
		}
		if v, _ := c.data.Bool("isPublicNetwork"); !v {
			continue
		}
		src, dst := im.comps[endpoint(c.node.Get("source"))], im.comps[endpoint(c.node.Get("target"))]
		if src != nil && dst != nil && src.Kind == "actor" && dst.Kind != "actor" && dst.Exposure == "" {
			dst.Exposure = "internet"
		}
	}
}

// recorded restores a threat the model's author wrote, exported by mlthreat;
// one threat on several elements appears on each of them.
func (im *importer) recorded(rec, t *interop.Node, target string) {
	id := rec.Str("id")
	if th := im.recs[id]; th != nil {
		if !slices.Contains(th.Targets, target) {
			th.Targets = append(th.Targets, target)
		}
		return
	}
	th := &interop.Threat{ID: im.threatIDs.Make("threat", id, t.Str("title")), Title: strings.TrimSpace(t.Str("title")), Description: t.Str("description"), Targets: []string{target}}
	if th.Title == "" {
		th.Title = th.ID
	}
	if tech := rec.Str("technique"); catalog.Default().Technique(tech) != nil {
		th.Technique = tech
	}
	for _, l := range rec.Get("stride").Strings() {
		if strideTypes[l] != "" {
			th.STRIDE = append(th.STRIDE, l)
		}
	}
	if v, ok := rec.Number("likelihood"); ok && v >= 1 && v <= 5 && v == float64(int(v)) {
		th.Likelihood = int(v)
	}
	if v, ok := rec.Number("impact"); ok && v >= 1 && v <= 5 && v == float64(int(v)) {
		th.Impact = int(v)
	}
	if s := rec.Str("status"); slices.Contains([]string{"open", "mitigated", "accepted", "false-positive", "in-progress"}, s) {
		th.Status = s
	}
	im.recs[id] = th
	im.m.Threats = append(im.m.Threats, th)
}

// controls restores the controls and decisions an mlthreat export carried.
func (im *importer) controls() {
	cat := catalog.Default()
	var ids interop.IDs
	for _, c := range im.summary.Get("controls").ItemsOrScalar() {
		ctl := &interop.Control{ID: ids.Make("control", c.Str("id"), c.Str("name")), Name: c.Str("name"), Description: c.Str("description")}
		interop.RestoreControl(ctl, c, func(id string) bool { return cat.Mitigation(id) != nil || cat.Control(id) != nil }, im.ids.Taken)
		im.m.Controls = append(im.m.Controls, ctl)
	}
	for _, d := range im.summary.Get("risk_tracking").ItemsOrScalar() {
		if reOurID.MatchString(d.Str("threat")) {
			im.decision(d.Str("threat"), d.Str("status"), d.Str("justification"), d.Str("owner"), d.Str("until"))
		}
	}
}

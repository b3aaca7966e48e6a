package model

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mlthreat/mlthreat/internal/diag"
	"github.com/mlthreat/mlthreat/internal/suggest"
)

// LoadFile reads and checks a model file. It never panics on bad input; every
// problem becomes a diagnostic. The System is nil only when the file could not
// be parsed at all.
func LoadFile(path string, lim Limits) (*System, diag.List) {
	// Stat first: opening a FIFO would block, and a device may never end.
	// /dev/stdin stays allowed, for `... | mlthreat validate /dev/stdin`.
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() && !fi.Mode().IsRegular() && path != "/dev/stdin" {
		return nil, diag.List{{File: path, Severity: diag.Error, Code: "unreadable", Message: "is not a regular file; expected a system model file"}}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, diag.List{{File: path, Severity: diag.Error, Code: "unreadable", Message: cleanOSError(err)}}
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, diag.List{{File: path, Severity: diag.Error, Code: "unreadable", Message: "is a directory; expected a system model file"}}
	}
	// Read one byte past the limit so an oversized file is rejected without
	// reading all of it.
	b, err := io.ReadAll(io.LimitReader(f, lim.MaxBytes+1))
	if err != nil {
		return nil, diag.List{{File: path, Severity: diag.Error, Code: "unreadable", Message: cleanOSError(err)}}
	}
	if int64(len(b)) > lim.MaxBytes {
		size := int64(len(b))
		if fi, err := f.Stat(); err == nil {
			size = fi.Size()
		}
		return nil, diag.List{{File: path, Severity: diag.Error, Code: "too-large",
			Message: fmt.Sprintf("file is %d bytes, over the %d-byte limit for a system model", size, lim.MaxBytes)}}
	}
	return Load(path, b, lim)
}

func cleanOSError(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// Load parses and checks model content; file names it in diagnostics.
func Load(file string, b []byte, lim Limits) (*System, diag.List) {
	root, ds := parse(file, b, lim)
	if root == nil {
		return nil, ds
	}
	c := &checker{file: file, vocab: Kinds(), reported: map[string]bool{}}
	c.diags = ds
	if root.Kind != Map {
		c.errAt(root, "not-a-map", "", "expected a map with `mlthreat: 1` and `system:` at the top level, found a %s", shapeName(root))
		return nil, c.diags
	}
	// The structural check only reads the tree: run it beside the rest.
	shape := make(chan []shapeError, 1)
	sh, shErr := modelShape()
	if shErr == nil {
		go func() { shape <- sh.check(root, "", nil) }()
	}
	s := decode(file, root)
	c.keys(root)
	c.todos(root)
	c.props(s)
	c.semantics(s)
	if shErr != nil {
		c.errAt(root, "internal", "", "embedded schema does not compile: %v", shErr)
	} else {
		c.schema(<-shape)
	}
	c.diags.Sort()
	return s, c.diags
}

type checker struct {
	file     string
	vocab    *Vocabulary
	diags    diag.List
	reported map[string]bool // document paths already reported by a specific check
}

func (c *checker) add(sev diag.Severity, n *Node, code, path, format string, args ...any) {
	p := n.Pos()
	c.diags = append(c.diags, diag.Diagnostic{File: c.file, Line: p.Line, Col: p.Col, Severity: sev, Code: code, Path: path, Message: fmt.Sprintf(format, args...)})
	if path != "" {
		c.reported[path] = true
	}
}

func (c *checker) errAt(n *Node, code, path, format string, args ...any) {
	c.add(diag.Error, n, code, path, format, args...)
}

func (c *checker) warnAt(n *Node, code, path, format string, args ...any) {
	c.add(diag.Warning, n, code, path, format, args...)
}

func shapeName(n *Node) string {
	switch n.Kind {
	case Map:
		return "map"
	case Seq:
		return "list"
	}
	if n.Tag == "!!null" {
		return "null"
	}
	return "scalar " + strconv.Quote(n.Value)
}

// keys reports unknown structural keys with a suggestion.
func (c *checker) keys(root *Node) {
	knownKeys := map[string][]string{}
	// unknown reports whether a map has a key its section does not know;
	// only then are the names for the message worth building.
	unknown := func(n *Node, section string) bool {
		if n == nil || n.Kind != Map {
			return false
		}
		known, ok := knownKeys[section]
		if !ok {
			known = SectionByName(section).Keys()
			knownKeys[section] = known
		}
		for k := range n.Entries() {
			if !isExtension(k.Value) && !slices.Contains(known, k.Value) {
				return true
			}
		}
		return false
	}
	check := func(n *Node, section, where, path string) {
		if !unknown(n, section) {
			return
		}
		known := knownKeys[section]
		for k := range n.Entries() {
			if isExtension(k.Value) || slices.Contains(known, k.Value) {
				continue
			}
			p := joinPath(path, k.Value)
			msg := fmt.Sprintf("unknown key %q in %s", k.Value, where)
			if s := suggest.Closest(k.Value, known, 2); len(s) > 0 {
				msg += suggest.DidYouMean(s)
			} else {
				msg += "; expected one of " + strings.Join(known, ", ") + " (or an x- extension key)"
			}
			c.errAt(k, "unknown-key", p, "%s", msg)
		}
	}
	check(root, "top", "the top level", "")
	sys := root.Get("system")
	check(sys, "system", "system", "system")
	check(sys.Get("review"), "review", "system.review", "system.review")
	lists := []struct{ key, section, what string }{
		{"zones", "zone", "zone"}, {"components", "component", "component"}, {"flows", "flow", "flow"},
		{"data", "data", "data item"}, {"controls", "control", "control"}, {"threats", "threat", "threat"},
		{"risk_tracking", "decision", "risk_tracking entry"},
		{"governance", "practice", "governance entry"},
		{"approvals", "approval", "approval"},
	}
	if b := root.Get("business"); b != nil {
		check(b, "business", "business", "business")
		if l := b.Get("losses"); l != nil {
			check(l, "losses", "business.losses", "business.losses")
			if l.Kind == Map {
				for k, v := range l.Entries() {
					check(v, "range", "business.losses."+k.Value, "business.losses."+k.Value)
				}
			}
		}
		if f := b.Get("frequency"); f != nil && f.Kind == Seq {
			for i, it := range f.Items() {
				check(it, "frequency", "frequency hint", fmt.Sprintf("business.frequency[%d]", i))
			}
		}
	}
	if arts := sys.Get("artifacts"); arts != nil && arts.Kind == Seq {
		for i, it := range arts.Items() {
			check(it, "artifact", "artifact", fmt.Sprintf("system.artifacts[%d]", i))
		}
	}
	for _, l := range lists {
		list := root.Get(l.key)
		if list == nil || list.Kind != Seq {
			continue
		}
		for i, it := range list.Items() {
			if !unknown(it, l.section) {
				continue
			}
			where := l.what
			if id := it.Get("id").Str(); id != "" {
				where += " " + strconv.Quote(id)
			}
			check(it, l.section, where, fmt.Sprintf("%s[%d]", l.key, i))
		}
	}
}

// props checks each component's props against its kind: synonyms are
// normalised, unknown props warned about, bad values of known props reported.
func (c *checker) props(s *System) {
	for i, comp := range s.Components {
		spec := c.vocab.Kind(comp.Kind)
		if spec == nil {
			continue // the kind itself is reported by semantics
		}
		pn := comp.Node.Get("props")
		if pn == nil || pn.Kind != Map {
			continue
		}
		canon := map[string]any{}
		nodes := map[string]*Node{}
		for k, v := range pn.Entries() {
			if isExtension(k.Value) {
				continue
			}
			path := fmt.Sprintf("components[%d].props.%s", i, k.Value)
			ps, name := c.vocab.Prop(comp.Kind, k.Value)
			if ps == nil {
				msg := fmt.Sprintf("prop %q is not known for kind %s", k.Value, comp.Kind)
				if sug := suggest.Closest(k.Value, c.vocab.PropNames(comp.Kind), 2); len(sug) > 0 {
					msg += suggest.DidYouMean(sug)
				} else if others := c.vocab.KindsWithProp(k.Value); len(others) > 0 {
					msg += fmt.Sprintf(" (it is a prop of %s)", strings.Join(others, ", "))
				}
				msg += "; rules will not read it"
				c.warnAt(k, "unknown-prop", path, "%s", msg)
				canon[k.Value] = v.Any()
				nodes[k.Value] = v
				continue
			}
			if prev, dup := nodes[name]; dup {
				c.errAt(k, "duplicate-prop", path, "prop %q repeats %q (line %d): they are synonyms; keep one", k.Value, name, prev.Line)
				continue
			}
			c.propValue(v, ps, comp.Kind, path)
			canon[name] = v.Any()
			nodes[name] = v
		}
		comp.Props = canon
		comp.PropNodes = nodes
	}
}

func (c *checker) propValue(v *Node, ps *PropSpec, kind, path string) {
	bad := func(n *Node, format string, args ...any) {
		c.errAt(n, "bad-prop-value", path, "prop %s of kind %s: %s", ps.Name, kind, fmt.Sprintf(format, args...))
	}
	enumCheck := func(n *Node) {
		if n.Kind != Scalar || n.Tag == "!!null" {
			bad(n, "expected one of %s, found %s", strings.Join(ps.Values, ", "), shapeName(n))
			return
		}
		if slices.Contains(ps.Values, n.Value) {
			return
		}
		msg := fmt.Sprintf("%q is not allowed", n.Value)
		if sug := suggest.Closest(n.Value, ps.Values, 2); len(sug) > 0 {
			msg += suggest.DidYouMean(sug)
		}
		bad(n, "%s; expected one of %s", msg, strings.Join(ps.Values, ", "))
	}
	switch ps.Type {
	case TypeEnum:
		enumCheck(v)
	case TypeEnumList:
		if v.Kind == Seq {
			for _, it := range v.Items() {
				enumCheck(it)
			}
		} else {
			enumCheck(v)
		}
	case TypeString:
		if v.Kind != Scalar || v.Tag == "!!null" {
			bad(v, "expected text, found %s", shapeName(v))
		}
	case TypeStringList:
		if v.Kind == Map {
			bad(v, "expected text or a list of text, found a map")
		}
		for _, it := range v.Items() {
			if it.Kind != Scalar {
				bad(it, "expected text, found %s", shapeName(it))
			}
		}
	case TypeBool:
		if v.Kind != Scalar || v.Tag != "!!bool" {
			bad(v, "expected true or false, found %s", shapeName(v))
		}
	case TypeInt, TypeNumber:
		ok := v.Kind == Scalar && (v.Tag == "!!int" || (ps.Type == TypeNumber && v.Tag == "!!float"))
		if !ok {
			want := "a whole number"
			if ps.Type == TypeNumber {
				want = "a number"
			}
			bad(v, "expected %s, found %s", want, shapeName(v))
			return
		}
		f, _ := strconv.ParseFloat(fmt.Sprint(v.Any()), 64)
		if ps.Min != nil && f < *ps.Min {
			bad(v, "%s is below the minimum %g", v.Value, *ps.Min)
		}
		if ps.Max != nil && f > *ps.Max {
			bad(v, "%s is above the maximum %g", v.Value, *ps.Max)
		}
	case TypeDate:
		if _, err := time.Parse("2006-01-02", v.Str()); err != nil {
			bad(v, "expected a date YYYY-MM-DD, found %s", shapeName(v))
		}
	}
}

// kindSynonyms answer common wrong kind names with the right one.
var kindSynonyms = map[string]string{
	"database": "datastore", "db": "datastore", "storage": "datastore", "log": "datastore", "logs": "datastore", "logging": "datastore",
	"api": "inference-api", "endpoint": "inference-api", "rest-api": "inference-api", "serving": "inference-api", "model-server": "inference-api",
	"user": "actor", "users": "actor", "client": "actor", "human": "actor", "attacker": "actor",
	"vector-db": "vector-store", "vectordb": "vector-store", "vector-database": "vector-store", "embeddings": "vector-store",
	"rag": "retriever", "search": "retriever", "registry": "model-registry", "pipeline": "data-pipeline", "etl": "data-pipeline",
	"llm-api": "llm", "foundation-model": "llm", "chatbot": "application", "plugin": "tool", "function": "tool",
	"mcp": "mcp-server", "library": "dependency", "package": "dependency", "gpu": "compute", "cluster": "compute",
	"classifier": "model", "ml-model": "model", "preprocessor": "preprocessing", "postprocessor": "postprocessing",
	"filter": "guardrail", "moderation": "guardrail", "system-prompt": "prompt", "labelling": "labeling", "annotation": "labeling",
	"training-job": "training", "trainer": "training", "fine-tuning": "training", "jupyter": "notebook", "mlflow": "experiment-tracking",
	"pipeline-ci": "ci-cd", "ci": "ci-cd", "cicd": "ci-cd", "iot": "edge-device", "camera": "sensor", "source": "data-source",
	"human-feedback": "feedback", "rlhf": "feedback", "monitor": "monitoring", "observability": "monitoring",
	"web-app": "application", "frontend": "application", "app": "application", "features": "feature-store",
}

// synonymKind maps a wrong kind name, or a typo of one, to the right kind.
func synonymKind(k string) string {
	k = strings.ToLower(k)
	if alt, ok := kindSynonyms[k]; ok {
		return alt
	}
	best, bestD := "", 3
	for syn, alt := range kindSynonyms {
		if len(syn) < 5 {
			continue
		}
		if d := suggest.Distance(k, syn); d < bestD || (d == bestD && alt < best) {
			best, bestD = alt, d
		}
	}
	return best
}

// validID and validSlug match patternID and patternSlug, as the regular
// expressions do (TestIDMatchers), at a fraction of the cost: a large model
// has tens of thousands of ids.
func validID(s string) bool { return idLike(s, 128, false) }

func validSlug(s string) bool { return idLike(s, 64, true) }

func idLike(s string, max int, lower bool) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z':
		case c >= 'A' && c <= 'Z' && !lower:
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// semantics checks what the schema cannot: uniqueness, references, self-flows.
func (c *checker) semantics(s *System) {
	root := s.Root
	if sys := root.Get("system"); sys != nil && sys.Kind == Map {
		if id := sys.Get("id"); id != nil && id.Kind == Scalar && id.Value != "" && !validSlug(id.Value) {
			c.errAt(id, "bad-id", "system.id", "system id %q must be a slug: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64 characters", id.Value)
		}
	}

	// One namespace for zones, components and flows: controls and threats may
	// point at any of them.
	type owner struct {
		what string
		n    *Node
	}
	elements := make(map[string]owner, len(s.Zones)+len(s.Components)+len(s.Flows))
	claim := func(id, what, list string, i int, n *Node) {
		idn := n.Get("id")
		if id == "" || idn == nil {
			return
		}
		if !validID(id) {
			c.errAt(idn, "bad-id", fmt.Sprintf("%s[%d].id", list, i), "%s id %q is malformed: use letters, digits, '.', '_' or '-', starting with a letter or digit (at most 128 characters)", what, id)
			return
		}
		if prev, ok := elements[id]; ok {
			c.errAt(idn, "duplicate-id", fmt.Sprintf("%s[%d].id", list, i), "duplicate id %q: already used by the %s at line %d", id, prev.what, prev.n.Line)
			return
		}
		elements[id] = owner{what, n}
	}
	for i, z := range s.Zones {
		claim(z.ID, "zone", "zones", i, z.Node)
	}
	for i, comp := range s.Components {
		claim(comp.ID, "component", "components", i, comp.Node)
	}
	for i, f := range s.Flows {
		claim(f.ID, "flow", "flows", i, f.Node)
	}
	uniq := func(what, key string, ids []string, nodes []*Node) {
		seen := map[string]*Node{}
		for i, id := range ids {
			if id == "" {
				continue
			}
			idn := nodes[i].Get("id")
			if !validID(id) {
				c.errAt(idn, "bad-id", fmt.Sprintf("%s[%d].id", key, i), "%s id %q is malformed: use letters, digits, '.', '_' or '-', starting with a letter or digit", what, id)
				continue
			}
			if prev, ok := seen[id]; ok {
				c.errAt(idn, "duplicate-id", fmt.Sprintf("%s[%d].id", key, i), "duplicate %s id %q (first at line %d)", what, id, prev.Line)
				continue
			}
			seen[id] = nodes[i]
		}
	}
	var ids []string
	var nodes []*Node
	for _, d := range s.Data {
		ids, nodes = append(ids, d.ID), append(nodes, d.Node)
	}
	uniq("data", "data", ids, nodes)
	ids, nodes = nil, nil
	for _, x := range s.Controls {
		ids, nodes = append(ids, x.ID), append(nodes, x.Node)
	}
	uniq("control", "controls", ids, nodes)
	ids, nodes = nil, nil
	for _, x := range s.Threats {
		ids, nodes = append(ids, x.ID), append(nodes, x.Node)
	}
	uniq("threat", "threats", ids, nodes)

	// The id lists are for suggestions in messages; most models need none.
	zoneIDs := sync.OnceValue(func() []string {
		out := make([]string, 0, len(s.Zones))
		for _, z := range s.Zones {
			out = append(out, z.ID)
		}
		return out
	})
	compIDs := sync.OnceValue(func() []string {
		out := make([]string, 0, len(s.Components))
		for _, comp := range s.Components {
			out = append(out, comp.ID)
		}
		return out
	})
	elementIDs := sync.OnceValue(func() []string {
		out := make([]string, 0, len(elements))
		for id := range elements {
			out = append(out, id)
		}
		sort.Strings(out)
		return out
	})
	dataIDs := sync.OnceValue(func() []string {
		out := make([]string, 0, len(s.Data))
		for _, d := range s.Data {
			out = append(out, d.ID)
		}
		return out
	})

	comps := make(map[string]*Component, len(s.Components))
	for _, comp := range s.Components {
		comps[comp.ID] = comp
	}
	zones := make(map[string]bool, len(s.Zones))
	for _, z := range s.Zones {
		zones[z.ID] = true
	}
	datas := make(map[string]bool, len(s.Data))
	for _, d := range s.Data {
		datas[d.ID] = true
	}
	kinds := c.vocab.KindNames()
	for i, comp := range s.Components {
		path := func() string { return fmt.Sprintf("components[%d]", i) }
		if kn := comp.Node.Get("kind"); kn != nil && kn.Kind == Scalar && comp.Kind != "" && c.vocab.Kind(comp.Kind) == nil {
			msg := fmt.Sprintf("unknown component kind %q", comp.Kind)
			sug := suggest.Closest(comp.Kind, kinds, 2)
			if alt := synonymKind(comp.Kind); alt != "" {
				sug = append([]string{alt}, without(sug, alt)...)
			}
			if len(sug) > 0 {
				msg += suggest.DidYouMean(sug)
			} else {
				msg += "; run `mlthreat kinds` or see docs/model.md for the 32 kinds"
			}
			c.errAt(kn, "unknown-kind", path()+".kind", "%s", msg)
		}
		if zn := comp.Node.Get("zone"); zn != nil && comp.Zone != "" {
			if !zones[comp.Zone] {
				c.errAt(zn, "unknown-zone", path()+".zone", "component %q is in unknown zone %q%s", comp.ID, comp.Zone, refHint(comp.Zone, zoneIDs(), "zones"))
			}
		} else if len(s.Zones) > 0 && comp.ID != "" {
			c.warnAt(comp.Node, "no-zone", path()+".zone", "component %q has no zone; reachability treats it as internal", comp.ID)
		}
	}
	for i, f := range s.Flows {
		path := func() string { return fmt.Sprintf("flows[%d]", i) }
		for _, end := range []struct{ key, val string }{{"from", f.From}, {"to", f.To}} {
			n := f.Node.Get(end.key)
			if n == nil || end.val == "" {
				continue
			}
			if comps[end.val] == nil {
				what := "missing component"
				if zones[end.val] {
					what = "zone, not a component"
				}
				c.errAt(n, "dangling-ref", path()+"."+end.key, "flow %q: %s %q is a %s%s", f.ID, end.key, end.val, what, refHint(end.val, compIDs(), "components"))
			}
		}
		if f.From != "" && f.From == f.To {
			c.errAt(f.Node.Get("to"), "self-flow", path()+".to", "flow %q goes from component %q to itself; model the internal step as its own component", f.ID, f.From)
		}
		if dn := f.Node.Get("data"); dn != nil {
			for j, d := range dn.Strings() {
				if datas[d] {
					continue
				}
				at := dn
				if items := dn.Items(); j < len(items) {
					at = items[j]
				}
				if len(s.Data) == 0 {
					c.warnAt(at, "undeclared-data", path()+".data", "flow %q carries %q, which is not declared under data:; declare it to give it a classification", f.ID, d)
				} else {
					c.errAt(at, "dangling-ref", fmt.Sprintf("%s.data[%d]", path(), j), "flow %q carries unknown data %q%s", f.ID, d, refHint(d, dataIDs(), "data"))
				}
			}
		}
	}
	refList := func(n *Node, path, owner, key string) {
		if n == nil || n.Kind != Seq {
			return
		}
		for j, it := range n.Items() {
			if it.Kind != Scalar || it.Value == "" {
				continue
			}
			if _, ok := elements[it.Value]; !ok {
				c.errAt(it, "dangling-ref", fmt.Sprintf("%s.%s[%d]", path, key, j), "%s: %s names %q, which is no component, flow or zone%s", owner, key, it.Value, refHint(it.Value, elementIDs(), ""))
			}
		}
	}
	for i, ctl := range s.Controls {
		refList(ctl.Node.Get("applies_to"), fmt.Sprintf("controls[%d]", i), fmt.Sprintf("control %q", ctl.ID), "applies_to")
	}
	for i, t := range s.Threats {
		refList(t.Node.Get("targets"), fmt.Sprintf("threats[%d]", i), fmt.Sprintf("threat %q", t.ID), "targets")
	}
	today := time.Now().UTC().Format("2006-01-02")
	for i, d := range s.RiskTracking {
		path := fmt.Sprintf("risk_tracking[%d]", i)
		if d.Status == "accepted" && d.Node.Get("until") == nil {
			c.warnAt(d.Node, "no-expiry", path+".until", "accepted risk %s has no `until` date; acceptances should expire and be reviewed", d.Threat)
		}
		if d.Until != "" && isDate(d.Until) && d.Until < today {
			c.warnAt(d.Node.Get("until"), "expired", path+".until", "decision on %s expired on %s; review it again", d.Threat, d.Until)
		}
	}
	seenPractice := map[string]*Node{}
	for i, p := range s.Governance {
		path := fmt.Sprintf("governance[%d]", i)
		if prev, ok := seenPractice[p.Practice]; ok && p.Practice != "" {
			c.errAt(p.Node.Get("practice"), "duplicate-id", path+".practice", "practice %q is declared twice (first at line %d); merge the entries", p.Practice, prev.Line)
		} else {
			seenPractice[p.Practice] = p.Node
		}
		if p.LastPerformed != "" && isDate(p.LastPerformed) && p.LastPerformed > today {
			c.errAt(p.Node.Get("last_performed"), "future-date", path+".last_performed", "last_performed %s is in the future (today is %s)", p.LastPerformed, today)
		}
	}
	for i, d := range s.RiskTracking {
		if d.Status == "" && d.Node.Get("status") == nil && d.Register == "" {
			c.errAt(d.Node, "schema", fmt.Sprintf("risk_tracking[%d]", i), "risk_tracking[%d]: missing `status` (or `register`, to only link a risk-register id)", i)
		}
	}
	c.business(s)
	seenPath := map[string]*Node{}
	for i, a := range s.Info.Artifacts {
		path := fmt.Sprintf("system.artifacts[%d]", i)
		if prev, ok := seenPath[a.Path]; ok && a.Path != "" {
			c.errAt(a.Node.Get("path"), "duplicate-id", path+".path", "artifact %q is pinned twice (first at line %d)", a.Path, prev.Line)
		} else {
			seenPath[a.Path] = a.Node
		}
	}
	for i, a := range s.Approvals {
		path := fmt.Sprintf("approvals[%d]", i)
		if a.Decision == "approved" && a.Node.Get("until") == nil {
			c.errAt(a.Node, "no-expiry", path+".until", "approval by %s has no `until` date; an approval must expire", a.By)
		}
		if a.Until != "" && a.Date != "" && isDate(a.Until) && isDate(a.Date) && a.Until < a.Date {
			c.errAt(a.Node.Get("until"), "bad-date", path+".until", "approval expires (%s) before it was given (%s)", a.Until, a.Date)
		}
		if a.Date != "" && isDate(a.Date) && a.Date > today {
			c.errAt(a.Node.Get("date"), "future-date", path+".date", "approval date %s is in the future (today is %s)", a.Date, today)
		}
	}
	if r := s.Info.Review; r.Date != "" && r.Next != "" && isDate(r.Date) && isDate(r.Next) && r.Next < r.Date {
		c.errAt(root.Get("system").Get("review").Get("next"), "bad-date", "system.review.next", "next review %s is before the last review %s", r.Next, r.Date)
	}
}

// business checks the loss model: ranges in order, a known currency, and
// frequency hints that name exactly one thing.
func (c *checker) business(s *System) {
	b := s.Business
	if b == nil {
		return
	}
	if b.Currency != "" && !IsCurrency(b.Currency) {
		c.errAt(b.Node.Get("currency"), "currency", "business.currency", "unknown currency %q; expected an ISO 4217 code such as USD, EUR or GBP%s", b.Currency, refHint(b.Currency, Currencies, ""))
	}
	checkRange := func(r LossRange, path string) {
		switch {
		case r.Min > r.Max:
			c.errAt(r.Node, "range", path, "%s: min %g is greater than max %g", path, r.Min, r.Max)
		case r.Likely < r.Min || r.Likely > r.Max:
			c.errAt(r.Node.Get("likely"), "range", path+".likely", "%s: most likely %g is outside min %g .. max %g", path, r.Likely, r.Min, r.Max)
		case r.Shape == "lognormal" && r.Min <= 0:
			c.errAt(r.Node.Get("min"), "range", path+".min", "%s: a lognormal range needs min above 0", path)
		}
	}
	for _, k := range sortedKeys(b.Losses) {
		checkRange(b.Losses[k], "business.losses."+k)
	}
	for i, f := range b.Frequency {
		path := fmt.Sprintf("business.frequency[%d]", i)
		n := 0
		for _, v := range []string{f.Threat, f.Technique, f.Tactic} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			c.errAt(f.Range.Node, "frequency", path, "%s: name exactly one of `threat`, `technique` or `tactic`", path)
		}
		checkRange(f.Range, path)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func isDate(s string) bool {
	_, err := time.Parse("2006-01-02", s)
	return err == nil
}

func refHint(v string, known []string, section string) string {
	if sug := suggest.Closest(v, known, 2); len(sug) > 0 {
		return suggest.DidYouMean(sug)
	}
	if section != "" && len(known) == 0 {
		return "; the file declares no " + section
	}
	return ""
}

func without(list []string, v string) []string {
	var out []string
	for _, x := range list {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

func joinPath(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

// WarmUp compiles the structural schema; call it early, in a goroutine, so
// that the first Load does not wait for it.
func WarmUp() { _, _ = modelShape() }

// schema reports the structural errors (what the format's JSON Schema
// describes, found by the shape check) that the specific checks above did
// not already cover.
func (c *checker) schema(errs []shapeError) {
	seen := map[string]bool{}
	for _, e := range errs {
		if c.suppressed(e.path) {
			continue
		}
		where := e.path
		if where == "" {
			where = "top level"
		}
		line := where + ": " + e.msg
		if seen[line] {
			continue
		}
		seen[line] = true
		p := e.node.Pos()
		c.diags = append(c.diags, diag.Diagnostic{File: c.file, Line: p.Line, Col: p.Col, Severity: diag.Error, Code: "schema", Path: e.path, Message: line})
	}
}

// suppressed reports whether a structural error at path is already covered:
// props() words props errors with the kind and a suggestion, x- keys are
// free, and a path a specific check reported needs no second message.
func (c *checker) suppressed(path string) bool {
	parts := strings.Split(path, ".")
	if len(parts) >= 2 && strings.HasPrefix(parts[0], "components[") && parts[1] == "props" {
		return true
	}
	for _, p := range parts {
		if strings.HasPrefix(p, "x-") {
			return true
		}
	}
	for p := path; p != ""; p = parentPath(p) {
		if c.reported[p] {
			return true
		}
	}
	return false
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func quoteAll(v []string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

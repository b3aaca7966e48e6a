package ingest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Merge adds to the model text b what m knows and b lacks: new components,
// flows and data by identity, props that are missing, new artifacts. It never
// changes or drops what is there; a conflicting value is kept and reported as
// a warning ("file:line:col: warning: ..."). Comments survive where yaml.v3
// keeps them. Elements that already exist get no new x-todo entries.
func Merge(file string, b []byte, m *Model) ([]byte, []string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, nil, fmt.Errorf("%s: %v", file, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("%s: not a system model (expected a map at the top level)", file)
	}
	mg := &merger{file: file, root: doc.Content[0], ids: ids{}, idmap: map[string]string{}}
	gen := Node(m)
	mg.collectIDs()
	mg.system(get(gen, "system"))
	mg.components(get(gen, "components"))
	mg.flows(get(gen, "flows"))
	mg.data(get(gen, "data"))
	return marshal(&doc), mg.warnings, nil
}

type merger struct {
	file     string
	root     *yaml.Node
	ids      ids               // zone, component and flow ids in use
	idmap    map[string]string // generated component id -> id in the file
	warnings []string
}

func (mg *merger) warn(n *yaml.Node, format string, args ...any) {
	mg.warnings = append(mg.warnings, fmt.Sprintf("%s:%d:%d: warning: %s", mg.file, n.Line, n.Column, fmt.Sprintf(format, args...)))
}

// deref follows aliases, which the merge reads but never writes through.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func get(m *yaml.Node, key string) *yaml.Node {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func text(n *yaml.Node) string {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// section returns the top-level list key, creating it when missing; nil
// when the key holds something else.
func (mg *merger) section(key string) *yaml.Node {
	n := get(mg.root, key)
	if n == nil {
		n = seq()
		add(mg.root, key, n)
		return n
	}
	if n.Kind != yaml.SequenceNode {
		mg.warn(n, "%s is not a list; nothing was added to it", key)
		return nil
	}
	return n
}

func (mg *merger) collectIDs() {
	for _, key := range []string{"zones", "components", "flows"} {
		for _, it := range items(get(mg.root, key)) {
			if id := text(get(it, "id")); id != "" {
				mg.ids[id] = true
			}
		}
	}
}

func items(n *yaml.Node) []*yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

func (mg *merger) system(gen *yaml.Node) {
	sys := get(mg.root, "system")
	if sys == nil {
		add(mg.root, "system", gen)
		return
	}
	if sys.Kind != yaml.MappingNode {
		return
	}
	var added []string
	for i := 0; i+1 < len(gen.Content); i += 2 {
		k, v := gen.Content[i].Value, gen.Content[i+1]
		have := get(sys, k)
		switch {
		case k == "x-todo" || k == "x-source":
		case k == "artifacts" && have != nil:
			mg.artifacts(have, v)
		case have == nil:
			add(sys, k, v)
			added = append(added, k)
		}
	}
	mg.sources(sys, get(gen, "x-source"), added)
}

func (mg *merger) artifacts(have, gen *yaml.Node) {
	if have.Kind != yaml.SequenceNode {
		return
	}
	for _, a := range gen.Content {
		path, sum := text(get(a, "path")), text(get(a, "sha256"))
		found := false
		for _, h := range have.Content {
			if text(get(h, "path")) != path {
				continue
			}
			found = true
			if s := get(h, "sha256"); s != nil && text(s) != sum {
				mg.warn(s, "artifact %s has changed since it was pinned (now sha256 %s); kept the pin: review the model, then update it", path, sum)
			}
		}
		if !found {
			have.Content = append(have.Content, a)
		}
	}
}

// sources copies the x-source entries of the keys that were added.
func (mg *merger) sources(into, gen *yaml.Node, keys []string) {
	if gen == nil || len(keys) == 0 {
		return
	}
	xs := get(into, "x-source")
	if xs == nil {
		xs = mapping()
		for _, k := range keys {
			if v := get(gen, k); v != nil {
				add(xs, k, v)
			}
		}
		if len(xs.Content) > 0 {
			add(into, "x-source", xs)
		}
		return
	}
	if xs.Kind != yaml.MappingNode {
		return
	}
	for _, k := range keys {
		if v := get(gen, k); v != nil && get(xs, k) == nil {
			add(xs, k, v)
		}
	}
}

// match finds the component in the file that a generated one describes: by
// id and kind, by kind and name, or by a shared x-source.
func (mg *merger) match(existing []*yaml.Node, c *yaml.Node) *yaml.Node {
	kind, id, name := text(get(c, "kind")), text(get(c, "id")), normName(text(get(c, "name")))
	srcs := sourceList(get(c, "x-source"))
	for _, pass := range []func(e *yaml.Node) bool{
		func(e *yaml.Node) bool { return text(get(e, "id")) == id && text(get(e, "kind")) == kind },
		func(e *yaml.Node) bool {
			return name != "" && text(get(e, "kind")) == kind && normName(text(get(e, "name"))) == name
		},
		func(e *yaml.Node) bool {
			for _, s := range sourceList(get(e, "x-source")) {
				if slices.Contains(srcs, s) {
					return true
				}
			}
			return false
		},
	} {
		for _, e := range existing {
			if deref(e) != nil && deref(e).Kind == yaml.MappingNode && pass(e) {
				return e
			}
		}
	}
	return nil
}

func sourceList(n *yaml.Node) []string {
	n = deref(n)
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	var out []string
	for _, it := range items(n) {
		if s := text(it); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (mg *merger) components(gen *yaml.Node) {
	list := mg.section("components")
	if list == nil || gen == nil {
		return
	}
	existing := slices.Clone(list.Content)
	for _, c := range gen.Content {
		gid := text(get(c, "id"))
		if e := mg.match(existing, c); e != nil {
			mg.idmap[gid] = text(get(e, "id"))
			if e.Kind == yaml.AliasNode {
				mg.warn(e, "component %s is an alias; nothing was added to it", text(get(e, "id")))
				continue
			}
			mg.component(e, c)
			continue
		}
		id := mg.ids.take(gid, "component")
		mg.idmap[gid] = id
		setValue(c, "id", id)
		mg.askZone(c)
		list.Content = append(list.Content, c)
	}
}

// askZone adds a TODO for the zone of a new component when the file has
// zones, since the metadata cannot know them.
func (mg *merger) askZone(c *yaml.Node) {
	var zones []string
	for _, z := range items(get(mg.root, "zones")) {
		if id := text(get(z, "id")); id != "" {
			zones = append(zones, id)
		}
	}
	if len(zones) == 0 || get(c, "zone") != nil {
		return
	}
	q := str("zone: which trust zone does it sit in (" + strings.Join(zones, ", ") + ")?")
	if t := get(c, "x-todo"); t != nil && t.Kind == yaml.SequenceNode {
		t.Content = append([]*yaml.Node{q}, t.Content...)
		return
	}
	n := seq()
	n.Content = []*yaml.Node{q}
	// Keep x-todo beside the element keys, before props.
	for i := 0; i+1 < len(c.Content); i += 2 {
		if c.Content[i].Value == "props" {
			c.Content = append(c.Content[:i], append([]*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: "x-todo"}, n}, c.Content[i:]...)...)
			return
		}
	}
	add(c, "x-todo", n)
}

// component fills in what an existing component lacks.
func (mg *merger) component(e, gen *yaml.Node) {
	id := text(get(e, "id"))
	for _, k := range []string{"name", "description", "exposure"} {
		v := get(gen, k)
		if v == nil {
			continue
		}
		switch have := get(e, k); {
		case have == nil:
			add(e, k, v)
		case k == "exposure" && text(have) != text(v):
			mg.warn(have, "component %s: exposure is %q; the metadata says %q; kept yours", id, text(have), text(v))
		}
	}
	if get(e, "x-source") == nil && get(gen, "x-source") != nil {
		add(e, "x-source", get(gen, "x-source"))
	}
	gp := get(gen, "props")
	if gp == nil {
		return
	}
	ep := get(e, "props")
	if ep == nil {
		ep = mapping()
		add(e, "props", ep)
	}
	if ep.Kind != yaml.MappingNode {
		mg.warn(ep, "component %s: props is not a map; no props were added", id)
		return
	}
	var added []string
	for i := 0; i+1 < len(gp.Content); i += 2 {
		k, v := gp.Content[i].Value, gp.Content[i+1]
		if k == "x-source" {
			continue
		}
		have, name := propNode(ep, text(get(e, "kind")), k)
		if have == nil {
			add(ep, k, v)
			added = append(added, k)
			continue
		}
		if !sameValue(have, v) {
			mg.warn(have, "component %s: prop %s is %s; %s says %s; kept yours", id, name, show(have), text(get(get(gp, "x-source"), k)), show(v))
		}
	}
	if len(added) > 0 && ep.Style&yaml.FlowStyle != 0 {
		// A one-line {a: b} map grows unreadable: show it as a block, its
		// line comment after the key.
		ep.Style &^= yaml.FlowStyle
		if k := keyNode(e, "props"); k != nil && k.LineComment == "" {
			k.LineComment, ep.LineComment = ep.LineComment, ""
		}
	}
	mg.sources(ep, get(gp, "x-source"), added)
}

// propNode finds a prop by its name or any of its synonyms.
func propNode(props *yaml.Node, kind, name string) (*yaml.Node, string) {
	for i := 0; i+1 < len(props.Content); i += 2 {
		k := props.Content[i].Value
		if k == name || canonicalProp(kind, k) == name {
			return props.Content[i+1], k
		}
	}
	return nil, name
}

func sameValue(a, b *yaml.Node) bool {
	a, b = deref(a), deref(b)
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind == yaml.ScalarNode && b.Kind == yaml.ScalarNode {
		return a.Value == b.Value
	}
	if a.Kind == yaml.SequenceNode && b.Kind == yaml.SequenceNode {
		var x, y []string
		for _, n := range a.Content {
			x = append(x, text(n))
		}
		for _, n := range b.Content {
			y = append(y, text(n))
		}
		slices.Sort(x)
		slices.Sort(y)
		return slices.Equal(x, y)
	}
	return false
}

func show(n *yaml.Node) string {
	n = deref(n)
	if n == nil {
		return "nothing"
	}
	if n.Kind == yaml.ScalarNode {
		return fmt.Sprintf("%q", n.Value)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	c := *n
	c.Style = yaml.FlowStyle
	if enc.Encode(&c) != nil {
		return "a " + map[yaml.Kind]string{yaml.SequenceNode: "list", yaml.MappingNode: "map"}[n.Kind]
	}
	return strings.TrimSpace(buf.String())
}

func keyNode(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i]
		}
	}
	return nil
}

func setValue(m *yaml.Node, key, v string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = str(v)
			return
		}
	}
}

func (mg *merger) flows(gen *yaml.Node) {
	if gen == nil {
		return
	}
	list := mg.section("flows")
	if list == nil {
		return
	}
	for _, f := range gen.Content {
		from, to := mg.idmap[text(get(f, "from"))], mg.idmap[text(get(f, "to"))]
		if from == "" || to == "" {
			continue
		}
		var have *yaml.Node
		for _, e := range list.Content {
			if text(get(e, "from")) == from && text(get(e, "to")) == to {
				have = e
				break
			}
		}
		if have != nil {
			continue
		}
		setValue(f, "from", from)
		setValue(f, "to", to)
		setValue(f, "id", mg.ids.next("f"))
		list.Content = append(list.Content, f)
	}
}

func (mg *merger) data(gen *yaml.Node) {
	if gen == nil {
		return
	}
	// Only data that a flow in the file now carries is worth declaring.
	used := map[string]bool{}
	for _, f := range items(get(mg.root, "flows")) {
		for _, d := range sourceList(get(f, "data")) {
			used[d] = true
		}
	}
	var news []*yaml.Node
	have := map[string]bool{}
	for _, d := range items(get(mg.root, "data")) {
		have[text(get(d, "id"))] = true
	}
	for _, d := range gen.Content {
		id := text(get(d, "id"))
		if !have[id] && used[id] {
			news = append(news, d)
		}
	}
	if len(news) == 0 {
		return
	}
	if list := mg.section("data"); list != nil {
		list.Content = append(list.Content, news...)
	}
}

package analysis

import (
	"runtime"
	"sort"
	"sync"

	"github.com/mlthreat/mlthreat/internal/model"
)

var classRank = map[string]int{"public": 1, "internal": 2, "confidential": 3, "restricted": 4}

// props returns a component's props with every known prop of its kind filled
// in: text as "", lists as [], booleans as false. A missing fact is treated as
// "not in place", the cautious reading; `set` lists what the model states.
func (e *evaluator) props(c *model.Component) (map[string]any, []string) {
	if i, ok := e.g.index[c.ID]; ok && e.propsOf != nil && e.g.comps[i] == c {
		p := e.propsOf[i]
		return p.props, p.set
	}
	p := computeProps(c)
	return p.props, p.set
}

// precompute fills every component's props and end view, on all cores:
// evaluation then only reads them.
func (e *evaluator) precompute() {
	n := len(e.g.comps)
	props := make([]propsEntry, n)
	ends := make([]map[string]any, n)
	workers := min(runtime.GOMAXPROCS(0), max(1, n/256))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				c := e.g.comps[i]
				props[i] = computeProps(c)
				ends[i] = map[string]any{"id": c.ID, "kind": c.Kind, "zone": c.Zone, "trust": e.g.trust[i], "exposure": e.g.expo[i], "props": props[i].props}
			}
		})
	}
	wg.Wait()
	e.propsOf, e.endsOf = props, ends
}

func computeProps(c *model.Component) propsEntry {
	k := kindDefaultsFor(c.Kind)
	out := make(map[string]any, len(k.defaults)+len(c.Props))
	for name, v := range k.defaults {
		out[name] = v
	}
	set := make([]string, 0, len(c.Props))
	for name, val := range c.Props {
		set = append(set, name)
		switch k.types[name] {
		case model.TypeEnumList, model.TypeStringList:
			if s, ok := val.(string); ok {
				val = []any{s}
			}
		case model.TypeInt:
			val = toInt(val)
		case model.TypeNumber:
			val = toFloat(val)
		case model.TypeEnum:
			if val == "unknown" {
				val = "" // stated as unknown reads like not stated
			}
		}
		out[name] = val
	}
	sort.Strings(set)
	return propsEntry{out, set}
}

// kindDefaults are a kind's prop defaults and types, computed once.
type kindDefaults struct {
	defaults map[string]any
	types    map[string]string
}

var (
	defaultsMu sync.Mutex
	defaultsBy = map[string]*kindDefaults{}
)

func kindDefaultsFor(kind string) *kindDefaults {
	defaultsMu.Lock()
	defer defaultsMu.Unlock()
	if k, ok := defaultsBy[kind]; ok {
		return k
	}
	k := &kindDefaults{defaults: map[string]any{}, types: map[string]string{}}
	v := model.Kinds()
	if spec := v.Kind(kind); spec != nil {
		for _, p := range append(append([]model.PropSpec{}, spec.Props...), v.Common...) {
			k.types[p.Name] = p.Type
			switch p.Type {
			case model.TypeEnumList, model.TypeStringList:
				k.defaults[p.Name] = []any{}
			case model.TypeBool:
				k.defaults[p.Name] = false
			case model.TypeInt, model.TypeNumber:
				k.defaults[p.Name] = int64(-1)
			default:
				k.defaults[p.Name] = ""
			}
		}
	}
	defaultsBy[kind] = k
	return k
}

func toInt(v any) any {
	switch x := v.(type) {
	case interface{ Int64() (int64, error) }:
		if i, err := x.Int64(); err == nil {
			return i
		}
	}
	return v
}

func toFloat(v any) any {
	switch x := v.(type) {
	case interface{ Float64() (float64, error) }:
		if f, err := x.Float64(); err == nil {
			return f
		}
	}
	return v
}

func (e *evaluator) systemVars() map[string]any {
	if e.sysVars != nil {
		return e.sysVars
	}
	platforms := []any{}
	for _, p := range e.sys.Info.Platforms {
		platforms = append(platforms, p)
	}
	e.sysVars = map[string]any{"id": e.sys.Info.ID, "criticality": e.sys.Info.Criticality, "platforms": platforms}
	return e.sysVars
}

// dataVars lists the data items on the given flows, highest classification and PII.
func (e *evaluator) dataVars(flows ...[]*model.Flow) ([]map[string]any, string, bool) {
	seen := map[string]bool{}
	list := []map[string]any{}
	top, pii := "", false
	for _, fs := range flows {
		for _, f := range fs {
			for _, id := range f.Data {
				if seen[id] {
					continue
				}
				seen[id] = true
				d := e.data[id]
				item := e.dataItems[id]
				if item == nil {
					item = map[string]any{"id": id, "classification": "", "pii": false}
				}
				if d != nil {
					if classRank[d.Classification] > classRank[top] {
						top = d.Classification
					}
					pii = pii || d.PII
				}
				list = append(list, item)
			}
		}
	}
	return list, top, pii
}

// flowData is dataVars for one flow, without the bookkeeping.
func (e *evaluator) flowData(f *model.Flow) ([]map[string]any, string, bool) {
	list := make([]map[string]any, 0, len(f.Data))
	top, pii := "", false
	for _, id := range f.Data {
		item := e.dataItems[id]
		if item == nil {
			item = map[string]any{"id": id, "classification": "", "pii": false}
		}
		if d := e.data[id]; d != nil {
			if classRank[d.Classification] > classRank[top] {
				top = d.Classification
			}
			pii = pii || d.PII
		}
		list = append(list, item)
	}
	return list, top, pii
}

// ctx is the element's facts map; the graph fills every fact, so rules can
// read any of them. It is shared, never modified after the graph is built.
func (e *evaluator) ctx(id string) map[string]bool {
	return e.g.facts(id)
}

// The *Vars functions fill m, a map a worker reuses from one element to the
// next: nothing keeps it once the element's rules have run.

func (e *evaluator) componentVars(m map[string]any, c *model.Component) {
	props, set := e.props(c)
	data, cls, pii := e.dataVars(e.g.inOf(c.ID), e.g.outOf(c.ID))
	if c.Kind == "datastore" || c.Kind == "dataset" || c.Kind == "vector-store" {
		if p, _ := props["pii"].(bool); p {
			pii = true
		}
	}
	name := c.Name
	if name == "" {
		name = c.ID
	}
	m["id"], m["name"], m["kind"], m["exposure"], m["zone"], m["trust"] = c.ID, name, c.Kind, e.g.exposure(c), c.Zone, e.g.trustOf(c.ID)
	m["props"], m["set"], m["ctx"], m["system"] = props, set, e.ctx(c.ID), e.systemVars()
	m["data"], m["pii"], m["classification"] = data, pii, cls
	m["in_kinds"], m["out_kinds"] = e.g.neighbourKinds(c.ID, false), e.g.neighbourKinds(c.ID, true)
	m["from"], m["to"], m["protocol"], m["encrypted"], m["authenticated"] = noProps, noProps, "", false, false
}

func (e *evaluator) endVars(id string) map[string]any {
	if i, ok := e.g.index[id]; ok {
		return e.endsOf[i]
	}
	return map[string]any{}
}

var (
	noProps = map[string]any{}
	noSet   = []string{}
	noKinds = []string{}
)

func (e *evaluator) flowVars(m map[string]any, f *model.Flow) {
	data, cls, pii := e.flowData(f)
	props, set := noProps, noSet
	if len(f.Props) > 0 {
		props, set = map[string]any{}, []string{}
	}
	for k, v := range f.Props {
		props[k] = v
		set = append(set, k)
	}
	enc := f.Encrypted != nil && *f.Encrypted
	auth := f.Authenticated != nil && *f.Authenticated
	if f.Protocol == "https" || f.Protocol == "grpcs" || f.Protocol == "tls" || f.Protocol == "mtls" {
		enc = true
	}
	exposure := "internal"
	if e.g.facts(f.ID)["internet_facing"] {
		exposure = "internet"
	}
	m["id"], m["name"], m["kind"], m["exposure"], m["zone"], m["trust"] = f.ID, f.ID, "flow", exposure, "", e.g.trustOf(f.To)
	m["props"], m["set"], m["ctx"], m["system"] = props, set, e.ctx(f.ID), e.systemVars()
	m["data"], m["pii"], m["classification"] = data, pii, cls
	m["in_kinds"], m["out_kinds"] = noKinds, noKinds
	m["from"], m["to"], m["protocol"], m["encrypted"], m["authenticated"] = e.endVars(f.From), e.endVars(f.To), f.Protocol, enc, auth
}

var noFacts = map[string]bool{}

func (e *evaluator) zoneVars(m map[string]any, z *model.Zone) {
	m["id"], m["name"], m["kind"], m["exposure"], m["zone"], m["trust"] = z.ID, z.ID, "zone", "", z.ID, z.Trust
	m["props"], m["set"], m["ctx"], m["system"] = noProps, noSet, noFacts, e.systemVars()
	m["data"], m["pii"], m["classification"] = []map[string]any{}, false, ""
	m["in_kinds"], m["out_kinds"] = noKinds, noKinds
	m["from"], m["to"], m["protocol"], m["encrypted"], m["authenticated"] = noProps, noProps, "", false, false
}

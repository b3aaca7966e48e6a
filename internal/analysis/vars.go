package analysis

import (
	"sort"

	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/rules"
)

var classRank = map[string]int{"public": 1, "internal": 2, "confidential": 3, "restricted": 4}

// props returns a component's props with every known prop of its kind filled
// in: text as "", lists as [], booleans as false. A missing fact is treated as
// "not in place", the cautious reading; `set` lists what the model states.
func (e *evaluator) props(c *model.Component) (map[string]any, []string) {
	if p, ok := e.propCache[c.ID]; ok {
		return p.props, p.set
	}
	out := map[string]any{}
	v := model.Kinds()
	if k := v.Kind(c.Kind); k != nil {
		for _, p := range append(append([]model.PropSpec{}, k.Props...), v.Common...) {
			switch p.Type {
			case model.TypeEnumList, model.TypeStringList:
				out[p.Name] = []any{}
			case model.TypeBool:
				out[p.Name] = false
			case model.TypeInt, model.TypeNumber:
				out[p.Name] = int64(-1)
			default:
				out[p.Name] = ""
			}
		}
	}
	set := []string{}
	for k, val := range c.Props {
		set = append(set, k)
		if spec, _ := v.Prop(c.Kind, k); spec != nil {
			switch spec.Type {
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
		}
		out[k] = val
	}
	sort.Strings(set)
	e.propCache[c.ID] = propsEntry{out, set}
	return out, set
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
	platforms := []any{}
	for _, p := range e.sys.Info.Platforms {
		platforms = append(platforms, p)
	}
	return map[string]any{"id": e.sys.Info.ID, "criticality": e.sys.Info.Criticality, "platforms": platforms}
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
				item := map[string]any{"id": id, "classification": "", "pii": false}
				if d != nil {
					item["classification"] = d.Classification
					item["pii"] = d.PII
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

func (e *evaluator) ctx(id string) map[string]bool {
	out := make(map[string]bool, len(rules.Facts))
	for _, f := range rules.Facts {
		out[f] = e.g.facts[id][f]
	}
	return out
}

func (e *evaluator) componentVars(c *model.Component) map[string]any {
	props, set := e.props(c)
	data, cls, pii := e.dataVars(e.g.in[c.ID], e.g.out[c.ID])
	if c.Kind == "datastore" || c.Kind == "dataset" || c.Kind == "vector-store" {
		if p, _ := props["pii"].(bool); p {
			pii = true
		}
	}
	name := c.Name
	if name == "" {
		name = c.ID
	}
	return map[string]any{
		"id": c.ID, "name": name, "kind": c.Kind, "exposure": e.g.exposure(c), "zone": c.Zone, "trust": e.g.trust[c.ID],
		"props": props, "set": set, "ctx": e.ctx(c.ID), "system": e.systemVars(),
		"data": data, "pii": pii, "classification": cls,
		"in_kinds": e.g.neighbourKinds(c.ID, false), "out_kinds": e.g.neighbourKinds(c.ID, true),
		"from": map[string]any{}, "to": map[string]any{}, "protocol": "", "encrypted": false, "authenticated": false,
	}
}

func (e *evaluator) endVars(id string) map[string]any {
	if v, ok := e.endCache[id]; ok {
		return v
	}
	c := e.g.comps[id]
	if c == nil {
		return map[string]any{}
	}
	props, _ := e.props(c)
	v := map[string]any{"id": c.ID, "kind": c.Kind, "zone": c.Zone, "trust": e.g.trust[c.ID], "exposure": e.g.exposure(c), "props": props}
	e.endCache[id] = v
	return v
}

func (e *evaluator) flowVars(f *model.Flow) map[string]any {
	data, cls, pii := e.dataVars([]*model.Flow{f})
	props := map[string]any{}
	set := []string{}
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
	if e.g.facts[f.ID]["internet_facing"] {
		exposure = "internet"
	}
	return map[string]any{
		"id": f.ID, "name": f.ID, "kind": "flow", "exposure": exposure, "zone": "", "trust": e.g.trust[f.To],
		"props": props, "set": set, "ctx": e.ctx(f.ID), "system": e.systemVars(),
		"data": data, "pii": pii, "classification": cls, "in_kinds": []string{}, "out_kinds": []string{},
		"from": e.endVars(f.From), "to": e.endVars(f.To), "protocol": f.Protocol, "encrypted": enc, "authenticated": auth,
	}
}

func (e *evaluator) zoneVars(z *model.Zone) map[string]any {
	return map[string]any{
		"id": z.ID, "name": z.ID, "kind": "zone", "exposure": "", "zone": z.ID, "trust": z.Trust,
		"props": map[string]any{}, "set": []string{}, "ctx": map[string]bool{}, "system": e.systemVars(),
		"data": []map[string]any{}, "pii": false, "classification": "", "in_kinds": []string{}, "out_kinds": []string{},
		"from": map[string]any{}, "to": map[string]any{}, "protocol": "", "encrypted": false, "authenticated": false,
	}
}

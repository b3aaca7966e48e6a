package model

// BuildSchema assembles the JSON Schema of the format from Sections and the
// kinds vocabulary. `go generate` writes it to schema/model.schema.json.
func BuildSchema(v *Vocabulary) map[string]any {
	ext := map[string]any{"^x-": true}
	defs := map[string]any{
		"id":   map[string]any{"type": "string", "pattern": patternID, "description": "Identifier: letters, digits, `.`, `_`, `-`; starts with a letter or digit."},
		"kind": map[string]any{"type": "string", "enum": v.KindNames(), "description": "Component kind."},
	}
	var root map[string]any
	for _, s := range Sections {
		props := map[string]any{}
		for _, f := range s.Fields {
			props[f.Key] = f.Schema
		}
		obj := map[string]any{
			"type": "object", "properties": props, "additionalProperties": false, "patternProperties": ext,
		}
		if len(s.Required) > 0 {
			obj["required"] = s.Required
		}
		if s.Name == "component" {
			var branches []any
			for _, k := range v.Kinds {
				branches = append(branches, map[string]any{
					"if":   map[string]any{"properties": map[string]any{"kind": map[string]any{"const": k.Kind}}, "required": []string{"kind"}},
					"then": map[string]any{"properties": map[string]any{"props": ref("props-" + k.Kind)}},
				})
				defs["props-"+k.Kind] = propsSchema(k.Summary, append(append([]PropSpec{}, k.Props...), v.Common...))
			}
			obj["allOf"] = branches
		}
		if s.Name == "top" {
			root = obj
			continue
		}
		defs[s.Name] = obj
	}
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = "https://mlthreat.dev/schema/model.schema.json"
	root["title"] = "mlthreat system model"
	root["description"] = "One AI system described for threat modeling by mlthreat. See docs/model.md."
	root["$defs"] = defs
	return root
}

func propsSchema(desc string, specs []PropSpec) map[string]any {
	props := map[string]any{}
	for _, p := range specs {
		s := propSchema(p)
		props[p.Name] = s
		for _, a := range p.Aliases {
			props[a] = s
		}
	}
	return map[string]any{"type": "object", "description": desc, "properties": props, "additionalProperties": true}
}

func propSchema(p PropSpec) map[string]any {
	s := map[string]any{"description": p.Summary}
	switch p.Type {
	case TypeEnum:
		s["enum"] = p.Values
	case TypeEnumList:
		s["anyOf"] = []any{
			map[string]any{"enum": p.Values},
			map[string]any{"type": "array", "items": map[string]any{"enum": p.Values}},
		}
	case TypeString:
		s["type"] = "string"
	case TypeStringList:
		s["anyOf"] = []any{
			map[string]any{"type": "string"},
			map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		}
	case TypeBool:
		s["type"] = "boolean"
	case TypeInt:
		s["type"] = "integer"
	case TypeNumber:
		s["type"] = "number"
	case TypeDate:
		s["type"] = "string"
		s["format"] = "date"
	}
	if p.Min != nil {
		s["minimum"] = *p.Min
	}
	if p.Max != nil {
		s["maximum"] = *p.Max
	}
	return s
}

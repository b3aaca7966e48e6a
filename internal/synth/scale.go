package synth

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/mlthreat/mlthreat/examples"
	"github.com/mlthreat/mlthreat/internal/model"
)

// Scale returns one model holding k disjoint copies of every bundled
// example (64 components each time), like Threagile's test on 100 copies
// of its own example. Ids get a prefix per copy and example; a control
// that applied to a whole example applies to that copy's components.
// Decisions and governance are left out: they name one system's threats.
func Scale(k int) ([]byte, error) {
	systems, err := exampleSystems()
	if err != nil {
		return nil, err
	}
	n := 0
	for _, s := range systems {
		n += len(s.Components)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "mlthreat: 1\nsystem: {id: examples-x%d, name: %s, criticality: high, platforms: [predictive, generative, agentic]}\n",
		k, q(fmt.Sprintf("%d copies of the %d examples (%d components)", k, len(systems), k*n)))
	var zones, comps, flows, data, controls, threats strings.Builder
	for i := 1; i <= k; i++ {
		for e, s := range systems {
			p := fmt.Sprintf("c%de%d-", i, e)
			for _, z := range s.Zones {
				fmt.Fprintf(&zones, "  - {id: %s, trust: %s}\n", p+z.ID, z.Trust)
			}
			var ids []string
			for _, c := range s.Components {
				ids = append(ids, p+c.ID)
				fmt.Fprintf(&comps, "  - {id: %s, kind: %s", p+c.ID, c.Kind)
				if c.Zone != "" {
					fmt.Fprintf(&comps, ", zone: %s", p+c.Zone)
				}
				if c.Exposure != "" {
					fmt.Fprintf(&comps, ", exposure: %s", c.Exposure)
				}
				if len(c.Props) > 0 {
					fmt.Fprintf(&comps, ", props: %s", jsonOf(c.Props))
				}
				comps.WriteString("}\n")
			}
			for _, f := range s.Flows {
				fmt.Fprintf(&flows, "  - {id: %s, from: %s, to: %s", p+f.ID, p+f.From, p+f.To)
				if len(f.Data) > 0 {
					fmt.Fprintf(&flows, ", data: [%s]", prefixed(p, f.Data))
				}
				if f.Protocol != "" {
					fmt.Fprintf(&flows, ", protocol: %s", q(f.Protocol))
				}
				if f.Encrypted != nil {
					fmt.Fprintf(&flows, ", encrypted: %t", *f.Encrypted)
				}
				if f.Authenticated != nil {
					fmt.Fprintf(&flows, ", authenticated: %t", *f.Authenticated)
				}
				if f.Bidirectional {
					flows.WriteString(", bidirectional: true")
				}
				if len(f.Props) > 0 {
					fmt.Fprintf(&flows, ", props: %s", jsonOf(f.Props))
				}
				flows.WriteString("}\n")
			}
			for _, d := range s.Data {
				fmt.Fprintf(&data, "  - {id: %s", p+d.ID)
				if d.Classification != "" {
					fmt.Fprintf(&data, ", classification: %s", d.Classification)
				}
				fmt.Fprintf(&data, ", pii: %t}\n", d.PII)
			}
			for _, c := range s.Controls {
				applies := prefixed(p, c.AppliesTo)
				if len(c.AppliesTo) == 0 {
					applies = strings.Join(ids, ", ")
				}
				fmt.Fprintf(&controls, "  - {id: %s, mitigates: [%s], applies_to: [%s]", p+c.ID, strings.Join(c.Mitigates, ", "), applies)
				if c.Status != "" {
					fmt.Fprintf(&controls, ", status: %s", c.Status)
				}
				controls.WriteString("}\n")
			}
			for _, t := range s.Threats {
				fmt.Fprintf(&threats, "  - {id: %s, title: %s, targets: [%s]", p+t.ID, q(t.Title), prefixed(p, t.Targets))
				if t.Technique != "" {
					fmt.Fprintf(&threats, ", technique: %s", t.Technique)
				}
				threats.WriteString("}\n")
			}
		}
	}
	for _, sec := range []struct {
		name string
		body *strings.Builder
	}{{"zones", &zones}, {"components", &comps}, {"flows", &flows}, {"data", &data}, {"controls", &controls}, {"threats", &threats}} {
		if sec.body.Len() > 0 {
			b.WriteString(sec.name + ":\n" + sec.body.String())
		}
	}
	return []byte(b.String()), nil
}

// ExampleComponents is the number of components in one copy of the examples.
func ExampleComponents() (int, error) {
	systems, err := exampleSystems()
	n := 0
	for _, s := range systems {
		n += len(s.Components)
	}
	return n, err
}

func exampleSystems() ([]*model.System, error) {
	paths, err := fs.Glob(examples.Systems, "*/system.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []*model.System
	for _, p := range paths {
		src, err := fs.ReadFile(examples.Systems, p)
		if err != nil {
			return nil, err
		}
		s, ds := model.Load(p, src, model.DefaultLimits)
		if s == nil || ds.Errors() > 0 {
			return nil, fmt.Errorf("example %s is invalid: %v", p, ds)
		}
		out = append(out, s)
	}
	return out, nil
}

func prefixed(p string, ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = p + id
	}
	return strings.Join(out, ", ")
}

// q quotes text for YAML; a JSON string is a valid double-quoted scalar.
func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// jsonOf writes props as a JSON object, a valid YAML flow map with sorted keys.
func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

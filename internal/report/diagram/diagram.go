// Package diagram draws the system's data-flow diagram: components by kind,
// trust zones as boundaries, flows labelled with their data, each element
// tinted by its highest residual severity. It writes Mermaid and Graphviz DOT.
package diagram

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/model"
)

// Colours per severity (fill, stroke).
var colours = map[string][2]string{
	"critical": {"#f8d7da", "#b00020"},
	"high":     {"#fde2c8", "#d9480f"},
	"medium":   {"#fff3bf", "#e0a800"},
	"low":      {"#e6f4ea", "#2f9e44"},
	"":         {"#f1f3f5", "#868e96"},
}

// worst returns each element's highest residual severity among open threats.
func worst(r *analysis.Report) map[string]string {
	out := map[string]string{}
	for _, t := range r.Threats {
		if t.Status == "mitigated" || t.Status == "false-positive" {
			continue
		}
		id := t.Target.ID()
		if analysis.SeverityRank(t.Residual.Severity) > analysis.SeverityRank(out[id]) {
			out[id] = t.Residual.Severity
		}
	}
	return out
}

// shapes give kinds a recognisable outline.
func mermaidShape(kind, label string) string {
	switch kind {
	case "actor":
		return "([" + label + "])"
	case "datastore", "dataset", "vector-store", "feature-store", "model-registry", "memory":
		return "[(" + label + ")]"
	case "model", "llm":
		return "{{" + label + "}}"
	case "tool", "mcp-server":
		return "[/" + label + "/]"
	}
	return "[" + label + "]"
}

func mermaidText(s string) string {
	r := strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;", "\n", " ", "|", "#124;", "`", "#96;")
	return r.Replace(s)
}

func nodeID(prefix, id string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, r := range id {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, "_%x_", r)
		}
	}
	return b.String()
}

func label(c *model.Component) string {
	name := c.Name
	if name == "" {
		name = c.ID
	}
	return name + " · " + c.Kind
}

// byZone groups components by zone, in the order zones are declared.
func byZone(s *model.System) ([]string, map[string][]*model.Component) {
	groups := map[string][]*model.Component{}
	var order []string
	for _, z := range s.Zones {
		order = append(order, z.ID)
	}
	for _, c := range s.Components {
		z := c.Zone
		if s.Zone(z) == nil {
			z = ""
		}
		groups[z] = append(groups[z], c)
	}
	if len(groups[""]) > 0 {
		order = append(order, "")
	}
	return order, groups
}

// Mermaid writes a flowchart that GitHub and GitLab render in Markdown.
func Mermaid(w io.Writer, r *analysis.Report) error {
	s := r.System
	sev := worst(r)
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	order, groups := byZone(s)
	for _, z := range order {
		indent := "  "
		if z != "" {
			zone := s.Zone(z)
			fmt.Fprintf(&b, "  subgraph %s[\"%s · %s\"]\n", nodeID("z_", z), mermaidText(z), zone.Trust)
			indent = "    "
		}
		for _, c := range groups[z] {
			fmt.Fprintf(&b, "%s%s%s\n", indent, nodeID("c_", c.ID), mermaidShape(c.Kind, `"`+mermaidText(label(c))+`"`))
		}
		if z != "" {
			b.WriteString("  end\n")
		}
	}
	for i, f := range s.Flows {
		arrow := "-->"
		if f.Bidirectional {
			arrow = "<-->"
		}
		lbl := strings.Join(f.Data, ", ")
		if sv := sev[f.ID]; sv != "" {
			lbl = strings.TrimSpace(lbl + " ⚠ " + sv)
		}
		if lbl != "" {
			fmt.Fprintf(&b, "  %s %s|\"%s\"| %s\n", nodeID("c_", f.From), arrow, mermaidText(lbl), nodeID("c_", f.To))
		} else {
			fmt.Fprintf(&b, "  %s %s %s\n", nodeID("c_", f.From), arrow, nodeID("c_", f.To))
		}
		if c := colours[sev[f.ID]]; sev[f.ID] != "" {
			fmt.Fprintf(&b, "  linkStyle %d stroke:%s,stroke-width:2px\n", i, c[1])
		}
	}
	for _, name := range []string{"critical", "high", "medium", "low"} {
		c := colours[name]
		fmt.Fprintf(&b, "  classDef %s fill:%s,stroke:%s,stroke-width:2px\n", name, c[0], c[1])
	}
	ids := sortedKeys(sev)
	for _, id := range ids {
		if c := s.Component(id); c != nil {
			fmt.Fprintf(&b, "  class %s %s\n", nodeID("c_", id), sev[id])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func dotText(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", " ").Replace(s)
}

var dotShapes = map[string]string{
	"actor": "oval", "datastore": "cylinder", "dataset": "cylinder", "vector-store": "cylinder", "feature-store": "cylinder",
	"model-registry": "cylinder", "memory": "cylinder", "model": "hexagon", "llm": "hexagon", "tool": "parallelogram", "mcp-server": "parallelogram",
}

// DOT writes a Graphviz graph.
func DOT(w io.Writer, r *analysis.Report) error {
	s := r.System
	sev := worst(r)
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n", s.Info.ID)
	order, groups := byZone(s)
	for _, z := range order {
		indent := "  "
		if z != "" {
			zone := s.Zone(z)
			fmt.Fprintf(&b, "  subgraph %q {\n    label=\"%s · %s\";\n    style=dashed;\n", "cluster_"+z, dotText(z), zone.Trust)
			indent = "    "
		}
		for _, c := range groups[z] {
			col := colours[sev[c.ID]]
			shape := dotShapes[c.Kind]
			if shape == "" {
				shape = "box"
			}
			fmt.Fprintf(&b, "%s%q [label=\"%s\", shape=%s, fillcolor=\"%s\", color=\"%s\"];\n", indent, c.ID, dotText(label(c)), shape, col[0], col[1])
		}
		if z != "" {
			b.WriteString("  }\n")
		}
	}
	for _, f := range s.Flows {
		col := colours[sev[f.ID]]
		dir := ""
		if f.Bidirectional {
			dir = ", dir=both"
		}
		fmt.Fprintf(&b, "  %q -> %q [label=\"%s\", color=\"%s\"%s];\n", f.From, f.To, dotText(strings.Join(f.Data, ", ")), col[1], dir)
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

package model

import (
	"strconv"
	"strings"
)

// decode fills a System from the node tree. It is lenient: values of the wrong
// shape are left empty, because the schema check reports them with positions.
func decode(file string, root *Node) *System {
	s := &System{File: file, Root: root}
	if root == nil || root.Kind != Map {
		return s
	}
	if v := root.Get("mlthreat"); v != nil {
		s.Format, _ = strconv.Atoi(v.Str())
	}
	if n := root.Get("system"); n != nil && n.Kind == Map {
		s.Info = Info{
			ID: n.Get("id").Str(), Name: n.Get("name").Str(), Description: n.Get("description").Str(),
			Owner: n.Get("owner").Str(), Criticality: n.Get("criticality").Str(),
			Platforms: n.Get("platforms").Strings(), Tags: n.Get("tags").Strings(), Node: n,
		}
		if r := n.Get("review"); r != nil && r.Kind == Map {
			s.Info.Review = Review{Date: r.Get("date").Str(), By: r.Get("by").Strings(), Next: r.Get("next").Str()}
		}
		for _, a := range items(n.Get("artifacts")) {
			s.Info.Artifacts = append(s.Info.Artifacts, &Artifact{Path: a.Get("path").Str(), SHA256: a.Get("sha256").Str(), Kind: a.Get("kind").Str(), Description: a.Get("description").Str(), Node: a})
		}
	}
	for _, n := range items(root.Get("zones")) {
		s.Zones = append(s.Zones, &Zone{ID: n.Get("id").Str(), Name: n.Get("name").Str(), Trust: n.Get("trust").Str(), Description: n.Get("description").Str(), Node: n})
	}
	for _, n := range items(root.Get("components")) {
		c := &Component{
			ID: n.Get("id").Str(), Name: n.Get("name").Str(), Kind: n.Get("kind").Str(), Zone: n.Get("zone").Str(),
			Exposure: n.Get("exposure").Str(), Description: n.Get("description").Str(), Owner: n.Get("owner").Str(),
			Tags: n.Get("tags").Strings(), Props: map[string]any{}, PropNodes: map[string]*Node{}, Node: n,
		}
		if p := n.Get("props"); p != nil && p.Kind == Map {
			for k, v := range p.Entries() {
				if isExtension(k.Value) {
					continue
				}
				c.Props[k.Value] = v.Any()
				c.PropNodes[k.Value] = v
			}
		}
		s.Components = append(s.Components, c)
	}
	for _, n := range items(root.Get("flows")) {
		f := &Flow{
			ID: n.Get("id").Str(), From: n.Get("from").Str(), To: n.Get("to").Str(), Data: n.Get("data").Strings(),
			Protocol: n.Get("protocol").Str(), Description: n.Get("description").Str(),
			Encrypted: boolPtr(n.Get("encrypted")), Authenticated: boolPtr(n.Get("authenticated")),
			Props: map[string]any{}, Node: n,
		}
		if b := boolPtr(n.Get("bidirectional")); b != nil {
			f.Bidirectional = *b
		}
		if p := n.Get("props"); p != nil && p.Kind == Map {
			for k, v := range p.Entries() {
				if !isExtension(k.Value) {
					f.Props[k.Value] = v.Any()
				}
			}
		}
		s.Flows = append(s.Flows, f)
	}
	for _, n := range items(root.Get("data")) {
		d := &DataItem{ID: n.Get("id").Str(), Name: n.Get("name").Str(), Classification: n.Get("classification").Str(), Description: n.Get("description").Str(), Node: n}
		if b := boolPtr(n.Get("pii")); b != nil {
			d.PII = *b
		}
		s.Data = append(s.Data, d)
	}
	for _, n := range items(root.Get("controls")) {
		s.Controls = append(s.Controls, &Control{
			ID: n.Get("id").Str(), Name: n.Get("name").Str(), Description: n.Get("description").Str(),
			Mitigates: n.Get("mitigates").Strings(), AppliesTo: n.Get("applies_to").Strings(),
			Status: n.Get("status").Str(), Owner: n.Get("owner").Str(), Evidence: n.Get("evidence").Strings(),
			RMF: n.Get("rmf").Strings(), Node: n,
		})
	}
	for _, n := range items(root.Get("threats")) {
		t := &Threat{
			ID: n.Get("id").Str(), Title: n.Get("title").Str(), Description: n.Get("description").Str(),
			Technique: n.Get("technique").Str(), Related: n.Get("related").Strings(), Targets: n.Get("targets").Strings(),
			OWASP: n.Get("owasp").Strings(), STRIDE: n.Get("stride").Strings(), LINDDUN: n.Get("linddun").Strings(),
			RMF: n.Get("rmf").Strings(), Status: n.Get("status").Str(), Node: n,
		}
		t.Likelihood, _ = strconv.Atoi(n.Get("likelihood").Str())
		t.Impact, _ = strconv.Atoi(n.Get("impact").Str())
		s.Threats = append(s.Threats, t)
	}
	for _, n := range items(root.Get("risk_tracking")) {
		s.RiskTracking = append(s.RiskTracking, &Decision{
			Threat: n.Get("threat").Str(), Status: n.Get("status").Str(), Justification: n.Get("justification").Str(),
			Owner: n.Get("owner").Str(), Until: n.Get("until").Str(), Register: n.Get("register").Str(), Node: n,
		})
	}
	for _, n := range items(root.Get("governance")) {
		s.Governance = append(s.Governance, &Practice{
			Practice: n.Get("practice").Str(), Status: n.Get("status").Str(), Owner: n.Get("owner").Str(),
			Evidence: n.Get("evidence").Strings(), LastPerformed: n.Get("last_performed").Str(),
			Description: n.Get("description").Str(), Node: n,
		})
	}
	if b := root.Get("business"); b != nil && b.Kind == Map {
		s.Business = &Business{Currency: b.Get("currency").Str(), Losses: map[string]LossRange{}, Node: b}
		s.Business.Appetite, _ = strconv.ParseFloat(b.Get("appetite").Str(), 64)
		if l := b.Get("losses"); l != nil && l.Kind == Map {
			for k, v := range l.Entries() {
				if !isExtension(k.Value) && v.Kind == Map {
					s.Business.Losses[k.Value] = lossRange(v)
				}
			}
		}
		for _, f := range items(b.Get("frequency")) {
			s.Business.Frequency = append(s.Business.Frequency, FrequencyHint{
				Threat: f.Get("threat").Str(), Technique: f.Get("technique").Str(), Tactic: f.Get("tactic").Str(), Range: lossRange(f),
			})
		}
	}
	for _, n := range items(root.Get("approvals")) {
		s.Approvals = append(s.Approvals, &Approval{
			By: n.Get("by").Str(), Decision: n.Get("decision").Str(), Date: n.Get("date").Str(), Until: n.Get("until").Str(),
			ThreatSet: n.Get("threat_set").Str(), Conditions: n.Get("conditions").Strings(), Comment: n.Get("comment").Str(), Node: n,
		})
	}
	return s
}

func lossRange(n *Node) LossRange {
	r := LossRange{Shape: n.Get("shape").Str(), Node: n}
	r.Min, _ = strconv.ParseFloat(n.Get("min").Str(), 64)
	r.Likely, _ = strconv.ParseFloat(n.Get("likely").Str(), 64)
	r.Max, _ = strconv.ParseFloat(n.Get("max").Str(), 64)
	return r
}

func items(n *Node) []*Node {
	if n == nil || n.Kind != Seq {
		return nil
	}
	var out []*Node
	for _, it := range n.Items() {
		if it.Kind == Map {
			out = append(out, it)
		}
	}
	return out
}

func boolPtr(n *Node) *bool {
	if n == nil || n.Kind != Scalar || n.Tag != "!!bool" {
		return nil
	}
	b := strings.EqualFold(n.Value, "true")
	return &b
}

func isExtension(key string) bool { return strings.HasPrefix(key, "x-") }

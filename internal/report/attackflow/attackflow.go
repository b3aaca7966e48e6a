// Package attackflow writes the system's high and critical attack paths as
// MITRE Attack Flow 2.0 objects in a STIX 2.1 bundle: one attack-flow per path,
// attack-action objects carrying ATLAS technique and tactic ids and STIX refs,
// and attack-asset objects for the components they act on.
package attackflow

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/mlthreat/mlthreat/internal/analysis"
)

// ExtensionID is the Attack Flow STIX extension definition.
const ExtensionID = "extension-definition--fb9c968a-745b-4ade-9b25-c324172197f4"

// atlasNamespace is the UUIDv5 namespace ATLAS's STIX ids are made in.
var atlasNamespace = [16]byte{0x61, 0x74, 0x6c, 0x61, 0x73, 0x2e, 0x6d, 0x69, 0x74, 0x72, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x2e}

// mlthreatNamespace makes our own object ids deterministic.
var mlthreatNamespace = uuid5(atlasNamespace, "mlthreat.attack-flow")

func uuid5(ns [16]byte, name string) [16]byte {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = (u[6] & 0x0f) | 0x50
	u[8] = (u[8] & 0x3f) | 0x80
	return u
}

func uuidString(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// ATLASRef is the STIX id ATLAS gives an ATLAS object.
func ATLASRef(typ, atlasID string) string {
	return typ + "--" + uuidString(uuid5(atlasNamespace, atlasID))
}

func id(typ, name string) string { return typ + "--" + uuidString(uuid5(mlthreatNamespace, name)) }

// Writer writes the bundle. Timestamp is the created/modified time, with
// milliseconds, e.g. 2026-11-27T00:00:00.000Z.
type Writer struct{ Timestamp string }

func ext() map[string]any {
	return map[string]any{ExtensionID: map[string]any{"extension_type": "new-sdo"}}
}

// Objects builds the STIX objects for the report's high and critical paths.
func (w Writer) Objects(r *analysis.Report) []map[string]any {
	ts := w.Timestamp
	identity := id("identity", "mlthreat")
	objs := []map[string]any{{
		"type": "identity", "spec_version": "2.1", "id": identity, "created": ts, "modified": ts,
		"name": "mlthreat", "identity_class": "system",
	}}
	assets := map[string]string{}
	asset := func(comp string) string {
		if a, ok := assets[comp]; ok {
			return a
		}
		a := id("attack-asset", r.System.Info.ID+"/"+comp)
		assets[comp] = a
		name := comp
		desc := ""
		if c := r.System.Component(comp); c != nil {
			if c.Name != "" {
				name = c.Name
			}
			desc = c.Kind + " in zone " + c.Zone
		} else if f := r.System.Flow(comp); f != nil {
			desc = "data flow from " + f.From + " to " + f.To
		}
		o := map[string]any{"type": "attack-asset", "spec_version": "2.1", "id": a, "created": ts, "modified": ts, "name": name, "extensions": ext()}
		if desc != "" {
			o["description"] = desc
		}
		objs = append(objs, o)
		return a
	}
	// Paths that end in the same impact join there: one flow per impact,
	// with an OR operator when several paths reach it.
	type group struct {
		final *analysis.Threat
		paths []analysis.Path
	}
	var groups []*group
	byFinal := map[string]*group{}
	for _, p := range r.Paths() {
		if analysis.SeverityRank(p.Severity) < analysis.SeverityRank("high") {
			continue
		}
		final := p.Steps[len(p.Steps)-1]
		g := byFinal[final.ID]
		if g == nil {
			g = &group{final: final}
			byFinal[final.ID] = g
			groups = append(groups, g)
		}
		g.paths = append(g.paths, p)
	}
	action := func(actionID string, s *analysis.Threat, effects []string) map[string]any {
		tactic := s.Tactics[0]
		o := map[string]any{
			"type": "attack-action", "spec_version": "2.1", "id": actionID, "created": ts, "modified": ts,
			"name": r.Catalog.Name(s.Technique), "technique_id": s.Technique, "technique_ref": ATLASRef("attack-pattern", s.Technique),
			"tactic_id": tactic, "tactic_ref": ATLASRef("x-mitre-tactic", tactic),
			"description": fmt.Sprintf("%s (%s) on %s: %s. Residual risk %d (%s).", s.Rule.Title, s.ID, s.Target.ID(), r.Catalog.Name(tactic), s.Residual.Score, s.Residual.Severity),
			"asset_refs":  []string{asset(s.Target.ID())}, "extensions": ext(),
		}
		if len(effects) > 0 {
			o["effect_refs"] = effects
		}
		return o
	}
	for n, g := range groups {
		key := fmt.Sprintf("%s/impact/%s", r.System.Info.ID, g.final.ID)
		finalID := id("attack-action", key+"/final")
		objs = append(objs, action(finalID, g.final, nil))
		join := finalID
		if len(g.paths) > 1 {
			join = id("attack-operator", key+"/or")
			objs = append(objs, map[string]any{
				"type": "attack-operator", "spec_version": "2.1", "id": join, "created": ts, "modified": ts,
				"operator": "OR", "effect_refs": []string{finalID}, "extensions": ext(),
			})
		}
		var starts, routes []string
		risk := 0
		for pi, p := range g.paths {
			pre := p.Steps[:len(p.Steps)-1]
			ids := make([]string, len(pre))
			for i, s := range pre {
				ids[i] = id("attack-action", fmt.Sprintf("%s/path/%s/%d/%s", key, pathKey(p), pi, s.ID))
			}
			for i, s := range pre {
				next := join
				if i+1 < len(ids) {
					next = ids[i+1]
				}
				objs = append(objs, action(ids[i], s, []string{next}))
			}
			starts = append(starts, ids[0])
			routes = append(routes, strings.Join(p.Elements, " -> "))
			risk = max(risk, p.Risk)
		}
		objs = append(objs, map[string]any{
			"type": "attack-flow", "spec_version": "2.1", "id": id("attack-flow", key), "created": ts, "modified": ts,
			"created_by_ref": identity,
			"name":           fmt.Sprintf("%s: %d path(s) to %s on %s", r.System.Info.Name, len(g.paths), g.final.Technique, g.final.Target.ID()),
			"description":    fmt.Sprintf("Attack flow %d derived by mlthreat from %s. Routes: %s. Highest residual risk %d (%s).", n+1, r.System.File, strings.Join(routes, "; "), risk, analysis.Severity(risk)),
			"scope":          "other", "start_refs": starts, "extensions": ext(),
		})
	}
	return objs
}

func pathKey(p analysis.Path) string {
	var ids []string
	for _, s := range p.Steps {
		ids = append(ids, s.ID)
	}
	return strings.Join(ids, ",")
}

// Write writes the STIX bundle.
func (w Writer) Write(out io.Writer, r *analysis.Report) error {
	objs := w.Objects(r)
	bundle := map[string]any{"type": "bundle", "id": id("bundle", r.System.Info.ID+"/"+w.Timestamp), "objects": objs}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(bundle)
}

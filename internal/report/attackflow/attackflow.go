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
	for n, p := range r.Paths() {
		if analysis.SeverityRank(p.Severity) < analysis.SeverityRank("high") {
			continue
		}
		key := fmt.Sprintf("%s/path/%s", r.System.Info.ID, pathKey(p))
		actionIDs := make([]string, len(p.Steps))
		for i, s := range p.Steps {
			actionIDs[i] = id("attack-action", key+"/"+s.ID)
		}
		for i, s := range p.Steps {
			tactic := s.Tactics[0]
			o := map[string]any{
				"type": "attack-action", "spec_version": "2.1", "id": actionIDs[i], "created": ts, "modified": ts,
				"name": r.Catalog.Name(s.Technique), "technique_id": s.Technique, "technique_ref": ATLASRef("attack-pattern", s.Technique),
				"tactic_id": tactic, "tactic_ref": ATLASRef("x-mitre-tactic", tactic),
				"description": fmt.Sprintf("%s (%s) on %s: %s. Residual risk %d (%s).", s.Rule.Title, s.ID, s.Target.ID(), r.Catalog.Name(tactic), s.Residual.Score, s.Residual.Severity),
				"asset_refs":  []string{asset(s.Target.ID())}, "extensions": ext(),
			}
			if i+1 < len(actionIDs) {
				o["effect_refs"] = []string{actionIDs[i+1]}
			}
			objs = append(objs, o)
		}
		objs = append(objs, map[string]any{
			"type": "attack-flow", "spec_version": "2.1", "id": id("attack-flow", key), "created": ts, "modified": ts,
			"created_by_ref": identity, "name": fmt.Sprintf("%s: path %d, %s to %s", r.System.Info.Name, n+1, p.Entry, p.Target),
			"description": fmt.Sprintf("Derived by mlthreat from %s: %d steps along %s; highest residual risk %d (%s).", r.System.File, len(p.Steps), strings.Join(p.Elements, " -> "), p.Risk, p.Severity),
			"scope":       "other", "start_refs": []string{actionIDs[0]}, "extensions": ext(),
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

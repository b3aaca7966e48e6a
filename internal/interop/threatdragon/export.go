package threatdragon

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/model"
)

// Layout of the drawing: one column per zone, least trusted on the left.
const (
	colWidth   = 240
	elemWidth  = 160
	elemHeight = 80
	rowHeight  = 130
	margin     = 40
)

// Writer writes a report as a Threat Dragon 2 model.
type Writer struct{}

type obj = map[string]any

// cellID is a stable UUID (version 5 layout) for an mlthreat id, so a
// re-export keeps Threat Dragon's cell identities.
func cellID(kind, id string) string {
	h := sha1.Sum([]byte("mlthreat:" + kind + ":" + id))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func (Writer) Write(w io.Writer, r *analysis.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(Build(r))
}

var trustOrder = map[string]int{"untrusted": 0, "partner": 1, "internal": 2, "restricted": 3}

// Build assembles the Threat Dragon document of a report.
func Build(r *analysis.Report) obj {
	s := r.System
	byTarget := map[string][]*analysis.Threat{}
	for _, t := range r.Threats {
		byTarget[t.Target.ID()] = append(byTarget[t.Target.ID()], t)
	}
	// Columns: zones by trust (stable within a level), then components
	// without a zone.
	type column struct {
		zone  *model.Zone
		comps []*model.Component
	}
	var cols []*column
	colOf := map[string]*column{}
	for lvl := 0; lvl < 4; lvl++ {
		for _, z := range s.Zones {
			if trustOrder[z.Trust] == lvl {
				c := &column{zone: z}
				cols = append(cols, c)
				colOf[z.ID] = c
			}
		}
	}
	var loose *column
	for _, c := range s.Components {
		col := colOf[c.Zone]
		if col == nil {
			if loose == nil {
				loose = &column{}
			}
			col = loose
		}
		col.comps = append(col.comps, c)
	}
	if loose != nil {
		cols = append(cols, loose)
	}
	cells := []any{}
	z := 1
	tallest := 1
	for _, col := range cols {
		tallest = max(tallest, len(col.comps))
	}
	threatNo := 0
	recorded := map[string][]*model.Threat{}
	for _, t := range s.Threats {
		for _, target := range t.Targets {
			recorded[target] = append(recorded[target], t)
		}
	}
	for i, col := range cols {
		x := margin + i*colWidth
		if col.zone != nil {
			zn := col.zone
			zthreats, zopen := tdThreats(r, byTarget[zn.ID], &threatNo)
			zthreats = append(zthreats, tdRecorded(recorded[zn.ID], &threatNo)...)
			cells = append(cells, obj{
				"position": obj{"x": x - 20, "y": margin - 20},
				"size":     obj{"width": elemWidth + 40, "height": tallest*rowHeight + 10},
				"attrs":    obj{"label": obj{"text": nameOr(zn.Name, zn.ID) + " (" + zn.Trust + ")"}},
				"visible":  true, "shape": "trust-boundary-box", "id": cellID("zone", zn.ID), "zIndex": -1,
				"data": obj{"type": "tm.BoundaryBox", "name": nameOr(zn.Name, zn.ID), "description": zn.Description, "isTrustBoundary": true,
					"hasOpenThreats": zopen, "threats": zthreats, "mlthreat": obj{"id": zn.ID, "trust": zn.Trust}},
			})
		}
		for j, c := range col.comps {
			shape, typ := "process", "tm.Process"
			switch {
			case c.Kind == "actor":
				shape, typ = "actor", "tm.Actor"
			case storeKinds[c.Kind]:
				shape, typ = "store", "tm.Store"
			}
			threats, open := tdThreats(r, byTarget[c.ID], &threatNo)
			threats = append(threats, tdRecorded(recorded[c.ID], &threatNo)...)
			ml := obj{"id": c.ID, "kind": c.Kind}
			if c.Zone != "" {
				ml["zone"] = c.Zone
			}
			if c.Exposure != "" {
				ml["exposure"] = c.Exposure
			}
			if c.Owner != "" {
				ml["owner"] = c.Owner
			}
			if len(c.Props) > 0 {
				ml["props"] = c.Props
			}
			data := obj{"type": typ, "name": nameOr(c.Name, c.ID), "description": c.Description, "outOfScope": false, "reasonOutOfScope": "",
				"hasOpenThreats": open, "threats": threats, "mlthreat": ml}
			switch shape {
			case "store":
				stores := fmt.Sprint(c.Props["stores"])
				enc, _ := c.Props["encryption_at_rest"].(bool)
				data["isALog"] = strings.Contains(stores, "logs")
				data["isEncrypted"] = enc
				data["isSigned"] = false
				data["storesCredentials"] = strings.Contains(stores, "credentials")
				data["storesInventory"] = false
			case "process":
				data["handlesCardPayment"] = false
				data["handlesGoodsOrServices"] = false
				data["isWebApplication"] = c.Kind == "application" || c.Kind == "inference-api"
				data["privilegeLevel"] = ""
			case "actor":
				data["providesAuthentication"] = false
			}
			cells = append(cells, obj{
				"position": obj{"x": x, "y": margin + j*rowHeight},
				"size":     obj{"width": elemWidth, "height": elemHeight},
				"attrs":    obj{"text": obj{"text": nameOr(c.Name, c.ID)}},
				"visible":  true, "shape": shape, "id": cellID("component", c.ID), "zIndex": z, "data": data,
			})
			z++
		}
	}
	for _, f := range s.Flows {
		threats, open := tdThreats(r, byTarget[f.ID], &threatNo)
		threats = append(threats, tdRecorded(recorded[f.ID], &threatNo)...)
		name := f.Description
		if name == "" {
			name = strings.Join(f.Data, ", ")
		}
		if name == "" {
			name = f.ID
		}
		ml := obj{"id": f.ID}
		if len(f.Data) > 0 {
			ml["data"] = f.Data
			var items []obj
			for _, id := range f.Data {
				if d := s.DataItem(id); d != nil {
					items = append(items, obj{"id": d.ID, "name": d.Name, "classification": d.Classification, "pii": d.PII})
				}
			}
			ml["dataItems"] = items
		}
		if f.Authenticated != nil {
			ml["authenticated"] = *f.Authenticated
		}
		if f.Encrypted != nil {
			ml["encrypted"] = *f.Encrypted
		}
		enc := f.Encrypted != nil && *f.Encrypted
		public := false
		if from := s.Component(f.From); from != nil {
			if zn := s.Zone(from.Zone); zn != nil && zn.Trust == "untrusted" {
				public = true
			}
		}
		cells = append(cells, obj{
			"shape": "flow",
			"attrs": obj{"line": obj{"stroke": "#333333", "targetMarker": obj{"name": "block"}, "sourceMarker": obj{"name": sourceMarker(f)}, "strokeDasharray": nil}},
			"width": 200, "height": 100, "zIndex": z, "connector": "smooth",
			"labels":   []any{name},
			"id":       cellID("flow", f.ID),
			"source":   obj{"cell": cellID("component", f.From)},
			"target":   obj{"cell": cellID("component", f.To)},
			"vertices": []any{},
			"data": obj{"type": "tm.Flow", "name": name, "description": f.Description, "outOfScope": false, "reasonOutOfScope": "",
				"hasOpenThreats": open, "isBidirectional": f.Bidirectional, "isEncrypted": enc, "isPublicNetwork": public,
				"protocol": f.Protocol, "threats": threats, "mlthreat": ml},
		})
		z++
	}
	return obj{
		"version": Version,
		"summary": obj{"title": s.Info.Name, "owner": s.Info.Owner, "description": s.Info.Description, "id": 0,
			"mlthreat": obj{"id": s.Info.ID, "criticality": s.Info.Criticality, "platforms": nonNil(s.Info.Platforms), "tags": nonNil(s.Info.Tags), "controls": controls(s), "risk_tracking": decisions(s)}},
		"detail": obj{
			"contributors": []any{}, "reviewer": "", "diagramTop": 1, "threatTop": threatNo,
			"diagrams": []any{obj{"id": 0, "title": s.Info.Name + " data flow", "diagramType": "STRIDE", "placeholder": "",
				"thumbnail": "./public/content/images/thumbnail.stride.jpg", "version": Version, "cells": cells}},
		},
	}
}

func sourceMarker(f *model.Flow) string {
	if f.Bidirectional {
		return "block"
	}
	return ""
}

func nameOr(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

// tdThreats renders threats for one element; open reports any still open.
func tdThreats(r *analysis.Report, ts []*analysis.Threat, no *int) ([]any, bool) {
	out := []any{}
	open := false
	for _, t := range ts {
		*no++
		status := "Open"
		switch t.Status {
		case "mitigated":
			status = "Mitigated"
		case "false-positive":
			status = "NotApplicable"
		default:
			open = true
		}
		typ := ""
		if len(t.STRIDE) > 0 {
			typ = strideTypes[t.STRIDE[0]]
		}
		var mits []string
		for _, m := range t.Mitigations {
			line := m.ID + " " + r.Catalog.Name(m.ID) + ": " + m.Status
			if m.Control != "" {
				line += " (control " + m.Control + ")"
			}
			mits = append(mits, line)
		}
		ml := obj{"status": t.Status, "rule": t.Rule.ID, "technique": t.Technique, "tactics": t.Tactics, "residual": t.Residual.Score}
		if t.Decision != nil {
			ml["decision"] = obj{"status": t.Decision.Status, "justification": t.Decision.Justification, "owner": t.Decision.Owner, "until": t.Decision.Until}
		}
		out = append(out, obj{
			"id": t.ID, "title": t.Rule.Title, "status": status, "severity": severities[t.Residual.Severity], "type": typ,
			"description": t.Technique + " " + r.Catalog.Name(t.Technique) + ". " + t.Rule.Rationale,
			"mitigation":  strings.Join(mits, "\n"), "modelType": "STRIDE", "new": false, "number": *no,
			"score": fmt.Sprint(t.Residual.Score), "mlthreat": ml,
		})
	}
	return out, open
}

// tdRecorded renders the threats a person wrote in the model.
func tdRecorded(ts []*model.Threat, no *int) []any {
	var out []any
	for _, t := range ts {
		*no++
		status := "Open"
		switch t.Status {
		case "mitigated":
			status = "Mitigated"
		case "false-positive":
			status = "NotApplicable"
		}
		typ := ""
		if len(t.STRIDE) > 0 {
			typ = strideTypes[t.STRIDE[0]]
		}
		out = append(out, obj{"id": t.ID, "title": t.Title, "status": status, "severity": "", "type": typ, "description": t.Description,
			"mitigation": "", "modelType": "STRIDE", "new": false, "number": *no, "score": "",
			"mlthreat": obj{"recorded": obj{"id": t.ID, "technique": t.Technique, "stride": t.STRIDE, "likelihood": t.Likelihood, "impact": t.Impact, "status": t.Status}}})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// controls and decisions have no Threat Dragon equivalent; they travel in
// the summary so an edited diagram can come back with them.
func controls(s *model.System) []any {
	out := []any{}
	for _, c := range s.Controls {
		out = append(out, obj{"id": c.ID, "name": c.Name, "description": c.Description, "mitigates": nonNil(c.Mitigates),
			"applies_to": nonNil(c.AppliesTo), "status": c.Status, "owner": c.Owner})
	}
	return out
}

func decisions(s *model.System) []any {
	out := []any{}
	for _, d := range s.RiskTracking {
		out = append(out, obj{"threat": d.Threat, "status": d.Status, "justification": d.Justification, "owner": d.Owner, "until": d.Until})
	}
	return out
}

// Package navigator writes the system's techniques as an ATLAS Navigator
// layer (domain atlas-atlas, layer format 4.x), scored by residual risk and
// commented with the threat ids.
package navigator

import (
	"encoding/json"
	"io"
	"sort"
	"strings"

	"github.com/mlthreat/mlthreat/internal/analysis"
)

// Layer is the subset of the Navigator layer format mlthreat writes.
type Layer struct {
	Name         string            `json:"name"`
	Versions     map[string]string `json:"versions"`
	Domain       string            `json:"domain"`
	Description  string            `json:"description"`
	Metadata     []Meta            `json:"metadata"`
	Techniques   []Technique       `json:"techniques"`
	Gradient     Gradient          `json:"gradient"`
	Legend       []LegendItem      `json:"legendItems"`
	HideDisabled bool              `json:"hideDisabled"`
}

type Meta struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type Technique struct {
	TechniqueID       string `json:"techniqueID"`
	Score             int    `json:"score,omitempty"`
	Comment           string `json:"comment"`
	Enabled           bool   `json:"enabled"`
	ShowSubtechniques bool   `json:"showSubtechniques,omitempty"`
}

type Gradient struct {
	Colors   []string `json:"colors"`
	MinValue int      `json:"minValue"`
	MaxValue int      `json:"maxValue"`
}

type LegendItem struct {
	Label string `json:"label"`
	Color string `json:"color"`
}

// Writer writes the layer.
type Writer struct{}

func (Writer) Write(w io.Writer, r *analysis.Report) error {
	score := map[string]int{}
	ids := map[string][]string{}
	for _, t := range r.Threats {
		if t.Status != "open" && t.Status != "in-progress" {
			continue
		}
		score[t.Technique] = max(score[t.Technique], t.Residual.Score)
		ids[t.Technique] = append(ids[t.Technique], t.ID+" on "+t.Target.ID())
	}
	parents := map[string]bool{}
	for tech := range score {
		if p := r.Catalog.Technique(tech); p != nil && p.Parent != "" {
			parents[p.Parent] = true
		}
	}
	techs := make([]string, 0, len(score))
	for tech := range score {
		techs = append(techs, tech)
	}
	for p := range parents {
		if _, ok := score[p]; !ok {
			techs = append(techs, p)
		}
	}
	sort.Strings(techs)
	l := Layer{
		Name:        r.System.Info.Name + " threats",
		Versions:    map[string]string{"layer": "4.5", "navigator": "4.9.1"},
		Domain:      "atlas-atlas",
		Description: "Open threats derived by mlthreat for " + r.System.Info.ID + ", scored by residual risk (1-25).",
		Metadata:    []Meta{{"atlas_data_version", r.Catalog.Versions["atlas"]}, {"system", r.System.Info.ID}},
		Gradient:    Gradient{Colors: []string{"#fff3b0", "#f4a261", "#d62828"}, MinValue: 1, MaxValue: 25},
		Legend:      []LegendItem{{"low (1-4)", "#fff3b0"}, {"medium (5-9)", "#f9c784"}, {"high (10-16)", "#f4a261"}, {"critical (20-25)", "#d62828"}},
	}
	for _, tech := range techs {
		t := Technique{TechniqueID: tech, Score: score[tech], Enabled: true, ShowSubtechniques: parents[tech]}
		if len(ids[tech]) > 0 {
			t.Comment = strings.Join(ids[tech], "; ")
		} else {
			t.Comment = "parent of flagged sub-techniques"
		}
		l.Techniques = append(l.Techniques, t)
	}
	if l.Techniques == nil {
		l.Techniques = []Technique{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(l)
}

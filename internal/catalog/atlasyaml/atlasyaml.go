// Package atlasyaml reads the official MITRE ATLAS.yaml distribution file into
// catalog.ATLAS. Read picks a reader by the file's declared version, so a new
// upstream format gets a reader of its own beside the 5.x one.
package atlasyaml

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mlthreat/mlthreat/internal/catalog"
)

// MaxFileSize bounds what ReadFile accepts (ATLAS 5.6.0 is 0.45 MB).
const MaxFileSize = 64 << 20

// ReadFile loads an ATLAS.yaml from disk.
func ReadFile(path string) (catalog.ATLAS, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return catalog.ATLAS{}, err
	}
	if fi.Size() > MaxFileSize {
		return catalog.ATLAS{}, fmt.Errorf("%s: %d bytes is larger than the %d-byte limit for ATLAS files", path, fi.Size(), MaxFileSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return catalog.ATLAS{}, err
	}
	a, err := Read(b)
	if err != nil {
		return catalog.ATLAS{}, fmt.Errorf("%s: %w", path, err)
	}
	a.Source = path
	return a, nil
}

// Read parses ATLAS.yaml content, choosing the reader for its format version.
func Read(b []byte) (catalog.ATLAS, error) {
	var head struct {
		ID      string `yaml:"id"`
		Version string `yaml:"version"`
	}
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&head); err != nil {
		return catalog.ATLAS{}, fmt.Errorf("not an ATLAS.yaml file: %v", err)
	}
	if head.Version == "" {
		return catalog.ATLAS{}, fmt.Errorf("not an ATLAS.yaml file: no top-level version")
	}
	major := strings.SplitN(head.Version, ".", 2)[0]
	switch major {
	case "4", "5":
		return readV5(b)
	default:
		return catalog.ATLAS{}, fmt.Errorf("ATLAS format version %s is not supported yet; this mlthreat reads 4.x and 5.x files", head.Version)
	}
}

type v5File struct {
	Version  string `yaml:"version"`
	Matrices []struct {
		ID          string `yaml:"id"`
		Tactics     []v5Tactic
		Techniques  []v5Technique
		Mitigations []v5Mitigation
	} `yaml:"matrices"`
	CaseStudies []v5CaseStudy `yaml:"case-studies"`
}

type v5Ref struct {
	ID string `yaml:"id"`
}

type v5Tactic struct {
	ID          string `yaml:"id"`
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Attack      v5Ref  `yaml:"ATT&CK-reference"`
}

type v5Technique struct {
	ID          string   `yaml:"id"`
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	SubtechOf   string   `yaml:"subtechnique-of"`
	Tactics     []string `yaml:"tactics"`
	Attack      v5Ref    `yaml:"ATT&CK-reference"`
	Maturity    string   `yaml:"maturity"`
}

type v5Mitigation struct {
	ID          string      `yaml:"id"`
	Name        string      `yaml:"name"`
	Description string      `yaml:"description"`
	Techniques  []v5Ref     `yaml:"techniques"`
	Lifecycle   []yaml.Node `yaml:"ml-lifecycle"`
	Category    []string    `yaml:"category"`
}

type v5CaseStudy struct {
	ID        string `yaml:"id"`
	Name      string `yaml:"name"`
	Summary   string `yaml:"summary"`
	Date      string `yaml:"incident-date"`
	Type      string `yaml:"case-study-type"`
	Target    string `yaml:"target"`
	Actor     string `yaml:"actor"`
	Procedure []struct {
		Tactic    string `yaml:"tactic"`
		Technique string `yaml:"technique"`
	} `yaml:"procedure"`
}

func readV5(b []byte) (catalog.ATLAS, error) {
	var f v5File
	if err := yaml.Unmarshal(b, &f); err != nil {
		return catalog.ATLAS{}, fmt.Errorf("parse ATLAS 5.x: %v", err)
	}
	var m *struct {
		ID          string `yaml:"id"`
		Tactics     []v5Tactic
		Techniques  []v5Technique
		Mitigations []v5Mitigation
	}
	for i := range f.Matrices {
		if f.Matrices[i].ID == "ATLAS" || m == nil {
			m = &f.Matrices[i]
		}
	}
	if m == nil {
		return catalog.ATLAS{}, fmt.Errorf("parse ATLAS 5.x: no matrix")
	}
	a := catalog.ATLAS{Version: f.Version}
	for _, t := range m.Tactics {
		a.Tactics = append(a.Tactics, catalog.Tactic{ID: t.ID, Name: t.Name, AttackID: t.Attack.ID, Description: strings.TrimSpace(t.Description)})
	}
	tacticsOf := map[string][]string{}
	for _, t := range m.Techniques {
		if t.SubtechOf == "" {
			tacticsOf[t.ID] = t.Tactics
		}
	}
	for _, t := range m.Techniques {
		tactics := t.Tactics
		if len(tactics) == 0 && t.SubtechOf != "" {
			tactics = tacticsOf[t.SubtechOf]
		}
		a.Techniques = append(a.Techniques, catalog.Technique{
			ID: t.ID, Name: t.Name, Parent: t.SubtechOf, Tactics: tactics,
			AttackID: t.Attack.ID, Maturity: t.Maturity, Description: strings.TrimSpace(t.Description),
		})
	}
	for _, mi := range m.Mitigations {
		out := catalog.Mitigation{ID: mi.ID, Name: mi.Name, Categories: mi.Category, Description: strings.TrimSpace(mi.Description), Techniques: []string{}}
		seen := map[string]bool{}
		add := func(id string) {
			if id != "" && !seen[id] {
				seen[id] = true
				out.Techniques = append(out.Techniques, id)
			}
		}
		for _, r := range mi.Techniques {
			add(r.ID)
		}
		// ATLAS 5.6.0 misplaces {id, use} technique entries inside ml-lifecycle
		// (AML.M0018, AML.M0034); treat them as technique links.
		for _, n := range mi.Lifecycle {
			switch n.Kind {
			case yaml.ScalarNode:
				out.Lifecycle = append(out.Lifecycle, n.Value)
			case yaml.MappingNode:
				var r v5Ref
				if err := n.Decode(&r); err == nil {
					add(r.ID)
				}
			}
		}
		a.Mitigations = append(a.Mitigations, out)
	}
	for _, cs := range f.CaseStudies {
		out := catalog.CaseStudy{ID: cs.ID, Name: cs.Name, Type: cs.Type, Date: cs.Date, Target: cs.Target, Actor: cs.Actor, Full: strings.TrimSpace(cs.Summary), Procedure: []catalog.Procedure{}}
		for _, p := range cs.Procedure {
			out.Procedure = append(out.Procedure, catalog.Procedure{Tactic: p.Tactic, Technique: p.Technique})
		}
		a.CaseStudies = append(a.CaseStudies, out)
	}
	if len(a.Tactics) == 0 || len(a.Techniques) == 0 {
		return catalog.ATLAS{}, fmt.Errorf("parse ATLAS 5.x: no tactics or techniques found")
	}
	return a, nil
}

// Package source builds the embedded catalogue from the official sources in
// ../shared/data and the summaries and controls mlthreat writes itself. It
// keeps facts only: ids, names, relations, order and versions. The generator
// (go generate ./internal/catalog) and the tests that check the embedded
// catalogue against the sources both use it.
package source

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/catalog/atlasyaml"
)

// Encode writes the catalogue in its embedded, deterministic form.
func Encode(c *catalog.Catalog) ([]byte, error) {
	b, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

type summaries map[string]string

func readSummaries(own, name string) (summaries, error) {
	b, err := os.ReadFile(filepath.Join(own, "summaries", name))
	if err != nil {
		return nil, err
	}
	s := summaries{}
	if err := yaml.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return s, nil
}

type missing struct{ ids []string }

func (m *missing) get(s summaries, id string) string {
	v, ok := s[id]
	if !ok || strings.TrimSpace(v) == "" {
		m.ids = append(m.ids, id)
	}
	return strings.TrimSpace(v)
}

// Build assembles the catalogue.
func Build(data, own string) (*catalog.Catalog, error) {
	var miss missing
	load := func(name string) summaries {
		s, err := readSummaries(own, name)
		if err != nil {
			miss.ids = append(miss.ids, "file "+name+": "+err.Error())
			return summaries{}
		}
		return s
	}
	sTactics, sTech, sMit, sCases := load("atlas-tactics.yaml"), load("atlas-techniques.yaml"), load("atlas-mitigations.yaml"), load("atlas-case-studies.yaml")
	sRMF, sGenAI, sOWASP, sCat := load("rmf.yaml"), load("nist-600-1.yaml"), load("owasp.yaml"), load("stride-linddun.yaml")
	attackNames := load("attack-enterprise.yaml")

	a, err := atlasyaml.ReadFile(filepath.Join(data, "atlas", "ATLAS.yaml"))
	if err != nil {
		return nil, err
	}
	a.Source = "embedded"
	for i := range a.Tactics {
		a.Tactics[i].Description = ""
		a.Tactics[i].Summary = miss.get(sTactics, a.Tactics[i].ID)
	}
	for i := range a.Techniques {
		a.Techniques[i].Description = ""
		a.Techniques[i].Summary = miss.get(sTech, a.Techniques[i].ID)
	}
	for i := range a.Mitigations {
		a.Mitigations[i].Description = ""
		a.Mitigations[i].Summary = miss.get(sMit, a.Mitigations[i].ID)
	}
	for i := range a.CaseStudies {
		a.CaseStudies[i].Full = ""
		a.CaseStudies[i].Summary = miss.get(sCases, a.CaseStudies[i].ID)
	}

	c := &catalog.Catalog{
		Versions: map[string]string{
			"atlas": a.Version, "nist-ai-rmf": "1.0", "nist-ai-600-1": "2024-07",
			"owasp-ml": "2023", "owasp-llm": "2025, 2026", "owasp-asi": "2026",
			"stride": "1999", "linddun": "2023",
		},
		ATLAS:       a,
		OWASPLatest: map[string]string{"ML": "2023", "LLM": "2026", "ASI": "2026"},
	}

	if err := buildRMF(c, data, sRMF, &miss); err != nil {
		return nil, err
	}
	if err := buildGenAI(c, data, sGenAI, &miss); err != nil {
		return nil, err
	}
	if err := buildOWASP(c, data, sOWASP, &miss); err != nil {
		return nil, err
	}
	if err := buildCategories(c, data, sCat, &miss); err != nil {
		return nil, err
	}
	buildAttack(c, attackNames)
	if err := buildControls(c, own); err != nil {
		return nil, err
	}
	if n := len(miss.ids); n > 0 {
		shown := miss.ids
		if n > 12 {
			shown = append(shown[:12:12], fmt.Sprintf("and %d more", n-12))
		}
		return nil, fmt.Errorf("%d items have no summary in summaries/: %s", n, strings.Join(shown, ", "))
	}
	c.Reindex()
	return c, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}

func buildRMF(c *catalog.Catalog, data string, s summaries, miss *missing) error {
	var core struct {
		Functions []struct {
			ID, Title string
		} `json:"functions"`
		Categories []struct {
			ID, Function string
		} `json:"categories"`
		Subcategories []struct {
			ID, Category, Function string
		} `json:"subcategories"`
	}
	if err := readJSON(filepath.Join(data, "nist-ai-rmf", "ai_rmf_core.json"), &core); err != nil {
		return err
	}
	c.RMF.Version = "1.0"
	for _, f := range core.Functions {
		c.RMF.Functions = append(c.RMF.Functions, catalog.RMFItem{ID: f.ID, Title: f.Title, Function: f.ID, Summary: miss.get(s, f.ID)})
	}
	for _, f := range core.Categories {
		c.RMF.Categories = append(c.RMF.Categories, catalog.RMFItem{ID: f.ID, Parent: f.Function, Function: f.Function, Summary: miss.get(s, f.ID)})
	}
	for _, f := range core.Subcategories {
		c.RMF.Subcategories = append(c.RMF.Subcategories, catalog.RMFItem{ID: f.ID, Parent: f.Category, Function: f.Function, Summary: miss.get(s, f.ID)})
	}
	return nil
}

func buildGenAI(c *catalog.Catalog, data string, s summaries, miss *missing) error {
	var p struct {
		Risks []struct {
			ID     string `json:"id"`
			Number int    `json:"number"`
			Title  string `json:"title"`
		} `json:"risks"`
		Actions []struct {
			ID          string   `json:"id"`
			Subcategory string   `json:"subcategory"`
			Risks       []string `json:"risks"`
		} `json:"actions"`
	}
	if err := readJSON(filepath.Join(data, "nist-ai-rmf", "nist_ai_600_1_genai_profile.json"), &p); err != nil {
		return err
	}
	c.GenAI.Version = "NIST AI 600-1 (July 2024)"
	for _, r := range p.Risks {
		c.GenAI.Risks = append(c.GenAI.Risks, catalog.GenAIRisk{ID: r.ID, Number: r.Number, Name: r.Title, Summary: miss.get(s, r.ID)})
	}
	for _, a := range p.Actions {
		c.GenAI.Actions = append(c.GenAI.Actions, catalog.GenAIAction{ID: a.ID, Subcategory: a.Subcategory, Risks: a.Risks})
	}
	return nil
}

func buildOWASP(c *catalog.Catalog, data string, s summaries, miss *missing) error {
	type risk struct {
		ID, Key, Title  string
		PreviousEdition string `json:"previousEdition"`
	}
	var lists []struct {
		file, list, edition string
	}
	lists = append(lists,
		struct{ file, list, edition string }{"owasp_ml_top10_2023.json", "ML", "2023"},
		struct{ file, list, edition string }{"owasp_llm_top10_2025.json", "LLM", "2025"},
		struct{ file, list, edition string }{"owasp_llm_top10_2026.json", "LLM", "2026"},
	)
	for _, l := range lists {
		var f struct{ Risks []risk }
		if err := readJSON(filepath.Join(data, "owasp", l.file), &f); err != nil {
			return err
		}
		for _, r := range f.Risks {
			id := r.Key
			if id == "" {
				id = r.ID
			}
			c.OWASP = append(c.OWASP, catalog.OWASPItem{ID: id, List: l.list, Edition: l.edition, Name: r.Title, Previous: r.PreviousEdition, Summary: miss.get(s, id)})
		}
	}
	var asi struct {
		Entries []struct {
			Name string `yaml:"name"`
		} `yaml:"entries"`
	}
	b, err := os.ReadFile(filepath.Join(data, "owasp", "ibm_ai_atlas_nexus_owasp_agentic_top10_2026.yaml"))
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(b, &asi); err != nil {
		return err
	}
	for _, e := range asi.Entries {
		id, name, ok := strings.Cut(e.Name, " ")
		if !ok || !strings.HasPrefix(id, "ASI") {
			return fmt.Errorf("agentic top 10: unexpected entry name %q", e.Name)
		}
		c.OWASP = append(c.OWASP, catalog.OWASPItem{ID: id, List: "ASI", Edition: "2026", Name: name, Summary: miss.get(s, id)})
	}
	return nil
}

func buildCategories(c *catalog.Catalog, data string, s summaries, miss *missing) error {
	var f struct {
		STRIDE struct {
			Categories []struct {
				ID, Name         string
				ViolatedProperty string `json:"violatedProperty"`
			}
		} `json:"stride"`
		LINDDUN struct {
			Categories []struct {
				ID, Name         string
				ViolatedProperty string `json:"violatedProperty"`
			}
		} `json:"linddun"`
	}
	if err := readJSON(filepath.Join(data, "threat-categories", "threat_categories.json"), &f); err != nil {
		return err
	}
	for _, x := range f.STRIDE.Categories {
		c.STRIDE = append(c.STRIDE, catalog.Category{ID: x.ID, Name: x.Name, Property: x.ViolatedProperty, Summary: miss.get(s, "STRIDE:"+x.ID)})
	}
	for _, x := range f.LINDDUN.Categories {
		c.LINDDUN = append(c.LINDDUN, catalog.Category{ID: x.ID, Name: x.Name, Property: x.ViolatedProperty, Summary: miss.get(s, "LINDDUN:"+x.ID)})
	}
	return nil
}

// buildAttack joins the ATT&CK ids ATLAS references with a hand-kept name list.
func buildAttack(c *catalog.Catalog, names summaries) {
	items := map[string]*catalog.AttackItem{}
	get := func(id string) *catalog.AttackItem {
		if it := items[id]; it != nil {
			return it
		}
		it := &catalog.AttackItem{ID: id}
		items[id] = it
		return it
	}
	for _, t := range c.ATLAS.Tactics {
		if t.AttackID != "" {
			it := get(t.AttackID)
			it.ATLAS = append(it.ATLAS, t.ID)
			if it.Name == "" {
				it.Name = t.Name
			}
		}
	}
	for _, t := range c.ATLAS.Techniques {
		if t.AttackID != "" {
			it := get(t.AttackID)
			it.ATLAS = append(it.ATLAS, t.ID)
			if it.Name == "" {
				it.Name = t.Name
			}
		}
	}
	for id, n := range names {
		get(id).Name = n
	}
	ids := make([]string, 0, len(items))
	for id := range items {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		c.Attack = append(c.Attack, *items[id])
	}
}

func buildControls(c *catalog.Catalog, own string) error {
	b, err := os.ReadFile(filepath.Join(own, "controls.yaml"))
	if err != nil {
		return err
	}
	var f struct {
		Controls []catalog.Control `yaml:"controls"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("controls.yaml: %v", err)
	}
	seen := map[string]bool{}
	for _, ct := range f.Controls {
		if seen[ct.ID] {
			return fmt.Errorf("controls.yaml: duplicate control %s", ct.ID)
		}
		seen[ct.ID] = true
		for _, m := range ct.Mitigations {
			ok := false
			for _, am := range c.ATLAS.Mitigations {
				ok = ok || am.ID == m
			}
			if !ok {
				return fmt.Errorf("controls.yaml: %s names unknown ATLAS mitigation %s", ct.ID, m)
			}
		}
	}
	c.Controls = f.Controls
	return nil
}

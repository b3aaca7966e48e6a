package gap

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/model"
)

// Profile says which subcategories a system must satisfy and how well.
type Profile struct {
	Name           string
	Description    string
	Required       map[string]string // subcategory -> minimum status: partial or met
	NotApplicable  map[string]string // subcategory -> reason
	MaxEvidenceAge int               // days; 0 means no limit
	GenAI          *GenAIOverlay     // NIST AI 600-1 overlay, for generative systems
}

// GenAIOverlay lists the AI 600-1 risks a system raises and the suggested
// actions for them, by subcategory.
type GenAIOverlay struct {
	Risks   []string            // 600-1 risk ids
	Actions map[string][]string // subcategory -> action ids
}

// Profiles are the built-in profile names.
var Profiles = []string{"baseline", "high-risk", "generative"}

// DefaultProfile is the profile used when none is named: high-risk for a
// system of critical business criticality, generative for LLM and agentic
// systems, baseline otherwise.
func DefaultProfile(s *model.System) string {
	if s.Info.Criticality == "critical" {
		return "high-risk"
	}
	for _, c := range s.Components {
		if c.Kind == "llm" || c.Kind == "agent" {
			return "generative"
		}
	}
	return "baseline"
}

// ResolveProfile returns the profile a name means for a system: the default
// when the name is empty, a built-in profile, or else a profile file.
func ResolveProfile(name string, s *model.System, cat *catalog.Catalog) (*Profile, error) {
	if name == "" {
		name = DefaultProfile(s)
	}
	if slices.Contains(Profiles, name) {
		return BuiltinProfile(name, s, cat)
	}
	return LoadProfile(name, cat)
}

// BuiltinProfile returns a built-in profile for a system.
func BuiltinProfile(name string, s *model.System, cat *catalog.Catalog) (*Profile, error) {
	all := func(min string) map[string]string {
		m := map[string]string{}
		for _, sub := range cat.RMF.Subcategories {
			m[sub.ID] = min
		}
		return m
	}
	switch name {
	case "baseline", "":
		return &Profile{Name: "baseline", Description: "Every subcategory at least partly addressed; evidence no older than a year.",
			Required: all("partial"), NotApplicable: map[string]string{}, MaxEvidenceAge: 365}, nil
	case "high-risk":
		return &Profile{Name: "high-risk", Description: "Every subcategory fully met; evidence no older than six months.",
			Required: all("met"), NotApplicable: map[string]string{}, MaxEvidenceAge: 182}, nil
	case "generative":
		p := &Profile{Name: "generative", Description: "Baseline plus the NIST AI 600-1 overlay: subcategories with suggested actions for the generative-AI risks this system raises must be met.",
			Required: all("partial"), NotApplicable: map[string]string{}, MaxEvidenceAge: 365}
		o := overlay(s, cat)
		p.GenAI = o
		for sub := range o.Actions {
			p.Required[sub] = "met"
		}
		return p, nil
	}
	return nil, fmt.Errorf("unknown profile %q; built in: %s, or give a profile file", name, strings.Join(Profiles, ", "))
}

// overlay picks the AI 600-1 risks the system raises from its architecture.
func overlay(s *model.System, cat *catalog.Catalog) *GenAIOverlay {
	has := map[string]bool{}
	pii := false
	for _, c := range s.Components {
		has[c.Kind] = true
	}
	for _, d := range s.Data {
		pii = pii || d.PII
	}
	generative := has["llm"] || has["agent"] || has["prompt"]
	for _, p := range s.Info.Platforms {
		generative = generative || p == "generative" || p == "agentic"
	}
	raise := map[string]bool{}
	if generative {
		for _, r := range []string{"information-security", "confabulation", "information-integrity", "value-chain-component-integration", "intellectual-property", "harmful-bias-homogenization", "dangerous-violent-hateful-content"} {
			raise[r] = true
		}
		if pii {
			raise["data-privacy"] = true
		}
		if has["agent"] || has["application"] || has["tool"] {
			raise["human-ai-configuration"] = true
		}
		if has["training"] {
			raise["environmental-impacts"] = true
		}
	}
	o := &GenAIOverlay{Actions: map[string][]string{}}
	for _, r := range cat.GenAI.Risks {
		if raise[r.ID] {
			o.Risks = append(o.Risks, r.ID)
		}
	}
	for _, a := range cat.GenAI.Actions {
		for _, r := range a.Risks {
			if raise[r] {
				o.Actions[a.Subcategory] = append(o.Actions[a.Subcategory], a.ID)
				break
			}
		}
	}
	for k := range o.Actions {
		sort.Strings(o.Actions[k])
	}
	return o
}

type rawProfile struct {
	Name           string            `yaml:"name"`
	Description    string            `yaml:"description"`
	Default        string            `yaml:"default"` // minimum for subcategories not listed: partial, met or none
	Required       map[string]string `yaml:"required"`
	NotApplicable  map[string]string `yaml:"not_applicable"`
	MaxEvidenceAge int               `yaml:"max_evidence_age_days"`
}

// LoadProfile reads a user profile file.
func LoadProfile(path string, cat *catalog.Catalog) (*Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var r rawProfile
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	p := &Profile{Name: r.Name, Description: r.Description, Required: map[string]string{}, NotApplicable: map[string]string{}, MaxEvidenceAge: r.MaxEvidenceAge}
	if p.Name == "" {
		p.Name = path
	}
	if r.Default != "" && r.Default != "none" {
		if r.Default != "partial" && r.Default != "met" {
			return nil, fmt.Errorf("%s: default %q; expected partial, met or none", path, r.Default)
		}
		for _, s := range cat.RMF.Subcategories {
			p.Required[s.ID] = r.Default
		}
	}
	norm := func(id string) (string, error) {
		n, ok := catalog.NormalizeRMF(id)
		if !ok || cat.RMFItem(n) == nil || !strings.Contains(n, ".") {
			return "", fmt.Errorf("%s: unknown AI RMF subcategory %q", path, id)
		}
		return n, nil
	}
	for id, min := range r.Required {
		n, err := norm(id)
		if err != nil {
			return nil, err
		}
		if min != "partial" && min != "met" {
			return nil, fmt.Errorf("%s: %s: minimum %q; expected partial or met", path, id, min)
		}
		p.Required[n] = min
	}
	for id, why := range r.NotApplicable {
		n, err := norm(id)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(why) == "" {
			return nil, fmt.Errorf("%s: not_applicable %s needs a reason", path, id)
		}
		p.NotApplicable[n] = why
		delete(p.Required, n)
	}
	return p, nil
}

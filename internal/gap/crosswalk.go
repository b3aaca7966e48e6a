// Package gap holds the NIST AI RMF side of mlthreat: the crosswalk from
// ATLAS mitigations, mlthreat controls and governance practices to AI RMF
// subcategories (data in crosswalk/, embedded), checked against the
// catalogue when it loads.
package gap

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/mlthreat/mlthreat/crosswalk"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/suggest"
)

// Bases a crosswalk link may cite.
var Bases = []string{"owasp-llm-2026-appendix-a", "nist-ai-600-1", "cosai-risk-map", "project-analysis"}

// Link says that a control or practice helps satisfy a subcategory.
type Link struct {
	From      string // ATLAS mitigation, mlthreat control or practice id
	RMF       string // subcategory, e.g. MEASURE 2.7
	Basis     string
	Strength  string // full | partial
	Rationale string
	File      string
	Line      int
}

// Practice is a governance practice of the vocabulary.
type Practice struct {
	ID        string
	Name      string
	Summary   string
	Effort    string // S, M or L
	DependsOn []string
	Links     []Link
}

// Crosswalk is every link and practice, indexed.
type Crosswalk struct {
	Links     []Link // mitigations and controls
	Practices []Practice
	bySub     map[string][]Link
	byFrom    map[string][]Link
	practice  map[string]*Practice
}

type rawLink struct {
	From      string `yaml:"from"`
	RMF       string `yaml:"rmf"`
	Basis     string `yaml:"basis"`
	Strength  string `yaml:"strength"`
	Rationale string `yaml:"rationale"`
}

type rawPractice struct {
	ID        string   `yaml:"id"`
	Name      string   `yaml:"name"`
	Summary   string   `yaml:"summary"`
	Effort    string   `yaml:"effort"`
	DependsOn []string `yaml:"depends_on"`
	RMF       []struct {
		ID        string `yaml:"id"`
		Strength  string `yaml:"strength"`
		Rationale string `yaml:"rationale"`
	} `yaml:"rmf"`
}

// Load reads and checks the embedded crosswalk. Every id must exist in the
// catalogue; RMF spellings are normalised.
//
// The crosswalk is read-only once built, so it is built once per catalogue:
// validation and every push to the server ask for it again.
func Load(cat *catalog.Catalog) (*Crosswalk, error) {
	v, _ := loaded.LoadOrStore(cat, &loadOnce{})
	l := v.(*loadOnce)
	l.once.Do(func() { l.cw, l.err = build(cat) })
	return l.cw, l.err
}

// loaded holds one crosswalk per catalogue (there is one, or one more
// with --atlas).
var loaded sync.Map

type loadOnce struct {
	once sync.Once
	cw   *Crosswalk
	err  error
}

func build(cat *catalog.Catalog) (*Crosswalk, error) {
	cw := &Crosswalk{bySub: map[string][]Link{}, byFrom: map[string][]Link{}, practice: map[string]*Practice{}}
	var errs []string
	fail := func(file string, line int, format string, args ...any) {
		errs = append(errs, fmt.Sprintf("crosswalk/%s:%d: %s", file, line, fmt.Sprintf(format, args...)))
	}
	rmf := func(file string, line int, id string) string {
		norm, ok := catalog.NormalizeRMF(id)
		if !ok || cat.RMFItem(norm) == nil || !strings.Contains(norm, ".") {
			fail(file, line, "unknown AI RMF subcategory %q%s", id, suggest.DidYouMean(catalog.Closest(id, cat.IDsOf(catalog.KindRMF), 2)))
			return ""
		}
		return norm
	}
	for _, file := range []string{"atlas-mitigations.yaml", "mlthreat-controls.yaml"} {
		b, err := crosswalk.Files.ReadFile(file)
		if err != nil {
			return nil, err
		}
		var doc struct {
			Links []yaml.Node `yaml:"links"`
		}
		if err := decodeStrict(b, &doc); err != nil {
			return nil, fmt.Errorf("crosswalk/%s: %v", file, err)
		}
		seen := map[string]int{}
		for i := range doc.Links {
			n := &doc.Links[i]
			var r rawLink
			if err := n.Decode(&r); err != nil {
				fail(file, n.Line, "%v", err)
				continue
			}
			if cat.Mitigation(r.From) == nil && cat.Control(r.From) == nil {
				fail(file, n.Line, "unknown mitigation or control %q", r.From)
				continue
			}
			sub := rmf(file, n.Line, r.RMF)
			if sub == "" {
				continue
			}
			if !slices.Contains(Bases, r.Basis) {
				fail(file, n.Line, "basis %q; expected one of %s", r.Basis, strings.Join(Bases, ", "))
			}
			if r.Strength != "full" && r.Strength != "partial" {
				fail(file, n.Line, "strength %q; expected full or partial", r.Strength)
			}
			key := r.From + "|" + sub
			if prev, ok := seen[key]; ok {
				fail(file, n.Line, "%s -> %s repeats line %d", r.From, sub, prev)
			}
			seen[key] = n.Line
			l := Link{From: r.From, RMF: sub, Basis: r.Basis, Strength: r.Strength, Rationale: strings.TrimSpace(r.Rationale), File: file, Line: n.Line}
			cw.Links = append(cw.Links, l)
		}
	}
	b, err := crosswalk.Files.ReadFile("practices.yaml")
	if err != nil {
		return nil, err
	}
	var doc struct {
		Practices []yaml.Node `yaml:"practices"`
	}
	if err := decodeStrict(b, &doc); err != nil {
		return nil, fmt.Errorf("crosswalk/practices.yaml: %v", err)
	}
	for i := range doc.Practices {
		n := &doc.Practices[i]
		var r rawPractice
		if err := n.Decode(&r); err != nil {
			fail("practices.yaml", n.Line, "%v", err)
			continue
		}
		if cw.practice[r.ID] != nil {
			fail("practices.yaml", n.Line, "practice %q defined twice", r.ID)
			continue
		}
		if r.Effort != "S" && r.Effort != "M" && r.Effort != "L" {
			fail("practices.yaml", n.Line, "practice %s: effort %q; expected S, M or L", r.ID, r.Effort)
		}
		p := Practice{ID: r.ID, Name: r.Name, Summary: strings.TrimSpace(r.Summary), Effort: r.Effort, DependsOn: r.DependsOn}
		for _, x := range r.RMF {
			sub := rmf("practices.yaml", n.Line, x.ID)
			if sub == "" {
				continue
			}
			if x.Strength != "full" && x.Strength != "partial" {
				fail("practices.yaml", n.Line, "practice %s: strength %q; expected full or partial", r.ID, x.Strength)
			}
			p.Links = append(p.Links, Link{From: r.ID, RMF: sub, Basis: "project-analysis", Strength: x.Strength, Rationale: strings.TrimSpace(x.Rationale), File: "practices.yaml", Line: n.Line})
		}
		cw.Practices = append(cw.Practices, p)
		cw.practice[p.ID] = &cw.Practices[len(cw.Practices)-1]
	}
	// Pointers into the slice are taken after it stops growing.
	for i := range cw.Practices {
		cw.practice[cw.Practices[i].ID] = &cw.Practices[i]
	}
	for _, p := range cw.Practices {
		for _, d := range p.DependsOn {
			if cw.practice[d] == nil {
				fail("practices.yaml", 0, "practice %s depends on unknown practice %q", p.ID, d)
			}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	all := append([]Link{}, cw.Links...)
	for _, p := range cw.Practices {
		all = append(all, p.Links...)
	}
	for _, l := range all {
		cw.bySub[l.RMF] = append(cw.bySub[l.RMF], l)
		cw.byFrom[l.From] = append(cw.byFrom[l.From], l)
	}
	return cw, nil
}

func decodeStrict(b []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// For lists the links that support a subcategory.
func (c *Crosswalk) For(subcategory string) []Link { return c.bySub[subcategory] }

// From lists the subcategories a control, mitigation or practice supports.
func (c *Crosswalk) From(id string) []Link { return c.byFrom[id] }

// Practice returns a practice of the vocabulary, or nil.
func (c *Crosswalk) Practice(id string) *Practice { return c.practice[id] }

// PracticeIDs lists the vocabulary, sorted.
func (c *Crosswalk) PracticeIDs() []string {
	out := make([]string, 0, len(c.Practices))
	for _, p := range c.Practices {
		out = append(out, p.ID)
	}
	sort.Strings(out)
	return out
}

// Unreachable lists the subcategories no link reaches.
func (c *Crosswalk) Unreachable(cat *catalog.Catalog) []string {
	var out []string
	for _, s := range cat.RMF.Subcategories {
		if len(c.bySub[s.ID]) == 0 {
			out = append(out, s.ID)
		}
	}
	return out
}

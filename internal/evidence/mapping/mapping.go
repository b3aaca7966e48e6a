// Package mapping holds mlthreat's own mapping from red-team tools to ATLAS
// techniques (mapping.yaml, embedded): garak probes and tags, promptfoo
// plugins and strategies, and the Adversarial Robustness Toolbox attacks to
// run for a technique. Every row carries the reason for it.
package mapping

import (
	"bytes"
	_ "embed"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/mlthreat/mlthreat/internal/evidence"
)

//go:embed mapping.yaml
var mappingYAML []byte

// Row maps one name (a probe, tag, plugin or strategy) to techniques.
type Row struct {
	Name       string
	Techniques []string
	Why        string
	Run        []string // what testplan proposes for the row
	Line       int
}

// Attack is an ART attack family and its classes for one technique.
type Attack struct {
	Technique string
	Class     string // evasion | extraction | inference | poisoning
	Module    string // Python module the classes are imported from
	Attacks   []string
	Why       string
	Line      int
}

// Mapping is the whole table.
type Mapping struct {
	GarakProbes         []Row
	GarakTags           []Row
	PromptfooPlugins    []Row
	PromptfooStrategies []Row
	ART                 []Attack
}

type fileRow struct {
	Probe      string    `yaml:"probe"`
	Tag        string    `yaml:"tag"`
	Plugin     string    `yaml:"plugin"`
	Strategy   string    `yaml:"strategy"`
	Techniques []string  `yaml:"techniques"`
	Why        string    `yaml:"why"`
	Run        *[]string `yaml:"run"`
}

type fileART struct {
	Technique string   `yaml:"technique"`
	Class     string   `yaml:"class"`
	Module    string   `yaml:"module"`
	Attacks   []string `yaml:"attacks"`
	Why       string   `yaml:"why"`
}

type file struct {
	Mapping int `yaml:"mapping"`
	Garak   struct {
		Probes []yaml.Node `yaml:"probes"`
		Tags   []yaml.Node `yaml:"tags"`
	} `yaml:"garak"`
	Promptfoo struct {
		Plugins    []yaml.Node `yaml:"plugins"`
		Strategies []yaml.Node `yaml:"strategies"`
	} `yaml:"promptfoo"`
	ART []yaml.Node `yaml:"art"`
}

var (
	once    sync.Once
	dflt    *Mapping
	dfltErr error
)

// Default is the embedded mapping. It panics only if the embedded file is
// broken, which the package's tests rule out.
func Default() *Mapping {
	once.Do(func() { dflt, dfltErr = Parse(mappingYAML) })
	if dfltErr != nil {
		panic("embedded evidence mapping: " + dfltErr.Error())
	}
	return dflt
}

// Parse reads a mapping file.
func Parse(data []byte) (*Mapping, error) {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if f.Mapping != 1 {
		return nil, fmt.Errorf("mapping: version %d, want 1", f.Mapping)
	}
	m := &Mapping{}
	var err error
	rows := func(nodes []yaml.Node, key string, pick func(*fileRow) string) []Row {
		var out []Row
		seen := map[string]int{}
		for i := range nodes {
			var r fileRow
			if e := decodeStrict(&nodes[i], &r); e != nil {
				err = fmt.Errorf("line %d: %v", nodes[i].Line, e)
				return nil
			}
			name := pick(&r)
			if name == "" || r.Why == "" || r.Techniques == nil {
				err = fmt.Errorf("line %d: a %s row needs %s, techniques and why", nodes[i].Line, key, key)
				return nil
			}
			if first, dup := seen[name]; dup {
				err = fmt.Errorf("line %d: %s %q repeats line %d", nodes[i].Line, key, name, first)
				return nil
			}
			seen[name] = nodes[i].Line
			run := []string{name}
			if strings.HasSuffix(name, ":") {
				run = nil
			}
			if r.Run != nil {
				run = *r.Run
			}
			out = append(out, Row{Name: name, Techniques: r.Techniques, Why: r.Why, Run: run, Line: nodes[i].Line})
		}
		return out
	}
	m.GarakProbes = rows(f.Garak.Probes, "probe", func(r *fileRow) string { return r.Probe })
	m.GarakTags = rows(f.Garak.Tags, "tag", func(r *fileRow) string { return r.Tag })
	m.PromptfooPlugins = rows(f.Promptfoo.Plugins, "plugin", func(r *fileRow) string { return r.Plugin })
	m.PromptfooStrategies = rows(f.Promptfoo.Strategies, "strategy", func(r *fileRow) string { return r.Strategy })
	if err != nil {
		return nil, err
	}
	for i := range f.ART {
		var a fileART
		if e := decodeStrict(&f.ART[i], &a); e != nil {
			return nil, fmt.Errorf("line %d: %v", f.ART[i].Line, e)
		}
		if a.Technique == "" || a.Why == "" || len(a.Attacks) == 0 || !slices.Contains([]string{"evasion", "extraction", "inference", "poisoning"}, a.Class) {
			return nil, fmt.Errorf("line %d: an art row needs technique, class (evasion, extraction, inference or poisoning), attacks and why", f.ART[i].Line)
		}
		if a.Module == "" {
			a.Module = "art.attacks." + a.Class
		}
		m.ART = append(m.ART, Attack{Technique: a.Technique, Class: a.Class, Module: a.Module, Attacks: a.Attacks, Why: a.Why, Line: f.ART[i].Line})
	}
	return m, nil
}

func decodeStrict(n *yaml.Node, v any) error {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	if err := enc.Encode(n); err != nil {
		return err
	}
	dec := yaml.NewDecoder(&b)
	dec.KnownFields(true)
	return dec.Decode(v)
}

// GarakProbe finds the row for a garak probe ("module.Class"): the class's
// own row, else its module's. ok is false for a probe the mapping does not
// know.
func (m *Mapping) GarakProbe(probe string) (Row, bool) {
	probe = strings.TrimPrefix(probe, "probes.")
	for _, name := range []string{probe, moduleOf(probe)} {
		for _, r := range m.GarakProbes {
			if r.Name == name {
				return r, true
			}
		}
	}
	return Row{}, false
}

// GarakTagTechniques maps garak probe tags to techniques through the tag rows. ok is
// false when no tag has a row.
func (m *Mapping) GarakTagTechniques(tags []string) (techs []string, ok bool) {
	for _, t := range tags {
		for _, r := range m.GarakTags {
			if r.Name == t {
				ok = true
				techs = addAll(techs, r.Techniques)
			}
		}
	}
	return techs, ok
}

// PromptfooPlugin finds the row for a plugin id: an exact row, else the
// longest prefix row ("harmful:" for "harmful:hate").
func (m *Mapping) PromptfooPlugin(id string) (Row, bool) {
	return lookup(m.PromptfooPlugins, id)
}

// PromptfooStrategy finds the row for a strategy id, as PromptfooPlugin.
func (m *Mapping) PromptfooStrategy(id string) (Row, bool) {
	return lookup(m.PromptfooStrategies, id)
}

func lookup(rows []Row, id string) (Row, bool) {
	best, found := Row{}, false
	for _, r := range rows {
		if r.Name == id {
			return r, true
		}
		if strings.HasSuffix(r.Name, ":") && strings.HasPrefix(id, r.Name) && len(r.Name) > len(best.Name) {
			best, found = r, true
		}
	}
	return best, found
}

// Runs lists what to run, from the rows, for a threat on technique: the
// union of the Run names of every row one of whose techniques matches it,
// sorted.
func Runs(rows []Row, technique string) []string {
	var out []string
	for _, r := range rows {
		for _, t := range r.Techniques {
			if evidence.SameTechnique(t, technique) {
				out = addAll(out, r.Run)
				break
			}
		}
	}
	// A module already run covers its classes.
	kept := out[:0]
	for _, name := range out {
		if mod := moduleOf(name); mod == name || !slices.Contains(out, mod) {
			kept = append(kept, name)
		}
	}
	sort.Strings(kept)
	return kept
}

// ARTFor lists the ART attack rows for a threat on technique: the rows for
// the technique itself, else for its parent. A parent's threat does not get
// its sub-techniques' attacks: a supply chain threat (AML.T0010) is not
// tested by the data poisoning attacks of AML.T0010.002.
func (m *Mapping) ARTFor(technique string) []Attack {
	var exact, parent []Attack
	for _, a := range m.ART {
		switch a.Technique {
		case technique:
			exact = append(exact, a)
		case parentOf(technique):
			parent = append(parent, a)
		}
	}
	if len(exact) > 0 {
		return exact
	}
	return parent
}

func parentOf(t string) string {
	if i := strings.LastIndexByte(t, '.'); i > len("AML.T") {
		return t[:i]
	}
	return t
}

func moduleOf(probe string) string {
	if i := strings.IndexByte(probe, '.'); i > 0 {
		return probe[:i]
	}
	return probe
}

func addAll(list, items []string) []string {
	for _, it := range items {
		if !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}

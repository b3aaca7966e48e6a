package model

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"go.yaml.in/yaml/v3"
)

// kindsJSON is kinds.yaml converted by go generate, which loads faster.
//
//go:embed kinds.json
var kindsJSON []byte

// Prop types a vocabulary entry may declare.
const (
	TypeEnum       = "enum"
	TypeEnumList   = "enum-list"
	TypeString     = "string"
	TypeStringList = "string-list"
	TypeBool       = "bool"
	TypeInt        = "int"
	TypeNumber     = "number"
	TypeDate       = "date"
)

// PropSpec is one known prop of a component kind.
type PropSpec struct {
	Name    string   `yaml:"name" json:"name"`
	Type    string   `yaml:"type" json:"type"`
	Values  []string `yaml:"values" json:"values,omitempty"`
	Aliases []string `yaml:"aliases" json:"aliases,omitempty"`
	Summary string   `yaml:"summary" json:"summary"`
	Min     *float64 `yaml:"min" json:"min,omitempty"`
	Max     *float64 `yaml:"max" json:"max,omitempty"`
}

// KindSpec is one component kind and its props.
type KindSpec struct {
	Kind    string     `yaml:"kind" json:"kind"`
	Group   string     `yaml:"group" json:"group"`
	Summary string     `yaml:"summary" json:"summary"`
	Props   []PropSpec `yaml:"props" json:"props"`
	Example string     `yaml:"example" json:"example"`
}

// Vocabulary is every kind with its props, plus the props valid on all kinds.
type Vocabulary struct {
	Common []PropSpec `yaml:"common_props" json:"common_props"`
	Kinds  []KindSpec `yaml:"kinds" json:"kinds"`
	byKind map[string]*KindSpec
}

var (
	vocabOnce sync.Once
	vocab     *Vocabulary
	vocabErr  error
)

// Kinds returns the embedded vocabulary of component kinds and props.
func Kinds() *Vocabulary {
	vocabOnce.Do(func() {
		var v Vocabulary
		if vocabErr = json.Unmarshal(kindsJSON, &v); vocabErr == nil {
			vocabErr = v.init()
			vocab = &v
		}
	})
	if vocabErr != nil {
		panic("embedded kinds.yaml is invalid: " + vocabErr.Error())
	}
	return vocab
}

// ParseVocabulary reads a kinds.yaml document and checks it is consistent.
func ParseVocabulary(b []byte) (*Vocabulary, error) {
	var v Vocabulary
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	if err := v.init(); err != nil {
		return nil, err
	}
	return &v, nil
}

// init checks the vocabulary and builds its index.
func (v *Vocabulary) init() error {
	v.byKind = map[string]*KindSpec{}
	common := map[string]bool{}
	for _, p := range v.Common {
		if err := checkSpec(p); err != nil {
			return fmt.Errorf("common prop %s: %w", p.Name, err)
		}
		common[p.Name] = true
		for _, a := range p.Aliases {
			common[a] = true
		}
	}
	for i := range v.Kinds {
		k := &v.Kinds[i]
		if v.byKind[k.Kind] != nil {
			return fmt.Errorf("kind %s listed twice", k.Kind)
		}
		v.byKind[k.Kind] = k
		seen := map[string]bool{}
		for _, p := range k.Props {
			if err := checkSpec(p); err != nil {
				return fmt.Errorf("kind %s prop %s: %w", k.Kind, p.Name, err)
			}
			for _, n := range append([]string{p.Name}, p.Aliases...) {
				if seen[n] || common[n] {
					return fmt.Errorf("kind %s: prop name %s is used twice", k.Kind, n)
				}
				seen[n] = true
			}
		}
	}
	return nil
}

func checkSpec(p PropSpec) error {
	switch p.Type {
	case TypeEnum, TypeEnumList:
		if len(p.Values) == 0 {
			return fmt.Errorf("%s has no values", p.Type)
		}
	case TypeString, TypeStringList, TypeBool, TypeInt, TypeNumber, TypeDate:
	default:
		return fmt.Errorf("unknown type %q", p.Type)
	}
	return nil
}

// Kind returns the spec of a kind, or nil.
func (v *Vocabulary) Kind(kind string) *KindSpec { return v.byKind[kind] }

// KindNames lists every kind, in vocabulary order.
func (v *Vocabulary) KindNames() []string {
	out := make([]string, len(v.Kinds))
	for i, k := range v.Kinds {
		out[i] = k.Kind
	}
	return out
}

// Prop finds the spec for a prop name or alias on a kind (common props
// included). canonical is the name the prop is stored under.
func (v *Vocabulary) Prop(kind, name string) (spec *PropSpec, canonical string) {
	lists := [][]PropSpec{v.Common}
	if k := v.byKind[kind]; k != nil {
		lists = append([][]PropSpec{k.Props}, lists...)
	}
	for _, l := range lists {
		for i := range l {
			if l[i].Name == name {
				return &l[i], name
			}
			for _, a := range l[i].Aliases {
				if a == name {
					return &l[i], l[i].Name
				}
			}
		}
	}
	return nil, ""
}

// PropNames lists the names (not aliases) valid on a kind, common ones included.
func (v *Vocabulary) PropNames(kind string) []string {
	var out []string
	if k := v.byKind[kind]; k != nil {
		for _, p := range k.Props {
			out = append(out, p.Name)
		}
	}
	for _, p := range v.Common {
		out = append(out, p.Name)
	}
	return out
}

// KindsWithProp lists the kinds that know a prop name, sorted.
func (v *Vocabulary) KindsWithProp(name string) []string {
	var out []string
	for _, k := range v.Kinds {
		for _, p := range k.Props {
			if p.Name == name {
				out = append(out, k.Kind)
			}
		}
	}
	sort.Strings(out)
	return out
}

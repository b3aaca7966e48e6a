// Package rules holds threat rules as data: the rule type, the loader for rule
// packs (YAML, with file:line errors), and the CEL conditions compiled from
// them. It knows the model vocabulary and the catalogue, and nothing of how
// threats are scored or reported.
package rules

import (
	"fmt"
	"runtime"
	"strconv"
	"sync"

	"github.com/google/cel-go/cel"
)

// Rule is one threat rule from a pack.
type Rule struct {
	ID          string
	Title       string
	AppliesTo   []string // component kinds, "flow" or "zone"
	When        string   // CEL condition; empty means always
	Technique   string   // main ATLAS technique
	Related     []string // further ATLAS techniques
	Tactics     []string // from the catalogue
	STRIDE      []string
	LINDDUN     []string
	OWASP       []string
	Likelihood  Score
	Impact      Score
	Mitigations []string // ATLAS mitigations and mlthreat control ids that reduce it
	RMF         []string
	Rationale   string

	File string // pack file
	Line int    // line of the rule in the pack

	cond *condition
}

// Score is a rule's base score on one axis and the factors that move it.
type Score struct {
	Base    int
	Factors []Factor
}

// Factor adds to a score when its condition holds.
type Factor struct {
	When   string
	Add    int
	Reason string
	Line   int

	cond *condition
}

// condition is a CEL expression compiled on first use. Built-in packs are
// compiled lazily (tests compile them all); user packs are compiled at load
// so that every error is reported before analysis starts.
type condition struct {
	expr string
	once sync.Once
	prg  cel.Program
	err  error
}

func newCondition(expr string) *condition {
	if expr == "" {
		return nil
	}
	return &condition{expr: expr}
}

func (c *condition) program() (cel.Program, error) {
	if c == nil {
		return nil, nil
	}
	c.once.Do(func() { c.prg, c.err = programFor(c.expr) })
	return c.prg, c.err
}

// Precompile compiles the conditions of the rules for the given kinds in the
// background, on all cores, so that evaluation finds them ready.
func (s *Set) Precompile(kinds map[string]bool) {
	var conds []*condition
	for _, r := range s.Rules {
		use := false
		for _, k := range r.AppliesTo {
			use = use || kinds[k]
		}
		if !use {
			continue
		}
		conds = append(conds, r.cond)
		for _, f := range r.Likelihood.Factors {
			conds = append(conds, f.cond)
		}
		for _, f := range r.Impact.Factors {
			conds = append(conds, f.cond)
		}
	}
	workers := runtime.GOMAXPROCS(0)
	for w := 0; w < workers; w++ {
		go func() {
			for i := w; i < len(conds); i += workers {
				conds[i].program()
			}
		}()
	}
}

// CompileAll compiles every condition now and reports the first failure.
func (s *Set) CompileAll() error {
	for _, r := range s.Rules {
		if _, err := r.cond.program(); err != nil {
			return fmt.Errorf("%s: rule %s: condition does not compile: %v", r.Location(), r.ID, err)
		}
		for _, f := range append(append([]Factor{}, r.Likelihood.Factors...), r.Impact.Factors...) {
			if _, err := f.cond.program(); err != nil {
				return fmt.Errorf("%s: rule %s: factor %q does not compile: %v", r.Location(), r.ID, f.When, err)
			}
		}
	}
	return nil
}

// Pack is one loaded rule file.
type Pack struct {
	Name  string
	File  string
	Rules []*Rule
}

// Set is every loaded rule, in a stable order.
type Set struct {
	Packs []*Pack
	Rules []*Rule
	byID  map[string]*Rule
}

// Rule returns a rule by id, or nil.
func (s *Set) Rule(id string) *Rule { return s.byID[id] }

// Location is where the rule is defined, as file:line.
func (r *Rule) Location() string { return r.File + ":" + strconv.Itoa(r.Line) }

// Package eval measures the rule packs against real incidents: each model in
// a folder describes the victim system of one ATLAS case study as it stood
// before the attack (facts only), and eval reports how many of the case
// study's techniques the analysis flags.
package eval

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/validate"
)

// CaseKey is the extension key naming the case study a model describes.
const CaseKey = "x-case-study"

// outside tactics are the adversary's own preparation, invisible in a model.
var outside = map[string]bool{"AML.TA0002": true, "AML.TA0003": true}

// Case is the result for one case study.
type Case struct {
	File      string
	CaseStudy string
	Name      string
	All       []string // distinct techniques of the procedure
	Facing    []string // those on system-facing steps
	Found     []string // procedure techniques the analysis flagged
	Missed    []string
	Flagged   int // distinct techniques the analysis flagged on the model
	Threats   int
}

// Recall of all steps and of system-facing steps.
func (c Case) Recall() (all, facing float64) {
	return ratio(count(c.All, c.Found), len(c.All)), ratio(count(c.Facing, c.Found), len(c.Facing))
}

// Result is the evaluation of a folder.
type Result struct {
	Cases []Case
}

// Totals are micro-averaged recalls and the mean number of techniques flagged.
func (r Result) Totals() (all, facing, flagged float64) {
	var na, ha, nf, hf, fl int
	for _, c := range r.Cases {
		na += len(c.All)
		ha += count(c.All, c.Found)
		nf += len(c.Facing)
		hf += count(c.Facing, c.Found)
		fl += c.Flagged
	}
	return ratio(ha, na), ratio(hf, nf), ratio(fl, len(r.Cases))
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func count(list, found []string) int {
	n := 0
	for _, x := range list {
		for _, f := range found {
			if x == f {
				n++
				break
			}
		}
	}
	return n
}

// Run evaluates every *.yaml model in dir.
func Run(dir string, cat *catalog.Catalog, set *rules.Set) (Result, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return Result{}, err
	}
	if len(files) == 0 {
		return Result{}, fmt.Errorf("%s: no *.yaml case models", dir)
	}
	sort.Strings(files)
	var res Result
	for _, f := range files {
		c, err := one(f, cat, set)
		if err != nil {
			return Result{}, err
		}
		res.Cases = append(res.Cases, c)
	}
	return res, nil
}

func one(file string, cat *catalog.Catalog, set *rules.Set) (Case, error) {
	s, ds := validate.File(file, cat, model.DefaultLimits)
	if s == nil || ds.Errors() > 0 {
		var msgs []string
		for _, d := range ds {
			msgs = append(msgs, d.String())
		}
		return Case{}, fmt.Errorf("%s is invalid:\n%s", file, strings.Join(msgs, "\n"))
	}
	id := s.Root.Get(CaseKey).Str()
	cs := cat.CaseStudy(id)
	if cs == nil {
		return Case{}, fmt.Errorf("%s: %s must name an ATLAS case study, found %q", file, CaseKey, id)
	}
	rep, err := analysis.Analyze(s, cat, set, analysis.Options{Today: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		return Case{}, err
	}
	flagged := map[string]bool{}
	for _, t := range rep.Threats {
		for _, tech := range append([]string{t.Technique}, t.Related...) {
			flagged[tech] = true
			if tt := cat.Technique(tech); tt != nil && tt.Parent != "" {
				flagged[tt.Parent] = true // a sub-technique counts for its parent
			}
		}
	}
	c := Case{File: file, CaseStudy: id, Name: cs.Name, Threats: len(rep.Threats)}
	seenAll, seenFacing := map[string]bool{}, map[string]bool{}
	for _, p := range cs.Procedure {
		if !seenAll[p.Technique] {
			seenAll[p.Technique] = true
			c.All = append(c.All, p.Technique)
		}
		if !outside[p.Tactic] && !seenFacing[p.Technique] {
			seenFacing[p.Technique] = true
			c.Facing = append(c.Facing, p.Technique)
		}
	}
	for _, t := range c.All {
		if flagged[t] {
			c.Found = append(c.Found, t)
		} else {
			c.Missed = append(c.Missed, t)
		}
	}
	for t := range flagged {
		if tt := cat.Technique(t); tt != nil {
			c.Flagged++
		}
	}
	return c, nil
}

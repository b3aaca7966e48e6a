// Package gate evaluates a threat model against a policy for CI/CD: verdicts,
// stale-model detection, escalation to a review board and its approvals.
package gate

import (
	"embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/google/cel-go/cel"
	"go.yaml.in/yaml/v3"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/suggest"
)

//go:embed policies/*.yaml
var builtinPolicies embed.FS

// Builtins are the ready policies, from lenient to strict.
var Builtins = []string{"permissive", "standard", "strict"}

// DefaultFile is where a repository keeps its policy.
const DefaultFile = ".mlthreat/policy.yaml"

// Levels of a built-in check.
const (
	Fail     = "fail"
	Warn     = "warn"
	Off      = "off"
	Escalate = "escalate"
	Pass     = "pass"
)

// Policy is a parsed policy file.
type Policy struct {
	Name        string
	Description string
	File        string
	Extends     string

	FailAt    string // residual severity of an open threat that fails; "none" disables
	Overrides []Override

	ExpiredAcceptances string // fail | warn | off
	Stale              string // fail | warn | off
	RequireControls    []Requirement
	Forbid             []Forbidden
	RMF                *RMFCoverage
	Review             *ReviewRule
	Custom             []Custom
	Escalation         Escalation
	Evidence           *EvidenceRule
}

// EvidenceRule asks for recent red-team results on the components that
// outsiders can attack (see docs/evidence.md).
type EvidenceRule struct {
	MaxAgeDays int
	Kinds      []string
	Verdict    string
	Pos        Pos
}

// Override sets a stricter (or looser) threshold for a technique or tactic.
type Override struct {
	Technique string
	Tactic    string
	When      *Cond
	Severity  string
	Pos       Pos
}

// Requirement asks for a control on every component of a kind.
type Requirement struct {
	Kind    string
	When    *Cond
	AnyOf   []string
	Verdict string
	Message string
	Pos     Pos
}

// Forbidden is a configuration that must not occur.
type Forbidden struct {
	Kind    string
	When    *Cond
	Verdict string
	Message string
	Pos     Pos
}

// RMFCoverage is the least NIST AI RMF coverage per function.
type RMFCoverage struct {
	Profile string
	Min     map[string]float64 // GOVERN, MAP, MEASURE, MANAGE -> 0..1
	Verdict string
	Pos     Pos
}

// ReviewRule bounds the age of the last review.
type ReviewRule struct {
	MaxAgeDays    int
	RequireSigned bool
	Verdict       string
	Pos           Pos
}

// Custom is a CEL rule of the policy's own.
type Custom struct {
	ID      string
	On      string // component | flow | threat | system
	When    *Cond
	Verdict string
	Message string
	Pos     Pos
}

// Escalation says when a model goes to the review board.
type Escalation struct {
	Severity  string  // an open threat at or above this residual severity escalates
	When      []*Cond // system conditions
	PacketDir string
}

// Cond is a compiled CEL condition with its place in the policy file.
type Cond struct {
	Expr string
	Pos  Pos
	prg  cel.Program
}

// Pos is a place in the policy file.
type Pos struct{ Line, Col int }

// Error is a policy problem at file:line:col.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

var severities = []string{"low", "medium", "high", "critical"}

// Load reads a built-in policy by name or a policy file by path.
func Load(nameOrPath string, cat *catalog.Catalog) (*Policy, error) {
	if slices.Contains(Builtins, nameOrPath) {
		return builtin(nameOrPath, cat, 0)
	}
	b, err := readLimited(nameOrPath, 1<<20)
	if err != nil {
		return nil, err
	}
	return parse(nameOrPath, b, cat, 0)
}

func readLimited(path string, limit int64) ([]byte, error) {
	if fi, err := os.Stat(path); err != nil {
		return nil, err
	} else if fi.IsDir() {
		return nil, fmt.Errorf("%s is a directory; expected a file", path)
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, over the %d-byte limit for a policy", path, fi.Size(), limit)
	}
	return io.ReadAll(io.LimitReader(f, limit))
}

func builtin(name string, cat *catalog.Catalog, depth int) (*Policy, error) {
	b, err := builtinPolicies.ReadFile("policies/" + name + ".yaml")
	if err != nil {
		return nil, err
	}
	return parse("builtin:"+name, b, cat, depth)
}

// BuiltinSource returns the YAML of a built-in policy.
func BuiltinSource(name string) ([]byte, error) {
	return builtinPolicies.ReadFile("policies/" + name + ".yaml")
}

type parser struct {
	file string
	cat  *catalog.Catalog
	env  *cel.Env
	errs []string
}

func (p *parser) fail(n *yaml.Node, format string, args ...any) {
	e := &Error{File: p.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	p.errs = append(p.errs, e.Error())
}

func parse(file string, b []byte, cat *catalog.Catalog, depth int) (*Policy, error) {
	if depth > 3 {
		return nil, &Error{File: file, Msg: "extends nests too deeply"}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, &Error{File: file, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &Error{File: file, Line: 1, Col: 1, Msg: "expected a map with `policy: 1` at the top level"}
	}
	env, err := cachedEnv()
	if err != nil {
		return nil, err
	}
	p := &parser{file: file, cat: cat, env: env}
	root := doc.Content[0]
	pol := &Policy{File: file, FailAt: "high", ExpiredAcceptances: Fail, Stale: Fail}
	if ext := child(root, "extends"); ext != nil {
		name := ext.Value
		if !slices.Contains(Builtins, name) {
			p.fail(ext, "extends %q: expected one of %s%s", name, strings.Join(Builtins, ", "), hint(name, Builtins))
		} else {
			base, err := builtin(name, cat, depth+1)
			if err != nil {
				return nil, err
			}
			*pol = *base
			pol.File, pol.Extends = file, name
		}
	}
	p.top(root, pol)
	if len(p.errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(p.errs, "\n"))
	}
	return pol, nil
}

func child(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func hint(v string, known []string) string {
	if s := suggest.Closest(v, known, 2); len(s) > 0 {
		return suggest.DidYouMean(s)
	}
	return ""
}

// fields walks a map, calling f for each known key and reporting the rest.
func (p *parser) fields(n *yaml.Node, what string, known []string, f func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.fail(n, "%s: expected a map, found %s", what, kindName(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if strings.HasPrefix(k.Value, "x-") {
			continue
		}
		if !slices.Contains(known, k.Value) {
			p.fail(k, "%s: unknown key %q%s; expected one of %s", what, k.Value, hint(k.Value, known), strings.Join(known, ", "))
			continue
		}
		f(k.Value, k, v)
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	return strconv.Quote(n.Value)
}

func (p *parser) str(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.fail(n, "%s: expected text, found %s", what, kindName(n))
		return ""
	}
	return n.Value
}

func (p *parser) oneOf(n *yaml.Node, what string, allowed ...string) string {
	v := p.str(n, what)
	if v != "" && !slices.Contains(allowed, v) {
		p.fail(n, "%s: %q is not one of %s%s", what, v, strings.Join(allowed, ", "), hint(v, allowed))
		return ""
	}
	return v
}

func (p *parser) strs(n *yaml.Node, what string) []string {
	if n.Kind == yaml.ScalarNode {
		return []string{p.str(n, what)}
	}
	if n.Kind != yaml.SequenceNode {
		p.fail(n, "%s: expected a list of text, found %s", what, kindName(n))
		return nil
	}
	var out []string
	for _, it := range n.Content {
		out = append(out, p.str(it, what))
	}
	return out
}

func (p *parser) integer(n *yaml.Node, what string, min int) int {
	v, err := strconv.Atoi(p.str(n, what))
	if err != nil || v < min {
		p.fail(n, "%s: expected a whole number of at least %d, found %s", what, min, kindName(n))
		return 0
	}
	return v
}

func (p *parser) boolean(n *yaml.Node, what string) bool {
	switch p.str(n, what) {
	case "true":
		return true
	case "false":
		return false
	}
	p.fail(n, "%s: expected true or false, found %s", what, kindName(n))
	return false
}

func (p *parser) list(n *yaml.Node, what string, f func(i int, it *yaml.Node)) {
	if n.Kind != yaml.SequenceNode {
		p.fail(n, "%s: expected a list, found %s", what, kindName(n))
		return
	}
	for i, it := range n.Content {
		f(i, it)
	}
}

func (p *parser) cond(n *yaml.Node, what string) *Cond {
	expr := p.str(n, what)
	if expr == "" {
		return nil
	}
	ast, iss := p.env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		p.fail(n, "%s: CEL: %s", what, oneLine(iss.Err().Error()))
		return nil
	}
	if t := ast.OutputType(); t != cel.BoolType && t != cel.DynType {
		p.fail(n, "%s: condition must be true or false, not %s", what, t)
		return nil
	}
	prg, err := p.env.Program(ast)
	if err != nil {
		p.fail(n, "%s: CEL: %v", what, err)
		return nil
	}
	return &Cond{Expr: expr, Pos: Pos{n.Line, n.Column}, prg: prg}
}

// oneLine keeps the first message of a CEL error, without the source echo.
func oneLine(s string) string {
	s = strings.TrimPrefix(s, "ERROR: <input>:")
	if i := strings.Index(s, "\n"); i >= 0 {
		s = s[:i]
	}
	s = strings.ReplaceAll(s, " (in container '')", "")
	return strings.TrimSpace(s)
}

func (p *parser) kind(n *yaml.Node, what string) string {
	k := p.str(n, what)
	kinds := model.Kinds().KindNames()
	if k != "" && !slices.Contains(kinds, k) {
		p.fail(n, "%s: unknown component kind %q%s", what, k, hint(k, kinds))
		return ""
	}
	return k
}

func (p *parser) mitigation(n *yaml.Node, what, id string) {
	if p.cat.Mitigation(id) == nil && p.cat.Control(id) == nil {
		p.fail(n, "%s: %q is neither an ATLAS mitigation nor an mlthreat control id", what, id)
	}
}

func (p *parser) top(root *yaml.Node, pol *Policy) {
	known := []string{"policy", "name", "description", "extends", "fail_on", "expired_acceptances", "stale", "require_controls", "forbid", "rmf_coverage", "review", "custom", "escalate", "evidence"}
	if v := child(root, "policy"); v == nil {
		p.fail(root, "missing `policy: 1` (the policy format version)")
	} else if v.Value != "1" {
		p.fail(v, "policy: expected format version 1, found %s", kindName(v))
	}
	levels := []string{Fail, Warn, Off}
	p.fields(root, "policy", known, func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			pol.Name = p.str(v, key)
		case "description":
			pol.Description = p.str(v, key)
		case "fail_on":
			p.failOn(v, pol)
		case "expired_acceptances":
			pol.ExpiredAcceptances = p.oneOf(v, key, levels...)
		case "stale":
			pol.Stale = p.oneOf(v, key, levels...)
		case "require_controls":
			pol.RequireControls = nil
			p.list(v, key, func(i int, it *yaml.Node) { p.requirement(it, fmt.Sprintf("require_controls[%d]", i), pol) })
		case "forbid":
			pol.Forbid = nil
			p.list(v, key, func(i int, it *yaml.Node) { p.forbidden(it, fmt.Sprintf("forbid[%d]", i), pol) })
		case "rmf_coverage":
			p.rmf(v, pol)
		case "review":
			p.review(v, pol)
		case "custom":
			pol.Custom = nil
			p.list(v, key, func(i int, it *yaml.Node) { p.custom(it, fmt.Sprintf("custom[%d]", i), pol) })
		case "escalate":
			p.escalate(v, pol)
		case "evidence":
			p.evidence(v, pol)
		}
	})
	if pol.Name == "" {
		pol.Name = strings.TrimSuffix(filepath.Base(pol.File), filepath.Ext(pol.File))
	}
}

func (p *parser) failOn(n *yaml.Node, pol *Policy) {
	pol.Overrides = nil
	p.fields(n, "fail_on", []string{"severity", "overrides"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "severity":
			pol.FailAt = p.oneOf(v, "fail_on.severity", append(slices.Clone(severities), "none")...)
		case "overrides":
			p.list(v, "fail_on.overrides", func(i int, it *yaml.Node) {
				what := fmt.Sprintf("fail_on.overrides[%d]", i)
				o := Override{Pos: Pos{it.Line, it.Column}}
				p.fields(it, what, []string{"technique", "tactic", "when", "severity"}, func(key string, k, v *yaml.Node) {
					switch key {
					case "technique":
						o.Technique = p.str(v, what+".technique")
						if o.Technique != "" && p.cat.Technique(o.Technique) == nil {
							p.fail(v, "%s.technique: %q is not an ATLAS technique", what, o.Technique)
						}
					case "tactic":
						o.Tactic = p.str(v, what+".tactic")
						if o.Tactic != "" && p.cat.Tactic(o.Tactic) == nil {
							p.fail(v, "%s.tactic: %q is not an ATLAS tactic", what, o.Tactic)
						}
					case "when":
						o.When = p.cond(v, what+".when")
					case "severity":
						o.Severity = p.oneOf(v, what+".severity", append(slices.Clone(severities), "none")...)
					}
				})
				if o.Severity == "" {
					p.fail(it, "%s: missing `severity`", what)
				}
				if (o.Technique == "") == (o.Tactic == "") {
					p.fail(it, "%s: give exactly one of `technique` or `tactic`", what)
				}
				pol.Overrides = append(pol.Overrides, o)
			})
		}
	})
}

func (p *parser) requirement(n *yaml.Node, what string, pol *Policy) {
	r := Requirement{Verdict: Fail, Pos: Pos{n.Line, n.Column}}
	p.fields(n, what, []string{"kind", "when", "any_of", "verdict", "message"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "kind":
			r.Kind = p.kind(v, what+".kind")
		case "when":
			r.When = p.cond(v, what+".when")
		case "any_of":
			r.AnyOf = p.strs(v, what+".any_of")
			for i, id := range r.AnyOf {
				at := v
				if v.Kind == yaml.SequenceNode {
					at = v.Content[i]
				}
				p.mitigation(at, what+".any_of", id)
			}
		case "verdict":
			r.Verdict = p.oneOf(v, what+".verdict", Fail, Warn, Escalate)
		case "message":
			r.Message = p.str(v, what+".message")
		}
	})
	if r.Kind == "" && child(n, "kind") == nil {
		p.fail(n, "%s: missing `kind`", what)
	}
	if len(r.AnyOf) == 0 && child(n, "any_of") == nil {
		p.fail(n, "%s: missing `any_of` (the mitigations, one of which a control must implement)", what)
	}
	pol.RequireControls = append(pol.RequireControls, r)
}

func (p *parser) forbidden(n *yaml.Node, what string, pol *Policy) {
	f := Forbidden{Verdict: Fail, Pos: Pos{n.Line, n.Column}}
	p.fields(n, what, []string{"kind", "when", "verdict", "message"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "kind":
			f.Kind = p.kind(v, what+".kind")
		case "when":
			f.When = p.cond(v, what+".when")
		case "verdict":
			f.Verdict = p.oneOf(v, what+".verdict", Fail, Warn, Escalate)
		case "message":
			f.Message = p.str(v, what+".message")
		}
	})
	if child(n, "when") == nil {
		p.fail(n, "%s: missing `when` (the CEL condition that is forbidden)", what)
	}
	pol.Forbid = append(pol.Forbid, f)
}

var rmfFunctions = []string{"GOVERN", "MAP", "MEASURE", "MANAGE"}

func (p *parser) rmf(n *yaml.Node, pol *Policy) {
	r := &RMFCoverage{Verdict: Fail, Min: map[string]float64{}, Pos: Pos{n.Line, n.Column}}
	p.fields(n, "rmf_coverage", []string{"profile", "min", "verdict"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "profile":
			r.Profile = p.str(v, "rmf_coverage.profile")
		case "verdict":
			r.Verdict = p.oneOf(v, "rmf_coverage.verdict", Fail, Warn)
		case "min":
			p.fields(v, "rmf_coverage.min", rmfFunctions, func(fn string, _, x *yaml.Node) {
				f, err := strconv.ParseFloat(p.str(x, "rmf_coverage.min."+fn), 64)
				if err != nil || f < 0 || f > 1 {
					p.fail(x, "rmf_coverage.min.%s: expected a share between 0 and 1 (0.6 is 60%%), found %s", fn, kindName(x))
					return
				}
				r.Min[fn] = f
			})
		}
	})
	pol.RMF = r
}

func (p *parser) review(n *yaml.Node, pol *Policy) {
	r := &ReviewRule{Verdict: Fail, Pos: Pos{n.Line, n.Column}}
	p.fields(n, "review", []string{"max_age_days", "require_signed", "verdict"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "max_age_days":
			r.MaxAgeDays = p.integer(v, "review.max_age_days", 1)
		case "require_signed":
			r.RequireSigned = p.boolean(v, "review.require_signed")
		case "verdict":
			r.Verdict = p.oneOf(v, "review.verdict", Fail, Warn)
		}
	})
	pol.Review = r
}

func (p *parser) evidence(n *yaml.Node, pol *Policy) {
	r := &EvidenceRule{MaxAgeDays: 90, Kinds: []string{"llm", "agent"}, Verdict: Fail, Pos: Pos{n.Line, n.Column}}
	p.fields(n, "evidence", []string{"max_age_days", "kinds", "verdict"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "max_age_days":
			r.MaxAgeDays = p.integer(v, "evidence.max_age_days", 1)
		case "kinds":
			r.Kinds = nil
			items := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				items = v.Content
			}
			for _, it := range items {
				if k := p.kind(it, "evidence.kinds"); k != "" {
					r.Kinds = append(r.Kinds, k)
				}
			}
		case "verdict":
			r.Verdict = p.oneOf(v, "evidence.verdict", Fail, Warn, Escalate)
		}
	})
	pol.Evidence = r
}

func (p *parser) custom(n *yaml.Node, what string, pol *Policy) {
	c := Custom{Verdict: Fail, On: "component", Pos: Pos{n.Line, n.Column}}
	p.fields(n, what, []string{"id", "on", "when", "verdict", "message"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "id":
			c.ID = p.str(v, what+".id")
		case "on":
			c.On = p.oneOf(v, what+".on", "component", "flow", "threat", "system")
		case "when":
			c.When = p.cond(v, what+".when")
		case "verdict":
			c.Verdict = p.oneOf(v, what+".verdict", Fail, Warn, Escalate)
		case "message":
			c.Message = p.str(v, what+".message")
		}
	})
	if c.ID == "" {
		p.fail(n, "%s: missing `id`", what)
	}
	if child(n, "when") == nil {
		p.fail(n, "%s: missing `when`", what)
	}
	pol.Custom = append(pol.Custom, c)
}

func (p *parser) escalate(n *yaml.Node, pol *Policy) {
	e := Escalation{PacketDir: pol.Escalation.PacketDir}
	p.fields(n, "escalate", []string{"severity", "when", "packet_dir"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "severity":
			e.Severity = p.oneOf(v, "escalate.severity", append(slices.Clone(severities), "none")...)
		case "when":
			items := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				items = v.Content
			}
			for i, it := range items {
				if c := p.cond(it, fmt.Sprintf("escalate.when[%d]", i)); c != nil {
					e.When = append(e.When, c)
				}
			}
		case "packet_dir":
			e.PacketDir = p.str(v, "escalate.packet_dir")
		}
	})
	pol.Escalation = e
}

// condEnv is the rules' CEL environment plus `threat` and `summary`.
func condEnv() (*cel.Env, error) {
	base, err := rules.Env()
	if err != nil {
		return nil, err
	}
	dynMap := cel.MapType(cel.StringType, cel.DynType)
	return base.Extend(cel.Variable("threat", dynMap), cel.Variable("summary", dynMap))
}

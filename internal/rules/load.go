package rules

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/suggest"
	builtin "github.com/mlthreat/mlthreat/rules"
)

// LoadError is a problem in a rule pack, with its position.
type LoadError struct {
	File string
	Line int
	Rule string
	Msg  string
}

func (e *LoadError) Error() string {
	if e.Rule != "" {
		return fmt.Sprintf("%s:%d: rule %s: %s", e.File, e.Line, e.Rule, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Errors is every problem found while loading packs.
type Errors []*LoadError

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Load reads the built-in packs and then every *.yaml file in each extra
// directory. Any problem fails the whole load: a rule is never skipped.
func Load(cat *catalog.Catalog, dirs ...string) (*Set, error) {
	l := &loader{cat: cat, vocab: model.Kinds(), set: &Set{byID: map[string]*Rule{}}}
	if packs, ok := fromJSON(); ok {
		l.eager = false
		for _, p := range packs {
			pk := &Pack{Name: p.Pack, File: p.File}
			for _, jr := range p.Rules {
				if r := l.ruleRaw(p.File, jr.Line, jr.Rule); r != nil {
					pk.Rules = append(pk.Rules, r)
				}
			}
			l.set.Packs = append(l.set.Packs, pk)
		}
	} else if err := l.builtinYAML(); err != nil {
		return nil, err
	}
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			return nil, err
		}
		more, _ := filepath.Glob(filepath.Join(dir, "*.yml"))
		files = append(files, more...)
		if len(files) == 0 {
			if _, err := os.Stat(dir); err != nil {
				return nil, fmt.Errorf("--rules %s: %v", dir, err)
			}
			return nil, fmt.Errorf("--rules %s: no *.yaml rule packs in it", dir)
		}
		sort.Strings(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			l.pack(f, b, true)
		}
	}
	if len(l.errs) > 0 {
		return nil, l.errs
	}
	return l.set, nil
}

type loader struct {
	cat   *catalog.Catalog
	vocab *model.Vocabulary
	set   *Set
	errs  Errors
	eager bool // compile conditions now (user packs)
}

type rawPack struct {
	Pack  string      `yaml:"pack" json:"pack,omitempty"`
	Rules []yaml.Node `yaml:"rules" json:"rules,omitempty"`
}

type rawScore struct {
	Base    int         `yaml:"base" json:"base,omitempty"`
	Factors []rawFactor `yaml:"factors" json:"factors,omitempty"`
}

type rawFactor struct {
	When   string `yaml:"when" json:"when,omitempty"`
	Add    int    `yaml:"add" json:"add,omitempty"`
	Reason string `yaml:"reason" json:"reason,omitempty"`
}

type rawRule struct {
	ID          string   `yaml:"id" json:"id,omitempty"`
	Title       string   `yaml:"title" json:"title,omitempty"`
	AppliesTo   []string `yaml:"applies_to" json:"applies_to,omitempty"`
	When        string   `yaml:"when" json:"when,omitempty"`
	Technique   string   `yaml:"technique" json:"technique,omitempty"`
	Related     []string `yaml:"related" json:"related,omitempty"`
	STRIDE      []string `yaml:"stride" json:"stride,omitempty"`
	LINDDUN     []string `yaml:"linddun" json:"linddun,omitempty"`
	OWASP       []string `yaml:"owasp" json:"owasp,omitempty"`
	Likelihood  rawScore `yaml:"likelihood" json:"likelihood,omitempty"`
	Impact      rawScore `yaml:"impact" json:"impact,omitempty"`
	Mitigations []string `yaml:"mitigations" json:"mitigations,omitempty"`
	RMF         []string `yaml:"rmf" json:"rmf,omitempty"`
	Rationale   string   `yaml:"rationale" json:"rationale,omitempty"`
}

func (l *loader) fail(file string, line int, rule, format string, args ...any) {
	l.errs = append(l.errs, &LoadError{File: file, Line: line, Rule: rule, Msg: fmt.Sprintf(format, args...)})
}

var (
	builtinOnce   sync.Once
	builtinParsed []parsedPack
	builtinErr    error
)

// builtinYAML loads the built-in packs from their YAML.
func (l *loader) builtinYAML() error {
	parsed, err := parseBuiltin()
	if err != nil {
		return err
	}
	for _, p := range parsed {
		if p.err != nil {
			l.fail(p.file, yamlLine(p.err), "", "%v", strings.TrimPrefix(p.err.Error(), "yaml: "))
			continue
		}
		l.eager = false
		l.addPack(p.file, p.raw)
	}
	return nil
}

// WarmUp parses the built-in packs; call it early, in a goroutine, to take
// YAML parsing off the critical path. Load uses the same result.
func WarmUp() {
	if _, ok := fromJSON(); !ok {
		_, _ = parseBuiltin()
	}
}

// parseBuiltin reads the embedded packs once, in parallel (parsing YAML is
// most of the load time). The nodes are only read afterwards.
func parseBuiltin() ([]parsedPack, error) {
	builtinOnce.Do(func() {
		names, err := fs.Glob(builtin.Packs, "*.yaml")
		if err != nil {
			builtinErr = err
			return
		}
		sort.Strings(names)
		parsed := make([]parsedPack, len(names))
		var wg sync.WaitGroup
		for i, n := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b, err := fs.ReadFile(builtin.Packs, n)
				parsed[i] = parsedPack{file: "rules/" + n, err: err}
				if err == nil {
					parsed[i].raw, parsed[i].err = decodePack(b)
				}
			}()
		}
		wg.Wait()
		builtinParsed = parsed
	})
	return builtinParsed, builtinErr
}

type parsedPack struct {
	file string
	raw  rawPack
	err  error
}

func decodePack(b []byte) (rawPack, error) {
	var raw rawPack
	if len(b) > 4<<20 {
		return raw, fmt.Errorf("rule pack larger than 4 MiB")
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	err := dec.Decode(&raw)
	return raw, err
}

func (l *loader) pack(file string, b []byte, eager bool) {
	l.eager = eager
	raw, err := decodePack(b)
	if err != nil {
		l.fail(file, yamlLine(err), "", "%v", strings.TrimPrefix(err.Error(), "yaml: "))
		return
	}
	l.addPack(file, raw)
}

func (l *loader) addPack(file string, raw rawPack) {
	p := &Pack{Name: raw.Pack, File: file}
	if p.Name == "" {
		l.fail(file, 1, "", "missing `pack:` name")
	}
	for i := range raw.Rules {
		if r := l.rule(file, &raw.Rules[i]); r != nil {
			p.Rules = append(p.Rules, r)
		}
	}
	l.set.Packs = append(l.set.Packs, p)
}

var reProp = regexp.MustCompile(`\bprops\.([A-Za-z_][A-Za-z0-9_]*)`)

func (l *loader) rule(file string, n *yaml.Node) *Rule {
	var raw rawRule
	if err := n.Decode(&raw); err != nil {
		l.fail(file, n.Line, "", "%v", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if !knownRuleKeys[k] && !strings.HasPrefix(k, "x-") {
			l.fail(file, n.Content[i].Line, raw.ID, "unknown key %q%s", k, suggest.DidYouMean(suggest.Closest(k, ruleKeys, 1)))
		}
	}
	return l.ruleRaw(file, n.Line, raw)
}

// ruleRaw checks one decoded rule; line is where it starts in file.
func (l *loader) ruleRaw(file string, line int, raw rawRule) *Rule {
	r := &Rule{ID: raw.ID, Title: raw.Title, AppliesTo: raw.AppliesTo, When: strings.TrimSpace(raw.When), File: file, Line: line,
		STRIDE: raw.STRIDE, LINDDUN: raw.LINDDUN, Rationale: strings.TrimSpace(raw.Rationale)}
	bad := func(format string, args ...any) { l.fail(file, line, raw.ID, format, args...) }
	if r.ID == "" {
		bad("missing id")
		return nil
	}
	if prev := l.set.byID[r.ID]; prev != nil {
		bad("duplicate rule id (first defined at %s)", prev.Location())
		return nil
	}
	if r.Title == "" {
		bad("missing title")
	}
	if r.Rationale == "" {
		bad("missing rationale")
	}
	if len(r.AppliesTo) == 0 {
		bad("applies_to is empty; name component kinds, flow or zone")
	}
	for _, k := range r.AppliesTo {
		if k != "flow" && k != "zone" && l.vocab.Kind(k) == nil {
			bad("applies_to names unknown kind %q%s", k, suggest.DidYouMean(suggest.Closest(k, l.vocab.KindNames(), 2)))
		}
	}
	r.Technique = l.technique(file, line, r.ID, raw.Technique, true)
	for _, t := range raw.Related {
		if id := l.technique(file, line, r.ID, t, false); id != "" {
			r.Related = append(r.Related, id)
		}
	}
	r.Tactics = l.tactics(r.Technique)
	for _, m := range raw.Mitigations {
		if l.cat.Mitigation(m) == nil && l.cat.Control(m) == nil {
			all := append(l.cat.IDsOf(catalog.KindMitigation), l.cat.IDsOf(catalog.KindControl)...)
			bad("unknown mitigation %q%s", m, suggest.DidYouMean(catalog.Closest(m, all, 2)))
			continue
		}
		r.Mitigations = append(r.Mitigations, m)
	}
	for _, id := range raw.RMF {
		norm, ok := catalog.NormalizeRMF(id)
		if !ok || l.cat.RMFItem(norm) == nil || !strings.Contains(norm, ".") {
			bad("unknown RMF subcategory %q", id)
			continue
		}
		r.RMF = append(r.RMF, norm)
	}
	for _, id := range raw.OWASP {
		if l.cat.OWASPItem(id) == nil {
			bad("unknown OWASP id %q (write it with its edition, e.g. LLM01:2025)", id)
			continue
		}
		r.OWASP = append(r.OWASP, id)
	}
	for _, s := range r.STRIDE {
		if l.cat.STRIDECategory(s) == nil {
			bad("unknown STRIDE letter %q", s)
		}
	}
	for _, s := range r.LINDDUN {
		if l.cat.LINDDUNCategory(s) == nil {
			bad("unknown LINDDUN id %q", s)
		}
	}
	if r.When != "" {
		l.checkProps(file, line, r, r.When)
		r.cond = newCondition(r.When)
		if l.eager {
			if _, err := r.cond.program(); err != nil {
				bad("condition does not compile: %v", oneLine(err))
			}
		}
	}
	r.Likelihood = l.score(file, line, r, "likelihood", raw.Likelihood)
	r.Impact = l.score(file, line, r, "impact", raw.Impact)
	l.set.byID[r.ID] = r
	l.set.Rules = append(l.set.Rules, r)
	return r
}

var ruleKeys = []string{"id", "title", "applies_to", "when", "technique", "related", "stride", "linddun", "owasp", "likelihood", "impact", "mitigations", "rmf", "rationale"}

var knownRuleKeys = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range ruleKeys {
		m[k] = true
	}
	return m
}()

func (l *loader) score(file string, line int, r *Rule, axis string, raw rawScore) Score {
	s := Score{Base: raw.Base}
	if s.Base == 0 {
		s.Base = 3
	}
	if s.Base < 1 || s.Base > 5 {
		l.fail(file, line, r.ID, "%s base %d is outside 1-5", axis, s.Base)
	}
	for _, f := range raw.Factors {
		fa := Factor{When: strings.TrimSpace(f.When), Add: f.Add, Reason: strings.TrimSpace(f.Reason), Line: line}
		if fa.Reason == "" {
			l.fail(file, line, r.ID, "%s factor %q needs a reason in words", axis, fa.When)
		}
		if fa.Add < -4 || fa.Add > 4 || fa.Add == 0 {
			l.fail(file, line, r.ID, "%s factor %q: add must be between -4 and 4 and not 0", axis, fa.When)
		}
		if fa.When != "" {
			l.checkProps(file, line, r, fa.When)
			fa.cond = newCondition(fa.When)
			if l.eager {
				if _, err := fa.cond.program(); err != nil {
					l.fail(file, line, r.ID, "%s factor condition does not compile: %v", axis, oneLine(err))
				}
			}
		}
		s.Factors = append(s.Factors, fa)
	}
	return s
}

// checkProps rejects props a condition reads that none of the rule's kinds know.
func (l *loader) checkProps(file string, line int, r *Rule, expr string) {
	for _, m := range reProp.FindAllStringSubmatch(expr, -1) {
		name := m[1]
		known := false
		var all []string
		for _, k := range r.AppliesTo {
			if k == "flow" || k == "zone" {
				known = true // flows and zones carry free props
				continue
			}
			if spec, canon := l.vocab.Prop(k, name); spec != nil && canon == name {
				known = true
			}
			all = append(all, l.vocab.PropNames(k)...)
		}
		if !known {
			l.fail(file, line, r.ID, "condition reads props.%s, which none of %s knows%s", name, strings.Join(r.AppliesTo, ", "), suggest.DidYouMean(suggest.Closest(name, all, 2)))
		}
	}
}

func (l *loader) technique(file string, line int, rule, id string, main bool) string {
	if id == "" {
		if main {
			l.fail(file, line, rule, "missing technique")
		}
		return ""
	}
	if l.cat.Technique(id) != nil {
		return id
	}
	msg := fmt.Sprintf("unknown ATLAS technique %q", id)
	if catalog.Shape(id) == catalog.KindAttack {
		msg = l.cat.ExplainAttack(id, "")
	} else if s := catalog.Closest(id, l.cat.IDsOf(catalog.KindTechnique), 2); len(s) > 0 {
		msg += suggest.DidYouMean(s)
	}
	l.fail(file, line, rule, "%s", msg)
	return ""
}

// tactics lists, in matrix order, the tactics of the given techniques.
func (l *loader) tactics(ids ...string) []string {
	want := map[string]bool{}
	for _, id := range ids {
		if t := l.cat.Technique(id); t != nil {
			for _, ta := range t.Tactics {
				want[ta] = true
			}
		}
	}
	var out []string
	for _, t := range l.cat.ATLAS.Tactics {
		if want[t.ID] {
			out = append(out, t.ID)
		}
	}
	return out
}

var reYAMLLine = regexp.MustCompile(`line (\d+)`)

func yamlLine(err error) int {
	if m := reYAMLLine.FindStringSubmatch(err.Error()); m != nil {
		var n int
		fmt.Sscanf(m[1], "%d", &n)
		return n
	}
	return 1
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

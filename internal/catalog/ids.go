package catalog

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/mlthreat/mlthreat/internal/suggest"
)

// IDKind says which framework an id belongs to.
type IDKind string

const (
	KindTactic      IDKind = "atlas-tactic"
	KindTechnique   IDKind = "atlas-technique"
	KindMitigation  IDKind = "atlas-mitigation"
	KindCaseStudy   IDKind = "atlas-case-study"
	KindRMF         IDKind = "rmf"
	KindOWASP       IDKind = "owasp"
	KindControl     IDKind = "control"
	KindAttack      IDKind = "attack"
	KindGenAIRisk   IDKind = "nist-600-1-risk"
	KindGenAIAction IDKind = "nist-600-1-action"
	KindUnknown     IDKind = ""
)

var (
	reTactic     = regexp.MustCompile(`^AML\.TA\d{4}$`)
	reTechnique  = regexp.MustCompile(`^AML\.T\d{4}(\.\d{3})?$`)
	reMitigation = regexp.MustCompile(`^AML\.M\d{4}$`)
	reCase       = regexp.MustCompile(`^AML\.CS\d{4}$`)
	reAttack     = regexp.MustCompile(`^(T\d{4}(\.\d{3})?|TA\d{4}|M\d{4})$`)
	reOWASP      = regexp.MustCompile(`^(?i)(ML|LLM|ASI)(\d{1,2})(?::(\d{4}))?$`)
	reRMF        = regexp.MustCompile(`^(?i)(govern|gov|gv|map|mp|measure|meas|ms|manage|mng|mg)[\s._-]*(\d{1,2})(?:[._-](\d{1,2}))?$`)
	reGenAIAct   = regexp.MustCompile(`^(GV|MP|MS|MG)-\d+\.\d+-\d{3}$`)
)

// Shape guesses the framework of an id from its spelling alone.
func Shape(id string) IDKind {
	switch {
	case reTactic.MatchString(id):
		return KindTactic
	case reTechnique.MatchString(id):
		return KindTechnique
	case reMitigation.MatchString(id):
		return KindMitigation
	case reCase.MatchString(id):
		return KindCaseStudy
	case reAttack.MatchString(id):
		return KindAttack
	case reGenAIAct.MatchString(id):
		return KindGenAIAction
	case reOWASP.MatchString(id):
		return KindOWASP
	case reRMF.MatchString(id):
		return KindRMF
	case strings.HasPrefix(id, "MLT-"):
		return KindControl
	}
	return KindUnknown
}

var rmfFunctions = map[string]string{
	"govern": "GOVERN", "gov": "GOVERN", "gv": "GOVERN",
	"map": "MAP", "mp": "MAP",
	"measure": "MEASURE", "meas": "MEASURE", "ms": "MEASURE",
	"manage": "MANAGE", "mng": "MANAGE", "mg": "MANAGE",
}

// NormalizeRMF turns the spellings people use ("GV-1.1", "GOV 1.1",
// "govern-1.1") into the catalogue form "GOVERN 1.1". It also accepts a bare
// function ("Govern") or category ("MAP 2"). ok is false when the text is not
// RMF-shaped; the result may still be an id the catalogue lacks.
func NormalizeRMF(s string) (string, bool) {
	t := strings.TrimSpace(s)
	if f, ok := rmfFunctions[strings.ToLower(t)]; ok {
		return f, true
	}
	m := reRMF.FindStringSubmatch(t)
	if m == nil {
		return "", false
	}
	f := rmfFunctions[strings.ToLower(m[1])]
	cat, _ := strconv.Atoi(m[2])
	if m[3] == "" {
		return fmt.Sprintf("%s %d", f, cat), true
	}
	sub, _ := strconv.Atoi(m[3])
	return fmt.Sprintf("%s %d.%d", f, cat, sub), true
}

// OWASPResolution is the outcome of reading an OWASP id.
type OWASPResolution struct {
	ID      string // edition-qualified, e.g. LLM01:2025
	Assumed bool   // the edition was missing and the newest one was assumed
}

// ResolveOWASP qualifies an OWASP Top 10 id with its edition ("LLM1" ->
// "LLM01:2026" with Assumed set). ok is false when it is not OWASP-shaped.
func (c *Catalog) ResolveOWASP(s string) (OWASPResolution, bool) {
	m := reOWASP.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return OWASPResolution{}, false
	}
	list := strings.ToUpper(m[1])
	n, _ := strconv.Atoi(m[2])
	ed := m[3]
	r := OWASPResolution{}
	if ed == "" {
		ed = c.OWASPLatest[list]
		r.Assumed = true
	}
	r.ID = fmt.Sprintf("%s%02d:%s", list, n, ed)
	return r, true
}

// Known reports whether the catalogue holds id, and of which kind.
func (c *Catalog) Known(id string) (IDKind, bool) {
	switch {
	case c.Technique(id) != nil:
		return KindTechnique, true
	case c.Tactic(id) != nil:
		return KindTactic, true
	case c.Mitigation(id) != nil:
		return KindMitigation, true
	case c.CaseStudy(id) != nil:
		return KindCaseStudy, true
	case c.RMFItem(id) != nil:
		return KindRMF, true
	case c.OWASPItem(id) != nil:
		return KindOWASP, true
	case c.Control(id) != nil:
		return KindControl, true
	case c.GenAIRisk(id) != nil:
		return KindGenAIRisk, true
	case c.GenAIAction(id) != nil:
		return KindGenAIAction, true
	case c.AttackItem(id) != nil:
		return KindAttack, true
	}
	return KindUnknown, false
}

// IDsOf lists every id of one kind, in catalogue order.
func (c *Catalog) IDsOf(k IDKind) []string {
	var out []string
	switch k {
	case KindTactic:
		for _, x := range c.ATLAS.Tactics {
			out = append(out, x.ID)
		}
	case KindTechnique:
		for _, x := range c.ATLAS.Techniques {
			out = append(out, x.ID)
		}
	case KindMitigation:
		for _, x := range c.ATLAS.Mitigations {
			out = append(out, x.ID)
		}
	case KindCaseStudy:
		for _, x := range c.ATLAS.CaseStudies {
			out = append(out, x.ID)
		}
	case KindRMF:
		for _, x := range c.RMF.Subcategories {
			out = append(out, x.ID)
		}
	case KindOWASP:
		for _, x := range c.OWASP {
			out = append(out, x.ID)
		}
	case KindControl:
		for _, x := range c.Controls {
			out = append(out, x.ID)
		}
	case KindGenAIRisk:
		for _, x := range c.GenAI.Risks {
			out = append(out, x.ID)
		}
	}
	return out
}

// Closest returns up to n known ids nearest to id.
func Closest(id string, candidates []string, n int) []string {
	return suggest.Closest(id, candidates, n)
}

// topicHints map words people use for a threat to the ATLAS technique that
// names it, so a misplaced id can be answered with the right one.
var topicHints = []struct {
	words     []string
	technique string
}{
	{[]string{"poison", "poisoning", "tainted data", "label flipping", "label-flipping"}, "AML.T0020"},
	{[]string{"backdoor", "trojan", "trigger"}, "AML.T0018"},
	{[]string{"prompt injection", "prompt-injection", "injected instruction"}, "AML.T0051"},
	{[]string{"indirect prompt injection", "indirect injection"}, "AML.T0051.001"},
	{[]string{"jailbreak"}, "AML.T0054"},
	{[]string{"extraction", "model theft", "model stealing", "steal the model", "replicate the model"}, "AML.T0024.002"},
	{[]string{"inversion", "reconstruct training data"}, "AML.T0024.001"},
	{[]string{"membership inference", "membership"}, "AML.T0024.000"},
	{[]string{"evasion", "evade", "adversarial example", "adversarial input", "adversarial perturbation"}, "AML.T0015"},
	{[]string{"supply chain", "supply-chain", "malicious package", "dependency"}, "AML.T0010"},
	{[]string{"pickle", "unsafe deserialization", "deserialization", "malicious model file"}, "AML.T0011.000"},
	{[]string{"denial of service", "denial-of-service", "dos", "resource exhaustion", "denial of wallet", "cost harvesting"}, "AML.T0029"},
	{[]string{"data leakage", "leak", "exfiltration", "sensitive information disclosure"}, "AML.T0057"},
	{[]string{"system prompt", "prompt extraction", "meta prompt"}, "AML.T0056"},
	{[]string{"plugin", "tool invocation", "tool misuse", "excessive agency"}, "AML.T0053"},
	{[]string{"memory poisoning"}, "AML.T0080.000"},
	{[]string{"context poisoning"}, "AML.T0080"},
	{[]string{"rag poisoning", "retrieval poisoning", "vector store poisoning"}, "AML.T0070"},
	{[]string{"deepfake", "impersonation"}, "AML.T0088"},
	{[]string{"hallucination", "package hallucination"}, "AML.T0060"},
	{[]string{"erode", "degrade", "integrity of the model"}, "AML.T0031"},
	{[]string{"spam", "flood"}, "AML.T0046"},
}

// SuggestTechnique picks the ATLAS technique that best fits free text such as a
// threat title ("Data poisoning of the retraining set"), or "".
func (c *Catalog) SuggestTechnique(context string) string {
	text := " " + strings.ToLower(context) + " "
	best, bestLen := "", 0
	for _, h := range topicHints {
		for _, w := range h.words {
			if strings.Contains(text, w) && len(w) > bestLen && c.Technique(h.technique) != nil {
				best, bestLen = h.technique, len(w)
			}
		}
	}
	if best != "" {
		return best
	}
	// Fall back to the technique whose name shares the most words with the text.
	words := strings.FieldsFunc(text, func(r rune) bool { return !(r >= 'a' && r <= 'z') })
	score := 0
	for _, t := range c.ATLAS.Techniques {
		name := strings.ToLower(t.Name)
		s := 0
		for _, w := range words {
			if len(w) > 3 && strings.Contains(name, w) {
				s++
			}
		}
		if s > score {
			best, score = t.ID, s
		}
	}
	return best
}

// topicName is a short phrase for what a technique is about, for messages.
func (c *Catalog) topicName(technique string) string {
	if t := c.Technique(technique); t != nil {
		return strings.ToLower(t.Name)
	}
	return technique
}

// ExplainAttack says what an ATT&CK id is and which ATLAS id to use instead.
// context is text near the id (a threat title) used to pick the ATLAS
// technique the author most likely meant.
func (c *Catalog) ExplainAttack(id, context string) string {
	var b strings.Builder
	it := c.AttackItem(id)
	if it != nil && it.Name != "" {
		fmt.Fprintf(&b, "%s is MITRE ATT&CK %q, not an ATLAS id", id, it.Name)
	} else {
		fmt.Fprintf(&b, "%s is a MITRE ATT&CK id, not an ATLAS id", id)
	}
	if s := c.SuggestTechnique(context); s != "" && strings.TrimSpace(context) != "" {
		fmt.Fprintf(&b, "; for %s use %s (%s)", contextTopic(context, c.topicName(s)), s, c.Name(s))
	}
	if it != nil && len(it.ATLAS) > 0 {
		var eq []string
		for _, a := range it.ATLAS {
			eq = append(eq, a+" ("+c.Name(a)+")")
		}
		fmt.Fprintf(&b, "; the ATLAS counterpart of %s is %s", id, strings.Join(eq, ", "))
	}
	return b.String()
}

func contextTopic(context, fallback string) string {
	low := strings.ToLower(context)
	for _, h := range topicHints {
		for _, w := range h.words {
			if strings.Contains(low, w) {
				return phraseFor(w)
			}
		}
	}
	return fallback
}

func phraseFor(w string) string {
	switch w {
	case "poison", "poisoning":
		return "data poisoning"
	case "membership":
		return "membership inference"
	case "evade":
		return "evasion"
	}
	return w
}

// TopicHintTechniques lists the techniques the topic hints point to.
func TopicHintTechniques() []string {
	var out []string
	for _, h := range topicHints {
		out = append(out, h.technique)
	}
	return out
}

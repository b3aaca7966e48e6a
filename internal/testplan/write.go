package testplan

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mlthreat/mlthreat/internal/catalog"
)

// WriteText writes the plan for people: every open threat, ranked, with
// what to run against which element.
func (p *Plan) WriteText(w io.Writer, cat *catalog.Catalog) error {
	var b bytes.Buffer
	s := p.System.Info
	fmt.Fprintf(&b, "Test plan for %s (%s)\n", s.Name, s.ID)
	tools, art, manual := 0, 0, 0
	states := map[string]int{}
	for i := range p.Items {
		it := &p.Items[i]
		if len(it.Garak)+len(it.Plugins) > 0 {
			tools++
		}
		if len(it.ART) > 0 {
			art++
		}
		if it.Manual() {
			manual++
		}
		states[it.Evidence]++
	}
	fmt.Fprintf(&b, "%d open threats, ranked by residual risk: %d to test with garak or promptfoo, %d with ART, %d by review.\n", len(p.Items), tools, art, manual)
	fmt.Fprintf(&b, "Evidence so far: %d confirmed, %d held, %d inconclusive, %d untested.\n", states["confirmed"], states["held"], states["inconclusive"], states["untested"])
	for i := range p.Items {
		it := &p.Items[i]
		t := it.Threat
		fmt.Fprintf(&b, "\n%d. %s  %d %s  %s  %s %s\n", it.Rank, t.ID, t.Residual.Score, t.Residual.Severity, t.Target.ID(), t.Technique, techniqueName(cat, t.Technique))
		fmt.Fprintf(&b, "   %s\n", t.Rule.Title)
		ev := it.Evidence
		if len(t.Evidence) > 0 {
			ref := t.Evidence[0]
			ev += " (" + ref.ID + ", " + ref.Label() + ": " + ref.Summary() + ")"
			if ref.Outcome == "confirmed" {
				ev += "; re-test after fixing"
			}
		}
		fmt.Fprintf(&b, "   evidence: %s\n", ev)
		if len(it.Garak) > 0 {
			fmt.Fprintf(&b, "   garak at %s: probes %s\n", it.LLMAt, strings.Join(it.Garak, ","))
		}
		if len(it.Plugins) > 0 {
			line := "plugins " + strings.Join(it.Plugins, ", ")
			if len(it.Strategies) > 0 {
				line += "; strategies " + strings.Join(it.Strategies, ", ")
			}
			fmt.Fprintf(&b, "   promptfoo at %s: %s\n", it.LLMAt, line)
		}
		for _, a := range it.ART {
			fmt.Fprintf(&b, "   ART at %s (%s): %s\n", it.ModelAt, a.Class, strings.Join(a.Attacks, ", "))
		}
		if it.Manual() {
			msg := "no tool in the mapping tests " + t.Technique + "; review the design"
			if len(it.Missing) > 0 {
				msg += " and whether " + strings.Join(it.Missing, ", ") + " are in place"
			}
			fmt.Fprintf(&b, "   by review: %s\n", msg)
		} else {
			fmt.Fprintf(&b, "   import the results with --target %s\n", t.Target.ID())
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// techniqueName names a technique, with its parent's name for a
// sub-technique: "LLM Prompt Injection: Direct".
func techniqueName(cat *catalog.Catalog, id string) string {
	if t := cat.Technique(id); t != nil && t.Parent != "" {
		return cat.Name(t.Parent) + ": " + t.Name
	}
	return cat.Name(id)
}

// envName makes an environment variable suffix of an element id.
func envName(id string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(id) {
		if (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// WriteGarak writes a POSIX shell script that runs garak against each
// element and imports every report on the elements whose threats it tests.
func (p *Plan) WriteGarak(w io.Writer) error {
	var b bytes.Buffer
	s := p.System.Info
	b.WriteString("#!/bin/sh\n")
	fmt.Fprintf(&b, "# garak runs for the open threats of %s, written by `mlthreat testplan`.\n", oneLine(s.Name))
	b.WriteString("# Set the generator garak should test for each element (garak --list_generators):\n")
	for _, run := range p.Garak {
		fmt.Fprintf(&b, "#   GARAK_TYPE_%s and GARAK_NAME_%s for %s\n", envName(run.Element), envName(run.Element), run.Element)
	}
	b.WriteString("# Each report is then imported as evidence (docs/evidence.md).\n")
	b.WriteString("set -eu\n")
	fmt.Fprintf(&b, "MODEL=${MLTHREAT_MODEL:-%s}\n", shellQuote(p.ModelPath))
	b.WriteString("RUNS=${GARAK_RUNS:-$HOME/.local/share/garak/garak_runs}\n")
	for _, run := range p.Garak {
		e := envName(run.Element)
		prefix := s.ID + "." + run.Element
		fmt.Fprintf(&b, "\n# %s: %s\n", run.Element, strings.Join(run.Threats, " "))
		typ := fmt.Sprintf(`"${GARAK_TYPE_%s:?set GARAK_TYPE_%s to the garak generator type for %s}"`, e, e, run.Element)
		name := fmt.Sprintf(`"${GARAK_NAME_%s:?set GARAK_NAME_%s to the model name for %s}"`, e, e, run.Element)
		if run.Type != "" {
			typ = fmt.Sprintf(`"${GARAK_TYPE_%s:-%s}"`, e, run.Type)
			name = fmt.Sprintf(`"${GARAK_NAME_%s:-%s}"`, e, run.Name)
		}
		fmt.Fprintf(&b, "garak --model_type %s \\\n  --model_name %s \\\n  --probes %s \\\n  --report_prefix %s\n", typ, name, strings.Join(run.Probes, ","), shellQuote(prefix))
		for _, target := range run.Imports {
			fmt.Fprintf(&b, "mlthreat evidence import \"$RUNS/%s.report.jsonl\" --model \"$MODEL\" --tool garak --target %s\n", prefix, shellQuote(target))
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

type pfConfig struct {
	Description string     `yaml:"description"`
	Targets     []pfTarget `yaml:"targets"`
	Redteam     pfRedteam  `yaml:"redteam"`
}

type pfTarget struct {
	ID     string  `yaml:"id"`
	Label  string  `yaml:"label"`
	Config *pfHTTP `yaml:"config,omitempty"`
}

type pfHTTP struct {
	URL               string            `yaml:"url"`
	Method            string            `yaml:"method"`
	Headers           map[string]string `yaml:"headers"`
	Body              map[string]string `yaml:"body"`
	TransformResponse string            `yaml:"transformResponse"`
}

type pfRedteam struct {
	Purpose    string   `yaml:"purpose"`
	NumTests   int      `yaml:"numTests"`
	Plugins    []string `yaml:"plugins"`
	Strategies []string `yaml:"strategies,omitempty"`
}

// WritePromptfoo writes a promptfoo red-team config: one target per element
// (labelled with the element id, which the import reads back), the plugins
// and strategies for the open LLM threats.
func (p *Plan) WritePromptfoo(w io.Writer) error {
	s := p.System.Info
	var b bytes.Buffer
	b.WriteString("# yaml-language-server: $schema=https://promptfoo.dev/config-schema.json\n")
	fmt.Fprintf(&b, "# promptfoo red team for the open LLM threats of %s, written by `mlthreat testplan`.\n", oneLine(s.Name))
	b.WriteString("# Each target's label is the element of the threat model it stands for; the import\n# uses it as the evidence target. Targets mlthreat could not derive from the model\n# call an HTTP endpoint: set the URL variable and adjust body and transformResponse.\n")
	b.WriteString("# Run:\n#   promptfoo redteam generate -c promptfooconfig.yaml -o redteam.yaml\n#   promptfoo redteam eval -c redteam.yaml --output results.json\n")
	fmt.Fprintf(&b, "#   mlthreat evidence import results.json --model %s\n", p.ModelPath)
	purpose := s.Description
	if purpose == "" {
		purpose = s.Name
	}
	cfg := pfConfig{
		Description: "Red team of " + oneLine(s.Name) + " from its threat model",
		Redteam:     pfRedteam{Purpose: oneLine(purpose), NumTests: 10, Plugins: p.Plugins, Strategies: p.Strategies},
	}
	for _, t := range p.Targets {
		if t.Provider != "" {
			cfg.Targets = append(cfg.Targets, pfTarget{ID: t.Provider, Label: t.Element})
			continue
		}
		cfg.Targets = append(cfg.Targets, pfTarget{ID: "https", Label: t.Element, Config: &pfHTTP{
			URL:               "{{env.PROMPTFOO_URL_" + envName(t.Element) + "}}",
			Method:            "POST",
			Headers:           map[string]string{"Content-Type": "application/json"},
			Body:              map[string]string{"message": "{{prompt}}"},
			TransformResponse: "json.output",
		}})
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

type artFile struct {
	System  string      `yaml:"system"`
	Attacks []artThreat `yaml:"attacks"`
}

type artThreat struct {
	Threat    string   `yaml:"threat"`
	Title     string   `yaml:"title"`
	Technique string   `yaml:"technique"`
	Residual  string   `yaml:"residual"`
	Element   string   `yaml:"element"`
	AttackAt  string   `yaml:"attack_at"`
	Runs      []artRun `yaml:"runs"`
}

type artRun struct {
	Class   string   `yaml:"class"`
	Module  string   `yaml:"module"`
	Attacks []string `yaml:"attacks"`
	Why     string   `yaml:"why"`
}

// HasART reports whether any threat has ART attacks.
func (p *Plan) HasART() bool {
	for i := range p.Items {
		if len(p.Items[i].ART) > 0 {
			return true
		}
	}
	return false
}

// WriteART writes the ART attacks for the open classic-ML threats.
func (p *Plan) WriteART(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Adversarial Robustness Toolbox attacks for the open classic-ML threats of %s,\n# written by `mlthreat testplan`, ranked by residual risk. For each threat: the\n# element the result is evidence on, the model or API to attack, and the ART\n# attack classes with the module they live in. Write each result as mlthreat\n# evidence JSON (docs/evidence.md) with \"target\" set to the element, then:\n", oneLine(p.System.Info.Name))
	fmt.Fprintf(&b, "#   mlthreat evidence import art-results.json --model %s\n", p.ModelPath)
	f := artFile{System: p.System.Info.ID}
	for i := range p.Items {
		it := &p.Items[i]
		if len(it.ART) == 0 {
			continue
		}
		t := it.Threat
		a := artThreat{Threat: t.ID, Title: t.Rule.Title, Technique: t.Technique, Residual: fmt.Sprintf("%d %s", t.Residual.Score, t.Residual.Severity), Element: t.Target.ID(), AttackAt: it.ModelAt}
		for _, r := range it.ART {
			a.Runs = append(a.Runs, artRun{Class: r.Class, Module: r.Module, Attacks: r.Attacks, Why: r.Why})
		}
		f.Attacks = append(f.Attacks, a)
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

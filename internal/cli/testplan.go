package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/evidence/mapping"
	"github.com/mlthreat/mlthreat/internal/testplan"
)

type testplanFlags struct {
	out, evidence string
	rulesDirs     []string
}

func (a *app) testplanCommand() *cobra.Command {
	var f testplanFlags
	cmd := &cobra.Command{
		Use:   "testplan FILE",
		Short: "Red-team test plan for the open threats, ranked by risk, with ready-to-run garak, promptfoo and ART configs",
		Long: `For every open threat, ranked by residual risk: what to test, with which tool
and against which element, and what the evidence so far says. Tools come
from mlthreat's evidence mapping read in reverse: garak probes and promptfoo
plugins and strategies for LLM and agent threats, Adversarial Robustness
Toolbox attacks (evasion, extraction, inference, poisoning) for classic ML
threats. Threats no tool tests are left to review.

With -o DIR it also writes DIR/testplan.txt and, where they apply,
DIR/garak.sh (runs garak and imports each report), DIR/promptfooconfig.yaml
(a red-team config) and DIR/art-attacks.yaml (the ART attacks per threat).`,
		Example: `  mlthreat testplan examples/llm-rag-assistant/system.yaml
  mlthreat testplan system.yaml -o redteam/`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.testplan(args[0], &f) },
	}
	cmd.Flags().StringVarP(&f.out, "output", "o", "", "write the plan and the tool configs into this directory")
	cmd.Flags().StringVar(&f.evidence, "evidence", "", "evidence file (default: FILE's .evidence.yaml when it exists)")
	cmd.Flags().StringArrayVar(&f.rulesDirs, "rules", nil, "also load the rule packs in this directory; repeatable")
	return cmd
}

func (a *app) testplan(file string, f *testplanFlags) error {
	cat, set, err := a.catalogAndRules(f.rulesDirs...)
	if err != nil {
		return err
	}
	sys, err := a.loadValid(file, cat, "; fix it before planning tests")
	if err != nil {
		return err
	}
	today, err := a.today()
	if err != nil {
		return err
	}
	recs, err := a.loadEvidence(file, f.evidence, sys, cat, today, evidence.DefaultMaxAge)
	if err != nil {
		return err
	}
	rep, err := analysis.Analyze(sys, cat, set, analysis.Options{Today: today, Evidence: recs})
	if err != nil {
		return exitWith(ExitUsage, "%v", err)
	}
	modelPath := file
	if f.out != "" {
		if rel, err := relativeTo(f.out, file); err == nil {
			modelPath = rel
		}
	}
	plan := testplan.Build(rep, mapping.Default(), modelPath)
	var text bytes.Buffer
	if err := plan.WriteText(&text, cat); err != nil {
		return exitWith(ExitUsage, "%v", err)
	}
	if f.out == "" {
		_, err := a.stdout.Write(text.Bytes())
		return err
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return exitWith(ExitUsage, "create %s: %v", f.out, cleanPathErr(err))
	}
	files := []struct {
		name  string
		write func(io.Writer) error
		when  bool
	}{
		{"testplan.txt", func(w io.Writer) error { _, err := w.Write(text.Bytes()); return err }, true},
		{"garak.sh", plan.WriteGarak, len(plan.Garak) > 0},
		{"promptfooconfig.yaml", plan.WritePromptfoo, len(plan.Targets) > 0},
		{"art-attacks.yaml", plan.WriteART, plan.HasART()},
	}
	for _, out := range files {
		if !out.when {
			continue
		}
		path := filepath.Join(f.out, out.name)
		if err := a.emitStream(path, out.write); err != nil {
			return err
		}
		if out.name == "garak.sh" {
			if err := os.Chmod(path, 0o755); err != nil {
				return exitWith(ExitUsage, "chmod %s: %v", path, cleanPathErr(err))
			}
		}
		fmt.Fprintf(a.stdout, "wrote %s\n", path)
	}
	return nil
}

// relativeTo is path as seen from dir.
func relativeTo(dir, path string) (string, error) {
	ad, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	ap, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return filepath.Rel(ad, ap)
}

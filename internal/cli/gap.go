package cli

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/report/gapreport"
)

func (a *app) gapCommand() *cobra.Command {
	var format, out, profile, effortFile string
	var rulesDirs []string
	cmd := &cobra.Command{
		Use:   "gap FILE",
		Short: "NIST AI RMF control gap analysis and remediation roadmap",
		Long: `Judge every NIST AI RMF 1.0 subcategory (met, partial, gap or
not-applicable) against the model's controls and governance practices through
mlthreat's crosswalk, link the open threats each gap leaves in place, and build
a roadmap ranked by residual risk removed per unit of effort.

Profiles: baseline (every subcategory at least partial), high-risk (every
subcategory met), generative (baseline plus the NIST AI 600-1 overlay), or a
profile file (see docs/governance.md).`,
		Example: `  mlthreat gap examples/fraud-detection/system.yaml
  mlthreat gap system.yaml --profile high-risk --format markdown -o plan.md
  mlthreat gap system.yaml --format csv -o gaps.csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := oneOf(format, "table", "json", "markdown", "csv"); err != nil {
				return exitWith(ExitUsage, "--format: %v", err)
			}
			cat, set, err := a.catalogAndRules(rulesDirs...)
			if err != nil {
				return err
			}
			cw, err := gap.Load(cat)
			if err != nil {
				return exitWith(ExitUsage, "crosswalk: %v", err)
			}
			sys, err := a.loadValid(args[0], cat, "; fix it first")
			if err != nil {
				return err
			}
			prof, err := gap.ResolveProfile(profile, sys, cat)
			if err != nil {
				return exitWith(ExitUsage, "--profile: %v", err)
			}
			effort := map[string]string{}
			if effortFile != "" {
				if effort, err = readEffort(effortFile); err != nil {
					return exitWith(ExitUsage, "--effort: %v", err)
				}
			}
			rep, err := gap.Analyze(sys, cat, set, cw, prof, gap.Options{Effort: effort})
			if err != nil {
				return exitWith(ExitUsage, "%v", err)
			}
			var buf bytes.Buffer
			switch format {
			case "json":
				err = gapreport.JSON(&buf, rep, version())
			case "markdown":
				err = gapreport.Markdown(&buf, rep)
			case "csv":
				err = gapreport.CSV(&buf, rep)
			default:
				err = gapreport.Table(&buf, rep)
			}
			if err != nil {
				return exitWith(ExitUsage, "render: %v", err)
			}
			return a.emit(out, buf.Bytes())
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "output format: table, json, markdown or csv")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	cmd.Flags().StringVar(&profile, "profile", "", "baseline, high-risk, generative, or a profile file (default: high-risk for critical systems, generative for LLM/agentic ones, else baseline)")
	cmd.Flags().StringVar(&effortFile, "effort", "", "YAML file of effort overrides: {ID: S|M|L}")
	cmd.Flags().StringArrayVar(&rulesDirs, "rules", nil, "also load the rule packs in this directory")
	return cmd
}

func readEffort(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	for id, e := range m {
		if e != "S" && e != "M" && e != "L" {
			return nil, fmt.Errorf("%s: %s: effort %q; expected S, M or L", path, id, e)
		}
	}
	return m, nil
}

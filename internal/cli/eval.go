package cli

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/eval"
)

func (a *app) evalCommand() *cobra.Command {
	var rulesDirs []string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "eval DIR",
		Short: "Measure the rules against ATLAS case studies: recall of each incident's techniques",
		Long: `Each *.yaml model in DIR describes the victim system of one ATLAS case study
(named by its x-case-study key) as it stood before the attack. eval analyses
each and reports how many of the case study's techniques were flagged on any
element (a sub-technique counts for its parent): over all steps, and over
system-facing steps (every tactic except Reconnaissance and Resource
Development).`,
		Example: `  mlthreat eval eval/atlas-cases`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cat, set, err := a.catalogAndRules(rulesDirs...)
			if err != nil {
				return err
			}
			res, err := eval.Run(args[0], cat, set)
			if err != nil {
				return exitWith(ExitUsage, "%v", err)
			}
			w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "CASE\tALL STEPS\tSYSTEM-FACING\tFLAGGED\tNAME")
			for _, c := range res.Cases {
				all, facing := c.Recall()
				fmt.Fprintf(w, "%s\t%3.0f%% (%d/%d)\t%3.0f%% (%d/%d)\t%d\t%s\n", c.CaseStudy, 100*all, len(c.Found), len(c.All),
					100*facing, countIn(c.Facing, c.Found), len(c.Facing), c.Flagged, clipName(c.Name, 50))
			}
			all, facing, flagged := res.Totals()
			fmt.Fprintf(w, "TOTAL (%d cases)\t%3.1f%%\t%3.1f%%\t%.1f avg\t\n", len(res.Cases), 100*all, 100*facing, flagged)
			if err := w.Flush(); err != nil {
				return err
			}
			if verbose {
				for _, c := range res.Cases {
					if len(c.Missed) > 0 {
						fmt.Fprintf(a.stdout, "%s missed: %s\n", c.CaseStudy, strings.Join(c.Missed, ", "))
					}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&rulesDirs, "rules", nil, "also load the rule packs in this directory")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list the techniques each case missed")
	return cmd
}

func countIn(list, found []string) int {
	n := 0
	for _, x := range list {
		if slices.Contains(found, x) {
			n++
		}
	}
	return n
}

func clipName(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

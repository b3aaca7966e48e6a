package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/analysis"
)

func (a *app) pathsCommand() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "paths FILE",
		Short: "List attack paths: chains of threats along the flow graph, entry point to impact",
		Long: `List attack paths: for every element outsiders can reach and every element
carrying an exfiltration or impact threat, the shortest flow path between them,
with the riskiest open threat of each ATLAS tactic along it, in matrix order.
High and critical paths are what 'analyze --format stix' exports as MITRE
Attack Flow.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := a.analyzeFile(args[0])
			if err != nil {
				return err
			}
			paths := rep.Paths()
			shown := 0
			for i, p := range paths {
				if !all && analysis.SeverityRank(p.Severity) < analysis.SeverityRank("high") {
					continue
				}
				shown++
				fmt.Fprintf(a.stdout, "path %d  %s  risk %d: %s\n", i+1, p.Severity, p.Risk, strings.Join(p.Elements, " -> "))
				for _, s := range p.Steps {
					fmt.Fprintf(a.stdout, "  %-22s %-14s %-28s on %s (%s, residual %d)\n", rep.Catalog.Name(s.Tactics[0]), s.Technique, clipName(rep.Catalog.Name(s.Technique), 28), s.Target.ID(), s.ID, s.Residual.Score)
				}
				fmt.Fprintln(a.stdout)
			}
			fmt.Fprintf(a.stderr, "%d of %d paths shown", shown, len(paths))
			if !all {
				fmt.Fprint(a.stderr, " (high and critical; --all for every path)")
			}
			fmt.Fprintln(a.stderr)
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "also list medium and low paths")
	return cmd
}

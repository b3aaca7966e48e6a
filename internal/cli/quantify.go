package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/quantify"
	"github.com/mlthreat/mlthreat/internal/report/quantreport"
)

func (a *app) quantifyCommand() *cobra.Command {
	var format, out string
	var seed uint64
	var iterations int
	cmd := &cobra.Command{
		Use:   "quantify FILE",
		Short: "Put the threats in money: annualised loss per threat and per system (Monte Carlo)",
		Long: `Simulate each threat's annual loss, FAIR-style: loss events per year (from
the likelihood, or business.frequency) times the loss of each event (from the
business.losses ranges for the impact types the threat causes, or from the
impact score), with the controls' effect taken from the residual model.

Prints the annualised loss expectancy (mean, P10, P50, P90) per threat and for
the system, inherent and residual, compared with business.appetite, and every
assumption made. The same --seed gives the same numbers. See docs/quantify.md.`,
		Example: `  mlthreat quantify examples/quality-inspection/system.yaml
  mlthreat quantify system.yaml -f json -o loss.json --iterations 200000 --seed 7
  mlthreat quantify system.yaml -f svg -o loss-exceedance.svg`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := oneOf(format, "table", "json", "markdown", "svg"); err != nil {
				return exitWith(ExitUsage, "--format: %v", err)
			}
			if iterations < 1000 || iterations > 10_000_000 {
				return exitWith(ExitUsage, "--iterations %d: expected 1,000 to 10,000,000", iterations)
			}
			rep, err := a.analyzeFile(args[0])
			if err != nil {
				return err
			}
			q, err := quantify.Quantify(rep, quantify.Options{Iterations: iterations, Seed: seed})
			if err != nil {
				return exitWith(ExitFindings, "%s: %v", args[0], err)
			}
			return a.emitStream(out, func(w io.Writer) error {
				var err error
				switch format {
				case "json":
					err = quantreport.JSON(w, q, version())
				case "markdown":
					err = quantreport.Markdown(w, q)
				case "svg":
					err = quantreport.SVG(w, q)
				default:
					err = quantreport.Table(w, q)
				}
				if err != nil {
					return exitWith(ExitUsage, "render %s: %v", format, err)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "output: table, json, markdown or svg (the loss-exceedance curve)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed; the same seed gives the same result")
	cmd.Flags().IntVar(&iterations, "iterations", 100_000, "simulated years")
	return cmd
}

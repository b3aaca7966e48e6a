package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/board"
	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/quantify"
	"github.com/mlthreat/mlthreat/internal/report/boardreport"
	"github.com/mlthreat/mlthreat/internal/report/quantreport"
)

func (a *app) reportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Reports for people outside security: the board summary",
	}
	cmd.AddCommand(a.boardCommand())
	return cmd
}

func (a *app) boardCommand() *cobra.Command {
	var format, out, since string
	var top, iterations int
	var seed uint64
	cmd := &cobra.Command{
		Use:   "board FILE...",
		Short: "Board summary over one or many systems: top risks in money, trend, appetite, decisions",
		Long: `Summarise one or many systems for a board: the top risks in plain language,
one sentence each with their cost in a typical and a bad year; each system's
expected residual loss against its risk appetite; the trend since the last
summary (--since, a JSON summary written earlier with -f json); and the
decisions needed (over appetite, acceptances expiring, critical risks without
a decision, the first 30 days of the roadmap).

Amounts come from each model's business: loss model (docs/quantify.md), or
from default tables keyed to the risk scores when there is none.`,
		Example: `  mlthreat report board examples/quality-inspection/system.yaml
  mlthreat report board models/*/system.yaml -f pdf -o board.pdf
  mlthreat report board models/*/system.yaml -f json -o board-2026-Q4.json
  mlthreat report board models/*/system.yaml --since board-2026-Q3.json -f html -o board.html`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := oneOf(format, "markdown", "html", "pdf", "json"); err != nil {
				return exitWith(ExitUsage, "--format: %v", err)
			}
			if top < 1 || top > 100 {
				return exitWith(ExitUsage, "--top %d: expected 1 to 100", top)
			}
			today, err := a.today()
			if err != nil {
				return err
			}
			var previous *board.Summary
			if since != "" {
				if previous, err = boardreport.ReadSnapshot(since); err != nil {
					return exitWith(ExitUsage, "--since: %v", cleanPathErr(err))
				}
			}
			cat, set, err := a.catalogAndRules()
			if err != nil {
				return err
			}
			cw, err := gap.Load(cat)
			if err != nil {
				return exitWith(ExitUsage, "crosswalk: %v", err)
			}
			var inputs []board.Input
			for _, file := range args {
				rep, err := a.analyzeFile(file)
				if err != nil {
					return err
				}
				q, err := quantify.Quantify(rep, quantify.Options{Iterations: iterations, Seed: seed})
				if err != nil {
					return exitWith(ExitFindings, "%s: %v", file, err)
				}
				sys := rep.System
				prof, err := gap.ResolveProfile("", sys, cat)
				if err != nil {
					return exitWith(ExitUsage, "%v", err)
				}
				gr, err := gap.Analyze(sys, cat, set, cw, prof, gap.Options{Today: today})
				if err != nil {
					return exitWith(ExitUsage, "%s: %v", file, err)
				}
				inputs = append(inputs, board.Input{Quant: q, Gap: gr})
			}
			s := board.Build(inputs, previous, today, quantreport.Money, top)
			return a.emitStream(out, func(w io.Writer) error {
				var err error
				switch format {
				case "html":
					err = boardreport.HTML(w, s)
				case "pdf":
					err = boardreport.PDF(w, s)
				case "json":
					err = boardreport.JSON(w, s)
				default:
					err = boardreport.Markdown(w, s)
				}
				if err != nil {
					return exitWith(ExitUsage, "render %s: %v", format, err)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "markdown", "output: markdown, html, pdf or json (json is also the snapshot for --since)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	cmd.Flags().StringVar(&since, "since", "", "a previous summary written with -f json, for the trend")
	cmd.Flags().IntVar(&top, "top", 10, "how many top risks to list")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed of the loss simulation")
	cmd.Flags().IntVar(&iterations, "iterations", 100_000, "simulated years")
	return cmd
}

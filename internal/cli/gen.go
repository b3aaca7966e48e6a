package cli

import (
	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/synth"
)

func (a *app) genCommand() *cobra.Command {
	var n int
	var out string
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Generate a synthetic system model of a given size, for benchmarks and load tests",
		Example: `  mlthreat gen --components 1000 -o big.yaml
  mlthreat gen --components 10000 | mlthreat validate /dev/stdin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n < 1 || n > 1_000_000 {
				return exitWith(ExitUsage, "--components must be between 1 and 1000000")
			}
			return a.emit(out, synth.Model(n))
		},
	}
	cmd.Flags().IntVarP(&n, "components", "n", 100, "number of components (about 3 flows each)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	return cmd
}

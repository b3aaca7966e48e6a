package cli

import (
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/interop/threagile"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/synth"
)

func (a *app) genCommand() *cobra.Command {
	var n, scale int
	var out, format string
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Generate a synthetic system model of a given size, for benchmarks and load tests",
		Long: `Generate a valid synthetic system model: --components N gives a mix of ML
and LLM components across four trust zones with about three flows each;
--scale K gives K disjoint copies of the bundled examples (64 components
each), like Threagile's test on 100 copies of its own example.
--format threagile writes the same system as a Threagile model, so both
tools can run on the same input.`,
		Example: `  mlthreat gen --components 1000 -o big.yaml
  mlthreat gen --scale 100 -o examples-x100.yaml
  mlthreat gen --scale 100 --format threagile -o threagile-x100.yaml
  mlthreat gen --components 10000 | mlthreat validate /dev/stdin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := oneOf(format, "mlthreat", "threagile"); err != nil {
				return exitWith(ExitUsage, "--format: %v", err)
			}
			var src []byte
			switch {
			case cmd.Flags().Changed("scale") && cmd.Flags().Changed("components"):
				return exitWith(ExitUsage, "give --components or --scale, not both")
			case cmd.Flags().Changed("scale"):
				if err := oneOf(strconv.Itoa(scale), "1", "10", "100", "1000"); err != nil {
					return exitWith(ExitUsage, "--scale: %v", err)
				}
				var err error
				if src, err = synth.Scale(scale); err != nil {
					return exitWith(ExitUsage, "internal error: %v", err)
				}
			default:
				if n < 1 || n > 1_000_000 {
					return exitWith(ExitUsage, "--components must be between 1 and 1000000")
				}
				src = synth.Model(n)
			}
			if format == "mlthreat" {
				return a.emit(out, src)
			}
			// Generated models can be far above the limits for hand-written ones.
			s, ds := model.Load("generated.yaml", src, model.Limits{MaxBytes: 1 << 30, MaxDepth: 64, MaxNodes: 1 << 24})
			if s == nil || ds.Errors() > 0 {
				return exitWith(ExitUsage, "internal error: generated model is invalid: %v", ds)
			}
			return a.emitStream(out, func(w io.Writer) error {
				if err := threagile.Write(w, s); err != nil {
					return exitWith(ExitUsage, "write: %v", err)
				}
				return nil
			})
		},
	}
	cmd.Flags().IntVarP(&n, "components", "n", 100, "number of components (about 3 flows each)")
	cmd.Flags().IntVar(&scale, "scale", 1, "copies of the bundled examples: 1, 10, 100 or 1000 (64 components each)")
	cmd.Flags().StringVarP(&format, "format", "f", "mlthreat", "output format: mlthreat or threagile")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	return cmd
}

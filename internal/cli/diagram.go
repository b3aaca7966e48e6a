package cli

import (
	"bytes"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/report/diagram"
)

func (a *app) diagramCommand() *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "diagram FILE",
		Short: "Draw the data-flow diagram (Mermaid, Graphviz DOT or SVG), tinted by residual risk",
		Long: `Draw the system's data-flow diagram: components by kind, trust zones as
boundaries, flows labelled with their data, and every element tinted by its
highest residual severity. Mermaid renders in GitHub and GitLab Markdown; DOT
renders with Graphviz.`,
		Example: "  mlthreat diagram examples/sentiment-api/system.yaml --format mermaid\n  mlthreat diagram system.yaml --format dot | dot -Tpng -o dfd.png",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := oneOf(format, "mermaid", "dot", "svg"); err != nil {
				return exitWith(ExitUsage, "--format: %v", err)
			}
			rep, err := a.analyzeFile(args[0])
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			switch format {
			case "dot":
				err = diagram.DOT(&buf, rep)
			case "svg":
				err = diagram.SVG(&buf, rep)
			default:
				err = diagram.Mermaid(&buf, rep)
			}
			if err != nil {
				return exitWith(ExitUsage, "render: %v", err)
			}
			return a.emit(out, buf.Bytes())
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "mermaid", "mermaid, dot or svg")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	return cmd
}

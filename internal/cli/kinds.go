package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/suggest"
)

func (a *app) kindsCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "kinds [KIND]",
		Short: "List the component kinds, or the props of one kind",
		Example: `  mlthreat kinds
  mlthreat kinds inference-api`,
		Args: cobra.MaximumNArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return model.Kinds().KindNames(), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			v := model.Kinds()
			if len(args) == 0 {
				if asJSON {
					return writeJSON(a.stdout, v.Kinds)
				}
				var rows []row
				for _, k := range v.Kinds {
					rows = append(rows, row{k.Kind, k.Group, k.Summary})
				}
				return writeTable(a.stdout, []string{"KIND", "GROUP", "SUMMARY"}, rows)
			}
			k := v.Kind(args[0])
			if k == nil {
				return exitWith(ExitUsage, "unknown kind %q%s", args[0], suggest.DidYouMean(suggest.Closest(args[0], v.KindNames(), 2)))
			}
			if asJSON {
				return writeJSON(a.stdout, k)
			}
			fmt.Fprintf(a.stdout, "%s (%s): %s\n\n", k.Kind, k.Group, k.Summary)
			var rows []row
			for _, p := range append(append([]model.PropSpec{}, k.Props...), v.Common...) {
				typ := p.Type
				if len(p.Values) > 0 {
					typ += ": " + strings.Join(p.Values, "|")
				}
				name := p.Name
				if len(p.Aliases) > 0 {
					name += " (" + strings.Join(p.Aliases, ", ") + ")"
				}
				rows = append(rows, row{name, typ, p.Summary})
			}
			if err := writeTable(a.stdout, []string{"PROP", "TYPE", "SUMMARY"}, rows); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "\nExample:\n%s", k.Example)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

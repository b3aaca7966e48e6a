package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/diag"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/validate"
)

type fileResult struct {
	File        string            `json:"file"`
	Valid       bool              `json:"valid"`
	Errors      int               `json:"errors"`
	Warnings    int               `json:"warnings"`
	Diagnostics []diag.Diagnostic `json:"diagnostics"`
}

func (a *app) validateCommand() *cobra.Command {
	var format string
	var noWarnings bool
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check system models and print every problem as file:line:col",
		Long: `Check one or more system models: YAML syntax and limits, the JSON Schema
(schema/model.schema.json), unknown keys, references, per-kind props and every
framework id (ATLAS, NIST AI RMF, OWASP).

Each problem is printed as file:line:col: severity: message. Unknown props are
warnings; everything else is an error.

Exit codes: 0 all files valid (warnings allowed), 1 some file invalid,
2 a file could not be read or the arguments are wrong.`,
		Example: `  mlthreat validate examples/sentiment-api/system.yaml
  mlthreat validate --format json models/*.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			if err := oneOf(format, "text", "json"); err != nil {
				return exitWith(ExitUsage, "--format: %v", err)
			}
			cat, err := a.catalog()
			if err != nil {
				return err
			}
			var results []fileResult
			unreadable, invalid := false, false
			for _, f := range files {
				_, ds := validate.File(f, cat, model.DefaultLimits)
				if noWarnings {
					var kept diag.List
					for _, d := range ds {
						if d.Severity == diag.Error {
							kept = append(kept, d)
						}
					}
					ds = kept
				}
				if ds == nil {
					ds = diag.List{}
				}
				r := fileResult{File: f, Valid: ds.Errors() == 0, Errors: ds.Errors(), Warnings: ds.Warnings(), Diagnostics: ds}
				results = append(results, r)
				if validate.Unreadable(ds) {
					unreadable = true
				} else if !r.Valid {
					invalid = true
				}
			}
			switch format {
			case "json":
				total := struct {
					Files    []fileResult `json:"files"`
					Valid    bool         `json:"valid"`
					Errors   int          `json:"errors"`
					Warnings int          `json:"warnings"`
				}{Files: results, Valid: !invalid && !unreadable}
				for _, r := range results {
					total.Errors += r.Errors
					total.Warnings += r.Warnings
				}
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(total); err != nil {
					return exitWith(ExitUsage, "write output: %v", err)
				}
			default:
				for _, r := range results {
					for _, d := range r.Diagnostics {
						fmt.Fprintln(a.stdout, d.String())
					}
				}
				for _, r := range results {
					state := "valid"
					if !r.Valid {
						state = "invalid"
					}
					fmt.Fprintf(a.stderr, "%s: %s (%s, %s)\n", r.File, state, plural(r.Errors, "error"), plural(r.Warnings, "warning"))
				}
			}
			switch {
			case unreadable:
				return silentExit(ExitUsage)
			case invalid:
				return silentExit(ExitFindings)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "text", "output format: text or json")
	cmd.Flags().BoolVar(&noWarnings, "errors-only", false, "do not print warnings")
	return cmd
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

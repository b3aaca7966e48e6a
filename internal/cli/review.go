package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/gate"
)

func (a *app) reviewCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "review",
		Short: "Sign and inspect threat-model reviews",
	}
	cmd.AddCommand(a.reviewSignCommand(), a.reviewShowCommand())
	return cmd
}

func (a *app) reviewSignCommand() *cobra.Command {
	var by, note, out string
	var rulesDirs []string
	cmd := &cobra.Command{
		Use:   "sign FILE --by NAME",
		Short: "Record a review: date, reviewer, and the digests of the model and its artifacts",
		Long: `Record that the threat model in FILE was reviewed today by NAME. The record
(FILE's name with .review.json, beside it) holds the sha256 of the model file,
of every artifact pinned in system.artifacts, and the open threats at signing.

gate then reports "threat model is stale" when an artifact changes, or when
the model file changes in a way that adds threats, until someone reviews it
again and signs. Signing fails when a pinned artifact is missing or does not
match its pin. Commit the record with the model.`,
		Example: `  mlthreat review sign examples/sentiment-api/system.yaml --by "Ada Lovelace"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(by) == "" {
				return exitWith(ExitUsage, "--by NAME is required: who reviewed the threat model")
			}
			file := args[0]
			cat, set, err := a.catalogAndRules(rulesDirs...)
			if err != nil {
				return err
			}
			sys, err := a.loadValid(file, cat, "; fix it before signing")
			if err != nil {
				return err
			}
			today, err := a.today()
			if err != nil {
				return err
			}
			rep, err := analysis.Analyze(sys, cat, set, analysis.Options{Today: today})
			if err != nil {
				return exitWith(ExitUsage, "%v", err)
			}
			rec, err := gate.Sign(file, sys, rep, by, note, version(), today)
			if err != nil {
				return exitWith(ExitFindings, "%s: %v", file, err)
			}
			if out == "" {
				out = gate.RecordPath(file)
			}
			if err := gate.WriteRecord(out, rec); err != nil {
				return exitWith(ExitUsage, "write %s: %v", out, cleanPathErr(err))
			}
			fmt.Fprintf(a.stdout, "signed %s for %s by %s on %s: model sha256 %s, %d artifact(s), %d open threat(s), threat set %s\n",
				out, rec.System, rec.By, rec.Date, rec.Model[:12], len(rec.Artifacts), len(rec.Threats), rec.ThreatSet)
			return nil
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "who reviewed (required)")
	cmd.Flags().StringVar(&note, "note", "", "a note kept with the record")
	cmd.Flags().StringVarP(&out, "output", "o", "", "where to write the record (default FILE's .review.json)")
	cmd.Flags().StringArrayVar(&rulesDirs, "rules", nil, "also load the rule packs in this directory")
	return cmd
}

func (a *app) reviewShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show FILE",
		Short: "Show the signed review of a model and whether it still matches",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := args[0]
			path := gate.RecordPath(file)
			rec, err := gate.ReadRecord(path)
			if err != nil {
				return exitWith(ExitUsage, "%v", cleanPathErr(err))
			}
			if rec == nil {
				return exitWith(ExitFindings, "%s has no signed review (no %s); run `mlthreat review sign %s --by NAME`", file, path, file)
			}
			fmt.Fprintf(a.stdout, "%s: reviewed by %s on %s (%s)\n", file, rec.By, rec.Date, path)
			if rec.Note != "" {
				fmt.Fprintf(a.stdout, "  note: %s\n", rec.Note)
			}
			digest, err := gate.FileDigest(file)
			if err != nil {
				return exitWith(ExitUsage, "%s: %v", file, cleanPathErr(err))
			}
			state := "unchanged since the review"
			if digest != rec.Model {
				state = "changed since the review (run gate to see whether it adds threats)"
			}
			fmt.Fprintf(a.stdout, "  model: %s\n", state)
			for _, d := range rec.Artifacts {
				fmt.Fprintf(a.stdout, "  artifact %s: sha256 %s at signing\n", d.Path, d.SHA256[:min(12, len(d.SHA256))])
			}
			fmt.Fprintf(a.stdout, "  %d open threat(s) at signing, threat set %s\n", len(rec.Threats), rec.ThreatSet)
			return nil
		},
	}
}

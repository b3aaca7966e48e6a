package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/diff"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/report/diffreport"
	"github.com/mlthreat/mlthreat/internal/validate"
)

type diffFlags struct {
	format    string
	out       string
	rev       string
	failOn    string
	rulesDirs []string
}

func (a *app) diffCommand() *cobra.Command {
	f := &diffFlags{}
	cmd := &cobra.Command{
		Use:   "diff OLD NEW | diff --git REV FILE",
		Short: "Compare two versions of a model: threats added, removed and changed, and the risk delta",
		Long: `Analyse two versions of a system model and show what the change does to
its threat model: threats added, removed and changed (residual risk or
status), the residual-risk delta over open and in-progress threats, ATLAS
techniques and tactics gained or lost, and controls added, removed or changed.

With --git REV, OLD is FILE as it was at the git revision REV (read with git,
run in FILE's folder) and NEW is FILE as it is now. The markdown format is
meant for a pull-request comment.

Exit codes: 0 compared, 1 --fail-on-new tripped or a model is invalid, 2
usage error, unreadable input, a bad revision or no git.`,
		Example: `  mlthreat diff old/system.yaml system.yaml
  mlthreat diff --git origin/main system.yaml --format markdown -o comment.md
  mlthreat diff --git origin/main system.yaml --fail-on-new high`,
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("git") {
				if f.rev == "" {
					return errors.New("--git needs a revision, e.g. --git origin/main")
				}
				if len(args) != 1 {
					return fmt.Errorf("with --git, give one FILE to compare with itself at %s; got %s", f.rev, plural(len(args), "argument"))
				}
				return nil
			}
			if len(args) != 2 {
				return fmt.Errorf("give OLD and NEW model files, or --git REV FILE; got %s", plural(len(args), "argument"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.diff(args, f)
		},
	}
	cmd.Flags().StringVarP(&f.format, "format", "f", "table", "output format: table, markdown (a pull-request comment) or json")
	cmd.Flags().StringVarP(&f.out, "output", "o", "", "write to this file instead of stdout")
	cmd.Flags().StringVar(&f.rev, "git", "", "compare FILE with itself at this git revision (branch, tag, commit)")
	cmd.Flags().StringVar(&f.failOn, "fail-on-new", "", "exit 1 when the change leaves a threat unmitigated at or above this residual severity that was not before: low, medium, high or critical")
	cmd.Flags().StringArrayVar(&f.rulesDirs, "rules", nil, "also load the rule packs (*.yaml) in this directory; repeatable")
	return cmd
}

func (a *app) diff(args []string, f *diffFlags) error {
	if err := oneOf(f.format, "table", "markdown", "json"); err != nil {
		return exitWith(ExitUsage, "--format: %v", err)
	}
	if f.failOn != "" {
		if err := oneOf(f.failOn, "low", "medium", "high", "critical"); err != nil {
			return exitWith(ExitUsage, "--fail-on-new: %v", err)
		}
	}
	// A revision that looks like an option would reach git as one.
	if strings.HasPrefix(f.rev, "-") {
		return exitWith(ExitUsage, "--git: %q is not a revision", f.rev)
	}
	cat, set, err := a.catalogAndRules(f.rulesDirs...)
	if err != nil {
		return err
	}
	file := args[len(args)-1]
	var before *model.System
	if f.rev != "" {
		// FILE is read in any case; say so if it is missing, rather than
		// let git complain about the revision.
		if _, err := os.Stat(file); err != nil {
			return exitWith(ExitUsage, "%s: %s", file, cleanErr(err))
		}
		before, err = a.loadRevision(f.rev, file, cat)
	} else {
		before, err = a.loadValid(args[0], cat, "")
	}
	if err != nil {
		return err
	}
	after, err := a.loadValid(file, cat, "")
	if err != nil {
		return err
	}
	if before.Info.ID != after.Info.ID {
		fmt.Fprintf(a.stderr, "mlthreat: note: the system id changed from %q to %q; comparing anyway\n", before.Info.ID, after.Info.ID)
	}
	kinds := map[string]bool{"flow": true, "zone": true}
	for _, s := range []*model.System{before, after} {
		for _, c := range s.Components {
			kinds[c.Kind] = true
		}
	}
	set.Precompile(kinds)
	// One date for both sides, so an acceptance expiring at midnight cannot
	// show up as a change.
	opt := analysis.Options{Today: time.Now().UTC()}
	oldRep, err := analysis.Analyze(before, cat, set, opt)
	if err != nil {
		return exitWith(ExitUsage, "%v", err)
	}
	newRep, err := analysis.Analyze(after, cat, set, opt)
	if err != nil {
		return exitWith(ExitUsage, "%v", err)
	}
	res := diff.Compare(oldRep, newRep)
	err = a.emitStream(f.out, func(w io.Writer) error {
		var err error
		switch f.format {
		case "markdown":
			err = diffreport.Markdown(w, res)
		case "json":
			err = diffreport.JSON(w, res, version())
		default:
			err = diffreport.Table(w, res)
		}
		if err != nil {
			return exitWith(ExitUsage, "render %s: %v", f.format, err)
		}
		return nil
	})
	if err != nil || f.failOn == "" {
		return err
	}
	if trips := res.Tripped(f.failOn); len(trips) > 0 {
		fmt.Fprintf(a.stderr, "mlthreat: --fail-on-new %s: %s newly unmitigated at or above %s:\n", f.failOn, plural(len(trips), "threat"), f.failOn)
		diffreport.Trips(a.stderr, trips)
		return silentExit(ExitFindings)
	}
	return nil
}

// loadRevision reads and validates file as it was at the git revision rev.
// Diagnostics name it "REV:FILE".
func (a *app) loadRevision(rev, file string, cat *catalog.Catalog) (*model.System, error) {
	name := rev + ":" + file
	b, err := gitBlob(rev, file, model.DefaultLimits.MaxBytes)
	if err != nil {
		return nil, err
	}
	sys, ds := model.Load(name, b, model.DefaultLimits)
	if sys != nil {
		ds = append(ds, validate.Frameworks(sys, cat)...)
		ds.Sort()
	}
	if err := a.checkDiagnostics(name, sys, ds, ""); err != nil {
		return nil, err
	}
	return sys, nil
}

// gitBlob returns the content of file at rev, read by git run in the file's
// folder so that the path is resolved against the working directory's repo.
// A file over limit is invalid, as model.LoadFile judges one on disk.
func gitBlob(rev, file string, limit int64) ([]byte, error) {
	git, err := exec.LookPath("git")
	if err != nil {
		return nil, exitWith(ExitUsage, "--git needs git, which is not installed or not on PATH")
	}
	// cat-file, unlike show, never runs textconv filters or a pager.
	cmd := exec.Command(git, "cat-file", "blob", rev+":./"+filepath.Base(file))
	cmd.Dir = filepath.Dir(file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, exitWith(ExitUsage, "git: %v", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, exitWith(ExitUsage, "git: %v", err)
	}
	b, readErr := io.ReadAll(io.LimitReader(out, limit+1))
	if int64(len(b)) > limit {
		cmd.Process.Kill()
	}
	waitErr := cmd.Wait()
	switch {
	case int64(len(b)) > limit:
		return nil, exitWith(ExitFindings, "%s:%s: over the %d-byte limit for a system model", rev, file, limit)
	case waitErr != nil:
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = waitErr.Error()
		}
		return nil, exitWith(ExitUsage, "--git %s: %s", rev, clipName(msg, 500))
	case readErr != nil:
		return nil, exitWith(ExitUsage, "--git %s: %v", rev, readErr)
	}
	return b, nil
}

package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/gate"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/report/gatereport"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/server/client"
	"github.com/mlthreat/mlthreat/internal/validate"
)

type gateFlags struct {
	policy, format, out, packetDir, review string
	rulesDirs                              []string
	server, token                          string
	board                                  *client.Client // set from server and token
}

func (a *app) gateCommand() *cobra.Command {
	var f gateFlags
	cmd := &cobra.Command{
		Use:   "gate FILE...",
		Short: "CI gate: judge threat models against a policy (exit 0 pass, 1 fail or escalate)",
		Long: `Evaluate each model against a policy and print every verdict with its
reason and the threat or element it concerns.

Checks: open threats at or above a residual severity (with per-technique or
per-tactic overrides), expired risk acceptances, required controls per kind,
forbidden configurations, minimum NIST AI RMF coverage, review age and
signature, stale models (pinned artifact digests, changes since the signed
review), and custom CEL rules. See docs/policy.md.

Verdicts: pass (exit 0); fail (exit 1); escalate (exit 1) when the policy
sends the system to the review board and no valid approval in the model's
approvals section covers it. An escalation writes a review packet (Markdown
and JSON) for the board.

The policy is --policy (permissive, standard, strict, or a file), else
.mlthreat/policy.yaml when it exists, else standard.`,
		Example: `  mlthreat gate examples/sentiment-api/system.yaml
  mlthreat gate --policy strict --format sarif -o gate.sarif models/*/system.yaml
  mlthreat gate --format junit -o gate-junit.xml $(git ls-files '*/system.yaml')
  mlthreat gate --format github system.yaml   # annotations in a GitHub workflow`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.gate(f, args) },
	}
	cmd.Flags().StringVar(&f.policy, "policy", "", "permissive, standard, strict, or a policy file (default .mlthreat/policy.yaml, else standard)")
	cmd.Flags().StringVarP(&f.format, "format", "f", "table", "output: table, json, sarif, junit or github")
	cmd.Flags().StringVarP(&f.out, "output", "o", "", "write to this file instead of stdout")
	cmd.Flags().StringVar(&f.packetDir, "packet-dir", "", "where escalations write review packets (default: the policy's, else .mlthreat/packets)")
	cmd.Flags().StringVar(&f.review, "review", "", "signed review record to use (one FILE only; default FILE's .review.json beside it)")
	cmd.Flags().StringArrayVar(&f.rulesDirs, "rules", nil, "also load the rule packs in this directory")
	cmd.Flags().StringVar(&f.server, "server", "", "portfolio server whose review-board decisions count as approvals (default $MLTHREAT_SERVER)")
	cmd.Flags().StringVar(&f.token, "token", "", "API token for --server (default $MLTHREAT_TOKEN)")
	return cmd
}

// resolvePolicy loads --policy, the repository's policy file, or standard.
func (a *app) resolvePolicy(name string, cat *catalog.Catalog) (*gate.Policy, error) {
	if name == "" {
		name = "standard"
		if _, err := os.Stat(gate.DefaultFile); err == nil {
			name = gate.DefaultFile
		}
	}
	pol, err := gate.Load(name, cat)
	if err != nil {
		return nil, exitWith(ExitUsage, "policy: %v", cleanPathErr(err))
	}
	return pol, nil
}

func cleanPathErr(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Path + ": " + pe.Err.Error()
	}
	return err.Error()
}

// gateOutcome is one file's result, or why it has none.
type gateOutcome struct {
	res    *gate.Result
	diags  bytes.Buffer
	usage  error // unreadable input, policy failure: exit 2
	packet *gate.Packet
	// What the verdict was made from, for push.
	sys      *model.System
	report   *analysis.Report
	evidence []evidence.Record
}

func (a *app) gate(f gateFlags, files []string) error {
	if err := oneOf(f.format, "table", "json", "sarif", "junit", "github"); err != nil {
		return exitWith(ExitUsage, "--format: %v", err)
	}
	if f.review != "" && len(files) > 1 {
		return exitWith(ExitUsage, "--review names one record; it cannot apply to %d files", len(files))
	}
	board, err := a.serverClient(f.server, f.token, false)
	if err != nil {
		return err
	}
	f.board = board
	cat, err := a.catalog()
	if err != nil {
		return err
	}
	// The policy, the rule packs and the crosswalk load in parallel: each is
	// a few milliseconds of parsing, and a gate run is short.
	var cw *gap.Crosswalk
	var cwErr error
	cwDone := make(chan struct{})
	go func() {
		defer close(cwDone)
		cw, cwErr = gap.Load(cat)
	}()
	var set *rules.Set
	var setErr error
	setDone := make(chan struct{})
	go func() {
		defer close(setDone)
		set, setErr = loadRules(cat, f.rulesDirs...)
	}()
	pol, err := a.resolvePolicy(f.policy, cat)
	<-setDone
	<-cwDone
	if err != nil {
		return err
	}
	if setErr != nil {
		return setErr
	}
	escalates := (pol.Escalation.Severity != "" && pol.Escalation.Severity != "none") || len(pol.Escalation.When) > 0
	if pol.RMF == nil && !escalates {
		cw = nil
	} else if cwErr != nil {
		return exitWith(ExitUsage, "crosswalk: %v", cwErr)
	}
	today, err := a.today()
	if err != nil {
		return err
	}
	outcomes := make([]*gateOutcome, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, min(runtime.GOMAXPROCS(0), len(files))) {
		wg.Go(func() {
			for i := range next {
				outcomes[i] = a.gateOne(files[i], f, pol, cat, set, cw, today)
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()

	var results []*gate.Result
	for _, o := range outcomes {
		io.Copy(a.stderr, &o.diags)
		if o.usage != nil {
			return o.usage
		}
		results = append(results, o.res)
	}
	packetDir := f.packetDir
	if packetDir == "" {
		packetDir = pol.Escalation.PacketDir
	}
	if packetDir == "" {
		packetDir = ".mlthreat/packets"
	}
	for _, o := range outcomes {
		if o.packet == nil {
			continue
		}
		paths, err := gatereport.WritePacket(packetDir, o.packet)
		if err != nil {
			return exitWith(ExitUsage, "review packet: %v", cleanPathErr(err))
		}
		o.res.Packet = paths
	}
	err = a.emitStream(f.out, func(w io.Writer) error {
		var err error
		switch f.format {
		case "json":
			err = gatereport.JSON(w, results, version())
		case "sarif":
			err = gatereport.SARIF(w, results, version())
		case "junit":
			err = gatereport.JUnit(w, results, today.Format(time.RFC3339))
		case "github":
			err = gatereport.GitHub(w, results)
		default:
			err = gatereport.Table(w, results)
		}
		if err != nil {
			return exitWith(ExitUsage, "render %s: %v", f.format, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if f.out != "" || f.format != "table" {
		s := gatereport.Summarize(results)
		fmt.Fprintf(a.stderr, "mlthreat gate: %s (%d models: %d passed, %d failed, %d escalated)\n", gatereport.Overall(results), s.Models, s.Passed, s.Failed, s.Escalated)
	}
	if gatereport.Overall(results) != gate.Pass {
		return silentExit(ExitFindings)
	}
	return nil
}

// gateOne loads, analyses and judges one model file.
func (a *app) gateOne(file string, f gateFlags, pol *gate.Policy, cat *catalog.Catalog, set *rules.Set, cw *gap.Crosswalk, today time.Time) *gateOutcome {
	o := &gateOutcome{}
	sys, ds := validate.File(file, cat, model.DefaultLimits)
	for _, d := range ds {
		fmt.Fprintln(&o.diags, d.String())
	}
	if validate.Unreadable(ds) {
		o.usage = silentExit(ExitUsage)
		return o
	}
	if sys == nil || ds.Errors() > 0 {
		o.res = &gate.Result{File: file, Policy: pol.Name, Verdict: gate.Fail, Checks: []string{"valid"},
			Findings: []gate.Finding{{Check: "valid", Verdict: gate.Fail, Message: fmt.Sprintf("%s is invalid (%s); fix it before the gate can judge it", file, plural(ds.Errors(), "error"))}}}
		if sys != nil {
			o.res.System, o.res.Name = sys.Info.ID, sys.Info.Name
		}
		return o
	}
	// Evidence warnings go with this file's diagnostics.
	sub := *a
	sub.stderr = &o.diags
	recs, err := sub.loadEvidence(file, "", sys, cat, today, evidence.DefaultMaxAge)
	if err != nil {
		o.usage = err
		return o
	}
	rep, err := analysis.Analyze(sys, cat, set, analysis.Options{Today: today, Evidence: recs})
	if err != nil {
		o.usage = exitWith(ExitUsage, "%s: %v", file, err)
		return o
	}
	o.sys, o.report, o.evidence = sys, rep, recs
	if f.board != nil {
		if err := a.serverApprovals(f.board, sys); err != nil {
			o.usage = exitWith(ExitUsage, "%s: review board decisions from the server: %v", file, err)
			return o
		}
	}
	in := gate.Input{File: file, System: sys, Report: rep, Today: today, Artifacts: gate.CheckArtifacts(file, sys), Evidence: recs}
	if in.Model, err = gate.FileDigest(file); err != nil {
		o.usage = exitWith(ExitUsage, "%s: %v", file, err)
		return o
	}
	recPath := f.review
	if recPath == "" {
		recPath = gate.RecordPath(file)
	}
	if in.Record, err = gate.ReadRecord(recPath); err != nil {
		o.usage = exitWith(ExitUsage, "review record: %v", cleanPathErr(err))
		return o
	}
	if f.review != "" && in.Record == nil {
		o.usage = exitWith(ExitUsage, "review record %s does not exist", f.review)
		return o
	}
	var gr *gap.Report
	gapReport := func() (*gap.Report, error) {
		if gr != nil || cw == nil {
			return gr, nil
		}
		prof, err := gapProfile(pol, sys, cat)
		if err != nil {
			return nil, err
		}
		gr = gap.Judge(rep, cw, prof, today)
		return gr, nil
	}
	if pol.RMF != nil {
		if in.Gap, err = gapReport(); err != nil {
			o.usage = exitWith(ExitUsage, "%s: rmf_coverage: %v", file, err)
			return o
		}
	}
	res, err := gate.Evaluate(pol, in)
	if err != nil {
		o.usage = exitWith(ExitUsage, "policy: %v", err)
		return o
	}
	o.res = res
	if res.Verdict == gate.Escalate {
		g, err := gapReport()
		if err != nil {
			o.usage = exitWith(ExitUsage, "%s: %v", file, err)
			return o
		}
		o.packet = gate.BuildPacket(res, rep, g)
	}
	return o
}

// today is the evaluation date: MLTHREAT_TODAY (YYYY-MM-DD) when set, for
// reproducible runs and tests, else the current UTC date.
func (a *app) today() (time.Time, error) {
	if v := a.getenv("MLTHREAT_TODAY"); v != "" {
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			return time.Time{}, exitWith(ExitUsage, "MLTHREAT_TODAY=%q: expected a date written YYYY-MM-DD", v)
		}
		return t, nil
	}
	return time.Now().UTC(), nil
}

func gapProfile(pol *gate.Policy, sys *model.System, cat *catalog.Catalog) (*gap.Profile, error) {
	name := ""
	if pol.RMF != nil {
		name = pol.RMF.Profile
	}
	return gap.ResolveProfile(name, sys, cat)
}

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/gate"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/report/gapreport"
	"github.com/mlthreat/mlthreat/internal/report/jsonreport"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/server/api"
	"github.com/mlthreat/mlthreat/internal/server/client"
)

// maxPushFile bounds what push reads of the model, evidence and review files.
const maxPushFile = 32 << 20

type pushFlags struct {
	server, token, policy string
	rulesDirs             []string
	baseVersion           int
	timeout               time.Duration
	dryRun                bool
}

func (a *app) pushCommand() *cobra.Command {
	var f pushFlags
	cmd := &cobra.Command{
		Use:   "push FILE... --server URL --token TOKEN",
		Short: "Send threat models, with their analysis, gap, gate verdict and evidence, to a portfolio server",
		Long: `Analyse each model (with its evidence file when there is one), judge it
against the policy as gate would, run the NIST AI RMF gap analysis, and send
all of it with the model file to the portfolio server started by
'mlthreat serve'. The server keeps every version, computes the portfolio KPIs
and queues escalations for its review board.

An identical re-push is answered with the existing version, so a pipeline may
push on every run. push exits 0 once the server has stored the version,
whatever the verdict: run 'mlthreat gate --server' to fail the pipeline.

The token needs the submitter role for the system's owner (or the system),
or admin. --server and --token default to $MLTHREAT_SERVER and
$MLTHREAT_TOKEN; prefer the variable for the token in CI.`,
		Example: `  mlthreat push examples/sentiment-api/system.yaml --server http://localhost:8080 --token "$MLTHREAT_TOKEN"
  MLTHREAT_SERVER=https://mlthreat.example.com mlthreat push models/*/system.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.push(f, args) },
	}
	cmd.Flags().StringVar(&f.server, "server", "", "portfolio server URL (default $MLTHREAT_SERVER)")
	cmd.Flags().StringVar(&f.token, "token", "", "API token (default $MLTHREAT_TOKEN)")
	cmd.Flags().StringVar(&f.policy, "policy", "", "gate policy: permissive, standard, strict, or a file (default .mlthreat/policy.yaml, else standard)")
	cmd.Flags().StringArrayVar(&f.rulesDirs, "rules", nil, "also load the rule packs in this directory")
	cmd.Flags().IntVar(&f.baseVersion, "base-version", 0, "refuse the push (409) unless the server's latest version is this one")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 2*time.Minute, "give up on the server after this long")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "print the request bodies (one JSON document per line) instead of sending them")
	return cmd
}

// serverClient builds a client from the flags or the environment; with
// required unset, no server at all gives a nil client.
func (a *app) serverClient(server, token string, required bool) (*client.Client, error) {
	if server == "" {
		server = a.getenv("MLTHREAT_SERVER")
	}
	if token == "" {
		token = a.getenv("MLTHREAT_TOKEN")
	}
	if server == "" {
		if required {
			return nil, exitWith(ExitUsage, "no server: pass --server URL or set MLTHREAT_SERVER")
		}
		return nil, nil
	}
	c, err := client.New(server, token)
	if err != nil {
		return nil, exitWith(ExitUsage, "%v", err)
	}
	return c, nil
}

// serverApprovals adds the review board's decisions held on the server to
// the model's approvals, so that the gate weighs them like its own.
func (a *app) serverApprovals(c *client.Client, sys *model.System) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ds, err := c.Decisions(ctx, sys.Info.ID)
	if err != nil {
		return err
	}
	for _, d := range ds {
		sys.Approvals = append(sys.Approvals, &model.Approval{
			By: d.By, Decision: d.Decision, Date: d.Date, Until: d.Until,
			ThreatSet: d.ThreatSet, Conditions: d.Conditions, Comment: d.Comment,
		})
	}
	return nil
}

func (a *app) push(f pushFlags, files []string) error {
	var c *client.Client
	if !f.dryRun {
		var err error
		if c, err = a.serverClient(f.server, f.token, true); err != nil {
			return err
		}
	}
	if f.baseVersion != 0 && len(files) > 1 {
		return exitWith(ExitUsage, "--base-version applies to one file, not %d", len(files))
	}
	cat, set, err := a.catalogAndRules(f.rulesDirs...)
	if err != nil {
		return err
	}
	pol, err := a.resolvePolicy(f.policy, cat)
	if err != nil {
		return err
	}
	cw, err := gap.Load(cat)
	if err != nil {
		return exitWith(ExitUsage, "crosswalk: %v", err)
	}
	today, err := a.today()
	if err != nil {
		return err
	}
	invalid := 0
	for _, file := range files {
		o := a.gateOne(file, gateFlags{policy: f.policy}, pol, cat, set, cw, today)
		if _, err := a.stderr.Write(o.diags.Bytes()); err != nil {
			return err
		}
		if o.usage != nil {
			return o.usage
		}
		if o.report == nil {
			fmt.Fprintf(a.stderr, "mlthreat push: %s is invalid; not pushed\n", file)
			invalid++
			continue
		}
		req, err := a.pushRequest(file, o, pol, cat, set, cw, today)
		if err != nil {
			return err
		}
		req.BaseVersion = f.baseVersion
		if f.dryRun {
			b, err := json.Marshal(req)
			if err != nil {
				return exitWith(ExitUsage, "%s: %v", file, err)
			}
			if _, err := a.stdout.Write(append(b, '\n')); err != nil {
				return err
			}
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
		resp, err := c.Push(ctx, req)
		cancel()
		if err != nil {
			var se *client.Error
			if errors.As(err, &se) && se.Status == 409 {
				return exitWith(ExitFindings, "%s: %v", file, err)
			}
			return exitWith(ExitUsage, "%s: push: %v", file, err)
		}
		state := fmt.Sprintf("version %d", resp.Version)
		if resp.Unchanged {
			state += ", unchanged"
		}
		if resp.Verdict != "" {
			state += ", gate " + resp.Verdict
		}
		fmt.Fprintf(a.stdout, "pushed %s (%s) %s\n", resp.System, state, resp.URL)
	}
	if invalid > 0 {
		return silentExit(ExitFindings)
	}
	return nil
}

// pushRequest gathers what the server stores for one gated model.
func (a *app) pushRequest(file string, o *gateOutcome, pol *gate.Policy, cat *catalog.Catalog, set *rules.Set, cw *gap.Crosswalk, today time.Time) (*api.PushRequest, error) {
	modelText, err := readOptional(file)
	if err != nil || modelText == nil {
		return nil, exitWith(ExitUsage, "%s: cannot read the model: %v", file, err)
	}
	req := &api.PushRequest{File: file, Model: string(modelText), ToolVersion: version()}
	var buf bytes.Buffer
	if err := (jsonreport.Writer{Version: version()}).Write(&buf, o.report); err != nil {
		return nil, exitWith(ExitUsage, "%s: analysis JSON: %v", file, err)
	}
	req.Analysis = bytes.Clone(buf.Bytes())
	prof, err := gapProfile(pol, o.sys, cat)
	if err != nil {
		return nil, exitWith(ExitUsage, "%s: %v", file, err)
	}
	g, err := gap.Analyze(o.sys, cat, set, cw, prof, gap.Options{Today: today})
	if err != nil {
		return nil, exitWith(ExitUsage, "%s: gap: %v", file, err)
	}
	buf.Reset()
	if err := gapreport.JSON(&buf, g, version()); err != nil {
		return nil, exitWith(ExitUsage, "%s: gap JSON: %v", file, err)
	}
	req.Gap = bytes.Clone(buf.Bytes())
	if req.Gate, err = json.Marshal(o.res); err != nil {
		return nil, exitWith(ExitUsage, "%s: gate JSON: %v", file, err)
	}
	ev, err := readOptional(evidence.PathFor(file))
	if err != nil {
		return nil, exitWith(ExitUsage, "%s: evidence: %v", file, err)
	}
	req.Evidence = string(ev)
	rec, err := readOptional(gate.RecordPath(file))
	if err != nil {
		return nil, exitWith(ExitUsage, "%s: review record: %v", file, err)
	}
	if rec != nil {
		if !json.Valid(rec) {
			return nil, exitWith(ExitUsage, "%s: the review record is not JSON", gate.RecordPath(file))
		}
		req.Review = rec
	}
	return req, nil
}

// readOptional reads a file beside the model, nil when it does not exist.
func readOptional(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size() > maxPushFile {
		return nil, fmt.Errorf("%s is %d bytes; push sends files up to %d", path, st.Size(), maxPushFile)
	}
	return os.ReadFile(path)
}

package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/gate"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/store"
)

// analysed is one stored version analysed again with the server's catalogue
// and rules: the pages show what the report of that version shows, without
// trusting the pushed analysis JSON for anything but the portfolio summary.
type analysed struct {
	Version *store.Version
	Report  *analysis.Report
	Gap     *gap.Report  // nil without a crosswalk
	Gate    *gate.Result // the pushed gate result; nil when not gated
	// Problem says why the version could not be analysed, in words safe
	// to show; Report is nil then.
	Problem string
	// Note is a caveat about the analysis (for example, a custom RMF
	// profile the server does not have).
	Note string
}

// errUnanalysable wraps the reasons a stored model cannot be analysed;
// they are the pusher's data, not a server fault.
var errUnanalysable = errors.New("cannot analyse")

// analyse re-runs the analysis of a stored version. Errors reading the
// store are returned; problems with the stored content are reported in
// Problem.
// analyseLatest reads a system and analyses its latest version.
func (h *handler) analyseLatest(ctx context.Context, id string) (*store.System, *analysed, error) {
	s, err := h.d.Store.System(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	v, err := h.d.Store.Version(ctx, s.ID, s.Latest)
	if err != nil {
		return nil, nil, err
	}
	a, err := h.analyse(ctx, v)
	return s, a, err
}

func (h *handler) analyse(ctx context.Context, v *store.Version) (*analysed, error) {
	a := &analysed{Version: v}
	err := h.analyseInto(ctx, a)
	if errors.Is(err, errUnanalysable) {
		a.Problem = strings.TrimPrefix(err.Error(), errUnanalysable.Error()+": ")
		a.Report, a.Gap = nil, nil
		return a, nil
	}
	return a, err
}

func (h *handler) analyseInto(ctx context.Context, a *analysed) error {
	v := a.Version
	if v.Model == "" {
		return fmt.Errorf("%w: version %d has no stored model", errUnanalysable, v.Version)
	}
	blob, err := h.d.Store.Blob(ctx, v.Model)
	if err != nil {
		return fmt.Errorf("model of %s version %d: %w", v.System, v.Version, err)
	}
	name := v.File
	if name == "" {
		name = "system.yaml"
	}
	sys, ds := model.Load(name, blob, model.DefaultLimits)
	if sys == nil || ds.Errors() > 0 {
		msg := "the stored model does not load"
		for _, d := range ds {
			if d.Severity == "error" {
				msg += ": " + d.String()
				break
			}
		}
		return fmt.Errorf("%w: %s", errUnanalysable, msg)
	}
	// The version is judged as of its push, as CI judged it then.
	today := v.At.UTC().Truncate(24 * time.Hour)
	if today.IsZero() {
		today = h.now().UTC()
	}
	var recs []evidence.Record
	if v.Evidence != "" {
		eb, err := h.d.Store.Blob(ctx, v.Evidence)
		if err != nil {
			return fmt.Errorf("evidence of %s version %d: %w", v.System, v.Version, err)
		}
		all, err := evidence.Parse("evidence.yaml", eb)
		if err != nil {
			return fmt.Errorf("%w: the stored evidence file does not parse: %v", errUnanalysable, firstLine(err.Error()))
		}
		recs = analysis.UsableEvidence(sys, h.d.Catalog, all)
	}
	rep, err := analysis.Analyze(sys, h.d.Catalog, h.d.Rules, analysis.Options{Today: today, Evidence: recs})
	if err != nil {
		return fmt.Errorf("%w: %v", errUnanalysable, err)
	}
	a.Report = rep
	if v.Gate != "" {
		gb, err := h.d.Store.Blob(ctx, v.Gate)
		if err != nil {
			return fmt.Errorf("gate result of %s version %d: %w", v.System, v.Version, err)
		}
		var res gate.Result
		if err := json.Unmarshal(gb, &res); err != nil {
			a.Note = "The stored gate result is not valid JSON; the review packet is built without it."
		} else {
			a.Gate = &res
		}
	}
	if h.d.Crosswalk != nil {
		profile, roadmap, note, err := h.gapProfile(ctx, v, sys)
		if err != nil {
			return err
		}
		if note != "" {
			a.Note = strings.TrimSpace(a.Note + " " + note)
		}
		a.Gap = gap.Judge(rep, h.d.Crosswalk, profile, today)
		a.Gap.Roadmap = roadmap
	}
	return nil
}

// gapProfile is the RMF profile the pushed gap analysis used, when it is a
// built-in one, with the roadmap the pipeline computed for it (the server
// does not recompute a roadmap: it simulates every remediation and takes
// far longer than a page may). A profile file from the pusher's repository
// is not on the server, so the system's default profile stands in and the
// page says so.
func (h *handler) gapProfile(ctx context.Context, v *store.Version, sys *model.System) (*gap.Profile, []gap.Item, string, error) {
	name, note := "", ""
	var roadmap []gap.Item
	if v.Gap != "" {
		b, err := h.d.Store.Blob(ctx, v.Gap)
		if err != nil {
			return nil, nil, "", fmt.Errorf("gap analysis of %s version %d: %w", v.System, v.Version, err)
		}
		var doc struct {
			Profile struct {
				Name string `json:"name"`
			} `json:"profile"`
			Roadmap []gap.Item `json:"roadmap"`
		}
		if json.Unmarshal(b, &doc) == nil && doc.Profile.Name != "" {
			if slices.Contains(gap.Profiles, doc.Profile.Name) {
				name, roadmap = doc.Profile.Name, doc.Roadmap
			} else {
				note = fmt.Sprintf("The pushed gap analysis used the profile %q, which the server does not have; the RMF gaps below use the default profile.", doc.Profile.Name)
			}
		}
	}
	if name == "" {
		name = gap.DefaultProfile(sys)
	}
	p, err := gap.BuiltinProfile(name, sys, h.d.Catalog)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%w: RMF profile: %v", errUnanalysable, err)
	}
	return p, roadmap, note, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

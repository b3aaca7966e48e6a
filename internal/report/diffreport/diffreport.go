// Package diffreport renders a threat-model diff (internal/diff) as a
// terminal table, as Markdown fit for a pull-request comment, or as JSON.
// Text from the models (names, titles, file names) is hostile input: the
// table drops control characters and the Markdown escapes markup and HTML.
package diffreport

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/mlthreat/mlthreat/internal/diff"
)

// Verdict sums the diff up in one line, e.g. "2 threats added (1 high),
// 1 removed; 1 control removed; residual risk +12 (143 → 155)".
func Verdict(r *diff.Result) string {
	if r.Empty() {
		return "no changes to the threat model"
	}
	var threats []string
	add := func(n int, verb, extra string) {
		if n == 0 {
			return
		}
		s := fmt.Sprintf("%d %s", n, verb)
		if len(threats) == 0 {
			s = plural(n, "threat") + " " + verb
		}
		threats = append(threats, s+extra)
	}
	add(len(r.Added), "added", severe(r.Added))
	add(len(r.Removed), "removed", "")
	add(len(r.Changed), "changed", "")
	parts := []string{}
	if len(threats) > 0 {
		parts = append(parts, strings.Join(threats, ", "))
	} else {
		parts = append(parts, "no threats added, removed or changed")
	}
	var ctl []string
	for _, c := range []struct {
		n    int
		verb string
	}{{len(r.Controls.Added), "added"}, {len(r.Controls.Removed), "removed"}, {len(r.Controls.Changed), "changed"}} {
		if c.n == 0 {
			continue
		}
		if len(ctl) == 0 {
			ctl = append(ctl, plural(c.n, "control")+" "+c.verb)
		} else {
			ctl = append(ctl, fmt.Sprintf("%d %s", c.n, c.verb))
		}
	}
	if len(ctl) > 0 {
		parts = append(parts, strings.Join(ctl, ", "))
	}
	risk := "residual risk unchanged"
	if d := r.Risk.Delta(); d != 0 {
		risk = fmt.Sprintf("residual risk %s (%d → %d)", signed(d), r.Risk.Old, r.Risk.New)
	}
	return strings.Join(append(parts, risk), "; ")
}

// severe counts added threats by residual severity, high and critical only.
func severe(ts []diff.Threat) string {
	var out []string
	for _, sev := range []string{"critical", "high"} {
		n := 0
		for _, t := range ts {
			if t.Severity == sev {
				n++
			}
		}
		if n > 0 {
			out = append(out, fmt.Sprintf("%d %s", n, sev))
		}
	}
	if len(out) == 0 {
		return ""
	}
	return " (" + strings.Join(out, ", ") + ")"
}

// Table writes the diff for a terminal.
func Table(w io.Writer, r *diff.Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s\n", plain(r.New.Name), plain(r.New.System), Verdict(r))
	fmt.Fprintf(&b, "old: %s (%d threats, %d open)\nnew: %s (%d threats, %d open)\n", plain(r.Old.File), r.Old.Threats, r.Old.Open, plain(r.New.File), r.New.Threats, r.New.Open)
	section := func(title string, rows [][]string) {
		if len(rows) <= 1 {
			return
		}
		fmt.Fprintf(&b, "\n%s\n", title)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, row := range rows {
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		tw.Flush()
	}
	threatRows := func(ts []diff.Threat) [][]string {
		rows := [][]string{{"ID", "RESIDUAL", "STATUS", "TARGET", "TECHNIQUE", "THREAT"}}
		for _, t := range ts {
			rows = append(rows, []string{t.ID, fmt.Sprintf("%d %s", t.Score, t.Severity), t.Status, plain(t.Target), t.Technique, clip(plain(t.Title), 60)})
		}
		return rows
	}
	section("THREATS ADDED", threatRows(r.Added))
	changed := [][]string{{"ID", "RESIDUAL", "STATUS", "TARGET", "TECHNIQUE", "THREAT"}}
	for _, c := range r.Changed {
		changed = append(changed, []string{c.ID, arrow(fmt.Sprintf("%d %s", c.Old.Score, c.Old.Severity), fmt.Sprintf("%d %s", c.New.Score, c.New.Severity), "->"),
			arrow(c.Old.Status, c.New.Status, "->"), plain(c.Target), c.Technique, clip(plain(c.Title), 60)})
	}
	section("THREATS CHANGED", changed)
	section("THREATS REMOVED", threatRows(r.Removed))
	if !r.Empty() {
		risk := [][]string{{"", "OLD", "NEW", "CHANGE"}, {"risk score", fmt.Sprint(r.Risk.Old), fmt.Sprint(r.Risk.New), signed(r.Risk.Delta())}}
		for _, sev := range diff.Severities {
			o, n := r.Risk.OldBySeverity[sev], r.Risk.NewBySeverity[sev]
			risk = append(risk, []string{sev, fmt.Sprint(o), fmt.Sprint(n), signed(n - o)})
		}
		section("RESIDUAL RISK (open and in-progress threats)", risk)
	}
	atlas := [][]string{{"", "ID", "NAME"}}
	for _, d := range []struct {
		label string
		ids   []string
	}{{"+ technique", r.Techniques.Added}, {"- technique", r.Techniques.Removed}, {"+ tactic", r.Tactics.Added}, {"- tactic", r.Tactics.Removed}} {
		for _, id := range d.ids {
			atlas = append(atlas, []string{d.label, id, plain(catalogName(r, id))})
		}
	}
	section("ATLAS", atlas)
	ctl := [][]string{{"", "CONTROL", "STATUS", "NAME"}}
	for _, c := range r.Controls.Added {
		ctl = append(ctl, []string{"+", plain(c.ID), c.Status, clip(plain(c.Name), 60)})
	}
	for _, c := range r.Controls.Changed {
		ctl = append(ctl, []string{"~", plain(c.ID), c.OldStatus + " -> " + c.NewStatus, clip(plain(c.Name), 60)})
	}
	for _, c := range r.Controls.Removed {
		ctl = append(ctl, []string{"-", plain(c.ID), "was " + c.Status, clip(plain(c.Name), 60)})
	}
	section("CONTROLS", ctl)
	_, err := io.WriteString(w, b.String())
	return err
}

// Trips lists the threats that tripped a --fail-on-new gate, one a line,
// each with what it was before the change.
func Trips(w io.Writer, trips []diff.Trip) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range trips {
		was := "added"
		if t.Old != nil {
			was = fmt.Sprintf("was %d %s, %s", t.Old.Score, t.Old.Severity, t.Old.Status)
		}
		fmt.Fprintf(tw, "  %s\t%d %s\t%s\t%s\t%s\t(%s)\n", t.ID, t.Score, t.Severity, t.Status, plain(t.Target), clip(plain(t.Title), 60), was)
	}
	return tw.Flush()
}

// Document is the JSON form of a diff. Field names are part of the contract.
type Document struct {
	Tool       Tool         `json:"tool"`
	Old        Side         `json:"old"`
	New        Side         `json:"new"`
	Verdict    string       `json:"verdict"`
	Changed    bool         `json:"has_changes"`
	Risk       Risk         `json:"residual_risk"`
	Threats    Threats      `json:"threats"`
	Techniques ItemDelta    `json:"techniques"`
	Tactics    ItemDelta    `json:"tactics"`
	Controls   ControlDelta `json:"controls"`
}

type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type Side struct {
	File    string `json:"file"`
	System  string `json:"system"`
	Name    string `json:"name"`
	Threats int    `json:"threats"`
	Open    int    `json:"open_threats"`
}

type Risk struct {
	Old        int        `json:"old"`
	New        int        `json:"new"`
	Delta      int        `json:"delta"`
	BySeverity BySeverity `json:"open_by_severity"`
}

type BySeverity struct {
	Critical Count `json:"critical"`
	High     Count `json:"high"`
	Medium   Count `json:"medium"`
	Low      Count `json:"low"`
}

type Count struct {
	Old   int `json:"old"`
	New   int `json:"new"`
	Delta int `json:"delta"`
}

type Threats struct {
	Added   []Threat `json:"added"`
	Removed []Threat `json:"removed"`
	Changed []Change `json:"changed"`
}

type Threat struct {
	ID        string   `json:"id"`
	Title     string   `json:"title"`
	Target    string   `json:"target"`
	Technique string   `json:"technique"`
	Tactics   []string `json:"tactics"`
	Residual  int      `json:"residual"`
	Severity  string   `json:"severity"`
	Status    string   `json:"status"`
}

type Change struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Target    string `json:"target"`
	Technique string `json:"technique"`
	Old       State  `json:"old"`
	New       State  `json:"new"`
}

type State struct {
	Residual int    `json:"residual"`
	Severity string `json:"severity"`
	Status   string `json:"status"`
}

type Item struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type ItemDelta struct {
	Added   []Item `json:"added"`
	Removed []Item `json:"removed"`
}

type ControlDelta struct {
	Added   []Control       `json:"added"`
	Removed []Control       `json:"removed"`
	Changed []ControlChange `json:"changed"`
}

type Control struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

type ControlChange struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	OldStatus string `json:"old_status"`
	NewStatus string `json:"new_status"`
}

// Build converts a diff to its JSON document. Lists are never null.
func Build(r *diff.Result, version string) Document {
	d := Document{
		Tool:    Tool{Name: "mlthreat", Version: version},
		Old:     Side(r.Old),
		New:     Side(r.New),
		Verdict: Verdict(r),
		Changed: !r.Empty(),
		Risk:    Risk{Old: r.Risk.Old, New: r.Risk.New, Delta: r.Risk.Delta()},
		Threats: Threats{Added: threats(r.Added), Removed: threats(r.Removed), Changed: []Change{}},
	}
	count := func(sev string) Count {
		o, n := r.Risk.OldBySeverity[sev], r.Risk.NewBySeverity[sev]
		return Count{Old: o, New: n, Delta: n - o}
	}
	d.Risk.BySeverity = BySeverity{Critical: count("critical"), High: count("high"), Medium: count("medium"), Low: count("low")}
	for _, c := range r.Changed {
		d.Threats.Changed = append(d.Threats.Changed, Change{ID: c.ID, Title: c.Title, Target: c.Target, Technique: c.Technique,
			Old: State{Residual: c.Old.Score, Severity: c.Old.Severity, Status: c.Old.Status},
			New: State{Residual: c.New.Score, Severity: c.New.Severity, Status: c.New.Status}})
	}
	items := func(ids []string) []Item {
		out := []Item{}
		for _, id := range ids {
			out = append(out, Item{ID: id, Name: catalogName(r, id)})
		}
		return out
	}
	d.Techniques = ItemDelta{Added: items(r.Techniques.Added), Removed: items(r.Techniques.Removed)}
	d.Tactics = ItemDelta{Added: items(r.Tactics.Added), Removed: items(r.Tactics.Removed)}
	controls := func(cs []diff.Control) []Control {
		out := []Control{}
		for _, c := range cs {
			out = append(out, Control(c))
		}
		return out
	}
	d.Controls = ControlDelta{Added: controls(r.Controls.Added), Removed: controls(r.Controls.Removed), Changed: []ControlChange{}}
	for _, c := range r.Controls.Changed {
		d.Controls.Changed = append(d.Controls.Changed, ControlChange(c))
	}
	return d
}

func threats(ts []diff.Threat) []Threat {
	out := []Threat{}
	for _, t := range ts {
		tactics := t.Tactics
		if tactics == nil {
			tactics = []string{}
		}
		out = append(out, Threat{ID: t.ID, Title: t.Title, Target: t.Target, Technique: t.Technique, Tactics: tactics, Residual: t.Score, Severity: t.Severity, Status: t.Status})
	}
	return out
}

// JSON writes the diff as an indented JSON document.
func JSON(w io.Writer, r *diff.Result, version string) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Build(r, version))
}

// catalogName names a sub-technique as ATLAS does, "Parent: Sub".
func catalogName(r *diff.Result, id string) string {
	if r.Catalog == nil {
		return ""
	}
	if t := r.Catalog.Technique(id); t != nil && t.Parent != "" {
		if p := r.Catalog.Name(t.Parent); p != "" {
			return p + ": " + t.Name
		}
	}
	return r.Catalog.Name(id)
}

func atlasVersion(r *diff.Result) string {
	if r.Catalog == nil {
		return "unknown"
	}
	return r.Catalog.Versions["atlas"]
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func signed(n int) string {
	if n > 0 {
		return fmt.Sprintf("+%d", n)
	}
	return fmt.Sprint(n)
}

func arrow(old, cur, sep string) string {
	if old == cur {
		return cur
	}
	return old + " " + sep + " " + cur
}

// plain keeps terminal control sequences in model text from reaching the terminal.
func plain(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

func clip(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return strings.TrimSpace(string([]rune(s)[:n-1])) + "…"
}

package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/diff"
	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/report/htmlreport"
	"github.com/mlthreat/mlthreat/internal/store"
)

// List paging.
const (
	defaultPage = 50
	maxPage     = 200
	maxOffset   = 1_000_000
	maxQueryLen = 200
)

var (
	criticalities = []string{"critical", "high", "medium", "low"}
	severities    = []string{"critical", "high", "medium", "low"}
	verdicts      = []string{"pass", "fail", "escalate"}
	sorts         = []string{"risk", "name", "updated"}
)

// filterForm is the list's query, as typed, to fill the form again.
type filterForm struct {
	Q, Owner, Criticality, Platform, Severity, Verdict, Stale, Sort string
	Limit, Offset                                                   int
}

type systemsData struct {
	F                filterForm
	Criticalities    []string
	Severities       []string
	Verdicts         []string
	Sorts            []string
	Ignored          []string
	Systems          []store.System
	Total            int
	From, To         int
	PrevURL, NextURL string
}

// parseFilter reads the list's query. A value outside its choices is
// ignored and named, rather than failing the page.
func parseFilter(q url.Values) (store.Filter, filterForm, []string) {
	var ignored []string
	text := func(name string) string {
		v := strings.TrimSpace(q.Get(name))
		if !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			ignored = append(ignored, name)
			return ""
		}
		if utf8.RuneCountInString(v) > maxQueryLen {
			v = string([]rune(v)[:maxQueryLen])
		}
		return v
	}
	choice := func(name string, allowed []string) string {
		v := q.Get(name)
		if v == "" || slices.Contains(allowed, v) {
			return v
		}
		ignored = append(ignored, name)
		return ""
	}
	number := func(name string, def, lo, hi int) int {
		v := q.Get(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo {
			ignored = append(ignored, name)
			return def
		}
		return min(n, hi)
	}
	f := filterForm{
		Q: text("q"), Owner: text("owner"), Platform: text("platform"),
		Criticality: choice("criticality", criticalities), Severity: choice("severity", severities),
		Verdict: choice("verdict", verdicts), Stale: choice("stale", []string{"yes", "no"}),
		Sort: choice("sort", sorts), Limit: number("limit", defaultPage, 1, maxPage), Offset: number("offset", 0, 0, maxOffset),
	}
	sf := store.Filter{Query: f.Q, Owner: f.Owner, Criticality: f.Criticality, Platform: f.Platform, Severity: f.Severity,
		Verdict: f.Verdict, Sort: f.Sort, Limit: f.Limit, Offset: f.Offset}
	if f.Stale != "" {
		stale := f.Stale == "yes"
		sf.Stale = &stale
	}
	return sf, f, ignored
}

// listURL is the list with the form's filters at another offset.
func (f filterForm) listURL(offset int) string {
	q := url.Values{}
	for k, v := range map[string]string{"q": f.Q, "owner": f.Owner, "criticality": f.Criticality, "platform": f.Platform,
		"severity": f.Severity, "verdict": f.Verdict, "stale": f.Stale, "sort": f.Sort} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit != defaultPage {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	if len(q) == 0 {
		return "/systems"
	}
	return "/systems?" + q.Encode()
}

func (h *handler) systems(w http.ResponseWriter, r *http.Request, p *Principal) {
	sf, f, ignored := parseFilter(r.URL.Query())
	list, total, err := h.d.Store.ListSystems(r.Context(), sf)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	d := systemsData{F: f, Criticalities: criticalities, Severities: severities, Verdicts: verdicts, Sorts: sorts,
		Ignored: ignored, Systems: list, Total: total}
	if len(list) > 0 {
		d.From, d.To = f.Offset+1, f.Offset+len(list)
	}
	if f.Offset > 0 {
		d.PrevURL = f.listURL(max(0, f.Offset-f.Limit))
	}
	if f.Offset+len(list) < total && len(list) > 0 {
		d.NextURL = f.listURL(f.Offset + f.Limit)
	}
	h.render(w, r, http.StatusOK, "systems", view{Title: "Systems", Section: "systems", User: p, Data: d})
}

// systemData is the system page, for its latest or an earlier version.
type systemData struct {
	S         *store.System
	V         *store.Version
	A         *analysed
	Latest    bool
	Threats   []*analysis.Threat
	Residual  map[string]int
	Open      int
	Functions []gap.Coverage
	Gaps      []gap.Subcategory
	Roadmap   []gap.Item
	Versions  []store.Version
	Decisions []store.Decision
	Previous  int // the version before V, 0 when none
}

func (h *handler) system(w http.ResponseWriter, r *http.Request, p *Principal) {
	h.systemPage(w, r, p, 0)
}

func (h *handler) version(w http.ResponseWriter, r *http.Request, p *Principal) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		h.fail(w, r, p, store.ErrNotFound)
		return
	}
	h.systemPage(w, r, p, n)
}

// systemPage shows version n of a system (0: the latest).
func (h *handler) systemPage(w http.ResponseWriter, r *http.Request, p *Principal, n int) {
	ctx := r.Context()
	s, err := h.d.Store.System(ctx, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	if n == 0 {
		n = s.Latest
	}
	v, err := h.d.Store.Version(ctx, s.ID, n)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	a, err := h.analyse(ctx, v)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	versions, err := h.d.Store.Versions(ctx, s.ID)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	decisions, err := h.d.Store.Decisions(ctx, s.ID)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	d := systemData{S: s, V: v, A: a, Latest: n == s.Latest, Versions: versions, Decisions: decisions, Residual: map[string]int{}}
	for _, x := range versions {
		if x.Version < n && x.Version > d.Previous {
			d.Previous = x.Version
		}
	}
	if a.Report != nil {
		d.Threats = a.Report.Threats
		for _, t := range d.Threats {
			if open(t) {
				d.Open++
				d.Residual[t.Residual.Severity]++
			}
		}
	}
	if a.Gap != nil {
		d.Functions = a.Gap.Functions
		for _, sc := range a.Gap.Subcategories {
			if sc.BelowTarget {
				d.Gaps = append(d.Gaps, sc)
			}
		}
		d.Roadmap = a.Gap.Roadmap[:min(len(a.Gap.Roadmap), 10)]
	}
	title := s.Name
	if !d.Latest {
		title = fmt.Sprintf("%s, version %d", s.Name, n)
	}
	h.render(w, r, http.StatusOK, "system", view{Title: title, Section: "systems", User: p, Data: d})
}

func open(t *analysis.Threat) bool { return t.Status == "open" || t.Status == "in-progress" }

// report serves the full self-contained HTML report of the latest version,
// under the report's own Content-Security-Policy (it carries its inline
// stylesheet and the hash of its one script).
func (h *handler) report(w http.ResponseWriter, r *http.Request, p *Principal) {
	ctx := r.Context()
	s, a, err := h.analyseLatest(ctx, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	v := a.Version
	if a.Report == nil {
		h.problem(w, r, p, problem{Status: http.StatusUnprocessableEntity, Message: "The report cannot be made: " + a.Problem})
		return
	}
	var b bytes.Buffer
	if err := htmlreport.Write(&b, a.Report, a.Gap); err != nil {
		h.fail(w, r, p, fmt.Errorf("report of %s version %d: %w", s.ID, v.Version, err))
		return
	}
	w.Header().Set("Content-Security-Policy", htmlreport.CSP())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// diffData is a comparison of two versions.
type diffData struct {
	S        *store.System
	From, To int
	R        *diff.Result
	Problem  string
	Versions []store.Version
}

func (h *handler) diff(w http.ResponseWriter, r *http.Request, p *Principal) {
	ctx := r.Context()
	s, err := h.d.Store.System(ctx, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	to, from := s.Latest, s.Latest-1
	q := r.URL.Query()
	for _, x := range []struct {
		name string
		n    *int
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(x.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > s.Latest {
				h.problem(w, r, p, problem{Status: http.StatusBadRequest, Message: fmt.Sprintf("%s must be a version number from 1 to %d.", x.name, s.Latest)})
				return
			}
			*x.n = n
		}
	}
	versions, err := h.d.Store.Versions(ctx, s.ID)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	d := diffData{S: s, From: from, To: to, Versions: versions}
	if from < 1 {
		d.Problem = "This system has one version only; there is nothing to compare."
	} else {
		res, problem, err := h.compare(ctx, s.ID, from, to)
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		d.R, d.Problem = res, problem
	}
	h.render(w, r, http.StatusOK, "diff", view{Title: fmt.Sprintf("%s: version %d → %d", s.Name, from, to), Section: "systems", User: p, Data: d})
}

// compare re-analyses two versions and diffs them. A version that cannot be
// analysed gives a problem to show, not an error.
func (h *handler) compare(ctx context.Context, system string, from, to int) (*diff.Result, string, error) {
	var reps [2]*analysis.Report
	for i, n := range []int{from, to} {
		v, err := h.d.Store.Version(ctx, system, n)
		if err != nil {
			return nil, "", err
		}
		a, err := h.analyse(ctx, v)
		if err != nil {
			return nil, "", err
		}
		if a.Report == nil {
			return nil, fmt.Sprintf("Version %d cannot be analysed: %s", n, a.Problem), nil
		}
		reps[i] = a.Report
	}
	return diff.Compare(reps[0], reps[1]), "", nil
}

// errorStatus is implemented by errors that carry the HTTP status they
// answer (the server's Decide errors may).
type errorStatus interface{ HTTPStatus() int }

// decideProblem turns Decide's error into the status and message the form
// shows. The message is the reviewer's to read (a date in the past, a
// version they pushed); errors that say they are server faults are not
// shown.
func (h *handler) decideProblem(r *http.Request, err error) (int, string) {
	status := http.StatusInternalServerError // an error that names no status is a fault
	var es errorStatus
	switch {
	case errors.As(err, &es):
		status = es.HTTPStatus()
	case errors.Is(err, store.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, store.ErrConflict):
		status = http.StatusConflict
	}
	if status >= 500 || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		h.log.ErrorContext(r.Context(), "web decision failed", "path", r.URL.Path, "err", err)
		return http.StatusInternalServerError, "The decision could not be recorded because of a server error. Try again; the error is in the server's log."
	}
	return status, err.Error()
}

package web

import (
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/diff"
)

// parsePages parses each page template with the layout and the shared
// partials. The templates are embedded, so an error is a build defect:
// it panics, and the tests run every page.
func parsePages(funcs template.FuncMap) map[string]*template.Template {
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", f))
	}
	return pages
}

func (h *handler) funcs() template.FuncMap {
	return template.FuncMap{
		"u":               pathOf,
		"pct":             pct,
		"hours":           hours,
		"date":            date,
		"datetime":        datetime,
		"age":             age,
		"sev":             sevClass,
		"join":            func(s []string) string { return strings.Join(s, ", ") },
		"name":            h.d.Catalog.Name,
		"plural":          plural,
		"add":             func(a, b int) int { return a + b },
		"isoDate":         func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
		"yesno":           yesno,
		"sevRank":         rank,
		"num":             num,
		"pct100":          func(p float64) string { return pct(p / 100) },
		"days":            func(d time.Duration) int { return int(d.Hours() / 24) },
		"listURL":         func(key, value string) string { return "/systems?" + url.Values{key: {value}}.Encode() },
		"diffURL":         diffURL,
		"verdictClass":    oneOf("pass", "fail", "escalate"),
		"mitigationClass": oneOf("implemented", "partial", "planned", "missing"),
		"decisionClass":   oneOf("approved", "rejected", "changes-requested"),
		"missing":         missing,
		"delta":           delta,
		"severities":      func() []string { return diff.Severities },
		"ageHours":        func(now, t time.Time) float64 { return now.Sub(t).Hours() },
		"short":           short,
		"first":           func(n int, s []string) []string { return s[:min(n, len(s))] },
	}
}

// num formats a number for a machine-readable value attribute.
func num(x float64) string { return strconv.FormatFloat(x, 'f', 4, 64) }

// oneOf returns a class mapper that lets only known values through, so a
// pushed value never picks a class.
func oneOf(values ...string) func(string) string {
	return func(s string) string {
		if slices.Contains(values, s) {
			return s
		}
		return "other"
	}
}

func diffURL(id string, from, to int) string {
	return pathOf("systems", id, "diff") + "?" + url.Values{"from": {strconv.Itoa(from)}, "to": {strconv.Itoa(to)}}.Encode()
}

// missing lists a threat's mitigations that no implemented or partial
// control covers.
func missing(t *analysis.Threat) []string {
	var out []string
	for _, m := range t.Mitigations {
		if m.Status == "missing" || m.Status == "planned" {
			out = append(out, m.ID)
		}
	}
	return out
}

// delta writes after−before with its sign.
func delta(before, after int) string {
	switch d := after - before; {
	case d > 0:
		return "+" + strconv.Itoa(d)
	case d < 0:
		return "−" + strconv.Itoa(-d)
	}
	return "0"
}

// short clips a digest for display.
func short(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}

// pathOf builds a site path from segments, escaping each: pathOf("systems",
// id) is /systems/<id>.
func pathOf(segments ...any) string {
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(fmt.Sprint(s)))
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// pct formats a 0..1 ratio as a percentage with one decimal.
func pct(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", r*100)
}

// hours formats a duration given in hours for reading: minutes under an
// hour, hours under two days, then days.
func hours(h float64) string {
	switch {
	case math.IsNaN(h) || math.IsInf(h, 0) || h < 0:
		return "–"
	case h == 0:
		return "0 h"
	case h < 1:
		return fmt.Sprintf("%.0f min", h*60)
	case h < 48:
		return fmt.Sprintf("%.1f h", h)
	}
	return fmt.Sprintf("%.1f days", h/24)
}

func date(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format(time.DateOnly)
}

func datetime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// age is how long before now t was, in words.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return hours(now.Sub(t).Hours())
}

// sevClass maps a severity to its CSS class; anything else gets none, so
// a pushed value never picks a class.
func sevClass(s string) string {
	switch s {
	case "critical", "high", "medium", "low":
		return "sev-" + s
	}
	return ""
}

func plural(n int, word string) string {
	switch {
	case n == 1:
		return fmt.Sprintf("%d %s", n, word)
	case strings.HasSuffix(word, "y"):
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(word, "y"))
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func yesno(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// pager pages a list the store returns whole (the review queue, a
// technique's exposures): the page renders one slice of it, so a large
// portfolio does not make a page of tens of thousands of rows.
type pager struct {
	Total, From, To  int
	PrevURL, NextURL string
}

// page picks the slice of n items that the query's offset selects, size
// at a time, and the links to its neighbours on base.
func page(q url.Values, base string, n, size int) (lo, hi int, p pager) {
	off, err := strconv.Atoi(q.Get("offset"))
	if err != nil || off < 0 || off >= n {
		off = 0
	}
	off -= off % size
	lo, hi = off, min(n, off+size)
	p = pager{Total: n}
	if hi > lo {
		p.From, p.To = lo+1, hi
	}
	link := func(o int) string {
		if o == 0 {
			return base
		}
		return base + "?" + url.Values{"offset": {strconv.Itoa(o)}}.Encode()
	}
	if lo > 0 {
		p.PrevURL = link(lo - size)
	}
	if hi < n {
		p.NextURL = link(hi)
	}
	return lo, hi, p
}

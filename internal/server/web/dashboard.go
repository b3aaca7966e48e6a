package web

import (
	"cmp"
	"context"
	"html/template"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/mlthreat/mlthreat/internal/store"
)

// Dashboard limits: the page stays small whatever the portfolio's size.
const (
	trendDays     = 90
	worstSystems  = 10
	ownersShown   = 12
	dashboardWait = 5 * time.Second
)

// rmfFunctions is the AI RMF core's order.
var rmfFunctions = []string{"GOVERN", "MAP", "MEASURE", "MANAGE"}

type rmfCoverage struct {
	Function string
	Coverage float64
}

type dashboardData struct {
	K          *store.KPIs
	W          store.Windows
	Owners     []store.OwnerRisk
	MoreOwners int
	RMF        []rmfCoverage
	Trend      template.HTML
	TrendDays  int
	Heat       template.HTML
	Worst      []store.System
	Total      int
}

// dashboard reads four aggregates at once: the KPIs, the trend, the heat
// map and the ten worst systems. Nothing on it loops over systems.
func (h *handler) dashboard(w http.ResponseWriter, r *http.Request, p *Principal) {
	ctx, cancel := context.WithTimeout(r.Context(), dashboardWait)
	defer cancel()
	now := h.now()
	var (
		wg                     sync.WaitGroup
		k                      *store.KPIs
		trend                  []store.TrendPoint
		heat                   []store.HeatCell
		worst                  []store.System
		total                  int
		kErr, tErr, hErr, wErr error
	)
	wg.Go(func() { k, kErr = h.d.Store.KPIs(ctx, now, h.d.Windows) })
	wg.Go(func() { trend, tErr = h.d.Store.Trend(ctx, now.AddDate(0, 0, -trendDays)) })
	wg.Go(func() { heat, hErr = h.d.Store.HeatMap(ctx) })
	wg.Go(func() {
		worst, total, wErr = h.d.Store.ListSystems(ctx, store.Filter{Sort: "risk", Limit: worstSystems})
	})
	wg.Wait()
	for _, err := range []error{kErr, tErr, hErr, wErr} {
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
	}
	data := dashboardData{K: k, W: h.d.Windows, Worst: worst, Total: total, TrendDays: trendDays}
	data.Owners, data.MoreOwners = topOwners(k.PerOwner, ownersShown)
	data.RMF = rmfOrder(k.RMF)
	var err error
	if data.Trend, err = trendChart(trend).SVG(); err != nil {
		h.fail(w, r, p, err)
		return
	}
	if data.Heat, err = (HeatMap{Cells: heat}).SVG(); err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.render(w, r, http.StatusOK, "dashboard", view{Title: "Portfolio", Section: "dashboard", User: p, Data: data})
}

// trendChart turns the daily points into three lines.
func trendChart(points []store.TrendPoint) LineChart {
	pts := slices.Clone(points)
	slices.SortFunc(pts, func(a, b store.TrendPoint) int { return cmp.Compare(a.Day, b.Day) })
	pts = slices.CompactFunc(pts, func(a, b store.TrendPoint) bool { return a.Day == b.Day })
	c := LineChart{Title: "Open critical and high residual risks, and escalations, per day",
		Series: []Series{{Name: "open critical", Class: "s-critical"}, {Name: "open high", Class: "s-high"}, {Name: "escalated systems", Class: "s-escalated"}}}
	for _, p := range pts {
		c.Labels = append(c.Labels, p.Day)
		c.Series[0].Values = append(c.Series[0].Values, float64(p.OpenCritical))
		c.Series[1].Values = append(c.Series[1].Values, float64(p.OpenHigh))
		c.Series[2].Values = append(c.Series[2].Values, float64(p.Escalated))
	}
	return c
}

// topOwners keeps the owners with the most open critical, then high, risks.
func topOwners(all []store.OwnerRisk, n int) ([]store.OwnerRisk, int) {
	out := slices.Clone(all)
	slices.SortStableFunc(out, func(a, b store.OwnerRisk) int {
		return cmp.Or(cmp.Compare(b.Critical, a.Critical), cmp.Compare(b.High, a.High), cmp.Compare(a.Owner, b.Owner))
	})
	if len(out) > n {
		return out[:n], len(out) - n
	}
	return out, 0
}

// rmfOrder lists coverage in the RMF core's order, then any other function.
func rmfOrder(m map[string]float64) []rmfCoverage {
	var out []rmfCoverage
	for _, f := range rmfFunctions {
		if v, ok := m[f]; ok {
			out = append(out, rmfCoverage{f, v})
		}
	}
	var rest []string
	for f := range m {
		if !slices.Contains(rmfFunctions, f) {
			rest = append(rest, f)
		}
	}
	slices.Sort(rest)
	for _, f := range rest {
		out = append(out, rmfCoverage{f, m[f]})
	}
	return out
}

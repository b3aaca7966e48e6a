package web

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/mlthreat/mlthreat/internal/store"
)

// The charts are SVG drawn on the server and inlined in the page: no script,
// no style attributes (the CSP forbids both), colours from classes in
// app.css. They are rendered through html/template like everything else, so
// every label is escaped; the output is well-formed XML.

// Series is one line of a line chart.
type Series struct {
	Name   string
	Class  string    // CSS class of the line and its legend swatch
	Values []float64 // one per label
}

// LineChart is a line chart over days.
type LineChart struct {
	Title  string
	Labels []string // YYYY-MM-DD, ascending; one per point
	Series []Series
}

// Chart geometry, in SVG user units.
const (
	chartW, chartH             = 720, 260
	padL, padR, padT, padB     = 48, 16, 28, 44
	legendW                    = 150
	heatCellW, heatCellH       = 96, 40
	heatLabelW, heatHeaderH    = 96, 44
	maxXLabels, yTicksAtMost   = 6, 5
	minCellOpacity, maxOpacity = 0.12, 1.0
)

type svgPoint struct{ X, Y float64 }

type svgTick struct {
	Pos   float64
	Label string
}

type svgLine struct {
	Name, Class string
	Points      string
	Dots        []svgPoint // drawn when the series has one point only
	LegendY     float64
}

type lineView struct {
	Title                  string
	W, H                   int
	X0, X1, Y0, Y1         float64
	XTicks, YTicks         []svgTick
	Lines                  []svgLine
	LegendX, LegendSwatchX float64
	Empty                  bool
}

// SVG draws the chart. Points are placed by date, so missing days leave a
// gap in x rather than squeezing the line; the y axis starts at zero and
// ends at a round number.
func (c LineChart) SVG() (template.HTML, error) {
	v := lineView{Title: c.Title, W: chartW + legendW, H: chartH,
		X0: padL, X1: chartW - padR, Y0: chartH - padB, Y1: padT}
	v.LegendX = chartW + 24
	v.LegendSwatchX = chartW + 4
	days := make([]time.Time, len(c.Labels))
	for i, l := range c.Labels {
		d, err := time.Parse(time.DateOnly, l)
		if err != nil {
			return "", fmt.Errorf("line chart: label %q is not a date (YYYY-MM-DD)", l)
		}
		if i > 0 && !d.After(days[i-1]) {
			return "", fmt.Errorf("line chart: labels out of order at %s", l)
		}
		days[i] = d
	}
	top := 0.0
	for _, s := range c.Series {
		if len(s.Values) != len(c.Labels) {
			return "", fmt.Errorf("line chart: series %q has %d values for %d labels", s.Name, len(s.Values), len(c.Labels))
		}
		for _, x := range s.Values {
			if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
				return "", fmt.Errorf("line chart: series %q has the value %v; values are counts", s.Name, x)
			}
			top = max(top, x)
		}
	}
	v.Empty = len(days) == 0
	step, ymax := niceScale(top, yTicksAtMost)
	for t := 0.0; t <= ymax+step/2; t += step {
		v.YTicks = append(v.YTicks, svgTick{Pos: round1(v.Y0 - (v.Y0-v.Y1)*t/ymax), Label: formatCount(t)})
	}
	xOf := func(i int) float64 {
		if len(days) < 2 {
			return (v.X0 + v.X1) / 2
		}
		span := days[len(days)-1].Sub(days[0]).Hours()
		return round1(v.X0 + (v.X1-v.X0)*days[i].Sub(days[0]).Hours()/span)
	}
	for _, i := range labelIndexes(len(days), maxXLabels) {
		v.XTicks = append(v.XTicks, svgTick{Pos: xOf(i), Label: c.Labels[i]})
	}
	for n, s := range c.Series {
		line := svgLine{Name: s.Name, Class: s.Class, LegendY: float64(padT + 10 + 22*n)}
		var pts []string
		for i, x := range s.Values {
			p := svgPoint{xOf(i), round1(v.Y0 - (v.Y0-v.Y1)*x/ymax)}
			pts = append(pts, fmt.Sprintf("%g,%g", p.X, p.Y))
			if len(s.Values) == 1 {
				line.Dots = append(line.Dots, p)
			}
		}
		line.Points = strings.Join(pts, " ")
		v.Lines = append(v.Lines, line)
	}
	var b bytes.Buffer
	if err := chartTmpl.ExecuteTemplate(&b, "line", v); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil // #nosec: html/template escaped every value above
}

// niceScale picks a tick step of 1, 2 or 5 × 10^k giving at most n steps up
// to a top at or above max (at least 1, so an all-zero chart still has an
// axis).
func niceScale(top float64, n int) (step, end float64) {
	top = max(top, 1)
	raw := top / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		step = m * mag
		if step >= raw {
			break
		}
	}
	if step < 1 {
		step = 1 // counts: no fractional ticks
	}
	end = math.Ceil(top/step) * step
	return step, end
}

// labelIndexes picks at most n evenly spread indexes of 0..count-1, always
// the first and the last.
func labelIndexes(count, n int) []int {
	if count == 0 {
		return nil
	}
	if count <= n {
		out := make([]int, count)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := []int{}
	for k := range n {
		i := int(math.Round(float64(k) * float64(count-1) / float64(n-1)))
		if len(out) == 0 || out[len(out)-1] != i {
			out = append(out, i)
		}
	}
	return out
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

func formatCount(x float64) string {
	if x == math.Trunc(x) {
		return fmt.Sprintf("%d", int64(x))
	}
	return fmt.Sprintf("%.1f", x)
}

// HeatMap counts the portfolio's systems by criticality (rows) and highest
// open residual severity (columns).
type HeatMap struct {
	Cells []store.HeatCell
}

// Severity columns, most severe first; "" is systems with no open threat.
var heatSeverities = []string{"critical", "high", "medium", "low", ""}

// Criticality rows, most critical first; others found in the data follow,
// sorted.
var heatCriticalities = []string{"critical", "high", "medium", "low"}

type heatCellView struct {
	X, Y, TX, TY float64
	Count        int
	Opacity      string
	Class        string
	Title        string
}

type heatView struct {
	W, H         int
	CellW, CellH int
	Columns      []svgTick
	Rows         []svgTick
	Cells        []heatCellView
	Total        int
}

// SVG draws the grid: each cell is coloured by how bad its combination is
// and shaded by how many systems fall in it.
func (h HeatMap) SVG() (template.HTML, error) {
	counts := map[[2]string]int{}
	rows := slices.Clone(heatCriticalities)
	cols := slices.Clone(heatSeverities)
	most, total := 0, 0
	for _, c := range h.Cells {
		if c.Systems < 0 {
			return "", fmt.Errorf("heat map: %d systems in a cell", c.Systems)
		}
		if !slices.Contains(cols, c.Severity) {
			cols = append(cols, c.Severity) // not one the analysis writes; shown, not hidden
		}
		if !slices.Contains(rows, c.Criticality) {
			rows = append(rows, c.Criticality)
		}
		k := [2]string{c.Criticality, c.Severity}
		counts[k] += c.Systems
		most = max(most, counts[k])
		total += c.Systems
	}
	slices.Sort(rows[len(heatCriticalities):])
	slices.Sort(cols[len(heatSeverities):])
	v := heatView{W: heatLabelW + heatCellW*len(cols) + 8, H: heatHeaderH + heatCellH*len(rows) + 8,
		CellW: heatCellW - 2, CellH: heatCellH - 2, Total: total}
	for j, s := range cols {
		v.Columns = append(v.Columns, svgTick{Pos: float64(heatLabelW + heatCellW*j + heatCellW/2), Label: severityLabel(s)})
	}
	for i, crit := range rows {
		label := crit
		if label == "" {
			label = "unrated"
		}
		v.Rows = append(v.Rows, svgTick{Pos: float64(heatHeaderH + heatCellH*i + heatCellH/2 + 4), Label: label})
		for j, s := range cols {
			n := counts[[2]string{crit, s}]
			cell := heatCellView{
				X: float64(heatLabelW + heatCellW*j), Y: float64(heatHeaderH + heatCellH*i),
				Count: n, Class: "heat-" + heatLevel(crit, s),
				Title: fmt.Sprintf("%d systems: criticality %s, highest open residual %s", n, label, severityLabel(s)),
			}
			cell.TX, cell.TY = cell.X+heatCellW/2, cell.Y+heatCellH/2+5
			op := 0.0
			if n > 0 && most > 0 {
				op = minCellOpacity + (maxOpacity-minCellOpacity)*float64(n)/float64(most)
			}
			cell.Opacity = fmt.Sprintf("%.2f", op)
			v.Cells = append(v.Cells, cell)
		}
	}
	var b bytes.Buffer
	if err := chartTmpl.ExecuteTemplate(&b, "heat", v); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil // #nosec: html/template escaped every value above
}

func severityLabel(s string) string {
	if s == "" {
		return "none open"
	}
	return s
}

// heatLevel rates a cell as a risk matrix would: how critical the system is
// plus how severe its worst open threat.
func heatLevel(criticality, severity string) string {
	switch severity {
	case "":
		return "none"
	case "critical", "high", "medium", "low":
	default:
		return "none"
	}
	score := rank(criticality) + rank(severity)
	switch {
	case score >= 7:
		return "critical"
	case score >= 5:
		return "high"
	case score >= 3:
		return "medium"
	}
	return "low"
}

// rank orders criticalities and severities alike, low first; unknown is 1.
func rank(s string) int {
	switch s {
	case "critical":
		return 4
	case "high":
		return 3
	case "medium":
		return 2
	}
	return 1
}

var chartTmpl = template.Must(template.New("charts").Parse(`
{{- define "line" -}}
<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {{.W}} {{.H}}" width="{{.W}}" height="{{.H}}" role="img" aria-label="{{.Title}}">
<title>{{.Title}}</title>
<g class="axis">
<line x1="{{.X0}}" y1="{{.Y0}}" x2="{{.X1}}" y2="{{.Y0}}"/>
<line x1="{{.X0}}" y1="{{.Y0}}" x2="{{.X0}}" y2="{{.Y1}}"/>
</g>
<g class="grid">{{range .YTicks}}<line x1="{{$.X0}}" y1="{{.Pos}}" x2="{{$.X1}}" y2="{{.Pos}}"/>{{end}}</g>
<g class="ticks">
{{- range .YTicks}}<text x="{{$.X0}}" y="{{.Pos}}" dx="-6" dy="4" text-anchor="end">{{.Label}}</text>{{end}}
{{- range .XTicks}}<text x="{{.Pos}}" y="{{$.Y0}}" dy="18" text-anchor="middle">{{.Label}}</text>{{end}}
</g>
{{- if .Empty}}
<text class="empty" x="{{.X1}}" y="{{.Y1}}" dx="-4" dy="16" text-anchor="end">no data yet</text>
{{- end}}
{{- range .Lines}}
<polyline class="line {{.Class}}" fill="none" points="{{.Points}}"><title>{{.Name}}</title></polyline>
{{- $c := .Class}}{{range .Dots}}<circle class="dot {{$c}}" cx="{{.X}}" cy="{{.Y}}" r="3"/>{{end}}
<line class="line {{.Class}}" x1="{{$.LegendSwatchX}}" y1="{{.LegendY}}" x2="{{$.LegendX}}" y2="{{.LegendY}}"/>
<text class="legend" x="{{$.LegendX}}" y="{{.LegendY}}" dx="6" dy="4">{{.Name}}</text>
{{- end}}
</svg>
{{- end}}
{{- define "heat" -}}
<svg xmlns="http://www.w3.org/2000/svg" class="chart heat" viewBox="0 0 {{.W}} {{.H}}" width="{{.W}}" height="{{.H}}" role="img" aria-label="Systems by criticality and highest open residual severity ({{.Total}} systems)">
<title>Systems by criticality and highest open residual severity</title>
{{- range .Columns}}<text class="col" x="{{.Pos}}" y="30" text-anchor="middle">{{.Label}}</text>{{end}}
{{- range .Rows}}<text class="row" x="8" y="{{.Pos}}">{{.Label}}</text>{{end}}
{{- range .Cells}}
<g><title>{{.Title}}</title><rect class="{{.Class}}" x="{{.X}}" y="{{.Y}}" width="{{$.CellW}}" height="{{$.CellH}}" rx="4" fill-opacity="{{.Opacity}}"/>{{if .Count}}<text x="{{.TX}}" y="{{.TY}}" text-anchor="middle">{{.Count}}</text>{{end}}</g>
{{- end}}
</svg>
{{- end}}
`))

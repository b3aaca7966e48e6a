package web

import (
	"encoding/xml"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/store"
)

// svgDoc is the part of a chart the tests read back.
type svgDoc struct {
	XMLName   xml.Name `xml:"svg"`
	ViewBox   string   `xml:"viewBox,attr"`
	AriaLabel string   `xml:"aria-label,attr"`
	Title     string   `xml:"title"`
	Polylines []struct {
		Class  string `xml:"class,attr"`
		Points string `xml:"points,attr"`
		Title  string `xml:"title"`
	} `xml:"polyline"`
	Circles []struct {
		Class string `xml:"class,attr"`
	} `xml:"circle"`
	Texts  []svgText `xml:"text"`
	Groups []struct {
		Class string    `xml:"class,attr"`
		Texts []svgText `xml:"text"`
		Title string    `xml:"title"`
		Rect  *struct {
			Class   string `xml:"class,attr"`
			Opacity string `xml:"fill-opacity,attr"`
		} `xml:"rect"`
	} `xml:"g"`
}

type svgText struct {
	Class  string `xml:"class,attr"`
	Anchor string `xml:"text-anchor,attr"`
	X      string `xml:"x,attr"`
	Y      string `xml:"y,attr"`
	Text   string `xml:",chardata"`
}

// parseSVG checks the chart is well-formed XML (strict) and decodes it.
func parseSVG(t *testing.T, s string) svgDoc {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	for {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, s)
		}
	}
	var doc svgDoc
	if err := xml.Unmarshal([]byte(s), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func points(t *testing.T, s string) [][2]float64 {
	t.Helper()
	var out [][2]float64
	for _, p := range strings.Fields(s) {
		x, y, ok := strings.Cut(p, ",")
		if !ok {
			t.Fatalf("point %q", p)
		}
		fx, err1 := strconv.ParseFloat(x, 64)
		fy, err2 := strconv.ParseFloat(y, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("point %q", p)
		}
		out = append(out, [2]float64{fx, fy})
	}
	return out
}

func TestLineChart(t *testing.T) {
	c := LineChart{
		Title:  `Risks <script>alert("x")</script> & more`,
		Labels: []string{"2026-01-01", "2026-01-02", "2026-01-04", "2026-01-11"},
		Series: []Series{
			{Name: "open <b>critical</b>", Class: "s-critical", Values: []float64{0, 5, 10, 7}},
			{Name: "open high", Class: "s-high", Values: []float64{3, 3, 3, 3}},
		},
	}
	out, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if strings.Contains(s, "<script") || strings.Contains(s, "<b>") || strings.Contains(s, "style=") {
		t.Fatalf("unescaped text or inline style:\n%s", s)
	}
	doc := parseSVG(t, s)
	if doc.Title != c.Title || doc.AriaLabel != c.Title {
		t.Errorf("title %q, aria-label %q", doc.Title, doc.AriaLabel)
	}
	if len(doc.Polylines) != 2 {
		t.Fatalf("%d lines", len(doc.Polylines))
	}
	if doc.Polylines[0].Title != "open <b>critical</b>" || doc.Polylines[0].Class != "line s-critical" {
		t.Errorf("line 0: %+v", doc.Polylines[0])
	}
	pts := points(t, doc.Polylines[0].Points)
	if len(pts) != 4 {
		t.Fatalf("%d points", len(pts))
	}
	// x by date: the first at the left edge, the last at the right, and
	// 2026-01-04 at 3/10 of the way.
	if pts[0][0] != padL || pts[3][0] != chartW-padR {
		t.Errorf("x range %v..%v", pts[0][0], pts[3][0])
	}
	if want := padL + (chartW-padR-padL)*0.3; math.Abs(pts[2][0]-want) > 0.1 {
		t.Errorf("x of day 3: %v, want %v", pts[2][0], want)
	}
	// y: zero on the axis, the maximum (10) at the top of a 0..10 scale.
	if pts[0][1] != chartH-padB || pts[2][1] != padT {
		t.Errorf("y of 0 and 10: %v, %v", pts[0][1], pts[2][1])
	}
	flat := points(t, doc.Polylines[1].Points)
	for _, p := range flat {
		if p[1] != flat[0][1] {
			t.Errorf("a constant series is not flat: %v", flat)
		}
	}
	var yLabels, xLabels []string
	for _, g := range doc.Groups {
		if g.Class == "ticks" {
			for _, tx := range g.Texts {
				if tx.Anchor == "end" {
					yLabels = append(yLabels, tx.Text)
				} else {
					xLabels = append(xLabels, tx.Text)
				}
			}
		}
	}
	if !reflect.DeepEqual(yLabels, []string{"0", "2", "4", "6", "8", "10"}) {
		t.Errorf("y labels %v", yLabels)
	}
	if !reflect.DeepEqual(xLabels, c.Labels) {
		t.Errorf("x labels %v", xLabels)
	}
	legend := 0
	for _, tx := range doc.Texts {
		if tx.Class == "legend" {
			legend++
		}
	}
	if legend != 2 {
		t.Errorf("%d legend entries", legend)
	}
}

func TestLineChartEdges(t *testing.T) {
	// No data: axes and a note, still well-formed.
	out, err := LineChart{Title: "empty", Series: []Series{{Name: "a", Class: "s-high"}}}.SVG()
	if err != nil {
		t.Fatal(err)
	}
	doc := parseSVG(t, string(out))
	found := false
	for _, tx := range doc.Texts {
		found = found || tx.Text == "no data yet"
	}
	if !found {
		t.Errorf("empty chart has no note:\n%s", out)
	}
	// One day: a dot, since a one-point line draws nothing.
	out, err = LineChart{Title: "one", Labels: []string{"2026-03-01"}, Series: []Series{{Name: "a", Class: "s-high", Values: []float64{4}}}}.SVG()
	if err != nil {
		t.Fatal(err)
	}
	if doc = parseSVG(t, string(out)); len(doc.Circles) != 1 {
		t.Errorf("%d dots for one point", len(doc.Circles))
	}
	// Many days: at most six x labels, the first and last among them.
	var labels []string
	var vals []float64
	for d := range 90 {
		labels = append(labels, dayAfter("2026-01-01", d))
		vals = append(vals, float64(d))
	}
	out, err = LineChart{Title: "many", Labels: labels, Series: []Series{{Name: "a", Class: "s-high", Values: vals}}}.SVG()
	if err != nil {
		t.Fatal(err)
	}
	doc = parseSVG(t, string(out))
	var xs []string
	for _, g := range doc.Groups {
		if g.Class == "ticks" {
			for _, tx := range g.Texts {
				if tx.Anchor == "middle" {
					xs = append(xs, tx.Text)
				}
			}
		}
	}
	if len(xs) > maxXLabels || xs[0] != labels[0] || xs[len(xs)-1] != labels[89] {
		t.Errorf("x labels %v", xs)
	}

	for name, c := range map[string]LineChart{
		"bad date":     {Labels: []string{"yesterday"}},
		"out of order": {Labels: []string{"2026-01-02", "2026-01-01"}},
		"repeated":     {Labels: []string{"2026-01-02", "2026-01-02"}},
		"short":        {Labels: []string{"2026-01-01"}, Series: []Series{{Name: "a"}}},
		"negative":     {Labels: []string{"2026-01-01"}, Series: []Series{{Name: "a", Values: []float64{-1}}}},
		"NaN":          {Labels: []string{"2026-01-01"}, Series: []Series{{Name: "a", Values: []float64{math.NaN()}}}},
		"Inf":          {Labels: []string{"2026-01-01"}, Series: []Series{{Name: "a", Values: []float64{math.Inf(1)}}}},
	} {
		if _, err := c.SVG(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func dayAfter(day string, n int) string {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		panic(err)
	}
	return d.AddDate(0, 0, n).Format(time.DateOnly)
}

func TestNiceScale(t *testing.T) {
	for _, c := range []struct {
		top       float64
		step, end float64
	}{
		{0, 1, 1}, {1, 1, 1}, {4, 1, 4}, {5, 1, 5}, {7, 2, 8}, {10, 2, 10}, {11, 5, 15}, {44, 10, 50}, {79, 20, 80}, {101, 50, 150}, {2500, 500, 2500},
	} {
		step, end := niceScale(c.top, 5)
		if step != c.step || end != c.end {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", c.top, step, end, c.step, c.end)
		}
		if end < c.top || end/step > 5 {
			t.Errorf("niceScale(%v): %v steps of %v", c.top, end/step, step)
		}
	}
}

func TestLabelIndexes(t *testing.T) {
	for _, c := range []struct {
		count, n int
		want     []int
	}{
		{0, 6, nil}, {1, 6, []int{0}}, {6, 6, []int{0, 1, 2, 3, 4, 5}}, {7, 6, []int{0, 1, 2, 4, 5, 6}}, {91, 6, []int{0, 18, 36, 54, 72, 90}},
	} {
		if got := labelIndexes(c.count, c.n); !reflect.DeepEqual(got, c.want) {
			t.Errorf("labelIndexes(%d, %d) = %v, want %v", c.count, c.n, got, c.want)
		}
	}
}

func TestHeatMap(t *testing.T) {
	cells := []store.HeatCell{
		{Criticality: "critical", Severity: "critical", Systems: 8},
		{Criticality: "critical", Severity: "", Systems: 2},
		{Criticality: "low", Severity: "medium", Systems: 4},
		{Criticality: `<script>x</script>`, Severity: "low", Systems: 1},
		{Criticality: "", Severity: "bogus", Systems: 3},
	}
	out, err := HeatMap{Cells: cells}.SVG()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "<script") || strings.Contains(string(out), "style=") {
		t.Fatalf("unescaped or inline style:\n%s", out)
	}
	doc := parseSVG(t, string(out))
	var cols, rows []string
	for _, tx := range doc.Texts {
		switch tx.Class {
		case "col":
			cols = append(cols, tx.Text)
		case "row":
			rows = append(rows, tx.Text)
		}
	}
	if want := []string{"critical", "high", "medium", "low", "none open", "bogus"}; !reflect.DeepEqual(cols, want) {
		t.Errorf("columns %v, want %v", cols, want)
	}
	if want := []string{"critical", "high", "medium", "low", "unrated", "<script>x</script>"}; !reflect.DeepEqual(rows, want) {
		t.Errorf("rows %v, want %v", rows, want)
	}
	if len(doc.Groups) != len(cols)*len(rows) {
		t.Fatalf("%d cells for %d×%d", len(doc.Groups), len(rows), len(cols))
	}
	cell := func(r, c int) (string, string, string) {
		g := doc.Groups[r*len(cols)+c]
		n := ""
		if len(g.Texts) > 0 {
			n = g.Texts[0].Text
		}
		return n, g.Rect.Class, g.Rect.Opacity
	}
	for _, c := range []struct {
		r, c                  int
		count, class, opacity string
	}{
		{0, 0, "8", "heat-critical", "1.00"},
		{0, 4, "2", "heat-none", "0.34"},
		{3, 2, "4", "heat-medium", "0.56"},
		{5, 3, "1", "heat-low", "0.23"},
		{4, 5, "3", "heat-none", "0.45"},
		{1, 1, "", "heat-high", "0.00"},
		{1, 0, "", "heat-critical", "0.00"},
		{3, 3, "", "heat-low", "0.00"},
	} {
		n, class, op := cell(c.r, c.c)
		if n != c.count || class != c.class || op != c.opacity {
			t.Errorf("cell %s/%s: %q %s %s, want %q %s %s", rows[c.r], cols[c.c], n, class, op, c.count, c.class, c.opacity)
		}
	}
	if !strings.Contains(doc.AriaLabel, "(18 systems)") {
		t.Errorf("aria-label %q", doc.AriaLabel)
	}
	if _, err := (HeatMap{Cells: []store.HeatCell{{Criticality: "low", Systems: -1}}}).SVG(); err == nil {
		t.Error("a negative count drew")
	}
	// No systems at all: the empty grid.
	out, err = HeatMap{}.SVG()
	if err != nil {
		t.Fatal(err)
	}
	if doc := parseSVG(t, string(out)); len(doc.Groups) != 20 {
		t.Errorf("empty heat map has %d cells", len(doc.Groups))
	}
}

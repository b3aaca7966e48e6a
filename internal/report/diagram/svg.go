package diagram

import (
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/mlthreat/mlthreat/internal/analysis"
)

// SVG draws the data-flow diagram in Go, with no Graphviz needed: trust zones
// as columns with dashed boundaries, components stacked in their zone, flows
// as arrows labelled with their data. All text is XML-escaped.
func SVG(w io.Writer, r *analysis.Report) error {
	const (
		colW, colGap = 230, 110
		nodeW, nodeH = 190, 46
		rowH, top    = 78, 70
		left         = 30
	)
	s := r.System
	sev := worst(r)
	order, groups := byZone(s)
	pos := map[string][2]int{} // component -> x, y of the node's top-left
	rows := 0
	for ci, z := range order {
		for ri, c := range groups[z] {
			pos[c.ID] = [2]int{left + ci*(colW+colGap) + (colW-nodeW)/2, top + ri*rowH}
		}
		rows = max(rows, len(groups[z]))
	}
	width := left*2 + max(1, len(order))*(colW+colGap) - colGap
	height := top + rows*rowH + 40
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s data-flow diagram" font-family="Helvetica, Arial, sans-serif">`+"\n", width, height, width, height, esc(s.Info.Name))
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#495057"/></marker></defs>` + "\n")
	fmt.Fprintf(&b, `<title>%s</title>`+"\n", esc(s.Info.Name))
	for ci, z := range order {
		x := left + ci*(colW+colGap)
		title := "no zone"
		if zone := s.Zone(z); zone != nil {
			title = z + " · " + zone.Trust
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="10" fill="none" stroke="#adb5bd" stroke-dasharray="6 4"/>`+"\n", x, top-40, colW, max(1, len(groups[z]))*rowH+30)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" fill="#495057" font-weight="bold">%s</text>`+"\n", x+10, top-20, esc(title))
	}
	for _, f := range s.Flows {
		a, ok1 := pos[f.From]
		c, ok2 := pos[f.To]
		if !ok1 || !ok2 {
			continue
		}
		col := colours[sev[f.ID]][1]
		extra := ""
		if f.Bidirectional {
			extra = ` marker-start="url(#arrow)"`
		}
		lbl := strings.Join(f.Data, ", ")
		title := esc(f.ID + ": " + f.From + " → " + f.To)
		if a[0] == c[0] {
			// Same zone: curve out to the side, further for longer hops and
			// on opposite sides for the two directions, so lines and labels
			// do not sit on top of the nodes or of each other.
			x := a[0] + nodeW
			side := 1
			if a[1] > c[1] {
				x, side = a[0], -1
			}
			y1, y2 := a[1]+nodeH/2, c[1]+nodeH/2
			hops := abs(c[1]-a[1]) / rowH
			cx := x + side*(24+14*hops)
			fmt.Fprintf(&b, `<path d="M%d,%d Q%d,%d %d,%d" fill="none" stroke="%s" stroke-width="1.5" marker-end="url(#arrow)"%s><title>%s</title></path>`+"\n", x, y1, cx, (y1+y2)/2, x, y2, col, extra, title)
			if lbl != "" {
				anchor := "start"
				if side < 0 {
					anchor = "end"
				}
				fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="9" fill="#495057" text-anchor="%s">%s</text>`+"\n", x+side*(16+7*hops), (y1+y2)/2+3, anchor, esc(clip(lbl, 24)))
			}
			continue
		}
		x1, y1 := a[0]+nodeW, a[1]+nodeH/2
		x2, y2 := c[0], c[1]+nodeH/2
		if a[0] > c[0] {
			x1, x2 = a[0], c[0]+nodeW
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="1.5" marker-end="url(#arrow)"%s><title>%s</title></line>`+"\n", x1, y1, x2, y2, col, extra, title)
		if lbl != "" {
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="9" fill="#495057" text-anchor="middle">%s</text>`+"\n", (x1+x2)/2, (y1+y2)/2-4, esc(clip(lbl, 34)))
		}
	}
	for _, c := range s.Components {
		p, ok := pos[c.ID]
		if !ok {
			continue
		}
		col := colours[sev[c.ID]]
		rx := 6
		switch c.Kind {
		case "actor":
			rx = nodeH / 2
		case "datastore", "dataset", "vector-store", "feature-store", "model-registry", "memory":
			rx = 14
		}
		name := c.Name
		if name == "" {
			name = c.ID
		}
		fmt.Fprintf(&b, `<g><title>%s</title><rect x="%d" y="%d" width="%d" height="%d" rx="%d" fill="%s" stroke="%s" stroke-width="2"/>`, esc(c.ID+" ("+c.Kind+") "+sev[c.ID]), p[0], p[1], nodeW, nodeH, rx, col[0], col[1])
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="middle" fill="#212529">%s</text>`, p[0]+nodeW/2, p[1]+20, esc(clip(name, 28)))
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" text-anchor="middle" fill="#6c757d">%s</text></g>`+"\n", p[0]+nodeW/2, p[1]+36, esc(c.Kind))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func esc(s string) string { return html.EscapeString(s) }

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func clip(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

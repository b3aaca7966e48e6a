// Package htmlreport writes one self-contained HTML file: no external
// scripts, fonts or styles, a strict Content-Security-Policy, the data-flow
// diagram as inline SVG, a likelihood × impact heat map, a threat table that
// sorts and filters with a little inline JavaScript (and reads fine without),
// an ATLAS matrix view, the gap analysis and roadmap, precedents and a print
// stylesheet. Every user string goes through html/template's escaping.
package htmlreport

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"io"
	"sort"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/report/diagram"
)

// script sorts and filters the threat table. Its hash goes in the CSP.
const script = `(function(){
var t=document.getElementById('threats');if(!t)return;
var body=t.tBodies[0];var rows=[].slice.call(body.rows);
var f=document.querySelectorAll('[data-filter]');
function apply(){rows.forEach(function(r){var ok=true;f.forEach(function(s){var v=s.value;if(v&&r.getAttribute('data-'+s.getAttribute('data-filter')).split(' ').indexOf(v)<0)ok=false;});r.hidden=!ok;});
var n=rows.filter(function(r){return !r.hidden}).length;document.getElementById('shown').textContent=n;}
f.forEach(function(s){s.addEventListener('change',apply);});
[].slice.call(t.tHead.rows[0].cells).forEach(function(th,i){th.addEventListener('click',function(){var num=th.hasAttribute('data-num');var dir=th.getAttribute('data-dir')==='asc'?'desc':'asc';th.setAttribute('data-dir',dir);
rows.sort(function(a,b){var x=a.cells[i].getAttribute('data-v')||a.cells[i].textContent,y=b.cells[i].getAttribute('data-v')||b.cells[i].textContent;if(num){x=+x;y=+y;}return (x<y?-1:x>y?1:0)*(dir==='asc'?1:-1);});rows.forEach(function(r){body.appendChild(r);});});});
document.getElementById('filters').hidden=false;apply();})();`

// CSP allows nothing external: inline styles, inline SVG and this one script.
func csp() string {
	h := sha256.Sum256([]byte(script))
	return "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'; base-uri 'none'; form-action 'none'"
}

// CSP is the policy the report declares, for a server that serves it.
func CSP() string { return csp() }

type cell struct {
	Count int
	Class string
}

type matrixColumn struct {
	Tactic     string
	Name       string
	Techniques []matrixTechnique
}

type matrixTechnique struct {
	ID, Name, Class string
	Risk            int
}

type page struct {
	R          *analysis.Report
	G          *gap.Report
	CSP        string
	Script     template.JS
	SVG        template.HTML
	Heat       [][]cell // likelihood 5..1 rows, impact 1..5 columns
	Counts     map[string]int
	Residual   map[string]int
	Tactics    []string
	Targets    []string
	Matrix     []matrixColumn
	Paths      []analysis.Path
	HeatLabels []int
}

func severityClass(score int) string { return analysis.Severity(score) }

// Write renders the report; g may be nil (no gap section).
func Write(w io.Writer, r *analysis.Report, g *gap.Report) error {
	var svg bytes.Buffer
	if err := diagram.SVG(&svg, r); err != nil {
		return err
	}
	p := page{R: r, G: g, CSP: csp(), Script: template.JS(script), SVG: template.HTML(svg.String()), Counts: map[string]int{}, Residual: map[string]int{}, HeatLabels: []int{5, 4, 3, 2, 1}}
	var grid [6][6]int
	tactics, targets := map[string]bool{}, map[string]bool{}
	best := map[string]int{}
	for _, t := range r.Threats {
		grid[t.Likelihood.Score][t.Impact.Score]++
		p.Counts[t.Severity]++
		p.Residual[t.Residual.Severity]++
		for _, ta := range t.Tactics {
			tactics[ta] = true
		}
		targets[t.Target.ID()] = true
		if t.Status == "open" || t.Status == "in-progress" {
			best[t.Technique] = max(best[t.Technique], t.Residual.Score)
		}
	}
	for l := 5; l >= 1; l-- {
		var row []cell
		for i := 1; i <= 5; i++ {
			row = append(row, cell{grid[l][i], severityClass(l * i)})
		}
		p.Heat = append(p.Heat, row)
	}
	for _, ta := range r.Catalog.ATLAS.Tactics {
		if tactics[ta.ID] {
			p.Tactics = append(p.Tactics, ta.ID)
		}
		col := matrixColumn{Tactic: ta.ID, Name: ta.Name}
		for _, tech := range r.Catalog.TechniquesIn(ta.ID) {
			if risk, ok := best[tech]; ok {
				col.Techniques = append(col.Techniques, matrixTechnique{ID: tech, Name: r.Catalog.Name(tech), Class: severityClass(risk), Risk: risk})
			}
		}
		p.Matrix = append(p.Matrix, col)
	}
	for t := range targets {
		p.Targets = append(p.Targets, t)
	}
	sort.Strings(p.Targets)
	for _, path := range r.Paths() {
		if analysis.SeverityRank(path.Severity) >= analysis.SeverityRank("high") && len(p.Paths) < 5 {
			p.Paths = append(p.Paths, path)
		}
	}
	return tmpl.Execute(w, p)
}

var tmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"name": func(r *analysis.Report, id string) string { return r.Catalog.Name(id) },
	"join": func(s []string) string {
		out := ""
		for i, x := range s {
			if i > 0 {
				out += " "
			}
			out += x
		}
		return out
	},
	"pct": func(f float64) int { return int(f*100 + 0.5) },
	"first": func(n int, s []string) []string {
		if len(s) > n {
			return s[:n]
		}
		return s
	},
}).Parse(page_html))

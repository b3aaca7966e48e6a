package htmlreport

// page_html is the report template; html/template escapes every value.
const page_html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{.CSP}}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Threat model: {{.R.System.Info.Name}}</title>
<style>
body{font:14px/1.45 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#212529;margin:0 auto;max-width:1200px;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #dee2e6;padding-bottom:4px}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #dee2e6;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f1f3f5;cursor:pointer}.muted{color:#6c757d}.num{text-align:right}
.critical{background:#f8d7da}.high{background:#fde2c8}.medium{background:#fff3bf}.low{background:#e6f4ea}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #dee2e6;border-radius:8px;padding:8px 14px;min-width:110px}
.card b{font-size:22px;display:block}
.heat td{width:48px;height:36px;text-align:center}
.matrix{display:flex;gap:6px;overflow-x:auto}.matrix .col{min-width:120px;flex:1}.matrix .col h4{font-size:12px;margin:0 0 4px;background:#f1f3f5;padding:4px}
.matrix .t{font-size:11px;padding:3px;margin:2px 0;border-radius:4px;border:1px solid #dee2e6}
#filters{margin:8px 0}#filters select{margin-right:8px}
svg{max-width:100%;height:auto;border:1px solid #dee2e6;border-radius:8px}
@media print{#filters,.noprint{display:none}body{max-width:none;padding:0}h2{page-break-after:avoid}tr{page-break-inside:avoid}}
</style>
</head>
<body>
<h1>Threat model: {{.R.System.Info.Name}}</h1>
<p class="muted">{{.R.System.Info.ID}} · owner {{.R.System.Info.Owner}} · criticality {{.R.System.Info.Criticality}} · ATLAS {{index .R.Catalog.Versions "atlas"}} · {{.R.Rules}} rules · {{.R.Date}}</p>
{{with .R.System.Info.Description}}<p>{{.}}</p>{{end}}

<h2>Summary</h2>
<div class="cards">
<div class="card"><b>{{len .R.Threats}}</b>threats</div>
<div class="card critical"><b>{{index .Residual "critical"}}</b>critical (residual)</div>
<div class="card high"><b>{{index .Residual "high"}}</b>high</div>
<div class="card medium"><b>{{index .Residual "medium"}}</b>medium</div>
<div class="card low"><b>{{index .Residual "low"}}</b>low</div>
</div>

<h2>Data-flow diagram</h2>
{{.SVG}}

<h2>Likelihood × impact</h2>
<table class="heat" style="width:auto"><tr><th>likelihood \ impact</th><th>1</th><th>2</th><th>3</th><th>4</th><th>5</th></tr>
{{range $i, $row := .Heat}}<tr><th>{{index $.HeatLabels $i}}</th>{{range $row}}<td class="{{.Class}}">{{if .Count}}{{.Count}}{{end}}</td>{{end}}</tr>
{{end}}</table>

<h2>Threats</h2>
<div id="filters" hidden>
<label>Severity <select data-filter="severity"><option value="">any</option><option>critical</option><option>high</option><option>medium</option><option>low</option></select></label>
<label>Tactic <select data-filter="tactic"><option value="">any</option>{{range .Tactics}}<option value="{{.}}">{{name $.R .}}</option>{{end}}</select></label>
<label>Element <select data-filter="target"><option value="">any</option>{{range .Targets}}<option>{{.}}</option>{{end}}</select></label>
<label>Status <select data-filter="status"><option value="">any</option><option>open</option><option>accepted</option><option>in-progress</option><option>mitigated</option><option>false-positive</option></select></label>
<span class="muted"><span id="shown"></span> shown</span>
</div>
<table id="threats">
<thead><tr><th>ID</th><th>Threat</th><th>Element</th><th>ATLAS</th><th data-num>Risk</th><th data-num>Residual</th><th>Status</th><th>Missing mitigations</th></tr></thead>
<tbody>
{{range .R.Threats}}<tr data-severity="{{.Residual.Severity}}" data-tactic="{{join .Tactics}}" data-target="{{.Target.ID}}" data-status="{{.Status}}">
<td>{{.ID}}</td><td>{{.Rule.Title}}</td><td>{{.Target.ID}}</td><td>{{.Technique}} {{name $.R .Technique}}</td>
<td class="num {{.Severity}}" data-v="{{.Risk}}">{{.Risk}}</td><td class="num {{.Residual.Severity}}" data-v="{{.Residual.Score}}">{{.Residual.Score}}</td><td>{{.Status}}</td>
<td>{{range .Mitigations}}{{if ne .Status "implemented"}}{{.ID}} {{end}}{{end}}</td></tr>
{{end}}</tbody></table>

<h2>ATLAS matrix</h2>
<div class="matrix">{{range .Matrix}}<div class="col"><h4>{{.Name}}</h4>{{range .Techniques}}<div class="t {{.Class}}" title="{{.ID}} residual {{.Risk}}">{{.ID}} {{.Name}}</div>{{else}}<div class="muted" style="font-size:11px">none</div>{{end}}</div>{{end}}</div>

{{if .Paths}}<h2>Attack paths</h2>
{{range .Paths}}<p><b>{{.Severity}}</b> (risk {{.Risk}}): {{join .Elements}}</p><ol>{{range .Steps}}<li>{{index .Tactics 0 | name $.R}}: {{.Technique}} {{name $.R .Technique}} on {{.Target.ID}} ({{.ID}})</li>{{end}}</ol>{{end}}{{end}}

{{with .G}}<h2>NIST AI RMF gap analysis ({{.Profile.Name}} profile)</h2>
<table style="width:auto"><tr><th>Function</th><th>Met</th><th>Partial</th><th>Gap</th><th>Coverage</th></tr>
{{range .Functions}}<tr><td>{{.ID}}</td><td class="num">{{.Met}}</td><td class="num">{{.Partial}}</td><td class="num">{{.Gap}}</td><td class="num">{{pct .Score}}%</td></tr>{{end}}</table>
<h2>Remediation roadmap</h2>
<table><tr><th>#</th><th>Within</th><th>Item</th><th>Effort</th><th>Residual risk removed</th><th>Subcategories</th></tr>
{{range .Roadmap}}<tr><td>{{.Rank}}</td><td>{{.Phase}} days</td><td>{{.Action}} {{.ID}} {{.Name}}</td><td>{{.Effort}}</td><td class="num">{{.RiskReduction}}</td><td>{{join .Subcategories}}</td></tr>{{end}}</table>{{end}}

{{if .R.Precedent}}<h2>Precedents</h2><table><tr><th>Case study</th><th>Shared techniques</th></tr>
{{range $i, $p := .R.Precedent}}{{if lt $i 10}}<tr><td>{{$p.CaseStudy}} {{name $.R $p.CaseStudy}}</td><td>{{$p.Overlap}}: {{join $p.Techniques}}</td></tr>{{end}}{{end}}</table>{{end}}

<p class="muted noprint">Generated by mlthreat. This file is self-contained and works offline.</p>
<script>{{.Script}}</script>
</body>
</html>
`

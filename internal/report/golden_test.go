package report_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/report"
	"github.com/mlthreat/mlthreat/internal/report/attackflow"
	"github.com/mlthreat/mlthreat/internal/report/csvreport"
	"github.com/mlthreat/mlthreat/internal/report/diagram"
	"github.com/mlthreat/mlthreat/internal/report/gapreport"
	"github.com/mlthreat/mlthreat/internal/report/htmlreport"
	"github.com/mlthreat/mlthreat/internal/report/jsonreport"
	"github.com/mlthreat/mlthreat/internal/report/markdown"
	"github.com/mlthreat/mlthreat/internal/report/navigator"
	"github.com/mlthreat/mlthreat/internal/report/sarifreport"
	"github.com/mlthreat/mlthreat/internal/report/table"
	"github.com/mlthreat/mlthreat/internal/report/xlsxreport"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/validate"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// Every example, in every format, must match its checked-in analysis
// (examples/NAME/threats.*). Refresh with: go test ./internal/report -update
func TestGolden(t *testing.T) {
	root := filepath.Join("..", "..")
	dirs, err := filepath.Glob(filepath.Join(root, "examples", "*", "system.yaml"))
	if err != nil || len(dirs) < 5 {
		t.Fatalf("want at least 5 examples, found %d (%v)", len(dirs), err)
	}
	cat := catalog.Default()
	set, err := rules.Load(cat)
	if err != nil {
		t.Fatal(err)
	}
	formats := map[string]report.Writer{
		"threats.json":     jsonreport.Writer{Version: "golden"},
		"threats.md":       markdown.Writer{},
		"threats.txt":      table.Writer{},
		"threats.csv":      csvreport.Writer{},
		"threats.xlsx":     xlsxreport.Writer{},
		"navigator.json":   navigator.Writer{},
		"threats.sarif":    sarifreport.Writer{Version: "golden"},
		"attack-flow.json": attackflow.Writer{Timestamp: "2026-11-27T00:00:00.000Z"},
	}
	for _, path := range dirs {
		dir := filepath.Dir(path)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			s, ds := validate.File(path, cat, model.DefaultLimits)
			if ds.Errors() > 0 {
				t.Fatal(ds)
			}
			s.File = "examples/" + name + "/system.yaml"
			r, err := analysis.Analyze(s, cat, set, analysis.Options{Today: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)})
			if err != nil {
				t.Fatal(err)
			}
			cw, err := gap.Load(cat)
			if err != nil {
				t.Fatal(err)
			}
			prof, err := gap.BuiltinProfile(gap.DefaultProfile(s), s, cat)
			if err != nil {
				t.Fatal(err)
			}
			gr, err := gap.Analyze(s, cat, set, cw, prof, gap.Options{Today: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)})
			if err != nil {
				t.Fatal(err)
			}
			gapFormats := map[string]func(*bytes.Buffer) error{
				"gap.json": func(b *bytes.Buffer) error { return gapreport.JSON(b, gr, "golden") },
				"gap.md":   func(b *bytes.Buffer) error { return gapreport.Markdown(b, gr) },
				"gap.csv":  func(b *bytes.Buffer) error { return gapreport.CSV(b, gr) },
				"gap.txt":  func(b *bytes.Buffer) error { return gapreport.Table(b, gr) },
			}
			gapFormats["diagram.mmd"] = func(b *bytes.Buffer) error { return diagram.Mermaid(b, r) }
			gapFormats["diagram.dot"] = func(b *bytes.Buffer) error { return diagram.DOT(b, r) }
			gapFormats["diagram.svg"] = func(b *bytes.Buffer) error { return diagram.SVG(b, r) }
			gapFormats["report.html"] = func(b *bytes.Buffer) error { return htmlreport.Write(b, r, gr) }
			for file, render := range gapFormats {
				var b bytes.Buffer
				if err := render(&b); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, filepath.Join(dir, file), b.Bytes())
			}
			for file, w := range formats {
				var b bytes.Buffer
				if err := w.Write(&b, r); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, filepath.Join(dir, file), b.Bytes())
			}
		})
	}
}

func checkGolden(t *testing.T, golden string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/report -update)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the analysis; if the change is intended, run go test ./internal/report -update and review the diff", golden)
	}
}

// User text lands in reports: Markdown must neutralise markup and HTML.
func TestMarkdownEscapesUserText(t *testing.T) {
	src := `mlthreat: 1
system: {id: x, name: "<img src=x onerror=alert(1)> *bold* [link](http://evil)"}
components:
  - {id: api, name: "<script>alert(1)</script>", kind: inference-api, exposure: internet}
`
	p := filepath.Join(t.TempDir(), "m.yaml")
	os.WriteFile(p, []byte(src), 0o644)
	cat := catalog.Default()
	set, _ := rules.Load(cat)
	s, ds := validate.File(p, cat, model.DefaultLimits)
	if ds.Errors() > 0 {
		t.Fatal(ds)
	}
	r, err := analysis.Analyze(s, cat, set, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	markdown.Writer{}.Write(&b, r)
	out := b.String()
	var pics bytes.Buffer
	diagram.Mermaid(&pics, r)
	diagram.SVG(&pics, r)
	for _, bad := range []string{"<img", "<script"} {
		if strings.Contains(pics.String(), bad) {
			t.Errorf("diagram carries raw %q", bad)
		}
	}
	var dot bytes.Buffer
	diagram.DOT(&dot, r)
	// In DOT, user text stays inside quoted strings.
	if strings.Contains(dot.String(), `label="<script>alert(1)</script> · inference-api"`) == false {
		t.Errorf("DOT label not quoted as expected:\n%s", dot.String())
	}
	for _, bad := range []string{"<img", "<script", "[link](http://evil)", " *bold*"} {
		if bytes.Contains([]byte(out), []byte(bad)) {
			t.Errorf("markdown carries raw %q", bad)
		}
	}
}

// Cells a spreadsheet would evaluate must not start a formula.
func TestCSVDefusesFormulas(t *testing.T) {
	for in, want := range map[string]string{"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")", "+1": "'+1", "-2": "'-2", "@SUM": "'@SUM", "api": "api", "": ""} {
		if got := csvreport.Safe(in); got != want {
			t.Errorf("Safe(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every technique in a Navigator layer must exist in ATLAS, and the domain
// and format must be the Navigator's.
func TestNavigatorLayer(t *testing.T) {
	cat := catalog.Default()
	set, _ := rules.Load(cat)
	s, ds := validate.File("../../examples/llm-rag-assistant/system.yaml", cat, model.DefaultLimits)
	if ds.Errors() > 0 {
		t.Fatal(ds)
	}
	r, err := analysis.Analyze(s, cat, set, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := (navigator.Writer{}).Write(&b, r); err != nil {
		t.Fatal(err)
	}
	var l navigator.Layer
	if err := json.Unmarshal(b.Bytes(), &l); err != nil {
		t.Fatal(err)
	}
	if l.Domain != "atlas-atlas" || !strings.HasPrefix(l.Versions["layer"], "4.") || len(l.Techniques) == 0 {
		t.Fatalf("%+v", l)
	}
	for _, te := range l.Techniques {
		if cat.Technique(te.TechniqueID) == nil {
			t.Errorf("unknown technique %s in the layer", te.TechniqueID)
		}
		if te.Score < 0 || te.Score > 25 {
			t.Errorf("%s: score %d", te.TechniqueID, te.Score)
		}
	}
}

// A component named like markup appears as text in the HTML report, its
// diagram and its table; the page has a strict CSP and loads nothing.
func TestHTMLEscapesAndIsSelfContained(t *testing.T) {
	src := `mlthreat: 1
system: {id: x, name: "<script>alert('name')</script>"}
components:
  - {id: api, name: "<img src=x onerror=alert(1)>", kind: inference-api, exposure: internet}
  - {id: m, kind: model}
flows:
  - {id: f1, from: api, to: m, data: [q]}
data:
  - {id: q, classification: public}
`
	p := filepath.Join(t.TempDir(), "m.yaml")
	os.WriteFile(p, []byte(src), 0o644)
	cat := catalog.Default()
	set, _ := rules.Load(cat)
	s, ds := validate.File(p, cat, model.DefaultLimits)
	if ds.Errors() > 0 {
		t.Fatal(ds)
	}
	r, err := analysis.Analyze(s, cat, set, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := htmlreport.Write(&b, r, nil); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"<img src=x", "<script>alert", "src=\"http", "href=\"http", "@import", "url(http"} {
		if strings.Contains(out, bad) {
			t.Errorf("HTML carries %q", bad)
		}
	}
	if !strings.Contains(out, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Error("the component name should appear as escaped text")
	}
	if !strings.Contains(html.UnescapeString(out), `http-equiv="Content-Security-Policy" content="default-src 'none';`) || strings.Count(out, "<script") != 1 {
		t.Error("want a strict CSP and exactly one inline script")
	}
}

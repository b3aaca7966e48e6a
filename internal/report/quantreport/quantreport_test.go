package quantreport

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/quantify"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/validate"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func quantified(t *testing.T, file string, extra string) *quantify.Report {
	t.Helper()
	cat := catalog.Default()
	set, err := rules.Load(cat)
	if err != nil {
		t.Fatal(err)
	}
	var sys *model.System
	if extra == "" {
		s, ds := validate.File(file, cat, model.DefaultLimits)
		if ds.Errors() > 0 {
			t.Fatal(ds)
		}
		sys = s
	} else {
		b, _ := os.ReadFile(file)
		s, ds := model.Load(file, append(b, extra...), model.DefaultLimits)
		if ds.Errors() > 0 {
			t.Fatal(ds)
		}
		sys = s
	}
	rep, err := analysis.Analyze(sys, cat, set, analysis.Options{Today: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	q, err := quantify.Quantify(rep, quantify.Options{Iterations: 20_000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestGoldenQualityInspection(t *testing.T) {
	q := quantified(t, "../../../examples/quality-inspection/system.yaml", "")
	for name, render := range map[string]func(*bytes.Buffer) error{
		"quality-inspection.txt":  func(b *bytes.Buffer) error { return Table(b, q) },
		"quality-inspection.json": func(b *bytes.Buffer) error { return JSON(b, q, "test") },
		"quality-inspection.md":   func(b *bytes.Buffer) error { return Markdown(b, q) },
		"quality-inspection.svg":  func(b *bytes.Buffer) error { return SVG(b, q) },
	} {
		var b bytes.Buffer
		if err := render(&b); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./internal/report/quantreport -update)", err)
		}
		if !bytes.Equal(want, b.Bytes()) {
			t.Errorf("%s differs; if intended, run go test ./internal/report/quantreport -update and review", path)
		}
	}
	// The recall risk is stated in money with its percentiles.
	var md bytes.Buffer
	if err := Markdown(&md, q); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| recall") && !strings.Contains(md.String(), "recall |") {
		t.Errorf("no recall scenario in:\n%s", md.String())
	}
}

func TestExtremeLossesRenderFinite(t *testing.T) {
	extra := `business:
  currency: JPY
  losses:
    recall: {min: 1e14, likely: 5e14, max: 1e15}
    reputation: {min: 1e14, likely: 1e15, max: 1e15}
  frequency:
    - {tactic: AML.TA0011, min: 1000, likely: 100000, max: 1000000}
`
	q := quantified(t, "../../../examples/sentiment-api/system.yaml", extra)
	var b bytes.Buffer
	if err := JSON(&b, q, "test"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "NaN") || strings.Contains(b.String(), "Inf") {
		t.Fatalf("non-finite numbers in the output")
	}
	var d Document
	if err := json.Unmarshal(b.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if math.IsInf(d.Residual.Mean, 0) || d.Residual.Mean <= 0 {
		t.Errorf("residual mean %g", d.Residual.Mean)
	}
	var svg bytes.Buffer
	if err := SVG(&svg, q); err != nil || strings.Contains(svg.String(), "NaN") {
		t.Errorf("SVG with extreme values: %v", err)
	}
}

func TestHostileNamesAreEscaped(t *testing.T) {
	extra := "business: {currency: EUR}\n"
	q := quantified(t, "../../../examples/sentiment-api/system.yaml", extra)
	q.Analysis.System.Info.Name = "<script>alert(1)</script>"
	var svg, md bytes.Buffer
	_ = SVG(&svg, q)
	_ = Markdown(&md, q)
	if strings.Contains(svg.String(), "<script>") || strings.Contains(md.String(), "<script>") {
		t.Error("a model name injected markup")
	}
}

package report_test

import (
	"io"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/report"
	"github.com/mlthreat/mlthreat/internal/report/attackflow"
	"github.com/mlthreat/mlthreat/internal/report/csvreport"
	"github.com/mlthreat/mlthreat/internal/report/diagram"
	"github.com/mlthreat/mlthreat/internal/report/htmlreport"
	"github.com/mlthreat/mlthreat/internal/report/jsonreport"
	"github.com/mlthreat/mlthreat/internal/report/markdown"
	"github.com/mlthreat/mlthreat/internal/report/navigator"
	"github.com/mlthreat/mlthreat/internal/report/pdfreport"
	"github.com/mlthreat/mlthreat/internal/report/sarifreport"
	"github.com/mlthreat/mlthreat/internal/report/table"
	"github.com/mlthreat/mlthreat/internal/report/xlsxreport"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/synth"
)

// BenchmarkAllFormats writes every output format for a 1,000-component model
// (target: under 2 s in total).
func BenchmarkAllFormats(b *testing.B) {
	cat := catalog.Default()
	set, err := rules.Load(cat)
	if err != nil {
		b.Fatal(err)
	}
	s, ds := model.Load("synthetic.yaml", synth.Model(1000), model.DefaultLimits)
	if ds.Errors() > 0 {
		b.Fatal(ds)
	}
	r, err := analysis.Analyze(s, cat, set, analysis.Options{Today: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	writers := []report.Writer{
		table.Writer{}, jsonreport.Writer{Version: "bench"}, markdown.Writer{}, csvreport.Writer{}, xlsxreport.Writer{},
		sarifreport.Writer{Version: "bench"}, navigator.Writer{}, attackflow.Writer{Timestamp: "2026-11-27T00:00:00.000Z"},
		report.WriterFunc(diagram.Mermaid), report.WriterFunc(diagram.DOT), report.WriterFunc(diagram.SVG),
		report.WriterFunc(func(w io.Writer, r *analysis.Report) error { return htmlreport.Write(w, r, nil) }),
		report.WriterFunc(func(w io.Writer, r *analysis.Report) error { return pdfreport.Write(w, r, nil) }),
	}
	for b.Loop() {
		for _, w := range writers {
			if err := w.Write(io.Discard, r); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// Package bench holds mlthreat's benchmark harness: load, analyze, gap,
// every report format and gate on the bundled examples grown 1x, 10x and
// 100x (mlthreat gen --scale), and the import and analysis of a
// 10,000-component Threagile model. README.md says how to run and compare.
package bench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/gate"
	"github.com/mlthreat/mlthreat/internal/interop"
	"github.com/mlthreat/mlthreat/internal/interop/otm"
	"github.com/mlthreat/mlthreat/internal/interop/threagile"
	"github.com/mlthreat/mlthreat/internal/interop/threatdragon"
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
	"github.com/mlthreat/mlthreat/internal/validate"
)

// scales are the sizes benchmarked by default; 1000x (64,000 components)
// runs with MLTHREAT_BENCH_1000=1, as its model alone is 21 MB.
func scales() []int {
	if os.Getenv("MLTHREAT_BENCH_1000") != "" {
		return []int{1, 10, 100, 1000}
	}
	return []int{1, 10, 100}
}

// Generated models are far above the limits for a hand-written file.
var big = model.Limits{MaxBytes: 1 << 30, MaxDepth: 64, MaxNodes: 1 << 24}

var (
	setupOnce sync.Once
	cat       *catalog.Catalog
	set       *rules.Set
	cw        *gap.Crosswalk
	today     = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	srcs      = map[int][]byte{}
	mu        sync.Mutex
)

// gcAsBinary sets GOGC as cmd/mlthreat does, so figures match the binary.
func gcAsBinary(b *testing.B) {
	if os.Getenv("GOGC") == "" {
		old := debug.SetGCPercent(400)
		b.Cleanup(func() { debug.SetGCPercent(old) })
	}
}

func setup(b *testing.B) {
	b.Helper()
	setupOnce.Do(func() {
		cat = catalog.Default()
		var err error
		if set, err = rules.Load(cat); err != nil {
			panic(err)
		}
		if cw, err = gap.Load(cat); err != nil {
			panic(err)
		}
	})
	gcAsBinary(b)
}

func source(b *testing.B, k int) []byte {
	mu.Lock()
	defer mu.Unlock()
	if src, ok := srcs[k]; ok {
		return src
	}
	src, err := synth.Scale(k)
	if err != nil {
		b.Fatal(err)
	}
	srcs[k] = src
	return src
}

func load(b *testing.B, k int) *model.System {
	src := source(b, k)
	sys, ds := model.Load(fmt.Sprintf("examples-x%d.yaml", k), src, big)
	if sys == nil || ds.Errors() > 0 {
		b.Fatal(ds)
	}
	if ds := validate.Frameworks(sys, cat); ds.Errors() > 0 {
		b.Fatal(ds)
	}
	return sys
}

func analyze(b *testing.B, s *model.System) *analysis.Report {
	r, err := analysis.Analyze(s, cat, set, analysis.Options{Today: today})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func name(k int) string { return fmt.Sprintf("x%d", k) }

// BenchmarkLoad parses and validates the model (model.Load plus the
// framework-id checks), as every command does first.
func BenchmarkLoad(b *testing.B) {
	setup(b)
	for _, k := range scales() {
		src := source(b, k)
		b.Run(name(k), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				s, ds := model.Load("m.yaml", src, big)
				if s == nil || ds.Errors() > 0 {
					b.Fatal(ds)
				}
				validate.Frameworks(s, cat)
			}
		})
	}
}

func BenchmarkAnalyze(b *testing.B) {
	setup(b)
	for _, k := range scales() {
		s := load(b, k)
		b.Run(name(k), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				analyze(b, s)
			}
			b.ReportMetric(float64(len(s.Components)), "components")
		})
	}
}

func BenchmarkGap(b *testing.B) {
	setup(b)
	for _, k := range scales() {
		s := load(b, k)
		prof, err := gap.BuiltinProfile(gap.DefaultProfile(s), s, cat)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name(k), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := gap.Analyze(s, cat, set, cw, prof, gap.Options{Today: today}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReport writes each format from one analysis.
func BenchmarkReport(b *testing.B) {
	setup(b)
	formats := []struct {
		name string
		w    report.Writer
	}{
		{"table", table.Writer{}}, {"json", jsonreport.Writer{Version: "bench"}}, {"markdown", markdown.Writer{}},
		{"csv", csvreport.Writer{}}, {"xlsx", xlsxreport.Writer{}}, {"sarif", sarifreport.Writer{Version: "bench"}},
		{"navigator", navigator.Writer{}}, {"stix", attackflow.Writer{Timestamp: "2026-11-27T00:00:00.000Z"}},
		{"mermaid", report.WriterFunc(diagram.Mermaid)}, {"dot", report.WriterFunc(diagram.DOT)}, {"svg", report.WriterFunc(diagram.SVG)},
		{"html", report.WriterFunc(func(w io.Writer, r *analysis.Report) error { return htmlreport.Write(w, r, nil) })},
		{"pdf", report.WriterFunc(func(w io.Writer, r *analysis.Report) error { return pdfreport.Write(w, r, nil) })},
		{"otm", otm.Writer{}}, {"threat-dragon", threatdragon.Writer{}},
	}
	for _, k := range scales() {
		if k > 10 && os.Getenv("MLTHREAT_BENCH_ALL_SIZES") == "" {
			continue // every format at 1x and 10x; larger with MLTHREAT_BENCH_ALL_SIZES=1
		}
		r := analyze(b, load(b, k))
		for _, f := range formats {
			b.Run(f.name+"/"+name(k), func(b *testing.B) {
				b.ReportAllocs()
				var n int64
				for b.Loop() {
					cw := &countingWriter{}
					if err := f.w.Write(cw, r); err != nil {
						b.Fatal(err)
					}
					n = cw.n
				}
				b.SetBytes(n)
			})
		}
	}
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

func BenchmarkGate(b *testing.B) {
	setup(b)
	pol, err := gate.Load("standard", cat)
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range scales() {
		s := load(b, k)
		r := analyze(b, s)
		prof, err := gap.BuiltinProfile(gap.DefaultProfile(s), s, cat)
		if err != nil {
			b.Fatal(err)
		}
		gr, err := gap.Analyze(s, cat, set, cw, prof, gap.Options{Today: today})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name(k), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := gate.Evaluate(pol, gate.Input{File: s.File, System: s, Report: r, Gap: gr, Today: today}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// threagile10k is the Threagile model of 10,000 components that
// mlthreat gen --components 10000 --format threagile writes (16.6 MB).
var threagile10k = sync.OnceValues(func() ([]byte, error) {
	sys, ds := model.Load("synthetic.yaml", synth.Model(10_000), big)
	if sys == nil || ds.Errors() > 0 {
		return nil, fmt.Errorf("synthetic model: %v", ds)
	}
	var tg bytes.Buffer
	if err := threagile.Write(&tg, sys); err != nil {
		return nil, err
	}
	return tg.Bytes(), nil
})

// BenchmarkThreagile10k imports a 10,000-component Threagile model (as
// mlthreat gen --components 10000 --format threagile writes it), writes
// and validates the mlthreat model, analyses it and writes the JSON
// report, as mlthreat analyze --from threagile does in one process. The
// issue's target: under 1 s for the whole, on the binary (README.md).
func BenchmarkThreagile10k(b *testing.B) {
	setup(b)
	src, err := threagile10k()
	if err != nil {
		b.Fatal(err)
	}
	var tImport, tWrite, tLoad, tAnalyze, tReport time.Duration
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		t0 := time.Now()
		m, ds := threagile.Import("threagile-10k.yaml", src, interop.DefaultLimits)
		if m == nil {
			b.Fatal(ds)
		}
		t1 := time.Now()
		y, err := m.YAML()
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		s, vds := model.Load("imported.yaml", y, model.DefaultLimits)
		if s == nil || vds.Errors() > 0 {
			b.Fatal(vds)
		}
		validate.Frameworks(s, cat)
		t3 := time.Now()
		r := analyze(b, s)
		t4 := time.Now()
		if err := (jsonreport.Writer{Version: "bench"}).Write(io.Discard, r); err != nil {
			b.Fatal(err)
		}
		t5 := time.Now()
		tImport += t1.Sub(t0)
		tWrite += t2.Sub(t1)
		tLoad += t3.Sub(t2)
		tAnalyze += t4.Sub(t3)
		tReport += t5.Sub(t4)
	}
	n := float64(b.N)
	b.ReportMetric(tImport.Seconds()/n, "import-s")
	b.ReportMetric(tWrite.Seconds()/n, "write-s")
	b.ReportMetric(tLoad.Seconds()/n, "load-s")
	b.ReportMetric(tAnalyze.Seconds()/n, "analyze-s")
	b.ReportMetric(tReport.Seconds()/n, "json-s")
}

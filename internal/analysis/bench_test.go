package analysis_test

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/synth"
)

// BenchmarkAnalyze measures the analysis alone (the model is loaded once);
// BenchmarkLoadAndAnalyze includes parsing and validation.
func BenchmarkAnalyze(b *testing.B) {
	// As the binary runs (cmd/mlthreat sets GOGC=400 unless GOGC is set).
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	cat := catalog.Default()
	set, err := rules.Load(cat)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{100, 1000, 10000} {
		s, ds := model.Load("synthetic.yaml", synth.Model(n), model.Limits{MaxBytes: 64 << 20, MaxDepth: 64, MaxNodes: 5_000_000})
		if ds.Errors() > 0 {
			b.Fatal(ds)
		}
		b.Run(fmt.Sprintf("components=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			// Peak heap of one analysis, measured apart from the timed loop.
			peak := heapPeak(func() {
				if _, err := analysis.Analyze(s, cat, set, analysis.Options{Today: time.Now()}); err != nil {
					b.Fatal(err)
				}
			})
			for b.Loop() {
				if _, err := analysis.Analyze(s, cat, set, analysis.Options{Today: time.Now()}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}

// heapPeak runs f and returns the highest heap in use above the level
// before it, sampled every millisecond.
func heapPeak(f func()) uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > base && m.HeapAlloc-base > peak.Load() {
					peak.Store(m.HeapAlloc - base)
				}
			}
		}
	}()
	f()
	close(done)
	return peak.Load()
}

func BenchmarkLoadAndAnalyze(b *testing.B) {
	cat := catalog.Default()
	set, err := rules.Load(cat)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{100, 1000, 10000} {
		src := synth.Model(n)
		b.Run(fmt.Sprintf("components=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s, _ := model.Load("synthetic.yaml", src, model.Limits{MaxBytes: 64 << 20, MaxDepth: 64, MaxNodes: 5_000_000})
				if _, err := analysis.Analyze(s, cat, set, analysis.Options{Today: time.Now()}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

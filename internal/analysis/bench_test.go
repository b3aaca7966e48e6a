package analysis_test

import (
	"fmt"
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
			for b.Loop() {
				if _, err := analysis.Analyze(s, cat, set, analysis.Options{Today: time.Now()}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
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

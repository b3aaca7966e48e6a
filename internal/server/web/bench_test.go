package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/store"
	"github.com/mlthreat/mlthreat/internal/store/storetest"
)

// BenchmarkDashboard renders the dashboard over a seeded portfolio
// (10,000 systems × 20 versions; MLTHREAT_BENCH_SYSTEMS changes the first)
// and reports the latency percentiles. The target is p99 < 150 ms.
func BenchmarkDashboard(b *testing.B) {
	systems := 10_000
	if v := os.Getenv("MLTHREAT_BENCH_SYSTEMS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("MLTHREAT_BENCH_SYSTEMS=%q", v)
		}
		systems = n
	}
	s := storetest.Open(b, store.SQLite)
	start := time.Now()
	if err := storetest.SeedUntil(context.Background(), s, systems, 20, testNow); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d systems × 20 versions in %v", systems, time.Since(start).Round(time.Millisecond))
	e := newEnvStore(b, s)
	// One request first: the page must be whole, not an error page.
	if w := e.get(viewer, "/"); w.Code != http.StatusOK {
		b.Fatalf("dashboard: %d", w.Code)
	}
	var took []time.Duration
	for b.Loop() {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: "viewer"})
		w := httptest.NewRecorder()
		t0 := time.Now()
		e.h.ServeHTTP(w, r)
		took = append(took, time.Since(t0))
		if w.Code != http.StatusOK {
			b.Fatalf("dashboard: %d", w.Code)
		}
	}
	slices.Sort(took)
	pct := func(p float64) float64 {
		i := min(len(took)-1, int(float64(len(took))*p))
		return float64(took[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
}

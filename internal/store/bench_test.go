package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/store"
	"github.com/mlthreat/mlthreat/internal/store/storetest"
)

// The benchmarks share one seeded store per dialect, of
// MLTHREAT_BENCH_SYSTEMS (default 10,000) systems ×
// MLTHREAT_BENCH_VERSIONS (default 20) versions, seeded on first use.

type benchStore struct {
	s    store.Store
	drop func() error
	err  error
}

var (
	benchMu     sync.Mutex
	benchStores = map[string]*benchStore{}
)

func benchSize() (systems, versions int) {
	systems, versions = 10000, 20
	if n, err := strconv.Atoi(os.Getenv("MLTHREAT_BENCH_SYSTEMS")); err == nil && n > 0 {
		systems = n
	}
	if n, err := strconv.Atoi(os.Getenv("MLTHREAT_BENCH_VERSIONS")); err == nil && n > 0 {
		versions = n
	}
	return systems, versions
}

func seeded(b *testing.B, dialect string) store.Store {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if bs := benchStores[dialect]; bs != nil {
		if bs.err != nil {
			b.Fatal(bs.err)
		}
		return bs.s
	}
	bs := &benchStore{}
	benchStores[dialect] = bs
	dsn, drop, err := storetest.NewDSN(dialect)
	if err != nil {
		bs.err = err
		b.Fatal(err)
	}
	bs.drop = drop
	ctx := context.Background()
	bs.s, bs.err = store.Open(ctx, dsn, store.Options{})
	if bs.err != nil {
		b.Fatal(bs.err)
	}
	systems, versions := benchSize()
	start := time.Now()
	if bs.err = storetest.Seed(ctx, bs.s, systems, versions); bs.err != nil {
		b.Fatal(bs.err)
	}
	fmt.Fprintf(os.Stderr, "seeded %s with %d systems × %d versions in %v\n", dialect, systems, versions, time.Since(start).Round(time.Millisecond))
	return bs.s
}

func dropBenchStores() {
	benchMu.Lock()
	defer benchMu.Unlock()
	for d, bs := range benchStores {
		if bs.s != nil {
			bs.s.Close()
		}
		if bs.drop != nil {
			if err := bs.drop(); err != nil {
				fmt.Fprintf(os.Stderr, "bench store %s: %v\n", d, err)
			}
		}
	}
	clear(benchStores)
}

// latencies records each operation's time and reports p50 and p99.
type latencies []time.Duration

func (l *latencies) time(fn func()) {
	start := time.Now()
	fn()
	*l = append(*l, time.Since(start))
}

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	at := func(p float64) float64 {
		return float64(l[min(len(l)-1, int(p*float64(len(l))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

func BenchmarkKPIs(b *testing.B) {
	for _, d := range storetest.Dialects(b) {
		b.Run(d, func(b *testing.B) {
			s := seeded(b, d)
			ctx := context.Background()
			var lat latencies
			for b.Loop() {
				lat.time(func() {
					if _, err := s.KPIs(ctx, time.Now(), store.Windows{}); err != nil {
						b.Fatal(err)
					}
				})
			}
			lat.report(b)
		})
	}
}

func BenchmarkListSystems(b *testing.B) {
	for _, d := range storetest.Dialects(b) {
		for _, c := range []struct {
			name string
			f    store.Filter
		}{
			{"default", store.Filter{}},
			{"owner-severity", store.Filter{Owner: "team-07", Severity: "high"}},
			{"query-platform", store.Filter{Query: "00042", Platform: "aws"}},
			{"name-page-100", store.Filter{Sort: "name", Offset: 5000}},
		} {
			b.Run(d+"/"+c.name, func(b *testing.B) {
				s := seeded(b, d)
				ctx := context.Background()
				var lat latencies
				for b.Loop() {
					lat.time(func() {
						if _, _, err := s.ListSystems(ctx, c.f); err != nil {
							b.Fatal(err)
						}
					})
				}
				lat.report(b)
			})
		}
	}
}

func BenchmarkReads(b *testing.B) {
	// The other portfolio views' reads.
	ctx := context.Background()
	for _, d := range storetest.Dialects(b) {
		for _, c := range []struct {
			name string
			read func(s store.Store) error
		}{
			{"trend-90d", func(s store.Store) error { _, err := s.Trend(ctx, time.Now().AddDate(0, 0, -90)); return err }},
			{"heatmap", func(s store.Store) error { _, err := s.HeatMap(ctx); return err }},
			{"queue", func(s store.Store) error { _, err := s.ReviewQueue(ctx); return err }},
			{"exposed-sub", func(s store.Store) error { _, err := s.Exposed(ctx, "AML.T0051", true); return err }},
			{"exposed-exact", func(s store.Store) error { _, err := s.Exposed(ctx, "AML.T0054", false); return err }},
			{"system", func(s store.Store) error { _, err := s.System(ctx, storetest.SystemID(42)); return err }},
			{"versions", func(s store.Store) error { _, err := s.Versions(ctx, storetest.SystemID(42)); return err }},
			{"threats", func(s store.Store) error { _, err := s.Threats(ctx, storetest.SystemID(42)); return err }},
		} {
			b.Run(d+"/"+c.name, func(b *testing.B) {
				s := seeded(b, d)
				var lat latencies
				for b.Loop() {
					lat.time(func() {
						if err := c.read(s); err != nil {
							b.Fatal(err)
						}
					})
				}
				lat.report(b)
			})
		}
	}
}

var pushSeq atomic.Int64

// benchPush is a changed version of a random seeded system.
func benchPush(r *rand.Rand, systems int) *store.Push {
	i := r.IntN(systems)
	now := time.Now().UTC()
	p := storetest.History(i, 1, now.Add(-time.Hour), now)[0]
	p.At = now
	p.Model = fmt.Appendf(p.Model, "# bench %d\n", pushSeq.Add(1))
	return p
}

func BenchmarkPush(b *testing.B) {
	for _, d := range storetest.Dialects(b) {
		b.Run(d, func(b *testing.B) {
			s := seeded(b, d)
			systems, _ := benchSize()
			ctx := context.Background()
			r := rand.New(rand.NewPCG(1, 2))
			var lat latencies
			for b.Loop() {
				p := benchPush(r, systems)
				lat.time(func() {
					if _, err := s.Push(ctx, p); err != nil {
						b.Fatal(err)
					}
				})
			}
			lat.report(b)
		})
		b.Run(d+"/parallel-50", func(b *testing.B) {
			s := seeded(b, d)
			systems, _ := benchSize()
			ctx := context.Background()
			var seed atomic.Uint64
			b.SetParallelism(max(1, 50/max(1, runtimeProcs())))
			b.RunParallel(func(pb *testing.PB) {
				r := rand.New(rand.NewPCG(seed.Add(1), 3))
				for pb.Next() {
					if _, err := s.Push(ctx, benchPush(r, systems)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

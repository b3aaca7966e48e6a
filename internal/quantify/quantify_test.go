package quantify

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func sample(r Range, n int) []float64 {
	rng := newSource(1, 2)
	s := newSampler(r)
	out := make([]float64, n)
	for i := range out {
		out[i] = s.draw(rng)
	}
	return out
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %g, want %g (±%g%%)", what, got, want, tol*100)
	}
}

func TestPERTMomentsAndBounds(t *testing.T) {
	for _, r := range []Range{{Min: 10, Likely: 20, Max: 60}, {Min: 0, Likely: 0, Max: 1}, {Min: 1e3, Likely: 9e5, Max: 1e6}} {
		xs := sample(r, 200_000)
		near(t, "PERT mean", mean(xs), r.Mean(), 0.01)
		var v float64
		m := mean(xs)
		for _, x := range xs {
			v += (x - m) * (x - m)
		}
		near(t, "PERT sd", math.Sqrt(v/float64(len(xs))), r.sd(), 0.02)
		if slices.Min(xs) < r.Min || slices.Max(xs) > r.Max {
			t.Errorf("%v: sample outside the range", r)
		}
	}
	if got := sample(Range{Min: 5, Likely: 5, Max: 5}, 10); slices.Min(got) != 5 || slices.Max(got) != 5 {
		t.Errorf("a point range must be constant: %v", got)
	}
}

func TestLognormalPercentiles(t *testing.T) {
	r := Range{Min: 1e4, Likely: 5e4, Max: 1e6, Shape: "lognormal"}
	xs := sample(r, 200_000)
	slices.Sort(xs)
	near(t, "P5", xs[len(xs)*5/100], 1e4, 0.03)
	near(t, "P95", xs[len(xs)*95/100], 1e6, 0.03)
	near(t, "mean", mean(xs), r.Mean(), 0.03)
}

func TestPoissonMeanAndVariance(t *testing.T) {
	buildExpNeg()
	rng := newSource(3, 4)
	for _, lambda := range []float64{0.05, 1, 7, 29, 31, 500} {
		n := 200_000
		var s, s2 float64
		for range n {
			k := poisson(rng, lambda)
			s += k
			s2 += k * k
		}
		m := s / float64(n)
		near(t, "poisson mean", m, lambda, 0.02)
		near(t, "poisson variance", s2/float64(n)-m*m, lambda, 0.05)
	}
}

func threats(n int) []Threat {
	out := make([]Threat, n)
	for i := range out {
		out[i] = Threat{
			ID:                "T-" + string(rune('a'+i%26)),
			Frequency:         Range{Min: 0.1, Likely: 0.5 + float64(i%5), Max: 12},
			Magnitude:         Range{Min: 1e4, Likely: 1e5, Max: 2e6},
			ResidualFrequency: 0.4, ResidualMagnitude: 0.7,
		}
	}
	return out
}

func TestSimulationIsReproducibleAndConsistent(t *testing.T) {
	ts := threats(7)
	a, err := Simulate(ts, Options{Iterations: 20_000, Seed: 42, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Simulate(ts, Options{Iterations: 20_000, Seed: 42, Workers: 3})
	if a.Inherent != b.Inherent || a.Residual != b.Residual || !slices.Equal(a.Threats, b.Threats) {
		t.Fatalf("the result depends on the workers:\n%+v\n%+v", a.Inherent, b.Inherent)
	}
	c, _ := Simulate(ts, Options{Iterations: 20_000, Seed: 43})
	if c.Inherent == a.Inherent {
		t.Error("another seed must give other draws")
	}
	for _, tr := range a.Threats {
		if tr.Residual.Mean > tr.Inherent.Mean || tr.Residual.P90 > tr.Inherent.P90 {
			t.Errorf("%s: residual above inherent: %+v", tr.ID, tr)
		}
	}
	// The expected annual loss is frequency × magnitude.
	want := 0.0
	for _, t := range ts {
		want += t.Frequency.Mean() * t.Magnitude.Mean()
	}
	near(t, "system ALE", a.Inherent.Mean, want, 0.03)
	wantResid := 0.0
	for _, t := range ts {
		wantResid += t.Frequency.Mean() * t.ResidualFrequency * t.Magnitude.Mean() * t.ResidualMagnitude
	}
	near(t, "residual ALE", a.Residual.Mean, wantResid, 0.04)
	if !(a.Inherent.P10 <= a.Inherent.P50 && a.Inherent.P50 <= a.Inherent.P90 && a.Inherent.P90 <= a.Inherent.P99) {
		t.Errorf("percentiles out of order: %+v", a.Inherent)
	}
	for i := 1; i < len(a.InherentCurve); i++ {
		if a.InherentCurve[i].Probability > a.InherentCurve[i-1].Probability || a.InherentCurve[i].Loss <= a.InherentCurve[i-1].Loss {
			t.Fatalf("the exceedance curve must fall as the loss grows: %+v", a.InherentCurve)
		}
	}
}

func TestManyEventsUseTheApproximationCorrectly(t *testing.T) {
	ts := []Threat{{ID: "fraud", Frequency: Range{Min: 500, Likely: 1000, Max: 2000}, Magnitude: Range{Min: 10, Likely: 50, Max: 400}, ResidualFrequency: 0.25, ResidualMagnitude: 1}}
	r, err := Simulate(ts, Options{Iterations: 20_000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "ALE with many events", r.Inherent.Mean, ts[0].Frequency.Mean()*ts[0].Magnitude.Mean(), 0.02)
	near(t, "residual ALE with many events", r.Residual.Mean, 0.25*ts[0].Frequency.Mean()*ts[0].Magnitude.Mean(), 0.03)
}

func TestQuickStatsMatchesSorting(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 2, 17, 1000, 100_001} {
		xs := make([]float64, n)
		for i := range xs {
			if rng.IntN(3) > 0 {
				xs[i] = math.Floor(rng.ExpFloat64() * 100)
			}
		}
		a, b := slices.Clone(xs), slices.Clone(xs)
		if quickStats(a) != summarize(b) {
			t.Errorf("n=%d: %+v vs %+v", n, quickStats(slices.Clone(xs)), summarize(slices.Clone(xs)))
		}
	}
}

func TestExtremeValuesStayFinite(t *testing.T) {
	ts := []Threat{
		{ID: "huge", Frequency: Range{Min: 1e6, Likely: 1e7, Max: 1e9}, Magnitude: Range{Min: 1e14, Likely: 1e15, Max: 1e15}, ResidualFrequency: 1, ResidualMagnitude: 1},
		{ID: "zero", Frequency: Range{}, Magnitude: Range{}, ResidualFrequency: 0, ResidualMagnitude: 0},
	}
	r, err := Simulate(ts, Options{Iterations: 2000, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	check := func(s Stats) {
		for _, v := range []float64{s.Mean, s.P10, s.P50, s.P90, s.P99} {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				t.Fatalf("not a finite loss: %+v", s)
			}
		}
	}
	check(r.Inherent)
	check(r.Residual)
	for _, tr := range r.Threats {
		check(tr.Inherent)
		check(tr.Residual)
	}
	for _, p := range append(r.InherentCurve, r.ResidualCurve...) {
		if math.IsNaN(p.Loss) || math.IsInf(p.Loss, 0) || math.IsNaN(p.Probability) {
			t.Fatalf("curve point not finite: %+v", p)
		}
	}
}

func TestBadRanges(t *testing.T) {
	cases := map[string]Range{
		"greater than max": {Min: 5, Likely: 6, Max: 4},
		"negative":         {Min: -1, Likely: 0, Max: 1},
		"outside min":      {Min: 1, Likely: 9, Max: 5},
		"finite":           {Min: 0, Likely: math.NaN(), Max: 1},
		"needs min above":  {Min: 0, Likely: 1, Max: 2, Shape: "lognormal"},
		"expected pert":    {Min: 0, Likely: 1, Max: 2, Shape: "gauss"},
	}
	for want, r := range cases {
		_, err := Simulate([]Threat{{ID: "t", Frequency: r, Magnitude: Range{Min: 1, Likely: 1, Max: 1}, ResidualFrequency: 1, ResidualMagnitude: 1}}, Options{Iterations: 10})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: got %v, want %q", r, err, want)
		}
	}
}

// The target: 100,000 iterations for 100 threats in under 1 s.
func BenchmarkSimulate100Threats100k(b *testing.B) {
	ts := threats(100)
	for b.Loop() {
		if _, err := Simulate(ts, Options{Iterations: 100_000, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

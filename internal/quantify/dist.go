// Package quantify turns threats into money: a FAIR-style Monte Carlo of
// loss-event frequency and loss magnitude per threat, inherent and residual.
package quantify

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"sync"
)

// Range is a three-point estimate: minimum, most likely, maximum.
type Range struct {
	Min, Likely, Max float64
	Shape            string // "pert" (default) or "lognormal"
}

// Validate reports a range that cannot be sampled.
func (r Range) Validate() error {
	switch {
	case !finite(r.Min) || !finite(r.Likely) || !finite(r.Max):
		return fmt.Errorf("values must be finite numbers")
	case r.Min < 0:
		return fmt.Errorf("min %g is negative; losses and frequencies are 0 or more", r.Min)
	case r.Min > r.Max:
		return fmt.Errorf("min %g is greater than max %g", r.Min, r.Max)
	case r.Likely < r.Min || r.Likely > r.Max:
		return fmt.Errorf("most likely %g is outside min %g .. max %g", r.Likely, r.Min, r.Max)
	case r.Shape == "lognormal" && r.Min <= 0:
		return fmt.Errorf("a lognormal range needs min above 0")
	case r.Shape != "" && r.Shape != "pert" && r.Shape != "lognormal":
		return fmt.Errorf("shape %q; expected pert or lognormal", r.Shape)
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// Scale multiplies every point of the range.
func (r Range) Scale(k float64) Range {
	return Range{Min: r.Min * k, Likely: r.Likely * k, Max: r.Max * k, Shape: r.Shape}
}

// Mean is the expected value of the distribution the range stands for.
func (r Range) Mean() float64 {
	if r.Shape == "lognormal" {
		mu, sigma := r.lognormal()
		return math.Exp(mu + sigma*sigma/2)
	}
	return (r.Min + 4*r.Likely + r.Max) / 6
}

// lognormal reads min and max as the 5th and 95th percentiles.
func (r Range) lognormal() (mu, sigma float64) {
	lo, hi := math.Log(r.Min), math.Log(r.Max)
	return (lo + hi) / 2, (hi - lo) / (2 * 1.6448536269514722)
}

// sampler draws from one range quickly: its parameters are worked out once.
type sampler struct {
	kind      int // 0 constant, 1 pert, 2 lognormal
	min, span float64
	quantile  []float64 // PERT: the Beta quantile function on an even grid
	mu, sigma float64
}

func newSampler(r Range) sampler {
	if r.Shape == "lognormal" {
		mu, sigma := r.lognormal()
		return sampler{kind: 2, mu: mu, sigma: sigma}
	}
	span := r.Max - r.Min
	if span <= 0 {
		return sampler{kind: 0, min: r.Min}
	}
	// PERT: a Beta on [min, max] with lambda 4.
	a := 1 + 4*(r.Likely-r.Min)/span
	b := 1 + 4*(r.Max-r.Likely)/span
	return sampler{kind: 1, min: r.Min, span: span, quantile: betaQuantiles(a, b)}
}

const (
	cdfGrid   = 2048 // points where the Beta density is integrated
	quantGrid = 1024 // points of the quantile table
)

// betaQuantiles tabulates the inverse CDF of Beta(a, b), a, b >= 1, by
// integrating the density on a fine grid. Drawing is then one uniform and a
// linear interpolation, many times faster than two gamma draws.
func betaQuantiles(a, b float64) []float64 {
	cdf := make([]float64, cdfGrid+1)
	pdf := func(x float64) float64 {
		if (x == 0 && a > 1) || (x == 1 && b > 1) {
			return 0
		}
		return math.Exp((a-1)*math.Log(max(x, 1e-300)) + (b-1)*math.Log(max(1-x, 1e-300)))
	}
	prev := pdf(0)
	for j := 1; j <= cdfGrid; j++ {
		cur := pdf(float64(j) / cdfGrid)
		cdf[j] = cdf[j-1] + (prev+cur)/2
		prev = cur
	}
	total := cdf[cdfGrid]
	q := make([]float64, quantGrid+1)
	j := 0
	for k := 0; k <= quantGrid; k++ {
		u := float64(k) / quantGrid * total
		for j < cdfGrid && cdf[j+1] < u {
			j++
		}
		if j >= cdfGrid {
			q[k] = 1
			continue
		}
		lo, hi := cdf[j], cdf[j+1]
		frac := 0.0
		if hi > lo {
			frac = (u - lo) / (hi - lo)
		}
		q[k] = (float64(j) + frac) / cdfGrid
	}
	q[0], q[quantGrid] = 0, 1
	return q
}

// source is a wyrand stream: a 64-bit generator small enough to inline in
// the hot loop, with good statistical quality for Monte Carlo use.
type source struct {
	state uint64
	rand  *rand.Rand // normal draws, fed by the same stream
}

func newSource(seed, stream uint64) *source {
	g := &source{state: seed*0x9e3779b97f4a7c15 ^ stream}
	g.rand = rand.New(g)
	return g
}

// Uint64 makes source a rand.Source.
func (g *source) Uint64() uint64 {
	g.state += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(g.state, g.state^0xe7037ed1a0b428db)
	return hi ^ lo
}

// float is a uniform draw in [0, 1).
func (g *source) float() float64 { return float64(g.Uint64()>>11) * (1.0 / (1 << 53)) }

func (g *source) norm() float64 { return g.rand.NormFloat64() }

func (s *sampler) draw(g *source) float64 {
	if s.kind != 1 {
		return s.other(g)
	}
	// float() < 1, so i <= quantGrid-1 and i+1 is in the table.
	u := g.float() * quantGrid
	i := int(u)
	q := s.quantile[i : i+2 : i+2]
	return s.min + s.span*(q[0]+(u-float64(i))*(q[1]-q[0]))
}

func (s *sampler) other(g *source) float64 {
	if s.kind == 2 {
		return math.Exp(s.mu + s.sigma*g.norm())
	}
	return s.min
}

// expNegTable holds exp(-x) on [0, 30] in steps of 1/1024; between the
// points linear interpolation is accurate to about 1e-7 relative.
var (
	expNegOnce  sync.Once
	expNegTable []float64
)

// buildExpNeg fills the table; Simulate calls it before any draw, so a run
// that quantifies nothing pays nothing at start-up.
func buildExpNeg() {
	expNegOnce.Do(func() {
		t := make([]float64, 30*1024+2)
		for i := range t {
			t[i] = math.Exp(-float64(i) / 1024)
		}
		expNegTable = t
	})
}

func expNeg(x float64) float64 {
	f := x * 1024
	i := int(f)
	if i < 0 || i+1 >= len(expNegTable) {
		return math.Exp(-x)
	}
	return expNegTable[i] + (f-float64(i))*(expNegTable[i+1]-expNegTable[i])
}

// poisson draws an event count for a mean rate lambda: inversion for small
// rates, a normal approximation (continuity-corrected) for large ones.
func poisson(rng *source, lambda float64) float64 {
	switch {
	case lambda <= 0:
		return 0
	case lambda < 30:
		// Inversion with one uniform: walk the CDF until it passes u.
		u := rng.float()
		p := expNeg(lambda)
		cdf, k := p, 0.0
		for u > cdf && k < 200 {
			k++
			p *= lambda / k
			cdf += p
		}
		return k
	}
	return math.Max(0, math.Floor(lambda+math.Sqrt(lambda)*rng.norm()+0.5))
}
